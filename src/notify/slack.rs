//! A message as a Slack incoming webhook takes it: `text` (the notification's
//! fallback) and `blocks`. Slack reads `<…>` as links and mentions
//! (`<!channel>`, `<@U123>`, `<https://…|text>`), so every text from the
//! change (finding messages, file names, rule ids, the repository) has `&`,
//! `<` and `>` escaped; `@here` typed as text, and bare addresses, are broken
//! up with an invisible word joiner so they neither ping nor link.

use super::message::{cap, fit_lines, Message};
use crate::finding::Severity;
use crate::review::summary::Outcome;
use serde_json::{json, Value};

/// Slack refuses a section whose text is longer (400 `invalid_payload`).
pub const MAX_SECTION: usize = 3_000;
/// Slack refuses more blocks than this.
pub const MAX_BLOCKS: usize = 50;
/// The notification text (the fallback): Slack shows no more of it.
const MAX_TEXT: usize = 3_000;
/// U+2060 WORD JOINER: invisible, and no mention or link runs through it.
const JOINER: char = '\u{2060}';

/// Text from the change, inert in Slack's mrkdwn.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // `@here`, `@channel`, `@everyone`, `@name`: never a mention.
            '@' => {
                out.push('@');
                out.push(JOINER);
            }
            // Formatting marks would run across our own markup.
            '*' | '_' | '~' | '`' => {
                out.push(c);
                out.push(JOINER);
            }
            _ => out.push(c),
        }
    }
    // `https://evil.example` in a message would be linked.
    out.replace("://", &format!(":{JOINER}//"))
        .replace("www.", &format!("www{JOINER}."))
}

/// A link to a checked URL ([`super::message::safe_url`]) with escaped text.
fn link(url: &str, text: &str) -> String {
    format!("<{}|{}>", url.replace('&', "&amp;"), escape(text))
}

fn icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => ":no_entry:",
        Severity::Warning => ":warning:",
        Severity::Info => ":information_source:",
    }
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cap(&text, MAX_SECTION)}})
}

/// The webhook's JSON body.
pub fn payload(message: &Message) -> Value {
    let outcome = match message.outcome {
        Outcome::Passed => ":white_check_mark:",
        Outcome::Failed => ":x:",
    };
    let change = match &message.change_url {
        Some(url) => link(url, &message.change),
        None => escape(&message.change),
    };
    let mut blocks = vec![section(format!(
        "{outcome} *{}: {change} {}*\n{}",
        escape(&message.name),
        message.outcome.as_str(),
        message.counts_text()
    ))];
    let lines: Vec<String> = message
        .findings
        .iter()
        .map(|f| {
            let place = match &f.url {
                Some(url) => link(url, &f.location),
                None => escape(&f.location),
            };
            format!(
                "{} {} `{}` {place}: {}",
                icon(f.severity),
                f.severity.as_str(),
                escape(&f.rule),
                escape(&f.message)
            )
        })
        .collect();
    if !lines.is_empty() || message.unlisted > 0 {
        blocks.push(section(fit_lines(&lines, message.unlisted, MAX_SECTION)));
    }
    if !message.links.is_empty() {
        let links: Vec<String> = message
            .links
            .iter()
            .map(|l| link(&l.url, &l.text))
            .collect();
        // One a line: a link is never cut in two.
        blocks.push(section(fit_lines(&links, 0, MAX_SECTION)));
    }
    blocks.truncate(MAX_BLOCKS);
    let text = format!("{}: {}", escape(&message.headline()), message.counts_text());
    json!({
        "text": cap(&text, MAX_TEXT),
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_change_cannot_mention_link_or_format() {
        let hostile = "<!channel> <!here> <@U123> @here @channel <https://evil.example|click> a&b *bold* https://evil.example www.evil.example";
        let safe = escape(hostile);
        for forbidden in [
            "<!", "<@", "<http", "@here", "@channel", "://", "www.", "*bold*",
        ] {
            assert!(!safe.contains(forbidden), "{forbidden} in {safe}");
        }
        assert!(!safe.contains('<') && !safe.contains('>'), "{safe}");
        assert!(safe.contains("a&amp;b"), "{safe}");
        let visible: String = safe.chars().filter(|c| *c != JOINER).collect();
        assert_eq!(
            visible,
            hostile
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        );
    }

    #[test]
    fn a_link_keeps_its_url_and_escapes_its_text() {
        assert_eq!(
            link("https://x.example/a?b=1&c=2", "a>b|c"),
            "<https://x.example/a?b=1&amp;c=2|a&gt;b|c>"
        );
    }

    #[test]
    fn the_worst_message_stays_within_slacks_limits() {
        use crate::notify::message::{units, worst_case};
        let body = payload(&worst_case());
        let blocks = body["blocks"].as_array().unwrap();
        assert!(blocks.len() <= MAX_BLOCKS);
        for block in blocks {
            let text = block["text"]["text"].as_str().unwrap();
            assert!(units(text) <= MAX_SECTION, "{}", units(text));
        }
        assert!(units(body["text"].as_str().unwrap()) <= MAX_TEXT);
        let findings = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(findings.ends_with(" more"), "{findings}");
        let links = blocks[2]["text"]["text"].as_str().unwrap();
        assert!(links
            .lines()
            .all(|l| l.starts_with("<https://") || l.starts_with("… and")));
    }
}
