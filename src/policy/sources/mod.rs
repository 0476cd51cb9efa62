//! Where image references stand in files, each with its exact line.

pub mod dockerfile;
pub mod manifests;

/// One image reference found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMention {
    /// The reference with variables substituted.
    pub image: String,
    /// 1-based line and column of the reference in the file.
    pub line: usize,
    pub column: usize,
    /// Set when a variable in the reference has no value: the reference is
    /// reported as unresolvable, never as allowed.
    pub unresolved: Option<String>,
}

/// A file that could not be read as its kind: 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub line: usize,
    pub message: String,
}

/// Refuses a reference longer than [`crate::policy::reference::MAX_LENGTH`]
/// (Docker's own limits are far lower), naming its line.
pub fn check_lengths(mentions: &[ImageMention]) -> Result<(), SourceError> {
    let max = crate::policy::reference::MAX_LENGTH;
    match mentions.iter().find(|m| m.image.len() > max) {
        Some(m) => Err(SourceError {
            line: m.line,
            message: format!(
                "an image reference of {} bytes: expected at most {max} bytes",
                m.image.len()
            ),
        }),
        None => Ok(()),
    }
}

/// Returns true if and only if `name` is a Dockerfile by its name.
pub fn is_dockerfile(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
}
