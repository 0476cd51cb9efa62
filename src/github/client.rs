//! The one door to the GitHub API: octocrab's raw requests, wrapped in what a
//! CI step needs — a hard overall time limit, per-request timeouts, bounded
//! retries that honour `retry-after`, `x-ratelimit-*` and secondary rate
//! limits, and `Link` pagination. Errors name the request and GitHub's
//! message, never the token.

use super::context::{Endpoints, Token};
use crate::retry::now_epoch;
use octocrab::Octocrab;
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Retries after a 5xx, a timeout or a rate limit, per request.
const MAX_RETRIES: u32 = 4;
/// Never wait on one request longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pages of any one listing (100 items each).
const MAX_PAGES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
    /// Whether sending it twice does no harm (a timed-out POST may have landed).
    fn idempotent(self) -> bool {
        self != Method::Post
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{method} {path}: GitHub answered {status}: {message}")]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        message: String,
    },
    #[error(
        "{method} {path}: rate limited, and GitHub asks to wait {wait} s, past the time limit"
    )]
    RateLimited {
        method: &'static str,
        path: String,
        wait: u64,
    },
    #[error("{method} {path}: {reason}")]
    Transport {
        method: &'static str,
        path: String,
        reason: String,
    },
    #[error("{0}")]
    GraphQl(String),
    #[error(
        "the time limit for talking to GitHub ({0} s; --time-limit, github.time_limit) ran out"
    )]
    Deadline(u64),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            ApiError::Status { message, .. } => message,
            _ => "",
        }
    }
}

/// One answer: status, the `rel="next"` page if any, and the JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub next: Option<String>,
    pub body: Value,
}

#[derive(Debug, Default, Clone, Copy)]
struct RateState {
    remaining: Option<u64>,
    /// UTC epoch seconds.
    reset: Option<u64>,
}

pub struct Client {
    octocrab: Octocrab,
    /// `scheme://host[:port]` of the REST API; every request is a path on it,
    /// so that octocrab sends the token (it never sends it to other hosts).
    origin: String,
    /// The REST API's own path prefix (`/api/v3` on Enterprise Server).
    rest_prefix: String,
    /// The GraphQL path on the same origin, if it is on the same origin.
    graphql_path: Option<String>,
    started: Instant,
    limit: Duration,
    rate: Mutex<RateState>,
    /// Log every request (method, path, status, time, quota) to stderr.
    verbose: bool,
}

fn split_url(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    (!authority.is_empty()).then(|| {
        (
            format!("{scheme}://{authority}"),
            path.trim_end_matches('/').to_string(),
        )
    })
}

impl Client {
    pub fn new(endpoints: &Endpoints, token: &Token, limit: Duration) -> Result<Client, String> {
        let (origin, rest_prefix) = split_url(&endpoints.api_url).ok_or_else(|| {
            format!(
                "GITHUB_API_URL `{}`: expected a URL such as https://api.github.com",
                endpoints.api_url
            )
        })?;
        let graphql_path = split_url(&endpoints.graphql_url)
            .filter(|(o, _)| *o == origin)
            .map(|(_, p)| p);
        let octocrab = Octocrab::builder()
            .base_uri(origin.as_str())
            .map_err(|e| format!("GITHUB_API_URL `{}`: {e}", endpoints.api_url))?
            .personal_token(token.expose().to_string())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(REQUEST_TIMEOUT))
            .set_write_timeout(Some(REQUEST_TIMEOUT))
            .build()
            .map_err(|e| format!("cannot set up the GitHub client: {e}"))?;
        Ok(Client {
            octocrab,
            origin,
            rest_prefix,
            graphql_path,
            started: Instant::now(),
            limit,
            rate: Mutex::new(RateState::default()),
            verbose: false,
        })
    }

    /// Logs every request to stderr (never a header, so never the token).
    pub fn verbose(mut self, on: bool) -> Client {
        self.verbose = on;
        self
    }

    fn remaining_time(&self) -> Duration {
        self.limit.saturating_sub(self.started.elapsed())
    }

    /// A REST request; `path` is relative to the API root (`/repos/…`).
    pub async fn rest(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ApiError> {
        let full = format!("{}{path}", self.rest_prefix);
        self.send(method, &full, body).await
    }

    /// Every item of a listing, following `Link: rel="next"` exactly as given.
    pub async fn list(&self, path: &str, max_pages: Option<usize>) -> Result<Vec<Value>, ApiError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{}{path}{separator}per_page=100", self.rest_prefix));
        let mut items = Vec::new();
        let mut pages = 0;
        while let Some(page) = next.take() {
            let reply = self.send(Method::Get, &page, None).await?;
            match reply.body {
                Value::Array(list) => items.extend(list),
                other => {
                    return Err(ApiError::Status {
                        method: "GET",
                        path: page,
                        status: reply.status,
                        message: format!("expected a JSON array, got {}", kind(&other)),
                    })
                }
            }
            pages += 1;
            if pages >= max_pages.unwrap_or(MAX_PAGES) {
                break;
            }
            next = match reply.next {
                // Follow only links to the same API: the token must not leave it.
                Some(url) => match url.strip_prefix(&self.origin) {
                    Some(rest) if rest.starts_with('/') => Some(rest.to_string()),
                    _ => None,
                },
                None => None,
            };
        }
        Ok(items)
    }

    /// A GraphQL request. Errors in the answer's `errors` become [`ApiError::GraphQl`].
    pub async fn graphql(&self, query: &str, variables: Value) -> Result<Value, ApiError> {
        let Some(path) = self.graphql_path.clone() else {
            return Err(ApiError::GraphQl(
                "GITHUB_GRAPHQL_URL is not on the REST API's host".into(),
            ));
        };
        let body = serde_json::json!({ "query": query, "variables": variables });
        let reply = self.send(Method::Post, &path, Some(&body)).await?;
        if let Some(errors) = reply.body.get("errors").and_then(Value::as_array) {
            if !errors.is_empty() {
                let messages: Vec<&str> = errors
                    .iter()
                    .filter_map(|e| e.get("message").and_then(Value::as_str))
                    .collect();
                return Err(ApiError::GraphQl(format!(
                    "GraphQL: {}",
                    messages.join("; ")
                )));
            }
        }
        Ok(reply.body.get("data").cloned().unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ApiError> {
        let name = method.as_str();
        let mut attempt = 0;
        loop {
            self.wait_for_quota(name, path).await?;
            let left = self.remaining_time();
            if left.is_zero() {
                return Err(ApiError::Deadline(self.limit.as_secs()));
            }
            let request = self.once(method, path, body);
            let sent = Instant::now();
            let outcome = match tokio::time::timeout(left.min(REQUEST_TIMEOUT), request).await {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "no answer within {} s",
                    left.min(REQUEST_TIMEOUT).as_secs()
                )),
            };
            if self.verbose {
                let took = sent.elapsed().as_millis();
                match &outcome {
                    Ok((status, headers, _)) => crate::say!(
                        "debug: {name} {path} -> {status} in {took} ms (quota left: {})",
                        header(headers, "x-ratelimit-remaining").unwrap_or("?")
                    ),
                    Err(reason) => crate::say!("debug: {name} {path} -> {reason} after {took} ms"),
                }
            }
            let (status, headers, text) = match outcome {
                Ok(answer) => answer,
                Err(reason) => {
                    let pause = backoff(attempt);
                    if method.idempotent() && attempt < MAX_RETRIES && self.has_time_for(pause) {
                        self.sleep(name, path, pause).await?;
                        attempt += 1;
                        continue;
                    }
                    return Err(ApiError::Transport {
                        method: name,
                        path: path.to_string(),
                        reason: format!("{reason} (after {} attempt(s))", attempt + 1),
                    });
                }
            };
            self.record_quota(&headers);
            let json: Value = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
            };
            if (200..300).contains(&status) {
                return Ok(Reply {
                    status,
                    next: next_link(&headers),
                    body: json,
                });
            }
            let message = error_message(&json);
            let limited = rate_limit_wait(status, &headers, &message, attempt, now_epoch());
            if let Some(wait) = limited {
                if attempt >= MAX_RETRIES || !self.has_time_for(wait) {
                    return Err(ApiError::RateLimited {
                        method: name,
                        path: path.to_string(),
                        wait: wait.as_secs(),
                    });
                }
                self.sleep(name, path, wait).await?;
                attempt += 1;
                continue;
            }
            let pause = backoff(attempt);
            if status >= 500 && attempt < MAX_RETRIES && self.has_time_for(pause) {
                self.sleep(name, path, pause).await?;
                attempt += 1;
                continue;
            }
            return Err(ApiError::Status {
                method: name,
                path: path.to_string(),
                status,
                message: message + hint(status),
            });
        }
    }

    /// One request, body read in full.
    async fn once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<(String, String)>, String), String> {
        let uri = path.to_string();
        let response = match method {
            Method::Get => self.octocrab._get(uri).await,
            Method::Post => self.octocrab._post(uri, body).await,
            Method::Patch => self.octocrab._patch(uri, body).await,
            Method::Delete => self.octocrab._delete(uri, body).await,
        }
        .map_err(|e| transport_reason(&e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        let text = self
            .octocrab
            .body_to_string(response)
            .await
            .map_err(|e| transport_reason(&e))?;
        Ok((status, headers, text))
    }

    fn has_time_for(&self, wait: Duration) -> bool {
        wait < self.remaining_time()
    }

    async fn sleep(
        &self,
        method: &'static str,
        path: &str,
        wait: Duration,
    ) -> Result<(), ApiError> {
        if !self.has_time_for(wait) {
            return Err(ApiError::RateLimited {
                method,
                path: path.to_string(),
                wait: wait.as_secs(),
            });
        }
        tracing_note(&format!(
            "GitHub: waiting {} s before retrying {method} {path}",
            wait.as_secs_f32()
        ));
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn record_quota(&self, headers: &[(String, String)]) {
        let get = |name: &str| header(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
        if let Ok(mut rate) = self.rate.lock() {
            if let Some(remaining) = get("x-ratelimit-remaining") {
                rate.remaining = Some(remaining);
                rate.reset = get("x-ratelimit-reset");
            }
        }
    }

    /// When the last answer said the quota is spent, waits for its reset
    /// (or fails at once if the reset lies past the time limit).
    async fn wait_for_quota(&self, method: &'static str, path: &str) -> Result<(), ApiError> {
        let state = self.rate.lock().map(|r| *r).unwrap_or_default();
        if let (Some(0), Some(reset)) = (state.remaining, state.reset) {
            let now = now_epoch();
            if reset > now {
                self.sleep(method, path, Duration::from_secs(reset - now + 1))
                    .await?;
            }
            if let Ok(mut rate) = self.rate.lock() {
                rate.remaining = None;
            }
        }
        Ok(())
    }
}

fn tracing_note(text: &str) {
    crate::say!("note: {text}");
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Object(_) => "an object",
        Value::String(_) => "text",
        _ => "a scalar",
    }
}

/// Octocrab's transport errors, without any request header.
fn transport_reason(error: &octocrab::Error) -> String {
    crate::review::forge::error_chain(error)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// 1 s, 2 s, 4 s, … between retries after a 5xx or a timeout.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(5))
}

/// What an answer usually means, for the statuses whose message says little.
fn hint(status: u16) -> &'static str {
    match status {
        401 => " (the token is invalid or has expired)",
        404 => " (no such repository or pull request, or the token cannot see it: check GITHUB_REPOSITORY or --repo, --pr, and the token's repository access)",
        _ => "",
    }
}

/// GitHub's error text: `message` plus any `errors[]` entries.
fn error_message(body: &Value) -> String {
    let mut message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| match body {
            Value::String(s) => s.chars().take(200).collect(),
            _ => "no message".to_string(),
        });
    if let Some(errors) = body.get("errors").and_then(Value::as_array) {
        let details: Vec<String> = errors
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => other
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| other.to_string()),
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message} ({})", details.join("; "));
        }
    }
    message
}

/// How long GitHub asks us to wait, if this answer is a rate limit:
/// `retry-after` first; else, with the quota spent, until `x-ratelimit-reset`;
/// else (a secondary limit) a minute, doubling.
fn rate_limit_wait(
    status: u16,
    headers: &[(String, String)],
    message: &str,
    attempt: u32,
    now: u64,
) -> Option<Duration> {
    let retry_after = header(headers, "retry-after").and_then(|v| v.trim().parse::<u64>().ok());
    let remaining =
        header(headers, "x-ratelimit-remaining").and_then(|v| v.trim().parse::<u64>().ok());
    let limited = status == 429
        || (status == 403
            && (retry_after.is_some()
                || remaining == Some(0)
                || message.to_ascii_lowercase().contains("rate limit")));
    if !limited {
        return None;
    }
    if let Some(seconds) = retry_after {
        return Some(Duration::from_secs(seconds));
    }
    if remaining == Some(0) {
        if let Some(reset) =
            header(headers, "x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
        }
    }
    Some(Duration::from_secs(60u64 << attempt.min(4)))
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &[(String, String)]) -> Option<String> {
    let link = header(headers, "link")?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn a_transport_error_says_each_cause_once() {
        let dns = Layer("dns error: failed to lookup address information", None);
        let connect = Layer("client error (Connect)", Some(Box::new(dns)));
        let top = Layer(
            "Service Error: client error (Connect)",
            Some(Box::new(connect)),
        );
        assert_eq!(
            crate::review::forge::error_chain(&top),
            "Service Error: client error (Connect): dns error: failed to lookup address information"
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rate_limits_are_read_as_github_documents_them() {
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(
            rate_limit_wait(429, &h, "", 0, 0),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            rate_limit_wait(403, &h, "", 0, 0),
            Some(Duration::from_secs(7))
        );
        let spent = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1010"),
        ]);
        assert_eq!(
            rate_limit_wait(403, &spent, "API rate limit exceeded", 0, 1000),
            Some(Duration::from_secs(11))
        );
        let secondary = headers(&[("x-ratelimit-remaining", "12")]);
        assert_eq!(
            rate_limit_wait(
                403,
                &secondary,
                "You have exceeded a secondary rate limit",
                1,
                0
            ),
            Some(Duration::from_secs(120))
        );
        // A plain permission error is no rate limit.
        assert_eq!(
            rate_limit_wait(
                403,
                &secondary,
                "Resource not accessible by integration",
                0,
                0
            ),
            None
        );
        assert_eq!(rate_limit_wait(422, &h, "", 0, 0), None);
    }

    #[test]
    fn the_next_link_is_taken_as_given() {
        let h = headers(&[(
            "link",
            "<https://api.github.com/repositories/1/pulls/2/files?page=3>; rel=\"next\", <https://api.github.com/repositories/1/pulls/2/files?page=9>; rel=\"last\"",
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/pulls/2/files?page=3")
        );
        let last = headers(&[("link", "<https://x/y?page=1>; rel=\"prev\"")]);
        assert_eq!(next_link(&last), None);
    }

    #[test]
    fn error_messages_carry_githubs_details() {
        let body = serde_json::json!({"message": "Validation Failed", "errors": ["Pull request review thread line must be part of the diff"]});
        assert_eq!(
            error_message(&body),
            "Validation Failed (Pull request review thread line must be part of the diff)"
        );
    }

    #[test]
    fn urls_split_into_origin_and_path() {
        assert_eq!(
            split_url("https://ghe.example.com/api/v3/"),
            Some(("https://ghe.example.com".into(), "/api/v3".into()))
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080"),
            Some(("http://127.0.0.1:8080".into(), String::new()))
        );
        assert_eq!(split_url("api.github.com"), None);
    }
}
