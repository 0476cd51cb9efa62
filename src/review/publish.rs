//! Carries out a review on a change request through a [`Forge`]: reads what
//! tollgate wrote before, posts the new inline comments, resolves the
//! threads of fixed findings, reopens those that came back, and keeps the
//! one summary comment up to date.

use super::comments::{self, Markers};
use super::forge::{ChangedFiles, Forge, ForgeError};
use super::plan::{self, Elsewhere, Existing};
use super::summary::{self, Outcome, SummaryInput};
use crate::finding::Finding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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

/// How this review posts, whatever the forge.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The hidden markers of this review (its `--id`).
    pub markers: Markers,
    pub max_comments: usize,
    pub on_clean: OnClean,
}

/// What happened on the change request.
#[derive(Debug, Default)]
pub struct Published {
    pub new_comments: usize,
    pub kept: usize,
    pub resolved: usize,
    pub summary: &'static str,
    pub elsewhere: usize,
    pub notes: Vec<String>,
    /// The gate's outcome the earlier summary recorded: None without one
    /// (a first run, or a summary from before outcomes were recorded).
    pub previous_outcome: Option<Outcome>,
}

/// What the summary says beyond the findings.
struct SummaryParts<'a> {
    /// Findings commented inline (new or earlier).
    inline: usize,
    elsewhere: &'a [(usize, Elsewhere)],
    notes: &'a [String],
    /// Short fingerprints of findings that have had an inline comment.
    posted: &'a BTreeSet<String>,
    outcome: Outcome,
}

/// One review: where it goes and what surrounds the findings.
pub struct Review<'a, F: Forge> {
    pub forge: &'a F,
    pub head_sha: &'a str,
    /// The CI run: what the CI calls it and its URL.
    pub run: Option<(&'a str, &'a str)>,
    pub environment: Option<&'a str>,
    pub settings: &'a Settings,
}

/// What the comments need besides the findings.
pub struct Inputs<'a> {
    /// Paths repository-relative, with `/`.
    pub findings: &'a [Finding],
    /// The change's files when already read from the forge.
    pub files: Option<ChangedFiles>,
    /// For the summary.
    pub notes: &'a [String],
    pub rule_url: &'a dyn Fn(&str) -> Option<String>,
    /// The text the scan saw on a line, when known.
    pub line_text: &'a dyn Fn(&str, usize) -> Option<String>,
    /// Whether the gate passed, recorded in the summary.
    pub outcome: Outcome,
}

impl<F: Forge> Review<'_, F> {
    pub async fn publish(&self, inputs: Inputs<'_>) -> Result<Published, ForgeError> {
        let findings = inputs.findings;
        let markers = &self.settings.markers;
        let mut published = Published::default();
        // Everything there is to read, at once; writes stay one at a time.
        let (files, earlier) = tokio::join!(
            async {
                match inputs.files {
                    Some(files) => Ok(files),
                    None => self.forge.files().await,
                }
            },
            async {
                let mut notes = Vec::new();
                let earlier = self.forge.earlier(markers, &mut notes).await;
                earlier.map(|e| (e, notes))
            }
        );
        let (mut files, (earlier, earlier_notes)) = (files?, earlier?);
        published.notes.extend(earlier_notes);
        published.previous_outcome = earlier
            .summary
            .as_ref()
            .and_then(|(_, body)| summary::outcome_in(markers, body));
        files.notes.extend(inputs.notes.iter().cloned());
        // Posted before, and no comment of ours carries it now: someone deleted it.
        let mut dismissed = earlier
            .summary
            .as_ref()
            .map(|(_, body)| markers.posted_in(body))
            .unwrap_or_default();
        for comment in &earlier.comments {
            dismissed.remove(comments::short(&comment.fingerprint));
        }
        let plan = plan::plan(&plan::Inputs {
            findings,
            files: &files.files,
            existing: &earlier.comments,
            max_comments: self.settings.max_comments,
            markers,
            dialect: self.forge.dialect(),
            dismissed: &dismissed,
            rule_url: inputs.rule_url,
            line_text: inputs.line_text,
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
            let refused = self.forge.post(findings, &plan.new, &files.files).await?;
            published.new_comments = plan.new.len() - refused.len();
            for (i, _) in &refused {
                posted.remove(comments::short(&findings[*i].fingerprint));
            }
            elsewhere.extend(refused);
            elsewhere.sort_by_key(|(i, _)| *i);
        }
        for thread in &plan.reopen {
            if let Err(err) = self.forge.reopen(thread).await {
                published
                    .notes
                    .push(format!("could not reopen a review thread: {err}"));
            }
        }
        for (comment, body) in &plan.edit {
            self.forge.edit(comment, body).await?;
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
                earlier.summary,
                findings,
                SummaryParts {
                    inline,
                    elsewhere: &elsewhere,
                    notes: &files.notes,
                    posted: &posted,
                    outcome: inputs.outcome,
                },
            )
            .await?;
        Ok(published)
    }

    /// Resolves the thread of a fixed finding or, when that cannot be done,
    /// says so in the comment.
    async fn mark_fixed(&self, gone: &Existing, notes: &mut Vec<String>) -> Result<(), ForgeError> {
        if let Some(thread) = &gone.thread {
            match self.forge.resolve(thread).await {
                Ok(()) if !self.forge.dialect().mark_resolved_fixed => return Ok(()),
                Ok(()) => {}
                Err(err) => notes.push(format!(
                    "could not resolve a review thread ({err}): marked fixed in its comment"
                )),
            }
        }
        let body = comments::fixed_body(&self.settings.markers, &gone.body, self.head_sha);
        self.forge.edit(gone, &body).await
    }

    /// Creates, edits (only when its text changes) or deletes the summary
    /// comment; `current` is tollgate's summary on the change (id and body), if any.
    async fn update_summary(
        &self,
        current: Option<(u64, String)>,
        findings: &[Finding],
        parts: SummaryParts<'_>,
    ) -> Result<&'static str, ForgeError> {
        if findings.is_empty() && self.settings.on_clean == OnClean::Delete {
            return match current {
                Some((id, _)) => {
                    self.forge.delete_summary(id).await?;
                    Ok("deleted")
                }
                None => Ok("none"),
            };
        }
        let project_url = self.forge.project_url();
        let body = summary::render(&SummaryInput {
            findings,
            inline: parts.inline,
            elsewhere: parts.elsewhere,
            project_url: &project_url,
            head_sha: self.head_sha,
            run: self.run,
            dialect: self.forge.dialect(),
            environment: self.environment,
            notes: parts.notes,
            posted: parts.posted,
            markers: &self.settings.markers,
            outcome: parts.outcome,
        });
        match current {
            Some((_, old)) if old == body => Ok("unchanged"),
            Some((id, _)) => {
                self.forge.edit_summary(id, &body).await?;
                Ok("updated")
            }
            None => {
                self.forge.create_summary(&body).await?;
                Ok("created")
            }
        }
    }
}
