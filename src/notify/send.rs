//! Posts a payload to an incoming webhook: a short timeout, one retry after
//! a 429 (waiting what the platform asks, capped), and every failure as one
//! line that names the channel and what to do. A webhook URL is a secret:
//! it is never in a message, not even inside an HTTP client's error.

use serde_json::Value;
use std::time::Duration;

/// One request, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait a 429 gets: a notification is not worth holding the job.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(10);
/// A platform's error text in a warning.
const MAX_QUOTED: usize = 200;

/// Which platform a webhook is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Slack,
    Discord,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Slack => "Slack",
            Platform::Discord => "Discord",
        }
    }

    /// The variable its webhook URL comes from.
    pub fn variable(self) -> &'static str {
        match self {
            Platform::Slack => "SLACK_WEBHOOK_URL",
            Platform::Discord => "DISCORD_WEBHOOK_URL",
        }
    }
}

/// An incoming webhook. Its URL is a secret: no `Debug`, no `Display`.
pub struct Webhook {
    pub platform: Platform,
    /// Where to post (Discord's with `wait=true`).
    url: url::Url,
    /// The variable's value, as set.
    raw: String,
}

impl Webhook {
    /// The webhook in `value` (the variable's): https, or http to this
    /// machine (for tests). The error never quotes the value.
    pub fn parse(platform: Platform, value: &str) -> Result<Webhook, String> {
        let variable = platform.variable();
        // A secret pasted with a final line break is common: that is no part of it.
        let value = value.trim();
        if value.chars().any(char::is_control) {
            return Err(format!("{variable} contains a line break or another control character (the value is not shown)"));
        }
        let expected = format!(
            "{variable} is not an https URL (expected {}; the value is not shown)",
            match platform {
                Platform::Slack => "https://hooks.slack.com/services/…",
                Platform::Discord => "https://discord.com/api/webhooks/ID/TOKEN",
            }
        );
        let raw = value.to_string();
        let mut url = url::Url::parse(&raw).map_err(|_| expected.clone())?;
        let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
        if !scheme_ok || url.host().is_none() || !url.username().is_empty() {
            return Err(expected);
        }
        if platform == Platform::Discord && !url.query_pairs().any(|(k, _)| k == "wait") {
            // Without it Discord answers 204 before it checks the message,
            // and a refused one is lost in silence.
            url.query_pairs_mut().append_pair("wait", "true");
        }
        Ok(Webhook { platform, url, raw })
    }

    /// What `::add-mask::` hides: the value as set, and the path that holds
    /// the webhook's secret (the whole URL is not needed to post).
    pub fn secrets(&self) -> Vec<&str> {
        let path = self.url.path();
        let mut secrets = vec![self.raw.as_str()];
        if path.len() > 1 {
            secrets.push(path);
        }
        secrets
    }
}

/// A client for webhooks: rustls with bundled roots, like the forges'.
pub fn client() -> Result<reqwest::Client, String> {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    reqwest::Client::builder()
        .tls_backend_rustls()
        .tls_certs_only(roots)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", e.without_url()))
}

/// Posts `payload`; `Err` is the warning to print (without the URL).
pub async fn post(client: &reqwest::Client, hook: &Webhook, payload: &Value) -> Result<(), String> {
    let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
    let mut retried = false;
    loop {
        let answer = client
            .post(hook.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(err) => return Err(transport(hook, err)),
        };
        let status = response.status().as_u16();
        let retry_after = header_seconds(response.headers());
        let text = response.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(());
        }
        if status == 429 && !retried {
            retried = true;
            let wait = rate_limit_wait(retry_after, &text);
            tokio::time::sleep(wait).await;
            continue;
        }
        return Err(refused(hook, status, &text));
    }
}

/// A request that got no answer, in words without the URL.
fn transport(hook: &Webhook, err: reqwest::Error) -> String {
    let what = if err.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if err.is_connect() {
        "cannot connect".to_string()
    } else {
        "the request failed".to_string()
    };
    let detail = scrub(&crate::review::forge::error_chain(&err.without_url()), hook);
    format!(
        "{}: {what} ({detail}); the next run will try again",
        hook.platform.name()
    )
}

/// `text` without the webhook's URL or its secret path, should a client or a
/// platform quote them.
fn scrub(text: &str, hook: &Webhook) -> String {
    let mut out = text.replace(hook.url.as_str(), "[webhook]");
    let path = hook.url.path();
    if path.len() > 1 {
        out = out.replace(path, "/[webhook]");
    }
    super::message::shorten(&out, MAX_QUOTED)
}

/// `Retry-After` in whole seconds, as Slack and Discord send it.
fn header_seconds(headers: &reqwest::header::HeaderMap) -> Option<f64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
}

/// How long a 429 asks to wait: Discord's JSON `retry_after` (float
/// seconds, the more precise), else `Retry-After`, else one second; capped.
fn rate_limit_wait(header: Option<f64>, body: &str) -> Duration {
    let from_body = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("retry_after")?.as_f64());
    let seconds = from_body.or(header).unwrap_or(1.0);
    if !seconds.is_finite() || seconds <= 0.0 {
        return Duration::from_millis(100);
    }
    Duration::from_secs_f64(seconds.min(MAX_RATE_LIMIT_WAIT.as_secs_f64()))
}

/// A refusal, in one line that says what to do.
fn refused(hook: &Webhook, status: u16, body: &str) -> String {
    let name = hook.platform.name();
    let variable = hook.platform.variable();
    let quoted = scrub(body.trim(), hook)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>();
    let said = if quoted.is_empty() {
        format!("{status}")
    } else {
        format!("{status} {quoted}")
    };
    let advice = match (hook.platform, status) {
        (_, 429) => "rate limited even after waiting once: the next run will try again".to_string(),
        (Platform::Slack, 400) => "Slack refused the message (a tollgate bug if it says invalid_payload: please report it)".to_string(),
        (Platform::Slack, 403) => format!("the webhook may not post to its channel (an admin restricted it, or the app was removed): make a new webhook and update {variable}"),
        (Platform::Slack, 404) => format!("the webhook's channel or app is gone: make a new webhook and update {variable}"),
        (Platform::Slack, 410) => format!("the webhook's channel is archived: unarchive it, or make a new webhook and update {variable}"),
        (Platform::Discord, 400) => "Discord refused the message (a tollgate bug if it says 50035 Invalid Form Body: please report it)".to_string(),
        (Platform::Discord, 401 | 403 | 404) => format!("Discord says the webhook is invalid or deleted: stop using it (repeated attempts get the runner's address banned for a while), make a new webhook and update {variable}"),
        (_, 500..=599) => format!("{name} had a problem on its side: the next run will try again"),
        _ => format!("check the webhook in {variable}"),
    };
    format!("{name} refused the notification ({said}): {advice}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_must_be_https_except_on_this_machine() {
        let slack = |v: &str| Webhook::parse(Platform::Slack, v);
        assert!(slack("https://hooks.slack.com/services/T/B/x").is_ok());
        assert!(slack("http://127.0.0.1:9/x").is_ok());
        assert!(slack("http://localhost:9/x").is_ok());
        for bad in [
            "http://hooks.slack.com/services/T/B/secretpart",
            "ftp://x.example/secretpart",
            "secretpart",
            "https://user:secretpart@x.example/",
            "https://x.example/secretpart\n::warning::x",
        ] {
            let err = slack(bad).err().expect(bad);
            assert!(!err.contains("secretpart"), "{err}");
            assert!(err.contains("SLACK_WEBHOOK_URL"), "{err}");
        }
        let discord =
            Webhook::parse(Platform::Discord, " https://discord.com/api/webhooks/1/t\n").unwrap();
        assert_eq!(
            discord.url.as_str(),
            "https://discord.com/api/webhooks/1/t?wait=true"
        );
        assert_eq!(
            discord.secrets(),
            ["https://discord.com/api/webhooks/1/t", "/api/webhooks/1/t"]
        );
    }

    #[test]
    fn a_429_waits_what_it_asks_within_the_cap() {
        assert_eq!(
            rate_limit_wait(Some(2.0), r#"{"retry_after": 0.25}"#),
            Duration::from_millis(250)
        );
        assert_eq!(
            rate_limit_wait(Some(2.0), "rate_limited"),
            Duration::from_secs(2)
        );
        assert_eq!(rate_limit_wait(Some(3600.0), ""), MAX_RATE_LIMIT_WAIT);
        assert_eq!(
            rate_limit_wait(None, r#"{"retry_after": -1}"#),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn refusals_say_what_to_do_and_never_quote_the_url() {
        let hook = Webhook::parse(
            Platform::Slack,
            "https://hooks.slack.com/services/T/B/s3cret",
        )
        .unwrap();
        let said = refused(
            &hook,
            404,
            "channel_not_found https://hooks.slack.com/services/T/B/s3cret",
        );
        assert!(
            said.contains("channel_not_found") && said.contains("SLACK_WEBHOOK_URL"),
            "{said}"
        );
        assert!(!said.contains("s3cret"), "{said}");
        let discord =
            Webhook::parse(Platform::Discord, "https://discord.com/api/webhooks/1/t0k").unwrap();
        let said = refused(
            &discord,
            404,
            r#"{"message": "Unknown Webhook", "code": 10015}"#,
        );
        assert!(said.contains("stop using it"), "{said}");
    }

    #[test]
    fn each_documented_refusal_says_what_to_do() {
        let slack = Webhook::parse(
            Platform::Slack,
            "https://hooks.slack.com/services/T/B/s3cret",
        )
        .unwrap();
        let discord = Webhook::parse(
            Platform::Discord,
            "https://discord.com/api/webhooks/1/t0k3n",
        )
        .unwrap();
        for (hook, status, body, expected) in [
            (&slack, 400, "invalid_payload", "a tollgate bug"),
            (&slack, 403, "action_prohibited", "make a new webhook"),
            (&slack, 410, "channel_is_archived", "archived"),
            (&slack, 500, "rollup_error", "next run will try again"),
            (
                &discord,
                400,
                r#"{"code": 50035, "message": "Invalid Form Body"}"#,
                "a tollgate bug",
            ),
            (
                &discord,
                401,
                r#"{"code": 50027, "message": "Invalid Webhook Token"}"#,
                "stop using it",
            ),
            (&discord, 403, "{}", "stop using it"),
        ] {
            let said = refused(hook, status, body);
            assert!(said.contains(expected), "{status}: {said}");
            assert!(said.starts_with(hook.platform.name()), "{said}");
            assert!(
                !said.contains("s3cret") && !said.contains("t0k3n"),
                "{said}"
            );
            assert!(!said.contains('\n'), "one line: {said}");
        }
    }
}
