//! From a change to Jira: its keys, the events `jira.on` acts on, the
//! credentials, then [`super::sync`] per event, and one line per issue. What
//! `tollgate jira sync` and `tollgate review` share. Every problem is one
//! line naming the issue (or the setting) and what to do: a `warning:`, or an
//! `error:` that makes the exit code 2 with `jira.required: true`.

use super::keys::{KeyMatcher, Sources, MAX_KEYS};
use super::{Change, Credentials, Event, IssueOutcome, JiraConfig, Options, Outcome};
use crate::context::event::Facts;
use crate::run::outcome::{EXIT_ERROR, EXIT_OK};
use std::time::Duration;

/// Most commits whose messages are read for keys.
const MAX_COMMITS: usize = 250;
/// How long the whole conversation with Jira may take.
pub const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Where the results go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `jira sync`: one line per issue on stdout, problems on stderr.
    Text,
    /// `jira sync --format json`: `{"issues":[…]}` on stdout.
    Json,
    /// `review`: everything on stderr (stdout may be the review's JSON).
    Log,
}

/// One sync: which change, which events, how.
pub struct Request<'a> {
    pub config: &'a JiraConfig,
    pub facts: Option<&'a Facts>,
    /// The events to sync, in order (those `jira.on` lacks are skipped, said).
    pub events: Vec<Event>,
    pub change: Change,
    /// `git log base..head` for keys in commit messages.
    pub range: Option<(String, String)>,
    pub dry_run: bool,
    pub output: Output,
}

/// What was said, for the exit code.
struct Said {
    output: Output,
    required: bool,
    token: Option<String>,
    problems: usize,
}

impl Said {
    /// A problem: a warning, or an error when Jira is required.
    fn problem(&mut self, text: &str) {
        self.problems += 1;
        let level = if self.required { "error" } else { "warning" };
        crate::say!("{level}: {}", self.clean(text));
    }

    fn note(&self, text: &str) {
        crate::say!("note: {}", self.clean(text));
    }

    /// A result line: stdout for `jira sync`, stderr in a review.
    fn result(&self, text: &str) {
        match self.output {
            Output::Text => crate::show!("{}", self.clean(text)),
            Output::Log => crate::say!("jira: {}", self.clean(text)),
            Output::Json => {}
        }
    }

    /// One line, never the token (whatever Jira or an error echoed).
    fn clean(&self, text: &str) -> String {
        let mut line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if let Some(token) = self.token.as_deref().filter(|t| !t.is_empty()) {
            line = line.replace(token, "***");
        }
        line
    }

    fn exit(&self) -> i32 {
        if self.required && self.problems > 0 {
            EXIT_ERROR
        } else {
            EXIT_OK
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// 0, or 2 when a problem arose and `jira.required` is true.
    pub exit: i32,
    /// The issues Jira took the change to (moved, or already there and
    /// commented), once each: key and web page, for the notifications.
    pub issues: Vec<(String, String)>,
}

/// Runs the sync `request` asks for, reading the environment through `env`.
pub async fn run(request: Request<'_>, env: &dyn Fn(&str) -> Option<String>) -> Synced {
    let config = request.config;
    let credentials = Credentials::from_env(env);
    let mut said = Said {
        output: request.output,
        required: config.required.unwrap_or(false),
        token: credentials.as_ref().map(|c| c.token().to_string()),
        problems: 0,
    };
    let on = config.on.clone().unwrap_or_default();
    let mut events = Vec::new();
    for event in &request.events {
        if on.get(*event).is_some() {
            events.push(*event);
        } else {
            said.note(&format!(
                "jira.on has no `{}`: Jira is left alone on this event",
                event.as_str()
            ));
        }
    }
    if events.is_empty() {
        return finish(&said, &[], None);
    }
    let matcher = match KeyMatcher::new(config) {
        Ok(matcher) => matcher,
        Err(err) => {
            crate::say!("error: {err}");
            return Synced {
                exit: EXIT_ERROR,
                issues: Vec::new(),
            };
        }
    };
    let messages = commit_messages(request.range.as_ref(), request.facts, &said);
    let branch = request
        .facts
        .and_then(|f| f.branch.clone())
        .or_else(current_branch);
    let facts = request.facts;
    let found = matcher.extract(&Sources {
        branch: branch.as_deref(),
        title: facts.and_then(|f| f.title.as_deref()),
        description: facts.and_then(|f| f.description.as_deref()),
        commit_messages: &messages,
    });
    if found.keys.is_empty() {
        said.note(&format!(
            "no Jira issue keys in the branch name, title, description or commit messages{}: nothing to sync",
            match &config.projects {
                Some(projects) => format!(" (of the projects {})", projects.join(", ")),
                None => String::new(),
            }
        ));
        return finish(&said, &[], None);
    }
    if config.projects.is_none() {
        said.note("jira.projects is not set: every KEY-123 counts as an issue key (UTF-8 and SHA-256 too); list your projects to be sure");
    }
    if found.left_out > 0 {
        said.problem(&format!(
            "the change names {} more issue keys than the {MAX_KEYS} synced: only the first {MAX_KEYS} are",
            found.left_out
        ));
    }
    let keys = found.keys;
    let Some(credentials) = credentials else {
        if request.dry_run {
            said.note("JIRA_API_TOKEN is not set: the plan below is made without reading Jira");
            let outcomes: Vec<IssueOutcome> = events
                .iter()
                .flat_map(|event| offline_plan(config, &keys, *event))
                .collect();
            for outcome in &outcomes {
                said.result(&describe(outcome, true));
            }
            return finish(&said, &outcomes, None);
        }
        said.problem(&format!(
            "Jira issues {} not synced: JIRA_API_TOKEN is not set (Cloud: an API token and JIRA_EMAIL; Data Center: a personal access token), from the CI's secrets",
            keys.join(", ")
        ));
        return finish(&said, &[], None);
    };
    if credentials
        .token()
        .chars()
        .chain(credentials.email().unwrap_or_default().chars())
        .any(char::is_control)
    {
        said.problem("JIRA_API_TOKEN or JIRA_EMAIL contains a line break or another control character (the value is not shown): fix the CI secret");
        return finish(&said, &[], None);
    }
    mask(credentials.token(), request.output);
    let base_url = match super::site::base_url(config, env) {
        Ok(url) => url,
        Err(err) => {
            said.problem(&format!(
                "Jira issues {} not synced: {err}",
                keys.join(", ")
            ));
            return finish(&said, &[], None);
        }
    };
    let options = Options {
        base_url,
        dry_run: request.dry_run,
        time_limit: TIME_LIMIT,
    };
    let mut all = Vec::new();
    for event in events {
        match super::sync(
            config,
            &credentials,
            &options,
            &keys,
            event,
            &request.change,
        )
        .await
        {
            Ok(outcomes) => {
                for outcome in &outcomes {
                    match outcome.outcome {
                        Outcome::Failed => said.problem(&format!(
                            "{}: {}",
                            outcome.key,
                            outcome
                                .reason
                                .as_deref()
                                .unwrap_or("Jira refused it (no reason given)")
                        )),
                        _ => said.result(&describe(outcome, request.dry_run)),
                    }
                }
                all.extend(outcomes);
            }
            Err(err) => said.problem(&format!(
                "Jira ({} on {}): {err}",
                event.as_str(),
                keys.join(", ")
            )),
        }
    }
    finish(&said, &all, Some(&options.base_url))
}

/// Prints the JSON document when asked; the exit code and the issues
/// reached on the Jira site at `base_url`.
fn finish(said: &Said, outcomes: &[IssueOutcome], base_url: Option<&str>) -> Synced {
    if said.output == Output::Json {
        let document = serde_json::json!({ "issues": outcomes });
        let text = serde_json::to_string_pretty(&document).unwrap_or_default();
        let text = match said.token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => text.replace(token, "***"),
            None => text,
        };
        let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Json);
        let _ = std::io::Write::write_all(&mut out, format!("{text}\n").as_bytes());
    }
    Synced {
        exit: said.exit(),
        issues: base_url.map(|url| links(url, outcomes)).unwrap_or_default(),
    }
}

/// Each issue Jira took the change to, once: its key and `/browse/` page.
/// A key has the shape `PROJECT-123` (see `keys`): safe in a URL as it is.
fn links(base_url: &str, outcomes: &[IssueOutcome]) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    outcomes
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Moved | Outcome::Unchanged))
        .filter(|o| seen.insert(o.key.clone()))
        .map(|o| (o.key.clone(), format!("{base_url}/browse/{}", o.key)))
        .collect()
}

/// The messages of the change's commits: `git log base..head`, else what
/// the CI gave (a push's commits), said when git cannot list them.
fn commit_messages(
    range: Option<&(String, String)>,
    facts: Option<&Facts>,
    said: &Said,
) -> Vec<String> {
    let given = || facts.map(|f| f.commit_messages.clone()).unwrap_or_default();
    let Some((base, head)) = range else {
        return given();
    };
    let listed = std::env::current_dir()
        .map_err(|e| e.to_string())
        .and_then(|cwd| crate::diff::git::Repo::discover(&cwd).map_err(|e| e.to_string()))
        .and_then(|repo| {
            repo.commit_messages(base, head, MAX_COMMITS)
                .map_err(|e| e.to_string())
        });
    match listed {
        Ok(messages) => messages,
        Err(err) => {
            said.note(&format!(
                "the change's commit messages cannot be read ({err}): keys come from the branch, title and description{}",
                if given().is_empty() { "" } else { " and the CI's list of commits" }
            ));
            given()
        }
    }
}

fn current_branch() -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    crate::diff::git::Repo::discover(&cwd).ok()?.branch_name()
}

/// The plan of a dry run without credentials: what `jira.on` asks for.
fn offline_plan(config: &JiraConfig, keys: &[String], event: Event) -> Vec<IssueOutcome> {
    let on = config
        .on
        .as_ref()
        .and_then(|on| on.get(event))
        .cloned()
        .unwrap_or_default();
    keys.iter()
        .map(|key| IssueOutcome {
            key: key.clone(),
            status_before: None,
            status_after: on.status.clone(),
            transition: on.transition.clone(),
            // As `sync` does: a comment unless `comment: false`.
            comment: on.comment.unwrap_or(true).then(|| "planned".to_string()),
            outcome: Outcome::Planned,
            reason: Some(format!(
                "{}: not read from Jira (JIRA_API_TOKEN is not set)",
                event.as_str()
            )),
        })
        .collect()
}

/// One issue's line: `SHOP-12: In Progress → In Review (Review (31)); comment created`.
fn describe(outcome: &IssueOutcome, dry_run: bool) -> String {
    let mut line = format!("{}: ", outcome.key);
    let before = outcome
        .status_before
        .as_deref()
        .unwrap_or("(status not read)");
    match (&outcome.outcome, &outcome.status_after) {
        (Outcome::Unchanged, _) => line.push_str(&format!("already {before}")),
        // A plan read from Jira, with nothing to move: only a comment.
        (Outcome::Planned, after) if after.as_deref() == outcome.status_before.as_deref() => {
            line.push_str(&format!("already {before}"))
        }
        (_, Some(after)) => line.push_str(&format!("{before} → {after}")),
        (_, None) => line.push_str(&format!("stays {before}")),
    }
    if let Some(transition) = &outcome.transition {
        line.push_str(&format!(" via {transition}"));
    }
    if let Some(comment) = &outcome.comment {
        line.push_str(&format!("; comment {comment}"));
    }
    if dry_run {
        line.push_str(" (dry run: nothing changed)");
    }
    line
}

/// In GitHub Actions, hides the token from every later line of the log. The
/// runner reads commands from both streams; stdout may carry JSON.
fn mask(token: &str, output: Output) {
    if !crate::review::pipeline::in_actions() {
        return;
    }
    let line = format_args!("::add-mask::{}", crate::report::github::escape_data(token));
    let _ = if output == Output::Text {
        crate::ci_log::command(&mut std::io::stdout().lock(), line)
    } else {
        crate::ci_log::command(&mut std::io::stderr().lock(), line)
    };
}

/// The change a review or `jira sync` tells Jira about, from the CI's facts.
pub fn change_from_facts(facts: Option<&Facts>, head: Option<&str>) -> Change {
    let short = head.map(|h| h.get(..7).unwrap_or(h).to_string());
    Change {
        id: facts
            .and_then(|f| f.id.clone())
            .or_else(|| head.map(str::to_string))
            .unwrap_or_default(),
        label: facts
            .and_then(|f| f.label.clone())
            .or_else(|| short.map(|s| format!("commit {s}")))
            .unwrap_or_else(|| "change".to_string()),
        title: facts.and_then(|f| f.title.clone()),
        url: facts.and_then(|f| f.url.clone()),
        run: facts.and_then(|f| f.run.clone()),
        checked: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_per_issue_says_what_moved() {
        let outcome = IssueOutcome {
            key: "SHOP-12".into(),
            status_before: Some("In Progress".into()),
            status_after: Some("In Review".into()),
            transition: Some("Review (31)".into()),
            comment: Some("created".into()),
            outcome: Outcome::Moved,
            reason: None,
        };
        assert_eq!(
            describe(&outcome, false),
            "SHOP-12: In Progress → In Review via Review (31); comment created"
        );
        let unchanged = IssueOutcome {
            outcome: Outcome::Unchanged,
            status_before: Some("Done".into()),
            transition: None,
            comment: Some("unchanged".into()),
            ..outcome
        };
        assert_eq!(
            describe(&unchanged, true),
            "SHOP-12: already Done; comment unchanged (dry run: nothing changed)"
        );
    }

    #[test]
    fn links_name_each_reached_issue_once_and_no_failed_one() {
        let moved = IssueOutcome {
            key: "SHOP-12".into(),
            status_before: Some("To Do".into()),
            status_after: Some("In Review".into()),
            transition: None,
            comment: None,
            outcome: Outcome::Moved,
            reason: None,
        };
        let again = IssueOutcome {
            outcome: Outcome::Unchanged,
            ..moved.clone()
        };
        let failed = IssueOutcome {
            key: "SHOP-13".into(),
            outcome: Outcome::Failed,
            ..moved.clone()
        };
        let there = IssueOutcome {
            key: "OPS-7".into(),
            outcome: Outcome::Unchanged,
            ..moved.clone()
        };
        assert_eq!(
            links(
                "https://jira.example.com/jira",
                &[moved, failed, again, there]
            ),
            [
                (
                    "SHOP-12".to_string(),
                    "https://jira.example.com/jira/browse/SHOP-12".to_string()
                ),
                (
                    "OPS-7".to_string(),
                    "https://jira.example.com/jira/browse/OPS-7".to_string()
                )
            ]
        );
    }

    #[test]
    fn printed_lines_never_hold_the_token_nor_a_line_break() {
        let said = Said {
            output: Output::Log,
            required: false,
            token: Some("tok-123456".into()),
            problems: 0,
        };
        assert_eq!(
            said.clean("401 for tok-123456\n::error::x"),
            "401 for *** ::error::x"
        );
    }
}
