//! GitLab Code Quality: the JSON array GitLab reads from
//! `artifacts:reports:codequality` to show findings in merge requests.

use crate::finding::Severity;
use crate::report::RepoPaths;
use crate::scan::ScanOutcome;
use serde_json::json;
use std::io::{self, Write};

/// GitLab's severities are `info|minor|major|critical|blocker`.
fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

pub fn write(out: &mut dyn Write, outcome: &ScanOutcome, paths: &RepoPaths) -> io::Result<()> {
    let issues: Vec<_> = outcome
        .findings
        .iter()
        .map(|f| {
            json!({
                "type": "issue",
                "description": f.message,
                "check_name": f.rule,
                "fingerprint": f.fingerprint,
                "severity": severity(f.severity),
                "location": {
                    "path": paths.of(&f.path),
                    "lines": { "begin": f.start.line, "end": f.end.line },
                },
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues)?;
    writeln!(out)
}
