//! The one door to Jira's REST API: one base URL (Cloud site or Data Center,
//! with or without a context path), Basic `email:token` on Cloud or Bearer
//! PAT on Data Center, rustls with bundled roots, a per-request timeout and a
//! whole-run time limit, and bounded retries (429 honours `Retry-After`, else
//! Jira's `X-RateLimit-Reset`; a GET is retried on 5xx and lost connections;
//! a write is never sent twice by this layer once it may have landed: the
//! caller reads the issue again first). Redirects are not followed, so the
//! credentials only ever go to the base URL's own origin. No error text
//! carries the token.

use crate::jira::Credentials;
use crate::retry::{backoff, header_secs, noise, now_epoch};
use crate::review::forge::error_chain;
use serde_json::Value;
use std::time::{Duration, Instant};
use url::Url;

/// Retries after a 5xx, a lost connection or a rate limit, per request.
const MAX_RETRIES: u32 = 4;
/// Never wait on one request longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest pause a rate limit may ask for before we give up instead.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(120);

/// Why a request got no answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    #[error("{what}: {reason}")]
    Failed { what: String, reason: String },
    /// A write that may or may not have reached Jira (no answer in time, or
    /// the connection broke after sending): read before sending it again.
    #[error("{what}: {reason}; it may or may not have been made")]
    Uncertain { what: String, reason: String },
    #[error("the time limit for talking to Jira ({0} s) ran out")]
    Deadline(u64),
}

/// A status and its JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// How a request proves who sends it.
#[derive(Clone)]
enum Auth {
    /// Cloud: `email:api_token`.
    Basic { email: String, token: String },
    /// Data Center: a personal access token.
    Bearer { token: String },
}

pub struct Client {
    http: reqwest::Client,
    /// The base URL, its path ending in `/` (`https://host/jira/`).
    base: Url,
    auth: Auth,
    started: Instant,
    limit: Duration,
    /// The first pause of a backoff; doubled per attempt.
    backoff: Duration,
    /// The longest wait for one answer.
    request_timeout: Duration,
}

/// Checks a Jira base URL: https (http only on 127.0.0.1 or localhost), a
/// host, no credentials, query or fragment. Answers it with a path ending in `/`.
pub fn base_url(text: &str) -> Result<Url, String> {
    let expected = "expected https://your-site.atlassian.net or a Data Center base URL such as https://jira.example.com/jira";
    let mut url =
        Url::parse(text.trim()).map_err(|_| format!("Jira URL `{}`: {expected}", shown(text)))?;
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
    if !scheme_ok || url.host().is_none() {
        return Err(format!(
            "Jira URL `{}`: https is required (the token travels with every request); {expected}",
            shown(text)
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "Jira URL `{}`: it holds credentials; they come from JIRA_EMAIL and JIRA_API_TOKEN only",
            url.host_str().unwrap_or("?")
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "Jira URL `{}`: a base URL has no query or fragment; {expected}",
            shown(text)
        ));
    }
    let path = url.path().trim_end_matches('/').to_string();
    // The REST root is below the base: a URL already naming it is cut back.
    let path = match path.find("/rest/api/") {
        Some(at) => path[..at].to_string(),
        None => path,
    };
    url.set_path(&format!("{path}/"));
    Ok(url)
}

/// A URL as it may be shown: without anything before the host's `@`.
fn shown(text: &str) -> String {
    let text = text.trim();
    let cut = match (text.find("://"), text.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &text[..scheme + 3], &text[at + 1..])
        }
        _ => text.to_string(),
    };
    crate::review::comments::shorten(&cut, 200)
}

impl Client {
    /// A client for the Jira at `base` (see [`base_url`]), giving up on the
    /// whole conversation after `limit`.
    pub fn new(base: &str, credentials: &Credentials, limit: Duration) -> Result<Client, String> {
        let base = base_url(base)?;
        let token = credentials.token().to_string();
        if token.chars().any(char::is_control) {
            return Err(
                "JIRA_API_TOKEN holds a line break or another control character: check the secret"
                    .into(),
            );
        }
        let auth = match credentials.email() {
            Some(email) if email.chars().any(char::is_control) => {
                return Err("JIRA_EMAIL holds a control character: check the variable".into())
            }
            Some(email) => Auth::Basic {
                email: email.to_string(),
                token,
            },
            None => Auth::Bearer { token },
        };
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der).ok());
        let http = reqwest::Client::builder()
            .tls_backend_rustls()
            .tls_certs_only(roots)
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            // A redirect could carry the credentials elsewhere: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the Jira client: {e}"))?;
        Ok(Client {
            http,
            base,
            auth,
            started: Instant::now(),
            limit,
            backoff: Duration::from_secs(1),
            request_timeout: REQUEST_TIMEOUT,
        })
    }

    /// The first pause between retries when Jira names none (tests shorten it).
    pub fn backoff(mut self, first: Duration) -> Client {
        self.backoff = first;
        self
    }

    /// The longest wait for one answer (tests shorten it; never past 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Client {
        self.request_timeout = timeout.min(REQUEST_TIMEOUT);
        self
    }

    /// The base URL, its path ending in `/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Whether the credentials are Cloud's (an e-mail with the token).
    pub fn is_basic(&self) -> bool {
        matches!(self.auth, Auth::Basic { .. })
    }

    /// The base URL, then `segments` each percent-encoded as one path segment.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    fn remaining_time(&self) -> Duration {
        self.limit.saturating_sub(self.started.elapsed())
    }

    pub async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Answer, ClientError> {
        self.send(reqwest::Method::GET, self.url(segments, query), None)
            .await
    }

    pub async fn post(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<Answer, ClientError> {
        self.send(reqwest::Method::POST, self.url(segments, query), Some(body))
            .await
    }

    pub async fn put(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<Answer, ClientError> {
        self.send(reqwest::Method::PUT, self.url(segments, query), Some(body))
            .await
    }

    /// Sends with retries; answers with any status (the caller reads it).
    async fn send(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, ClientError> {
        let what = format!("{method} {}", url.path());
        // The credentials go to the base URL's own origin only.
        if url.origin() != self.base.origin() {
            return Err(ClientError::Failed {
                what,
                reason: "refused to send the credentials to another host".into(),
            });
        }
        let idempotent = method == reqwest::Method::GET;
        let bytes = body.map(|b| b.to_string().into_bytes());
        let mut attempt = 0;
        loop {
            let left = self.remaining_time();
            if left.is_zero() {
                return Err(ClientError::Deadline(self.limit.as_secs()));
            }
            let outcome = tokio::time::timeout(
                left.min(self.request_timeout),
                self.once(method.clone(), url.clone(), bytes.clone()),
            )
            .await
            .unwrap_or_else(|_| Err((false, "no answer in time".to_string())));
            let (status, headers, body) = match outcome {
                Ok(answer) => answer,
                Err((unsent, reason)) => {
                    let pause = backoff(self.backoff, attempt, noise());
                    if (idempotent || unsent) && attempt < MAX_RETRIES && pause < left {
                        self.pause(&what, pause).await;
                        attempt += 1;
                        continue;
                    }
                    let reason = format!("{reason} (after {} attempt(s))", attempt + 1);
                    return Err(if idempotent || unsent {
                        ClientError::Failed { what, reason }
                    } else {
                        ClientError::Uncertain { what, reason }
                    });
                }
            };
            let retry_after = header_secs(&headers, "retry-after");
            let wait = match status {
                429 => Some(rate_limit_wait(
                    &headers,
                    self.backoff,
                    attempt,
                    now_epoch(),
                    noise(),
                )),
                // Jira answers an overload with 503 and a Retry-After: nothing was done.
                503 if retry_after.is_some() => retry_after.map(Duration::from_secs),
                500..=599 if idempotent => Some(backoff(self.backoff, attempt, noise())),
                _ => None,
            };
            match wait {
                Some(wait)
                    if attempt < MAX_RETRIES
                        && wait <= MAX_RATE_LIMIT_WAIT
                        && wait < self.remaining_time() =>
                {
                    self.pause(&what, wait).await;
                    attempt += 1;
                }
                _ => {
                    let body = serde_json::from_slice(&body).unwrap_or_else(|_| {
                        let text = String::from_utf8_lossy(&body);
                        if text.trim().is_empty() {
                            Value::Null
                        } else {
                            Value::String(crate::review::comments::shorten(text.trim(), 300))
                        }
                    });
                    return Ok(Answer { status, body });
                }
            }
        }
    }

    /// One request, its body read in full. Err carries whether the request
    /// surely never left (no connection), so that even a write may be retried.
    async fn once(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, reqwest::header::HeaderMap, bytes::Bytes), (bool, String)> {
        let mut request = self
            .http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        request = match &self.auth {
            Auth::Basic { email, token } => request.basic_auth(email, Some(token)),
            Auth::Bearer { token } => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| (e.is_connect(), error_chain(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| (false, error_chain(&e)))?;
        Ok((status, headers, bytes))
    }

    async fn pause(&self, what: &str, wait: Duration) {
        crate::say!(
            "note: Jira: waiting {:.1} s before retrying {what}",
            wait.as_secs_f32()
        );
        tokio::time::sleep(wait).await;
    }
}

/// How long a 429 asks us to wait: `Retry-After` seconds, else until
/// `X-RateLimit-Reset` (ISO-8601), else a jittered backoff.
fn rate_limit_wait(
    headers: &reqwest::header::HeaderMap,
    first: Duration,
    attempt: u32,
    now: u64,
    noise: u32,
) -> Duration {
    if let Some(seconds) = header_secs(headers, "retry-after") {
        return Duration::from_secs(seconds);
    }
    let reset = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(iso8601_epoch);
    if let Some(reset) = reset {
        return Duration::from_secs(reset.saturating_sub(now).max(1));
    }
    backoff(first, attempt, noise)
}

/// `2026-03-01T10:15Z`, `2026-03-01T10:15:30Z` or `…30.123Z` (UTC, as Jira
/// sends `X-RateLimit-Reset`) as seconds since the epoch.
fn iso8601_epoch(text: &str) -> Option<u64> {
    let text = text.trim().strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let mut time = time.split(':');
    let hour = time.next()?.parse::<i64>().ok()?;
    let minute = time.next()?.parse::<i64>().ok()?;
    let second = match time.next() {
        Some(s) => s.split('.').next()?.parse::<i64>().ok()?,
        None => 0,
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    u64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::header_map as headers;

    #[test]
    fn rate_limits_are_read_as_jira_documents_them() {
        let first = Duration::from_secs(1);
        let now = iso8601_epoch("2026-03-01T10:15Z").unwrap();
        let wait = |h: &[(&'static str, &str)]| rate_limit_wait(&headers(h), first, 0, now, 0);
        assert_eq!(wait(&[("retry-after", "7")]), Duration::from_secs(7));
        assert_eq!(
            wait(&[("x-ratelimit-reset", "2026-03-01T10:17Z")]),
            Duration::from_secs(120)
        );
        assert_eq!(
            wait(&[("x-ratelimit-reset", "2026-03-01T10:14Z")]),
            Duration::from_secs(1)
        );
        assert_eq!(
            wait(&[("x-ratelimit-reset", "soon")]),
            Duration::from_secs(1)
        );
        assert_eq!(backoff(first, 20, 999), crate::retry::MAX_BACKOFF);
    }

    #[test]
    fn iso_dates_are_counted_from_the_epoch() {
        assert_eq!(iso8601_epoch("1970-01-01T00:00Z"), Some(0));
        assert_eq!(iso8601_epoch("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(iso8601_epoch("2024-02-29T12:30:15.5Z"), Some(1_709_209_815));
        assert_eq!(iso8601_epoch("2024-13-01T00:00Z"), None);
        assert_eq!(iso8601_epoch("2024-01-01T00:00"), None);
    }

    #[test]
    fn base_urls_keep_their_context_path_and_need_https() {
        let base = |t: &str| base_url(t).map(|u| u.to_string());
        assert_eq!(
            base("https://acme.atlassian.net").unwrap(),
            "https://acme.atlassian.net/"
        );
        assert_eq!(
            base("https://jira.example.com/jira/").unwrap(),
            "https://jira.example.com/jira/"
        );
        assert_eq!(
            base("https://jira.example.com/jira/rest/api/2").unwrap(),
            "https://jira.example.com/jira/"
        );
        assert_eq!(
            base("http://127.0.0.1:8080/j").unwrap(),
            "http://127.0.0.1:8080/j/"
        );
        assert!(base("http://jira.example.com")
            .unwrap_err()
            .contains("https is required"));
        assert!(base("jira.example.com").is_err());
        let error = base("https://me:hunter2@jira.example.com").unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn keys_are_one_path_segment_each() {
        let credentials = Credentials::new("t".into(), None);
        let client = Client::new(
            "https://jira.example.com/jira",
            &credentials,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            client
                .url(
                    &["rest", "api", "2", "issue", "A-1/../../x?y"],
                    &[("fields", "status")]
                )
                .as_str(),
            "https://jira.example.com/jira/rest/api/2/issue/A-1%2F..%2F..%2Fx%3Fy?fields=status"
        );
    }

    #[test]
    fn a_token_with_a_line_break_is_refused_without_showing_it() {
        let credentials = Credentials::new("hunter2\nx".into(), None);
        let error = Client::new(
            "https://jira.example.com",
            &credentials,
            Duration::from_secs(1),
        )
        .err()
        .unwrap();
        assert!(
            error.contains("JIRA_API_TOKEN") && !error.contains("hunter2"),
            "{error}"
        );
    }
}
