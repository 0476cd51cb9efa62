//! A local stand-in for Jira on 127.0.0.1 (wiremock), as Cloud (REST v3,
//! ADF comment bodies, Basic `email:token`, moved issues answered under
//! their new key) or as Data Center (REST v2, wiki-markup strings, Bearer
//! PAT), optionally under a context path (`/jira`). It keeps issues with a
//! status, a workflow of transitions (`id`, `name`, `to.name`,
//! `to.statusCategory.key`), comments (paged, with entity properties on
//! Cloud), and answers as Jira does: 204 for a transition (which changes the
//! status), 201/200 for comments, 404 for an unknown or invisible issue, an
//! empty transitions list without permission, 400 with field errors for a
//! screen's required fields, 401 for bad credentials. Every request is recorded.

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use wiremock::{Request, Respond, ResponseTemplate};

pub use super::fake_server::Injection;
use super::fake_server::{serve, take_injection};

pub const EMAIL: &str = "bot@example.com";
pub const CLOUD_ME: &str = "557058:tollgate-bot";
pub const DC_ME_KEY: &str = "JIRAUSER10100";
pub const DC_ME_NAME: &str = "tollgate-bot";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Cloud,
    DataCenter,
}

/// The workflow every issue follows unless it has its own: (id, name, to).
pub const WORKFLOW: &[(&str, &str, &str)] = &[
    ("11", "Start progress", "In Progress"),
    ("21", "Send to review", "In Review"),
    ("31", "Finish", "Done"),
    ("41", "Reopen", "To Do"),
];

#[derive(Debug, Clone, Default)]
pub struct Issue {
    pub status: String,
    /// Its own transitions instead of [`WORKFLOW`] (empty: the token may not transition).
    pub transitions: Option<Vec<(String, String, String)>>,
    /// Fields the transition screen requires: a transition answers 400 naming them.
    pub required_fields: Vec<String>,
    pub comments: Vec<Value>,
}

#[derive(Default)]
pub struct State {
    pub token: String,
    /// The Data Center `deploymentType` (`Server` or `DataCenter`).
    pub dc_type: String,
    /// By current key.
    pub issues: BTreeMap<String, Issue>,
    /// Old key → new key (Cloud answers the old key with the moved issue).
    pub moved: HashMap<String, String>,
    /// The most comments a page holds, whatever `maxResults` asks.
    pub page_size: usize,
    pub next_id: u64,
    pub injections: VecDeque<Injection>,
}

pub struct FakeJira {
    pub server: wiremock::MockServer,
    pub state: Arc<Mutex<State>>,
    pub runtime: tokio::runtime::Runtime,
    pub flavor: Flavor,
    /// The context path (`""` or `/jira`).
    pub prefix: String,
}

/// A recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path below the context path, with its query.
    pub path: String,
    pub body: Value,
    pub authorization: Option<String>,
}

impl FakeJira {
    pub fn start(flavor: Flavor, token: &str) -> FakeJira {
        FakeJira::start_at(flavor, token, "")
    }

    pub fn start_at(flavor: Flavor, token: &str, prefix: &str) -> FakeJira {
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            dc_type: "Server".into(),
            page_size: 50,
            next_id: 10_000,
            ..State::default()
        }));
        let (server, runtime) = serve(|_| Handler {
            state: state.clone(),
            flavor,
            prefix: prefix.to_string(),
        });
        FakeJira {
            server,
            state,
            runtime,
            flavor,
            prefix: prefix.to_string(),
        }
    }

    /// The base URL, as `jira.url` names it.
    pub fn url(&self) -> String {
        format!("{}{}", self.server.uri(), self.prefix)
    }

    pub fn run<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn inject(&self, injection: Injection) {
        self.with(|s| s.injections.push_back(injection));
    }

    pub fn add_issue(&self, key: &str, status: &str) {
        self.with(|s| {
            s.issues.insert(
                key.into(),
                Issue {
                    status: status.into(),
                    ..Issue::default()
                },
            )
        });
    }

    pub fn issue(&self, key: &str) -> Issue {
        self.with(|s| s.issues[key].clone())
    }

    /// A comment as if written earlier, by the token's user or someone else.
    pub fn seed_comment(&self, key: &str, mine: bool, body: Value, properties: Value) {
        let flavor = self.flavor;
        self.with(|s| {
            s.next_id += 1;
            let comment = comment(flavor, s.next_id, mine, body, properties);
            s.issues.get_mut(key).unwrap().comments.push(comment);
        });
    }

    pub fn requests(&self) -> Vec<Recorded> {
        let requests = self
            .runtime
            .block_on(self.server.received_requests())
            .unwrap_or_default();
        requests
            .iter()
            .map(|r| {
                let path = r.url.path();
                let path = path.strip_prefix(self.prefix.as_str()).unwrap_or(path);
                let path = match r.url.query() {
                    Some(q) => format!("{path}?{q}"),
                    None => path.to_string(),
                };
                Recorded {
                    method: r.method.to_string(),
                    path,
                    body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                    authorization: r
                        .headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(String::from),
                }
            })
            .collect()
    }

    /// (method, path) of every write so far.
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }

    pub fn reset_requests(&self) {
        self.runtime.block_on(self.server.reset());
        self.runtime.block_on(
            wiremock::Mock::given(wiremock::matchers::any())
                .respond_with(Handler {
                    state: self.state.clone(),
                    flavor: self.flavor,
                    prefix: self.prefix.clone(),
                })
                .mount(&self.server),
        );
    }
}

/// Standard base64, for checking `Authorization: Basic`.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn me(flavor: Flavor) -> Value {
    match flavor {
        Flavor::Cloud => {
            json!({"accountId": CLOUD_ME, "displayName": "tollgate bot", "active": true})
        }
        Flavor::DataCenter => {
            json!({"key": DC_ME_KEY, "name": DC_ME_NAME, "displayName": "tollgate bot", "active": true})
        }
    }
}

fn someone(flavor: Flavor) -> Value {
    match flavor {
        Flavor::Cloud => json!({"accountId": "557058:someone", "displayName": "Someone"}),
        Flavor::DataCenter => {
            json!({"key": "JIRAUSER10200", "name": "someone", "displayName": "Someone"})
        }
    }
}

fn comment(flavor: Flavor, id: u64, mine: bool, body: Value, properties: Value) -> Value {
    let author = if mine { me(flavor) } else { someone(flavor) };
    json!({
        "id": id.to_string(), "author": author, "updateAuthor": author, "body": body,
        "created": "2026-01-01T00:00:00.000+0000", "updated": "2026-01-01T00:00:00.000+0000",
        "properties": if properties.is_null() { json!([]) } else { properties },
    })
}

fn category(status: &str) -> &'static str {
    match status {
        "To Do" | "Open" => "new",
        "Done" | "Closed" => "done",
        _ => "indeterminate",
    }
}

fn errors(status: u16, messages: &[&str], fields: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"errorMessages": messages, "errors": fields}))
}

struct Handler {
    state: Arc<Mutex<State>>,
    flavor: Flavor,
    prefix: String,
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        self.answer(&mut state, request)
    }
}

impl Handler {
    fn authorized(&self, state: &State, request: &Request) -> bool {
        let header = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let expected = match self.flavor {
            Flavor::Cloud => format!(
                "Basic {}",
                base64(format!("{EMAIL}:{}", state.token).as_bytes())
            ),
            Flavor::DataCenter => format!("Bearer {}", state.token),
        };
        header == Some(expected.as_str())
    }

    fn answer(&self, state: &mut State, request: &Request) -> ResponseTemplate {
        let method = request.method.to_string();
        let Some(path) = request.url.path().strip_prefix(self.prefix.as_str()) else {
            return ResponseTemplate::new(404).set_body_string("<html>Not found</html>");
        };
        if let Some(response) = take_injection(&mut state.injections, &method, path) {
            return response;
        }
        if !self.authorized(state, request) {
            return ResponseTemplate::new(401)
                .set_body_string("Client must be authenticated to access this resource.");
        }
        let api = match self.flavor {
            Flavor::Cloud => "/rest/api/3/",
            Flavor::DataCenter => "/rest/api/2/",
        };
        if path == "/rest/api/2/serverInfo" && method == "GET" {
            let kind = match self.flavor {
                Flavor::Cloud => "Cloud".to_string(),
                Flavor::DataCenter => state.dc_type.clone(),
            };
            return ResponseTemplate::new(200).set_body_json(json!({
                "baseUrl": "https://jira.example.com", "version": "1001.0.0",
                "deploymentType": kind, "serverTitle": "Jira",
            }));
        }
        let Some(rest) = path.strip_prefix(api) else {
            return errors(404, &["Null for uri"], json!({}));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let query: HashMap<String, String> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        match (method.as_str(), parts.as_slice()) {
            ("GET", ["myself"]) => ResponseTemplate::new(200).set_body_json(me(self.flavor)),
            (_, ["issue", key, tail @ ..]) => {
                let named = key.to_string();
                let key = match (self.flavor, state.moved.get(&named)) {
                    (Flavor::Cloud, Some(new)) => new.clone(),
                    _ => named,
                };
                if !state.issues.contains_key(&key) {
                    return errors(
                        404,
                        &["Issue does not exist or you do not have permission to see it."],
                        json!({}),
                    );
                }
                self.issue(state, &method, &key, tail, &query, body)
            }
            _ => errors(404, &["Null for uri"], json!({})),
        }
    }

    fn issue(
        &self,
        state: &mut State,
        method: &str,
        key: &str,
        tail: &[&str],
        query: &HashMap<String, String>,
        body: Value,
    ) -> ResponseTemplate {
        let flavor = self.flavor;
        let page_size = state.page_size;
        state.next_id += 1;
        let next_id = state.next_id;
        let issue = state.issues.get_mut(key).unwrap();
        let transitions: Vec<(String, String, String)> =
            issue.transitions.clone().unwrap_or_else(|| {
                WORKFLOW
                    .iter()
                    .filter(|(_, _, to)| *to != issue.status)
                    .map(|(id, name, to)| (id.to_string(), name.to_string(), to.to_string()))
                    .collect()
            });
        match (method, tail) {
            ("GET", []) => ResponseTemplate::new(200).set_body_json(json!({
                "id": "10001", "key": key,
                "fields": {"status": {"name": issue.status, "id": "1",
                    "statusCategory": {"key": category(&issue.status)}}},
            })),
            ("GET", ["transitions"]) => {
                let list: Vec<Value> = transitions
                    .iter()
                    .map(|(id, name, to)| {
                        json!({"id": id, "name": name, "hasScreen": false, "isAvailable": true,
                            "to": {"id": "9", "name": to, "statusCategory": {"key": category(to)}}})
                    })
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({"transitions": list}))
            }
            ("POST", ["transitions"]) => {
                let id = match &body["transition"]["id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let Some((_, _, to)) = transitions.iter().find(|(t, _, _)| *t == id) else {
                    return errors(
                        400,
                        &[&format!(
                            "Transition id '{id}' is not valid for this issue."
                        )],
                        json!({}),
                    );
                };
                if !issue.required_fields.is_empty() {
                    let fields: serde_json::Map<String, Value> = issue
                        .required_fields
                        .iter()
                        .map(|f| (f.clone(), json!(format!("{f} is required."))))
                        .collect();
                    return errors(400, &[], Value::Object(fields));
                }
                issue.status = to.clone();
                ResponseTemplate::new(204)
            }
            ("GET", ["comment"]) => {
                let start = query
                    .get("startAt")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0usize);
                let max = query
                    .get("maxResults")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(50usize)
                    .min(page_size);
                let expand = query
                    .get("expand")
                    .is_some_and(|e| e.contains("properties"));
                let page: Vec<Value> = issue
                    .comments
                    .iter()
                    .skip(start)
                    .take(max)
                    .map(|c| {
                        let mut c = c.clone();
                        if !expand || flavor == Flavor::DataCenter {
                            c.as_object_mut().unwrap().remove("properties");
                        }
                        c
                    })
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({
                    "startAt": start, "maxResults": max, "total": issue.comments.len(),
                    "comments": page,
                }))
            }
            ("POST", ["comment"]) => {
                if let Some(refusal) = refuse_body(flavor, &body["body"]) {
                    return refusal;
                }
                let properties = if flavor == Flavor::Cloud {
                    body["properties"].clone()
                } else {
                    Value::Null
                };
                let comment = comment(flavor, next_id, true, body["body"].clone(), properties);
                issue.comments.push(comment.clone());
                ResponseTemplate::new(201).set_body_json(comment)
            }
            ("PUT", ["comment", id]) => {
                if let Some(refusal) = refuse_body(flavor, &body["body"]) {
                    return refusal;
                }
                let Some(existing) = issue.comments.iter_mut().find(|c| c["id"] == *id) else {
                    return errors(404, &["Can not find a comment for the id."], json!({}));
                };
                let mine = match flavor {
                    Flavor::Cloud => existing["author"]["accountId"] == CLOUD_ME,
                    Flavor::DataCenter => existing["author"]["key"] == DC_ME_KEY,
                };
                if !mine {
                    return errors(
                        400,
                        &["You do not have the permission to edit this comment."],
                        json!({}),
                    );
                }
                existing["body"] = body["body"].clone();
                if flavor == Flavor::Cloud && body["properties"].is_array() {
                    existing["properties"] = body["properties"].clone();
                }
                ResponseTemplate::new(200).set_body_json(existing.clone())
            }
            _ => errors(404, &["Null for uri"], json!({})),
        }
    }
}

/// Cloud v3 takes an ADF document, Data Center v2 a wiki-markup string.
fn refuse_body(flavor: Flavor, body: &Value) -> Option<ResponseTemplate> {
    let ok = match flavor {
        Flavor::Cloud => {
            body["type"] == "doc" && body["version"] == 1 && body["content"].is_array()
        }
        Flavor::DataCenter => body.as_str().is_some_and(|s| !s.trim().is_empty()),
    };
    (!ok).then(|| errors(400, &[], json!({"comment": "Comment body is not valid!"})))
}
