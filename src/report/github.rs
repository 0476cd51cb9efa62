//! GitHub Actions native output: workflow-command annotations on the lines of
//! the findings, and a Markdown summary appended to `$GITHUB_STEP_SUMMARY`.

use crate::finding::{Finding, Severity};
use crate::report::RepoPaths;
use crate::scan::ScanOutcome;
use std::io::{self, Write};

/// Rows of the summary table; the step summary must stay under 1 MiB.
const MAX_SUMMARY_ROWS: usize = 300;

/// Escapes the message of a workflow command (as actions/toolkit does).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// One `::error file=…,line=…::message` line per finding, most severe first
/// (GitHub shows only the first few of each kind per step).
pub fn write_annotations(
    out: &mut dyn Write,
    findings: &[Finding],
    paths: &RepoPaths,
) -> io::Result<()> {
    let mut ordered: Vec<&Finding> = findings.iter().collect();
    ordered.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in ordered {
        let mut props = format!(
            "file={},line={},endLine={}",
            escape_property(&paths.of(&f.path)),
            f.start.line,
            f.end.line
        );
        // Columns are only allowed on single-line annotations.
        if f.start.line == f.end.line {
            props.push_str(&format!(
                ",col={},endColumn={}",
                f.start.column, f.end.column
            ));
        }
        props.push_str(&format!(",title={}", escape_property(&f.rule)));
        writeln!(
            out,
            "::{} {}::{}",
            command(f.severity),
            props,
            escape_data(&f.message)
        )?;
    }
    Ok(())
}

/// Where a finding's line can be seen on GitHub, when the run knows it.
fn line_link(f: &Finding, paths: &RepoPaths) -> Option<String> {
    let server = std::env::var("GITHUB_SERVER_URL").ok()?;
    let repo = std::env::var("GITHUB_REPOSITORY").ok()?;
    let sha = std::env::var("GITHUB_SHA").ok()?;
    Some(format!(
        "{}/{repo}/blob/{sha}/{}#L{}",
        server.trim_end_matches('/'),
        paths.of(&f.path),
        f.start.line
    ))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The Markdown step summary: counts by severity and a table of findings.
pub fn summary(outcome: &ScanOutcome, paths: &RepoPaths) -> String {
    let count = |s: Severity| outcome.findings.iter().filter(|f| f.severity == s).count();
    let mut md = String::from("## tollgate\n\n");
    if !outcome.not_scanned.is_empty() {
        md.push_str(&format!(
            "**{} file(s) could not be scanned** (see the notices; with `fail_on_skipped`, the default, they fail the gate):\n\n",
            outcome.not_scanned.len()
        ));
        for path in outcome.not_scanned.iter().take(MAX_SUMMARY_ROWS) {
            md.push_str(&format!(
                "- `{}`\n",
                cell(&paths.of(path)).replace('`', "'")
            ));
        }
        md.push('\n');
    }
    if outcome.findings.is_empty() {
        md.push_str(&format!(
            "No findings in {} checked files.\n",
            outcome.files_checked
        ));
        return md;
    }
    md.push_str(&format!(
        "| errors | warnings | infos | suppressed | files checked |\n|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} |\n\n",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
        outcome.suppressed.len(),
        outcome.files_checked
    ));
    md.push_str("| severity | rule | location | message |\n|---|---|---|---|\n");
    let mut ordered: Vec<&Finding> = outcome.findings.iter().collect();
    ordered.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in ordered.iter().take(MAX_SUMMARY_ROWS) {
        let place = format!("{}:{}", paths.of(&f.path), f.start.line);
        let location = match line_link(f, paths) {
            Some(url) => format!("[{}]({url})", cell(&place)),
            None => format!("`{}`", cell(&place)),
        };
        md.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            f.severity,
            cell(&f.rule),
            location,
            cell(&f.message)
        ));
    }
    if ordered.len() > MAX_SUMMARY_ROWS {
        md.push_str(&format!(
            "\n… and {} more findings: see the reports.\n",
            ordered.len() - MAX_SUMMARY_ROWS
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_toolkit() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
