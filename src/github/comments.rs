//! What tollgate writes on a pull request: inline comment bodies (with a
//! `suggestion` block for a fix), the review body and the summary comment,
//! each carrying a hidden marker so a later run finds its own comments again.
//! Finding text comes from the pull request's code: it is neutralised so it
//! cannot mention people or forge a marker.

use crate::finding::{Finding, Severity};

const FINGERPRINT_MARKER: &str = "<!-- tollgate:fingerprint=";
pub const SUMMARY_MARKER: &str = "<!-- tollgate:summary -->";
pub const FIXED_MARKER: &str = "<!-- tollgate:fixed -->";
/// In the summary: the findings that have had an inline comment, so a
/// comment a person deleted is not posted again.
const POSTED_MARKER: &str = "<!-- tollgate:posted=";
/// Hex digits of a fingerprint kept in the posted list.
const SHORT: usize = 16;
/// GitHub refuses comment bodies longer than this.
pub const MAX_BODY: usize = 65_536;
/// A finding's message in a comment: its code may be long; the reports hold all of it.
const MAX_MESSAGE: usize = 1_000;
/// A suggestion longer than this is left out: nobody reviews it in a comment.
const MAX_SUGGESTION: usize = 8_000;

/// The fingerprint in a comment body written by tollgate, if any.
pub fn fingerprint_in(body: &str) -> Option<&str> {
    let start = body.rfind(FINGERPRINT_MARKER)? + FINGERPRINT_MARKER.len();
    let rest = &body[start..];
    let end = rest.find(|c: char| !c.is_ascii_hexdigit())?;
    rest[end..]
        .starts_with(" -->")
        .then(|| &rest[..end])
        .filter(|f| !f.is_empty())
}

/// The short form of a fingerprint, as the posted list keeps it.
pub fn short(fingerprint: &str) -> &str {
    &fingerprint[..fingerprint.len().min(SHORT)]
}

/// The posted list of a summary body (short fingerprints).
pub fn posted_in(body: &str) -> std::collections::HashSet<String> {
    let Some(start) = body.find(POSTED_MARKER) else {
        return Default::default();
    };
    let rest = &body[start + POSTED_MARKER.len()..];
    let list = rest.split(" -->").next().unwrap_or_default();
    list.split(',')
        .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
        .collect()
}

/// The hidden line that carries the posted list.
pub fn posted_marker(posted: &std::collections::BTreeSet<String>) -> String {
    let list: Vec<&str> = posted.iter().map(String::as_str).collect();
    format!("{POSTED_MARKER}{} -->", list.join(","))
}

pub fn is_summary(body: &str) -> bool {
    body.contains(SUMMARY_MARKER)
}

pub fn is_marked_fixed(body: &str) -> bool {
    body.contains(FIXED_MARKER)
}

/// `text` cut to at most `max` characters, marked with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Text from the pull request, made inert: no `@mention`, no HTML comment.
pub fn neutral(text: &str) -> String {
    let text = text.replace("<!--", "&lt;!--").replace("-->", "--&gt;");
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '@' && chars.peek().is_some_and(|n| n.is_ascii_alphanumeric()) {
            out.push('\u{200b}');
        }
    }
    out
}

pub fn icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "🛑",
        Severity::Warning => "⚠️",
        Severity::Info => "ℹ️",
    }
}

/// A fence longer than any backtick run in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

/// The body of an inline comment. `suggest` is set when the comment spans
/// exactly the lines the fix rewrites.
pub fn inline_body(finding: &Finding, url: Option<&str>, suggest: bool) -> String {
    let mut body = format!(
        "{} **{}** `{}`: {}",
        icon(finding.severity),
        finding.severity,
        finding.rule,
        neutral(&shorten(&finding.message, MAX_MESSAGE))
    );
    if let Some(new_lines) = finding
        .fix
        .as_ref()
        .and_then(|f| f.new_lines.as_deref())
        .filter(|lines| suggest && lines.len() <= MAX_SUGGESTION)
    {
        let fence = fence(new_lines);
        body.push_str(&format!("\n\n{fence}suggestion\n{new_lines}\n{fence}"));
    }
    if let Some(url) = url {
        body.push_str(&format!("\n\n<sub>[About `{}`]({url})</sub>", finding.rule));
    }
    body.push_str(&format!(
        "\n\n{FINGERPRINT_MARKER}{} -->",
        finding.fingerprint
    ));
    body
}

/// The same comment, marked fixed in `commit` (when its thread cannot be
/// resolved): its first line struck through; the fingerprint stays so a
/// later run knows the comment.
pub fn fixed_body(body: &str, commit: &str) -> String {
    let short = &commit[..commit.len().min(12)];
    let stripped = strip_markers(body);
    let first = stripped.lines().next().unwrap_or_default();
    format!("✅ Fixed in {short}: ~~{first}~~\n\n{FIXED_MARKER}") + &marker_line(body)
}

fn strip_markers(body: &str) -> String {
    body.lines()
        .filter(|l| !l.starts_with("<!-- tollgate:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn marker_line(body: &str) -> String {
    fingerprint_in(body)
        .map(|f| format!("\n{FINGERPRINT_MARKER}{f} -->"))
        .unwrap_or_default()
}

/// Cuts `body` to GitHub's limit, on a line boundary, saying so.
pub fn fit(body: String, marker: &str) -> String {
    if body.len() <= MAX_BODY {
        return body;
    }
    let note = format!(
        "\n\n… cut to fit GitHub's comment limit: the reports hold everything.\n\n{marker}"
    );
    let mut cut = MAX_BODY - note.len();
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = body[..cut].rfind('\n').unwrap_or(cut);
    format!("{}{note}", &body[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Fix, Position};

    fn finding() -> Finding {
        Finding {
            rule: "go/x".into(),
            severity: Severity::Warning,
            path: "a.go".into(),
            start: Position { line: 3, column: 1 },
            end: Position { line: 3, column: 9 },
            message: "ping @octocat <!-- tollgate:summary -->".into(),
            fingerprint: "0123abcd".into(),
            fix: Some(Fix {
                start: Position { line: 3, column: 1 },
                end: Position { line: 3, column: 9 },
                replacement: "y".into(),
                new_lines: Some("\tuse(```x```)".into()),
            }),
            snippet: String::new(),
            suppressed: false,
        }
    }

    #[test]
    fn bodies_carry_the_fingerprint_and_inert_text() {
        let body = inline_body(&finding(), Some("https://example.com/r"), true);
        assert_eq!(fingerprint_in(&body), Some("0123abcd"));
        assert!(
            !is_summary(&body),
            "a finding's text must not forge the summary marker"
        );
        assert!(body.contains("@\u{200b}octocat"));
        assert!(
            body.contains("````suggestion\n\tuse(```x```)\n````"),
            "{body}"
        );
        let plain = inline_body(&finding(), None, false);
        assert!(!plain.contains("suggestion"));
    }

    #[test]
    fn the_posted_list_reads_back() {
        let posted: std::collections::BTreeSet<String> = [
            "0123456789abcdef".to_string(),
            "fedcba9876543210".to_string(),
        ]
        .into();
        let body = format!("## summary\n{}\n{SUMMARY_MARKER}", posted_marker(&posted));
        let read = posted_in(&body);
        assert_eq!(read.len(), 2);
        assert!(read.contains("0123456789abcdef") && read.contains("fedcba9876543210"));
        assert!(posted_in("no list here").is_empty());
        assert_eq!(short("0123456789abcdef0123"), "0123456789abcdef");
    }

    #[test]
    fn long_messages_and_suggestions_are_kept_short() {
        let mut long = finding();
        long.message = "x".repeat(5_000);
        long.fix.as_mut().unwrap().new_lines = Some("y".repeat(MAX_SUGGESTION + 1));
        let body = inline_body(&long, None, true);
        assert!(body.contains(&format!("{}…", "x".repeat(MAX_MESSAGE))));
        assert!(!body.contains("x".repeat(MAX_MESSAGE + 1).as_str()));
        assert!(!body.contains("suggestion"));
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("hé", 2), "hé");
    }

    #[test]
    fn a_fixed_comment_keeps_its_fingerprint() {
        let body = inline_body(&finding(), None, false);
        let fixed = fixed_body(&body, "abcdef0123456789");
        assert!(is_marked_fixed(&fixed) && fixed.contains("Fixed in abcdef012345"));
        assert_eq!(fingerprint_in(&fixed), Some("0123abcd"));
    }

    #[test]
    fn long_bodies_are_cut_to_the_limit() {
        let long = "line\n".repeat(20_000) + SUMMARY_MARKER;
        let cut = fit(long, SUMMARY_MARKER);
        assert!(cut.len() <= MAX_BODY && is_summary(&cut));
    }
}
