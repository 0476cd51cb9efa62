//! The `notify:` section of `.tollgate.yml`: when Slack and Discord hear of
//! a review. It holds no webhook URL: those are secrets and come from the
//! environment only (`SLACK_WEBHOOK_URL`, `DISCORD_WEBHOOK_URL`). A change
//! cannot edit this section for its own run: the base commit's is used
//! (`crate::config::pin`), so a pull request can neither silence nor flood a channel.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Findings listed in a message unless `max_findings` says otherwise.
pub const DEFAULT_MAX_FINDINGS: usize = 5;
/// The most findings a message lists, whatever `max_findings` says: the
/// platforms' limits leave room for no more.
pub const MAX_FINDINGS: usize = 20;

/// Notifications of `tollgate review`. The section turns them on; each
/// channel whose webhook variable is set gets them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// When a message is sent: `failure` (the gate fails; default), `always`,
    /// `change` (the outcome differs from the previous run's) or `never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<Trigger>,
    /// Findings listed by name in a message (default 5, at most 20); the
    /// counts always cover them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_findings: Option<usize>,
    /// Slack (`SLACK_WEBHOOK_URL`): overrides for this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<ChannelConfig>,
    /// Discord (`DISCORD_WEBHOOK_URL`): overrides for this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<ChannelConfig>,
}

/// One channel's own settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// When this channel hears of a review; default: `notify.on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<Trigger>,
}

/// When a message is sent.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// When the gate fails.
    #[default]
    Failure,
    /// On every run.
    Always,
    /// When the outcome (passed or failed) differs from the previous run's
    /// on the same change request; a first run counts as a change.
    Change,
    /// Never (e.g. in an environment overlay).
    Never,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Failure => "failure",
            Trigger::Always => "always",
            Trigger::Change => "change",
            Trigger::Never => "never",
        }
    }
}

impl NotifyConfig {
    /// `overlay`'s settings over `self`'s, key by key (an environment's overlay).
    pub fn overlaid(self, overlay: NotifyConfig) -> NotifyConfig {
        let channel = |base: Option<ChannelConfig>, over: Option<ChannelConfig>| match (base, over)
        {
            (Some(b), Some(o)) => Some(ChannelConfig { on: o.on.or(b.on) }),
            (b, o) => o.or(b),
        };
        NotifyConfig {
            on: overlay.on.or(self.on),
            max_findings: overlay.max_findings.or(self.max_findings),
            slack: channel(self.slack, overlay.slack),
            discord: channel(self.discord, overlay.discord),
        }
    }

    /// When the channel with settings `channel` hears of a review.
    pub fn trigger(&self, channel: Option<&ChannelConfig>) -> Trigger {
        channel.and_then(|c| c.on).or(self.on).unwrap_or_default()
    }

    /// Findings listed by name, within [`MAX_FINDINGS`].
    pub fn max_findings(&self) -> usize {
        self.max_findings
            .unwrap_or(DEFAULT_MAX_FINDINGS)
            .min(MAX_FINDINGS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_replaces_key_by_key_and_channels_inherit_the_top_level() {
        let base: NotifyConfig = serde_json::from_value(serde_json::json!({
            "on": "change", "max_findings": 3, "slack": {"on": "always"}
        }))
        .unwrap();
        let overlay: NotifyConfig =
            serde_json::from_value(serde_json::json!({"on": "never"})).unwrap();
        let merged = base.overlaid(overlay);
        assert_eq!(merged.trigger(None), Trigger::Never);
        assert_eq!(merged.trigger(merged.slack.as_ref()), Trigger::Always);
        assert_eq!(merged.trigger(merged.discord.as_ref()), Trigger::Never);
        assert_eq!(merged.max_findings(), 3);
        assert_eq!(NotifyConfig::default().trigger(None), Trigger::Failure);
        let many = NotifyConfig {
            max_findings: Some(10_000),
            ..Default::default()
        };
        assert_eq!(many.max_findings(), MAX_FINDINGS);
    }

    #[test]
    fn a_webhook_in_the_file_is_an_unknown_key() {
        let err = serde_json::from_value::<NotifyConfig>(
            serde_json::json!({"slack": {"webhook_url": "https://hooks.slack.com/x"}}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `webhook_url`"),
            "{err}"
        );
    }
}
