//! Where a review goes: the repository, the pull request, its head commit and
//! the API, read from GitHub Actions' environment and event payload (or from
//! `--repo`/`--pr` outside Actions). The token is kept in [`Token`], which
//! never prints its value.

use serde_json::Value;
use std::fmt;
use std::path::Path;

/// A secret that `Debug` and `Display` never show.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: String) -> Option<Token> {
        let value = value.trim().to_string();
        (!value.is_empty()).then_some(Token(value))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The event that started the workflow, as far as a review cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    PullRequest,
    PullRequestTarget,
    /// The privileged half of the two-workflow fork pattern: the commit the
    /// unprivileged run scanned, from the trusted event (not from its report).
    WorkflowRun {
        head_sha: String,
        /// `OWNER/NAME` of the repository the run's head came from (a fork).
        head_repository: Option<String>,
        /// The branch the run was for, in `head_repository`.
        head_branch: Option<String>,
    },
    /// `--repo`/`--pr` outside Actions.
    Manual,
}

/// The pull request under review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub owner: String,
    pub repo: String,
    pub number: u64,
    /// The PR head commit: what review comments are anchored to. Not
    /// `GITHUB_SHA`, which is the test merge commit on `pull_request`.
    pub head_sha: Option<String>,
    pub base_sha: Option<String>,
    /// Whether the head lives in a fork (its token is read-only then).
    pub from_fork: bool,
    pub trigger: Trigger,
}

impl PullRequest {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }
}

/// The API endpoints, as Actions sets them (GitHub Enterprise Server works by
/// these alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub api_url: String,
    pub graphql_url: String,
    pub server_url: String,
    /// A link to the workflow run, for the summary.
    pub run_url: Option<String>,
}

/// What `tollgate review` was told on its command line about GitHub.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub repo: Option<String>,
    pub pr: Option<u64>,
    pub token: Option<String>,
}

/// Reads an environment variable, treating empty as unset.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn endpoints(env: Env<'_>) -> Endpoints {
    let api_url = env("GITHUB_API_URL")
        .unwrap_or_else(|| "https://api.github.com".into())
        .trim_end_matches('/')
        .to_string();
    let graphql_url =
        env("GITHUB_GRAPHQL_URL").unwrap_or_else(|| match api_url.strip_suffix("/v3") {
            // GitHub Enterprise Server: https://HOST/api/v3 → https://HOST/api/graphql
            Some(api) => format!("{api}/graphql"),
            None => format!("{api_url}/graphql"),
        });
    let server_url = env("GITHUB_SERVER_URL")
        .unwrap_or_else(|| "https://github.com".into())
        .trim_end_matches('/')
        .to_string();
    let run_url = match (env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID")) {
        (Some(repo), Some(run)) => Some(format!("{server_url}/{repo}/actions/runs/{run}")),
        _ => None,
    };
    Endpoints {
        api_url,
        graphql_url,
        server_url,
        run_url,
    }
}

/// The token: `--github-token`, the action input `github-token`, then `GITHUB_TOKEN`.
pub fn token(overrides: &Overrides, env: Env<'_>) -> Option<Token> {
    overrides
        .token
        .clone()
        .or_else(|| env("INPUT_GITHUB-TOKEN"))
        .or_else(|| env("GITHUB_TOKEN"))
        .and_then(Token::new)
}

/// Finds the pull request: `--repo`/`--pr` win; else the Actions event payload.
pub fn pull_request(overrides: &Overrides, env: Env<'_>) -> Result<PullRequest, String> {
    let from_event = match env("GITHUB_EVENT_PATH") {
        Some(path) if overrides.pr.is_none() => Some(read_event(
            Path::new(&path),
            env("GITHUB_EVENT_NAME").as_deref(),
        )?),
        _ => None,
    };
    let repo = overrides
        .repo
        .clone()
        .or_else(|| env("GITHUB_REPOSITORY"))
        .or_else(|| from_event.as_ref().map(|e| e.repository.clone()));
    let Some(repo) = repo else {
        return Err(
            "no repository: run in GitHub Actions (GITHUB_REPOSITORY) or pass --repo OWNER/NAME"
                .into(),
        );
    };
    let (owner, name) = repo
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| format!("repository `{repo}`: expected OWNER/NAME"))?;
    let (owner, name) = (owner.to_string(), name.to_string());
    if let Some(number) = overrides.pr {
        return Ok(PullRequest {
            owner,
            repo: name,
            number,
            head_sha: None,
            base_sha: None,
            from_fork: false,
            trigger: Trigger::Manual,
        });
    }
    let Some(event) = from_event else {
        return Err("no pull request: run on a `pull_request` or `workflow_run` event in GitHub Actions (GITHUB_EVENT_PATH), or pass --repo OWNER/NAME --pr N".into());
    };
    Ok(PullRequest {
        owner,
        repo: name,
        number: event.number.unwrap_or(0),
        head_sha: event.head_sha,
        base_sha: event.base_sha,
        from_fork: event.from_fork,
        trigger: event.trigger,
    })
}

/// What an event payload says about the pull request.
#[derive(Debug)]
struct Event {
    repository: String,
    /// None for a `workflow_run` from a fork: GitHub leaves its
    /// `pull_requests` empty, and the number comes from the report.
    number: Option<u64>,
    head_sha: Option<String>,
    base_sha: Option<String>,
    from_fork: bool,
    trigger: Trigger,
}

fn read_event(path: &Path, name: Option<&str>) -> Result<Event, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the event payload: {e}", path.display()))?;
    let payload: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}: not a JSON event payload: {e}",
            path.display(),
            e.line()
        )
    })?;
    parse_event(&payload, name).map_err(|e| format!("{}: {e}", path.display()))
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn parse_event(payload: &Value, name: Option<&str>) -> Result<Event, String> {
    let repository = str_at(payload, "/repository/full_name")
        .ok_or("expected `repository.full_name` in the event payload")?
        .to_string();
    if let Some(run) = payload
        .get("workflow_run")
        .filter(|_| name != Some("pull_request"))
    {
        let head_sha = str_at(run, "/head_sha")
            .ok_or("expected `workflow_run.head_sha` in the workflow_run event")?
            .to_string();
        let pr = run
            .get("pull_requests")
            .and_then(Value::as_array)
            .and_then(|prs| prs.first());
        let head_repo = str_at(run, "/head_repository/full_name");
        return Ok(Event {
            number: pr.and_then(|p| p.get("number")).and_then(Value::as_u64),
            base_sha: pr.and_then(|p| str_at(p, "/base/sha")).map(str::to_string),
            from_fork: head_repo.is_some_and(|h| h != repository),
            repository,
            head_sha: Some(head_sha.clone()),
            trigger: Trigger::WorkflowRun {
                head_sha,
                head_repository: head_repo.map(str::to_string),
                head_branch: str_at(run, "/head_branch").map(str::to_string),
            },
        });
    }
    let Some(pr) = payload.get("pull_request") else {
        return Err(format!(
            "the `{}` event has no pull request: run `tollgate review` on `pull_request` or `workflow_run` events",
            name.unwrap_or("unknown")
        ));
    };
    let number = pr
        .get("number")
        .or_else(|| payload.get("number"))
        .and_then(Value::as_u64)
        .ok_or("expected `pull_request.number` in the event payload")?;
    let head_sha = str_at(pr, "/head/sha").ok_or("expected `pull_request.head.sha`")?;
    let base_repo = str_at(pr, "/base/repo/full_name").unwrap_or(&repository);
    // `head.repo` is null when the fork was deleted.
    let from_fork = match pr.pointer("/head/repo") {
        Some(Value::Null) | None => true,
        Some(head) => {
            head.get("fork").and_then(Value::as_bool).unwrap_or(false)
                || str_at(head, "/full_name").is_some_and(|h| h != base_repo)
        }
    };
    Ok(Event {
        repository,
        number: Some(number),
        head_sha: Some(head_sha.to_string()),
        base_sha: str_at(pr, "/base/sha").map(str::to_string),
        from_fork,
        trigger: if name == Some("pull_request_target") {
            Trigger::PullRequestTarget
        } else {
            Trigger::PullRequest
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pr_event(head_repo: Value) -> Value {
        json!({
            "action": "synchronize", "number": 7,
            "pull_request": {
                "number": 7, "draft": false,
                "head": {"sha": "aaa", "ref": "feature", "repo": head_repo},
                "base": {"sha": "bbb", "ref": "main", "repo": {"full_name": "acme/app", "fork": false}}
            },
            "repository": {"full_name": "acme/app", "fork": false}
        })
    }

    #[test]
    fn pull_request_events_give_the_head_sha_and_the_fork_status() {
        let same = parse_event(
            &pr_event(json!({"full_name": "acme/app", "fork": false})),
            Some("pull_request"),
        )
        .unwrap();
        assert_eq!(
            (
                same.number,
                same.head_sha.as_deref(),
                same.base_sha.as_deref()
            ),
            (Some(7), Some("aaa"), Some("bbb"))
        );
        assert!(!same.from_fork);
        let fork = parse_event(
            &pr_event(json!({"full_name": "eve/app", "fork": true})),
            Some("pull_request"),
        )
        .unwrap();
        assert!(fork.from_fork);
        let deleted = parse_event(&pr_event(Value::Null), Some("pull_request_target")).unwrap();
        assert!(deleted.from_fork);
        assert_eq!(deleted.trigger, Trigger::PullRequestTarget);
    }

    #[test]
    fn workflow_run_events_take_the_head_sha_from_the_run() {
        let event = json!({
            "workflow_run": {"head_sha": "ccc", "event": "pull_request", "pull_requests": [],
                             "head_repository": {"full_name": "eve/app"}},
            "repository": {"full_name": "acme/app"}
        });
        let parsed = parse_event(&event, Some("workflow_run")).unwrap();
        assert_eq!(parsed.number, None);
        assert!(parsed.from_fork);
        assert_eq!(
            parsed.trigger,
            Trigger::WorkflowRun {
                head_sha: "ccc".into(),
                head_repository: Some("eve/app".into()),
                head_branch: None,
            }
        );
    }

    #[test]
    fn other_events_are_refused_with_the_reason() {
        let push = json!({"ref": "refs/heads/main", "repository": {"full_name": "acme/app"}});
        assert!(parse_event(&push, Some("push"))
            .unwrap_err()
            .contains("`push` event has no pull request"));
    }

    #[test]
    fn endpoints_follow_the_environment_and_enterprise_server() {
        let env = |name: &str| match name {
            "GITHUB_API_URL" => Some("https://ghe.example.com/api/v3".to_string()),
            "GITHUB_REPOSITORY" => Some("acme/app".to_string()),
            "GITHUB_RUN_ID" => Some("42".to_string()),
            "GITHUB_SERVER_URL" => Some("https://ghe.example.com".to_string()),
            _ => None,
        };
        let e = endpoints(&env);
        assert_eq!(e.graphql_url, "https://ghe.example.com/api/graphql");
        assert_eq!(
            e.run_url.as_deref(),
            Some("https://ghe.example.com/acme/app/actions/runs/42")
        );
        let default = endpoints(&|_: &str| None);
        assert_eq!(default.graphql_url, "https://api.github.com/graphql");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let overrides = Overrides {
            token: Some("ghp_secret".into()),
            ..Overrides::default()
        };
        let token = token(&overrides, &|_: &str| None).unwrap();
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(token.expose(), "ghp_secret");
    }
}
