//! Scanning a change: the code rules on the changed (or all) files, the
//! image policies, version downgrades, then the change's filter.

use super::setup::Setup;
use super::source::{review_change, review_change_telling, ChangeSource};
use crate::cli::ScanArgs;
use crate::config;
use crate::diff::FilterMode;
use crate::finding::Severity;
use crate::scan::{scan, ScanOptions};

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
        ChangeSource::Git { base, head } => Some(
            read_change_compiling_ahead(setup, &base, head.as_deref(), args.max_filesize)
                .map_err(|e| format!("{e:#}"))?,
        ),
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

/// Reads the change from git; with more than one worker thread, a spare
/// thread compiles the rules its files need while git diffs their lines
/// (rule compilation is a large part of a small review's time).
pub(crate) fn read_change_compiling_ahead(
    setup: &Setup,
    base: &str,
    head: Option<&str>,
    max_filesize: u64,
) -> anyhow::Result<super::source::Review> {
    if rayon::current_num_threads() < 2 {
        return review_change(base, head);
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|threads| {
        let stop = &stop;
        let mut compile_ahead = |files: &[std::path::PathBuf]| {
            let files = files.to_vec();
            threads.spawn(move || {
                crate::scan::compile_ahead(&setup.rules, &files, max_filesize, stop);
            });
        };
        let review = review_change_telling(base, head, &mut compile_ahead);
        // The scan compiles the rest on its own threads.
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        review
    })
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
