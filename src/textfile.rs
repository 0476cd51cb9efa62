//! Reading a text file that the change under review may have planted: only a
//! regular file is opened (never a FIFO, which would block, nor a device such
//! as `/dev/zero`, which never ends), and never more than a cap, even when
//! the file grows while it is read.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// A folder, FIFO, socket, device or symbolic link (what it is).
    NotRegular(&'static str),
    /// Larger than the cap: (bytes seen, the cap).
    TooLarge(u64, usize),
    /// Not UTF-8 from this byte on.
    NotUtf8(usize),
    Io(std::io::ErrorKind),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular(kind) => write!(f, "{kind}, not a regular file"),
            ReadError::TooLarge(len, cap) => write!(
                f,
                "over the size limit of {cap} bytes ({len} bytes or more)"
            ),
            ReadError::NotUtf8(at) => write!(f, "not valid UTF-8 (at byte {at})"),
            ReadError::Io(kind) => write!(f, "cannot read: {kind}"),
        }
    }
}

/// Reads `path` when it is a regular file of at most `cap` bytes. With
/// `follow`, a symbolic link named here is followed (a path the user named);
/// without, it is refused.
pub fn read(path: &Path, cap: usize, follow: bool) -> Result<String, ReadError> {
    let meta = if follow {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    }
    .map_err(|e| ReadError::Io(e.kind()))?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind(&meta)));
    }
    if meta.len() > cap as u64 {
        return Err(ReadError::TooLarge(meta.len(), cap));
    }
    let file = std::fs::File::open(path).map_err(|e| ReadError::Io(e.kind()))?;
    // The path may have been swapped since the check: look at what was opened.
    let opened = file.metadata().map_err(|e| ReadError::Io(e.kind()))?;
    if !opened.is_file() {
        return Err(ReadError::NotRegular(kind(&opened)));
    }
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(e.kind()))?;
    if bytes.len() > cap {
        return Err(ReadError::TooLarge(bytes.len() as u64, cap));
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8(e.utf8_error().valid_up_to()))
}

/// What a file that is not a regular file is, for messages.
pub fn kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yml");
        std::fs::write(&file, "id: x\n").unwrap();
        assert_eq!(read(&file, 100, false).unwrap(), "id: x\n");
        assert_eq!(read(&file, 3, false), Err(ReadError::TooLarge(6, 3)));
        let link = dir.path().join("link.yml");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(
            read(&link, 100, false),
            Err(ReadError::NotRegular("a symbolic link"))
        );
        assert!(read(&link, 100, true).is_ok());
        assert_eq!(
            read(dir.path(), 100, true),
            Err(ReadError::NotRegular("a folder"))
        );
        assert_eq!(
            read(Path::new("/dev/zero"), 100, true),
            Err(ReadError::NotRegular("a device"))
        );
        std::fs::write(&file, b"ok\xff").unwrap();
        assert_eq!(read(&file, 100, false), Err(ReadError::NotUtf8(2)));
    }
}
