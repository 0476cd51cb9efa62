//! GitHub as a [`Forge`]: review comments posted as one review, review
//! threads resolved through GraphQL, the summary as an issue comment.

use super::client::{ApiError, Client, Method};
use super::context::PullRequest;
use super::files::pr_files;
use super::identity::Identity;
use crate::finding::{Finding, Severity};
use crate::review::comments::Markers;
use crate::review::forge::{ChangedFiles, Dialect, Earlier, Forge, ForgeError};
use crate::review::plan::{Elsewhere, Existing, FileDiff, NewComment, Thread};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// How GitHub writes what the core renders.
pub const DIALECT: Dialect = Dialect {
    forge: "GitHub",
    change: "pull request",
    change_abbr: "PR",
    change_ref: "PR #",
    // GitHub refuses comment bodies longer than this.
    max_body: 65_536,
    suggestion: |_, _| "suggestion".to_string(),
    web_infix: "",
    mark_resolved_fixed: false,
};

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

impl From<ApiError> for ForgeError {
    fn from(err: ApiError) -> ForgeError {
        ForgeError {
            status: err.status(),
            message: err.message().to_string(),
            detail: err.to_string(),
        }
    }
}

/// One pull request on GitHub, as the review core's forge.
pub struct GitHub<'a> {
    pub client: &'a Client,
    pub pr: &'a PullRequest,
    pub head_sha: &'a str,
    /// `https://github.com` or a GitHub Enterprise Server.
    pub server_url: &'a str,
    pub event: ReviewEvent,
    /// The review's name (`tollgate`, `tollgate (api)`), for the review body.
    pub name: String,
}

impl GitHub<'_> {
    fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.pr.full_name())
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

    fn review_comment(comment: &NewComment) -> Value {
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

    async fn graphql_thread(&self, mutation: &str, thread: &Thread) -> Result<(), ForgeError> {
        self.client
            .graphql(mutation, json!({ "id": thread.id }))
            .await?;
        Ok(())
    }
}

impl Forge for GitHub<'_> {
    fn dialect(&self) -> &Dialect {
        &DIALECT
    }

    fn project_url(&self) -> String {
        format!("{}/{}", self.server_url, self.pr.full_name())
    }

    async fn files(&self) -> Result<ChangedFiles, ForgeError> {
        Ok(pr_files(self.client, self.pr).await?)
    }

    /// tollgate's earlier top-level review comments, with their threads, and
    /// its summary comment.
    async fn earlier(
        &self,
        markers: &Markers,
        notes: &mut Vec<String>,
    ) -> Result<Earlier, ForgeError> {
        let review_comments = self.repo_path(&format!("/pulls/{}/comments", self.pr.number));
        let issue_comments = self.repo_path(&format!("/issues/{}/comments", self.pr.number));
        let (me, review_listed, issue_listed) = tokio::join!(
            Identity::of(self.client),
            self.client.list(&review_comments, None),
            self.client.list(&issue_comments, None),
        );
        let (review_listed, issue_listed) = (review_listed?, issue_listed?);
        let summary = issue_listed.iter().find_map(|c| {
            let body = c.get("body")?.as_str()?;
            (markers.is_summary(body) && me.wrote(c))
                .then(|| Some((c.get("id")?.as_u64()?, body.to_string())))
                .flatten()
        });
        let mut comments: Vec<Existing> = review_listed
            .iter()
            .filter(|c| c.get("in_reply_to_id").is_none_or(Value::is_null) && me.wrote(c))
            .filter_map(|c| {
                let body = c.get("body")?.as_str()?;
                Some(Existing {
                    id: c.get("id")?.as_u64()?,
                    fingerprint: markers.fingerprint_in(body)?.to_string(),
                    body: body.to_string(),
                    thread: None,
                })
            })
            .collect();
        if !comments.is_empty() {
            match self.threads(&me).await {
                Ok(threads) => {
                    for comment in &mut comments {
                        comment.thread = threads.get(&comment.id).cloned();
                    }
                }
                Err(err) => notes.push(format!(
                    "review threads could not be read ({err}): fixed findings are marked in their comments instead of resolved"
                )),
            }
        }
        Ok(Earlier { comments, summary })
    }

    /// One review with every new comment. If GitHub still refuses it (the
    /// diff changed under us), each comment is posted alone and the refused
    /// ones are returned, to go to the summary.
    async fn post(
        &self,
        findings: &[Finding],
        new: &[NewComment],
        _files: &BTreeMap<String, FileDiff>,
    ) -> Result<Vec<(usize, Elsewhere)>, ForgeError> {
        let errors = new
            .iter()
            .filter(|c| findings[c.finding].severity == Severity::Error)
            .count();
        let event = match self.event {
            ReviewEvent::RequestChanges if errors > 0 => "REQUEST_CHANGES",
            _ => "COMMENT",
        };
        let body = format!(
            "**{}** found {} in this commit{}. The summary comment keeps the whole picture.",
            self.name,
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
            return Err(err.into());
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
                Err(e) => return Err(e.into()),
            }
        }
        Ok(refused)
    }

    async fn edit(&self, comment: &Existing, body: &str) -> Result<(), ForgeError> {
        self.client
            .rest(
                Method::Patch,
                &self.repo_path(&format!("/pulls/comments/{}", comment.id)),
                Some(&json!({ "body": body })),
            )
            .await?;
        Ok(())
    }

    async fn resolve(&self, thread: &Thread) -> Result<(), ForgeError> {
        self.graphql_thread(
            "mutation($id:ID!){resolveReviewThread(input:{threadId:$id}){thread{id isResolved}}}",
            thread,
        )
        .await
    }

    async fn reopen(&self, thread: &Thread) -> Result<(), ForgeError> {
        self.graphql_thread(
            "mutation($id:ID!){unresolveReviewThread(input:{threadId:$id}){thread{id}}}",
            thread,
        )
        .await
    }

    async fn create_summary(&self, body: &str) -> Result<(), ForgeError> {
        self.client
            .rest(
                Method::Post,
                &self.repo_path(&format!("/issues/{}/comments", self.pr.number)),
                Some(&json!({ "body": body })),
            )
            .await?;
        Ok(())
    }

    async fn edit_summary(&self, id: u64, body: &str) -> Result<(), ForgeError> {
        self.client
            .rest(
                Method::Patch,
                &self.repo_path(&format!("/issues/comments/{id}")),
                Some(&json!({ "body": body })),
            )
            .await?;
        Ok(())
    }

    async fn delete_summary(&self, id: u64) -> Result<(), ForgeError> {
        self.client
            .rest(
                Method::Delete,
                &self.repo_path(&format!("/issues/comments/{id}")),
                None,
            )
            .await?;
        Ok(())
    }
}
