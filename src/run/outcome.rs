//! The run's outcome as an exit code: whether the gate fails.

use super::plural;
use super::setup::Setup;
use crate::cli::FailOn;
use crate::finding::Severity;

/// Exit code: no finding at or above `--fail-on`.
pub const EXIT_OK: i32 = 0;
/// Exit code: findings at or above `--fail-on`, or failing rule tests.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code: usage, rule or configuration errors.
pub const EXIT_ERROR: i32 = 2;

/// 2 when anything was broken, else 1 when a finding reaches `fail_on`, else 0.
pub(crate) fn exit_code(setup: &Setup, outcome: &crate::scan::ScanOutcome, broken: bool) -> i32 {
    if setup.broken || broken {
        return EXIT_ERROR;
    }
    // Both are evaluated: files that were not scanned are named either way.
    let skipped = skipped_fails(setup, outcome);
    if gate_fails(setup.fail_on, &outcome.findings) || skipped {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Returns true if and only if files that could not be scanned fail the
/// gate; says so on stderr, naming them.
pub(crate) fn skipped_fails(setup: &Setup, outcome: &crate::scan::ScanOutcome) -> bool {
    if !setup.fail_on_skipped || outcome.not_scanned.is_empty() {
        return false;
    }
    // File names are data from the change: no line breaks reach the log.
    let names: Vec<String> = outcome
        .not_scanned
        .iter()
        .map(|p| {
            crate::report::json::path_string(p)
                .chars()
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect()
        })
        .collect();
    crate::say!(
        "error: {} could not be scanned, which fails the gate (fail_on_skipped): {}",
        plural(names.len(), "Go/Rust file"),
        names.join(", ")
    );
    true
}

pub(crate) fn gate_fails(fail_on: FailOn, findings: &[crate::finding::Finding]) -> bool {
    let threshold = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    threshold.is_some_and(|t| findings.iter().any(|f| f.severity >= t))
}
