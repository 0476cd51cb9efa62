//! Carries out a review on the pull request: reads what tollgate wrote
//! before, posts one review with the new inline comments, resolves the
//! threads of fixed findings, keeps the one summary comment up to date, and
//! optionally creates a check run.

use super::client::{ApiError, Client, Method};
use super::comments;
use super::context::PullRequest;
use super::patch;
use super::plan::{self, Elsewhere, Existing, FileDiff, Thread};
use super::summary::{self, SummaryInput};
use crate::finding::{Finding, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// GitHub lists at most this many files of a pull request.
const MAX_PR_FILES: usize = 3000;
/// Annotations per check run request.
const ANNOTATION_BATCH: usize = 50;

/// The review event when a new comment is an error.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReviewEvent {
    #[default]
    Comment,
    #[value(name = "request-changes", alias = "request_changes")]
    RequestChanges,
}

/// What to do with the summary comment when a run finds nothing.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnClean {
    /// Keep it, saying there are no findings.
    #[default]
    Keep,
    /// Delete it (and post none).
    Delete,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub event: ReviewEvent,
    pub max_comments: usize,
    pub on_clean: OnClean,
    pub check_run: bool,
    /// Whether the gate fails: the check run's conclusion.
    pub gate_fails: bool,
}

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

/// The files of a pull request with their diff hunks.
#[derive(Debug, Default)]
pub struct PrFiles {
    pub files: BTreeMap<String, FileDiff>,
    /// The same, as a change the diff filters understand.
    pub change: crate::diff::ChangeSet,
    /// What the reader should know: files left out, patches missing.
    pub notes: Vec<String>,
}

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
        out.files.insert(name.to_string(), FileDiff { hunks });
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

/// Who tollgate posts as. A comment counts as tollgate's only when it carries
/// the marker *and* has this author, so a person who copies a marker into
/// their own comment never has it edited, resolved or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A user token (`GET /user` answers): that login.
    Login(String),
    /// An installation token such as `GITHUB_TOKEN` (`GET /user` is refused):
    /// bot accounts (`github-actions[bot]`, `APP[bot]`).
    Bots,
}

impl Identity {
    pub async fn of(client: &Client) -> Identity {
        match client.rest(Method::Get, "/user", None).await {
            Ok(reply) => match reply.body.get("login").and_then(Value::as_str) {
                Some(login) => Identity::Login(login.to_string()),
                None => Identity::Bots,
            },
            Err(_) => Identity::Bots,
        }
    }

    /// Whether `comment` (as the REST API lists it) was written by this identity.
    pub fn wrote(&self, comment: &Value) -> bool {
        let at = |p: &str| comment.pointer(p).and_then(Value::as_str);
        self.is(at("/user/type"), at("/user/login"))
    }

    /// Whether an actor of this type (`User`, `Bot`) and login is this identity.
    fn is(&self, kind: Option<&str>, login: Option<&str>) -> bool {
        match self {
            Identity::Login(me) => login == Some(me.as_str()),
            Identity::Bots => kind == Some("Bot"),
        }
    }
}

/// What happened on the pull request.
#[derive(Debug, Default)]
pub struct Published {
    pub new_comments: usize,
    pub kept: usize,
    pub resolved: usize,
    pub summary: &'static str,
    pub elsewhere: usize,
    pub notes: Vec<String>,
}

pub struct Review<'a> {
    pub client: &'a Client,
    pub pr: &'a PullRequest,
    pub head_sha: &'a str,
    pub server_url: &'a str,
    pub run_url: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub settings: &'a Settings,
}

impl Review<'_> {
    fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.pr.full_name())
    }

    /// Posts. `files` are the PR's files when already fetched; `notes` go to the summary.
    pub async fn publish(
        &self,
        findings: &[Finding],
        files: Option<PrFiles>,
        notes: &[String],
        rule_url: &dyn Fn(&str) -> Option<String>,
        line_text: &dyn Fn(&str, usize) -> Option<String>,
    ) -> Result<Published, ApiError> {
        let mut published = Published::default();
        // Everything there is to read, at once (writes stay one at a time,
        // as GitHub asks, to keep clear of secondary rate limits).
        let review_comments = self.repo_path(&format!("/pulls/{}/comments", self.pr.number));
        let issue_comments = self.repo_path(&format!("/issues/{}/comments", self.pr.number));
        let (me, files, review_listed, issue_listed) = tokio::join!(
            Identity::of(self.client),
            async {
                match files {
                    Some(files) => Ok(files),
                    None => pr_files(self.client, self.pr).await,
                }
            },
            self.client.list(&review_comments, None),
            self.client.list(&issue_comments, None),
        );
        let (mut files, review_listed, issue_listed) = (files?, review_listed?, issue_listed?);
        files.notes.extend(notes.iter().cloned());
        let existing = self
            .existing_comments(&me, &review_listed, &mut published.notes)
            .await?;
        let plan = plan::plan(&plan::Inputs {
            findings,
            files: &files.files,
            existing: &existing,
            max_comments: self.settings.max_comments,
            rule_url,
            line_text,
        });
        let mut elsewhere = plan.elsewhere.clone();
        if !plan.new.is_empty() {
            let refused = self.post_review(findings, &plan.new).await?;
            published.new_comments = plan.new.len() - refused.len();
            elsewhere.extend(refused);
            elsewhere.sort_by_key(|(i, _)| *i);
        }
        for thread in &plan.reopen {
            let mutation =
                "mutation($id:ID!){unresolveReviewThread(input:{threadId:$id}){thread{id}}}";
            if let Err(err) = self.client.graphql(mutation, json!({ "id": thread })).await {
                published
                    .notes
                    .push(format!("could not reopen a review thread: {err}"));
            }
        }
        for (id, body) in &plan.edit {
            self.client
                .rest(
                    Method::Patch,
                    &self.repo_path(&format!("/pulls/comments/{id}")),
                    Some(&json!({ "body": body })),
                )
                .await?;
        }
        for gone in &plan.gone {
            self.mark_fixed(gone, &mut published.notes).await?;
            published.resolved += 1;
        }
        published.kept = plan.kept.len();
        published.elsewhere = elsewhere.len();
        let inline = published.new_comments + published.kept;
        published.summary = self
            .update_summary(
                &me,
                &issue_listed,
                findings,
                inline,
                &elsewhere,
                &files.notes,
            )
            .await?;
        if self.settings.check_run {
            self.check_run(findings).await?;
        }
        Ok(published)
    }

    /// tollgate's earlier top-level review comments, with their threads.
    async fn existing_comments(
        &self,
        me: &Identity,
        listed: &[Value],
        notes: &mut Vec<String>,
    ) -> Result<Vec<Existing>, ApiError> {
        let mut existing: Vec<Existing> = listed
            .iter()
            .filter(|c| c.get("in_reply_to_id").is_none_or(Value::is_null) && me.wrote(c))
            .filter_map(|c| {
                let body = c.get("body")?.as_str()?;
                Some(Existing {
                    id: c.get("id")?.as_u64()?,
                    fingerprint: comments::fingerprint_in(body)?.to_string(),
                    body: body.to_string(),
                    thread: None,
                })
            })
            .collect();
        if existing.is_empty() {
            return Ok(existing);
        }
        match self.threads(me).await {
            Ok(threads) => {
                for comment in &mut existing {
                    comment.thread = threads.get(&comment.id).cloned();
                }
            }
            Err(err) => notes.push(format!(
                "review threads could not be read ({err}): fixed findings are marked in their comments instead of resolved"
            )),
        }
        Ok(existing)
    }

    /// Review threads by the database id of their first comment.
    async fn threads(&self, me: &Identity) -> Result<HashMap<u64, Thread>, ApiError> {
        let query = "query($owner:String!,$name:String!,$number:Int!,$after:String){repository(owner:$owner,name:$name){pullRequest(number:$number){reviewThreads(first:100,after:$after){pageInfo{hasNextPage endCursor} nodes{id isResolved resolvedBy{__typename login} comments(first:1){nodes{databaseId}}}}}}}";
        let mut threads = HashMap::new();
        let mut after = Value::Null;
        for _ in 0..50 {
            let data = self
                .client
                .graphql(
                    query,
                    json!({"owner": self.pr.owner, "name": self.pr.repo, "number": self.pr.number, "after": after}),
                )
                .await?;
            let page = data
                .pointer("/repository/pullRequest/reviewThreads")
                .ok_or_else(|| {
                    ApiError::GraphQl("GraphQL: no reviewThreads in the answer".into())
                })?;
            for node in page
                .get("nodes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let first = node
                    .pointer("/comments/nodes/0/databaseId")
                    .and_then(Value::as_u64);
                let id = node.get("id").and_then(Value::as_str);
                if let (Some(first), Some(id)) = (first, id) {
                    threads.insert(
                        first,
                        Thread {
                            id: id.to_string(),
                            resolved: node
                                .get("isResolved")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                            resolved_by_us: me.is(
                                node.pointer("/resolvedBy/__typename")
                                    .and_then(Value::as_str),
                                node.pointer("/resolvedBy/login").and_then(Value::as_str),
                            ),
                        },
                    );
                }
            }
            match page
                .pointer("/pageInfo/hasNextPage")
                .and_then(Value::as_bool)
            {
                Some(true) => {
                    after = page
                        .pointer("/pageInfo/endCursor")
                        .cloned()
                        .unwrap_or(Value::Null)
                }
                _ => break,
            }
        }
        Ok(threads)
    }

    fn review_comment(comment: &plan::NewComment) -> Value {
        let mut value = json!({
            "path": comment.path,
            "line": comment.line,
            "side": "RIGHT",
            "body": comment.body,
        });
        if let Some(start) = comment.start_line {
            value["start_line"] = json!(start);
            value["start_side"] = json!("RIGHT");
        }
        value
    }

    /// One review with every new comment. If GitHub still refuses it (the
    /// diff changed under us), each comment is posted alone and the refused
    /// ones are returned, to go to the summary.
    async fn post_review(
        &self,
        findings: &[Finding],
        new: &[plan::NewComment],
    ) -> Result<Vec<(usize, Elsewhere)>, ApiError> {
        let errors = new
            .iter()
            .filter(|c| findings[c.finding].severity == Severity::Error)
            .count();
        let event = match self.settings.event {
            ReviewEvent::RequestChanges if errors > 0 => "REQUEST_CHANGES",
            _ => "COMMENT",
        };
        let body = format!(
            "**tollgate** found {} in this commit{}. The summary comment keeps the whole picture.\n\n<!-- tollgate:review -->",
            if new.len() == 1 { "1 new issue".to_string() } else { format!("{} new issues", new.len()) },
            if errors > 0 { format!(" ({errors} blocking)") } else { String::new() }
        );
        let path = self.repo_path(&format!("/pulls/{}/reviews", self.pr.number));
        let review = |event: &str| {
            json!({
                "commit_id": self.head_sha,
                "event": event,
                "body": body,
                "comments": new.iter().map(Self::review_comment).collect::<Vec<_>>(),
            })
        };
        let first = self
            .client
            .rest(Method::Post, &path, Some(&review(event)))
            .await;
        let err = match first {
            Ok(_) => return Ok(Vec::new()),
            Err(err) => err,
        };
        if err.status() != Some(422) {
            return Err(err);
        }
        // GitHub refuses REQUEST_CHANGES on one's own pull request.
        if event == "REQUEST_CHANGES"
            && self
                .client
                .rest(Method::Post, &path, Some(&review("COMMENT")))
                .await
                .is_ok()
        {
            return Ok(Vec::new());
        }
        eprintln!("note: GitHub refused the review ({err}); posting its comments one by one");
        let mut refused = Vec::new();
        let single = self.repo_path(&format!("/pulls/{}/comments", self.pr.number));
        for comment in new {
            let mut value = Self::review_comment(comment);
            value["commit_id"] = json!(self.head_sha);
            match self.client.rest(Method::Post, &single, Some(&value)).await {
                Ok(_) => {}
                Err(e) if e.status() == Some(422) => {
                    refused.push((comment.finding, Elsewhere::Refused(e.message().to_string())))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(refused)
    }

    /// Resolves the thread of a fixed finding or, when that cannot be done,
    /// says so in the comment.
    async fn mark_fixed(&self, gone: &Existing, notes: &mut Vec<String>) -> Result<(), ApiError> {
        if let Some(thread) = &gone.thread {
            let mutation = "mutation($id:ID!){resolveReviewThread(input:{threadId:$id}){thread{id isResolved}}}";
            match self
                .client
                .graphql(mutation, json!({ "id": thread.id }))
                .await
            {
                Ok(_) => return Ok(()),
                Err(err) => notes.push(format!(
                    "could not resolve a review thread ({err}): marked fixed in its comment"
                )),
            }
        }
        let body = comments::fixed_body(&gone.body, self.head_sha);
        self.client
            .rest(
                Method::Patch,
                &self.repo_path(&format!("/pulls/comments/{}", gone.id)),
                Some(&json!({ "body": body })),
            )
            .await?;
        Ok(())
    }

    /// Creates, edits (only when its text changes) or deletes the summary comment.
    async fn update_summary(
        &self,
        me: &Identity,
        listed: &[Value],
        findings: &[Finding],
        inline: usize,
        elsewhere: &[(usize, Elsewhere)],
        notes: &[String],
    ) -> Result<&'static str, ApiError> {
        let current = listed.iter().find_map(|c| {
            let body = c.get("body")?.as_str()?;
            (comments::is_summary(body) && me.wrote(c))
                .then(|| (c.get("id").and_then(Value::as_u64), body.to_string()))
        });
        if findings.is_empty() && self.settings.on_clean == OnClean::Delete {
            return match current {
                Some((Some(id), _)) => {
                    self.client
                        .rest(
                            Method::Delete,
                            &self.repo_path(&format!("/issues/comments/{id}")),
                            None,
                        )
                        .await?;
                    Ok("deleted")
                }
                _ => Ok("none"),
            };
        }
        let body = summary::render(&SummaryInput {
            findings,
            inline,
            elsewhere,
            repository: &self.pr.full_name(),
            head_sha: self.head_sha,
            server_url: self.server_url,
            run_url: self.run_url,
            environment: self.environment,
            notes,
        });
        match current {
            Some((_, old)) if old == body => Ok("unchanged"),
            Some((Some(id), _)) => {
                self.client
                    .rest(
                        Method::Patch,
                        &self.repo_path(&format!("/issues/comments/{id}")),
                        Some(&json!({ "body": body })),
                    )
                    .await?;
                Ok("updated")
            }
            _ => {
                self.client
                    .rest(
                        Method::Post,
                        &self.repo_path(&format!("/issues/{}/comments", self.pr.number)),
                        Some(&json!({ "body": body })),
                    )
                    .await?;
                Ok("created")
            }
        }
    }

    /// A completed check run; annotations go 50 per request, as GitHub allows.
    async fn check_run(&self, findings: &[Finding]) -> Result<(), ApiError> {
        let annotations: Vec<Value> = findings
            .iter()
            .map(|f| {
                let mut a = json!({
                    "path": crate::report::json::path_string(&f.path),
                    "start_line": f.start.line,
                    "end_line": f.end.line.max(f.start.line),
                    "annotation_level": match f.severity {
                        Severity::Error => "failure",
                        Severity::Warning => "warning",
                        Severity::Info => "notice",
                    },
                    "title": f.rule,
                    "message": f.message.chars().take(4000).collect::<String>(),
                });
                if f.start.line == f.end.line {
                    a["start_column"] = json!(f.start.column);
                    a["end_column"] = json!(f.end.column);
                }
                a
            })
            .collect();
        let title = if findings.is_empty() {
            "No findings".to_string()
        } else {
            format!(
                "{} finding{}",
                findings.len(),
                if findings.len() == 1 { "" } else { "s" }
            )
        };
        let output = |batch: &[Value]| json!({ "title": title, "summary": format!("tollgate: {title} on {}", self.head_sha), "annotations": batch });
        let mut batches = annotations.chunks(ANNOTATION_BATCH);
        let first = batches.next().unwrap_or(&[]);
        let created = self
            .client
            .rest(
                Method::Post,
                &self.repo_path("/check-runs"),
                Some(&json!({
                    "name": "tollgate",
                    "head_sha": self.head_sha,
                    "status": "completed",
                    "conclusion": if self.settings.gate_fails { "failure" } else { "success" },
                    "output": output(first),
                })),
            )
            .await?;
        let id = created.body.get("id").and_then(Value::as_u64).unwrap_or(0);
        for batch in batches {
            self.client
                .rest(
                    Method::Patch,
                    &self.repo_path(&format!("/check-runs/{id}")),
                    Some(&json!({ "output": output(batch) })),
                )
                .await?;
        }
        Ok(())
    }
}
