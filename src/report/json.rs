//! `--format json`: the machine-readable scan result (schema in README.md).

use crate::finding::{Finding, Severity};
use crate::scan::ScanOutcome;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct JsonReport<'a> {
    version: &'static str,
    findings: Vec<JsonFinding<'a>>,
    summary: JsonSummary,
    notices: Vec<JsonNotice>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    severity: Severity,
    path: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<&'a crate::finding::Fix>,
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
}

#[derive(Serialize)]
struct JsonNotice {
    path: String,
    message: String,
}

pub fn path_string(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn to_json(f: &Finding) -> JsonFinding<'_> {
    JsonFinding {
        rule: &f.rule,
        severity: f.severity,
        path: path_string(&f.path),
        line: f.start.line,
        column: f.start.column,
        end_line: f.end.line,
        end_column: f.end.column,
        message: &f.message,
        fingerprint: &f.fingerprint,
        fix: f.fix.as_ref(),
    }
}

pub fn write(out: &mut dyn Write, outcome: &ScanOutcome) -> io::Result<()> {
    let count = |s: Severity| outcome.findings.iter().filter(|f| f.severity == s).count();
    let report = JsonReport {
        version: env!("CARGO_PKG_VERSION"),
        findings: outcome.findings.iter().map(to_json).collect(),
        summary: JsonSummary {
            files_checked: outcome.files_checked,
            files_parsed: outcome.files_parsed,
            findings: outcome.findings.len(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            suppressed: outcome.suppressed.len(),
            notices: outcome.notices.len(),
        },
        notices: outcome
            .notices
            .iter()
            .map(|n| JsonNotice {
                path: path_string(&n.path),
                message: n.message.clone(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}
