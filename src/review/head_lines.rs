//! Comments are anchored to the pull request's head commit, but the scan
//! reads the working tree, which may hold another commit (the test merge
//! commit `actions/checkout` picks by default on `pull_request`). When the
//! head is in the repository, findings move to the head's line numbers
//! wherever those lines are unchanged between the two, and anchors are checked
//! against the head's own text; lines that differ stay off the diff.

use crate::diff::git::Repo;
use crate::finding::Finding;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where the text of a line comes from: the working tree, or the PR head.
pub struct Sources {
    root: PathBuf,
    /// Set when the checked-out commit is not the head but the head is here.
    head: Option<(Repo, String)>,
    lines: RefCell<HashMap<String, Option<Vec<String>>>>,
}

/// How the checked-out commit relates to the PR head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// The head itself, or no git repository to tell.
    Head,
    /// Another commit; the head is in the repository.
    Other { commit: String },
    /// Another commit, and the head is not in the repository.
    OtherWithoutHead { commit: String },
}

impl Sources {
    /// `root` is the repository root (the working tree's files are under it).
    pub fn new(root: &Path, head_sha: &str) -> (Sources, Checkout) {
        let mut sources = Sources {
            root: root.to_path_buf(),
            head: None,
            lines: RefCell::new(HashMap::new()),
        };
        let Ok(repo) = Repo::discover(root) else {
            return (sources, Checkout::Head);
        };
        let Ok(checked_out) = repo.head() else {
            return (sources, Checkout::Head);
        };
        let commit = checked_out.to_string();
        if head_sha.is_empty() || commit == head_sha {
            return (sources, Checkout::Head);
        }
        if repo.resolve(head_sha).is_err() {
            return (sources, Checkout::OtherWithoutHead { commit });
        }
        sources.head = Some((repo, head_sha.to_string()));
        (sources, Checkout::Other { commit })
    }

    /// Moves findings (paths repository-relative) to the head's line numbers
    /// where the lines are the same there. A fix whose lines moved apart loses
    /// its suggestion text.
    pub fn move_to_head(&self, findings: &mut [Finding]) {
        let Some((repo, head)) = &self.head else {
            return;
        };
        let mut maps = HashMap::new();
        for finding in findings {
            let path = finding.path.clone();
            let map = maps.entry(path.clone()).or_insert_with(|| {
                let current = std::fs::read_to_string(self.root.join(&path)).ok()?;
                repo.line_map(head, &path, &current)
            });
            let Some(map) = map.as_ref() else { continue };
            let Some(start) = map.to_old(finding.start.line) else {
                continue;
            };
            finding.end.line = map.to_old(finding.end.line).unwrap_or(start).max(start);
            finding.start.line = start;
            if let Some(fix) = finding.fix.as_mut() {
                match (map.to_old(fix.start.line), map.to_old(fix.end.line)) {
                    (Some(from), Some(to)) if from <= to => {
                        fix.start.line = from;
                        fix.end.line = to;
                    }
                    _ => fix.new_lines = None,
                }
            }
        }
    }

    /// The text of `line` of `path`: at the head when the scan read another
    /// commit, else in the working tree.
    pub fn line(&self, path: &str, line: usize) -> Option<String> {
        let mut cache = self.lines.borrow_mut();
        let lines = cache.entry(path.to_string()).or_insert_with(|| {
            let text = match &self.head {
                Some((repo, head)) => repo.file_at(head, Path::new(path)),
                None => std::fs::read_to_string(self.root.join(path)).ok(),
            };
            text.map(|t| t.lines().map(str::to_string).collect())
        });
        lines.as_ref()?.get(line.checked_sub(1)?).cloned()
    }
}
