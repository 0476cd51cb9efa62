//! Carries out a review on the pull request: reads what tollgate wrote
//! before, posts one review with the new inline comments, resolves the
//! threads of fixed findings, keeps the one summary comment up to date, and
//! optionally creates a check run.

use super::checks;
use super::client::{ApiError, Client, Method};
use super::context::PullRequest;
use super::files::{pr_files, PrFiles};
use super::identity::Identity;
use crate::finding::{Finding, Severity};
use crate::review::comments;
use crate::review::plan::{self, Elsewhere, Existing, Thread};
use crate::review::summary::{self, SummaryInput};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

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
    /// The hidden markers of this review (its `--id`).
    pub markers: comments::Markers,
    pub event: ReviewEvent,
    pub max_comments: usize,
    pub on_clean: OnClean,
    pub check_run: bool,
    /// Whether the gate fails: the check run's conclusion.
    pub gate_fails: bool,
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

/// What the summary says beyond the findings.
struct SummaryParts<'a> {
    /// Findings commented inline (new or earlier).
    inline: usize,
    elsewhere: &'a [(usize, Elsewhere)],
    notes: &'a [String],
    /// Short fingerprints of findings that have had an inline comment.
    posted: &'a BTreeSet<String>,
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
        let summary = issue_listed.iter().find_map(|c| {
            let body = c.get("body")?.as_str()?;
            (self.settings.markers.is_summary(body) && me.wrote(c))
                .then(|| (c.get("id").and_then(Value::as_u64), body.to_string()))
        });
        // Posted before, and no comment of ours carries it now: someone deleted it.
        let mut dismissed = summary
            .as_ref()
            .map(|(_, body)| self.settings.markers.posted_in(body))
            .unwrap_or_default();
        for comment in &existing {
            dismissed.remove(comments::short(&comment.fingerprint));
        }
        let plan = plan::plan(&plan::Inputs {
            findings,
            files: &files.files,
            existing: &existing,
            max_comments: self.settings.max_comments,
            markers: &self.settings.markers,
            dismissed: &dismissed,
            rule_url,
            line_text,
        });
        let mut elsewhere = plan.elsewhere.clone();
        let mut posted: BTreeSet<String> = plan
            .kept
            .iter()
            .chain(plan.new.iter().map(|c| &c.finding))
            .chain(
                elsewhere
                    .iter()
                    .filter(|(_, why)| *why == Elsewhere::Dismissed)
                    .map(|(i, _)| i),
            )
            .map(|i| comments::short(&findings[*i].fingerprint).to_string())
            .collect();
        if !plan.new.is_empty() {
            let refused = self.post_review(findings, &plan.new).await?;
            published.new_comments = plan.new.len() - refused.len();
            for (i, _) in &refused {
                posted.remove(comments::short(&findings[*i].fingerprint));
            }
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
                summary,
                findings,
                SummaryParts {
                    inline,
                    elsewhere: &elsewhere,
                    notes: &files.notes,
                    posted: &posted,
                },
            )
            .await?;
        if self.settings.check_run {
            let created = checks::create(
                self.client,
                &self.repo_path(""),
                &self.settings.markers.name(),
                self.head_sha,
                findings,
                self.settings.gate_fails,
            )
            .await;
            match created {
                Ok(()) => {}
                // The comments are posted; only the check run is not allowed.
                Err(err) if err.status() == Some(403) => published.notes.push(format!(
                    "no check run: {err}; give the job `checks: write` (a personal token cannot create check runs)"
                )),
                Err(err) => return Err(err),
            }
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
                    fingerprint: self.settings.markers.fingerprint_in(body)?.to_string(),
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
            "**{}** found {} in this commit{}. The summary comment keeps the whole picture.",
            self.settings.markers.name(),
            if new.len() == 1 {
                "1 new issue".to_string()
            } else {
                format!("{} new issues", new.len())
            },
            if errors > 0 {
                format!(" ({errors} blocking)")
            } else {
                String::new()
            }
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
        crate::say!("note: GitHub refused the review ({err}); posting its comments one by one");
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
        let body = comments::fixed_body(&self.settings.markers, &gone.body, self.head_sha);
        self.client
            .rest(
                Method::Patch,
                &self.repo_path(&format!("/pulls/comments/{}", gone.id)),
                Some(&json!({ "body": body })),
            )
            .await?;
        Ok(())
    }

    /// Creates, edits (only when its text changes) or deletes the summary
    /// comment; `current` is tollgate's summary on the PR (id and body), if any.
    async fn update_summary(
        &self,
        current: Option<(Option<u64>, String)>,
        findings: &[Finding],
        parts: SummaryParts<'_>,
    ) -> Result<&'static str, ApiError> {
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
            inline: parts.inline,
            elsewhere: parts.elsewhere,
            repository: &self.pr.full_name(),
            head_sha: self.head_sha,
            server_url: self.server_url,
            run_url: self.run_url,
            environment: self.environment,
            notes: parts.notes,
            posted: parts.posted,
            markers: &self.settings.markers,
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
}
