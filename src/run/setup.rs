//! The run's setup: the configuration (defaults when it is bad), the rules it
//! names and the gate, loaded once before any file is looked at.

use super::outputs::is_stdout;
use super::{plural, say_error};
use crate::cli::{ConfigArgs, FailOn, RuleArgs, ScanArgs};
use crate::config;
use crate::rules::{load_rules, RuleError, RuleSet, RuleSource};
use std::io::Write;

/// What a scan needs before it looks at files: the configuration (defaults
/// when it is bad), the rules, the gate and the report files.
pub(crate) struct Setup {
    pub effective: config::Effective,
    pub rules: RuleSet,
    pub fail_on: FailOn,
    /// A file of a scanned language that could not be scanned fails the gate.
    pub fail_on_skipped: bool,
    pub reports: Vec<crate::cli::ReportTarget>,
    /// `--output-dir`: where reports must land (else the working tree).
    pub output_dir: Option<std::path::PathBuf>,
    /// A bad configuration or a bad rule was reported: the run exits 2 in the end.
    pub broken: bool,
}

pub(crate) fn setup(args: &ScanArgs, place: &config::trust::Place) -> Setup {
    if let Some(threads) = args.threads {
        // Ignore the error when a pool already exists (in-process tests).
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global();
    }
    let request = config::trust::Request {
        explicit: args.config.as_deref(),
        environment: args.environment.as_deref(),
        from_base: args.config_from_base,
    };
    let Configured {
        effective,
        mut rules,
        broken,
    } = configure(&args.rules, request, place);
    let mut bad_config = broken;
    // An empty rule set would pass every change: unless image references are
    // what this run checks, that is an error.
    if rules.rules.is_empty() && !broken && !checks_images(&effective) {
        crate::say!("error: no rules loaded: the default rules are off (--no-default-rules or rules.default_rules: false) and no --rules PATH or rules.paths adds any");
        bad_config = true;
    }
    for unmatched in effective.select_rules(&mut rules, false) {
        say_error(&unmatched.to_string());
        bad_config = true;
    }
    let fail_on = args
        .fail_on
        .or(effective.config.fail_on)
        .unwrap_or(FailOn::Error);
    let fail_on_skipped = match (args.fail_on_skipped, args.no_fail_on_skipped) {
        (true, _) => true,
        (_, true) => false,
        _ => effective.config.fail_on_skipped.unwrap_or(true),
    };
    // Relative report paths start in --output-dir when it is given.
    let mut reports: Vec<crate::cli::ReportTarget> = args
        .reports
        .iter()
        .map(|r| crate::cli::ReportTarget {
            kind: r.kind,
            path: match &args.output_dir {
                Some(dir) if !is_stdout(&r.path) => dir.join(&r.path),
                _ => r.path.clone(),
            },
        })
        .collect();
    if let Some(cfg) = &effective.config.reports {
        use crate::cli::{ReportKind, ReportTarget};
        for (kind, path) in [
            (ReportKind::Sarif, &cfg.sarif),
            (ReportKind::CodeQuality, &cfg.codequality),
            (ReportKind::Json, &cfg.json),
        ] {
            if let (Some(path), false) = (path, reports.iter().any(|r| r.kind == kind)) {
                reports.push(ReportTarget {
                    kind,
                    path: args
                        .output_dir
                        .as_deref()
                        .unwrap_or(&effective.base_dir)
                        .join(path),
                });
            }
        }
    }
    Setup {
        effective,
        rules,
        fail_on,
        fail_on_skipped,
        reports,
        output_dir: args.output_dir.clone(),
        broken: bad_config,
    }
}

/// The configuration and the rules it names, before selection: what `scan`
/// and the `rules` commands share.
pub(crate) struct Configured {
    pub effective: config::Effective,
    pub rules: RuleSet,
    /// A bad configuration or a bad rule was reported.
    pub broken: bool,
}

/// Loads the configuration `request` asks for (defaults when it is bad, said
/// on stderr) and the rules: the embedded library unless turned off, the
/// configuration's `rules.paths`, then `--rules`.
pub(crate) fn configure(
    rule_args: &RuleArgs,
    request: config::trust::Request<'_>,
    place: &config::trust::Place,
) -> Configured {
    // A bad configuration is reported, and the run still goes on with defaults.
    let loaded = config::trust::load(request, place);
    for note in &loaded.notes {
        crate::say!("note: {note}");
    }
    for error in &loaded.errors {
        say_error(error);
    }
    let (effective, bad_config) = (loaded.effective, !loaded.errors.is_empty());
    let mut rule_sources = Vec::new();
    let config_rules = effective.config.rules.clone().unwrap_or_default();
    if !rule_args.no_default_rules && config_rules.default_rules != Some(false) {
        rule_sources.push(RuleSource::Embedded);
    }
    rule_sources.extend(loaded.rule_sources);
    rule_sources.extend(rule_args.extra.iter().cloned().map(RuleSource::Path));
    let (rules, bad_rules) = load(&rule_sources);
    Configured {
        effective,
        rules,
        broken: bad_config || bad_rules,
    }
}

/// The rules of `rules list`, `explain` and `test`: read as `scan` reads
/// them (`.tollgate.yml` unless `--no-config`), selection applied.
pub(crate) fn configured_rules(rule_args: &RuleArgs, config_args: &ConfigArgs) -> (RuleSet, bool) {
    if config_args.no_config {
        return load(&sources(rule_args));
    }
    let request = config::trust::Request {
        explicit: config_args.config.as_deref(),
        environment: config_args.environment.as_deref(),
        from_base: false,
    };
    let place = config::trust::Place::Checkout { base: None };
    let Configured {
        effective,
        mut rules,
        mut broken,
    } = configure(rule_args, request, &place);
    for unmatched in effective.select_rules(&mut rules, true) {
        say_error(&unmatched.to_string());
        broken = true;
    }
    (rules, broken)
}

fn sources(args: &RuleArgs) -> Vec<RuleSource> {
    let mut sources = Vec::new();
    if !args.no_default_rules {
        sources.push(RuleSource::Embedded);
    }
    sources.extend(args.extra.iter().cloned().map(RuleSource::Path));
    sources
}

/// Loads rules and prints every rule error to stderr. Returns the good rules
/// and whether any rule was bad.
pub(crate) fn load(sources: &[RuleSource]) -> (RuleSet, bool) {
    let (rules, errors) = load_rules(sources);
    print_rule_errors(&errors);
    (rules, !errors.is_empty())
}

fn print_rule_errors(errors: &[RuleError]) {
    let mut stderr = crate::ci_log::stderr();
    for error in errors {
        let _ = writeln!(stderr, "error: {error}");
    }
    if !errors.is_empty() {
        let _ = writeln!(
            stderr,
            "error: {}; the other rules still ran",
            plural(errors.len(), "bad rule problem")
        );
    }
}

/// Whether this run may check image references instead of code: the
/// configuration has an `images` section (policies with `--env`, version
/// downgrades with `--base`).
fn checks_images(effective: &config::Effective) -> bool {
    effective.config.images.is_some()
}
