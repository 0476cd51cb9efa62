//! The one neutral `Finding` type that every stage speaks: rules and image
//! policies produce it; filters, reports and forges consume it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// How serious a finding is. Ordered so that `Error > Warning > Info`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub const NAMES: &'static [&'static str] = &["error", "warning", "info"];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 1-based line and column position. Columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A suggested replacement of the text between `start` and `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub start: Position,
    pub end: Position,
    pub replacement: String,
    /// Lines `start.line..=end.line` as they read after the fix: what a
    /// review `suggestion` block holds, which replaces whole lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_lines: Option<String>,
}

/// One result of a check: a rule match or an image policy denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule or policy id, e.g. `go/unclosed-file`.
    pub rule: String,
    pub severity: Severity,
    /// Path as given to the scanner (relative to the current directory when possible).
    pub path: PathBuf,
    pub start: Position,
    pub end: Position,
    pub message: String,
    /// Stable identity of the finding; see [`crate::fingerprint`].
    pub fingerprint: String,
    pub fix: Option<Fix>,
    /// The matched source text, used for fingerprints and suggestions.
    #[serde(skip)]
    pub snippet: String,
    /// Set when an inline `tollgate-ignore` comment silences this finding.
    #[serde(skip)]
    pub suppressed: bool,
}
