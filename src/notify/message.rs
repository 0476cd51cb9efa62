//! What a notification says, whatever the platform: the outcome, counts by
//! severity, the first findings with links to their lines, and links to the
//! change request, the CI run and the Jira issues. Every text here is raw:
//! `slack.rs` and `discord.rs` escape it for their own markup. Every URL is
//! checked and percent-encoded here ([`safe_url`]), so no platform's link
//! syntax can be closed early by one.

use crate::finding::{Finding, Severity};
use crate::review::summary::Outcome;

/// A finding's message in a notification: the reports hold the rest.
const MAX_MESSAGE: usize = 200;
/// A file name in a notification.
const MAX_PATH: usize = 150;

/// A link: what it says and where it goes (checked with [`safe_url`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub text: String,
    pub url: String,
}

/// One listed finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub severity: Severity,
    pub rule: String,
    /// `path:line`, shortened.
    pub location: String,
    /// The line on the head commit, when the project's web address is known.
    pub url: Option<String>,
    pub message: String,
}

/// A notification, before a platform renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub outcome: Outcome,
    /// `tollgate`, or `tollgate (ID)`.
    pub name: String,
    /// `PR #7 of acme/app`, linked when its address is known.
    pub change: String,
    pub change_url: Option<String>,
    /// Errors, warnings, infos.
    pub counts: [(Severity, usize); 3],
    /// The first findings, most severe first.
    pub findings: Vec<Line>,
    /// Findings not listed.
    pub unlisted: usize,
    /// The CI run, then the Jira issues.
    pub links: Vec<Link>,
}

/// What a message is made from.
pub struct Inputs<'a> {
    pub name: String,
    pub outcome: Outcome,
    /// Repository-relative paths, on the head's lines.
    pub findings: &'a [Finding],
    pub max_findings: usize,
    /// `PR #7`, `MR !7`.
    pub change_ref: String,
    /// `acme/app`.
    pub repository: &'a str,
    /// The change request's web page.
    pub change_url: Option<String>,
    /// Where a file's line on the head commit is: `{prefix}/{path}#L{line}`
    /// (`https://github.com/acme/app/blob/SHA`).
    pub blob_url: Option<String>,
    /// What the CI calls its run, and the run's URL.
    pub run: Option<(&'a str, &'a str)>,
    /// Jira issues: key and URL (from the Jira step, when it ran).
    pub jira: &'a [(String, String)],
}

impl Message {
    pub fn new(input: &Inputs<'_>) -> Message {
        let count = |severity| {
            input
                .findings
                .iter()
                .filter(|f| f.severity == severity)
                .count()
        };
        let mut ordered: Vec<&Finding> = input.findings.iter().collect();
        // Stable: the scan's order within a severity.
        ordered.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let findings: Vec<Line> = ordered
            .iter()
            .take(input.max_findings)
            .map(|f| line(f, input.blob_url.as_deref()))
            .collect();
        let mut links = Vec::new();
        if let Some((label, url)) = input.run {
            links.extend(safe_url(url).map(|url| Link {
                text: label.to_string(),
                url,
            }));
        }
        for (key, url) in input.jira {
            links.extend(safe_url(url).map(|url| Link {
                text: shorten(key, 40),
                url,
            }));
        }
        Message {
            outcome: input.outcome,
            name: input.name.clone(),
            change: format!(
                "{} of {}",
                input.change_ref,
                shorten(input.repository, MAX_PATH)
            ),
            change_url: input.change_url.as_deref().and_then(safe_url),
            counts: [
                (Severity::Error, count(Severity::Error)),
                (Severity::Warning, count(Severity::Warning)),
                (Severity::Info, count(Severity::Info)),
            ],
            unlisted: input.findings.len() - findings.len(),
            findings,
            links,
        }
    }

    /// `tollgate: PR #7 of acme/app failed`: raw text.
    pub fn headline(&self) -> String {
        format!("{}: {} {}", self.name, self.change, self.outcome.as_str())
    }

    /// `2 errors, 1 warning, 0 infos`.
    pub fn counts_text(&self) -> String {
        self.counts
            .iter()
            .map(|(severity, n)| {
                let word = severity.as_str();
                format!("{n} {word}{}", if *n == 1 { "" } else { "s" })
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn line(f: &Finding, blob_url: Option<&str>) -> Line {
    let path = crate::report::json::path_string(&f.path);
    Line {
        severity: f.severity,
        rule: shorten(&f.rule, 100),
        location: format!("{}:{}", shorten(&path, MAX_PATH), f.start.line),
        url: blob_url.and_then(|prefix| {
            safe_url(&format!(
                "{prefix}/{}#L{}",
                crate::review::summary::url_path(&path),
                f.start.line
            ))
        }),
        message: shorten(&one_line(&f.message), MAX_MESSAGE),
    }
}

/// The text on one line: line breaks and tabs become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` cut to at most `max` characters (on a character boundary), marked
/// with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
        _ => text.to_string(),
    }
}

/// An http(s) URL as a link may hold it, or None. Characters that could end
/// a link in Slack (`|`, `>`) or Markdown (`)`, space) or start markup are
/// percent-encoded; so is anything outside printable ASCII.
pub fn safe_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' => out.push(c),
            '-' | '.' | '_' | '~' | '/' | ':' | '?' | '#' | '=' | '&' | '%' | '+' | ',' | ';'
            | '@' | '!' | '$' => out.push(c),
            other => {
                let mut bytes = [0; 4];
                for byte in other.encode_utf8(&mut bytes).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
    }
    Some(out)
}

/// A text's length as the platforms' limits count it, at worst: UTF-16
/// code units (an emoji is two), never fewer than its characters.
pub fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `text` within `max` [`units`], cut on a character boundary and marked
/// with `…` when cut.
pub fn cap(text: &str, max: usize) -> String {
    if units(text) <= max {
        return text.to_string();
    }
    let room = max.saturating_sub(1);
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        used += c.len_utf16();
        if used > room {
            break;
        }
        out.push(c);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// Lines joined with `\n` within `budget` [`units`]: whole lines while they
/// fit, then `… and N more` for the rest. `extra` items were never made
/// into lines and count in N too. A first line longer than the budget is cut.
pub fn fit_lines(lines: &[String], extra: usize, budget: usize) -> String {
    let more = |n: usize| format!("… and {n} more");
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let left_after = lines.len() - i - 1 + extra;
        let tail = if left_after > 0 {
            units(&more(left_after)) + 1
        } else {
            0
        };
        let sep = usize::from(!out.is_empty());
        if units(&out) + sep + units(line) + tail <= budget {
            if sep == 1 {
                out.push('\n');
            }
            out.push_str(line);
            continue;
        }
        let unlisted = lines.len() - i + extra;
        if out.is_empty() {
            // Not even the first line fits: it is cut, so something is said.
            let tail = if unlisted > 1 {
                more(unlisted - 1)
            } else {
                String::new()
            };
            let room = budget.saturating_sub(units(&tail) + 1);
            out = cap(line, room);
            if !tail.is_empty() {
                out.push('\n');
                out.push_str(&tail);
            }
            return cap(&out, budget);
        }
        out.push('\n');
        out.push_str(&more(unlisted));
        return cap(&out, budget);
    }
    if extra > 0 {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&more(extra));
    }
    cap(&out, budget)
}

/// A message at its worst: `max_findings` long findings whose text grows
/// most when escaped, many more unlisted, and many Jira links.
#[cfg(test)]
pub(crate) fn worst_case() -> Message {
    let line = |i: usize| Line {
        severity: Severity::Error,
        rule: "`<&>`".repeat(20),
        location: format!("{}:{i}", "&<>*_😀".repeat(25)),
        url: safe_url(&format!(
            "https://github.com/acme/app/blob/abc/{}#L{i}",
            "a".repeat(150)
        )),
        message: "&<>@*_`😀".repeat(25),
    };
    Message {
        outcome: Outcome::Failed,
        name: "tollgate (api)".into(),
        change: format!("PR #7 of {}", "&<>@".repeat(40)),
        change_url: safe_url("https://github.com/acme/app/pull/7"),
        counts: [
            (Severity::Error, 9_999),
            (Severity::Warning, 0),
            (Severity::Info, 0),
        ],
        findings: (0..crate::notify::config::MAX_FINDINGS).map(line).collect(),
        unlisted: 9_979,
        links: (0..200)
            .map(|i| Link {
                text: format!("SHOP-{i}"),
                url: format!("https://jira.example.com/browse/SHOP-{i}"),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Position;

    fn finding(severity: Severity, path: &str, message: &str) -> Finding {
        Finding {
            rule: "go/x".into(),
            severity,
            path: path.into(),
            start: Position { line: 4, column: 1 },
            end: Position { line: 4, column: 2 },
            message: message.into(),
            fingerprint: "00".into(),
            fix: None,
            snippet: String::new(),
            suppressed: false,
        }
    }

    #[test]
    fn truncation_keeps_whole_characters_and_counts_the_rest() {
        assert_eq!(shorten("ééé", 3), "ééé");
        assert_eq!(shorten("éééé", 3), "éé…");
        let lines: Vec<String> = (0..10).map(|i| format!("line {i} ✓✓✓")).collect();
        let fitted = fit_lines(&lines, 5, 40);
        assert!(units(&fitted) <= 40, "{fitted}");
        assert!(fitted.starts_with("line 0 ✓✓✓\nline 1 ✓✓✓"), "{fitted}");
        assert!(fitted.ends_with("… and 13 more"), "{fitted}");
        assert_eq!(fit_lines(&lines[..2], 0, 100), "line 0 ✓✓✓\nline 1 ✓✓✓");
        assert_eq!(fit_lines(&[], 3, 100), "… and 3 more");
        let long = vec!["é".repeat(5_000), "x".into()];
        let cut = fit_lines(&long, 0, 3_000);
        assert!(units(&cut) <= 3_000, "{cut}");
        assert!(cut.ends_with("é…\n… and 1 more"), "{cut}");
        // An emoji is two UTF-16 units: the limit counts them so.
        let emoji = vec!["😀".repeat(2_000)];
        let cut = fit_lines(&emoji, 0, 3_000);
        assert!(units(&cut) <= 3_000 && cut.chars().count() <= 1_500);
        assert_eq!(cap("😀😀😀", 4), "😀…");
        assert_eq!(cap("abc", 3), "abc");
    }

    #[test]
    fn urls_cannot_close_a_link_and_only_http_links() {
        assert_eq!(
            safe_url("https://x.example/a b|c>d)e<f").as_deref(),
            Some("https://x.example/a%20b%7Cc%3Ed%29e%3Cf")
        );
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("not a url"), None);
    }

    #[test]
    fn errors_come_first_and_each_line_links_to_the_head() {
        let findings = [
            finding(Severity::Info, "a.go", "i"),
            finding(Severity::Error, "dir/b c.go", "two\nlines"),
            finding(Severity::Warning, "c.go", "w"),
        ];
        let message = Message::new(&Inputs {
            name: "tollgate".into(),
            outcome: Outcome::Failed,
            findings: &findings,
            max_findings: 2,
            change_ref: "PR #7".into(),
            repository: "acme/app",
            change_url: Some("https://github.com/acme/app/pull/7".into()),
            blob_url: Some("https://github.com/acme/app/blob/abc".into()),
            run: Some(("workflow run", "https://github.com/acme/app/actions/runs/1")),
            jira: &[("SHOP-1".into(), "https://jira.example/browse/SHOP-1".into())],
        });
        assert_eq!(message.headline(), "tollgate: PR #7 of acme/app failed");
        assert_eq!(message.counts_text(), "1 error, 1 warning, 1 info");
        assert_eq!(message.unlisted, 1);
        assert_eq!(message.findings[0].location, "dir/b c.go:4");
        assert_eq!(message.findings[0].message, "two lines");
        assert_eq!(
            message.findings[0].url.as_deref(),
            Some("https://github.com/acme/app/blob/abc/dir/b%20c.go#L4")
        );
        assert_eq!(message.findings[1].severity, Severity::Warning);
        assert_eq!(message.links.len(), 2);
        assert_eq!(message.links[1].text, "SHOP-1");
    }
}
