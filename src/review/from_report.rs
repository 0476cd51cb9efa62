//! `review --from`: the report was written by the pull request's own run,
//! whose code the pull request controls, so the privileged job treats every
//! field as hostile. A malformed finding refuses the whole report (nothing is
//! posted); a finding on a file the pull request does not change is left out
//! with a note, since it could only point somewhere else.

use crate::finding::{Finding, Position};
use std::collections::BTreeSet;

/// Hex digits of a fingerprint (see [`crate::fingerprint`]).
const FINGERPRINT_LEN: usize = 32;
/// A report with more findings than this was not written by tollgate's caps.
const MAX_FINDINGS: usize = 100_000;
/// No finding spans more lines than a file can reasonably have.
const MAX_LINE: usize = 10_000_000;

/// The findings that may be posted, and what the reader should know.
#[derive(Debug)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

/// Checks the findings of a report against the pull request's files
/// (repository-relative paths). The error names the finding and the field.
pub fn check(findings: Vec<Finding>, changed: &BTreeSet<String>) -> Result<Checked, String> {
    if findings.len() > MAX_FINDINGS {
        return Err(format!(
            "{} findings: more than tollgate ever writes ({MAX_FINDINGS})",
            findings.len()
        ));
    }
    let id = regex::Regex::new(crate::rules::compile::ID_PATTERN).expect("static regex");
    let mut kept = Vec::with_capacity(findings.len());
    let mut elsewhere = 0;
    for (index, finding) in findings.into_iter().enumerate() {
        let bad = |field: &str, expected: &str| {
            format!("finding {}: `{field}`: expected {expected}", index + 1)
        };
        if !id.is_match(&finding.rule) {
            return Err(bad("rule", "a rule id such as `go/unclosed-file`"));
        }
        let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if finding.fingerprint.len() != FINGERPRINT_LEN || !finding.fingerprint.chars().all(hex) {
            return Err(bad(
                "fingerprint",
                &format!("{FINGERPRINT_LEN} lowercase hex digits"),
            ));
        }
        if !span_ok(finding.start, finding.end) {
            return Err(bad(
                "line",
                "1-based lines and columns, the end not before the start",
            ));
        }
        if let Some(fix) = &finding.fix {
            if !span_ok(fix.start, fix.end)
                || fix.start.line < finding.start.line
                || fix.end.line > finding.end.line
            {
                return Err(bad("fix", "a span inside the finding's lines"));
            }
        }
        let path = crate::report::json::path_string(&finding.path);
        if !changed.contains(&path) {
            elsewhere += 1;
            continue;
        }
        kept.push(finding);
    }
    let mut notes = Vec::new();
    if elsewhere > 0 {
        notes.push(format!(
            "{elsewhere} finding(s) of the report name files this pull request does not change: not posted"
        ));
    }
    Ok(Checked {
        findings: kept,
        notes,
    })
}

fn span_ok(start: Position, end: Position) -> bool {
    start.line >= 1
        && start.column >= 1
        && end.column >= 1
        && end.line <= MAX_LINE
        && (end.line, end.column) >= (start.line, start.column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    fn finding(path: &str) -> Finding {
        Finding {
            rule: "go/unclosed-file".into(),
            severity: Severity::Warning,
            path: path.into(),
            start: Position { line: 3, column: 2 },
            end: Position { line: 3, column: 9 },
            message: "m".into(),
            fingerprint: "0123456789abcdef0123456789abcdef".into(),
            fix: None,
            snippet: String::new(),
            suppressed: false,
        }
    }

    #[test]
    fn forged_fields_refuse_the_report() {
        let changed: BTreeSet<String> = ["main.go".to_string()].into();
        assert_eq!(
            check(vec![finding("main.go")], &changed)
                .unwrap()
                .findings
                .len(),
            1
        );
        type Forgery = (&'static str, fn(&mut Finding));
        let forgeries: Vec<Forgery> = vec![
            ("rule", |f| f.rule = "go/x` @admin".into()),
            ("fingerprint", |f| {
                f.fingerprint = "ab --> <!-- tollgate:summary".into()
            }),
            ("fingerprint", |f| f.fingerprint = "é".repeat(16)),
            ("fingerprint", |f| {
                f.fingerprint = "ABCDEF".repeat(6)[..32].into()
            }),
            ("line", |f| f.start.line = 0),
            ("line", |f| f.end.line = 2),
        ];
        for (field, forge) in forgeries {
            let mut f = finding("main.go");
            forge(&mut f);
            let err = check(vec![finding("main.go"), f], &changed).unwrap_err();
            assert!(err.starts_with(&format!("finding 2: `{field}`")), "{err}");
        }
    }

    #[test]
    fn findings_on_other_files_are_left_out_with_a_note() {
        let changed: BTreeSet<String> = ["main.go".to_string()].into();
        let checked = check(
            vec![
                finding("main.go"),
                finding("../../evil"),
                finding("README.md"),
            ],
            &changed,
        )
        .unwrap();
        assert_eq!(checked.findings.len(), 1);
        assert!(
            checked.notes[0].starts_with("2 finding(s)"),
            "{:?}",
            checked.notes
        );
    }
}
