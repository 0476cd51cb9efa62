//! GitLab as a [`Forge`]: merge request discussions on diff positions GitLab
//! accepts (checked against the hunks before anything is sent), one summary
//! note, and threads resolved and reopened through the discussions API.

use super::client::Client;
use super::context::MergeRequest;
use super::diffs::{self, Version};
use crate::finding::Finding;
use crate::review::comments::Markers;
use crate::review::forge::{ChangedFiles, Dialect, Earlier, Forge, ForgeError};
use crate::review::plan::{Elsewhere, Existing, FileDiff, NewComment, Thread};
use gitlab::api::projects::merge_requests::discussions::{
    CreateMergeRequestDiscussion, MergeRequestDiscussions, Position, TextPosition,
};
use gitlab::api::projects::merge_requests::notes::{
    CreateMergeRequestNote, EditMergeRequestNote, MergeRequestNotes,
};
use gitlab::api::{projects::Project, users::CurrentUser};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// GitLab suggestions are relative to the commented line; the core anchors
/// a multi-line comment on its last line.
fn suggestion(start: usize, end: usize) -> String {
    format!("suggestion:-{}+0", end.saturating_sub(start))
}

/// How GitLab writes what the core renders.
pub const DIALECT: Dialect = Dialect {
    forge: "GitLab",
    change: "merge request",
    change_abbr: "MR",
    change_ref: "MR !",
    // GitLab refuses notes longer than this.
    max_body: 1_000_000,
    suggestion,
    web_infix: "/-",
    // A resolved discussion shows its text, not why: say "fixed" in it.
    mark_resolved_fixed: true,
};

#[derive(Debug, Deserialize)]
struct User {
    id: u64,
}

#[derive(Debug, Deserialize)]
struct Note {
    id: u64,
    #[serde(default)]
    body: String,
    author: User,
    #[serde(default)]
    system: bool,
    #[serde(default)]
    resolved: bool,
    #[serde(default)]
    resolved_by: Option<User>,
    /// `DiffNote` for a note on a diff line.
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Discussion {
    id: String,
    #[serde(default)]
    notes: Vec<Note>,
}

#[derive(Debug, Deserialize)]
struct WebUrl {
    web_url: String,
}

/// One merge request on GitLab, with the version its comments anchor to.
pub struct GitLab {
    client: Client,
    mr: MergeRequest,
    version: Version,
    /// The project's web page, for links.
    web_url: String,
}

impl GitLab {
    /// Reads the MR's latest version (and, without `CI_PROJECT_URL`, the
    /// project's web URL): the head and positions come from GitLab, not from
    /// the commit the pipeline built.
    pub async fn connect(client: Client, mr: MergeRequest) -> Result<GitLab, ForgeError> {
        let version = diffs::latest_version(&client, &mr).await?;
        let web_url = match &mr.project_url {
            Some(url) => url.clone(),
            None => {
                let endpoint = Project::builder()
                    .project(mr.project_ref())
                    .build()
                    .map_err(|e| local_error(&e))?;
                let project: WebUrl = client.query(endpoint).await?;
                project.web_url.trim_end_matches('/').to_string()
            }
        };
        Ok(GitLab {
            client,
            mr,
            version,
            web_url,
        })
    }

    /// The MR's latest version: its head is what findings must be mapped to.
    pub fn version(&self) -> &Version {
        &self.version
    }

    pub fn head_sha(&self) -> &str {
        &self.version.head_commit_sha
    }

    pub fn merge_request(&self) -> &MergeRequest {
        &self.mr
    }

    /// The position of a comment on new-side `line`, or why there is none:
    /// an added line gets `new_line` only, an unchanged one both numbers.
    fn position<'a>(
        &'a self,
        path: &'a str,
        line: usize,
        file: &'a FileDiff,
    ) -> Result<Position<'a>, Elsewhere> {
        let hunks = file.hunks.as_ref().ok_or(Elsewhere::NoPatch)?;
        let hunk = hunks
            .iter()
            .find(|h| h.text(line).is_some())
            .ok_or(Elsewhere::NotInDiff)?;
        let old_line = if hunk.added.contains(&line) {
            None
        } else {
            Some(hunk.old_line(line).ok_or(Elsewhere::NotInDiff)?)
        };
        let mut text = TextPosition::builder();
        text.new_path(path)
            .old_path(file.old_path.as_deref().unwrap_or(path))
            .new_line(line as u64);
        if let Some(old) = old_line {
            text.old_line(old as u64);
        }
        let text = text
            .build()
            .map_err(|e| Elsewhere::Refused(e.to_string()))?;
        Position::builder()
            .base_sha(self.version.base_commit_sha.as_str())
            .start_sha(self.version.start_commit_sha.as_str())
            .head_sha(self.version.head_commit_sha.as_str())
            .text_position(text)
            .build()
            .map_err(|e| Elsewhere::Refused(e.to_string()))
    }

    async fn me(&self) -> Result<u64, ForgeError> {
        let endpoint = CurrentUser::builder()
            .build()
            .map_err(|e| local_error(&e))?;
        let user: User = self.client.query(endpoint).await?;
        Ok(user.id)
    }

    /// A PUT or DELETE the crate has no endpoint for, on a path below the MR.
    async fn write(
        &self,
        method: http::Method,
        rest: &str,
        query: &[(&str, &str)],
    ) -> Result<(), ForgeError> {
        let path = format!("{}/{rest}", self.mr.mr_path());
        self.client.raw(method, &path, query).await.map(|_| ())
    }

    async fn set_resolved(&self, thread: &Thread, resolved: bool) -> Result<(), ForgeError> {
        let value = if resolved { "true" } else { "false" };
        self.write(
            http::Method::PUT,
            &format!("discussions/{}", path_part(&thread.id)),
            &[("resolved", value)],
        )
        .await
    }

    async fn edit_note(&self, id: u64, body: &str) -> Result<(), ForgeError> {
        let endpoint = EditMergeRequestNote::builder()
            .project(self.mr.project_ref())
            .merge_request(self.mr.iid)
            .note(id)
            .body(body)
            .build()
            .map_err(|e| local_error(&e))?;
        self.client.query::<Value, _>(endpoint).await.map(|_| ())
    }
}

/// A discussion id as one path segment (GitLab's are hex, but the value came over the wire).
fn path_part(id: &str) -> String {
    gitlab::api::common::path_escaped(id).to_string()
}

/// A request the crate would not build (a bug here, not GitLab's answer).
fn local_error(error: &dyn std::error::Error) -> ForgeError {
    super::client::forge_error("building a GitLab request", None, error.to_string())
}

impl Forge for GitLab {
    fn dialect(&self) -> &Dialect {
        &DIALECT
    }

    fn project_url(&self) -> String {
        self.web_url.clone()
    }

    async fn files(&self) -> Result<ChangedFiles, ForgeError> {
        let entries = diffs::diff_entries(&self.client, &self.mr).await?;
        Ok(diffs::changed_files(&entries))
    }

    async fn earlier(
        &self,
        markers: &Markers,
        _notes: &mut Vec<String>,
    ) -> Result<Earlier, ForgeError> {
        let me = self.me().await?;
        let discussions_endpoint = MergeRequestDiscussions::builder()
            .project(self.mr.project_ref())
            .merge_request(self.mr.iid)
            .build()
            .map_err(|e| local_error(&e))?;
        let notes_endpoint = MergeRequestNotes::builder()
            .project(self.mr.project_ref())
            .merge_request(self.mr.iid)
            .build()
            .map_err(|e| local_error(&e))?;
        let (discussions, notes) = tokio::join!(
            self.client.list::<Discussion, _>(discussions_endpoint),
            self.client.list::<Note, _>(notes_endpoint),
        );
        let mut earlier = Earlier::default();
        for discussion in discussions? {
            // Ours only if the thread's first note is by this token's user and
            // carries this review's marker: a pasted marker counts for nothing.
            let Some(first) = discussion.notes.first() else {
                continue;
            };
            if first.author.id != me || first.system {
                continue;
            }
            let Some(fingerprint) = markers.fingerprint_in(&first.body) else {
                continue;
            };
            earlier.comments.push(Existing {
                id: first.id,
                fingerprint: fingerprint.to_string(),
                body: first.body.clone(),
                thread: Some(Thread {
                    id: discussion.id.clone(),
                    resolved: first.resolved,
                    resolved_by_us: first.resolved_by.as_ref().is_some_and(|u| u.id == me),
                }),
            });
        }
        earlier.summary = notes?
            .into_iter()
            .filter(|n| n.author.id == me && !n.system && n.kind.as_deref() != Some("DiffNote"))
            .find(|n| markers.is_summary(&n.body))
            .map(|n| (n.id, n.body));
        Ok(earlier)
    }

    async fn post(
        &self,
        _findings: &[Finding],
        new: &[NewComment],
        files: &BTreeMap<String, FileDiff>,
    ) -> Result<Vec<(usize, Elsewhere)>, ForgeError> {
        let mut refused = Vec::new();
        for comment in new {
            // Never a guessed line: a comment off the diff is not sent.
            let position = match files
                .get(&comment.path)
                .ok_or(Elsewhere::NotInDiff)
                .and_then(|file| self.position(&comment.path, comment.line, file))
            {
                Ok(position) => position,
                Err(why) => {
                    refused.push((comment.finding, why));
                    continue;
                }
            };
            let endpoint = CreateMergeRequestDiscussion::builder()
                .project(self.mr.project_ref())
                .merge_request(self.mr.iid)
                .body(comment.body.as_str())
                .position(position)
                .build()
                .map_err(|e| local_error(&e))?;
            match self.client.query::<Value, _>(endpoint).await {
                Ok(_) => {}
                // GitLab refused this position (`line_code` …): the finding goes
                // to the summary, and the other comments are still posted.
                Err(err) if err.status == Some(400) => {
                    crate::say!("note: {err}");
                    refused.push((comment.finding, Elsewhere::Refused(err.message)));
                }
                Err(err) => return Err(err),
            }
        }
        Ok(refused)
    }

    async fn edit(&self, comment: &Existing, body: &str) -> Result<(), ForgeError> {
        self.edit_note(comment.id, body).await
    }

    async fn resolve(&self, thread: &Thread) -> Result<(), ForgeError> {
        self.set_resolved(thread, true).await
    }

    async fn reopen(&self, thread: &Thread) -> Result<(), ForgeError> {
        self.set_resolved(thread, false).await
    }

    async fn create_summary(&self, body: &str) -> Result<(), ForgeError> {
        let endpoint = CreateMergeRequestNote::builder()
            .project(self.mr.project_ref())
            .merge_request(self.mr.iid)
            .body(body)
            .build()
            .map_err(|e| local_error(&e))?;
        self.client.query::<Value, _>(endpoint).await.map(|_| ())
    }

    async fn edit_summary(&self, id: u64, body: &str) -> Result<(), ForgeError> {
        self.edit_note(id, body).await
    }

    async fn delete_summary(&self, id: u64) -> Result<(), ForgeError> {
        self.write(http::Method::DELETE, &format!("notes/{id}"), &[])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_count_back_from_the_commented_line() {
        assert_eq!((DIALECT.suggestion)(12, 12), "suggestion:-0+0");
        assert_eq!((DIALECT.suggestion)(10, 13), "suggestion:-3+0");
    }

    #[test]
    fn link_paths_cannot_end_the_link() {
        assert_eq!(path_part("ab/../c"), "ab%2F..%2Fc");
    }
}
