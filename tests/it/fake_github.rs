//! A local stand-in for the GitHub API on 127.0.0.1 (wiremock): the endpoints
//! `tollgate review` uses, answering with GitHub's documented shapes, status
//! codes, `Link` pagination (in GitHub's `/repositories/{id}/…` form) and
//! rate-limit headers. It validates review anchors against the PR's hunks the
//! way GitHub does (422 "must be part of the diff"), keeps what was posted so a
//! second run sees it, and records every request.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use wiremock::{Request, Respond, ResponseTemplate};

pub const OWNER: &str = "acme";
pub const REPO: &str = "app";
pub const PR: u64 = 7;
const REPO_ID: u64 = 4242;

pub use super::fake_server::Injection;
use super::fake_server::{serve, take_injection};

#[derive(Default)]
pub struct State {
    pub token: String,
    pub head_sha: String,
    pub base_sha: String,
    /// `OWNER/NAME` the PR's head branch (`feature`) lives in: a fork by default.
    pub head_repo: String,
    /// PR files entries, as `GET /pulls/{n}/files` lists them.
    pub files: Vec<Value>,
    pub review_comments: Vec<Value>,
    pub issue_comments: Vec<Value>,
    pub reviews: Vec<Value>,
    /// (thread node id, first comment id, resolved)
    pub threads: Vec<(String, u64, bool)>,
    /// Who resolved a thread (GraphQL `resolvedBy`), by thread id.
    pub resolved_by: std::collections::HashMap<String, Value>,
    pub check_runs: Vec<Value>,
    pub next_id: u64,
    /// The token may read but not write (a fork PR's token).
    pub read_only: bool,
    /// Set for a user token (a PAT): `GET /user` answers with it, and comments
    /// are by that user. Unset: an installation token (`GITHUB_TOKEN`).
    pub user_login: Option<String>,
    pub injections: VecDeque<Injection>,
    /// Requests answered 422, with GitHub's message.
    pub refusals: Vec<String>,
}

pub struct FakeGitHub {
    pub server: wiremock::MockServer,
    pub state: Arc<Mutex<State>>,
    pub runtime: tokio::runtime::Runtime,
}

impl FakeGitHub {
    /// Queues a canned answer.
    pub fn inject(&self, injection: Injection) {
        self.with(|s| s.injections.push_back(injection));
    }

    pub fn start(token: &str) -> FakeGitHub {
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            head_repo: "eve/app".into(),
            next_id: 1000,
            ..State::default()
        }));
        let (server, runtime) = serve(|base| Handler {
            state: state.clone(),
            base,
        });
        FakeGitHub {
            server,
            state,
            runtime,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Every request so far: (method, path with query, JSON body).
    pub fn requests(&self) -> Vec<(String, String, Value)> {
        let requests = self
            .runtime
            .block_on(self.server.received_requests())
            .unwrap_or_default();
        requests
            .iter()
            .map(|r| {
                let path = match r.url.query() {
                    Some(q) => format!("{}?{q}", r.url.path()),
                    None => r.url.path().to_string(),
                };
                (
                    r.method.to_string(),
                    path,
                    serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    /// The writes (anything but GET, and GraphQL mutations) so far.
    pub fn writes(&self) -> Vec<(String, String, Value)> {
        self.requests()
            .into_iter()
            .filter(|(m, p, b)| {
                if p.ends_with("/graphql") {
                    b["query"]
                        .as_str()
                        .is_some_and(|q| q.trim_start().starts_with("mutation"))
                } else {
                    m != "GET"
                }
            })
            .collect()
    }

    pub fn reset_requests(&self) {
        self.runtime.block_on(self.server.reset());
        self.runtime.block_on(
            wiremock::Mock::given(wiremock::matchers::any())
                .respond_with(Handler {
                    state: self.state.clone(),
                    base: self.server.uri(),
                })
                .mount(&self.server),
        );
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

/// PR file entry as the files API returns it.
pub fn file_entry(name: &str, status: &str, patch: Option<&str>) -> Value {
    let mut entry = json!({
        "sha": "0000000000000000000000000000000000000001",
        "filename": name,
        "status": status,
        "additions": 1, "deletions": 0, "changes": 1,
        "blob_url": format!("https://github.com/{OWNER}/{REPO}/blob/x/{name}"),
        "raw_url": format!("https://github.com/{OWNER}/{REPO}/raw/x/{name}"),
        "contents_url": format!("https://api.github.com/repos/{OWNER}/{REPO}/contents/{name}"),
    });
    if let Some(patch) = patch {
        entry["patch"] = json!(patch);
    }
    entry
}

/// New-side line ranges of a patch, from its `@@ -a,b +c,d @@` headers alone.
fn hunk_ranges(patch: &str) -> Vec<(u64, u64)> {
    patch
        .lines()
        .filter(|l| l.starts_with("@@ "))
        .filter_map(|l| {
            let plus = l.split_whitespace().find(|p| p.starts_with('+'))?;
            let mut parts = plus[1..].split(',');
            let start: u64 = parts.next()?.parse().ok()?;
            let len: u64 = parts.next().map_or(Some(1), |n| n.parse().ok())?;
            (len > 0).then_some((start, start + len - 1))
        })
        .collect()
}

/// GitHub takes at most 50 annotations per check run request.
fn over_50_annotations(body: &Value) -> Option<ResponseTemplate> {
    let annotations = body["output"]["annotations"].as_array()?;
    (annotations.len() > 50).then(|| {
        error(
            422,
            "Validation Failed",
            &["Only 50 annotations are allowed per request"],
        )
    })
}

struct Handler {
    state: Arc<Mutex<State>>,
    base: String,
}

/// The author of what the token posts.
fn user(state: &State) -> Value {
    match &state.user_login {
        Some(login) => json!({"login": login, "id": 1234, "type": "User"}),
        None => json!({"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}),
    }
}

fn error(status: u16, message: &str, errors: &[&str]) -> ResponseTemplate {
    let mut body = json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()});
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    ResponseTemplate::new(status).set_body_json(body)
}

impl Handler {
    fn page(&self, request: &Request, path: &str, items: &[Value]) -> ResponseTemplate {
        let query = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let per_page = query("per_page").unwrap_or(30).min(100);
        let page = query("page").unwrap_or(1).max(1);
        let start = (page - 1) * per_page;
        let slice: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
        let mut response = ResponseTemplate::new(200).set_body_json(Value::Array(slice));
        if start + per_page < items.len() {
            // GitHub links to the repository by id.
            let by_id = path.replacen(
                &format!("/repos/{OWNER}/{REPO}"),
                &format!("/repositories/{REPO_ID}"),
                1,
            );
            response = response.insert_header(
                "link",
                format!(
                    "<{}{by_id}?per_page={per_page}&page={}>; rel=\"next\", <{}{by_id}?per_page={per_page}&page={}>; rel=\"last\"",
                    self.base,
                    page + 1,
                    self.base,
                    items.len().div_ceil(per_page)
                ),
            );
        }
        response
    }

    /// Whether `line` (and `start_line`) of a new comment lie in one hunk of the file.
    fn anchor_ok(state: &State, comment: &Value) -> Result<(), &'static str> {
        let path = comment["path"].as_str().unwrap_or_default();
        let Some(file) = state.files.iter().find(|f| f["filename"] == path) else {
            return Err("Path is invalid");
        };
        let Some(patch) = file["patch"].as_str() else {
            return Err("Pull request review thread diff hunk can't be blank");
        };
        let line = comment["line"]
            .as_u64()
            .ok_or("Pull request review thread line must be part of the diff")?;
        if comment["side"] != "RIGHT" {
            return Err("Pull request review thread line must be part of the diff");
        }
        let ranges = hunk_ranges(patch);
        let Some(range) = ranges.iter().find(|(a, b)| (*a..=*b).contains(&line)) else {
            return Err("Pull request review thread line must be part of the diff");
        };
        if let Some(start) = comment.get("start_line").and_then(Value::as_u64) {
            if start >= line {
                return Err("Pull request review thread start line must precede the end line");
            }
            if !(range.0..=range.1).contains(&start) {
                return Err("Pull request review thread start line must be part of the same hunk as the line");
            }
        }
        Ok(())
    }

    fn store_comment(state: &mut State, comment: &Value, review_id: Option<u64>) -> Value {
        state.next_id += 1;
        let id = state.next_id;
        let stored = json!({
            "id": id,
            "node_id": format!("PRRC_{id}"),
            "pull_request_review_id": review_id,
            "in_reply_to_id": null,
            "path": comment["path"],
            "line": comment["line"],
            "original_line": comment["line"],
            "start_line": comment.get("start_line").cloned().unwrap_or(Value::Null),
            "side": "RIGHT",
            "commit_id": state.head_sha,
            "body": comment["body"],
            "user": user(state),
        });
        state.review_comments.push(stored.clone());
        state.threads.push((format!("PRRT_{id}"), id, false));
        stored
    }

    fn graphql(state: &mut State, body: &Value) -> ResponseTemplate {
        let query = body["query"].as_str().unwrap_or_default();
        let variables = &body["variables"];
        let ok = |data: Value| ResponseTemplate::new(200).set_body_json(json!({ "data": data }));
        if query.contains("unresolveReviewThread") || query.contains("resolveReviewThread") {
            if state.read_only {
                return ResponseTemplate::new(200).set_body_json(json!({"data": null, "errors": [{"type": "FORBIDDEN", "message": "Resource not accessible by integration"}]}));
            }
            let resolve = !query.contains("unresolveReviewThread");
            let id = variables["id"].as_str().unwrap_or_default();
            let actor = match &state.user_login {
                Some(login) => json!({"__typename": "User", "login": login}),
                None => json!({"__typename": "Bot", "login": "github-actions"}),
            };
            return match state.threads.iter_mut().find(|t| t.0 == id) {
                Some(thread) => {
                    thread.2 = resolve;
                    if resolve {
                        state.resolved_by.insert(id.to_string(), actor);
                    } else {
                        state.resolved_by.remove(id);
                    }
                    ok(json!({"resolveReviewThread": {"thread": {"id": id, "isResolved": resolve}}}))
                }
                None => ResponseTemplate::new(200).set_body_json(json!({"data": null, "errors": [{"type": "NOT_FOUND", "message": format!("Could not resolve to a node with the global id of '{id}'")}]})),
            };
        }
        if query.contains("reviewThreads") {
            if variables["owner"] != OWNER || variables["name"] != REPO || variables["number"] != PR
            {
                return ResponseTemplate::new(200).set_body_json(json!({"data": {"repository": null}, "errors": [{"type": "NOT_FOUND", "message": "Could not resolve to a Repository"}]}));
            }
            let nodes: Vec<Value> = state
                .threads
                .iter()
                .map(|(id, first, resolved)| {
                    let by = state.resolved_by.get(id).cloned().unwrap_or(Value::Null);
                    json!({"id": id, "isResolved": resolved, "resolvedBy": by, "comments": {"nodes": [{"databaseId": first}]}})
                })
                .collect();
            return ok(
                json!({"repository": {"pullRequest": {"reviewThreads": {"pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": nodes}}}}),
            );
        }
        ResponseTemplate::new(200).set_body_json(json!({"errors": [{"message": "unknown query"}]}))
    }
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let method = request.method.to_string();
        // Enterprise Server serves the same API under /api/v3 (and GraphQL at /api/graphql).
        let raw = request.url.path();
        let path = raw.strip_prefix("/api/v3").unwrap_or(raw);
        let path = if path == "/api/graphql" {
            "/graphql"
        } else {
            path
        };
        let path = path.replacen(
            &format!("/repositories/{REPO_ID}"),
            &format!("/repos/{OWNER}/{REPO}"),
            1,
        );
        let with_limits = |response: ResponseTemplate, remaining: u64| {
            response
                .insert_header("x-ratelimit-limit", "1000")
                .insert_header("x-ratelimit-remaining", remaining.to_string())
                .insert_header("x-ratelimit-used", (1000 - remaining).to_string())
                .insert_header("x-ratelimit-reset", "4102444800")
                .insert_header("x-ratelimit-resource", "core")
        };
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v == format!("Bearer {}", state.token) || v == format!("token {}", state.token)
            });
        if !authorized {
            return error(401, "Bad credentials", &[]);
        }
        if request.headers.get("user-agent").is_none() {
            return error(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header", &[]);
        }
        if let Some(response) = take_injection(&mut state.injections, &method, &path) {
            return response;
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let repo = format!("/repos/{OWNER}/{REPO}");
        let pr = format!("{repo}/pulls/{PR}");
        let issue = format!("{repo}/issues/{PR}");
        let remaining = 1000 - state.next_id % 1000;
        if path == "/graphql" && method == "POST" {
            return with_limits(Self::graphql(&mut state, &body), remaining);
        }
        let writes = method != "GET";
        if writes && state.read_only {
            return error(403, "Resource not accessible by integration", &[]);
        }
        let response = match (method.as_str(), path.as_str()) {
            // An installation token cannot ask who it is.
            ("GET", "/user") => match &state.user_login {
                Some(login) => ResponseTemplate::new(200)
                    .set_body_json(json!({"login": login, "id": 1234, "type": "User"})),
                None => error(403, "Resource not accessible by integration", &[]),
            },
            ("GET", p) if p == pr => ResponseTemplate::new(200).set_body_json(json!({
                "number": PR, "state": "open", "draft": false,
                "head": {"sha": state.head_sha, "ref": "feature", "label": "acme:feature"},
                "base": {"sha": state.base_sha, "ref": "main", "label": "acme:main"},
            })),
            // The pull requests a commit belongs to: open ones, with their head repository.
            ("GET", p) if p.starts_with(&format!("{repo}/commits/")) && p.ends_with("/pulls") => {
                let sha = &p[repo.len() + "/commits/".len()..p.len() - "/pulls".len()];
                let pulls: Vec<Value> = if sha == state.head_sha {
                    vec![json!({
                        "number": PR, "state": "open",
                        "head": {"sha": state.head_sha, "ref": "feature",
                                 "repo": {"full_name": state.head_repo}},
                        "base": {"sha": state.base_sha, "ref": "main",
                                 "repo": {"full_name": format!("{OWNER}/{REPO}")}},
                    })]
                } else {
                    Vec::new()
                };
                self.page(request, &path, &pulls)
            }
            ("GET", p) if p == format!("{pr}/files") => {
                self.page(request, &path, &state.files.clone())
            }
            ("GET", p) if p == format!("{pr}/comments") => {
                self.page(request, &path, &state.review_comments.clone())
            }
            ("GET", p) if p == format!("{issue}/comments") => {
                self.page(request, &path, &state.issue_comments.clone())
            }
            ("POST", p) if p == format!("{pr}/reviews") => {
                if body["commit_id"] != state.head_sha {
                    return error(
                        422,
                        "Unprocessable Entity",
                        &["commit_id is not part of the pull request"],
                    );
                }
                let event = body["event"].as_str().unwrap_or("PENDING");
                if !["COMMENT", "REQUEST_CHANGES", "APPROVE"].contains(&event)
                    || body["body"].as_str().is_none_or(str::is_empty)
                {
                    return error(
                        422,
                        "Unprocessable Entity",
                        &["body is required for COMMENT and REQUEST_CHANGES"],
                    );
                }
                let comments = body["comments"].as_array().cloned().unwrap_or_default();
                for comment in &comments {
                    if let Err(message) = Self::anchor_ok(&state, comment) {
                        state.refusals.push(message.to_string());
                        return error(422, "Unprocessable Entity", &[message]);
                    }
                }
                state.next_id += 1;
                let review_id = state.next_id;
                for comment in &comments {
                    Self::store_comment(&mut state, comment, Some(review_id));
                }
                let review = json!({"id": review_id, "state": if event == "COMMENT" { "COMMENTED" } else { "CHANGES_REQUESTED" }, "body": body["body"], "commit_id": state.head_sha, "user": user(&state)});
                state.reviews.push(review.clone());
                ResponseTemplate::new(200).set_body_json(review)
            }
            ("POST", p) if p == format!("{pr}/comments") => {
                if body["commit_id"] != state.head_sha {
                    return error(
                        422,
                        "Unprocessable Entity",
                        &["commit_id is not part of the pull request"],
                    );
                }
                if let Err(message) = Self::anchor_ok(&state, &body) {
                    state.refusals.push(message.to_string());
                    return error(422, "Validation Failed", &[message]);
                }
                let stored = Self::store_comment(&mut state, &body, None);
                ResponseTemplate::new(201).set_body_json(stored)
            }
            ("PATCH", p) if p.starts_with(&format!("{repo}/pulls/comments/")) => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap_or(0);
                match state.review_comments.iter_mut().find(|c| c["id"] == id) {
                    Some(c) => {
                        c["body"] = body["body"].clone();
                        ResponseTemplate::new(200).set_body_json(c.clone())
                    }
                    None => error(404, "Not Found", &[]),
                }
            }
            ("POST", p) if p == format!("{issue}/comments") => {
                if body["body"].as_str().is_some_and(|b| b.len() > 65_536) {
                    return error(
                        422,
                        "Validation Failed",
                        &["Body is too long (maximum is 65536 characters)"],
                    );
                }
                state.next_id += 1;
                let comment =
                    json!({"id": state.next_id, "body": body["body"], "user": user(&state)});
                state.issue_comments.push(comment.clone());
                ResponseTemplate::new(201).set_body_json(comment)
            }
            ("PATCH", p) | ("DELETE", p) if p.starts_with(&format!("{repo}/issues/comments/")) => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap_or(0);
                let Some(index) = state.issue_comments.iter().position(|c| c["id"] == id) else {
                    return error(404, "Not Found", &[]);
                };
                if method == "DELETE" {
                    state.issue_comments.remove(index);
                    ResponseTemplate::new(204)
                } else {
                    state.issue_comments[index]["body"] = body["body"].clone();
                    ResponseTemplate::new(200).set_body_json(state.issue_comments[index].clone())
                }
            }
            ("POST", p) if p == format!("{repo}/check-runs") => {
                if body["name"].as_str().is_none() || body["head_sha"] != state.head_sha {
                    return error(
                        422,
                        "Validation Failed",
                        &["name and head_sha are required"],
                    );
                }
                if let Some(refused) = over_50_annotations(&body) {
                    return refused;
                }
                state.next_id += 1;
                let run = json!({"id": state.next_id, "name": body["name"], "head_sha": body["head_sha"], "status": body["status"], "conclusion": body["conclusion"]});
                state.check_runs.push(body.clone());
                ResponseTemplate::new(201).set_body_json(run)
            }
            ("PATCH", p) if p.starts_with(&format!("{repo}/check-runs/")) => {
                if let Some(refused) = over_50_annotations(&body) {
                    return refused;
                }
                state.check_runs.push(body.clone());
                ResponseTemplate::new(200).set_body_json(json!({"id": 1}))
            }
            _ => error(404, "Not Found", &[]),
        };
        with_limits(response, remaining)
    }
}
