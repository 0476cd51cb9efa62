//! Writers that turn findings into something people or other tools read.

pub mod codequality;
pub mod file;
pub mod github;
pub mod json;
pub mod sarif;
pub mod terminal;

use std::path::{Component, Path, PathBuf};

/// Turns the paths findings carry (relative to the current folder) into
/// paths relative to the repository root, which is what SARIF, GitLab Code
/// Quality and GitHub annotations expect. Outside a repository, the current
/// folder is the root.
#[derive(Debug, Clone, Default)]
pub struct RepoPaths {
    root: Option<PathBuf>,
    /// The current folder, relative to the root.
    prefix: PathBuf,
}

impl RepoPaths {
    pub fn detect() -> RepoPaths {
        let Ok(cwd) = std::env::current_dir() else {
            return RepoPaths::default();
        };
        let cwd = cwd.canonicalize().unwrap_or(cwd);
        let root = crate::diff::git::Repo::discover(&cwd).ok().and_then(|r| {
            r.workdir()
                .map(|w| w.canonicalize().unwrap_or_else(|_| w.to_path_buf()))
        });
        let prefix = root
            .as_ref()
            .and_then(|r| cwd.strip_prefix(r).ok())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        RepoPaths { root, prefix }
    }

    /// The repository root (the current folder outside a repository).
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The repository-relative form of `path`, with `/` separators.
    pub fn of(&self, path: &Path) -> String {
        let joined = if path.is_absolute() {
            match self.root.as_ref().and_then(|r| path.strip_prefix(r).ok()) {
                Some(rel) => rel.to_path_buf(),
                None => path.to_path_buf(),
            }
        } else {
            self.prefix.join(path)
        };
        // Fold `a/../b` lexically; the paths come from a directory walk.
        let mut parts: Vec<Component<'_>> = Vec::new();
        for part in joined.components() {
            match part {
                Component::CurDir => {}
                Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        json::path_string(&parts.iter().collect::<PathBuf>())
    }
}
