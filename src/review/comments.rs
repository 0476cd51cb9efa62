//! What tollgate writes on a pull request: inline comment bodies (with a
//! `suggestion` block for a fix), the review body and the summary comment,
//! each carrying a hidden marker so a later run finds its own comments again.
//! Finding text comes from the pull request's code: it is neutralised so it
//! cannot mention people or forge a marker.

use super::forge::Dialect;
use crate::finding::{Finding, Severity};

pub const FIXED_MARKER: &str = "<!-- tollgate:fixed -->";
/// Hex digits of a fingerprint kept in the posted list.
const SHORT: usize = 16;
/// A finding's message in a comment: its code may be long; the reports hold all of it.
const MAX_MESSAGE: usize = 1_000;
/// A suggestion longer than this is left out: nobody reviews it in a comment.
const MAX_SUGGESTION: usize = 8_000;

/// The hidden markers of one review. Several tollgate jobs may review one
/// pull request (a monorepo's parts): each passes its own `--id`, and then
/// each finds only its own comments and summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markers {
    /// `tollgate`, or `tollgate:ID`.
    tag: String,
}

impl Default for Markers {
    fn default() -> Markers {
        Markers {
            tag: "tollgate".into(),
        }
    }
}

impl Markers {
    /// Markers for the review named `id` (letters, digits, `-`, `_`, `.`).
    pub fn new(id: Option<&str>) -> Result<Markers, String> {
        match id {
            None => Ok(Markers::default()),
            Some(id)
                if !id.is_empty()
                    && id.len() <= 64
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
            {
                Ok(Markers {
                    tag: format!("tollgate:{id}"),
                })
            }
            Some(id) => Err(format!(
                "review id `{id}`: expected 1 to 64 letters, digits, `-`, `_` or `.`"
            )),
        }
    }

    /// The review's name, if it has one.
    pub fn id(&self) -> Option<&str> {
        self.tag.strip_prefix("tollgate:")
    }

    /// How the review names itself: `tollgate`, or `tollgate (ID)`.
    pub fn name(&self) -> String {
        match self.id() {
            Some(id) => format!("tollgate ({id})"),
            None => "tollgate".to_string(),
        }
    }

    fn fingerprint_prefix(&self) -> String {
        format!("<!-- {}:fingerprint=", self.tag)
    }

    /// The marker that makes a comment the summary.
    pub fn summary(&self) -> String {
        format!("<!-- {}:summary -->", self.tag)
    }

    fn posted_prefix(&self) -> String {
        format!("<!-- {}:posted=", self.tag)
    }

    /// The fingerprint in a comment body written by this review, if any.
    pub fn fingerprint_in<'b>(&self, body: &'b str) -> Option<&'b str> {
        let prefix = self.fingerprint_prefix();
        let start = body.rfind(&prefix)? + prefix.len();
        let rest = &body[start..];
        let end = rest.find(|c: char| !c.is_ascii_hexdigit())?;
        rest[end..]
            .starts_with(" -->")
            .then(|| &rest[..end])
            .filter(|f| !f.is_empty())
    }

    /// The hidden line that carries a finding's fingerprint.
    fn fingerprint_line(&self, fingerprint: &str) -> String {
        format!("{}{fingerprint} -->", self.fingerprint_prefix())
    }

    pub fn is_summary(&self, body: &str) -> bool {
        body.contains(&self.summary())
    }

    /// The posted list of a summary body (short fingerprints): the findings
    /// that have had an inline comment, so one a person deleted is not posted again.
    pub fn posted_in(&self, body: &str) -> std::collections::HashSet<String> {
        let prefix = self.posted_prefix();
        let Some(start) = body.find(&prefix) else {
            return Default::default();
        };
        let rest = &body[start + prefix.len()..];
        let list = rest.split(" -->").next().unwrap_or_default();
        list.split(',')
            .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_string)
            .collect()
    }

    /// The hidden line that carries the posted list.
    pub fn posted_line(&self, posted: &std::collections::BTreeSet<String>) -> String {
        let list: Vec<&str> = posted.iter().map(String::as_str).collect();
        format!("{}{} -->", self.posted_prefix(), list.join(","))
    }
}

/// The short form of a fingerprint, as the posted list keeps it.
pub fn short(fingerprint: &str) -> &str {
    &fingerprint[..fingerprint.len().min(SHORT)]
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

/// Text from the pull request, made inert for Markdown: no `@mention`, no
/// HTML comment (so no forged marker), no link, image, autolink or HTML tag.
/// Code spans keep their text (Markdown shows it literally there), but even
/// inside them a marker is broken, since markers are found by plain search.
pub fn neutral(text: &str) -> String {
    let text = text.replace("<!--", "&lt;!--").replace("-->", "--&gt;");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let Some(open) = rest.find('`') else {
            out.push_str(&inert_prose(rest));
            break;
        };
        out.push_str(&inert_prose(&rest[..open]));
        let run = rest[open..].len() - rest[open..].trim_start_matches('`').len();
        let fence = &rest[open..open + run];
        let body = &rest[open + run..];
        // A code span closes with a backtick run of the same length.
        match find_run(body, run) {
            Some(close) => {
                out.push_str(fence);
                out.push_str(&no_mentions(&body[..close]));
                out.push_str(fence);
                rest = &body[close + run..];
            }
            None => {
                out.push_str(&"\\`".repeat(run));
                rest = body;
            }
        }
    }
    out
}

/// Where a run of exactly `len` backticks starts in `text`.
fn find_run(text: &str, len: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let start = i;
            while i < bytes.len() && bytes[i] == b'`' {
                i += 1;
            }
            if i - start == len {
                return Some(start);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Prose outside code spans: brackets, angle brackets and autolinks escaped.
fn inert_prose(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        // GitHub links bare URLs and `www.` names: a zero-width space breaks them.
        .replace("://", ":\u{200b}//")
        .replace("www.", "www\u{200b}.");
    no_mentions(&escaped)
}

/// `@name` with a zero-width space after the `@`, so nobody is notified.
fn no_mentions(text: &str) -> String {
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

/// The body of an inline comment. `suggestion` is the info string of the
/// fix's suggestion block (```` ```suggestion ````), set when the comment
/// spans exactly the lines the fix rewrites.
pub fn inline_body(
    markers: &Markers,
    finding: &Finding,
    url: Option<&str>,
    suggestion: Option<&str>,
) -> String {
    let mut body = format!(
        "{} **{}** `{}`: {}",
        icon(finding.severity),
        finding.severity,
        finding.rule,
        neutral(&shorten(&finding.message, MAX_MESSAGE))
    );
    if let (Some(info), Some(new_lines)) = (
        suggestion,
        finding
            .fix
            .as_ref()
            .and_then(|f| f.new_lines.as_deref())
            .filter(|lines| lines.len() <= MAX_SUGGESTION),
    ) {
        let fence = fence(new_lines);
        body.push_str(&format!("\n\n{fence}{info}\n{new_lines}\n{fence}"));
    }
    if let Some(url) = url {
        body.push_str(&format!("\n\n<sub>[About `{}`]({url})</sub>", finding.rule));
    }
    body.push_str("\n\n");
    body.push_str(&markers.fingerprint_line(&finding.fingerprint));
    body
}

/// The same comment, marked fixed in `commit` (when its thread cannot be
/// resolved): its first line struck through; the fingerprint stays so a
/// later run knows the comment.
pub fn fixed_body(markers: &Markers, body: &str, commit: &str) -> String {
    let short = &commit[..commit.len().min(12)];
    let stripped = strip_markers(body);
    let first = stripped.lines().next().unwrap_or_default();
    let fingerprint = markers
        .fingerprint_in(body)
        .map(|f| format!("\n{}", markers.fingerprint_line(f)))
        .unwrap_or_default();
    format!("✅ Fixed in {short}: ~~{first}~~\n\n{FIXED_MARKER}{fingerprint}")
}

fn strip_markers(body: &str) -> String {
    body.lines()
        .filter(|l| !l.starts_with("<!-- tollgate:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Cuts `body` to the forge's limit, on a line boundary, saying so.
pub fn fit(body: String, marker: &str, dialect: &Dialect) -> String {
    if body.len() <= dialect.max_body {
        return body;
    }
    let note = format!(
        "\n\n… cut to fit {}'s comment limit: the reports hold everything.\n\n{marker}",
        dialect.forge
    );
    let mut cut = dialect.max_body - note.len();
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
        let m = Markers::default();
        let body = inline_body(
            &m,
            &finding(),
            Some("https://example.com/r"),
            Some("suggestion"),
        );
        assert_eq!(m.fingerprint_in(&body), Some("0123abcd"));
        assert!(
            !m.is_summary(&body),
            "a finding's text must not forge the summary marker"
        );
        assert!(body.contains("@\u{200b}octocat"));
        assert!(
            body.contains("````suggestion\n\tuse(```x```)\n````"),
            "{body}"
        );
        let plain = inline_body(&m, &finding(), None, None);
        assert!(!plain.contains("suggestion"));
    }

    #[test]
    fn text_from_the_pull_request_cannot_link_mention_or_forge() {
        let forged = "see [here](https://evil.example/x) ![i](https://e/i.png) <img src=x> \
                      https://bare.example www.bare.example @octocat \
                      `code [a](b) <T> @x` <!-- tollgate:summary --> ``unclosed";
        let safe = neutral(forged);
        assert!(
            !safe.contains("[here](") && !safe.contains("![i]("),
            "{safe}"
        );
        assert!(
            !safe.contains("[here]") && safe.contains("\\[here\\]"),
            "{safe}"
        );
        assert!(!safe.contains("<img") && !safe.contains("<!--"), "{safe}");
        assert!(
            !safe.contains("https://bare") && !safe.contains("www.bare"),
            "{safe}"
        );
        assert!(
            safe.contains("@\u{200b}octocat") && safe.contains("@\u{200b}x"),
            "{safe}"
        );
        // Code spans keep their text: Markdown shows it literally.
        assert!(safe.contains("`code [a](b) <T> @\u{200b}x`"), "{safe}");
        assert!(!Markers::default().is_summary(&safe));
        assert_eq!(
            neutral("`os.Open` is never closed"),
            "`os.Open` is never closed"
        );
    }

    #[test]
    fn reviews_with_their_own_id_never_see_each_others_markers() {
        let (plain, api) = (Markers::default(), Markers::new(Some("api")).unwrap());
        let body = inline_body(&api, &finding(), None, None);
        assert_eq!(api.fingerprint_in(&body), Some("0123abcd"));
        assert_eq!(plain.fingerprint_in(&body), None);
        let default_body = inline_body(&plain, &finding(), None, None);
        assert_eq!(api.fingerprint_in(&default_body), None);
        assert!(!plain.is_summary(&api.summary()) && !api.is_summary(&plain.summary()));
        assert_eq!(api.id(), Some("api"));
        assert!(Markers::new(Some("no spaces"))
            .unwrap_err()
            .contains("expected 1 to 64"));
        assert!(Markers::new(Some("")).is_err());
    }

    #[test]
    fn the_posted_list_reads_back() {
        let posted: std::collections::BTreeSet<String> = [
            "0123456789abcdef".to_string(),
            "fedcba9876543210".to_string(),
        ]
        .into();
        let m = Markers::default();
        let body = format!("## summary\n{}\n{}", m.posted_line(&posted), m.summary());
        let read = m.posted_in(&body);
        assert_eq!(read.len(), 2);
        assert!(read.contains("0123456789abcdef") && read.contains("fedcba9876543210"));
        assert!(m.posted_in("no list here").is_empty());
        assert_eq!(short("0123456789abcdef0123"), "0123456789abcdef");
    }

    #[test]
    fn long_messages_and_suggestions_are_kept_short() {
        let mut long = finding();
        long.message = "x".repeat(5_000);
        long.fix.as_mut().unwrap().new_lines = Some("y".repeat(MAX_SUGGESTION + 1));
        let body = inline_body(&Markers::default(), &long, None, Some("suggestion"));
        assert!(body.contains(&format!("{}…", "x".repeat(MAX_MESSAGE))));
        assert!(!body.contains("x".repeat(MAX_MESSAGE + 1).as_str()));
        assert!(!body.contains("suggestion"));
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("hé", 2), "hé");
    }

    #[test]
    fn a_fixed_comment_keeps_its_fingerprint() {
        let m = Markers::default();
        let body = inline_body(&m, &finding(), None, None);
        let fixed = fixed_body(&m, &body, "abcdef0123456789");
        assert!(is_marked_fixed(&fixed) && fixed.contains("Fixed in abcdef012345"));
        assert_eq!(m.fingerprint_in(&fixed), Some("0123abcd"));
    }

    #[test]
    fn long_bodies_are_cut_to_the_limit() {
        let m = Markers::default();
        let long = "line\n".repeat(20_000) + &m.summary();
        let github = crate::github::forge::DIALECT;
        let cut = fit(long, &m.summary(), &github);
        assert!(cut.len() <= github.max_body && m.is_summary(&cut));
    }
}
