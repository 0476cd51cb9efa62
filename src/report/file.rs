//! Where report files may be written, and how. A report path can come from
//! the pull request itself (`reports:` in `.tollgate.yml`), and the working
//! tree holds whatever the pull request committed, symbolic links included:
//! so every report lands inside one folder (the working tree, or an explicit
//! `--output-dir`), a symbolic link or anything but a regular file at the
//! target is refused, and the file is written whole to a temporary file
//! beside it and renamed into place, never written through a link.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// The folder every report must land in.
#[derive(Debug, Clone)]
pub struct OutputRoot {
    /// Canonical.
    root: PathBuf,
    /// Named with `--output-dir` (else the working tree).
    explicit: bool,
}

impl OutputRoot {
    /// `--output-dir` when given (created if missing), else the working tree:
    /// the repository root, or the current folder outside a repository.
    pub fn new(output_dir: Option<&Path>, repo_root: Option<&Path>) -> io::Result<OutputRoot> {
        let (root, explicit) = match output_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                (dir.to_path_buf(), true)
            }
            None => match repo_root {
                Some(root) => (root.to_path_buf(), false),
                None => (std::env::current_dir()?, false),
            },
        };
        Ok(OutputRoot {
            root: root.canonicalize()?,
            explicit,
        })
    }

    /// The absolute place of `path` (relative to the current folder), if it
    /// lies inside the root once `.` and `..` are folded and the links of the
    /// folders that exist are followed.
    pub fn place(&self, path: &Path) -> Result<PathBuf, String> {
        let absolute = std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(path);
        let folded = fold(&absolute);
        let outside = || {
            format!(
                "it lies outside {} ({}): report paths stay inside it{}",
                if self.explicit {
                    "the --output-dir"
                } else {
                    "the working tree"
                },
                self.root.display(),
                if self.explicit {
                    ""
                } else {
                    "; give --output-dir DIR to write elsewhere"
                }
            )
        };
        let name = folded.file_name().ok_or_else(outside)?;
        let parent = folded.parent().ok_or_else(outside)?;
        // The deepest folder that exists decides where the rest is created.
        let mut existing = parent;
        while !existing.exists() {
            existing = existing.parent().ok_or_else(outside)?;
        }
        let real = existing.canonicalize().map_err(|e| e.to_string())?;
        if !real.starts_with(&self.root) {
            return Err(outside());
        }
        let rest = parent.strip_prefix(existing).unwrap_or(Path::new(""));
        Ok(real.join(rest).join(name))
    }
}

/// `path` with `.` and `..` folded away, without touching the disk.
fn fold(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Writes a report to `path` (from [`OutputRoot::place`]): refuses a link or
/// a non-regular file there, writes a temporary file in the same folder and
/// renames it into place.
pub fn write_new(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err("a symbolic link is in its place: refusing to write through it".into())
        }
        Ok(meta) if !meta.is_file() => {
            return Err("something other than a regular file is in its place".into())
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.to_string()),
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(|e| e.to_string())?;
    let mut temp = tempfile::Builder::new()
        .prefix(".tollgate-")
        .tempfile_in(folder)
        .map_err(|e| e.to_string())?;
    {
        let mut out = io::BufWriter::new(temp.as_file_mut());
        write(&mut out).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Reports are read by later steps, possibly as another user.
        let _ = temp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    // A rename replaces the directory entry; it never follows a link.
    temp.persist(path).map_err(|e| e.error.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = OutputRoot::new(None, Some(dir.path())).unwrap();
        let inside = root.place(&dir.path().join("out/../r.json")).unwrap();
        assert_eq!(inside, dir.path().canonicalize().unwrap().join("r.json"));
        assert!(root.place(&dir.path().join("../r.json")).is_err());
        assert!(root.place(Path::new("/etc/r.json")).is_err());
        #[cfg(unix)]
        {
            let away = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(away.path(), dir.path().join("link")).unwrap();
            let err = root.place(&dir.path().join("link/new/r.json")).unwrap_err();
            assert!(err.contains("outside the working tree"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_and_special_files_are_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("r.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = write_new(&link, |w| w.write_all(b"{}")).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        std::fs::create_dir(dir.path().join("d")).unwrap();
        assert!(write_new(&dir.path().join("d"), |w| w.write_all(b"{}"))
            .unwrap_err()
            .contains("regular file"));
        let plain = dir.path().join("ok.json");
        write_new(&plain, |w| w.write_all(b"{}")).unwrap();
        write_new(&plain, |w| w.write_all(b"[]")).unwrap();
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "[]");
    }
}
