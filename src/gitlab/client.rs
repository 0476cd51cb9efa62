//! The one door to the GitLab API. The `gitlab` crate builds the requests
//! (typed endpoints); this client sends them: any base URL (self-managed, a
//! path prefix), `PRIVATE-TOKEN` auth, rustls with bundled roots (the image
//! has no platform store), a per-request timeout and an overall time limit,
//! and bounded retries (429 honours `Retry-After` / `RateLimit-Reset`; a GET
//! is retried on 5xx and lost connections; a write is not retried once it
//! may have landed). Errors become [`ForgeError`]s that say what a status
//! usually means, and never carry the token.

use crate::github::context::Token;
use crate::retry::{backoff, header_secs, noise, now_epoch};
use crate::review::forge::{error_chain, ForgeError};
use async_trait::async_trait;
use bytes::Bytes;
use gitlab::api::{self, ApiError, AsyncQuery, Endpoint, Pageable, Pagination};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::{Duration, Instant};
use url::Url;

/// Retries after a 5xx, a lost connection or a rate limit, per request.
const MAX_RETRIES: u32 = 4;
/// Never wait on one request longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Items of any one listing.
const MAX_ITEMS: usize = 10_000;

/// Why a request got no answer worth returning.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{method} {path}: {reason}")]
    Failed {
        method: String,
        path: String,
        reason: String,
    },
    #[error(
        "the time limit for talking to GitLab ({0} s; --time-limit, gitlab.time_limit) ran out"
    )]
    Deadline(u64),
    #[error("{method} {path}: refused to send the token to another host")]
    OtherHost { method: String, path: String },
}

pub struct Client {
    http: reqwest::Client,
    /// The REST API root, ending in `/` (`https://host/api/v4/`).
    api: Url,
    token: Token,
    started: Instant,
    limit: Duration,
    /// The first pause of a backoff; doubled per attempt.
    backoff: Duration,
    verbose: bool,
}

impl Client {
    /// A client for the API at `api_url` (`…/api/v4`), giving up on the whole
    /// conversation after `limit`.
    pub fn new(api_url: &str, token: Token, limit: Duration) -> Result<Client, String> {
        let mut api = Url::parse(api_url.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                format!("GitLab API URL `{api_url}`: expected a URL such as https://gitlab.example.com/api/v4")
            })?;
        api.set_path(&format!("{}/", api.path().trim_end_matches('/')));
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der).ok());
        let http = reqwest::Client::builder()
            .tls_backend_rustls()
            .tls_certs_only(roots)
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the GitLab client: {e}"))?;
        Ok(Client {
            http,
            api,
            token,
            started: Instant::now(),
            limit,
            backoff: Duration::from_secs(1),
            verbose: false,
        })
    }

    /// Logs every request (method, path, status, time) to stderr; never a header.
    pub fn verbose(mut self, on: bool) -> Client {
        self.verbose = on;
        self
    }

    /// The first pause between retries when GitLab names none (tests shorten it).
    pub fn backoff(mut self, first: Duration) -> Client {
        self.backoff = first;
        self
    }

    /// The API root, as requests are built on it.
    pub fn api_url(&self) -> &Url {
        &self.api
    }

    fn remaining_time(&self) -> Duration {
        self.limit.saturating_sub(self.started.elapsed())
    }

    /// One typed endpoint, its JSON answer read as `T`.
    pub async fn query<T, E>(&self, endpoint: E) -> Result<T, ForgeError>
    where
        T: DeserializeOwned + Send + 'static,
        E: Endpoint + Sync,
    {
        let what = describe(&endpoint);
        endpoint
            .query_async(self)
            .await
            .map_err(|e| from_api(&what, e))
    }

    /// Every item of a typed listing, 100 a page.
    pub async fn list<T, E>(&self, endpoint: E) -> Result<Vec<T>, ForgeError>
    where
        T: DeserializeOwned + Send + 'static,
        E: Endpoint + Pageable + Sync,
    {
        let what = describe(&endpoint);
        api::paged(endpoint, Pagination::Limit(MAX_ITEMS))
            .query_async(self)
            .await
            .map_err(|e| from_api(&what, e))
    }

    /// A request the crate has no endpoint for: `endpoint` is relative to the
    /// API root (`projects/1/…`). A status outside 2xx is an error.
    pub async fn raw(
        &self,
        method: http::Method,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<http::Response<Bytes>, ForgeError> {
        let what = format!("{method} {endpoint}");
        let mut url = self
            .api
            .join(endpoint)
            .map_err(|e| forge_error(&what, None, e.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let request = http::Request::builder().method(method).uri(url.as_str());
        let response = self
            .send(request, Vec::new())
            .await
            .map_err(|e| forge_error(&what, None, e.to_string()))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let body: Value = serde_json::from_slice(response.body()).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(response.body()).into_owned())
        });
        Err(forge_error(&what, Some(status), gitlab_message(&body)))
    }

    /// Sends with retries; answers with any status (the caller reads it).
    async fn send(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let (parts, ()) = request
            .body(())
            .map_err(|e| TransportError::Failed {
                method: "?".into(),
                path: "?".into(),
                reason: e.to_string(),
            })?
            .into_parts();
        let method = parts.method.clone();
        let url = Url::parse(&parts.uri.to_string()).map_err(|e| TransportError::Failed {
            method: method.to_string(),
            path: parts.uri.to_string(),
            reason: e.to_string(),
        })?;
        let path = url.path().to_string();
        // The token goes to the API's own origin only.
        if url.origin() != self.api.origin() {
            return Err(TransportError::OtherHost {
                method: method.to_string(),
                path,
            });
        }
        let idempotent = method == http::Method::GET || method == http::Method::HEAD;
        let mut attempt = 0;
        loop {
            let left = self.remaining_time();
            if left.is_zero() {
                return Err(TransportError::Deadline(self.limit.as_secs()));
            }
            let mut headers = parts.headers.clone();
            let mut secret = http::HeaderValue::from_str(self.token.expose()).map_err(|_| {
                TransportError::Failed {
                    method: method.to_string(),
                    path: path.clone(),
                    reason: "the token holds characters a header cannot carry".into(),
                }
            })?;
            secret.set_sensitive(true);
            headers.insert("PRIVATE-TOKEN", secret);
            let sent = Instant::now();
            let outcome = tokio::time::timeout(
                left.min(REQUEST_TIMEOUT),
                self.once(method.clone(), url.clone(), headers, body.clone()),
            )
            .await
            .unwrap_or_else(|_| Err((false, "no answer in time".to_string())));
            if self.verbose {
                let took = sent.elapsed().as_millis();
                match &outcome {
                    Ok(r) => crate::say!("debug: {method} {path} -> {} in {took} ms", r.status()),
                    Err((_, reason)) => {
                        crate::say!("debug: {method} {path} -> {reason} after {took} ms")
                    }
                }
            }
            let response = match outcome {
                Ok(response) => response,
                Err((unsent, reason)) => {
                    // A write that may have reached GitLab is not sent twice.
                    let pause = backoff(self.backoff, attempt, noise());
                    if (idempotent || unsent) && attempt < MAX_RETRIES && pause < left {
                        self.pause(&method, &path, pause).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(TransportError::Failed {
                        method: method.to_string(),
                        path,
                        reason: format!("{reason} (after {} attempt(s))", attempt + 1),
                    });
                }
            };
            let status = response.status().as_u16();
            let wait = match status {
                429 => Some(rate_limit_wait(
                    response.headers(),
                    self.backoff,
                    attempt,
                    now_epoch(),
                    noise(),
                )),
                500..=599 if idempotent => Some(backoff(self.backoff, attempt, noise())),
                _ => None,
            };
            match wait {
                Some(wait) if attempt < MAX_RETRIES && wait < self.remaining_time() => {
                    self.pause(&method, &path, wait).await;
                    attempt += 1;
                }
                _ => return Ok(response),
            }
        }
    }

    /// One request, its body read in full. Err carries whether the request
    /// surely never left (no connection), so that even a write may be retried.
    async fn once(
        &self,
        method: http::Method,
        url: Url,
        headers: http::HeaderMap,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>, (bool, String)> {
        let response = self
            .http
            .request(method, url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| (e.is_connect(), error_chain(&e)))?;
        let mut out = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            out = out.header(name, value);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| (false, error_chain(&e)))?;
        out.body(bytes).map_err(|e| (false, e.to_string()))
    }

    async fn pause(&self, method: &http::Method, path: &str, wait: Duration) {
        crate::say!(
            "note: GitLab: waiting {:.1} s before retrying {method} {path}",
            wait.as_secs_f32()
        );
        tokio::time::sleep(wait).await;
    }
}

impl api::RestClient for Client {
    type Error = TransportError;

    fn rest_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<Self::Error>> {
        Ok(self.api.join(endpoint)?)
    }
}

#[async_trait]
impl api::AsyncClient for Client {
    async fn rest_async(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>, ApiError<Self::Error>> {
        self.send(request, body).await.map_err(ApiError::client)
    }
}

/// `GET projects/1/merge_requests/2/diffs`: names a request in messages.
fn describe(endpoint: &impl Endpoint) -> String {
    format!("{} {}", endpoint.method(), endpoint.endpoint())
}

/// How long a 429 asks us to wait: `Retry-After` seconds, else until
/// `RateLimit-Reset` (unix time), else a jittered backoff (GitLab.com
/// sometimes sends neither).
fn rate_limit_wait(
    headers: &http::HeaderMap,
    first: Duration,
    attempt: u32,
    now: u64,
    noise: u32,
) -> Duration {
    if let Some(seconds) = header_secs(headers, "retry-after") {
        return Duration::from_secs(seconds);
    }
    if let Some(reset) = header_secs(headers, "ratelimit-reset") {
        return Duration::from_secs(reset.saturating_sub(now).max(1));
    }
    backoff(first, attempt, noise)
}

/// GitLab's own words: `message` (a string or an object of field errors),
/// else `error`, else the text of the body.
pub(crate) fn gitlab_message(body: &Value) -> String {
    let text = match body.get("message").or_else(|| body.get("error")) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => match body {
            Value::String(s) => s.clone(),
            Value::Null => "no message".into(),
            other => other.to_string(),
        },
    };
    crate::review::comments::shorten(text.trim(), 300)
}

/// What a status usually means on GitLab's merge request endpoints.
fn hint(status: u16) -> &'static str {
    match status {
        401 => " (the token is invalid or expired, or lacks the `api` scope)",
        403 => " (the token's user needs the Developer role on the project)",
        404 => " (no such project or merge request, or the token cannot see the project: check CI_PROJECT_ID or --project, CI_MERGE_REQUEST_IID or --mr, and the token's project access)",
        429 => " (rate limited: still so after the retries the time limit allows)",
        _ => "",
    }
}

pub(crate) fn forge_error(what: &str, status: Option<u16>, message: String) -> ForgeError {
    let detail = match status {
        Some(status) => format!(
            "{what}: GitLab answered {status}: {message}{}",
            hint(status)
        ),
        None => format!("{what}: {message}"),
    };
    ForgeError {
        status,
        message,
        detail,
    }
}

/// The crate's error for a typed request, in neutral form.
fn from_api(what: &str, error: ApiError<TransportError>) -> ForgeError {
    let (status, message) = match error {
        ApiError::Client { source } => (None, source.to_string()),
        ApiError::GitlabWithStatus { status, msg } => (Some(status.as_u16()), msg),
        ApiError::GitlabObjectWithStatus { status, obj }
        | ApiError::GitlabUnrecognizedWithStatus { status, obj } => {
            (Some(status.as_u16()), gitlab_message(&obj))
        }
        ApiError::GitlabService { status, data } => (
            Some(status.as_u16()),
            gitlab_message(&Value::String(String::from_utf8_lossy(&data).into_owned())),
        ),
        ApiError::GitlabRateLimited { .. } => (Some(429), "Retry later".to_string()),
        other => (None, other.to_string()),
    };
    forge_error(what, status, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::header_map as headers;

    #[test]
    fn rate_limits_are_read_as_gitlab_documents_them() {
        let first = Duration::from_secs(1);
        let wait = |h: &[(&'static str, &str)]| rate_limit_wait(&headers(h), first, 0, 1000, 0);
        assert_eq!(wait(&[("retry-after", "7")]), Duration::from_secs(7));
        assert_eq!(
            wait(&[("ratelimit-reset", "1010")]),
            Duration::from_secs(10)
        );
        assert_eq!(wait(&[("ratelimit-reset", "900")]), Duration::from_secs(1));
        // Neither header: a backoff, jittered, and capped.
        assert_eq!(wait(&[]), Duration::from_secs(1));
        let late = rate_limit_wait(&headers(&[]), first, 2, 0, 999);
        assert!(late > Duration::from_secs(4) && late < Duration::from_secs(6));
        assert_eq!(backoff(first, 20, 999), crate::retry::MAX_BACKOFF);
    }

    #[test]
    fn statuses_say_what_they_usually_mean_without_the_token() {
        let e = forge_error("GET projects/1", Some(401), "401 Unauthorized".into());
        assert!(e.detail.contains("`api` scope"), "{}", e.detail);
        assert!(forge_error("x", Some(403), "m".into())
            .detail
            .contains("Developer"));
        assert!(forge_error("x", Some(404), "m".into())
            .detail
            .contains("--mr"));
        assert_eq!(
            gitlab_message(&serde_json::json!({"message": {"base": ["nope"]}})),
            "{\"base\":[\"nope\"]}"
        );
    }

    #[test]
    fn api_urls_keep_their_path_prefix() {
        let token = Token::new("glpat-secret".into()).unwrap();
        let client = Client::new(
            "http://127.0.0.1:9/gitlab/api/v4/",
            token.clone(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            client.api_url().join("projects/a%2Fb").unwrap().as_str(),
            "http://127.0.0.1:9/gitlab/api/v4/projects/a%2Fb"
        );
        assert!(Client::new("gitlab.example.com", token, Duration::from_secs(5)).is_err());
    }
}
