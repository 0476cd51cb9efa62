//! A message as a Discord webhook takes it: a short `content` line and one
//! embed (title, the counts and findings in the description, the links in a
//! field), within Discord's limits, with `allowed_mentions: {"parse": []}`
//! so nothing pings. Text from the change is Markdown-escaped and its
//! mentions broken up, so it renders as typed: no mention, link or format.

use super::message::{cap, fit_lines, units, Message};
use crate::finding::Severity;
use crate::review::summary::Outcome;
use serde_json::{json, Value};

/// Discord refuses longer message content (400, code 50035).
pub const MAX_CONTENT: usize = 2_000;
pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 4_096;
pub const MAX_FIELD_VALUE: usize = 1_024;
/// All embeds of a message together (titles, descriptions, fields, footers).
pub const MAX_EMBEDS_TOTAL: usize = 6_000;
/// U+200B ZERO WIDTH SPACE: after `@` no mention is parsed (as discord.py escapes them).
const BREAK: char = '\u{200B}';

/// Text from the change, inert in Discord's Markdown.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '(' | ')' | '#' | '-'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => {
                out.push('@');
                out.push(BREAK);
            }
            _ => out.push(c),
        }
    }
    // An escaped `:` already keeps `https://` from linking; `www.` too.
    out.replace("www.", &format!("www{BREAK}."))
}

/// A Markdown link to a checked URL ([`super::message::safe_url`]) with escaped text.
fn link(url: &str, text: &str) -> String {
    format!("[{}]({url})", escape(text))
}

fn icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "🛑",
        Severity::Warning => "⚠️",
        Severity::Info => "ℹ️",
    }
}

/// The webhook's JSON body.
pub fn payload(message: &Message) -> Value {
    let (mark, colour) = match message.outcome {
        Outcome::Passed => ("✅", 0x2E_A0_43),
        Outcome::Failed => ("❌", 0xD1_24_2F),
    };
    let headline = escape(&message.headline());
    let content = cap(&format!("{mark} {headline}"), MAX_CONTENT);
    // The branch name of a branch build is the pusher's to choose.
    let title = cap(&format!("{mark} {headline}"), MAX_TITLE);
    let lines: Vec<String> = message
        .findings
        .iter()
        .map(|f| {
            let place = match &f.url {
                Some(url) => link(url, &f.location),
                None => escape(&f.location),
            };
            format!(
                "{} **{}** `{}` {place}: {}",
                icon(f.severity),
                f.severity.as_str(),
                f.rule.replace('`', "'"),
                escape(&f.message)
            )
        })
        .collect();
    let counts = message.counts_text();
    let budget = MAX_DESCRIPTION - units(&counts) - 2;
    let mut description = counts;
    if !lines.is_empty() || message.unlisted > 0 {
        description.push_str("\n\n");
        description.push_str(&fit_lines(&lines, message.unlisted, budget));
    }
    let mut embed = json!({
        "title": title,
        "description": description,
        "color": colour,
    });
    if let Some(url) = &message.change_url {
        embed["url"] = json!(url);
    }
    if !message.links.is_empty() {
        let links: Vec<String> = message
            .links
            .iter()
            .map(|l| link(&l.url, &l.text))
            .collect();
        embed["fields"] = json!([{
            "name": "Links",
            "value": fit_lines(&links, 0, MAX_FIELD_VALUE),
        }]);
    }
    json!({
        "content": content,
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    })
}

/// The characters Discord counts towards [`MAX_EMBEDS_TOTAL`].
pub fn embeds_total(payload: &Value) -> usize {
    let len = |v: &Value| v.as_str().map_or(0, units);
    payload["embeds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            len(&e["title"])
                + len(&e["description"])
                + len(&e["footer"]["text"])
                + len(&e["author"]["name"])
                + e["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| len(&f["name"]) + len(&f["value"]))
                    .sum::<usize>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_change_cannot_mention_link_or_format() {
        let hostile =
            "@everyone @here <@123> <@&456> <#789> [click](https://evil.example) **b** `c` www.evil.example";
        let safe = escape(hostile);
        // What Markdown sees once the escaped characters are taken as text.
        let mut unescaped = String::new();
        let mut chars = safe.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                chars.next();
            } else {
                unescaped.push(c);
            }
        }
        for forbidden in [
            "@everyone",
            "@here",
            "<",
            "[",
            "(",
            "https://",
            "*",
            "`",
            "www.",
        ] {
            assert!(!unescaped.contains(forbidden), "{forbidden} in {safe}");
        }
        let visible: String = safe.chars().filter(|c| *c != BREAK && *c != '\\').collect();
        assert_eq!(visible, hostile.replace('\\', ""));
        assert_eq!(escape(r"a\b"), r"a\\b");
    }

    #[test]
    fn the_worst_message_stays_within_discords_limits() {
        use crate::notify::message::{units, worst_case};
        let body = payload(&worst_case());
        let embed = &body["embeds"][0];
        let len = |v: &Value| units(v.as_str().unwrap());
        assert!(len(&body["content"]) <= MAX_CONTENT);
        assert!(len(&embed["title"]) <= MAX_TITLE);
        assert!(len(&embed["description"]) <= MAX_DESCRIPTION);
        assert!(len(&embed["fields"][0]["value"]) <= MAX_FIELD_VALUE);
        assert!(embeds_total(&body) <= MAX_EMBEDS_TOTAL);
        assert!(embed["description"].as_str().unwrap().ends_with(" more"));
        assert!(!body.to_string().contains("@&"), "{body}");
    }
}
