//! `tollgate rules test`: runs each rule's `valid` and `invalid` snippets and
//! reports every snippet whose findings differ from what it expects.

use super::compile::{InvalidCase, Rule};
use crate::scan::check_source;
use std::fmt::Write as _;
use std::path::Path;
use tree_sitter::Parser;

/// One snippet whose result differs from its expectation.
#[derive(Debug, Clone)]
pub struct SnippetFailure {
    /// `valid #1` or `invalid #2` (1-based, as in the file).
    pub case: String,
    pub expected: String,
    pub got: String,
    pub code: String,
}

#[derive(Debug, Clone)]
pub struct RuleTestResult {
    pub rule_id: String,
    pub origin: String,
    pub cases: usize,
    pub failures: Vec<SnippetFailure>,
}

/// Runs the tests of one rule.
pub fn test_rule(rule: &Rule) -> RuleTestResult {
    let mut parser = Parser::new();
    let mut failures = Vec::new();
    let path = Path::new(rule.language.snippet_file_name());
    let mut run = |code: &str| -> Result<Vec<usize>, String> {
        let timeout = std::time::Duration::from_secs(crate::scan::DEFAULT_FILE_TIMEOUT_SECS);
        check_source(
            &[rule],
            &mut parser,
            path,
            rule.language,
            code.as_bytes(),
            timeout,
        )
        .map(|checked| {
            checked
                .findings
                .iter()
                .filter(|f| !f.suppressed)
                .map(|f| f.start.line)
                .collect()
        })
    };
    for (i, code) in rule.tests.valid.iter().enumerate() {
        match run(code) {
            Ok(lines) if lines.is_empty() => {}
            Ok(lines) => failures.push(SnippetFailure {
                case: format!("valid #{}", i + 1),
                expected: "no finding".into(),
                got: describe(&lines),
                code: code.clone(),
            }),
            Err(e) => failures.push(error_failure(format!("valid #{}", i + 1), e, code)),
        }
    }
    for (i, case) in rule.tests.invalid.iter().enumerate() {
        let name = format!("invalid #{}", i + 1);
        match run(&case.code) {
            Ok(lines) => {
                if let Some(expected) = mismatch(case, &lines) {
                    failures.push(SnippetFailure {
                        case: name,
                        expected,
                        got: describe(&lines),
                        code: case.code.clone(),
                    });
                }
            }
            Err(e) => failures.push(error_failure(name, e, &case.code)),
        }
    }
    RuleTestResult {
        rule_id: rule.id.clone(),
        origin: format!("{}:{}", rule.origin.file, rule.origin.line),
        cases: rule.tests.valid.len() + rule.tests.invalid.len(),
        failures,
    }
}

fn error_failure(case: String, error: String, code: &str) -> SnippetFailure {
    SnippetFailure {
        case,
        expected: "the snippet to be scanned".into(),
        got: error,
        code: code.to_string(),
    }
}

/// Returns what was expected when `lines` does not meet the case.
fn mismatch(case: &InvalidCase, lines: &[usize]) -> Option<String> {
    if let Some(expected) = &case.lines {
        let mut want = expected.clone();
        want.sort_unstable();
        if want != lines {
            return Some(describe(&want));
        }
    }
    if let Some(count) = case.count {
        if count != lines.len() {
            return Some(format!("{count} finding(s)"));
        }
    }
    if case.lines.is_none() && case.count.is_none() && lines.is_empty() {
        return Some("at least one finding".into());
    }
    None
}

fn describe(lines: &[usize]) -> String {
    match lines.len() {
        0 => "no finding".into(),
        1 => format!("1 finding, on line {}", lines[0]),
        n => format!(
            "{n} findings, on lines {}",
            lines
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A readable report of failing rules; empty when all passed.
pub fn render_failures(results: &[RuleTestResult]) -> String {
    let mut out = String::new();
    for result in results.iter().filter(|r| !r.failures.is_empty()) {
        let _ = writeln!(out, "FAIL {} ({})", result.rule_id, result.origin);
        for f in &result.failures {
            let _ = writeln!(out, "  {}: expected {}, got {}", f.case, f.expected, f.got);
            for (n, line) in f.code.lines().enumerate() {
                let _ = writeln!(out, "    {:>3} | {}", n + 1, line);
            }
        }
    }
    out
}
