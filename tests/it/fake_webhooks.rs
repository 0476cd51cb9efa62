//! Local stand-ins for Slack and Discord incoming webhooks on 127.0.0.1
//! (wiremock) that check a message the way the platforms do: Slack answers
//! 400 `invalid_payload` for a section text over 3,000 characters or more
//! than 50 blocks; Discord answers 400 with code 50035 for `content` over
//! 2,000 characters or embeds over their limits (6,000 in all). Queued
//! answers (429 with `Retry-After`, 404…) come first. Every request is recorded.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use wiremock::{Request, Respond, ResponseTemplate};

pub const SLACK_PATH: &str = "/services/T0001/B0001/sl4ckS3cretT0ken";
pub const DISCORD_PATH: &str = "/api/webhooks/1234/d1sc0rdS3cretT0ken";

/// A canned answer for the next request to one platform.
pub struct Canned {
    pub slack: bool,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

#[derive(Default)]
struct State {
    queued: VecDeque<Canned>,
}

pub struct FakeWebhooks {
    server: wiremock::MockServer,
    state: Arc<Mutex<State>>,
    runtime: tokio::runtime::Runtime,
}

impl FakeWebhooks {
    pub fn start() -> FakeWebhooks {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(wiremock::MockServer::start());
        let state = Arc::new(Mutex::new(State::default()));
        runtime.block_on(
            wiremock::Mock::given(wiremock::matchers::any())
                .respond_with(Handler {
                    state: state.clone(),
                })
                .mount(&server),
        );
        FakeWebhooks {
            server,
            state,
            runtime,
        }
    }

    pub fn slack_url(&self) -> String {
        format!("{}{SLACK_PATH}", self.server.uri())
    }

    pub fn discord_url(&self) -> String {
        format!("{}{DISCORD_PATH}", self.server.uri())
    }

    /// The next request to Slack (or Discord) gets this answer.
    pub fn queue(&self, slack: bool, status: u16, headers: &[(&'static str, &str)], body: &str) {
        self.state.lock().unwrap().queued.push_back(Canned {
            slack,
            status,
            headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            body: body.to_string(),
        });
    }

    /// Requests so far: (path with query, JSON body), Slack's then Discord's.
    fn requests(&self, path: &str) -> Vec<(String, Value)> {
        self.runtime
            .block_on(self.server.received_requests())
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == path)
            .map(|r| {
                let full = match r.url.query() {
                    Some(q) => format!("{}?{q}", r.url.path()),
                    None => r.url.path().to_string(),
                };
                (full, serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            })
            .collect()
    }

    pub fn slack(&self) -> Vec<(String, Value)> {
        self.requests(SLACK_PATH)
    }

    pub fn discord(&self) -> Vec<(String, Value)> {
        self.requests(DISCORD_PATH)
    }
}

struct Handler {
    state: Arc<Mutex<State>>,
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// Slack's checks of an incoming-webhook message: None when it is accepted.
fn slack_refusal(body: &Value) -> Option<&'static str> {
    if body["text"].as_str().is_none() && body["blocks"].as_array().is_none() {
        return Some("no_text");
    }
    let blocks = body["blocks"].as_array().cloned().unwrap_or_default();
    let too_long = blocks.iter().any(|b| {
        chars(&b["text"]["text"]) > 3_000
            || b["fields"]
                .as_array()
                .is_some_and(|f| f.len() > 10 || f.iter().any(|f| chars(&f["text"]) > 2_000))
    });
    (blocks.len() > 50 || too_long).then_some("invalid_payload")
}

/// Discord's checks of an execute-webhook body: None when it is accepted.
fn discord_refusal(body: &Value) -> Option<Value> {
    let error = |field: &str| {
        Some(
            json!({"code": 50035, "message": "Invalid Form Body", "errors": {field: {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be shorter"}]}}}),
        )
    };
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if chars(&body["content"]) == 0 && embeds.is_empty() {
        return Some(json!({"code": 50006, "message": "Cannot send an empty message"}));
    }
    if chars(&body["content"]) > 2_000 {
        return error("content");
    }
    if embeds.len() > 10 {
        return error("embeds");
    }
    let mut total = 0;
    for embed in &embeds {
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        if chars(&embed["title"]) > 256
            || chars(&embed["description"]) > 4_096
            || fields.len() > 25
            || fields
                .iter()
                .any(|f| chars(&f["name"]) > 256 || chars(&f["value"]) > 1_024)
        {
            return error("embeds");
        }
        total += chars(&embed["title"])
            + chars(&embed["description"])
            + chars(&embed["footer"]["text"])
            + fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
    }
    if total > 6_000 {
        return error("embeds");
    }
    None
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let slack = request.url.path() == SLACK_PATH;
        if !slack && request.url.path() != DISCORD_PATH {
            return ResponseTemplate::new(404).set_body_string("no_service");
        }
        let canned = {
            let mut state = self.state.lock().unwrap();
            let at = state.queued.iter().position(|c| c.slack == slack);
            at.and_then(|at| state.queued.remove(at))
        };
        if let Some(canned) = canned {
            let mut answer = ResponseTemplate::new(canned.status).set_body_string(canned.body);
            for (name, value) in canned.headers {
                answer = answer.insert_header(name, value.as_str());
            }
            return answer;
        }
        let json_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400).set_body_string("invalid_payload");
        };
        if slack {
            match (json_type, slack_refusal(&body)) {
                (false, _) => ResponseTemplate::new(400).set_body_string("invalid_payload"),
                (true, Some(error)) => ResponseTemplate::new(400).set_body_string(error),
                (true, None) => ResponseTemplate::new(200).set_body_string("ok"),
            }
        } else {
            match discord_refusal(&body) {
                Some(error) => ResponseTemplate::new(400).set_body_json(error),
                None if request.url.query().is_some_and(|q| q.contains("wait=true")) => {
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"id": "1", "content": body["content"]}))
                }
                None => ResponseTemplate::new(204),
            }
        }
    }
}

#[test]
fn the_fakes_refuse_what_the_platforms_refuse() {
    let long = "x".repeat(3_001);
    assert_eq!(
        slack_refusal(
            &json!({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": long}}]})
        ),
        Some("invalid_payload")
    );
    assert_eq!(slack_refusal(&json!({"text": "ok"})), None);
    let code = |body: Value| discord_refusal(&body).map(|e| e["code"].clone());
    assert_eq!(
        code(json!({"content": "x".repeat(2_001)})),
        Some(json!(50035))
    );
    let big =
        json!({"embeds": [{"description": "x".repeat(4_000)}, {"description": "x".repeat(2_001)}]});
    assert_eq!(code(big), Some(json!(50035)));
    assert_eq!(code(json!({"content": "ok"})), None);
}
