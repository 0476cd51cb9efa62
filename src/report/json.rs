//! `--format json`: the machine-readable scan result (schema in README.md).
//! Paths are repository-relative. `tollgate review --from` reads it back.

use super::RepoPaths;
use crate::finding::{Finding, Fix, Position, Severity};
use crate::scan::ScanOutcome;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::{self, Write};

/// The pull request a report was made for, so that another job can post it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewMeta {
    /// `OWNER/NAME`.
    pub repository: String,
    pub pull_request: u64,
    /// The commit that was scanned: the PR head.
    pub head_sha: String,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    review: Option<&'a ReviewMeta>,
    findings: Vec<JsonFinding<'a>>,
    summary: JsonSummary,
    notices: Vec<JsonNotice>,
    /// Go/Rust files (of the change, with `--base`) that could not be
    /// scanned; each has a notice saying why.
    not_scanned: Vec<String>,
}

/// One finding, both ways: written by [`write`], read back by [`read`].
#[derive(Serialize, Deserialize)]
struct JsonFinding<'a> {
    rule: Cow<'a, str>,
    severity: Severity,
    path: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: Cow<'a, str>,
    fingerprint: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fix: Option<Cow<'a, Fix>>,
}

#[derive(Serialize)]
struct JsonSummary {
    files_checked: usize,
    files_parsed: usize,
    findings: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    suppressed: usize,
    notices: usize,
    not_scanned: usize,
    /// Changed files that neither a rule nor an image check reads.
    other_files: usize,
}

#[derive(Serialize)]
struct JsonNotice {
    path: String,
    message: String,
}

pub fn path_string(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn to_json<'a>(f: &'a Finding, paths: &RepoPaths) -> JsonFinding<'a> {
    JsonFinding {
        rule: Cow::Borrowed(&f.rule),
        severity: f.severity,
        path: paths.of(&f.path),
        line: f.start.line,
        column: f.start.column,
        end_line: f.end.line,
        end_column: f.end.column,
        message: Cow::Borrowed(&f.message),
        fingerprint: Cow::Borrowed(&f.fingerprint),
        fix: f.fix.as_ref().map(Cow::Borrowed),
    }
}

pub fn write(
    out: &mut dyn Write,
    outcome: &ScanOutcome,
    paths: &RepoPaths,
    review: Option<&ReviewMeta>,
) -> io::Result<()> {
    let count = |s: Severity| outcome.findings.iter().filter(|f| f.severity == s).count();
    let report = JsonReport {
        version: env!("CARGO_PKG_VERSION"),
        review,
        findings: outcome.findings.iter().map(|f| to_json(f, paths)).collect(),
        summary: JsonSummary {
            files_checked: outcome.files_checked,
            files_parsed: outcome.files_parsed,
            findings: outcome.findings.len(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            suppressed: outcome.suppressed.len(),
            notices: outcome.notices.len(),
            other_files: outcome.other_files,
            not_scanned: outcome.not_scanned.len(),
        },
        notices: outcome
            .notices
            .iter()
            .map(|n| JsonNotice {
                path: paths.of(&n.path),
                message: n.message.clone(),
            })
            .collect(),
        not_scanned: outcome.not_scanned.iter().map(|p| paths.of(p)).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

/// A report read back: its findings (paths repository-relative) and, if it
/// was made by `tollgate review`, the pull request it belongs to.
#[derive(Debug)]
pub struct ReadReport {
    pub review: Option<ReviewMeta>,
    pub findings: Vec<Finding>,
}

#[derive(Deserialize)]
struct InReport {
    #[serde(default)]
    review: Option<ReviewMeta>,
    findings: Vec<JsonFinding<'static>>,
}

/// Parses a JSON report; the error names the line and what was expected.
pub fn read(text: &str) -> Result<ReadReport, String> {
    let report: InReport = serde_json::from_str(text)
        .map_err(|e| format!("line {}: not a tollgate JSON report: {e}", e.line()))?;
    let findings = report
        .findings
        .into_iter()
        .map(|f| Finding {
            rule: f.rule.into_owned(),
            severity: f.severity,
            path: f.path.into(),
            start: Position {
                line: f.line,
                column: f.column,
            },
            end: Position {
                line: f.end_line,
                column: f.end_column,
            },
            message: f.message.into_owned(),
            fingerprint: f.fingerprint.into_owned(),
            fix: f.fix.map(Cow::into_owned),
            snippet: String::new(),
            suppressed: false,
        })
        .collect();
    Ok(ReadReport {
        review: report.review,
        findings,
    })
}
