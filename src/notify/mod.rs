//! Slack and Discord notifications of a review: when (`notify.on`), what
//! (a forge-neutral [`message::Message`] each platform renders within its
//! limits, mentions disabled) and sending it. Webhook URLs come from the
//! environment only and are masked in GitHub Actions. A notification that
//! fails is a `warning:` line and never changes the exit code.

pub mod branch;
pub mod config;
pub mod discord;
pub mod message;
pub mod send;
pub mod slack;

use crate::review::summary::Outcome;
use config::{NotifyConfig, Trigger};
use send::{Platform, Webhook};

/// Whether a channel with `trigger` hears of a run that ended in `outcome`
/// after one that ended in `previous` (None: unknown, which counts as a change).
pub fn should_send(trigger: Trigger, outcome: Outcome, previous: Option<Outcome>) -> bool {
    match trigger {
        Trigger::Failure => outcome == Outcome::Failed,
        Trigger::Always => true,
        Trigger::Change => previous != Some(outcome),
        Trigger::Never => false,
    }
}

/// The webhooks whose variables `env` sets, each said (never its value) when
/// refused.
fn webhooks(env: &dyn Fn(&str) -> Option<String>) -> Vec<Webhook> {
    [Platform::Slack, Platform::Discord]
        .into_iter()
        .filter_map(|platform| {
            let value = env(platform.variable()).filter(|v| !v.trim().is_empty())?;
            match Webhook::parse(platform, &value) {
                Ok(hook) => Some(hook),
                Err(why) => {
                    crate::say!("warning: {why}: {} is not notified", platform.name());
                    None
                }
            }
        })
        .collect()
}

/// Hides the webhook in every later line of a GitHub Actions log: the value
/// as set, and its secret path alone (should it appear in another form).
fn mask(hook: &Webhook) {
    if crate::ci_log::guarding() {
        for secret in hook.secrets() {
            let _ = crate::ci_log::command(
                &mut std::io::stderr().lock(),
                format_args!("::add-mask::{}", crate::report::github::escape_data(secret)),
            );
        }
    }
}

/// Tells every configured channel about a run, as `notify` asks. `previous`
/// is the outcome of the run before (from the forge's summary), if known.
pub async fn notify(config: &NotifyConfig, message: &message::Message, previous: Option<Outcome>) {
    let env = |name: &str| std::env::var(name).ok();
    let hooks = webhooks(&env);
    if hooks.is_empty() {
        crate::say!("note: notify: neither SLACK_WEBHOOK_URL nor DISCORD_WEBHOOK_URL is set (or usable): nobody notified");
        return;
    }
    hooks.iter().for_each(mask);
    let due: Vec<&Webhook> = hooks
        .iter()
        .filter(|hook| {
            let channel = match hook.platform {
                Platform::Slack => config.slack.as_ref(),
                Platform::Discord => config.discord.as_ref(),
            };
            let trigger = config.trigger(channel);
            let send = should_send(trigger, message.outcome, previous);
            if !send {
                crate::say!(
                    "note: {} not notified: the gate {} and `on` is {}",
                    hook.platform.name(),
                    message.outcome.as_str(),
                    trigger.as_str()
                );
            }
            send
        })
        .collect();
    if due.is_empty() {
        return;
    }
    let client = match send::client() {
        Ok(client) => client,
        Err(err) => {
            crate::say!("warning: notifications not sent: {err}");
            return;
        }
    };
    // One after the other: there are at most two, and the log stays in order.
    for hook in due {
        let payload = match hook.platform {
            Platform::Slack => slack::payload(message),
            Platform::Discord => discord::payload(message),
        };
        match send::post(&client, hook, &payload).await {
            Ok(()) => crate::say!("note: {} notified", hook.platform.name()),
            Err(warning) => crate::say!("warning: {warning}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_each_trigger_sends() {
        use Outcome::{Failed, Passed};
        assert!(should_send(Trigger::Failure, Failed, Some(Failed)));
        assert!(!should_send(Trigger::Failure, Passed, None));
        assert!(should_send(Trigger::Always, Passed, Some(Passed)));
        assert!(!should_send(Trigger::Never, Failed, None));
        assert!(should_send(Trigger::Change, Passed, Some(Failed)));
        assert!(should_send(Trigger::Change, Failed, Some(Passed)));
        assert!(!should_send(Trigger::Change, Failed, Some(Failed)));
        assert!(
            should_send(Trigger::Change, Passed, None),
            "no earlier summary: changed"
        );
    }

    #[test]
    fn an_unusable_variable_is_said_without_its_value() {
        let env = |name: &str| match name {
            "SLACK_WEBHOOK_URL" => Some("http://hooks.example/s3cret".to_string()),
            "DISCORD_WEBHOOK_URL" => Some("https://discord.com/api/webhooks/1/t".to_string()),
            _ => None,
        };
        let hooks = webhooks(&env);
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].platform, Platform::Discord);
    }
}
