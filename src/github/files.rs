//! The pull request as GitHub describes it: its head and base, and its files
//! with their diff hunks (the PR files API, paged, at most 3000 files).

use super::client::{ApiError, Client, Method};
use super::context::PullRequest;
use crate::review::patch;
use crate::review::plan::FileDiff;
use serde_json::Value;

/// GitHub lists at most this many files of a pull request.
const MAX_PR_FILES: usize = 3000;

/// The pull request as GitHub describes it.
#[derive(Debug, Clone)]
pub struct PullInfo {
    pub head_sha: String,
    pub base_sha: String,
}

pub async fn pull_info(client: &Client, pr: &PullRequest) -> Result<PullInfo, ApiError> {
    let reply = client
        .rest(
            Method::Get,
            &format!("/repos/{}/pulls/{}", pr.full_name(), pr.number),
            None,
        )
        .await?;
    let sha = |pointer: &str| {
        reply
            .body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(PullInfo {
        head_sha: sha("/head/sha"),
        base_sha: sha("/base/sha"),
    })
}

/// The open pull request whose head is `branch` of `head_repository` and
/// holds `sha`: how the privileged half of the fork pattern learns which pull
/// request a run was for from GitHub, never from the run's own report.
pub async fn pull_for_commit(
    client: &Client,
    pr: &PullRequest,
    sha: &str,
    head_repository: Option<&str>,
    branch: Option<&str>,
) -> Result<Option<u64>, ApiError> {
    let pulls = client
        .list(
            &format!("/repos/{}/commits/{sha}/pulls", pr.full_name()),
            Some(10),
        )
        .await?;
    let text = |pull: &Value, pointer: &str| {
        pull.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut found = pulls.iter().filter(|pull| {
        text(pull, "/state").as_deref() == Some("open")
            && head_repository
                .is_none_or(|r| text(pull, "/head/repo/full_name").as_deref() == Some(r))
            && branch.is_none_or(|b| text(pull, "/head/ref").as_deref() == Some(b))
    });
    let first = found
        .next()
        .and_then(|p| p.get("number"))
        .and_then(Value::as_u64);
    // Two open pull requests from one branch cannot be told apart: post on neither.
    Ok(if found.next().is_some() { None } else { first })
}

/// The files of a pull request with their diff hunks.
pub type PrFiles = crate::review::forge::ChangedFiles;

pub async fn pr_files(client: &Client, pr: &PullRequest) -> Result<PrFiles, ApiError> {
    let path = format!("/repos/{}/pulls/{}/files", pr.full_name(), pr.number);
    let entries = client.list(&path, Some(MAX_PR_FILES / 100)).await?;
    let mut out = PrFiles::default();
    let mut no_patch = Vec::new();
    for entry in &entries {
        let Some(name) = entry.get("filename").and_then(Value::as_str) else {
            continue;
        };
        let status = entry
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("modified");
        if status == "removed" {
            out.change.deleted.push(name.into());
            continue;
        }
        let hunks = match entry.get("patch").and_then(Value::as_str) {
            Some(text) => match patch::parse(text) {
                Ok(hunks) => Some(hunks),
                Err(err) => {
                    out.notes
                        .push(format!("{name}: GitHub's patch could not be read ({err})"));
                    None
                }
            },
            None => {
                no_patch.push(name.to_string());
                None
            }
        };
        let file_status = match entry.get("previous_filename").and_then(Value::as_str) {
            Some(from) if status == "renamed" => {
                crate::diff::FileStatus::Renamed { from: from.into() }
            }
            _ if status == "added" => crate::diff::FileStatus::Added,
            _ => crate::diff::FileStatus::Modified,
        };
        let old_path = match &file_status {
            crate::diff::FileStatus::Renamed { from } => Some(from.to_string_lossy().into_owned()),
            _ => None,
        };
        // Without a patch the changed lines are unknown: the whole file counts.
        let change = match &hunks {
            Some(hunks) => patch::file_change(hunks, file_status),
            None => crate::diff::FileChange {
                status: file_status,
                added: vec![(1, usize::MAX)],
                hunks: vec![(1, usize::MAX)],
            },
        };
        out.change.files.insert(name.into(), change);
        out.files
            .insert(name.to_string(), FileDiff { hunks, old_path });
    }
    if entries.len() >= MAX_PR_FILES {
        out.notes.push(format!(
            "GitHub lists at most {MAX_PR_FILES} files of a pull request; files past that were not reviewed here. Check out with `fetch-depth: 0` so tollgate reads the change from git."
        ));
    }
    if !no_patch.is_empty() {
        out.notes.push(format!(
            "GitHub shows no diff for {} (binary or too large): findings there are listed here, not commented inline: {}",
            if no_patch.len() == 1 { "1 file".to_string() } else { format!("{} files", no_patch.len()) },
            no_patch.join(", ")
        ));
    }
    Ok(out)
}
