//! The `jira:` section of `.tollgate.yml`. It holds no credential: the token
//! (and, on Cloud, the e-mail) come from the environment only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens on Jira when a change request is opened, updated, merged or fails.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// The site: `https://example.atlassian.net`, or a Data Center base URL
    /// (with or without a context path). `JIRA_URL` replaces it. A change
    /// that edits it is reviewed with the base commit's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `cloud` or `datacenter`; default: read once from `/rest/api/2/serverInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
    /// Only keys of these projects are issues (so `UTF-8` or `SHA-256` never are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projects: Option<Vec<String>>,
    /// Replaces the issue-key pattern `[A-Z][A-Z0-9]{1,9}-[1-9][0-9]*` (matched on word boundaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pattern: Option<String>,
    /// What each event does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<OnEvents>,
    /// A Jira problem fails the job (exit 2); default false: a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Deployment {
    Cloud,
    #[serde(rename = "datacenter")]
    DataCenter,
}

/// What a change request's life does to its issues.
#[derive(
    Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// Opened, reopened or ready for review.
    Opened,
    /// New commits pushed.
    Updated,
    /// Merged (or pushed to the default branch).
    Merged,
    /// The job fails its gate (findings at `fail_on`).
    Failed,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Opened => "opened",
            Event::Updated => "updated",
            Event::Merged => "merged",
            Event::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OnEvents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened: Option<OnEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<OnEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<OnEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<OnEvent>,
}

impl OnEvents {
    pub fn get(&self, event: Event) -> Option<&OnEvent> {
        match event {
            Event::Opened => self.opened.as_ref(),
            Event::Updated => self.updated.as_ref(),
            Event::Merged => self.merged.as_ref(),
            Event::Failed => self.failed.as_ref(),
        }
    }
}

/// One event's action.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OnEvent {
    /// The status the issues move to (matched by name, case-insensitive, on
    /// the target of the available transitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The transition to take instead, by name or id, when the status alone
    /// does not choose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<String>,
    /// One comment per change and event on each issue, edited in place on a
    /// re-run; written unless `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<bool>,
}
