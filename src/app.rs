//! Wiring only: turns parsed arguments into calls of the library and an exit code.

use crate::cli::{
    Cli, Command, ConfigArgs, ConfigCommand, FailOn, ImagesCommand, OutputFormat, RuleArgs,
    RulesCommand, ScanArgs, SchemaKind,
};
use crate::config;
use crate::diff::git::Repo;
use crate::diff::{ChangeSet, FilterMode};
use crate::finding::Severity;
use crate::report::{self, terminal};
use crate::rules::testing::{render_failures, test_rule};
use crate::rules::{load_rules, RuleError, RuleSet, RuleSource};
use crate::scan::{scan, ScanOptions};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Exit code: no finding at or above `--fail-on`.
pub const EXIT_OK: i32 = 0;
/// Exit code: findings at or above `--fail-on`, or failing rule tests.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code: usage, rule or configuration errors.
pub const EXIT_ERROR: i32 = 2;

pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Review(args) => crate::github::command::run(args),
        Command::Rules(RulesCommand::List {
            rules,
            config,
            format,
        }) => run_rules_list(&rules, &config, format),
        Command::Rules(RulesCommand::Test { paths, config }) => run_rules_test(paths, &config),
        Command::Rules(RulesCommand::Explain { id, rules, config }) => {
            run_rules_explain(&id, &rules, &config)
        }
        Command::Rules(RulesCommand::Tree { file, all }) => run_rules_tree(&file, all),
        Command::Config(ConfigCommand::Validate {
            config,
            environment,
        }) => run_config_validate(config.as_deref(), environment.as_deref()),
        Command::Init { force } => run_init(force),
        Command::Images(ImagesCommand::Check {
            environment,
            config,
            format,
            references,
        }) => run_images_check(
            environment.as_deref(),
            config.as_deref(),
            format,
            &references,
        ),
        Command::Images(ImagesCommand::Scan {
            paths,
            environment,
            config,
            format,
        }) => run_images_scan(&paths, environment.as_deref(), config.as_deref(), format),
        Command::Images(ImagesCommand::Parse { format, references }) => {
            run_images_parse(format, &references)
        }
        Command::Schema { kind } => run_schema(kind),
    }
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
fn load(sources: &[RuleSource]) -> (RuleSet, bool) {
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

fn run_scan(args: ScanArgs) -> anyhow::Result<i32> {
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
    Ok(exit_code(
        &setup,
        &scanned.outcome,
        report_failed || scanned.bad_images || scanned.missing_paths,
    ))
}

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
fn configured_rules(rule_args: &RuleArgs, config_args: &ConfigArgs) -> (RuleSet, bool) {
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

/// `1 rule`, `2 rules`: a count with its noun.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Says an error of one or more lines, each as `error: …`.
fn say_error(error: &str) {
    for line in error.lines() {
        crate::say!("error: {line}");
    }
}

/// Whether this run may check image references instead of code: the
/// configuration has an `images` section (policies with `--env`, version
/// downgrades with `--base`).
fn checks_images(effective: &config::Effective) -> bool {
    effective.config.images.is_some()
}

/// Where the change under review comes from.
pub(crate) enum ChangeSource {
    /// No change: scan everything under the paths.
    None,
    /// Read it from git.
    Git { base: String, head: Option<String> },
    /// Already known (from a forge's API).
    Given(Review),
}

pub(crate) struct Scanned {
    pub outcome: crate::scan::ScanOutcome,
    /// An image file could not be read as its kind.
    pub bad_images: bool,
    /// A path named on the command line does not exist.
    pub missing_paths: bool,
}

/// Scans the paths (only the changed files when a change is given and the
/// filter allows), checks images, and keeps the findings the filter lets through.
pub(crate) fn scan_change(
    args: &ScanArgs,
    setup: &Setup,
    source: ChangeSource,
) -> Result<Scanned, String> {
    let effective = &setup.effective;
    let missing = say_missing(&args.paths);
    let mut paths = if args.paths.is_empty() {
        vec![".".into()]
    } else {
        args.paths.clone()
    };
    let has_change = !matches!(source, ChangeSource::None);
    let filter = match (has_change, args.filter.or(effective.config.filter)) {
        (false, None | Some(FilterMode::All)) => FilterMode::All,
        (false, Some(_)) if args.filter.is_none() => FilterMode::All,
        (false, Some(mode)) => {
            return Err(format!(
                "--filter {mode:?} needs --base REF: it filters the findings of a change"
            ))
        }
        (true, mode) => mode.unwrap_or(FilterMode::Added),
    };
    let change = match source {
        ChangeSource::None => None,
        ChangeSource::Git { base, head } => {
            Some(review_change(&base, head.as_deref()).map_err(|e| format!("{e:#}"))?)
        }
        ChangeSource::Given(review) => Some(review),
    };
    let mut scan_paths = paths.clone();
    // Changed files that are not code: image files, or files nothing reads.
    let mut changed_other = Vec::new();
    if let Some(review) = &change {
        // The change's own files are named, so they are scanned even when
        // hidden or ignored (a walk of the whole tree would skip them).
        let changed = review.changed_paths(&paths);
        (scan_paths, changed_other) = changed
            .iter()
            .cloned()
            .partition(|p| crate::lang::Language::from_path(p).is_some());
        if filter != FilterMode::All {
            paths = changed;
        } else {
            scan_paths.extend(paths.iter().cloned());
        }
    }
    let exclude = effective.exclude();
    let mut outcome = scan(
        &setup.rules,
        &ScanOptions {
            paths: scan_paths,
            max_filesize: args.max_filesize,
            exclude: exclude.clone(),
            file_timeout: std::time::Duration::from_secs(args.file_timeout),
        },
    );
    let (bad_images, image_files) = check_images(
        effective,
        args.environment.as_deref(),
        &paths,
        exclude.as_ref(),
        &mut outcome,
    );
    // One count, not a notice each: a change's README is nobody's concern.
    outcome.other_files = changed_other
        .iter()
        .filter(|p| !image_files.contains(p))
        .count();
    if let (Some(review), Some(images)) = (&change, &effective.config.images) {
        let severity = images.downgrade.unwrap_or(Severity::Warning);
        for (rel, before) in &review.image_files_before {
            let path = crate::scan::display_path(&review.workdir.join(rel));
            if let Ok(now) = crate::textfile::read(&path, crate::yaml::MANIFEST_MAX_BYTES, false) {
                outcome.findings.extend(crate::policy::scan::downgrades(
                    &path, before, &now, severity,
                ));
            }
        }
        crate::fingerprint::separate_twins(&mut outcome.findings);
    }
    if let Some(review) = &change {
        review.apply(filter, &mut outcome);
    }
    Ok(Scanned {
        outcome,
        bad_images,
        missing_paths: missing,
    })
}

/// Says each path named on the command line that does not exist, and
/// whether there was one: such a path (a typo, a stale CI step) would check
/// nothing and pass, so it is an error; the other paths are still checked.
fn say_missing(paths: &[std::path::PathBuf]) -> bool {
    let mut missing = false;
    for path in paths.iter().filter(|p| p.symlink_metadata().is_err()) {
        crate::say!("error: {}: no such file or folder", path.display());
        missing = true;
    }
    missing
}

/// Writes the report files first: whatever happens next, they are on disk.
/// Returns true if and only if one could not be written.
pub(crate) fn write_reports(
    setup: &Setup,
    outcome: &crate::scan::ScanOutcome,
    review: Option<&report::json::ReviewMeta>,
) -> bool {
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

/// With an `images` section and an environment selected, checks the image
/// references of the scanned paths too. Returns true if and only if a file
/// could not be read as its kind.
fn check_images(
    effective: &config::Effective,
    environment: Option<&str>,
    paths: &[std::path::PathBuf],
    exclude: Option<&(globset::GlobSet, globset::GlobSet)>,
    outcome: &mut crate::scan::ScanOutcome,
) -> (bool, Vec<std::path::PathBuf>) {
    let Some(policies) = effective
        .config
        .images
        .as_ref()
        .and_then(|i| i.environments.as_ref())
        .filter(|p| !p.is_empty())
    else {
        return (false, Vec::new());
    };
    let Some((env, policy)) = environment.and_then(|e| policies.get_key_value(e)) else {
        crate::say!(
            "note: image policies not checked: {}",
            match environment {
                None => "no environment selected (--env NAME or TOLLGATE_ENV)".to_string(),
                Some(e) => format!("no policy for environment `{e}` under images.environments"),
            }
        );
        return (false, Vec::new());
    };
    let mut files = crate::policy::scan::image_files(paths);
    if let Some(exclude) = exclude {
        files.retain(|p| !crate::scan::excluded(exclude, p));
    }
    let bad = crate::policy::scan::check_files(&files, env, policy, outcome);
    outcome
        .findings
        .sort_by(|a, b| (&a.path, a.start, &a.rule).cmp(&(&b.path, b.start, &b.rule)));
    (bad, files)
}

/// A change under review: its files, and where the repository lies.
pub(crate) struct Review {
    pub set: ChangeSet,
    pub workdir: std::path::PathBuf,
    /// Files that can name images, as they were at the merge base (by new path).
    pub image_files_before: Vec<(std::path::PathBuf, String)>,
}

impl Review {
    /// Keeps only the findings `filter` lets through, and notes the binary
    /// files of the change, which are not scanned.
    fn apply(&self, filter: FilterMode, outcome: &mut crate::scan::ScanOutcome) {
        let cwd = std::env::current_dir().unwrap_or_default();
        let keeps = |f: &crate::finding::Finding| {
            self.relative(&cwd, &f.path)
                .is_some_and(|rel| self.set.keeps(filter, &rel, f))
        };
        outcome.findings.retain(|f| keeps(f));
        outcome.suppressed.retain(|f| keeps(f));
        // Only the change's own files that could not be scanned fail the gate.
        outcome.not_scanned.retain(|p| {
            self.relative(&cwd, p)
                .is_some_and(|rel| self.set.files.contains_key(&rel))
        });
        for path in &self.set.binary {
            outcome.notices.push(crate::scan::Notice {
                path: crate::scan::display_path(&self.workdir.join(path)),
                message: "skipped: binary file in the change".into(),
            });
        }
    }

    /// `path` (relative to `cwd`) relative to the working tree. Only its
    /// folder is resolved: a file that is a symbolic link keeps its own name.
    fn relative(
        &self,
        cwd: &std::path::Path,
        path: &std::path::Path,
    ) -> Option<std::path::PathBuf> {
        let absolute = cwd.join(path);
        let name = absolute.file_name()?;
        let folder = absolute.parent()?;
        let folder = folder
            .canonicalize()
            .unwrap_or_else(|_| folder.to_path_buf());
        folder
            .join(name)
            .strip_prefix(&self.workdir)
            .ok()
            .map(|r| r.to_path_buf())
    }

    /// The changed files that exist and lie under `paths`: what a filtered
    /// scan needs to look at.
    fn changed_paths(&self, paths: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let roots: Vec<std::path::PathBuf> = paths
            .iter()
            .map(|p| cwd.join(p).canonicalize().unwrap_or_else(|_| cwd.join(p)))
            .collect();
        self.set
            .files
            .keys()
            .map(|rel| self.workdir.join(rel))
            .filter(|abs| roots.iter().any(|r| abs.starts_with(r)) && abs.is_file())
            .map(|abs| crate::scan::display_path(&abs))
            .collect()
    }
}

/// Reads the change from git.
pub(crate) fn review_change(base: &str, head: Option<&str>) -> anyhow::Result<Review> {
    let cwd = std::env::current_dir()?;
    let repo = Repo::discover(&cwd)?;
    let set = match head {
        Some(head) => {
            if repo.resolve(head)? != repo.head()? {
                anyhow::bail!(
                    "--head `{head}` is not the checked-out commit: check it out first (tollgate reads the files from the working tree)"
                );
            }
            repo.change_set(base, head)?
        }
        None => {
            if repo.has_uncommitted_changes() {
                crate::say!("note: comparing the merge base of `{base}` with the working tree: uncommitted and new files count (--head HEAD compares commits only)");
            }
            repo.change_set_to_workdir(base)?
        }
    };
    let workdir = repo
        .workdir()
        .ok_or_else(|| anyhow::anyhow!("the repository has no working tree"))?;
    let workdir = workdir
        .canonicalize()
        .unwrap_or_else(|_| workdir.to_path_buf());
    let mut image_files_before = Vec::new();
    for (rel, change) in &set.files {
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let names_images = crate::policy::sources::is_dockerfile(&name)
            || crate::policy::sources::manifests::kind_of(rel).is_some();
        let old = match &change.status {
            crate::diff::FileStatus::Renamed { from } => from.clone(),
            _ => rel.clone(),
        };
        if let (true, Some(base)) = (names_images, set.base_commit.as_deref()) {
            if let Some(text) = repo.file_at(base, &old) {
                image_files_before.push((rel.clone(), text));
            }
        }
    }
    Ok(Review {
        set,
        workdir,
        image_files_before,
    })
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

#[derive(Serialize)]
struct ListedRule<'a> {
    id: &'a str,
    language: crate::lang::Language,
    severity: Severity,
    message: String,
    source: String,
    has_fix: bool,
    url: Option<&'a str>,
    /// Runs only where the configuration opts in to it (`rules.opt_in`).
    opt_in: bool,
    tests: usize,
    /// The literal strings a file must contain for the rule to be run on it.
    prefilter: String,
}

fn run_rules_list(
    args: &RuleArgs,
    config_args: &ConfigArgs,
    format: OutputFormat,
) -> anyhow::Result<i32> {
    let (rules, bad) = configured_rules(args, config_args);
    let listed: Vec<ListedRule<'_>> = rules
        .rules
        .iter()
        .map(|r| ListedRule {
            id: &r.id,
            language: r.language,
            severity: r.severity,
            message: message_text(r),
            source: format!("{}:{}", r.origin.file, r.origin.line),
            has_fix: r.fix.is_some(),
            url: r.url.as_deref(),
            opt_in: r.opt_in,
            tests: r.tests.valid.len() + r.tests.invalid.len(),
            prefilter: r.prefilter.describe(),
        })
        .collect();
    let mut out = crate::ci_log::stdout(format.log_kind());
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &listed)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            let width = listed.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in &listed {
                let group = if r.opt_in { "opt-in" } else { "default" };
                writeln!(
                    out,
                    "{:<width$}  {:<7}  {group:<7}  {}",
                    r.id,
                    r.severity.as_str(),
                    r.message
                )?;
            }
            let opt_in = listed.iter().filter(|r| r.opt_in).count();
            let note = match opt_in {
                0 => String::new(),
                n => format!(" ({n} opt-in: they run only where `.tollgate.yml` opts in, see `rules.opt_in`)"),
            };
            writeln!(out, "{}{note}", plural(listed.len(), "rule"))?;
        }
    }
    Ok(if bad { EXIT_ERROR } else { EXIT_OK })
}

/// The message template with captures shown as `{{name}}`.
pub fn message_text(rule: &crate::rules::Rule) -> String {
    use crate::rules::compile::TemplatePart;
    let names = rule.query.capture_names();
    rule.message
        .parts
        .iter()
        .map(|p| match p {
            TemplatePart::Text(t) => t.clone(),
            TemplatePart::Capture(i) => format!("{{{{{}}}}}", names[*i as usize]),
        })
        .collect()
}

fn run_rules_test(paths: Vec<std::path::PathBuf>, config_args: &ConfigArgs) -> anyhow::Result<i32> {
    // Files named here are tested alone; else the rules `scan` would run.
    let (rules, bad) = if paths.is_empty() {
        let defaults = RuleArgs {
            extra: Vec::new(),
            no_default_rules: false,
        };
        configured_rules(&defaults, config_args)
    } else {
        load(&paths.into_iter().map(RuleSource::Path).collect::<Vec<_>>())
    };
    let results: Vec<_> = {
        use rayon::prelude::*;
        rules.rules.par_iter().map(test_rule).collect()
    };
    let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Text);
    write!(out, "{}", render_failures(&results))?;
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    let untested: Vec<&str> = results
        .iter()
        .filter(|r| r.cases == 0)
        .map(|r| r.rule_id.as_str())
        .collect();
    for id in &untested {
        writeln!(out, "warning: rule `{id}` has no tests")?;
    }
    let cases: usize = results.iter().map(|r| r.cases).sum();
    writeln!(
        out,
        "{} passed, {} failed ({}, {})",
        results.len() - failed,
        failed,
        plural(results.len(), "rule"),
        plural(cases, "snippet")
    )?;
    Ok(if bad {
        EXIT_ERROR
    } else if failed > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn run_rules_explain(id: &str, args: &RuleArgs, config_args: &ConfigArgs) -> anyhow::Result<i32> {
    let (rules, bad) = configured_rules(args, config_args);
    let Some(rule) = rules.get(id) else {
        let mut known: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        known.sort_unstable();
        let close: Vec<&str> = known
            .iter()
            .copied()
            .filter(|k| k.contains(id.rsplit('/').next().unwrap_or(id)))
            .collect();
        crate::say!(
            "error: no rule with id `{id}`{}",
            if close.is_empty() {
                "; `tollgate rules list` shows them all".to_string()
            } else {
                format!("; did you mean {}?", close.join(", "))
            }
        );
        return Ok(EXIT_ERROR);
    };
    let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Text);
    writeln!(out, "{} ({}, {})", rule.id, rule.language, rule.severity)?;
    writeln!(out, "defined at {}:{}", rule.origin.file, rule.origin.line)?;
    writeln!(
        out,
        "files parsed only when they contain: {}",
        rule.prefilter.describe()
    )?;
    writeln!(out, "\nmessage: {}", message_text(rule))?;
    if let Some(note) = &rule.note {
        writeln!(out, "\n{}", note.trim_end())?;
    }
    if let Some(url) = &rule.url {
        writeln!(out, "\nmore: {url}")?;
    }
    for (title, snippets) in [
        (
            "flagged",
            rule.tests
                .invalid
                .iter()
                .map(|c| c.code.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "not flagged",
            rule.tests.valid.iter().map(String::as_str).collect(),
        ),
    ] {
        if let Some(first) = snippets.first() {
            writeln!(out, "\nexample, {title}:")?;
            for line in first.lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    Ok(if bad { EXIT_ERROR } else { EXIT_OK })
}

fn run_rules_tree(file: &std::path::Path, all: bool) -> anyhow::Result<i32> {
    use anyhow::Context as _;
    let Some(lang) = crate::lang::Language::from_path(file) else {
        crate::say!(
            "error: {}: not a Go (.go) or Rust (.rs) file",
            file.display()
        );
        return Ok(EXIT_ERROR);
    };
    let source = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&lang.grammar())?;
    let tree = parser
        .parse(&source, None)
        .context("the parser gave up on this file")?;
    let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Text);
    write_tree(&mut out, tree.root_node(), None, 0, &source, all)?;
    Ok(EXIT_OK)
}

/// Prints one named node a line, indented, with its field name and position,
/// and the text of leaves.
fn write_tree(
    out: &mut dyn Write,
    node: tree_sitter::Node<'_>,
    field: Option<&str>,
    depth: usize,
    source: &[u8],
    all: bool,
) -> std::io::Result<()> {
    let pos = node.start_position();
    let field = field.map(|f| format!("{f}: ")).unwrap_or_default();
    let kind = if node.is_named() {
        node.kind().to_string()
    } else {
        format!("{:?}", node.kind())
    };
    let text = if !node.is_named() {
        String::new()
    } else if node.named_child_count() == 0 {
        let t = String::from_utf8_lossy(&source[node.start_byte()..node.end_byte()]);
        format!(" {:?}", t.chars().take(60).collect::<String>())
    } else {
        String::new()
    };
    writeln!(
        out,
        "{}{}{} [{}:{}]{}",
        "  ".repeat(depth),
        field,
        kind,
        pos.row + 1,
        pos.column + 1,
        text
    )?;
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            let child = cursor.node();
            if child.is_named() || all {
                write_tree(out, child, cursor.field_name(), depth + 1, source, all)?;
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    Ok(())
}

fn run_config_validate(
    file: Option<&std::path::Path>,
    environment: Option<&str>,
) -> anyhow::Result<i32> {
    let located = match config::locate(file) {
        Ok(located) => located,
        Err(err) => {
            crate::say!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    let Some(file) = located else {
        crate::say!(
            "error: no {} here or at the repository root (`tollgate init` writes one)",
            config::FILE_NAME
        );
        return Ok(EXIT_ERROR);
    };
    match config::load(Some(&file), environment) {
        Ok(effective) => {
            // Rule folders named by the configuration must load too.
            let sources: Vec<RuleSource> = effective
                .config
                .rules
                .iter()
                .flat_map(|r| r.paths.iter().flatten())
                .map(|p| RuleSource::Path(effective.base_dir.join(p)))
                .collect();
            let (_, bad_rules) = load(&sources);
            let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Text);
            writeln!(
                out,
                "# {} is valid{}; effective configuration:",
                file.display(),
                environment
                    .map(|e| format!(" (environment `{e}`)"))
                    .unwrap_or_default()
            )?;
            write!(out, "{}", effective.render())?;
            Ok(if bad_rules { EXIT_ERROR } else { EXIT_OK })
        }
        Err(err) => {
            say_error(&err.to_string());
            Ok(EXIT_ERROR)
        }
    }
}

fn run_init(force: bool) -> anyhow::Result<i32> {
    let path = std::path::Path::new(config::FILE_NAME);
    // `symlink_metadata`: a dangling link counts as there, and is never written through.
    if std::fs::symlink_metadata(path).is_ok() && !force {
        crate::say!(
            "error: {} already exists (use --force to overwrite)",
            path.display()
        );
        return Ok(EXIT_ERROR);
    }
    let starter = starter_for(&languages_here());
    if let Err(err) = report::file::write_new(path, |out| out.write_all(starter.as_bytes())) {
        crate::say!("error: cannot write {}: {err}", path.display());
        return Ok(EXIT_ERROR);
    }
    crate::show!(
        "wrote {}; check it with `tollgate config validate`",
        path.display()
    );
    Ok(EXIT_OK)
}

/// The languages whose files the current folder holds (a bounded look).
fn languages_here() -> Vec<crate::lang::Language> {
    let mut found = Vec::new();
    let walk = ignore::WalkBuilder::new(".")
        .ignore(false)
        .git_global(false)
        .build();
    for entry in walk.flatten().take(50_000) {
        if let Some(lang) = crate::lang::Language::from_path(entry.path()) {
            if !found.contains(&lang) {
                found.push(lang);
            }
        }
    }
    found.sort();
    found
}

/// The starter configuration, its rule examples for the languages present
/// (both when there are none yet).
fn starter_for(languages: &[crate::lang::Language]) -> String {
    use crate::lang::Language;
    let has = |l: Language| languages.is_empty() || languages.contains(&l);
    let mut enable = Vec::new();
    if has(Language::Go) {
        enable.push("\"go/*\"");
    }
    if has(Language::Rust) {
        enable.push("\"rust/*\"");
    }
    let opt_in = if has(Language::Rust) {
        "rust/unwrap-outside-tests"
    } else {
        "go/errorf-without-wrap"
    };
    let severity = if has(Language::Rust) {
        "rust/todo-macro"
    } else {
        "go/builtin-print"
    };
    config::STARTER
        .replace("__ENABLE__", &enable.join(", "))
        .replace("__OPT_IN__", opt_in)
        .replace("__SEVERITY__", severity)
}

fn run_schema(kind: SchemaKind) -> anyhow::Result<i32> {
    let schema = match kind {
        SchemaKind::Config => schemars::schema_for!(config::Config),
        SchemaKind::Rule => schemars::schema_for!(crate::rules::model::SerializableRule),
    };
    crate::show!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(EXIT_OK)
}

#[derive(Serialize)]
struct ParsedImage<'a> {
    input: &'a str,
    valid: bool,
    error: Option<String>,
    domain: Option<String>,
    path: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
    normalized: Option<String>,
    familiar: Option<String>,
}

fn run_images_parse(format: OutputFormat, references: &[String]) -> anyhow::Result<i32> {
    use crate::policy::reference;
    let parsed: Vec<ParsedImage<'_>> = references
        .iter()
        .map(|input| match reference::parse(input) {
            Ok(r) => ParsedImage {
                input,
                valid: true,
                error: None,
                normalized: Some(r.normalized()),
                familiar: Some(r.familiar()),
                domain: Some(r.domain),
                path: Some(r.path),
                tag: r.tag,
                digest: r.digest,
            },
            Err(e) => ParsedImage {
                input,
                valid: false,
                error: Some(e.to_string()),
                domain: None,
                path: None,
                tag: None,
                digest: None,
                normalized: None,
                familiar: None,
            },
        })
        .collect();
    let mut out = crate::ci_log::stdout(format.log_kind());
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &parsed)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for p in &parsed {
                match (&p.normalized, &p.error) {
                    (Some(n), _) => writeln!(out, "{}: {n}", p.input)?,
                    (None, Some(e)) => writeln!(out, "{}: invalid: {e}", p.input)?,
                    _ => {}
                }
            }
        }
    }
    Ok(if parsed.iter().all(|p| p.valid) {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

#[derive(Serialize)]
struct CheckedImage<'a> {
    image: &'a str,
    environment: &'a str,
    allowed: bool,
    reason: Option<String>,
}

/// The image policy of `environment`, or the reason there is none (printed).
fn image_policy(
    environment: Option<&str>,
    config_file: Option<&std::path::Path>,
) -> Option<(String, config::EnvironmentPolicy)> {
    let file = match config::locate(config_file) {
        Ok(file) => file,
        Err(err) => {
            crate::say!("error: {err}");
            return None;
        }
    };
    // The policies live under `images.environments`, not under `environments`.
    let effective = match config::load(file.as_deref(), None) {
        Ok(e) => e,
        Err(err) => {
            crate::say!("error: {err}");
            return None;
        }
    };
    let policies = effective
        .config
        .images
        .as_ref()
        .and_then(|i| i.environments.clone())
        .unwrap_or_default();
    let known = || {
        policies
            .keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(env) = environment else {
        crate::say!(
            "error: which environment? give --env NAME or TOLLGATE_ENV (the configuration has: {})",
            known()
        );
        return None;
    };
    let Some(policy) = policies.get(env) else {
        crate::say!(
            "error: no image policy for environment `{env}` under `images.environments` in {} (it has: {})",
            file.map(|f| f.display().to_string()).unwrap_or_else(|| "the configuration (none found)".into()),
            if policies.is_empty() { "none".to_string() } else { known() }
        );
        return None;
    };
    Some((env.to_string(), policy.clone()))
}

fn run_images_check(
    environment: Option<&str>,
    config_file: Option<&std::path::Path>,
    format: OutputFormat,
    references: &[String],
) -> anyhow::Result<i32> {
    let Some((env, policy)) = image_policy(environment, config_file) else {
        return Ok(EXIT_ERROR);
    };
    let env = env.as_str();
    let policy = &policy;
    let checked: Vec<CheckedImage<'_>> = references
        .iter()
        .map(|image| {
            let verdict = crate::policy::check::check(image, env, policy);
            CheckedImage {
                image,
                environment: env,
                allowed: verdict.allowed,
                reason: verdict.reason,
            }
        })
        .collect();
    let mut out = crate::ci_log::stdout(format.log_kind());
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &checked)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for c in &checked {
                match &c.reason {
                    None => writeln!(out, "{}: allowed in {env}", c.image)?,
                    Some(reason) => writeln!(out, "{}: denied in {env}: {reason}", c.image)?,
                }
            }
        }
    }
    Ok(if checked.iter().all(|c| c.allowed) {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn run_images_scan(
    paths: &[std::path::PathBuf],
    environment: Option<&str>,
    config_file: Option<&std::path::Path>,
    format: OutputFormat,
) -> anyhow::Result<i32> {
    let Some((env, policy)) = image_policy(environment, config_file) else {
        return Ok(EXIT_ERROR);
    };
    let missing = say_missing(paths);
    let roots = if paths.is_empty() {
        vec![".".into()]
    } else {
        paths.to_vec()
    };
    let files = crate::policy::scan::image_files(&roots);
    let mut outcome = crate::scan::ScanOutcome::default();
    let bad_files = crate::policy::scan::check_files(&files, &env, &policy, &mut outcome);
    let colour = terminal::colour_enabled("auto", std::io::stdout().is_terminal());
    let mut out = crate::ci_log::stdout(format.log_kind());
    match format {
        OutputFormat::Json => {
            report::json::write(&mut out, &outcome, &report::RepoPaths::default(), None)?
        }
        OutputFormat::Text => terminal::write(&mut out, &outcome, terminal::Palette::new(colour))?,
    }
    Ok(if bad_files || missing {
        EXIT_ERROR
    } else if outcome
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error)
    {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
