//! The one summary comment: counts by severity, the findings not commented
//! inline (and why), image policy results, notices, and links to the commit
//! and the run. It depends only on the state of the PR, not on what this run
//! happened to post, so a re-run with nothing new leaves it unchanged.

use super::comments::{self, icon, neutral, Markers};
use super::forge::Dialect;
use super::plan::Elsewhere;
use crate::finding::{Finding, Severity};

pub struct SummaryInput<'a> {
    pub findings: &'a [Finding],
    /// Findings commented inline (new or earlier).
    pub inline: usize,
    pub elsewhere: &'a [(usize, Elsewhere)],
    /// The project's web page (`https://github.com/acme/app`) and the
    /// change's head, for links.
    pub project_url: &'a str,
    pub head_sha: &'a str,
    /// The CI run, for a link: what the CI calls it ("workflow run",
    /// "pipeline", "build") and its URL.
    pub run: Option<(&'a str, &'a str)>,
    pub dialect: &'a Dialect,
    pub environment: Option<&'a str>,
    /// Things the reader should know (files GitHub left out, skipped files).
    pub notes: &'a [String],
    /// Short fingerprints of findings that have had an inline comment (kept
    /// hidden in the summary, so a deleted comment stays deleted).
    pub posted: &'a std::collections::BTreeSet<String>,
    pub markers: &'a Markers,
    /// Whether the gate passed: kept hidden, for the next run's `notify.on: change`.
    pub outcome: Outcome,
}

/// What the gate said about the change: recorded in the summary so the next
/// run knows whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
}

impl Outcome {
    pub fn of(gate_fails: bool) -> Outcome {
        if gate_fails {
            Outcome::Failed
        } else {
            Outcome::Passed
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
        }
    }
}

/// `<!-- tollgate:ID:outcome=` for the review of `markers`: next to its summary marker.
fn outcome_prefix(markers: &Markers) -> String {
    let summary = markers.summary();
    format!("{}outcome=", summary.trim_end_matches("summary -->"))
}

/// The hidden line that records the gate's outcome.
fn outcome_line(markers: &Markers, outcome: Outcome) -> String {
    format!("{}{} -->", outcome_prefix(markers), outcome.as_str())
}

/// The outcome an earlier summary of this review recorded, if it did. The
/// last marker counts: finding text is neutralised and cannot hold one, and
/// the real one is in the tail.
pub fn outcome_in(markers: &Markers, body: &str) -> Option<Outcome> {
    let prefix = outcome_prefix(markers);
    let start = body.rfind(&prefix)? + prefix.len();
    let rest = &body[start..];
    [Outcome::Passed, Outcome::Failed]
        .into_iter()
        .find(|o| rest.starts_with(&format!("{} -->", o.as_str())))
}

/// A table cell: inert, one line, and short (the reports hold the rest).
fn cell(text: &str) -> String {
    neutral(&comments::shorten(text, 300))
        .replace('|', "\\|")
        .replace('\n', " ")
}

/// A link to the finding's line on the head commit. The path is a file of
/// the pull request, and its name is the pull request's to choose: the link
/// text is made inert and the URL percent-encoded, so it links nowhere else.
fn location(input: &SummaryInput<'_>, f: &Finding) -> String {
    let path = crate::report::json::path_string(&f.path);
    format!(
        "[{}:{}]({}{}/blob/{}/{}#L{})",
        neutral(&path.replace('`', "'")),
        f.start.line,
        input.project_url,
        input.dialect.web_infix,
        input.head_sha,
        url_path(&path),
        f.start.line
    )
}

/// `path` percent-encoded for a URL, `/` kept between its parts.
pub(crate) fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub fn render(input: &SummaryInput<'_>) -> String {
    let (errors, warnings, infos) = (
        count(input.findings, Severity::Error),
        count(input.findings, Severity::Warning),
        count(input.findings, Severity::Info),
    );
    let short = &input.head_sha[..input.head_sha.len().min(7)];
    let mut out = String::new();
    let name = input.markers.name();
    if input.findings.is_empty() {
        out.push_str(&format!("## ✅ {name}: no findings\n\n"));
    } else {
        out.push_str(&format!(
            "## {} {name}: {}, {}, {}\n\n",
            if errors > 0 {
                icon(Severity::Error)
            } else {
                icon(Severity::Warning)
            },
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(infos, "info")
        ));
    }
    out.push_str(&format!(
        "Commit [`{short}`]({}{}/commit/{})",
        input.project_url, input.dialect.web_infix, input.head_sha
    ));
    if let Some(env) = input.environment {
        out.push_str(&format!(" · environment `{}`", cell(env)));
    }
    if let Some((label, url)) = input.run {
        out.push_str(&format!(" · [{label}]({url})"));
    }
    out.push_str("\n\n");
    if !input.findings.is_empty() {
        out.push_str(&format!(
            "{} on the changed lines as review comments; {} below.\n",
            plural(input.inline, "finding"),
            input.elsewhere.len()
        ));
    }
    if !input.elsewhere.is_empty() {
        out.push_str("\n### Not commented inline\n\n| | Where | Rule | Finding | Why here |\n|---|---|---|---|---|\n");
        for (index, why) in input.elsewhere {
            let f = &input.findings[*index];
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} |\n",
                icon(f.severity),
                location(input, f),
                f.rule,
                cell(&f.message),
                cell(&why.describe(input.dialect))
            ));
        }
    }
    let images: Vec<&Finding> = input
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("image/"))
        .collect();
    if !images.is_empty() {
        out.push_str(&format!(
            "\n### Image policy{}\n\n| | Where | Check | Finding |\n|---|---|---|---|\n",
            input
                .environment
                .map(|e| format!(" (`{}`)", cell(e)))
                .unwrap_or_default()
        ));
        for f in images {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} |\n",
                icon(f.severity),
                location(input, f),
                f.rule,
                cell(&f.message)
            ));
        }
    }
    if !input.notes.is_empty() {
        out.push_str("\n### Notes\n\n");
        for note in input.notes {
            out.push_str(&format!("- {}\n", cell(note)));
        }
    }
    let tail = format!(
        "{}\n{}\n{}",
        input.markers.posted_line(input.posted),
        outcome_line(input.markers, input.outcome),
        input.markers.summary()
    );
    out.push_str(&format!("\n{tail}\n"));
    comments::fit(out, &tail, input.dialect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Position;

    fn finding(rule: &str, severity: Severity, line: usize) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            path: "deploy/app.yaml".into(),
            start: Position { line, column: 1 },
            end: Position { line, column: 5 },
            message: "tag `latest` | not allowed".into(),
            fingerprint: format!("{line:04}"),
            fix: None,
            snippet: String::new(),
            suppressed: false,
        }
    }

    #[test]
    fn the_summary_lists_counts_findings_elsewhere_and_images() {
        let findings = [
            finding("image/policy", Severity::Error, 3),
            finding("go/x", Severity::Warning, 9),
        ];
        let body = render(&SummaryInput {
            findings: &findings,
            inline: 1,
            elsewhere: &[(0, Elsewhere::NotInDiff)],
            project_url: "https://github.com/acme/app",
            head_sha: "0123456789abcdef",
            dialect: &crate::github::forge::DIALECT,
            run: Some(("workflow run", "https://github.com/acme/app/actions/runs/5")),
            environment: Some("production"),
            notes: &["GitHub lists at most 3000 files".to_string()],
            posted: &["0123456789abcdef".to_string()].into(),
            markers: &Markers::default(),
            outcome: Outcome::Failed,
        });
        assert!(
            body.starts_with("## 🛑 tollgate: 1 error, 1 warning, 0 infos"),
            "{body}"
        );
        assert!(body.contains("[deploy/app.yaml:3](https://github.com/acme/app/blob/0123456789abcdef/deploy/app.yaml#L3)"));
        assert!(body.contains("tag `latest` \\| not allowed"));
        assert!(body.contains("### Image policy (`production`)"));
        assert!(body.contains("[workflow run](https://github.com/acme/app/actions/runs/5)"));
        assert!(body.contains("GitHub lists at most 3000 files"));
        assert!(Markers::default().is_summary(&body));
        assert!(Markers::default()
            .posted_in(&body)
            .contains("0123456789abcdef"));
    }

    /// A run on commit `abc` of acme/app that found nothing.
    fn clean_input<'a>(
        posted: &'a std::collections::BTreeSet<String>,
        markers: &'a Markers,
    ) -> SummaryInput<'a> {
        SummaryInput {
            findings: &[],
            inline: 0,
            elsewhere: &[],
            project_url: "https://github.com/acme/app",
            head_sha: "abc",
            dialect: &crate::github::forge::DIALECT,
            run: None,
            environment: None,
            notes: &[],
            posted,
            markers,
            outcome: Outcome::Passed,
        }
    }

    #[test]
    fn a_hostile_file_name_links_only_to_its_own_blob() {
        let mut f = finding("go/x", Severity::Warning, 2);
        f.path = "x](https:/evil.example/a) [y.go".into();
        let (posted, markers) = (Default::default(), Markers::default());
        let link = location(&clean_input(&posted, &markers), &f);
        assert_eq!(
            link,
            "[x\\](https:/evil.example/a) \\[y.go:2](https://github.com/acme/app/blob/abc/x%5D%28https%3A/evil.example/a%29%20%5By.go#L2)"
        );
    }

    #[test]
    fn a_clean_run_says_so() {
        let (posted, markers) = (Default::default(), Markers::new(Some("api")).unwrap());
        let body = render(&clean_input(&posted, &markers));
        assert!(
            body.starts_with("## ✅ tollgate (api): no findings"),
            "{body}"
        );
    }

    #[test]
    fn the_outcome_reads_back_for_its_own_review_only() {
        let posted = Default::default();
        let (plain, api) = (Markers::default(), Markers::new(Some("api")).unwrap());
        let mut input = clean_input(&posted, &api);
        input.outcome = Outcome::Failed;
        let body = render(&input);
        assert!(
            body.contains("<!-- tollgate:api:outcome=failed -->"),
            "{body}"
        );
        assert_eq!(outcome_in(&api, &body), Some(Outcome::Failed));
        assert_eq!(outcome_in(&plain, &body), None, "another review's marker");
        let passed = render(&clean_input(&posted, &plain));
        assert_eq!(outcome_in(&plain, &passed), Some(Outcome::Passed));
        assert_eq!(outcome_in(&plain, "an older summary without one"), None);
        // Finding text cannot forge the marker: it is neutralised.
        let mut hostile = finding("go/x", Severity::Warning, 2);
        hostile.message = "<!-- tollgate:outcome=passed -->".into();
        let findings = [hostile];
        let failed = render(&SummaryInput {
            findings: &findings,
            elsewhere: &[(0, Elsewhere::NotInDiff)],
            outcome: Outcome::Failed,
            ..clean_input(&posted, &plain)
        });
        assert_eq!(outcome_in(&plain, &failed), Some(Outcome::Failed));
        assert_eq!(
            failed.matches("<!-- tollgate:outcome=").count(),
            1,
            "{failed}"
        );
    }
}
