//! Reads a change from the git repository in-process (libgit2 through the
//! `git2` crate, built from source: no `git` binary needed, so the container
//! image can be `FROM scratch`). Everything git-specific stays in this module.

use super::{ChangeSet, FileChange, FileStatus};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// Context lines around each hunk, as `git diff` shows by default.
const CONTEXT_LINES: u32 = 3;
/// Largest file git's binary verdict is overruled for with a text diff;
/// bigger ones count as changed everywhere (the scan skips them by size).
const MAX_TEXT_DIFF: u64 = crate::scan::DEFAULT_MAX_FILESIZE;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("not inside a git repository ({0}): `--base` needs the repository's history")]
    NoRepository(String),
    #[error("{0}")]
    MissingHistory(String),
    #[error("{0}")]
    Corrupt(String),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

pub struct Repo {
    repo: git2::Repository,
}

impl Repo {
    /// Finds the repository that contains `path`. A checkout owned by another
    /// user (container jobs) is read when the CI names it as its workspace;
    /// otherwise the error says how to mark it safe.
    pub fn discover(path: &Path) -> Result<Repo, DiffError> {
        cache_large_trees();
        match git2::Repository::discover(path) {
            Ok(repo) => Ok(Repo { repo }),
            Err(e) if e.code() == git2::ErrorCode::Owner => {
                let gitdir = git2::Repository::discover_path(path, std::iter::empty::<&Path>())
                    .map_err(|e| DiffError::NoRepository(e.message().to_string()))?;
                let folder = repository_folder(&gitdir);
                if !ci_workspace_covers(&folder, &|var| std::env::var(var).ok()) {
                    return Err(DiffError::NoRepository(format!(
                        "{}; git refuses a repository owned by another user: mark it safe with `git config --global --add safe.directory {}` (tollgate reads it anyway when GITHUB_WORKSPACE, CI_PROJECT_DIR or WORKSPACE names its folder)",
                        e.message(),
                        folder.display()
                    )));
                }
                skip_owner_validation();
                git2::Repository::open(&gitdir)
                    .map(|repo| Repo { repo })
                    .map_err(|e| DiffError::NoRepository(e.message().to_string()))
            }
            Err(e) => Err(DiffError::NoRepository(e.message().to_string())),
        }
    }

    /// The root of the working tree.
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The commit id `rev` names.
    pub fn resolve(&self, rev: &str) -> Result<git2::Oid, DiffError> {
        self.repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| self.unreadable(&e, || self.missing(rev)))
    }

    /// A git error as the user should read it: a missing object is missing
    /// history (`missing`), anything else while reading objects means the
    /// object store is damaged, which fetching would not fix.
    fn unreadable(&self, e: &git2::Error, missing: impl FnOnce() -> String) -> DiffError {
        if looks_corrupt(e) {
            DiffError::Corrupt(format!(
                "the repository looks corrupt: reading its objects failed ({}). Check it with `git fsck`; a fresh clone fixes it.",
                e.message()
            ))
        } else {
            DiffError::MissingHistory(missing())
        }
    }

    /// The commit checked out in the working tree.
    pub fn head(&self) -> Result<git2::Oid, DiffError> {
        self.resolve("HEAD")
    }

    fn shallow_hint(&self) -> &'static str {
        if self.repo.is_shallow() {
            " This is a shallow clone: fetch the history the change needs, e.g. `git fetch --deepen=200 origin <base branch>`, or check out with `fetch-depth: 0` (actions/checkout) / `GIT_DEPTH: 0` (GitLab CI)."
        } else {
            " Fetch it first, e.g. `git fetch origin <base branch>`."
        }
    }

    fn missing(&self, rev: &str) -> String {
        format!(
            "cannot find `{rev}` in this repository.{}",
            self.shallow_hint()
        )
    }

    /// The change from the merge base of `base` and `head` to `head`.
    pub fn change_set(&self, base: &str, head: &str) -> Result<ChangeSet, DiffError> {
        self.change_set_to(base, head, false, &mut |_| {})
    }

    /// [`Repo::change_set`], telling `on_files` the paths the change adds,
    /// modifies or renames to as soon as they are known, before their lines
    /// are diffed: the caller can start work on them (compiling the rules
    /// they need) while git reads the rest. The change set is the same.
    pub fn change_set_telling(
        &self,
        base: &str,
        head: &str,
        on_files: &mut dyn FnMut(&[PathBuf]),
    ) -> Result<ChangeSet, DiffError> {
        self.change_set_to(base, head, false, on_files)
    }

    /// Whether `set`, a change from its merge base to the working tree,
    /// differs from the committed change (merge base to HEAD): a file of it
    /// is edited, staged or new, or a file the commits change is not in it
    /// (deleted or restored). Asked per file, and with a diff of two trees,
    /// instead of a status walk of the whole working tree: the change set's
    /// own walk already found every file that differs.
    pub fn has_uncommitted_changes(&self, set: &ChangeSet) -> bool {
        let differs = |path: &Path| {
            self.repo
                .status_file(path)
                .is_ok_and(|status| !status.is_empty() && !status.contains(git2::Status::IGNORED))
        };
        let in_set = |path: &Path| {
            set.files.contains_key(path) || set.binary.iter().chain(&set.deleted).any(|p| p == path)
        };
        let committed = || -> Result<bool, git2::Error> {
            let Some(base) = set.base_commit.as_deref() else {
                return Ok(false);
            };
            let old = self.repo.find_commit(git2::Oid::from_str(base)?)?.tree()?;
            let head = self.repo.head()?.peel_to_tree()?;
            let mut diff = self.repo.diff_tree_to_tree(Some(&old), Some(&head), None)?;
            // As the change set does: a rename is one file, under its new name.
            diff.find_similar(Some(git2::DiffFindOptions::new().renames(true)))?;
            Ok(diff.deltas().any(|delta| {
                [delta.old_file().path(), delta.new_file().path()]
                    .into_iter()
                    .flatten()
                    .all(|path| !in_set(path))
            }))
        };
        set.files
            .keys()
            .chain(&set.binary)
            .chain(&set.deleted)
            .any(|path| differs(path))
            || committed().unwrap_or(false)
    }

    /// The change from the merge base of `base` and HEAD to the working tree:
    /// what `git diff BASE...` plus uncommitted (and untracked) files show,
    /// for a local run before anything is committed.
    pub fn change_set_to_workdir(&self, base: &str) -> Result<ChangeSet, DiffError> {
        self.change_set_to(base, "HEAD", true, &mut |_| {})
    }

    fn change_set_to(
        &self,
        base: &str,
        head: &str,
        workdir: bool,
        on_files: &mut dyn FnMut(&[PathBuf]),
    ) -> Result<ChangeSet, DiffError> {
        let head_id = self.resolve(head)?;
        let base_id = self.resolve(base)?;
        let merge_base = self.repo.merge_base(base_id, head_id).map_err(|e| {
            self.unreadable(&e, || {
                format!(
                    "`{base}` and `{head}` have no common ancestor in this repository.{}",
                    self.shallow_hint()
                )
            })
        })?;
        let corrupt = |e: git2::Error| {
            if looks_corrupt(&e) {
                self.unreadable(&e, String::new)
            } else {
                DiffError::Git(e)
            }
        };
        let old_tree = self
            .repo
            .find_commit(merge_base)
            .and_then(|c| c.tree())
            .map_err(corrupt)?;
        let new_tree = self
            .repo
            .find_commit(head_id)
            .and_then(|c| c.tree())
            .map_err(corrupt)?;
        let new_side = if workdir {
            Side::Workdir
        } else {
            Side::Tree(&new_tree)
        };
        let mut set = self
            .diff_trees(&old_tree, new_side, &[], on_files)
            .map_err(corrupt)?;
        // The repository's attributes (`*.go -diff`, `binary`) and libgit2's
        // NUL heuristic must not hide code from the scan: files of a kind
        // tollgate checks are diffed again as text, whatever git thinks.
        let forced: Vec<PathBuf> = set
            .binary
            .iter()
            .filter(|p| checked_kind(p))
            .cloned()
            .collect();
        if !forced.is_empty() {
            set.binary.retain(|p| !forced.contains(p));
            // A huge blob is not diffed (text diffs of it would stall the
            // job): all of its lines count as changed, and the scan's size
            // limit decides.
            let (small, huge): (Vec<PathBuf>, Vec<PathBuf>) = forced.into_iter().partition(|p| {
                self.size_in(new_side, p)
                    .is_some_and(|n| n <= MAX_TEXT_DIFF)
            });
            for path in huge {
                let status = if old_tree.get_path(&path).is_ok() {
                    FileStatus::Modified
                } else {
                    FileStatus::Added
                };
                let whole = vec![(1, usize::MAX)];
                set.files.insert(
                    path,
                    FileChange {
                        status,
                        added: whole.clone(),
                        hunks: whole,
                    },
                );
            }
            if !small.is_empty() {
                let as_text = self
                    .diff_trees(&old_tree, new_side, &small, &mut |_| {})
                    .map_err(corrupt)?;
                set.files.extend(as_text.files);
            }
        }
        set.base_commit = Some(merge_base.to_string());
        Ok(set)
    }

    /// The size of `path` on the new side: its blob's, read from the object
    /// header, or the working tree file's.
    fn size_in(&self, side: Side<'_, '_>, path: &Path) -> Option<u64> {
        match side {
            Side::Tree(tree) => {
                let entry = tree.get_path(path).ok()?;
                let (size, _) = self.repo.odb().ok()?.read_header(entry.id()).ok()?;
                u64::try_from(size).ok()
            }
            Side::Workdir => {
                let file = self.repo.workdir()?.join(path);
                std::fs::symlink_metadata(file).ok().map(|m| m.len())
            }
        }
    }

    /// The change between two trees; with `as_text`, only those paths, each
    /// diffed as text whatever the attributes or contents say. `on_files`
    /// hears the paths of the new side before their lines are diffed.
    fn diff_trees(
        &self,
        old_tree: &git2::Tree<'_>,
        new_side: Side<'_, '_>,
        as_text: &[PathBuf],
        on_files: &mut dyn FnMut(&[PathBuf]),
    ) -> Result<ChangeSet, git2::Error> {
        let mut options = git2::DiffOptions::new();
        options.context_lines(CONTEXT_LINES);
        if !as_text.is_empty() {
            options.force_text(true).disable_pathspec_match(true);
            for path in as_text {
                options.pathspec(path);
            }
        }
        let find_and_collect = |mut diff: git2::Diff<'_>, on_files: &mut dyn FnMut(&[PathBuf])| {
            let mut find = git2::DiffFindOptions::new();
            find.renames(true);
            diff.find_similar(Some(&mut find))?;
            on_files(&new_side_paths(&diff));
            collect(&diff, !as_text.is_empty())
        };
        match new_side {
            Side::Tree(new_tree) => match self.without_index() {
                Ok(repo) => {
                    let (old_tree, new_tree) = (
                        repo.find_tree(old_tree.id())?,
                        repo.find_tree(new_tree.id())?,
                    );
                    if as_text.is_empty() {
                        match differing_paths(&repo, &old_tree, &new_tree)? {
                            Some(paths) if paths.is_empty() => {
                                on_files(&[]);
                                return Ok(ChangeSet::default());
                            }
                            // Only these paths: the diff then reads only the
                            // folders on their way.
                            Some(paths) => {
                                options.disable_pathspec_match(true);
                                for path in paths {
                                    options.pathspec(path);
                                }
                            }
                            None => {}
                        }
                    }
                    let diff = repo.diff_tree_to_tree(
                        Some(&old_tree),
                        Some(&new_tree),
                        Some(&mut options),
                    )?;
                    find_and_collect(diff, on_files)
                }
                // Not reopened (e.g. an unusual layout): the same diff, index read.
                Err(_) => {
                    let diff = self.repo.diff_tree_to_tree(
                        Some(old_tree),
                        Some(new_tree),
                        Some(&mut options),
                    )?;
                    find_and_collect(diff, on_files)
                }
            },
            Side::Workdir => {
                // New files not added yet count too: a local run checks what is about to be committed.
                options
                    .include_untracked(true)
                    .recurse_untracked_dirs(true)
                    .show_untracked_content(true);
                let diff = self
                    .repo
                    .diff_tree_to_workdir_with_index(Some(old_tree), Some(&mut options))?;
                find_and_collect(diff, on_files)
            }
        }
    }

    /// Another handle on the repository whose index is empty and in memory,
    /// for a diff of two commits' trees: libgit2 otherwise reads and checks
    /// the whole index file (every tracked path of a large checkout) only to
    /// look for `.gitattributes` entries staged in it. The attributes still
    /// come from the working tree's `.gitattributes` files, `info/attributes`
    /// and the user's settings, which is where a checkout of the head has them.
    fn without_index(&self) -> Result<git2::Repository, git2::Error> {
        let repo = git2::Repository::open(self.repo.path())?;
        repo.set_index(&mut git2::Index::new()?)?;
        Ok(repo)
    }

    /// The text of `path` in commit `commit`, if it exists there and is UTF-8.
    pub fn file_at(&self, commit: &str, path: &Path) -> Option<String> {
        let oid = git2::Oid::from_str(commit).ok()?;
        let tree = self.repo.find_commit(oid).ok()?.tree().ok()?;
        let entry = tree.get_path(path).ok()?;
        let blob = self.repo.find_blob(entry.id()).ok()?;
        String::from_utf8(blob.content().to_vec()).ok()
    }
}

/// The new side of a diff: a commit's tree, or the working tree (with the index).
#[derive(Clone, Copy)]
enum Side<'a, 'repo> {
    Tree(&'a git2::Tree<'repo>),
    Workdir,
}

/// What a path names in a commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEntry {
    /// A regular file's bytes.
    File(Vec<u8>),
    /// A regular file larger than the limit asked for: its size.
    TooBig(u64),
    /// A folder: its regular files at any depth (path from the tree's root,
    /// `File` or `TooBig`), in order; symlinks and submodules are left out.
    Folder(Vec<(PathBuf, TreeEntry)>),
    /// A symlink or a submodule: never followed.
    Other,
}

impl Repo {
    /// The messages of the commits in `head` but not in `base` (`git log
    /// --reverse base..head`), oldest first, at most `limit` of them.
    pub fn commit_messages(
        &self,
        base: &str,
        head: &str,
        limit: usize,
    ) -> Result<Vec<String>, DiffError> {
        let (base_id, head_id) = (self.resolve(base)?, self.resolve(head)?);
        let mut walk = self.repo.revwalk()?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
        walk.push(head_id)?;
        walk.hide(base_id)?;
        let mut messages = Vec::new();
        for id in walk.take(limit) {
            let commit = self.repo.find_commit(id?)?;
            messages.push(String::from_utf8_lossy(commit.message_bytes()).into_owned());
        }
        Ok(messages)
    }

    /// The checked-out branch's name; None on a detached head.
    pub fn branch_name(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        if !head.is_branch() {
            return None;
        }
        head.shorthand().ok().map(str::to_string)
    }
}

impl Repo {
    /// The merge base of `base` and `head`.
    pub fn merge_base_of(&self, base: &str, head: &str) -> Result<git2::Oid, DiffError> {
        let (base_id, head_id) = (self.resolve(base)?, self.resolve(head)?);
        self.repo.merge_base(base_id, head_id).map_err(|_| {
            DiffError::MissingHistory(format!(
                "`{base}` and `{head}` have no common ancestor in this repository.{}",
                self.shallow_hint()
            ))
        })
    }

    /// What `path` (from the root) names in `commit`; None when nothing.
    /// Files larger than `max_size` bytes are not read.
    pub fn entry_at(
        &self,
        commit: git2::Oid,
        path: &Path,
        max_size: u64,
    ) -> Result<Option<TreeEntry>, DiffError> {
        let tree = self.repo.find_commit(commit)?.tree()?;
        let entry = match tree.get_path(path) {
            Ok(entry) => entry,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(match entry.kind() {
            Some(git2::ObjectType::Tree) => {
                let folder = self.repo.find_tree(entry.id())?;
                let mut files = Vec::new();
                let mut failed = None;
                folder.walk(git2::TreeWalkMode::PreOrder, |dir, item| {
                    let blob_mode = matches!(
                        item.filemode(),
                        0o100644 | 0o100755 // regular files; not 0o120000 (symlinks)
                    );
                    if let (true, Ok(name)) = (blob_mode, item.name()) {
                        let file = path.join(dir).join(name);
                        match self.blob(item.id(), max_size) {
                            Ok(read) => files.push((file, read)),
                            Err(e) => {
                                failed = Some(e);
                                return git2::TreeWalkResult::Abort;
                            }
                        }
                    }
                    git2::TreeWalkResult::Ok
                })?;
                if let Some(e) = failed {
                    return Err(e);
                }
                files.sort_by(|a, b| a.0.cmp(&b.0));
                TreeEntry::Folder(files)
            }
            Some(git2::ObjectType::Blob) if matches!(entry.filemode(), 0o100644 | 0o100755) => {
                self.blob(entry.id(), max_size)?
            }
            _ => TreeEntry::Other,
        }))
    }

    fn blob(&self, id: git2::Oid, max_size: u64) -> Result<TreeEntry, DiffError> {
        // The header gives the size without inflating a huge object.
        let (size, _) = self.repo.odb()?.read_header(id)?;
        let size = size as u64;
        if size > max_size {
            return Ok(TreeEntry::TooBig(size));
        }
        Ok(TreeEntry::File(self.repo.find_blob(id)?.content().to_vec()))
    }
}

/// How the lines of one version of a file sit in another: the changed runs
/// between them (`git diff -U0` hunks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMap {
    /// (old start, old count, new start, new count), in order.
    hunks: Vec<(usize, usize, usize, usize)>,
}

impl LineMap {
    /// The old version's number of new line `line`; None when the line differs
    /// between the versions.
    pub fn to_old(&self, line: usize) -> Option<usize> {
        let mut shift: isize = 0;
        for &(_, old_count, new_start, new_count) in &self.hunks {
            let past = if new_count == 0 {
                // A deletion sits after line `new_start`.
                line > new_start
            } else if line >= new_start + new_count {
                true
            } else if line >= new_start {
                return None;
            } else {
                false
            };
            if !past {
                break;
            }
            shift += old_count as isize - new_count as isize;
        }
        usize::try_from(line as isize + shift).ok()
    }
}

impl Repo {
    /// How `current` (the file's text here) lines up with `path` in `commit`;
    /// None when the commit or the file is not in the repository.
    pub fn line_map(&self, commit: &str, path: &Path, current: &str) -> Option<LineMap> {
        let old = self.file_at(commit, path)?;
        let mut options = git2::DiffOptions::new();
        options.context_lines(0);
        let patch = git2::Patch::from_buffers(
            old.as_bytes(),
            Some(path),
            current.as_bytes(),
            Some(path),
            Some(&mut options),
        )
        .ok()?;
        let hunks = (0..patch.num_hunks())
            .filter_map(|i| patch.hunk(i).ok())
            .map(|(h, _)| {
                (
                    h.old_start() as usize,
                    h.old_lines() as usize,
                    h.new_start() as usize,
                    h.new_lines() as usize,
                )
            })
            .collect();
        Some(LineMap { hunks })
    }
}

/// Whether tollgate scans files like `path`: Go and Rust sources, Dockerfiles
/// and manifests that name images.
fn checked_kind(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    crate::lang::Language::from_path(path).is_some()
        || crate::policy::sources::is_dockerfile(&name)
        || crate::policy::sources::manifests::kind_of(path).is_some()
}

/// Whether a git error comes from a damaged object store rather than from
/// an object that is simply not there.
fn looks_corrupt(e: &git2::Error) -> bool {
    use git2::{ErrorClass, ErrorCode};
    if matches!(
        e.code(),
        ErrorCode::NotFound | ErrorCode::Ambiguous | ErrorCode::InvalidSpec
    ) {
        return false;
    }
    matches!(
        e.class(),
        ErrorClass::Odb
            | ErrorClass::Object
            | ErrorClass::Zlib
            | ErrorClass::Os
            | ErrorClass::Filesystem
            | ErrorClass::Sha1
            | ErrorClass::Tree
            | ErrorClass::Index
    )
}

/// The folder of a repository from its git folder (`…/repo/.git/`).
fn repository_folder(gitdir: &Path) -> PathBuf {
    let gitdir = gitdir
        .canonicalize()
        .unwrap_or_else(|_| gitdir.to_path_buf());
    match gitdir.file_name() {
        Some(name) if name == ".git" => gitdir.parent().map_or(gitdir.clone(), Path::to_path_buf),
        _ => gitdir,
    }
}

/// Returns true if and only if the CI names `folder` (or a folder above it,
/// other than `/`) as its workspace: `GITHUB_WORKSPACE`, `CI_PROJECT_DIR`
/// (GitLab) or `WORKSPACE` (Jenkins). The CI, not the change, sets these, so
/// a checkout it made for another user may be read.
pub fn ci_workspace_covers(folder: &Path, env: &dyn Fn(&str) -> Option<String>) -> bool {
    ["GITHUB_WORKSPACE", "CI_PROJECT_DIR", "WORKSPACE"]
        .iter()
        .filter_map(|var| env(var))
        .map(PathBuf::from)
        .filter(|ws| ws.is_absolute())
        .map(|ws| ws.canonicalize().unwrap_or(ws))
        // `/` would vouch for every folder.
        .any(|ws| ws.parent().is_some() && folder.starts_with(&ws))
}

/// Lets libgit2 keep trees of any size in a repository's object cache (by
/// default only those under 4 KiB): [`differing_paths`] reads the folders on
/// a change's way, and the diff that follows then finds them there instead
/// of reading and inflating the large ones again.
fn cache_large_trees() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a process-wide libgit2 option, set once before the first
        // repository is opened (every opening goes through `Repo::discover`).
        if let Err(e) =
            unsafe { git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 1 << 20) }
        {
            crate::say!("warning: cannot set git's object cache: {}", e.message());
        }
    });
}

/// Turns off libgit2's owner check for the rest of the process (a global;
/// only called once the CI vouched for the checkout).
fn skip_owner_validation() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a process-wide libgit2 option set before the repository is
        // opened; no other thread opens repositories at this point.
        if let Err(e) = unsafe { git2::opts::set_verify_owner_validation(false) } {
            crate::say!(
                "warning: cannot turn off git's owner check: {}",
                e.message()
            );
        }
    });
}

/// The paths where two trees differ (files, links and submodules; a path
/// that is a file on one side and a folder on the other), reading only the
/// subtrees that differ. libgit2's own tree diff reads every folder of both
/// sides, the same object or not: thousands in a large checkout, most of a
/// small review's git time. `None` if a name is not UTF-8 (the caller then
/// diffs everything). Entries are paired by name whatever their order in the
/// tree object, so that a malformed tree cannot hide a path.
fn differing_paths(
    repo: &git2::Repository,
    old: &git2::Tree<'_>,
    new: &git2::Tree<'_>,
) -> Result<Option<Vec<PathBuf>>, git2::Error> {
    fn by_name<'t>(tree: &'t git2::Tree<'_>) -> Vec<git2::TreeEntry<'t>> {
        let mut entries: Vec<git2::TreeEntry<'t>> = tree.iter().collect();
        entries.sort_by(|a, b| a.name_bytes().cmp(b.name_bytes()));
        entries
    }
    fn walk(
        repo: &git2::Repository,
        old: &git2::Tree<'_>,
        new: &git2::Tree<'_>,
        folder: &Path,
        out: &mut Vec<PathBuf>,
    ) -> Result<bool, git2::Error> {
        let (old, new) = (by_name(old), by_name(new));
        let (mut old, mut new) = (old.iter().peekable(), new.iter().peekable());
        loop {
            let order = match (old.peek(), new.peek()) {
                (None, None) => return Ok(true),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(a), Some(b)) => a.name_bytes().cmp(b.name_bytes()),
            };
            let (a, b) = match order {
                std::cmp::Ordering::Less => (old.next(), None),
                std::cmp::Ordering::Greater => (None, new.next()),
                std::cmp::Ordering::Equal => (old.next(), new.next()),
            };
            let Some(name) = a.or(b).and_then(|e| e.name().ok()) else {
                return Ok(false);
            };
            match (a, b) {
                (Some(a), Some(b)) if a.id() == b.id() && a.filemode() == b.filemode() => {}
                (Some(a), Some(b))
                    if a.kind() == Some(git2::ObjectType::Tree)
                        && b.kind() == Some(git2::ObjectType::Tree) =>
                {
                    let (a, b) = (repo.find_tree(a.id())?, repo.find_tree(b.id())?);
                    if !walk(repo, &a, &b, &folder.join(name), out)? {
                        return Ok(false);
                    }
                }
                _ => out.push(folder.join(name)),
            }
        }
    }
    let mut out = Vec::new();
    Ok(walk(repo, old, new, Path::new(""), &mut out)?.then_some(out))
}

/// The new-side paths of a diff's files, deleted files left out.
fn new_side_paths(diff: &git2::Diff<'_>) -> Vec<PathBuf> {
    diff.deltas()
        .filter(|delta| delta.status() != git2::Delta::Deleted)
        .filter_map(|delta| delta.new_file().path().map(Path::to_path_buf))
        .collect()
}

fn collect(diff: &git2::Diff<'_>, as_text: bool) -> Result<ChangeSet, git2::Error> {
    let changes = RefCell::new(ChangeSet::default());
    let mut file_cb = |delta: git2::DiffDelta<'_>, _: f32| {
        let path = |f: git2::DiffFile<'_>| f.path().map(Path::to_path_buf);
        let mut set = changes.borrow_mut();
        let Some(new_path) = path(delta.new_file()) else {
            return true;
        };
        let status = match delta.status() {
            git2::Delta::Deleted => {
                set.deleted.push(path(delta.old_file()).unwrap_or(new_path));
                return true;
            }
            git2::Delta::Added | git2::Delta::Copied | git2::Delta::Untracked => FileStatus::Added,
            git2::Delta::Renamed => FileStatus::Renamed {
                from: path(delta.old_file()).unwrap_or_default(),
            },
            _ => FileStatus::Modified,
        };
        if !as_text && (delta.flags().is_binary() || delta.new_file().is_binary()) {
            set.binary.push(new_path);
            return true;
        }
        set.files.insert(
            new_path,
            FileChange {
                status,
                added: Vec::new(),
                hunks: Vec::new(),
            },
        );
        true
    };
    let mut binary_cb = |delta: git2::DiffDelta<'_>, _: git2::DiffBinary<'_>| {
        if let (Some(p), false) = (delta.new_file().path(), as_text) {
            let mut set = changes.borrow_mut();
            if set.files.remove(p).is_some() {
                set.binary.push(p.to_path_buf());
            }
        }
        true
    };
    let mut hunk_cb = |delta: git2::DiffDelta<'_>, hunk: git2::DiffHunk<'_>| {
        let (start, lines) = (hunk.new_start() as usize, hunk.new_lines() as usize);
        if let (Some(path), true) = (delta.new_file().path(), lines > 0) {
            if let Some(change) = changes.borrow_mut().files.get_mut(path) {
                change.hunks.push((start, start + lines - 1));
            }
        }
        true
    };
    let mut line_cb =
        |delta: git2::DiffDelta<'_>, _: Option<git2::DiffHunk<'_>>, line: git2::DiffLine<'_>| {
            if line.origin() != '+' {
                return true;
            }
            let (Some(path), Some(number)) = (delta.new_file().path(), line.new_lineno()) else {
                return true;
            };
            let number = number as usize;
            if let Some(change) = changes.borrow_mut().files.get_mut(path) {
                match change.added.last_mut() {
                    Some((_, end)) if *end + 1 == number => *end = number,
                    _ => change.added.push((number, number)),
                }
            }
            true
        };
    diff.foreach(
        &mut file_cb,
        Some(&mut binary_cb),
        Some(&mut hunk_cb),
        Some(&mut line_cb),
    )?;
    let mut set = changes.into_inner();
    set.binary.sort();
    set.deleted.sort();
    Ok(set)
}

/// Paths of the change set as paths below `workdir`.
pub fn absolute(workdir: &Path, repo_relative: &Path) -> PathBuf {
    workdir.join(repo_relative)
}

#[cfg(test)]
mod tests {
    use super::LineMap;

    #[test]
    fn lines_map_across_insertions_deletions_and_changes() {
        // new 1-2 = old 1-2; new 3-5 inserted; new 6 = old 3; old 4 deleted;
        // new 7 = old 5; new 8 changed (old 6); new 9 = old 7.
        let map = LineMap {
            hunks: vec![(2, 0, 3, 3), (4, 1, 6, 0), (6, 1, 8, 1)],
        };
        let mapped: Vec<Option<usize>> = (1..=9).map(|n| map.to_old(n)).collect();
        assert_eq!(
            mapped,
            vec![
                Some(1),
                Some(2),
                None,
                None,
                None,
                Some(3),
                Some(5),
                None,
                Some(7)
            ]
        );
        assert_eq!(LineMap::default().to_old(4), Some(4));
    }
}

#[cfg(test)]
mod safety_tests {
    use super::{ci_workspace_covers, looks_corrupt, ChangeSet, FileChange, FileStatus, Repo};
    use std::path::{Path, PathBuf};

    /// The environment of a job with one variable set.
    fn one(var: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name: &str| (name == var).then(|| value.to_string())
    }

    #[test]
    fn only_a_workspace_the_ci_names_covers_a_foreign_checkout() {
        let repo = Path::new("/nonexistent-ws/build/repo");
        for var in ["GITHUB_WORKSPACE", "CI_PROJECT_DIR", "WORKSPACE"] {
            assert!(ci_workspace_covers(
                repo,
                &one(var, "/nonexistent-ws/build/repo")
            ));
            assert!(ci_workspace_covers(
                repo,
                &one(var, "/nonexistent-ws/build")
            ));
        }
        // elsewhere, relative, the root, or nothing: not covered
        for value in ["/nonexistent-ws/other", "build/repo", "/", ""] {
            assert!(
                !ci_workspace_covers(repo, &one("GITHUB_WORKSPACE", value)),
                "{value:?}"
            );
        }
        assert!(!ci_workspace_covers(repo, &one("HOME", "/nonexistent-ws")));
        // a sibling whose name starts the same is not below it
        assert!(!ci_workspace_covers(
            Path::new("/nonexistent-ws/build/repo2"),
            &one("WORKSPACE", "/nonexistent-ws/build/repo")
        ));
    }

    fn run_git(root: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("// line {i}\n")).collect()
    }

    /// base: a.go, old.go, gone.go, notes.txt and a `.gitattributes` that
    /// makes `notes.txt` binary; head: a.go gains a
    /// line, old.go is renamed to moved.go with a new line, gone.go is
    /// deleted, new.go is added, notes.txt and the NUL-holding img.bin change.
    fn change_repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let put = |name: &str, text: &[u8]| std::fs::write(root.join(name), text).unwrap();
        run_git(root, &["init", "-q", "-b", "main"]);
        put(".gitattributes", b"notes.txt binary\n");
        put("a.go", format!("package p\n{}", numbered(10)).as_bytes());
        put("old.go", format!("package p\n{}", numbered(20)).as_bytes());
        let gone: String = (1..=15).map(|i| format!("var gone{i} = {i}\n")).collect();
        put("gone.go", format!("package gone\n{gone}").as_bytes());
        put("notes.txt", b"notes\n");
        run_git(root, &["add", "-A"]);
        run_git(root, &["commit", "-qm", "base"]);
        put(
            "a.go",
            format!("package p\n{}// new\n", numbered(10)).as_bytes(),
        );
        run_git(root, &["mv", "old.go", "moved.go"]);
        put(
            "moved.go",
            format!("package p\n{}// more\n", numbered(20)).as_bytes(),
        );
        run_git(root, &["rm", "-q", "gone.go"]);
        put("new.go", b"package q\n\nfunc fresh() {}\n");
        put("notes.txt", b"more notes\n");
        put("img.bin", b"\x00\x01\x02");
        run_git(root, &["add", "-A"]);
        run_git(root, &["commit", "-qm", "head"]);
        dir
    }

    fn expected_change() -> ChangeSet {
        let change = |status, added, hunks| FileChange {
            status,
            added: vec![added],
            hunks: vec![hunks],
        };
        let files = [
            ("a.go", change(FileStatus::Modified, (12, 12), (9, 12))),
            ("new.go", change(FileStatus::Added, (1, 3), (1, 3))),
            (
                "moved.go",
                change(
                    FileStatus::Renamed {
                        from: "old.go".into(),
                    },
                    (22, 22),
                    (19, 22),
                ),
            ),
        ];
        ChangeSet {
            files: files
                .into_iter()
                .map(|(p, c)| (PathBuf::from(p), c))
                .collect(),
            binary: vec!["img.bin".into(), "notes.txt".into()],
            deleted: vec!["gone.go".into()],
            base_commit: None,
        }
    }

    #[test]
    fn a_change_of_two_commits_lists_renames_deletions_binaries_and_changed_lines() {
        let dir = change_repo();
        let repo = Repo::discover(dir.path()).unwrap();
        let mut told = Vec::new();
        let mut set = repo
            .change_set_telling("HEAD~1", "HEAD", &mut |files| told.extend_from_slice(files))
            .unwrap();
        assert!(set.base_commit.take().is_some());
        assert_eq!(set, expected_change());
        // Told every file of the new side, deleted ones left out.
        told.sort();
        let expected: Vec<PathBuf> = ["a.go", "img.bin", "moved.go", "new.go", "notes.txt"]
            .into_iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(told, expected);
    }

    /// The index is not read for a diff of two commits: a damaged one (an
    /// interrupted `git add`) does not stop the review, and the working
    /// tree's `.gitattributes` still apply.
    #[test]
    fn a_change_of_two_commits_does_not_read_the_index() {
        let dir = change_repo();
        std::fs::write(dir.path().join(".git/index"), b"DIRC garbage").unwrap();
        let repo = Repo::discover(dir.path()).unwrap();
        let mut set = repo.change_set("HEAD~1", "HEAD").unwrap();
        assert!(set.base_commit.take().is_some());
        assert_eq!(set, expected_change());
    }

    /// base: unchanged and changed files in nested folders, a file that
    /// becomes a folder, a script, a link and a folder that goes; head: one
    /// file changed, one moved to a new folder, a new folder, the script made
    /// executable, the link pointed elsewhere.
    #[cfg(unix)]
    fn nested_repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let put = |name: &str, text: String| {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        run_git(root, &["init", "-q", "-b", "main"]);
        for i in 0..3 {
            put(
                &format!("keep/deep/k{i}.go"),
                format!(
                    "package k
{}",
                    numbered(5 + i)
                ),
            );
        }
        put(
            "src/app/main.go",
            format!(
                "package main
{}",
                numbered(12)
            ),
        );
        put(
            "src/app/same.go",
            format!(
                "package main
{}",
                numbered(3)
            ),
        );
        put(
            "src/lib/old.go",
            format!(
                "package lib
{}",
                numbered(30)
            ),
        );
        put(
            "gone/x.go",
            format!(
                "package gone
{}",
                numbered(4)
            ),
        );
        put("thing", "a file, then a folder\n".into());
        put("tool.sh", "echo hi\n".into());
        std::os::unix::fs::symlink("tool.sh", root.join("link")).unwrap();
        run_git(root, &["add", "-A"]);
        run_git(root, &["commit", "-qm", "base"]);
        put(
            "src/app/main.go",
            format!(
                "package main
{}// new
",
                numbered(12)
            ),
        );
        std::fs::create_dir_all(root.join("src/util")).unwrap();
        run_git(root, &["mv", "src/lib/old.go", "src/util/new.go"]);
        put(
            "src/util/new.go",
            format!(
                "package lib
{}// more
",
                numbered(30)
            ),
        );
        run_git(root, &["rm", "-rq", "gone", "thing"]);
        put(
            "thing/inner.go",
            format!(
                "package thing
{}",
                numbered(2)
            ),
        );
        put(
            "added/pkg/n.go",
            format!(
                "package pkg
{}",
                numbered(2)
            ),
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("tool.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::remove_file(root.join("link")).unwrap();
        std::os::unix::fs::symlink("src/app/main.go", root.join("link")).unwrap();
        run_git(root, &["add", "-A"]);
        run_git(root, &["commit", "-qm", "head"]);
        dir
    }

    #[cfg(unix)]
    #[test]
    fn the_change_read_through_the_differing_folders_only_equals_the_whole_tree_diff() {
        let dir = nested_repo();
        let raw = git2::Repository::open(dir.path()).unwrap();
        let tree = |rev: &str| raw.revparse_single(rev).unwrap().peel_to_tree().unwrap();
        let (old, new) = (tree("HEAD~1"), tree("HEAD"));
        let paths = super::differing_paths(&raw, &old, &new).unwrap().unwrap();
        let expected = [
            "added",
            "gone",
            "link",
            "src/app/main.go",
            "src/lib",
            "src/util",
            "thing",
            "tool.sh",
        ];
        assert_eq!(paths, expected.map(PathBuf::from));

        let mut options = git2::DiffOptions::new();
        options.context_lines(super::CONTEXT_LINES);
        let mut whole = raw
            .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))
            .unwrap();
        whole
            .find_similar(Some(git2::DiffFindOptions::new().renames(true)))
            .unwrap();
        let whole = super::collect(&whole, false).unwrap();
        assert!(whole.files.contains_key(Path::new("added/pkg/n.go")));
        assert!(whole.files.contains_key(Path::new("tool.sh")));
        let mut set = Repo::discover(dir.path())
            .unwrap()
            .change_set("HEAD~1", "HEAD")
            .unwrap();
        set.base_commit = None;
        assert_eq!(set, whole);
    }

    #[test]
    fn damaged_objects_are_told_apart_from_missing_ones() {
        use git2::{Error, ErrorClass, ErrorCode};
        let missing = Error::new(ErrorCode::NotFound, ErrorClass::Odb, "object not found");
        assert!(!looks_corrupt(&missing));
        let spec = Error::new(ErrorCode::InvalidSpec, ErrorClass::Reference, "bad spec");
        assert!(!looks_corrupt(&spec));
        let zlib = Error::new(
            ErrorCode::GenericError,
            ErrorClass::Zlib,
            "failed to inflate",
        );
        assert!(looks_corrupt(&zlib));
        let header = Error::new(
            ErrorCode::GenericError,
            ErrorClass::Object,
            "corrupt header",
        );
        assert!(looks_corrupt(&header));
    }
}
