//! The change under review: which files a change touched and which of their
//! lines it added or modified, and the filter modes that keep only the
//! findings a reviewer should see (as reviewdog's `-filter-mode`).

pub mod git;

use crate::finding::Finding;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a file changed between the merge base and the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    Added,
    Modified,
    /// Renamed (possibly with edits); findings go on the new path.
    Renamed {
        from: PathBuf,
    },
}

/// One changed file (deleted and binary files are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub status: FileStatus,
    /// New-side lines (1-based, inclusive ranges) that the change added or modified.
    pub added: Vec<(usize, usize)>,
    /// New-side line ranges of the diff hunks, context lines included.
    pub hunks: Vec<(usize, usize)>,
}

/// The files of a change, by repository-relative path (new side).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub files: BTreeMap<PathBuf, FileChange>,
    /// Binary files the change touched: not scanned.
    pub binary: Vec<PathBuf>,
    /// Deleted files: nothing to scan.
    pub deleted: Vec<PathBuf>,
    /// The merge base the change is measured from.
    pub base_commit: Option<String>,
}

/// Which findings of a change to keep.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FilterMode {
    /// Findings that touch an added or modified line.
    Added,
    /// Findings within the diff hunks, context lines included.
    #[value(name = "diff_context", alias = "diff-context")]
    DiffContext,
    /// Findings anywhere in a changed file.
    File,
    /// No filtering.
    All,
}

fn overlaps(ranges: &[(usize, usize)], start: usize, end: usize) -> bool {
    ranges.iter().any(|(a, b)| start <= *b && end >= *a)
}

impl ChangeSet {
    /// Returns true if and only if `finding` (whose path is relative to the
    /// repository root) is kept under `mode`. A finding spanning several
    /// lines counts when any of its lines qualifies.
    pub fn keeps(&self, mode: FilterMode, path: &Path, finding: &Finding) -> bool {
        let (start, end) = (finding.start.line, finding.end.line.max(finding.start.line));
        self.keeps_lines(mode, path, start, end)
    }

    /// Whether `filter` keeps lines `start..=end` of `path` (relative to the working tree).
    pub fn keeps_lines(&self, mode: FilterMode, path: &Path, start: usize, end: usize) -> bool {
        if mode == FilterMode::All {
            return true;
        }
        let Some(change) = self.files.get(path) else {
            return false;
        };
        match mode {
            FilterMode::Added => overlaps(&change.added, start, end),
            FilterMode::DiffContext => overlaps(&change.hunks, start, end),
            FilterMode::File | FilterMode::All => true,
        }
    }
}
