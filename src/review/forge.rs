//! What a forge (GitHub, GitLab) does for a review, and nothing more: the
//! review core decides what to post, keep, resolve, reopen and summarise;
//! a forge only reads and writes its own wire format.

use super::comments::Markers;
use super::plan::{Elsewhere, Existing, FileDiff, NewComment, Thread};
use crate::finding::Finding;
use std::collections::BTreeMap;

/// A forge's answer that is not a success, in neutral form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeError {
    /// The HTTP status, when the forge answered at all.
    pub status: Option<u16>,
    /// The forge's own words (its `message`), for notes that quote it.
    pub message: String,
    /// The whole story for the log: method, path, status, message, hint.
    pub detail: String,
}

impl std::fmt::Display for ForgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ForgeError {}

/// The files of a change as the forge diffs them: what comments may anchor on.
#[derive(Debug, Default)]
pub struct ChangedFiles {
    /// By new path, repository-relative with `/`.
    pub files: BTreeMap<String, FileDiff>,
    /// The same, as a change the diff filters understand.
    pub change: crate::diff::ChangeSet,
    /// What the reader should know: files left out, diffs missing.
    pub notes: Vec<String>,
}

/// What tollgate wrote on an earlier run, written by this token's own user
/// and carrying this review's markers (a pasted marker counts for nothing).
#[derive(Debug, Default)]
pub struct Earlier {
    /// Inline comments (the first note of each thread), with their threads.
    pub comments: Vec<Existing>,
    /// The summary comment: its id and body.
    pub summary: Option<(u64, String)>,
}

/// How a forge writes what the core renders.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// "GitHub", "GitLab": in notes and summaries.
    pub forge: &'static str,
    /// "pull request", "merge request".
    pub change: &'static str,
    /// "PR", "MR": the change request, short.
    pub change_abbr: &'static str,
    /// "PR #", "MR !": the prefix before the number.
    pub change_ref: &'static str,
    /// The longest comment body the forge accepts, in bytes.
    pub max_body: usize,
    /// The info string of a suggestion block that replaces lines
    /// `start..=end` from a comment anchored on `end` (GitHub: `suggestion`;
    /// GitLab: `suggestion:-N+0`).
    pub suggestion: fn(start: usize, end: usize) -> String,
    /// What comes between the project's web URL and `/blob/…` or
    /// `/commit/…`: "" on GitHub, "/-" on GitLab.
    pub web_infix: &'static str,
    /// A resolved thread's first comment is also edited to say it was
    /// fixed (GitLab shows a resolved thread's text, not why).
    pub mark_resolved_fixed: bool,
}

/// The few things a forge implements. Every method talks to one change
/// request (pull or merge request) the forge value was built for.
#[allow(async_fn_in_trait)]
pub trait Forge {
    fn dialect(&self) -> &Dialect;

    /// The project's web page (`https://github.com/acme/app`), for links.
    fn project_url(&self) -> String;

    /// The change's files with their diff hunks, as the forge shows them.
    async fn files(&self) -> Result<ChangedFiles, ForgeError>;

    /// tollgate's earlier comments and summary on the change. Threads that
    /// cannot be read are a note (fixed findings are then marked, not resolved).
    async fn earlier(
        &self,
        markers: &Markers,
        notes: &mut Vec<String>,
    ) -> Result<Earlier, ForgeError>;

    /// Posts the new inline comments. Returns those the forge refused (by
    /// finding index, with its reason), which the core lists in the summary.
    async fn post(
        &self,
        findings: &[Finding],
        new: &[NewComment],
        files: &BTreeMap<String, FileDiff>,
    ) -> Result<Vec<(usize, Elsewhere)>, ForgeError>;

    /// Replaces the body of an earlier inline comment.
    async fn edit(&self, comment: &Existing, body: &str) -> Result<(), ForgeError>;

    /// Resolves the thread of an earlier comment.
    async fn resolve(&self, thread: &Thread) -> Result<(), ForgeError>;

    /// Reopens a thread tollgate resolved earlier.
    async fn reopen(&self, thread: &Thread) -> Result<(), ForgeError>;

    /// Creates the summary comment.
    async fn create_summary(&self, body: &str) -> Result<(), ForgeError>;

    /// Replaces the summary comment's body.
    async fn edit_summary(&self, id: u64, body: &str) -> Result<(), ForgeError>;

    /// Deletes the summary comment.
    async fn delete_summary(&self, id: u64) -> Result<(), ForgeError>;
}

/// An error and its sources as one line, each text once: HTTP clients'
/// messages often quote their source, which a plain join would repeat
/// ("client error (Connect): client error (Connect): …").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !reason.contains(&text) {
            reason = format!("{reason}: {text}");
        }
        source = inner.source();
    }
    reason
}
