//! Where a configuration file may point: its rule paths stay inside the
//! repository (or the configuration's folder outside one), so a pull request
//! cannot make tollgate read `/etc`, `~/.git-credentials` or `/dev/zero`.
//! Paths named on the command line are not checked: the command line is trusted.

use std::path::{Component, Path, PathBuf};

/// The folder a configuration in `config_dir` may point into: the
/// repository's working tree, else `config_dir` itself (canonical).
pub fn root_of(config_dir: &Path) -> PathBuf {
    let dir = config_dir
        .canonicalize()
        .unwrap_or_else(|_| config_dir.to_path_buf());
    crate::diff::git::Repo::discover(&dir)
        .ok()
        .and_then(|repo| repo.workdir().and_then(|w| w.canonicalize().ok()))
        .unwrap_or(dir)
}

/// `path` (relative to `config_dir`) lies inside `root`, following symlinks.
/// A path that does not exist yet is checked by its components.
pub fn check_on_disk(root: &Path, config_dir: &Path, path: &Path) -> Result<(), String> {
    let outside = || {
        format!(
            "`{}` is outside the repository: expected a path inside {}, relative to the configuration file (name other rule folders with --rules)",
            path.display(),
            root.display()
        )
    };
    if path.is_absolute() {
        return Err(outside());
    }
    let joined = config_dir.join(path);
    let resolved = match joined.canonicalize() {
        Ok(resolved) => resolved,
        Err(_) => {
            let dir = config_dir
                .canonicalize()
                .unwrap_or_else(|_| config_dir.to_path_buf());
            normalize(&dir.join(path)).ok_or_else(outside)?
        }
    };
    if resolved.starts_with(root) {
        Ok(())
    } else {
        Err(outside())
    }
}

/// `path` (relative to `config_dir`, both inside a git tree) as a path from
/// the tree's root, when it does not leave the tree.
pub fn in_tree(config_dir: &Path, path: &Path) -> Result<PathBuf, String> {
    let outside = || {
        format!(
            "`{}` is outside the repository: expected a path inside it, relative to the configuration file",
            path.display()
        )
    };
    if path.is_absolute() {
        return Err(outside());
    }
    let joined = normalize(&config_dir.join(path)).ok_or_else(outside)?;
    if joined.is_absolute()
        || joined
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(outside());
    }
    Ok(joined)
}

/// Resolves `.` and `..` by their names; None when `..` climbs above the start.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("rules")).unwrap();
        assert!(check_on_disk(&root, &root, Path::new("rules")).is_ok());
        assert!(check_on_disk(&root, &root, Path::new("rules/../rules/new")).is_ok());
        assert!(check_on_disk(&root, &root, Path::new("/etc")).is_err());
        assert!(check_on_disk(&root, &root, Path::new("../outside")).is_err());
        assert!(check_on_disk(&root, &root, Path::new("rules/../../x")).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
            assert!(check_on_disk(&root, &root, Path::new("link")).is_err());
        }
    }

    #[test]
    fn tree_paths_are_normalized_and_stay_in_the_tree() {
        assert_eq!(
            in_tree(Path::new("ci"), Path::new("../rules/./x.yml")).unwrap(),
            PathBuf::from("rules/x.yml")
        );
        assert!(in_tree(Path::new(""), Path::new("../x")).is_err());
        assert!(in_tree(Path::new(""), Path::new("/etc")).is_err());
    }
}
