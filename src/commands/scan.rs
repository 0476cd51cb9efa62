//! `tollgate scan`: one run of the gate on the working tree or a change.

use crate::cli::ScanArgs;
use crate::config;
use crate::run::change::scan_change;
use crate::run::outcome::{exit_code, EXIT_ERROR};
use crate::run::outputs::{github_output, print_outcome, write_reports};
use crate::run::setup::setup;
use crate::run::source::ChangeSource;

pub(crate) fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let base = args
        .base
        .clone()
        .map(|base| config::trust::BaseCommit::MergeBase {
            base,
            head: args.head.clone(),
        });
    let setup = setup(&args, &config::trust::Place::Checkout { base });
    let source = match &args.base {
        Some(base) => ChangeSource::Git {
            base: base.clone(),
            head: args.head.clone(),
        },
        None => ChangeSource::None,
    };
    let scanned = match scan_change(&args, &setup, source) {
        Ok(scanned) => scanned,
        Err(err) => {
            crate::say!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    let report_failed = write_reports(&setup, &scanned.outcome, None);
    print_outcome(&args, &scanned.outcome)?;
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") && !args.no_annotations {
        github_output(&scanned.outcome, &args)?;
    }
    let exit = exit_code(
        &setup,
        &scanned.outcome,
        report_failed || scanned.bad_images || scanned.missing_paths,
    );
    // A branch build in CI tells Slack and Discord, as `notify` asks.
    let notify = setup.effective.config.notify.as_ref();
    crate::notify::branch::notify_scan(notify, &scanned.outcome.findings, exit);
    Ok(exit)
}
