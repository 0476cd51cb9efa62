//! Jira follows the code: the issues a change names move to the configured
//! status, once, with one comment each per change and event (Cloud: API v3
//! and ADF bodies, Basic e-mail:token; Data Center: API v2, wiki markup,
//! Bearer personal access token).
//!
//! The interface below is shared by the key/event side (`keys`, the
//! `jira sync` command, the review wiring) and the HTTP side (`sync`).

pub mod body;
pub mod client;
pub mod config;
pub mod flow;
pub mod keys;
pub mod site;
mod sync;

pub use config::{Deployment, Event, JiraConfig, OnEvent, OnEvents};

use crate::finding::Severity;
use serde::Serialize;
use std::time::Duration;

/// The credentials, from the environment only (`JIRA_API_TOKEN`, and
/// `JIRA_EMAIL` on Cloud). Never printed: `Debug` hides them.
#[derive(Clone)]
pub struct Credentials {
    token: String,
    email: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

impl Credentials {
    /// `JIRA_API_TOKEN` (with `JIRA_EMAIL` on Cloud: Basic `email:token`;
    /// without it a Data Center personal access token: Bearer).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Credentials> {
        let token = env("JIRA_API_TOKEN").filter(|t| !t.trim().is_empty())?;
        let email = env("JIRA_EMAIL").filter(|e| !e.trim().is_empty());
        Some(Credentials {
            token: token.trim().to_string(),
            email: email.map(|e| e.trim().to_string()),
        })
    }

    pub fn new(token: String, email: Option<String>) -> Credentials {
        Credentials { token, email }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
}

/// The change whose issues are synced, as the comment tells it.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// What identifies the change across re-runs, in the hidden marker of
    /// its comments, e.g. `github.com/acme/app#12` or `gitlab.example.com/g/app!3`
    /// (with `--id` appended when set). The event is added by `sync`.
    pub id: String,
    /// "PR #12", "MR !3", "commit abc1234".
    pub label: String,
    /// Its title, when known (hostile text: escape it in bodies).
    pub title: Option<String>,
    /// Its web page.
    pub url: Option<String>,
    /// The CI run: its URL and what the CI calls it ("workflow run", "pipeline", "build").
    pub run: Option<(String, String)>,
    /// What was checked.
    pub checked: Checked,
}

/// What the run checked, for the comment.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Whether the gate passed.
    pub passed: bool,
    /// Findings by severity (only severities with findings).
    pub findings: Vec<(Severity, usize)>,
    /// The environment whose image policy was applied, when one was.
    pub environment: Option<String>,
    /// Image references that passed the environment's policy.
    pub images_passed: Vec<String>,
}

/// How `sync` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Jira base URL (`JIRA_URL` or `jira.url`), checked to be https
    /// (or http on 127.0.0.1/localhost, for tests).
    pub base_url: String,
    /// Print the plan, change nothing (reads still happen).
    pub dry_run: bool,
    /// The whole conversation with Jira.
    pub time_limit: Duration,
}

/// What became of one issue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IssueOutcome {
    /// The key as named by the change (Cloud may answer a moved issue under a new key: see `reason`).
    pub key: String,
    pub status_before: Option<String>,
    pub status_after: Option<String>,
    /// The transition taken (or planned): its name and id, e.g. `Review (31)`.
    pub transition: Option<String>,
    /// `created`, `updated`, `unchanged`, `planned`, or none.
    pub comment: Option<String>,
    pub outcome: Outcome,
    /// One line naming what happened and what to do, for anything but success.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Transitioned (and/or commented).
    Moved,
    /// Already in the target status (the comment may still be written).
    Unchanged,
    /// `--dry-run`: what would happen.
    Planned,
    /// Not found, no transition, fields required, forbidden: see `reason`.
    Failed,
}

/// A problem that stops the whole sync (bad credentials, Jira unreachable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraError(pub String);

impl std::fmt::Display for JiraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JiraError {}

/// Moves each key's issue to `config.on[event].status` (or transition) and
/// writes one comment per change and event, found again by a hidden marker.
///
/// One outcome per distinct key, in order; none when `config.on` has nothing
/// for `event`. The comment is written unless `comment: false`. Bad
/// credentials, an unreachable Jira or a spent time limit are an `Err`;
/// every other problem is that issue's `Failed` outcome with a `reason`.
/// No text returned holds the token.
pub async fn sync(
    config: &JiraConfig,
    credentials: &Credentials,
    options: &Options,
    keys: &[String],
    event: Event,
    change: &Change,
) -> Result<Vec<IssueOutcome>, JiraError> {
    sync::sync(config, credentials, options, keys, event, change).await
}
