//! A local stand-in for the GitLab REST API v4 on 127.0.0.1 (wiremock),
//! optionally under a path prefix (`/gitlab/api/v4`): the merge request
//! endpoints a review uses, with GitLab's shapes, `x-next-page` pagination,
//! `PRIVATE-TOKEN` auth, and diff positions validated the way GitLab does
//! (400 `line_code` errors). What is posted is kept, so a second run sees it,
//! and every request is recorded.

use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use wiremock::{Request, Respond, ResponseTemplate};

pub const PROJECT_ID: u64 = 42;
pub const PROJECT_PATH: &str = "acme/app";
pub const MR_IID: u64 = 7;
/// The token's own user.
pub const ME: u64 = 11;
/// Someone else on the merge request.
pub const OTHER: u64 = 12;
pub const LINE_CODE_ERROR: &str =
    "400 Bad request - Note {:line_code=>[\"can't be blank\", \"must be a valid line code\"]}";

/// A canned answer, as for the fake GitHub (a string body is sent as text).
pub use super::fake_server::Injection;
use super::fake_server::{serve, take_injection};

#[derive(Default)]
pub struct State {
    pub token: String,
    pub base_sha: String,
    pub start_sha: String,
    pub head_sha: String,
    /// Entries of `GET …/diffs`.
    pub diffs: Vec<Value>,
    /// Every discussion, with its notes (the summary note is an individual one).
    pub discussions: Vec<Value>,
    pub next_id: u64,
    pub injections: VecDeque<Injection>,
    /// Positions answered 400, with the reason.
    pub refusals: Vec<String>,
}

pub struct FakeGitLab {
    pub server: wiremock::MockServer,
    pub state: Arc<Mutex<State>>,
    pub runtime: tokio::runtime::Runtime,
    /// The API root's path: `/api/v4`, or with a prefix before it.
    pub api_path: String,
    /// Requests already handed out by [`FakeGitLab::new_writes`].
    seen: Mutex<usize>,
}

/// A diff entry as `GET …/merge_requests/:iid/diffs` lists it.
pub fn diff_entry(new_path: &str, diff: &str) -> Value {
    json!({
        "old_path": new_path, "new_path": new_path,
        "a_mode": "100644", "b_mode": "100644",
        "new_file": false, "renamed_file": false, "deleted_file": false,
        "generated_file": false, "diff": diff,
    })
}

impl FakeGitLab {
    pub fn start(token: &str) -> FakeGitLab {
        FakeGitLab::start_at(token, "")
    }

    /// Serves the API under `prefix` (such as `/gitlab`) before `/api/v4`.
    pub fn start_at(token: &str, prefix: &str) -> FakeGitLab {
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            base_sha: "b".repeat(40),
            start_sha: "5".repeat(40),
            head_sha: "a".repeat(40),
            next_id: 1000,
            ..State::default()
        }));
        let api_path = format!("{prefix}/api/v4");
        let (server, runtime) = serve(|_| Handler {
            state: state.clone(),
            api_path: api_path.clone(),
        });
        FakeGitLab {
            server,
            state,
            runtime,
            api_path,
            seen: Mutex::new(0),
        }
    }

    /// The API root, as `CI_API_V4_URL` would give it.
    pub fn api_url(&self) -> String {
        format!("{}{}", self.server.uri(), self.api_path)
    }

    /// Runs a future on the fake's runtime (the server answers meanwhile).
    pub fn run<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn inject(&self, injection: Injection) {
        self.with(|s| s.injections.push_back(injection));
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// A discussion whose first note is by `author`, as if posted earlier.
    pub fn seed_discussion(&self, author: u64, body: &str) -> (String, u64) {
        self.with(|s| {
            let note = new_note(s, author, body, "DiffNote", Value::Null);
            let id = note["id"].as_u64().unwrap();
            let discussion_id = format!("{:040x}", id);
            s.discussions
                .push(json!({"id": discussion_id, "individual_note": false, "notes": [note]}));
            (discussion_id, id)
        })
    }

    /// Every request so far: (method, path with query, body as JSON; a form
    /// body becomes an object of its fields).
    pub fn requests(&self) -> Vec<(String, String, Value)> {
        let requests = self
            .runtime
            .block_on(self.server.received_requests())
            .unwrap_or_default();
        requests
            .iter()
            .map(|r| {
                let path = match r.url.query().filter(|q| !q.is_empty()) {
                    Some(q) => format!("{}?{q}", r.url.path()),
                    None => r.url.path().to_string(),
                };
                (r.method.to_string(), path, body_of(&r.body))
            })
            .collect()
    }

    /// The writes since the last call of this method.
    pub fn new_writes(&self) -> Vec<(String, String, Value)> {
        let requests = self.requests();
        let mut seen = self.seen.lock().unwrap();
        let new = requests[*seen..].to_vec();
        *seen = requests.len();
        new.into_iter().filter(|(m, _, _)| m != "GET").collect()
    }

    /// The writes (anything but GET) so far.
    pub fn writes(&self) -> Vec<(String, String, Value)> {
        self.requests()
            .into_iter()
            .filter(|(m, _, _)| m != "GET")
            .collect()
    }
}

/// A JSON body, or a form body as an object of its fields.
fn body_of(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| {
        Value::Object(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    })
}

fn user(id: u64) -> Value {
    let name = if id == ME { "tollgate-bot" } else { "someone" };
    json!({"id": id, "username": name, "name": name, "state": "active"})
}

fn new_note(state: &mut State, author: u64, body: &str, kind: &str, position: Value) -> Value {
    state.next_id += 1;
    let diff = kind == "DiffNote";
    json!({
        "id": state.next_id, "type": if diff { json!(kind) } else { Value::Null },
        "body": body, "author": user(author), "system": false,
        "resolvable": diff, "resolved": false, "resolved_by": null,
        "noteable_type": "MergeRequest", "noteable_iid": MR_IID, "position": position,
    })
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "message": message }))
}

/// (old line, new line) of every line of a diff: removed lines have no new
/// number, added lines no old one. Written apart from tollgate's parser, so
/// it checks it.
fn diff_lines(diff: &str) -> Vec<(Option<u64>, Option<u64>)> {
    let mut out = Vec::new();
    let (mut old, mut new) = (0u64, 0u64);
    for line in diff.lines() {
        if let Some(header) = line.strip_prefix("@@ -") {
            let mut parts = header.split(' ');
            let number = |p: Option<&str>| -> u64 {
                p.and_then(|p| p.trim_start_matches('+').split(',').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            };
            old = number(parts.next());
            new = number(parts.next());
            continue;
        }
        match line.as_bytes().first() {
            Some(b'+') => {
                out.push((None, Some(new)));
                new += 1;
            }
            Some(b'-') => {
                out.push((Some(old), None));
                old += 1;
            }
            Some(b'\\') => {}
            _ => {
                out.push((Some(old), Some(new)));
                old += 1;
                new += 1;
            }
        }
    }
    out
}

struct Handler {
    state: Arc<Mutex<State>>,
    api_path: String,
}

impl Handler {
    /// A page of `items` with GitLab's pagination headers.
    fn page(request: &Request, items: &[Value]) -> ResponseTemplate {
        let query = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let per_page = query("per_page").unwrap_or(20).clamp(1, 100);
        let page = query("page").unwrap_or(1).max(1);
        let pages = items.len().div_ceil(per_page).max(1);
        let slice: Vec<Value> = items
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .cloned()
            .collect();
        let next = if page < pages {
            (page + 1).to_string()
        } else {
            String::new()
        };
        let prev = if page > 1 {
            (page - 1).to_string()
        } else {
            String::new()
        };
        ResponseTemplate::new(200)
            .set_body_json(Value::Array(slice))
            .insert_header("x-page", page.to_string())
            .insert_header("x-per-page", per_page.to_string())
            .insert_header("x-next-page", next)
            .insert_header("x-prev-page", prev)
            .insert_header("x-total", items.len().to_string())
            .insert_header("x-total-pages", pages.to_string())
    }

    /// Checks a new discussion's position as GitLab does; Err is GitLab's 400 message.
    fn position_ok(state: &State, form: &HashMap<String, String>) -> Result<Value, String> {
        let get = |k: &str| form.get(&format!("position[{k}]")).cloned();
        if get("position_type").is_none() {
            return Ok(Value::Null);
        }
        let refuse = || Err(LINE_CODE_ERROR.to_string());
        if get("position_type").as_deref() != Some("text")
            || get("base_sha").as_deref() != Some(&state.base_sha)
            || get("start_sha").as_deref() != Some(&state.start_sha)
            || get("head_sha").as_deref() != Some(&state.head_sha)
        {
            return refuse();
        }
        let (Some(new_path), Some(old_path)) = (get("new_path"), get("old_path")) else {
            return refuse();
        };
        let Some(entry) = state
            .diffs
            .iter()
            .find(|d| d["new_path"] == new_path.as_str() && d["old_path"] == old_path.as_str())
        else {
            return refuse();
        };
        let number = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok());
        let (old_line, new_line) = (number("old_line"), number("new_line"));
        let lines = diff_lines(entry["diff"].as_str().unwrap_or_default());
        let ok = match (old_line, new_line) {
            (None, Some(new)) => lines.contains(&(None, Some(new))),
            (Some(old), Some(new)) => lines.contains(&(Some(old), Some(new))),
            (Some(old), None) => lines.contains(&(Some(old), None)),
            (None, None) => false,
        };
        if !ok {
            return refuse();
        }
        Ok(json!({
            "base_sha": state.base_sha, "start_sha": state.start_sha, "head_sha": state.head_sha,
            "position_type": "text", "old_path": old_path, "new_path": new_path,
            "old_line": old_line, "new_line": new_line,
        }))
    }

    fn answer(&self, state: &mut State, request: &Request) -> ResponseTemplate {
        let method = request.method.to_string();
        let Some(path) = request.url.path().strip_prefix(&self.api_path) else {
            return error(404, "404 Not Found");
        };
        if let Some(response) = take_injection(&mut state.injections, &method, path) {
            return response;
        }
        let token = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        if token("private-token") != Some(state.token.as_str()) {
            // GitLab answers a job token on the MR endpoints as it does a bad token.
            return error(401, "401 Unauthorized");
        }
        if path == "/user" && method == "GET" {
            return ResponseTemplate::new(200).set_body_json(user(ME));
        }
        let encoded_path = PROJECT_PATH.replace('/', "%2F");
        let project_roots = [
            format!("/projects/{PROJECT_ID}"),
            format!("/projects/{encoded_path}"),
        ];
        let Some(rest) = project_roots.iter().find_map(|root| {
            path.strip_prefix(root.as_str())
                .filter(|r| r.is_empty() || r.starts_with('/'))
        }) else {
            return error(404, "404 Project Not Found");
        };
        if rest.is_empty() && method == "GET" {
            return ResponseTemplate::new(200).set_body_json(json!({
                "id": PROJECT_ID, "path_with_namespace": PROJECT_PATH,
                "web_url": format!("https://gitlab.example.com/{PROJECT_PATH}"),
            }));
        }
        let Some(rest) = rest.strip_prefix(&format!("/merge_requests/{MR_IID}")) else {
            return error(404, "404 Not found");
        };
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let query: HashMap<String, String> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        match (method.as_str(), rest) {
            ("GET", "/versions") => {
                let version = json!({
                    "id": 1, "head_commit_sha": state.head_sha, "base_commit_sha": state.base_sha,
                    "start_commit_sha": state.start_sha, "created_at": "2026-01-01T00:00:00Z",
                    "merge_request_id": 1, "state": "collected", "real_size": "1",
                });
                Self::page(request, &[version])
            }
            ("GET", "/diffs") => Self::page(request, &state.diffs),
            ("GET", "/changes") => ResponseTemplate::new(200).set_body_json(json!({
                "iid": MR_IID, "changes": state.diffs, "overflow": false,
            })),
            ("GET", "/discussions") => Self::page(request, &state.discussions),
            ("GET", "/notes") => {
                let notes: Vec<Value> = state
                    .discussions
                    .iter()
                    .flat_map(|d| d["notes"].as_array().cloned().unwrap_or_default())
                    .collect();
                Self::page(request, &notes)
            }
            ("POST", "/discussions") => {
                let position = match Self::position_ok(state, &form) {
                    Ok(position) => position,
                    Err(message) => {
                        state.refusals.push(message.clone());
                        return error(400, &message);
                    }
                };
                let body = form.get("body").cloned().unwrap_or_default();
                let kind = if position.is_null() {
                    "DiscussionNote"
                } else {
                    "DiffNote"
                };
                let note = new_note(state, ME, &body, kind, position);
                let id = format!("{:040x}", note["id"].as_u64().unwrap_or(0));
                let discussion = json!({"id": id, "individual_note": false, "notes": [note]});
                state.discussions.push(discussion.clone());
                ResponseTemplate::new(201).set_body_json(discussion)
            }
            ("POST", "/notes") => {
                let body = form.get("body").cloned().unwrap_or_default();
                let note = new_note(state, ME, &body, "", Value::Null);
                let id = format!("{:040x}", note["id"].as_u64().unwrap_or(0));
                state
                    .discussions
                    .push(json!({"id": id, "individual_note": true, "notes": [note.clone()]}));
                ResponseTemplate::new(201).set_body_json(note)
            }
            (write @ ("PUT" | "DELETE"), rest) if rest.starts_with("/notes/") => {
                let id: u64 = rest["/notes/".len()..].parse().unwrap_or(0);
                let mut found = None;
                for discussion in &mut state.discussions {
                    let notes = discussion["notes"].as_array_mut().unwrap();
                    if let Some(at) = notes.iter().position(|n| n["id"] == id) {
                        if notes[at]["author"]["id"] != ME {
                            return error(403, "403 Forbidden");
                        }
                        if write == "DELETE" {
                            notes.remove(at);
                            found = Some(Value::Null);
                        } else {
                            notes[at]["body"] =
                                json!(form.get("body").cloned().unwrap_or_default());
                            found = Some(notes[at].clone());
                        }
                        break;
                    }
                }
                state
                    .discussions
                    .retain(|d| !d["notes"].as_array().is_some_and(Vec::is_empty));
                match found {
                    Some(Value::Null) => ResponseTemplate::new(204),
                    Some(note) => ResponseTemplate::new(200).set_body_json(note),
                    None => error(404, "404 Not found"),
                }
            }
            ("PUT", rest) if rest.starts_with("/discussions/") => {
                let id = &rest["/discussions/".len()..];
                let resolved = match query.get("resolved").map(String::as_str) {
                    Some("true") => true,
                    Some("false") => false,
                    _ => return error(400, "400 Bad request - resolved is missing"),
                };
                let Some(discussion) = state.discussions.iter_mut().find(|d| d["id"] == id) else {
                    return error(404, "404 Not found");
                };
                for note in discussion["notes"].as_array_mut().unwrap() {
                    if note["resolvable"] == true {
                        note["resolved"] = json!(resolved);
                        note["resolved_by"] = if resolved { user(ME) } else { Value::Null };
                    }
                }
                ResponseTemplate::new(200).set_body_json(discussion.clone())
            }
            _ => error(404, "404 Not found"),
        }
    }
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        self.answer(&mut state, request)
    }
}
