//! What `sync` does with each key: read the issue (acting on the key Jira
//! answers with, since Cloud answers a moved issue under its new key), move
//! it to the event's status unless it is there already, then write the one
//! comment of this change and event, or edit it in place, or leave it when
//! nothing changed. Every failure of one issue is a one-line reason naming
//! the issue and what to do; bad credentials, an unreachable Jira or a spent
//! time limit stop the whole sync.

use crate::jira::body;
use crate::jira::client::{Answer, Client, ClientError};
use crate::jira::{
    Change, Credentials, Deployment, Event, IssueOutcome, JiraConfig, JiraError, OnEvent, Options,
    Outcome,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The entity property a Cloud comment carries (`properties` on create).
const PROPERTY: &str = "tollgate";
/// Comments read per page, and the most pages read per issue.
const PAGE: usize = 100;
const MAX_PAGES: usize = 50;

/// Why one step stopped: this issue only, or the whole sync.
enum Stop {
    Issue(String),
    All(JiraError),
}

type Step<T> = Result<T, Stop>;

/// Who the token is: comments by anyone else never count as ours.
#[derive(Debug, Clone, Default)]
struct Me {
    account_id: Option<String>,
    key: Option<String>,
    name: Option<String>,
}

impl Me {
    fn wrote(&self, comment: &Value) -> bool {
        let author = &comment["author"];
        let same = |mine: &Option<String>, field: &str| {
            mine.as_deref()
                .is_some_and(|m| author[field].as_str() == Some(m))
        };
        same(&self.account_id, "accountId")
            || same(&self.key, "key")
            || (self.key.is_none() && same(&self.name, "name"))
    }
}

/// One available transition.
#[derive(Debug, Clone)]
struct Transition {
    id: String,
    name: String,
    to: String,
}

impl Transition {
    fn label(&self) -> String {
        format!("{} ({})", self.name, self.id)
    }
}

struct Run<'a> {
    client: Client,
    api: &'static str,
    deployment: Deployment,
    action: &'a OnEvent,
    dry_run: bool,
    event: Event,
    change: &'a Change,
    me: Option<Me>,
}

pub(crate) async fn sync(
    config: &JiraConfig,
    credentials: &Credentials,
    options: &Options,
    keys: &[String],
    event: Event,
    change: &Change,
) -> Result<Vec<IssueOutcome>, JiraError> {
    let Some(action) = config.on.as_ref().and_then(|on| on.get(event)) else {
        return Ok(Vec::new());
    };
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let client = Client::new(&options.base_url, credentials, options.time_limit)
        .map_err(|e| JiraError(redact(&e, credentials)))?;
    sync_with(client, config, options, keys, event, change, action)
        .await
        .map(|outcomes| {
            outcomes
                .into_iter()
                .map(|o| redact_outcome(o, credentials))
                .collect()
        })
        .map_err(|e| JiraError(redact(&e.0, credentials)))
}

/// The sync on a ready client (tests give it a short backoff).
pub(crate) async fn sync_with(
    client: Client,
    config: &JiraConfig,
    options: &Options,
    keys: &[String],
    event: Event,
    change: &Change,
    action: &OnEvent,
) -> Result<Vec<IssueOutcome>, JiraError> {
    let deployment = match config.deployment {
        Some(d) => d,
        None => detect(&client).await?,
    };
    let mut run = Run {
        client,
        api: match deployment {
            Deployment::Cloud => "3",
            Deployment::DataCenter => "2",
        },
        deployment,
        action,
        dry_run: options.dry_run,
        event,
        change,
        me: None,
    };
    let mut outcomes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if !seen.insert(key.to_uppercase()) {
            continue;
        }
        outcomes.push(run.issue(key).await?);
    }
    Ok(outcomes)
}

/// Cloud or Data Center, from `serverInfo`'s `deploymentType`.
async fn detect(client: &Client) -> Result<Deployment, JiraError> {
    let what = "GET rest/api/2/serverInfo";
    let answer = client
        .get(&["rest", "api", "2", "serverInfo"], &[])
        .await
        .map_err(|e| unreachable(client, e))?;
    if answer.status == 401 {
        return Err(bad_credentials(client, what));
    }
    if !answer.ok() {
        return Err(JiraError(format!(
            "Jira at {}: {what} answered {}: {}; is this a Jira base URL? (set jira.deployment: cloud or datacenter to skip this)",
            host(client),
            answer.status,
            jira_message(&answer.body)
        )));
    }
    match answer.body["deploymentType"].as_str() {
        Some(t) if t.eq_ignore_ascii_case("cloud") => Ok(Deployment::Cloud),
        Some(t) if t.eq_ignore_ascii_case("server") || t.eq_ignore_ascii_case("datacenter") => {
            Ok(Deployment::DataCenter)
        }
        other => Err(JiraError(format!(
            "Jira at {}: {what} names deploymentType {}; expected Cloud, Server or DataCenter (set jira.deployment: cloud or datacenter)",
            host(client),
            other.map_or("none".to_string(), |t| format!("`{}`", crate::review::comments::shorten(t, 40)))
        ))),
    }
}

impl Run<'_> {
    /// `rest/api/{2|3}/…`, as path segments.
    fn path<'p>(&self, rest: &[&'p str]) -> Vec<&'p str> {
        let mut path = vec!["rest", "api", self.api];
        path.extend_from_slice(rest);
        path
    }

    /// One key, from its status to its comment.
    async fn issue(&mut self, named: &str) -> Result<IssueOutcome, JiraError> {
        let mut outcome = IssueOutcome {
            key: named.to_string(),
            status_before: None,
            status_after: None,
            transition: None,
            comment: None,
            outcome: Outcome::Unchanged,
            reason: None,
        };
        let mut notes: Vec<String> = Vec::new();
        let result = self.move_and_comment(named, &mut outcome, &mut notes).await;
        match result {
            Ok(()) => {}
            Err(Stop::All(e)) => return Err(e),
            Err(Stop::Issue(reason)) => {
                outcome.outcome = Outcome::Failed;
                notes.push(reason);
            }
        }
        if !notes.is_empty() {
            outcome.reason = Some(notes.join("; "));
        }
        Ok(outcome)
    }

    async fn move_and_comment(
        &mut self,
        named: &str,
        outcome: &mut IssueOutcome,
        notes: &mut Vec<String>,
    ) -> Step<()> {
        let (key, status) = self.status(named).await?;
        // Cloud finds `shop-1` as SHOP-1: only another key is a move.
        if !key.eq_ignore_ascii_case(named) {
            notes.push(format!(
                "{named} is now {key} (the issue was moved): acted on {key}"
            ));
        }
        outcome.status_before = Some(status.clone());
        outcome.status_after = Some(status.clone());

        let transition = self.choose(&key, &status).await?;
        if let Some(transition) = &transition {
            outcome.transition = Some(transition.label());
            if self.dry_run {
                outcome.outcome = Outcome::Planned;
            } else {
                self.transition(&key, transition).await?;
                outcome.outcome = Outcome::Moved;
            }
            // A plan names where the issue would go.
            outcome.status_after = Some(transition.to.clone());
        }

        if self.action.comment.unwrap_or(true) {
            match self.comment(&key).await {
                Ok(done) => {
                    if self.dry_run && done == "planned" {
                        outcome.outcome = Outcome::Planned;
                    }
                    outcome.comment = Some(done.to_string());
                }
                Err(Stop::Issue(reason)) => {
                    let done = match &transition {
                        Some(t) if !self.dry_run => format!("{key} moved to {}, but ", t.to),
                        _ => String::new(),
                    };
                    return Err(Stop::Issue(format!("{done}{reason}")));
                }
                Err(all) => return Err(all),
            }
        }
        Ok(())
    }

    /// The key Jira answers with and the issue's status name.
    async fn status(&self, key: &str) -> Step<(String, String)> {
        let answer = self
            .client
            .get(&self.path(&["issue", key]), &[("fields", "status")])
            .await
            .map_err(|e| self.transport(e))?;
        let what = format!("reading {key}");
        self.check(key, &what, &answer, "")?;
        let actual = answer.body["key"]
            .as_str()
            .filter(|k| !k.is_empty())
            .unwrap_or(key)
            .to_string();
        let status = answer.body["fields"]["status"]["name"]
            .as_str()
            .ok_or_else(|| {
                Stop::Issue(format!(
                    "{key}: Jira's answer has no fields.status.name: is this a Jira issue endpoint?"
                ))
            })?
            .to_string();
        Ok((actual, status))
    }

    /// The transition to take, or none when the issue is already where the
    /// event puts it (or the event moves nothing).
    async fn choose(&self, key: &str, current: &str) -> Step<Option<Transition>> {
        let status = self
            .action
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let configured = self
            .action
            .transition
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if status.is_none() && configured.is_none() {
            return Ok(None);
        }
        if status.is_some_and(|s| same_name(s, current)) {
            return Ok(None);
        }
        let transitions = self.transitions(key).await?;
        if transitions.is_empty() {
            return Err(Stop::Issue(format!(
                "{key}: Jira lists no transition from `{current}`: the token's user may lack the Transition issues permission in this project (Jira answers an empty list then), or the workflow has no way out of `{current}`"
            )));
        }
        let by_status = status.and_then(|s| transitions.iter().find(|t| same_name(&t.to, s)));
        let by_config = configured.and_then(|c| {
            transitions
                .iter()
                .find(|t| t.id == c || same_name(&t.name, c))
        });
        match by_status.or(by_config) {
            Some(t) if status.is_none() && same_name(&t.to, current) => Ok(None),
            Some(t) => Ok(Some(t.clone())),
            None => {
                let reachable: Vec<String> = transitions
                    .iter()
                    .map(|t| format!("`{}` (via `{}`, id {})", t.to, t.name, t.id))
                    .collect();
                let wanted = match (status, configured) {
                    (Some(s), Some(c)) => {
                        format!("to `{s}` (nor a transition named or numbered `{c}`)")
                    }
                    (Some(s), None) => format!("to `{s}`"),
                    (None, Some(c)) => format!("named or numbered `{c}`"),
                    (None, None) => String::new(),
                };
                Err(Stop::Issue(format!(
                    "{key}: no transition {wanted} from `{current}`; reachable: {}. Set jira.on.{}.status to one of them, or jira.on.{}.transition",
                    reachable.join(", "),
                    self.event.as_str(),
                    self.event.as_str()
                )))
            }
        }
    }

    async fn transitions(&self, key: &str) -> Step<Vec<Transition>> {
        let answer = self
            .client
            .get(&self.path(&["issue", key, "transitions"]), &[])
            .await
            .map_err(|e| self.transport(e))?;
        self.check(
            key,
            &format!("listing the transitions of {key}"),
            &answer,
            "",
        )?;
        let list = answer.body["transitions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(list
            .iter()
            .filter_map(|t| {
                let id = match &t["id"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some(Transition {
                    id,
                    name: t["name"].as_str().unwrap_or_default().to_string(),
                    to: t["to"]["name"].as_str().unwrap_or_default().to_string(),
                })
            })
            .collect())
    }

    /// Performs the transition; a POST whose answer was lost is sent again
    /// only after reading the status shows it did not land.
    async fn transition(&self, key: &str, transition: &Transition) -> Step<()> {
        let body = json!({"transition": {"id": transition.id}});
        let path = self.path(&["issue", key, "transitions"]);
        let mut tries = 0;
        loop {
            tries += 1;
            let answer = match self.client.post(&path, &[], &body).await {
                Ok(answer) => answer,
                Err(ClientError::Uncertain { reason, .. }) => {
                    let (_, now) = self.status(key).await?;
                    if same_name(&now, &transition.to) {
                        return Ok(());
                    }
                    if tries < 2 {
                        continue;
                    }
                    return Err(Stop::Issue(format!(
                        "{key}: the transition {} got no answer ({reason}) and the issue is still in `{now}`: re-run the job",
                        transition.label()
                    )));
                }
                Err(e) => return Err(self.transport(e)),
            };
            let what = format!("transition {} of {key}", transition.label());
            let hint = if answer.status == 400 {
                ": the transition screen requires fields tollgate does not fill (make them optional or give them defaults in the workflow, or choose another transition with jira.on.<event>.transition)"
            } else {
                ""
            };
            return self.check(key, &what, &answer, hint);
        }
    }

    async fn me(&mut self) -> Step<Me> {
        if let Some(me) = &self.me {
            return Ok(me.clone());
        }
        let answer = self
            .client
            .get(&self.path(&["myself"]), &[])
            .await
            .map_err(|e| self.transport(e))?;
        if answer.status == 401 {
            return Err(Stop::All(bad_credentials(&self.client, "GET myself")));
        }
        if !answer.ok() {
            return Err(Stop::Issue(format!(
                "the comment was not written: GET myself answered {}: {}",
                answer.status,
                jira_message(&answer.body)
            )));
        }
        let text = |f: &str| {
            answer.body[f]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let me = Me {
            account_id: text("accountId"),
            key: text("key"),
            name: text("name"),
        };
        if me.account_id.is_none() && me.key.is_none() && me.name.is_none() {
            return Err(Stop::Issue(
                "the comment was not written: GET myself names no accountId, key or name".into(),
            ));
        }
        self.me = Some(me.clone());
        Ok(me)
    }

    /// This change's comment for this event on `key`, among the token's own.
    async fn find_comment(
        &mut self,
        key: &str,
        footer: &str,
        marker: &Value,
    ) -> Step<Option<Value>> {
        let me = self.me().await?;
        let path = self.path(&["issue", key, "comment"]);
        let mut start = 0usize;
        for _ in 0..MAX_PAGES {
            let start_at = start.to_string();
            let page = PAGE.to_string();
            let answer = self
                .client
                .get(
                    &path,
                    &[
                        ("startAt", start_at.as_str()),
                        ("maxResults", page.as_str()),
                        ("expand", "properties"),
                    ],
                )
                .await
                .map_err(|e| self.transport(e))?;
            self.check(key, &format!("listing the comments of {key}"), &answer, "")?;
            let comments = answer.body["comments"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let found = comments.iter().find(|c| {
                me.wrote(c)
                    && (property(c).is_some_and(|p| marks(p, marker))
                        || body::has_footer(&c["body"], footer))
            });
            if let Some(found) = found {
                return Ok(Some(found.clone()));
            }
            let total = answer.body["total"].as_u64().unwrap_or(0) as usize;
            start += comments.len();
            if comments.is_empty() || start >= total {
                break;
            }
        }
        Ok(None)
    }

    /// Writes, edits or leaves the comment: `created`, `updated`,
    /// `unchanged`, or `planned` on a dry run.
    async fn comment(&mut self, key: &str) -> Step<&'static str> {
        let footer = body::footer(self.change, self.event);
        let content = body::render(self.deployment, self.change, self.event);
        let digest = hex(&Sha256::digest(content.to_string().as_bytes()));
        let marker = json!({"change": self.change.id, "event": self.event.as_str()});
        let mut payload = json!({"body": content});
        if self.deployment == Deployment::Cloud {
            let mut value = marker.clone();
            value["digest"] = json!(digest);
            payload["properties"] = json!([{"key": PROPERTY, "value": value}]);
        }
        // What a write whose answer was lost meant to do, once the comments
        // read again show that it landed.
        let mut lost: Option<&'static str> = None;
        loop {
            let existing = self.find_comment(key, &footer, &marker).await?;
            if let Some(existing) = &existing {
                if same(existing, &content, &digest) {
                    return Ok(lost.unwrap_or("unchanged"));
                }
            }
            if self.dry_run {
                return Ok("planned");
            }
            let sent = match &existing {
                Some(existing) => {
                    let id = comment_id(existing).ok_or_else(|| {
                        Stop::Issue(format!("{key}: Jira listed our comment without an id"))
                    })?;
                    self.client
                        .put(&self.path(&["issue", key, "comment", &id]), &[], &payload)
                        .await
                }
                None => {
                    self.client
                        .post(&self.path(&["issue", key, "comment"]), &[], &payload)
                        .await
                }
            };
            let done = if existing.is_some() {
                "updated"
            } else {
                "created"
            };
            let answer: Answer = match sent {
                Ok(answer) => answer,
                // Lost in flight: read the comments again before another try.
                Err(ClientError::Uncertain { .. }) if lost.is_none() => {
                    lost = Some(done);
                    continue;
                }
                Err(ClientError::Uncertain { reason, .. }) => {
                    return Err(Stop::Issue(format!(
                        "{key}: writing the comment got no answer twice ({reason}): re-run the job"
                    )))
                }
                Err(e) => return Err(self.transport(e)),
            };
            let hint = match answer.status {
                403 | 400 => {
                    ": the token's user needs the Add comments (and Edit own comments) permission"
                }
                413 => ": the issue holds too many comments",
                _ => "",
            };
            self.check(key, &format!("writing the comment on {key}"), &answer, hint)?;
            return Ok(done);
        }
    }

    /// An answer outside 2xx as this issue's failure, or the whole sync's.
    fn check(&self, key: &str, what: &str, answer: &Answer, hint: &str) -> Step<()> {
        if answer.ok() {
            return Ok(());
        }
        let message = jira_message(&answer.body);
        Err(match answer.status {
            401 => Stop::All(bad_credentials(&self.client, what)),
            404 => Stop::Issue(format!(
                "{key} does not exist or this token cannot see it (Jira answers 404 for both): check the key, and that the token's user has the Browse projects permission in its project"
            )),
            403 => Stop::Issue(format!(
                "{key}: Jira refused {what} (403: {message}){}",
                if hint.is_empty() { ": the token's user lacks the permission for it in this project" } else { hint }
            )),
            400 => Stop::Issue(format!("{key}: Jira refused {what} (400: {message}){hint}")),
            429 => Stop::All(JiraError(format!(
                "Jira at {} still rate-limits the requests after the retries the time limit allows ({what})",
                host(&self.client)
            ))),
            status => Stop::Issue(format!("{key}: {what} answered {status}: {message}{hint}")),
        })
    }

    fn transport(&self, error: ClientError) -> Stop {
        Stop::All(unreachable(&self.client, error))
    }
}

fn unreachable(client: &Client, error: ClientError) -> JiraError {
    match error {
        ClientError::Deadline(_) => JiraError(error.to_string()),
        other => JiraError(format!(
            "Jira at {} cannot be reached: {other}",
            host(client)
        )),
    }
}

fn bad_credentials(client: &Client, what: &str) -> JiraError {
    let which = if client.is_basic() {
        "JIRA_EMAIL and JIRA_API_TOKEN: on Cloud an API token (id.atlassian.com) with the e-mail of its own account"
    } else {
        "JIRA_API_TOKEN: on Data Center a personal access token (Profile → Personal Access Tokens); on Cloud also set JIRA_EMAIL"
    };
    JiraError(format!(
        "Jira at {} refused the credentials (401 to {what}): check {which}",
        host(client)
    ))
}

fn host(client: &Client) -> String {
    let base = client.base();
    match base.port() {
        Some(port) => format!("{}:{port}", base.host_str().unwrap_or("?")),
        None => base.host_str().unwrap_or("?").to_string(),
    }
}

/// Jira's own words: `errorMessages`, then each field of `errors` (the
/// fields a transition screen requires), else the body's text.
fn jira_message(body: &Value) -> String {
    let mut parts: Vec<String> = body["errorMessages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if let Some(errors) = body["errors"].as_object() {
        for (field, message) in errors {
            let message = message
                .as_str()
                .map_or_else(|| message.to_string(), String::from);
            parts.push(format!("field `{field}`: {message}"));
        }
    }
    let text = if parts.is_empty() {
        match body {
            Value::String(s) => s.clone(),
            Value::Null => "no message".into(),
            other => other.to_string(),
        }
    } else {
        parts.join("; ")
    };
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::review::comments::shorten(one_line.trim(), 300)
}

/// Status and transition names as Jira users read them: case aside.
fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

fn property(comment: &Value) -> Option<&Value> {
    comment["properties"]
        .as_array()?
        .iter()
        .find(|p| p["key"] == PROPERTY)
        .map(|p| &p["value"])
}

fn marks(value: &Value, marker: &Value) -> bool {
    value["change"] == marker["change"] && value["event"] == marker["event"]
}

/// Whether the comment already says exactly this.
fn same(existing: &Value, content: &Value, digest: &str) -> bool {
    if property(existing).is_some_and(|p| p["digest"] == digest) {
        return true;
    }
    match (&existing["body"], content) {
        (Value::String(old), Value::String(new)) => old.replace("\r\n", "\n").trim() == new.trim(),
        (old, new) => old == new,
    }
}

fn comment_id(comment: &Value) -> Option<String> {
    match &comment["id"] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token, wherever it could have slipped in, as `***`.
fn redact(text: &str, credentials: &Credentials) -> String {
    let token = credentials.token();
    if token.len() < 4 {
        return text.to_string();
    }
    text.replace(token, "***")
}

fn redact_outcome(mut outcome: IssueOutcome, credentials: &Credentials) -> IssueOutcome {
    let fix = |s: &mut Option<String>| {
        if let Some(text) = s {
            *text = redact(text, credentials);
        }
    };
    outcome.key = redact(&outcome.key, credentials);
    fix(&mut outcome.status_before);
    fix(&mut outcome.status_after);
    fix(&mut outcome.transition);
    fix(&mut outcome.comment);
    fix(&mut outcome.reason);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_messages_name_the_fields_a_screen_requires() {
        let body = json!({"errorMessages": ["Fix it"], "errors": {"resolution": "Resolution is required."}});
        assert_eq!(
            jira_message(&body),
            "Fix it; field `resolution`: Resolution is required."
        );
        assert_eq!(jira_message(&Value::Null), "no message");
    }

    #[test]
    fn only_the_tokens_own_comments_count() {
        let cloud = Me {
            account_id: Some("abc".into()),
            ..Me::default()
        };
        assert!(cloud.wrote(&json!({"author": {"accountId": "abc"}})));
        assert!(!cloud.wrote(&json!({"author": {"accountId": "xyz"}})));
        let dc = Me {
            key: Some("JIRAUSER1".into()),
            name: Some("bot".into()),
            ..Me::default()
        };
        assert!(dc.wrote(&json!({"author": {"key": "JIRAUSER1", "name": "bot"}})));
        assert!(!dc.wrote(&json!({"author": {"key": "JIRAUSER2", "name": "bot"}})));
    }

    #[test]
    fn the_token_is_redacted_everywhere() {
        let credentials = Credentials::new("s3cr3t-token".into(), None);
        let outcome = IssueOutcome {
            key: "A-1".into(),
            status_before: None,
            status_after: None,
            transition: None,
            comment: None,
            outcome: Outcome::Failed,
            reason: Some("echo s3cr3t-token".into()),
        };
        assert_eq!(
            redact_outcome(outcome, &credentials).reason.as_deref(),
            Some("echo ***")
        );
    }

    /// A Data Center Jira whose writes answer too late: `land` says whether
    /// they are made all the same.
    struct SlowWrites {
        land: bool,
        status: std::sync::Mutex<String>,
        comments: std::sync::Mutex<Vec<Value>>,
    }

    impl wiremock::Respond for SlowWrites {
        fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
            use wiremock::ResponseTemplate;
            let late = ResponseTemplate::new(204).set_delay(std::time::Duration::from_secs(3));
            let path = request.url.path();
            match (request.method.as_str(), path) {
                ("GET", "/rest/api/2/issue/A-1") => ResponseTemplate::new(200).set_body_json(
                    json!({"key": "A-1", "fields": {"status": {"name": *self.status.lock().unwrap()}}}),
                ),
                ("GET", "/rest/api/2/issue/A-1/transitions") => ResponseTemplate::new(200)
                    .set_body_json(json!({"transitions": [
                        {"id": "21", "name": "Review", "to": {"name": "In Review"}}
                    ]})),
                ("POST", "/rest/api/2/issue/A-1/transitions") => {
                    if self.land {
                        *self.status.lock().unwrap() = "In Review".into();
                    }
                    late
                }
                ("GET", "/rest/api/2/myself") => {
                    ResponseTemplate::new(200).set_body_json(json!({"key": "bot", "name": "bot"}))
                }
                ("GET", "/rest/api/2/issue/A-1/comment") => {
                    let comments = self.comments.lock().unwrap().clone();
                    ResponseTemplate::new(200).set_body_json(
                        json!({"startAt": 0, "maxResults": 100, "total": comments.len(), "comments": comments}),
                    )
                }
                ("POST", "/rest/api/2/issue/A-1/comment") => {
                    if self.land {
                        let body: Value = serde_json::from_slice(&request.body).unwrap();
                        self.comments.lock().unwrap().push(
                            json!({"id": "7", "author": {"key": "bot", "name": "bot"}, "body": body["body"]}),
                        );
                    }
                    late
                }
                _ => ResponseTemplate::new(404),
            }
        }
    }

    /// Runs a sync of `A-1` to In Review against [`SlowWrites`]; answers the
    /// outcome and the writes Jira received.
    fn sync_with_slow_writes(land: bool, comment: bool) -> (IssueOutcome, Vec<String>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let server = wiremock::MockServer::start().await;
            wiremock::Mock::given(wiremock::matchers::any())
                .respond_with(SlowWrites {
                    land,
                    status: std::sync::Mutex::new("To Do".into()),
                    comments: std::sync::Mutex::new(Vec::new()),
                })
                .mount(&server)
                .await;
            let credentials = Credentials::new("pat".into(), None);
            let client = Client::new(
                &server.uri(),
                &credentials,
                std::time::Duration::from_secs(60),
            )
            .unwrap()
            .backoff(std::time::Duration::from_millis(10))
            .request_timeout(std::time::Duration::from_millis(300));
            let action = OnEvent {
                status: Some("In Review".into()),
                transition: None,
                comment: Some(comment),
            };
            let config = JiraConfig {
                deployment: Some(Deployment::DataCenter),
                ..JiraConfig::default()
            };
            let options = Options {
                base_url: server.uri(),
                dry_run: false,
                time_limit: std::time::Duration::from_secs(60),
            };
            let change = Change {
                id: "acme/app#1".into(),
                label: "PR #1".into(),
                ..Change::default()
            };
            let outcomes = sync_with(
                client,
                &config,
                &options,
                &["A-1".into()],
                Event::Opened,
                &change,
                &action,
            )
            .await
            .unwrap();
            let writes = server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| r.method.as_str() != "GET")
                .map(|r| format!("{} {}", r.method, r.url.path()))
                .collect();
            (outcomes[0].clone(), writes)
        })
    }

    #[test]
    fn a_transition_whose_answer_was_lost_is_not_sent_again_once_it_landed() {
        let (outcome, writes) = sync_with_slow_writes(true, false);
        assert_eq!(outcome.outcome, Outcome::Moved, "{outcome:?}");
        assert_eq!(writes, ["POST /rest/api/2/issue/A-1/transitions"]);
    }

    #[test]
    fn a_transition_whose_answer_was_lost_is_sent_once_more_when_it_did_not_land() {
        let (outcome, writes) = sync_with_slow_writes(false, false);
        assert_eq!(outcome.outcome, Outcome::Failed, "{outcome:?}");
        assert!(
            outcome
                .reason
                .as_deref()
                .unwrap()
                .contains("still in `To Do`"),
            "{outcome:?}"
        );
        assert_eq!(writes.len(), 2, "{writes:?}");
    }

    #[test]
    fn a_comment_whose_answer_was_lost_is_found_before_posting_again() {
        let (outcome, writes) = sync_with_slow_writes(true, true);
        assert_eq!(outcome.comment.as_deref(), Some("created"), "{outcome:?}");
        assert_eq!(
            writes,
            [
                "POST /rest/api/2/issue/A-1/transitions",
                "POST /rest/api/2/issue/A-1/comment"
            ]
        );
    }
}
