//! The comment a change leaves on each of its issues: the change (label,
//! link, title), the CI run, the event and what was checked. Cloud takes it
//! as an ADF document, Data Center as wiki markup. The change's title and
//! image references are hostile text: in ADF they are plain text nodes; in
//! wiki markup every character that formats, links or mentions is escaped.
//!
//! Neither format has hidden text, so the comment ends with a short visible
//! footer naming the change and the event (`tollgate · acme/app#12 · opened`):
//! a re-run finds its comment by it (only among the token's own comments,
//! so a pasted footer counts for nothing). On Cloud an entity property says
//! the same, invisibly.

use crate::jira::{Change, Deployment, Event};
use serde_json::{json, Value};
use url::Url;

/// The most image references a comment lists.
const MAX_IMAGES: usize = 20;
/// The longest hostile text shown (a title, an image reference).
const MAX_TEXT: usize = 200;

/// The footer text that marks a change's comment for one event.
pub fn footer(change: &Change, event: Event) -> String {
    format!("tollgate · {} · {}", one_line(&change.id), event.as_str())
}

/// The comment body in the deployment's format: an ADF `doc` (Cloud) or a
/// wiki-markup string (Data Center).
pub fn render(deployment: Deployment, change: &Change, event: Event) -> Value {
    let blocks = blocks(change, event);
    match deployment {
        Deployment::Cloud => adf(&blocks),
        Deployment::DataCenter => Value::String(wiki(&blocks)),
    }
}

/// Whether a comment body (ADF or wiki markup) ends with `footer`, as
/// [`render`] writes it.
pub fn has_footer(body: &Value, footer: &str) -> bool {
    match body {
        Value::String(text) => {
            let line = wiki_footer(footer);
            text.lines()
                .any(|l| l.trim_end_matches('\r').trim() == line)
        }
        Value::Object(_) => body
            .get("content")
            .and_then(Value::as_array)
            .is_some_and(|blocks| blocks.iter().any(|b| adf_text(b) == footer)),
        _ => false,
    }
}

/// A run of inline text.
#[derive(Debug, Clone, PartialEq)]
enum Span {
    /// Our own words.
    Plain(String),
    /// Text from the change (a title, an image reference): escaped in wiki markup.
    Hostile(String),
    /// Our own words, linked (the URL checked to be http(s)).
    Link(String, Url),
    /// Hostile text shown as code (image references).
    Code(String),
    /// Small print (the footer).
    Muted(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Block {
    Paragraph(Vec<Span>),
    Bullets(Vec<Vec<Span>>),
}

fn blocks(change: &Change, event: Event) -> Vec<Block> {
    let mut out = Vec::new();
    let label = if change.label.trim().is_empty() {
        "The change".to_string()
    } else {
        one_line(&change.label)
    };
    let mut head = vec![link_or_plain(label, change.url.as_deref())];
    if let Some(title) = change
        .title
        .as_deref()
        .map(one_line)
        .filter(|t| !t.is_empty())
    {
        head.push(Span::Plain(" “".into()));
        head.push(Span::Hostile(shorten(&title)));
        head.push(Span::Plain("”".into()));
    }
    head.push(Span::Plain(
        match event {
            Event::Opened => " was opened.",
            Event::Updated => " was updated.",
            Event::Merged => " was merged.",
            Event::Failed => " failed its tollgate checks.",
        }
        .into(),
    ));
    out.push(Block::Paragraph(head));

    if let Some((url, name)) = &change.run {
        let name = match one_line(name) {
            n if n.is_empty() => "CI run".to_string(),
            n => n,
        };
        out.push(Block::Paragraph(vec![
            Span::Plain("Checked in the ".into()),
            link_or_plain(name, Some(url)),
            Span::Plain(".".into()),
        ]));
    }

    let checked = &change.checked;
    let findings = if checked.findings.iter().all(|(_, n)| *n == 0) {
        "no findings".to_string()
    } else {
        let counts: Vec<String> = checked
            .findings
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(severity, n)| format!("{n} {severity}"))
            .collect();
        format!("findings: {}", counts.join(", "))
    };
    let verdict = if checked.passed { "passed" } else { "failed" };
    out.push(Block::Paragraph(vec![Span::Plain(format!(
        "Gate {verdict}; {findings}."
    ))]));

    if let Some(environment) = checked.environment.as_deref().map(one_line) {
        if checked.images_passed.is_empty() {
            out.push(Block::Paragraph(vec![
                Span::Plain("No image reference was checked against the policy of ".into()),
                Span::Hostile(shorten(&environment)),
                Span::Plain(".".into()),
            ]));
        } else {
            out.push(Block::Paragraph(vec![
                Span::Plain("Image references that passed the policy of ".into()),
                Span::Hostile(shorten(&environment)),
                Span::Plain(":".into()),
            ]));
            let mut items: Vec<Vec<Span>> = checked
                .images_passed
                .iter()
                .take(MAX_IMAGES)
                .map(|image| vec![Span::Code(shorten(&one_line(image)))])
                .collect();
            let more = checked.images_passed.len().saturating_sub(MAX_IMAGES);
            if more > 0 {
                items.push(vec![Span::Plain(format!("… and {more} more"))]);
            }
            out.push(Block::Bullets(items));
        }
    }
    out.push(Block::Paragraph(vec![Span::Muted(footer(change, event))]));
    out
}

fn link_or_plain(text: String, url: Option<&str>) -> Span {
    match url.and_then(web_url) {
        Some(url) => Span::Link(text, url),
        None => Span::Plain(text),
    }
}

/// An http(s) URL, or nothing (no `javascript:` or other scheme in a link).
fn web_url(text: &str) -> Option<Url> {
    Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Control characters and line breaks become spaces, runs of spaces one.
fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| {
            if c.is_control() || c.is_whitespace() {
                ' '
            } else {
                c
            }
        })
        .collect();
    spaced
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn shorten(text: &str) -> String {
    crate::review::comments::shorten(text, MAX_TEXT)
}

// ---- ADF (Cloud) ----

fn adf(blocks: &[Block]) -> Value {
    let content: Vec<Value> = blocks
        .iter()
        .map(|block| match block {
            Block::Paragraph(spans) => adf_paragraph(spans),
            Block::Bullets(items) => json!({
                "type": "bulletList",
                "content": items
                    .iter()
                    .map(|spans| json!({"type": "listItem", "content": [adf_paragraph(spans)]}))
                    .collect::<Vec<_>>(),
            }),
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": content})
}

fn adf_paragraph(spans: &[Span]) -> Value {
    let content: Vec<Value> = spans
        .iter()
        .filter_map(|span| {
            let (text, marks) = match span {
                Span::Plain(t) | Span::Hostile(t) => (t, Value::Null),
                Span::Link(t, url) => (
                    t,
                    json!([{"type": "link", "attrs": {"href": url.as_str()}}]),
                ),
                Span::Code(t) => (t, json!([{"type": "code"}])),
                Span::Muted(t) => (t, json!([{"type": "em"}])),
            };
            // ADF refuses an empty text node.
            if text.is_empty() {
                return None;
            }
            let mut node = json!({"type": "text", "text": text});
            if !marks.is_null() {
                node["marks"] = marks;
            }
            Some(node)
        })
        .collect();
    json!({"type": "paragraph", "content": content})
}

/// The text of an ADF node, its text nodes joined.
fn adf_text(node: &Value) -> String {
    if let Some(text) = node.get("text").and_then(Value::as_str) {
        return text.to_string();
    }
    node.get("content")
        .and_then(Value::as_array)
        .map(|children| children.iter().map(adf_text).collect())
        .unwrap_or_default()
}

// ---- Wiki markup (Data Center) ----

fn wiki(blocks: &[Block]) -> String {
    let mut out: Vec<String> = Vec::new();
    for block in blocks {
        match block {
            Block::Paragraph(spans) => out.push(wiki_spans(spans)),
            Block::Bullets(items) => out.push(
                items
                    .iter()
                    .map(|spans| format!("* {}", wiki_spans(spans)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        }
    }
    out.join("\n\n")
}

fn wiki_spans(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|span| match span {
            Span::Plain(t) => wiki_escape(t),
            Span::Hostile(t) => wiki_escape(t),
            Span::Link(t, url) => format!("[{}|{}]", wiki_escape(t), wiki_url(url)),
            Span::Code(t) => format!("{{{{{}}}}}", wiki_escape(t)),
            Span::Muted(t) => wiki_footer(t),
        })
        .collect()
}

/// The footer line as wiki markup writes it (small, grey).
fn wiki_footer(text: &str) -> String {
    format!("{{color:#6b778c}}{}{{color}}", wiki_escape(text))
}

/// A URL in `[label|url]`: nothing in it can close the link or open markup.
fn wiki_url(url: &Url) -> String {
    url.as_str()
        .replace('|', "%7C")
        .replace('[', "%5B")
        .replace(']', "%5D")
        .replace('{', "%7B")
        .replace('}', "%7D")
        .replace('!', "%21")
        .replace('\\', "%5C")
}

/// Text that wiki markup shows as it is: every formatting character
/// escaped with `\` (a dash inside a word needs none); a backslash (two make a line break) shown as `∖`; a
/// zero-width space after each `:` and `www` so no URL, `mailto:` or
/// `file:` is linked automatically.
pub fn wiki_escape(text: &str) -> String {
    const SPECIAL: &[char] = &[
        '*', '_', '-', '+', '^', '~', '?', '{', '}', '[', ']', '|', '!',
    ];
    let mut out = String::with_capacity(text.len() + 8);
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\\' => out.push('∖'),
            // Inside a word (`SHOP-12`, `fix-cart`) a dash cannot strike or make a dash.
            '-' if i > 0
                && chars[i - 1].is_alphanumeric()
                && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) =>
            {
                out.push('-')
            }
            c if SPECIAL.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            ':' => out.push_str(":\u{200B}"),
            c => out.push(c),
        }
        let www = i >= 2
            && chars[i - 2..=i]
                .iter()
                .collect::<String>()
                .eq_ignore_ascii_case("www");
        if www {
            out.push('\u{200B}');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::jira::Checked;

    fn change(title: &str) -> Change {
        Change {
            id: "github.com/acme/app#12".into(),
            label: "PR #12".into(),
            title: Some(title.into()),
            url: Some("https://github.com/acme/app/pull/12".into()),
            run: Some((
                "https://github.com/acme/app/actions/runs/9".into(),
                "workflow run".into(),
            )),
            checked: Checked {
                passed: false,
                findings: vec![(Severity::Error, 2), (Severity::Warning, 1)],
                environment: Some("prod".into()),
                images_passed: vec!["registry.example.com/shop:1.4.2".into()],
            },
        }
    }

    #[test]
    fn cloud_gets_an_adf_document_with_linked_text() {
        let body = render(Deployment::Cloud, &change("Fix the cart"), Event::Opened);
        assert_eq!(body["type"], "doc");
        assert_eq!(body["version"], 1);
        let first = &body["content"][0]["content"];
        assert_eq!(first[0]["text"], "PR #12");
        assert_eq!(
            first[0]["marks"][0],
            json!({"type": "link", "attrs": {"href": "https://github.com/acme/app/pull/12"}})
        );
        assert_eq!(first[2]["text"], "Fix the cart");
        assert_eq!(
            adf_text(&body["content"][1]),
            "Checked in the workflow run."
        );
        assert_eq!(
            adf_text(&body["content"][2]),
            "Gate failed; findings: 2 error, 1 warning."
        );
        assert_eq!(body["content"][4]["type"], "bulletList");
        assert_eq!(
            adf_text(&body["content"][4]),
            "registry.example.com/shop:1.4.2"
        );
        let footer = footer(&change(""), Event::Opened);
        assert_eq!(footer, "tollgate · github.com/acme/app#12 · opened");
        assert!(has_footer(&body, &footer));
        assert!(!has_footer(
            &body,
            &super::footer(&change(""), Event::Merged)
        ));
        // No empty text node anywhere (Jira refuses the document).
        assert!(!body.to_string().contains("\"text\":\"\""));
    }

    #[test]
    fn a_hostile_title_stays_one_plain_text_node_in_adf() {
        let title = "[~admin] {noformat}x <a href=x> http://evil.example\n\nh1. big";
        let body = render(Deployment::Cloud, &change(title), Event::Merged);
        let first = &body["content"][0]["content"];
        assert_eq!(
            first[2],
            json!({"type": "text", "text": "[~admin] {noformat}x <a href=x> http://evil.example h1. big"})
        );
        assert_eq!(body["content"][0]["content"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn data_center_gets_wiki_markup() {
        let mut c = change("Fix the cart");
        c.checked.passed = true;
        c.checked.findings = vec![];
        let body = render(Deployment::DataCenter, &c, Event::Merged);
        let text = body.as_str().unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines[0],
            "[PR #12|https://github.com/acme/app/pull/12] “Fix the cart” was merged."
        );
        assert_eq!(
            lines[1],
            "Checked in the [workflow run|https://github.com/acme/app/actions/runs/9]."
        );
        assert_eq!(lines[2], "Gate passed; no findings.");
        assert_eq!(lines[4], "* {{registry.example.com/shop:\u{200B}1.4.2}}");
        assert!(has_footer(&body, &footer(&c, Event::Merged)));
        assert!(!has_footer(&body, &footer(&c, Event::Opened)));
    }

    #[test]
    fn a_hostile_title_cannot_format_link_or_mention_in_wiki_markup() {
        let title = "[~admin] {noformat} *bold* [x|http://evil.example] !img.png! www.evil.example \\\\ -strike- mailto:a@b.c\nh1. big SHOP-12 a--b";
        let body = render(Deployment::DataCenter, &change(title), Event::Opened);
        let first = body.as_str().unwrap().lines().next().unwrap().to_string();
        // Everything stays on the first line; every markup character escaped.
        assert!(
            first.contains(r"\[\~admin\] \{noformat\} \*bold\* \[x\|http:"),
            "{first}"
        );
        assert!(!first.contains("http://"), "{first}");
        assert!(!first.contains("www.evil"), "{first}");
        assert!(!first.contains("mailto:a"), "{first}");
        assert!(first.contains(r"\!img.png\!"), "{first}");
        assert!(first.contains("∖∖ \\-strike\\-"), "{first}");
        assert!(first.contains(" h1. big SHOP-12 a\\-\\-b"), "{first}");
        // No unescaped markup character is left in the title's part.
        let title_part = first.split('“').nth(1).unwrap();
        let chars: Vec<char> = title_part.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let in_word =
                c == '-' && chars[i - 1].is_alphanumeric() && chars[i + 1].is_alphanumeric();
            if "[]{}*|!~-".contains(c) && !in_word {
                assert_eq!(chars[i - 1], '\\', "unescaped {c} in {first}");
            }
        }
    }

    #[test]
    fn links_are_web_urls_only() {
        let mut c = change("t");
        c.url = Some("javascript:alert(1)".into());
        let body = render(Deployment::Cloud, &c, Event::Opened);
        assert!(body["content"][0]["content"][0].get("marks").is_none());
        let body = render(Deployment::DataCenter, &c, Event::Opened);
        assert!(body.as_str().unwrap().starts_with("PR #12 “t”"));
        c.url = Some("https://x.example/a|b]c".into());
        let body = render(Deployment::DataCenter, &c, Event::Opened);
        assert!(body
            .as_str()
            .unwrap()
            .starts_with("[PR #12|https://x.example/a%7Cb%5Dc]"));
    }
}
