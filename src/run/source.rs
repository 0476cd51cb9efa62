//! Where the change under review comes from, and the change itself: its
//! files as git or a forge's API gives them, and the filter it applies.

use crate::diff::git::Repo;
use crate::diff::{ChangeSet, FilterMode};

/// Where the change under review comes from.
pub(crate) enum ChangeSource {
    /// No change: scan everything under the paths.
    None,
    /// Read it from git.
    Git { base: String, head: Option<String> },
    /// Already read (from git, perhaps with its files scanned meanwhile, or
    /// from a forge's API).
    Given(Review, Option<Box<super::change::EarlyScan>>),
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
    pub(crate) fn apply(&self, filter: FilterMode, outcome: &mut crate::scan::ScanOutcome) {
        let cwd = std::env::current_dir().unwrap_or_default();
        let keeps = |f: &crate::finding::Finding| {
            self.relative(&cwd, &f.path)
                .is_some_and(|rel| self.set.keeps(filter, &rel, f))
        };
        outcome.findings.retain(|f| keeps(f));
        outcome.suppressed.retain(|f| keeps(f));
        outcome.images_passed.retain(|i| {
            self.relative(&cwd, &i.path)
                .is_some_and(|rel| self.set.keeps_lines(filter, &rel, i.line, i.line))
        });
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
    pub(crate) fn changed_paths(&self, paths: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
        let files: Vec<std::path::PathBuf> = self.set.files.keys().cloned().collect();
        changed_paths(&self.workdir, &files, paths)
    }
}

/// Of `files` (relative to the working tree `workdir`), those that exist and
/// lie under `paths`, as the scan names them.
pub(crate) fn changed_paths(
    workdir: &std::path::Path,
    files: &[std::path::PathBuf],
    paths: &[std::path::PathBuf],
) -> Vec<std::path::PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let roots: Vec<std::path::PathBuf> = paths
        .iter()
        .map(|p| cwd.join(p).canonicalize().unwrap_or_else(|_| cwd.join(p)))
        .collect();
    files
        .iter()
        .map(|rel| workdir.join(rel))
        .filter(|abs| roots.iter().any(|r| abs.starts_with(r)) && abs.is_file())
        .map(|abs| crate::scan::display_path(&abs))
        .collect()
}

/// Reads the change from git.
pub(crate) fn review_change(base: &str, head: Option<&str>) -> anyhow::Result<Review> {
    review_change_telling(base, head, &mut |_, _| {})
}

/// [`review_change`], telling `on_files` the working tree and the changed
/// files of a committed change (`--head`; relative to that tree) as soon as
/// git knows them, before it diffs their lines.
pub(crate) fn review_change_telling(
    base: &str,
    head: Option<&str>,
    on_files: &mut dyn FnMut(&std::path::Path, &[std::path::PathBuf]),
) -> anyhow::Result<Review> {
    let cwd = std::env::current_dir()?;
    let repo = Repo::discover(&cwd)?;
    let workdir = repo
        .workdir()
        .map(|w| w.canonicalize().unwrap_or_else(|_| w.to_path_buf()));
    let set = match head {
        Some(head) => {
            if repo.resolve(head)? != repo.head()? {
                anyhow::bail!(
                    "--head `{head}` is not the checked-out commit: check it out first (tollgate reads the files from the working tree)"
                );
            }
            let mut tell = |changed: &[std::path::PathBuf]| {
                if let Some(workdir) = &workdir {
                    on_files(workdir, changed);
                }
            };
            repo.change_set_telling(base, head, &mut tell)?
        }
        None => {
            let set = repo.change_set_to_workdir(base)?;
            if repo.has_uncommitted_changes(&set) {
                crate::say!("note: comparing the merge base of `{base}` with the working tree: uncommitted and new files count (--head HEAD compares commits only)");
            }
            set
        }
    };
    let workdir = workdir.ok_or_else(|| anyhow::anyhow!("the repository has no working tree"))?;
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
