//! Scanning a change: the code rules on the changed (or all) files, the
//! image policies, version downgrades, then the change's filter.

use super::setup::Setup;
use super::source::{changed_paths, review_change, review_change_telling, ChangeSource, Review};
use crate::cli::ScanArgs;
use crate::config;
use crate::diff::FilterMode;
use crate::finding::Severity;
use crate::scan::{scan, ScanOptions, ScanOutcome};
use std::path::PathBuf;

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
    let mut paths = given_paths(args);
    let has_change = !matches!(source, ChangeSource::None);
    let filter = filter_mode(args, effective, has_change)?;
    let (change, early) = match source {
        ChangeSource::None => (None, None),
        ChangeSource::Git { base, head } => {
            let (review, early) = read_change_scanning_ahead(args, setup, &base, head.as_deref())
                .map_err(|e| format!("{e:#}"))?;
            (Some(review), early)
        }
        ChangeSource::Given(review, early) => (Some(review), early),
    };
    let mut scan_paths = paths.clone();
    // Changed files that are not code: image files, or files nothing reads.
    let mut changed_other = Vec::new();
    if let Some(review) = &change {
        // The change's own files are named, so they are scanned even when
        // hidden or ignored (a walk of the whole tree would skip them).
        let changed = review.changed_paths(&paths);
        (scan_paths, changed_other) = split_code(changed.clone());
        if filter != FilterMode::All {
            paths = changed;
        } else {
            scan_paths.extend(paths.iter().cloned());
        }
    }
    let options = scan_options(args, setup, scan_paths);
    let mut outcome = match early {
        // The same scan, already done while git diffed lines.
        Some(early) if early.paths == options.paths => early.outcome,
        _ => scan(&setup.rules, &options),
    };
    let (bad_images, image_files) = check_images(
        effective,
        args.environment.as_deref(),
        &paths,
        options.exclude.as_ref(),
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

/// The paths named on the command line; the current folder if none.
fn given_paths(args: &ScanArgs) -> Vec<PathBuf> {
    if args.paths.is_empty() {
        vec![".".into()]
    } else {
        args.paths.clone()
    }
}

/// Which findings of the scan count: every one without a change, else those
/// the filter keeps (added lines by default).
fn filter_mode(
    args: &ScanArgs,
    effective: &config::Effective,
    has_change: bool,
) -> Result<FilterMode, String> {
    Ok(
        match (has_change, args.filter.or(effective.config.filter)) {
            (false, None | Some(FilterMode::All)) => FilterMode::All,
            (false, Some(_)) if args.filter.is_none() => FilterMode::All,
            (false, Some(mode)) => {
                return Err(format!(
                    "--filter {mode:?} needs --base REF: it filters the findings of a change"
                ))
            }
            (true, mode) => mode.unwrap_or(FilterMode::Added),
        },
    )
}

/// Splits paths into code files, which the rules scan, and the others.
fn split_code(paths: Vec<PathBuf>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    paths
        .into_iter()
        .partition(|p| crate::lang::Language::from_path(p).is_some())
}

fn scan_options(args: &ScanArgs, setup: &Setup, paths: Vec<PathBuf>) -> ScanOptions {
    ScanOptions {
        paths,
        max_filesize: args.max_filesize,
        exclude: setup.effective.exclude(),
        file_timeout: std::time::Duration::from_secs(args.file_timeout),
    }
}

/// A scan of a change's code files made while git was still diffing their
/// lines. [`scan_change`] takes it only if the change, once read, names the
/// same files to scan; otherwise it scans again.
pub(crate) struct EarlyScan {
    paths: Vec<PathBuf>,
    outcome: ScanOutcome,
}

/// Reads the change from git. Of a change between two commits, git names
/// the files well before it has diffed their lines (a large part of a small
/// review's time): with more than one worker thread, and when only the
/// change's files are scanned, the scan runs meanwhile. Its result does not
/// depend on the lines; the filter applies them afterwards.
pub(crate) fn read_change_scanning_ahead(
    args: &ScanArgs,
    setup: &Setup,
    base: &str,
    head: Option<&str>,
) -> anyhow::Result<(Review, Option<Box<EarlyScan>>)> {
    let scans_changed_files =
        filter_mode(args, &setup.effective, true).is_ok_and(|filter| filter != FilterMode::All);
    let head = match head {
        Some(head) if scans_changed_files && rayon::current_num_threads() > 1 => head,
        _ => return review_change(base, head).map(|review| (review, None)),
    };
    let (named, files) = std::sync::mpsc::channel();
    std::thread::scope(|threads| {
        let git = threads.spawn(move || {
            review_change_telling(base, Some(head), &mut |workdir, changed| {
                let _ = named.send((workdir.to_path_buf(), changed.to_vec()));
            })
        });
        // No files named: git failed first, and says why below.
        let early = files.recv().ok().map(|(workdir, changed)| {
            let options = scan_options(args, setup, code_paths_told(&workdir, changed, args));
            Box::new(EarlyScan {
                outcome: scan(&setup.rules, &options),
                paths: options.paths,
            })
        });
        let review = git
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok((review, early))
    })
}

/// The code files to scan of the files git told (relative to `workdir`), in
/// the order [`Review::changed_paths`] will give them once the change is
/// read: the order of the scan's results. Git tells them in its own path
/// order (`a-b.go` before `a/b.go`), the change set keeps path order.
fn code_paths_told(
    workdir: &std::path::Path,
    mut told: Vec<PathBuf>,
    args: &ScanArgs,
) -> Vec<PathBuf> {
    told.sort();
    told.dedup();
    split_code(changed_paths(workdir, &told, &given_paths(args))).0
}

/// Says each path named on the command line that does not exist, and
/// whether there was one: such a path (a typo, a stale CI step) would check
/// nothing and pass, so it is an error; the other paths are still checked.
pub(crate) fn say_missing(paths: &[std::path::PathBuf]) -> bool {
    let mut missing = false;
    for path in paths.iter().filter(|p| p.symlink_metadata().is_err()) {
        crate::say!("error: {}: no such file or folder", path.display());
        missing = true;
    }
    missing
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::diff::{ChangeSet, FileChange, FileStatus};
    use crate::finding::{Finding, Position};
    use clap::Parser;

    fn scan_args(folder: &std::path::Path) -> ScanArgs {
        let argv = ["tollgate", "scan", "--fail-on", "never"];
        let cli = Cli::try_parse_from(argv.iter().copied().chain([folder.to_str().unwrap()]));
        match cli.unwrap().command {
            Command::Scan(args) => args,
            _ => unreachable!("a scan command"),
        }
    }

    /// A change that adds `a.go`, which calls `println` on line 2.
    fn change(workdir: &std::path::Path) -> Review {
        std::fs::write(workdir.join("a.go"), "package p\nfunc f() { println(1) }\n").unwrap();
        let mut set = ChangeSet::default();
        set.files.insert(
            "a.go".into(),
            FileChange {
                status: FileStatus::Added,
                added: vec![(1, 2)],
                hunks: vec![(1, 2)],
            },
        );
        Review {
            set,
            workdir: workdir.to_path_buf(),
            image_files_before: Vec::new(),
        }
    }

    fn marker(path: PathBuf) -> Finding {
        Finding {
            rule: "test/early".into(),
            severity: Severity::Error,
            path,
            start: Position { line: 1, column: 1 },
            end: Position { line: 1, column: 2 },
            message: "from the early scan".into(),
            fingerprint: "early".into(),
            fix: None,
            snippet: String::new(),
            suppressed: false,
        }
    }

    fn rules_found(scanned: &Scanned) -> Vec<&str> {
        scanned
            .outcome
            .findings
            .iter()
            .map(|f| f.rule.as_str())
            .collect()
    }

    #[test]
    fn the_files_git_tells_are_scanned_in_the_order_of_the_change_read() {
        let dir = tempfile::tempdir().unwrap();
        let workdir = dir.path().canonicalize().unwrap();
        let mut review = change(&workdir);
        std::fs::create_dir(workdir.join("a")).unwrap();
        for name in ["a-b.go", "a/b.go", "notes.txt"] {
            std::fs::write(workdir.join(name), "package p\n").unwrap();
            let added = review.set.files[std::path::Path::new("a.go")].clone();
            review.set.files.insert(name.into(), added);
        }
        // Git's order: `-` sorts before `/`.
        let told: Vec<PathBuf> = ["a-b.go", "a.go", "a/b.go", "notes.txt"]
            .map(PathBuf::from)
            .into();
        let args = scan_args(&workdir);
        let (expected, _) = split_code(review.changed_paths(&given_paths(&args)));
        assert_eq!(expected.len(), 3);
        assert_eq!(code_paths_told(&workdir, told, &args), expected);
    }

    #[test]
    fn an_early_scan_counts_only_when_it_scanned_the_files_the_change_names() {
        let dir = tempfile::tempdir().unwrap();
        let workdir = dir.path().canonicalize().unwrap();
        let args = scan_args(&workdir);
        let setup =
            super::super::setup::setup(&args, &config::trust::Place::Checkout { base: None });
        let code = crate::scan::display_path(&workdir.join("a.go"));
        let early = |paths: Vec<PathBuf>| {
            Box::new(EarlyScan {
                paths,
                outcome: ScanOutcome {
                    findings: vec![marker(code.clone())],
                    ..ScanOutcome::default()
                },
            })
        };

        let same = ChangeSource::Given(change(&workdir), Some(early(vec![code.clone()])));
        let taken = scan_change(&args, &setup, same).unwrap();
        assert_eq!(rules_found(&taken), ["test/early"]);

        let other = workdir.join("b.go");
        let stale = ChangeSource::Given(change(&workdir), Some(early(vec![other])));
        let rescanned = scan_change(&args, &setup, stale).unwrap();
        assert_eq!(rules_found(&rescanned), ["go/builtin-print"]);

        let none = ChangeSource::Given(change(&workdir), None);
        assert_eq!(
            rules_found(&scan_change(&args, &setup, none).unwrap()),
            ["go/builtin-print"]
        );
    }
}
