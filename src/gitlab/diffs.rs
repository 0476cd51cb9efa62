//! The merge request as GitLab diffs it: its latest version (the three SHAs
//! every diff position names) and its files with their hunks, from the MR
//! diffs API (paged by `x-next-page`).

use super::client::Client;
use super::context::MergeRequest;
use crate::diff::{FileChange, FileStatus};
use crate::review::forge::{ChangedFiles, ForgeError};
use crate::review::patch;
use crate::review::plan::FileDiff;
use serde::Deserialize;
use std::path::PathBuf;

/// Pages of the diffs listing, 100 files each.
const MAX_PAGES: usize = 100;

/// An MR version: the commits a diff position must name, as GitLab has them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Version {
    pub base_commit_sha: String,
    pub start_commit_sha: String,
    pub head_commit_sha: String,
}

/// The newest version of the merge request (`GET …/versions` lists newest first).
pub async fn latest_version(client: &Client, mr: &MergeRequest) -> Result<Version, ForgeError> {
    let path = format!("{}/versions", mr.mr_path());
    let response = client
        .raw(http::Method::GET, &path, &[("per_page", "1")])
        .await?;
    let versions: Vec<Version> = serde_json::from_slice(response.body()).map_err(|e| {
        super::client::forge_error(
            &format!("GET {path}"),
            None,
            format!("unexpected answer: {e}"),
        )
    })?;
    versions.into_iter().next().ok_or_else(|| {
        super::client::forge_error(
            &format!("GET {path}"),
            None,
            format!(
                "GitLab lists no diff version of MR !{} yet (its diff is still being prepared): run the job again",
                mr.iid
            ),
        )
    })
}

/// One entry of `GET …/merge_requests/:iid/diffs`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DiffEntry {
    #[serde(default)]
    pub diff: String,
    pub new_path: String,
    pub old_path: String,
    #[serde(default)]
    pub new_file: bool,
    #[serde(default)]
    pub renamed_file: bool,
    #[serde(default)]
    pub deleted_file: bool,
    #[serde(default)]
    pub too_large: Option<bool>,
    #[serde(default)]
    pub collapsed: Option<bool>,
    #[serde(default)]
    pub a_mode: Option<String>,
    #[serde(default)]
    pub b_mode: Option<String>,
}

/// Every diff entry, following `x-next-page` until GitLab leaves it empty.
pub async fn diff_entries(
    client: &Client,
    mr: &MergeRequest,
) -> Result<Vec<DiffEntry>, ForgeError> {
    let path = format!("{}/diffs", mr.mr_path());
    let mut entries = Vec::new();
    let mut page = "1".to_string();
    for _ in 0..MAX_PAGES {
        let response = client
            .raw(
                http::Method::GET,
                &path,
                &[("per_page", "100"), ("page", &page)],
            )
            .await?;
        let listed: Vec<DiffEntry> = serde_json::from_slice(response.body()).map_err(|e| {
            super::client::forge_error(
                &format!("GET {path}"),
                None,
                format!("unexpected answer: {e}"),
            )
        })?;
        entries.extend(listed);
        let next = response
            .headers()
            .get("x-next-page")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        match next {
            Some(next) if next != page => page = next.to_string(),
            _ => return Ok(entries),
        }
    }
    Ok(entries)
}

/// The files of the merge request with their hunks, as the review anchors on them.
pub fn changed_files(entries: &[DiffEntry]) -> ChangedFiles {
    let mut out = ChangedFiles::default();
    let mut no_diff = Vec::new();
    for entry in entries {
        let name = entry.new_path.as_str();
        if entry.deleted_file {
            out.change.deleted.push(name.into());
            continue;
        }
        let skipped = entry.too_large == Some(true) || entry.collapsed == Some(true);
        let binary = entry.diff.starts_with("Binary files ");
        // A pure rename or a mode change has an empty diff: nothing to comment on.
        let nothing_changed =
            entry.diff.is_empty() && (entry.renamed_file || entry.a_mode != entry.b_mode);
        let hunks = if skipped || binary || (entry.diff.is_empty() && !nothing_changed) {
            no_diff.push(name.to_string());
            None
        } else {
            match patch::parse(&entry.diff) {
                Ok(hunks) => Some(hunks),
                Err(err) => {
                    out.notes
                        .push(format!("{name}: GitLab's diff could not be read ({err})"));
                    None
                }
            }
        };
        let status = if entry.renamed_file {
            FileStatus::Renamed {
                from: PathBuf::from(&entry.old_path),
            }
        } else if entry.new_file {
            FileStatus::Added
        } else {
            FileStatus::Modified
        };
        // Without a diff the changed lines are unknown: the whole file counts.
        let change = match &hunks {
            Some(hunks) => patch::file_change(hunks, status),
            None => FileChange {
                status,
                added: vec![(1, usize::MAX)],
                hunks: vec![(1, usize::MAX)],
            },
        };
        out.change.files.insert(name.into(), change);
        out.files.insert(
            name.to_string(),
            FileDiff {
                hunks,
                old_path: entry.renamed_file.then(|| entry.old_path.clone()),
            },
        );
    }
    if !no_diff.is_empty() {
        out.notes.push(format!(
            "GitLab shows no diff for {} (binary, too large or collapsed): findings there are listed here, not commented inline: {}",
            if no_diff.len() == 1 {
                "1 file".to_string()
            } else {
                format!("{} files", no_diff.len())
            },
            no_diff.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(new_path: &str, diff: &str) -> DiffEntry {
        DiffEntry {
            diff: diff.into(),
            new_path: new_path.into(),
            old_path: new_path.into(),
            a_mode: Some("100644".into()),
            b_mode: Some("100644".into()),
            ..DiffEntry::default()
        }
    }

    #[test]
    fn renames_deletions_and_missing_diffs_are_told_apart() {
        let mut renamed = entry("new.go", "@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
        renamed.old_path = "old.go".into();
        renamed.renamed_file = true;
        let mut deleted = entry("gone.go", "@@ -1 +0,0 @@\n-x\n");
        deleted.deleted_file = true;
        let mut large = entry("big.go", "");
        large.too_large = Some(true);
        let mut collapsed = entry("gen.go", "");
        collapsed.collapsed = Some(true);
        let mut moved = entry("moved.go", "");
        moved.old_path = "was.go".into();
        moved.renamed_file = true;
        let files = changed_files(&[renamed, deleted, large, collapsed, moved]);
        let new = &files.files["new.go"];
        assert_eq!(new.old_path.as_deref(), Some("old.go"));
        assert_eq!(new.hunks.as_ref().unwrap()[0].added, vec![2]);
        assert_eq!(
            files.change.files[&PathBuf::from("new.go")].status,
            FileStatus::Renamed {
                from: "old.go".into()
            }
        );
        assert_eq!(files.change.deleted, vec![PathBuf::from("gone.go")]);
        assert!(!files.files.contains_key("gone.go"));
        assert!(files.files["big.go"].hunks.is_none() && files.files["gen.go"].hunks.is_none());
        assert_eq!(files.files["moved.go"].hunks.as_deref(), Some(&[][..]));
        assert_eq!(files.notes.len(), 1);
        assert!(
            files.notes[0].contains("2 files") && files.notes[0].contains("big.go, gen.go"),
            "{:?}",
            files.notes
        );
    }
}
