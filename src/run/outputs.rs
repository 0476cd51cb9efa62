//! The run's outputs: report files (or one on stdout), the result printed
//! as text or JSON, and GitHub Actions' annotations and step summary.

use super::setup::Setup;
use crate::cli::{OutputFormat, ScanArgs};
use crate::report::{self, terminal};
use crate::rules::RuleSet;
use std::io::{IsTerminal, Write};

/// Writes the report files first: whatever happens next, they are on disk.
/// Returns true if and only if one could not be written.
pub(crate) fn write_reports(
    setup: &Setup,
    outcome: &crate::scan::ScanOutcome,
    review: Option<&report::json::ReviewMeta>,
) -> bool {
    // The action's outputs count what the reports hold.
    crate::action::record(&outcome.findings);
    if setup.reports.is_empty() {
        return false;
    }
    let paths = report::RepoPaths::detect();
    let root = match report::file::OutputRoot::new(setup.output_dir.as_deref(), paths.root()) {
        Ok(root) => root,
        Err(err) => {
            crate::say!("error: cannot use the report folder: {err}");
            return true;
        }
    };
    let mut failed = false;
    let mut stdout_used = false;
    for target in &setup.reports {
        let written = if is_stdout(&target.path) {
            // Two documents on one stream could not be read back.
            if std::mem::replace(&mut stdout_used, true) {
                Err("only one report can go to stdout (`-`)".to_string())
            } else {
                write_report_to_stdout(target.kind, outcome, &setup.rules, &paths, review)
            }
        } else {
            root.place(&target.path).and_then(|place| {
                write_report(&place, target.kind, outcome, &setup.rules, &paths, review)
            })
        };
        if let Err(err) = written {
            crate::say!(
                "error: cannot write the report {}: {err}",
                target.path.display()
            );
            failed = true;
        }
    }
    failed
}

/// `--report KIND=-`: the report goes to stdout, not to a file.
pub(crate) fn is_stdout(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// Whether a report given on the command line goes to stdout: the text or
/// JSON view (and annotations) then go to stderr, so stdout holds the report alone.
pub(crate) fn stdout_taken(args: &ScanArgs) -> bool {
    args.reports.iter().any(|r| is_stdout(&r.path))
}

/// The result on stdout (on stderr when a report takes stdout), as text or JSON.
pub(crate) fn print_outcome(
    args: &ScanArgs,
    outcome: &crate::scan::ScanOutcome,
) -> anyhow::Result<()> {
    if stdout_taken(args) {
        let is_terminal = std::io::stderr().is_terminal();
        let mut err = crate::ci_log::Guarded::new(std::io::stderr().lock(), args.format.log_kind());
        write_outcome(&mut err, args, outcome, is_terminal)?;
        err.flush()?;
        return Ok(());
    }
    let is_terminal = std::io::stdout().is_terminal();
    let mut out = crate::ci_log::stdout(args.format.log_kind());
    write_outcome(&mut out, args, outcome, is_terminal)?;
    out.flush()?;
    Ok(())
}

fn write_outcome(
    out: &mut dyn Write,
    args: &ScanArgs,
    outcome: &crate::scan::ScanOutcome,
    is_terminal: bool,
) -> anyhow::Result<()> {
    match args.format {
        OutputFormat::Json => {
            // stdout stays relative to the current folder; report files are repository-relative.
            report::json::write(out, outcome, &report::RepoPaths::default(), None)?
        }
        OutputFormat::Text => {
            let palette =
                terminal::Palette::new(terminal::colour_enabled(args.color.as_str(), is_terminal));
            terminal::write(out, outcome, palette)?;
        }
    }
    Ok(())
}

/// Annotations go to stdout with the text view, and to stderr when stdout
/// carries JSON (the runner reads workflow commands from both).
pub(crate) fn github_output(
    outcome: &crate::scan::ScanOutcome,
    args: &ScanArgs,
) -> anyhow::Result<()> {
    let paths = report::RepoPaths::detect();
    // Annotations go where the runner reads them and no data is: stderr when
    // stdout carries JSON or a report (`--report KIND=-`).
    let format = if stdout_taken(args) {
        OutputFormat::Json
    } else {
        args.format
    };
    match format {
        OutputFormat::Text => report::github::write_annotations(
            &mut std::io::stdout().lock(),
            &outcome.findings,
            &paths,
        )?,
        OutputFormat::Json => report::github::write_annotations(
            &mut std::io::stderr().lock(),
            &outcome.findings,
            &paths,
        )?,
    }
    github_step_summary(outcome, &paths);
    Ok(())
}

/// Appends the findings to the job's step summary, when Actions gives one.
pub(crate) fn github_step_summary(outcome: &crate::scan::ScanOutcome, paths: &report::RepoPaths) {
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(report::github::summary(outcome, paths).as_bytes()));
        if let Err(err) = appended {
            crate::say!(
                "warning: cannot append to GITHUB_STEP_SUMMARY ({}): {err}",
                std::path::Path::new(&path).display()
            );
        }
    }
}

/// Writes a report to stdout, through the CI log guard (every kind is JSON).
fn write_report_to_stdout(
    kind: crate::cli::ReportKind,
    outcome: &crate::scan::ScanOutcome,
    rules: &RuleSet,
    paths: &report::RepoPaths,
    review: Option<&report::json::ReviewMeta>,
) -> Result<(), String> {
    use crate::cli::ReportKind;
    let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Json);
    match kind {
        ReportKind::Sarif => report::sarif::write(&mut out, outcome, rules, paths),
        ReportKind::CodeQuality => report::codequality::write(&mut out, outcome, paths),
        ReportKind::Json => report::json::write(&mut out, outcome, paths, review),
    }
    .and_then(|()| out.flush())
    .map_err(|e| e.to_string())
}

fn write_report(
    place: &std::path::Path,
    kind: crate::cli::ReportKind,
    outcome: &crate::scan::ScanOutcome,
    rules: &RuleSet,
    paths: &report::RepoPaths,
    review: Option<&report::json::ReviewMeta>,
) -> Result<(), String> {
    use crate::cli::ReportKind;
    report::file::write_new(place, |file| match kind {
        ReportKind::Sarif => report::sarif::write(file, outcome, rules, paths),
        ReportKind::CodeQuality => report::codequality::write(file, outcome, paths),
        ReportKind::Json => report::json::write(file, outcome, paths, review),
    })
}
