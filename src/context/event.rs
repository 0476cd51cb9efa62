//! What happened to a change, as the CI tells it: the Jira event (opened,
//! updated, merged) and the facts its issue keys and comment come from (title,
//! description, branch, links, the commits). GitHub Actions' `pull_request`
//! and `push` events, GitLab CI's merge request and default-branch pipelines,
//! Jenkins' `CHANGE_*` builds. Everything read here from the change (title,
//! description, branch, commit messages) is hostile text: it only feeds key
//! extraction and escaped output.

use crate::github::context::Env;
use crate::jira::Event;
use serde_json::Value;
use std::path::Path;

/// The longest title kept for the comment (the rest is cut).
const MAX_TITLE: usize = 200;
/// The largest event payload read.
const MAX_PAYLOAD: u64 = 25 * 1024 * 1024;
/// A git commit id that stands for "no commit" (a new branch).
const NO_COMMIT: &str = "0000000000000000000000000000000000000000";

/// Which CI said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    GitHubActions,
    GitLab,
    Jenkins,
}

/// A change and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub ci: Ci,
    /// The Jira event; None when this kind of event moves no issue (`why` says so).
    pub event: Option<Event>,
    /// Why there is no event, to say.
    pub why: Option<String>,
    /// Closed without merging: not even a failing job comments.
    pub closed_unmerged: bool,
    /// Identifies the change across re-runs: `github.com/acme/app#12`,
    /// `gitlab.example.com/g/app!3`, `github.com/acme/app@<sha>` for a push.
    pub id: Option<String>,
    /// `PR #12`, `MR !3`, `commit abc1234`.
    pub label: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub branch: Option<String>,
    /// The change's web page.
    pub url: Option<String>,
    /// The CI run: its URL and what the CI calls it.
    pub run: Option<(String, String)>,
    /// The commits of the change: base and head, for `git log base..head`.
    pub range: Option<(String, String)>,
    /// Commit messages the CI gives itself (a push payload's `commits`,
    /// `CI_COMMIT_MESSAGE`), for when git cannot list the range.
    pub commit_messages: Vec<String>,
}

impl Facts {
    fn new(ci: Ci) -> Facts {
        Facts {
            ci,
            event: None,
            why: None,
            closed_unmerged: false,
            id: None,
            label: None,
            title: None,
            description: None,
            branch: None,
            url: None,
            run: None,
            range: None,
            commit_messages: Vec::new(),
        }
    }

    fn nothing(ci: Ci, why: impl Into<String>) -> Facts {
        Facts {
            why: Some(why.into()),
            ..Facts::new(ci)
        }
    }

    /// The events to sync: the change's own, and `failed` when the gate
    /// fails (not on a change closed without merging).
    pub fn events(&self, gate_fails: bool) -> Vec<Event> {
        let mut events: Vec<Event> = self.event.into_iter().collect();
        if gate_fails && !self.closed_unmerged {
            events.push(Event::Failed);
        }
        events
    }
}

/// The facts of the CI this runs in: None outside GitHub Actions, GitLab CI
/// and Jenkins. An error is an event payload that cannot be read.
pub fn read(env: Env<'_>) -> Result<Option<Facts>, String> {
    let is = |name: &str| env(name).is_some_and(|v| v == "true");
    if is("GITHUB_ACTIONS") || env("GITHUB_EVENT_PATH").is_some() {
        return github(env).map(Some);
    }
    if is("GITLAB_CI") {
        return Ok(Some(gitlab(env)));
    }
    if env("JENKINS_URL").is_some() || env("BUILD_URL").is_some() {
        return Ok(Some(jenkins(env)));
    }
    Ok(None)
}

/// GitHub Actions: `GITHUB_EVENT_NAME` and the `GITHUB_EVENT_PATH` payload.
fn github(env: Env<'_>) -> Result<Facts, String> {
    let name = env("GITHUB_EVENT_NAME").unwrap_or_default();
    let Some(path) = env("GITHUB_EVENT_PATH") else {
        return Ok(Facts::nothing(
            Ci::GitHubActions,
            "GitHub Actions without an event payload (GITHUB_EVENT_PATH)",
        ));
    };
    let payload = read_payload(Path::new(&path))?;
    Ok(github_facts(&name, &payload, env))
}

fn read_payload(path: &Path) -> Result<Value, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PAYLOAD).read_to_string(&mut text))
        .map_err(|e| format!("{}: cannot read the event payload: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}: not a JSON event payload: {e}",
            path.display(),
            e.line()
        )
    })
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn owned(value: Option<&str>) -> Option<String> {
    value.map(str::to_string)
}

/// The facts of a GitHub event payload named `name`.
pub fn github_facts(name: &str, payload: &Value, env: Env<'_>) -> Facts {
    let endpoints = crate::github::context::endpoints(env);
    let host = host_of(&endpoints.server_url);
    let repository = str_at(payload, "/repository/full_name")
        .map(str::to_string)
        .or_else(|| env("GITHUB_REPOSITORY"));
    let mut facts = Facts::new(Ci::GitHubActions);
    facts.run = endpoints
        .run_url
        .map(|url| (url, "workflow run".to_string()));
    match name {
        "pull_request" | "pull_request_target" => {
            let Some(pr) = payload.get("pull_request") else {
                facts.why = Some(format!("the `{name}` event has no pull request"));
                return facts;
            };
            let action = one_line(str_at(payload, "/action").unwrap_or_default());
            let action = action.as_str();
            let merged = pr.get("merged").and_then(Value::as_bool) == Some(true);
            facts.event = match action {
                "opened" | "reopened" | "ready_for_review" => Some(Event::Opened),
                "synchronize" => Some(Event::Updated),
                "closed" if merged => Some(Event::Merged),
                _ => None,
            };
            if facts.event.is_none() {
                facts.closed_unmerged = action == "closed";
                facts.why = Some(if facts.closed_unmerged {
                    "the pull request was closed without merging".to_string()
                } else {
                    format!("a `{name}` event with action `{action}` moves no issue (opened, reopened, ready_for_review, synchronize and closed when merged do)")
                });
            }
            let number = pr
                .get("number")
                .or_else(|| payload.get("number"))
                .and_then(Value::as_u64);
            if let (Some(repository), Some(number)) = (&repository, number) {
                facts.id = Some(format!("{host}/{repository}#{number}"));
                facts.label = Some(format!("PR #{number}"));
            }
            facts.title = str_at(pr, "/title").map(short_title);
            facts.description = owned(str_at(pr, "/body"));
            facts.branch = owned(str_at(pr, "/head/ref"));
            facts.url = owned(str_at(pr, "/html_url"));
            if let (Some(base), Some(head)) = (str_at(pr, "/base/sha"), str_at(pr, "/head/sha")) {
                facts.range = Some((base.to_string(), head.to_string()));
            }
        }
        "push" => {
            let default = str_at(payload, "/repository/default_branch");
            let pushed = one_line(str_at(payload, "/ref").unwrap_or_default());
            let pushed = pushed.as_str();
            let branch = pushed.strip_prefix("refs/heads/");
            if branch.is_none() || branch != default {
                facts.why = Some(format!(
                    "a push to `{pushed}`, not to the default branch{}: only a push to the default branch merges",
                    default.map(|d| format!(" `{d}`")).unwrap_or_default()
                ));
                return facts;
            }
            facts.event = Some(Event::Merged);
            facts.branch = owned(branch);
            let after = str_at(payload, "/after").unwrap_or_default();
            if let Some(repository) = &repository {
                facts.id = Some(format!("{host}/{repository}@{after}"));
            }
            facts.label = Some(format!("commit {}", short_sha(after)));
            facts.url = owned(str_at(payload, "/compare"))
                .or_else(|| owned(str_at(payload, "/head_commit/url")));
            facts.title = str_at(payload, "/head_commit/message").map(short_title);
            facts.commit_messages = payload
                .get("commits")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| str_at(c, "/message").map(str::to_string))
                .collect();
            if let Some(before) = str_at(payload, "/before").filter(|b| *b != NO_COMMIT) {
                facts.range = Some((before.to_string(), after.to_string()));
            }
        }
        other => {
            let other = one_line(other);
            facts.why = Some(format!(
                "a `{other}` event moves no issue: run on `pull_request` (opened, synchronize, reopened, ready_for_review, closed) or on `push` to the default branch"
            ));
        }
    }
    facts
}

/// GitLab CI: a merge request pipeline opens, a default-branch pipeline merges.
pub fn gitlab(env: Env<'_>) -> Facts {
    let host = env("CI_SERVER_HOST")
        .or_else(|| env("CI_SERVER_URL").map(|u| host_of(&u)))
        .unwrap_or_else(|| "gitlab".into());
    let mut facts = Facts::new(Ci::GitLab);
    facts.run = env("CI_PIPELINE_URL").map(|u| (u, "pipeline".to_string()));
    if let Some(iid) = env("CI_MERGE_REQUEST_IID") {
        let project = env("CI_MERGE_REQUEST_PROJECT_PATH").or_else(|| env("CI_PROJECT_PATH"));
        facts.event = Some(Event::Opened);
        facts.id = project.map(|p| format!("{host}/{p}!{iid}"));
        facts.label = Some(format!("MR !{iid}"));
        facts.title = env("CI_MERGE_REQUEST_TITLE").map(|t| short_title(&t));
        facts.description = env("CI_MERGE_REQUEST_DESCRIPTION");
        facts.branch = env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME");
        facts.url = env("CI_MERGE_REQUEST_PROJECT_URL")
            .or_else(|| env("CI_PROJECT_URL"))
            .map(|u| format!("{}/-/merge_requests/{iid}", u.trim_end_matches('/')));
        let head = env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA").or_else(|| env("CI_COMMIT_SHA"));
        if let (Some(base), Some(head)) = (env("CI_MERGE_REQUEST_DIFF_BASE_SHA"), head) {
            facts.range = Some((base, head));
        }
        return facts;
    }
    let branch = env("CI_COMMIT_BRANCH");
    let default = env("CI_DEFAULT_BRANCH");
    if branch.is_none() || branch != default {
        facts.why = Some(format!(
            "a GitLab pipeline that is neither a merge request pipeline (CI_MERGE_REQUEST_IID) nor one on the default branch{}",
            default.map(|d| format!(" `{d}`")).unwrap_or_default()
        ));
        return facts;
    }
    let sha = env("CI_COMMIT_SHA").unwrap_or_default();
    facts.event = Some(Event::Merged);
    facts.branch = branch;
    facts.id = env("CI_PROJECT_PATH").map(|p| format!("{host}/{p}@{sha}"));
    facts.label = Some(format!("commit {}", short_sha(&sha)));
    facts.url =
        env("CI_PROJECT_URL").map(|u| format!("{}/-/commit/{sha}", u.trim_end_matches('/')));
    facts.title = env("CI_COMMIT_TITLE")
        .or_else(|| env("CI_COMMIT_MESSAGE"))
        .map(|t| short_title(&t));
    facts.commit_messages = env("CI_COMMIT_MESSAGE").into_iter().collect();
    if let Some(before) = env("CI_COMMIT_BEFORE_SHA").filter(|b| b != NO_COMMIT) {
        facts.range = Some((before, sha));
    }
    facts
}

/// Jenkins: a multibranch pull/merge request build (`CHANGE_*`) opens; a
/// build of the primary branch (`BRANCH_IS_PRIMARY`) merges.
pub fn jenkins(env: Env<'_>) -> Facts {
    let build = match crate::context::jenkins::read(env) {
        Ok(crate::context::jenkins::Build::Change(build)) => build,
        Ok(crate::context::jenkins::Build::NoChange { reason }) => {
            return jenkins_primary(env).unwrap_or_else(|| Facts::nothing(Ci::Jenkins, reason))
        }
        Ok(crate::context::jenkins::Build::NotJenkins) => {
            return Facts::nothing(Ci::Jenkins, "not a Jenkins build")
        }
        Err(err) => return Facts::nothing(Ci::Jenkins, err),
    };
    let mut facts = Facts::new(Ci::Jenkins);
    facts.event = Some(Event::Opened);
    let location = build.location(None).ok();
    let (id, label) = match &location {
        Some(l) if l.forge == crate::context::jenkins::Forge::GitLab => (
            format!("{}/{}!{}", host_of(&l.server_url), l.repository, l.number),
            format!("MR !{}", l.number),
        ),
        Some(l) => (
            format!("{}/{}#{}", host_of(&l.server_url), l.repository, l.number),
            format!("PR #{}", l.number),
        ),
        None => (
            format!("{}#{}", env("JOB_NAME").unwrap_or_default(), build.number),
            format!("change {}", build.number),
        ),
    };
    facts.id = Some(id);
    facts.label = Some(label);
    facts.title = env("CHANGE_TITLE").map(|t| short_title(&t));
    facts.branch = build.source_branch.clone();
    facts.url = build.change_url.clone();
    facts.run = build.build_url.clone().map(|u| (u, "build".to_string()));
    if let Some(target) = &build.target_branch {
        facts.range = Some((format!("origin/{target}"), "HEAD".to_string()));
    }
    facts
}

/// A multibranch build of the primary branch: what was merged since the last
/// successful build (else the last commit), as a push to the default branch is.
fn jenkins_primary(env: Env<'_>) -> Option<Facts> {
    if env("BRANCH_IS_PRIMARY").as_deref() != Some("true") {
        return None;
    }
    let sha = env("GIT_COMMIT").filter(|s| !s.trim().is_empty())?;
    let mut facts = Facts::new(Ci::Jenkins);
    facts.event = Some(Event::Merged);
    facts.branch = env("BRANCH_NAME");
    facts.id = Some(format!(
        "{}@{sha}",
        env("JOB_NAME").unwrap_or_else(|| "jenkins".into())
    ));
    facts.label = Some(format!("commit {}", short_sha(&sha)));
    facts.run = env("BUILD_URL").map(|u| (u, "build".to_string()));
    let base = env("GIT_PREVIOUS_SUCCESSFUL_COMMIT")
        .filter(|b| !b.trim().is_empty() && *b != sha)
        .unwrap_or_else(|| format!("{sha}~1"));
    facts.range = Some((base, sha));
    Some(facts)
}

/// `github.com` of `https://github.com`; the URL itself when it has no scheme.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split('/').next().unwrap_or(rest);
    // Never a user:password@ part.
    host.rsplit('@').next().unwrap_or(host).to_string()
}

/// Text from a payload that is said in a message: one line, at most 100 characters.
fn one_line(text: &str) -> String {
    text.chars()
        .take(100)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// The first line of a title or commit message, at most [`MAX_TITLE`] characters.
fn short_title(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(MAX_TITLE) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    fn pull_request(action: &str, merged: bool) -> Value {
        json!({
            "action": action,
            "number": 12,
            "repository": {"full_name": "acme/app", "default_branch": "main"},
            "pull_request": {
                "number": 12,
                "title": "SHOP-12 Cart total\nignores discounts",
                "body": "Fixes SHOP-14",
                "html_url": "https://github.com/acme/app/pull/12",
                "merged": merged,
                "head": {"ref": "feature/shop-12-cart", "sha": "h".repeat(40)},
                "base": {"ref": "main", "sha": "b".repeat(40)},
            }
        })
    }

    const ACTIONS: &[(&str, &str)] = &[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "acme/app"),
        ("GITHUB_RUN_ID", "99"),
    ];

    #[test]
    fn github_pull_request_actions_map_to_events() {
        let env = env_of(ACTIONS);
        for (action, merged, event) in [
            ("opened", false, Some(Event::Opened)),
            ("reopened", false, Some(Event::Opened)),
            ("ready_for_review", false, Some(Event::Opened)),
            ("synchronize", false, Some(Event::Updated)),
            ("closed", true, Some(Event::Merged)),
            ("closed", false, None),
            ("labeled", false, None),
        ] {
            let facts = github_facts("pull_request", &pull_request(action, merged), &env);
            assert_eq!(facts.event, event, "{action} merged={merged}");
            assert_eq!(facts.why.is_some(), event.is_none(), "{action}");
        }
        let closed = github_facts("pull_request", &pull_request("closed", false), &env);
        assert!(closed.closed_unmerged);
        assert_eq!(closed.events(true), Vec::<Event>::new());
        let labeled = github_facts("pull_request", &pull_request("labeled", false), &env);
        assert_eq!(labeled.events(true), [Event::Failed]);
    }

    #[test]
    fn github_pull_request_facts() {
        let env = env_of(ACTIONS);
        let facts = github_facts("pull_request_target", &pull_request("opened", false), &env);
        assert_eq!(facts.id.as_deref(), Some("github.com/acme/app#12"));
        assert_eq!(facts.label.as_deref(), Some("PR #12"));
        assert_eq!(facts.title.as_deref(), Some("SHOP-12 Cart total"));
        assert_eq!(facts.description.as_deref(), Some("Fixes SHOP-14"));
        assert_eq!(facts.branch.as_deref(), Some("feature/shop-12-cart"));
        assert_eq!(
            facts.url.as_deref(),
            Some("https://github.com/acme/app/pull/12")
        );
        assert_eq!(
            facts.run,
            Some((
                "https://github.com/acme/app/actions/runs/99".to_string(),
                "workflow run".to_string()
            ))
        );
        assert_eq!(facts.range, Some(("b".repeat(40), "h".repeat(40))));
        assert_eq!(facts.events(true), [Event::Opened, Event::Failed]);
    }

    #[test]
    fn a_push_to_the_default_branch_merges_and_other_pushes_do_nothing() {
        let env = env_of(&[("GITHUB_SERVER_URL", "https://ghe.example.com")]);
        let push = |r: &str, before: &str| {
            json!({
                "ref": r, "before": before, "after": "a".repeat(40),
                "repository": {"full_name": "acme/app", "default_branch": "main"},
                "compare": "https://ghe.example.com/acme/app/compare/x...y",
                "head_commit": {"message": "Merge pull request #12 from acme/SHOP-12\n\nbody"},
                "commits": [{"message": "SHOP-12 one"}, {"message": "OPS-3 two"}],
            })
        };
        let merged = github_facts("push", &push("refs/heads/main", &"c".repeat(40)), &env);
        assert_eq!(merged.event, Some(Event::Merged));
        assert_eq!(
            merged.id,
            Some(format!("ghe.example.com/acme/app@{}", "a".repeat(40)))
        );
        assert_eq!(merged.label.as_deref(), Some("commit aaaaaaa"));
        assert_eq!(merged.commit_messages, ["SHOP-12 one", "OPS-3 two"]);
        assert_eq!(merged.range, Some(("c".repeat(40), "a".repeat(40))));
        // A new branch has no `before`.
        let first = github_facts("push", &push("refs/heads/main", NO_COMMIT), &env);
        assert_eq!(first.range, None);
        for other in [
            "refs/heads/feature/x",
            "refs/tags/v1",
            "refs/heads/mainline",
        ] {
            let facts = github_facts("push", &push(other, NO_COMMIT), &env);
            assert_eq!(facts.event, None, "{other}");
            assert!(facts.why.unwrap().contains("not to the default branch"));
        }
        let facts = github_facts("workflow_dispatch", &json!({}), &env);
        assert_eq!(facts.event, None);
        // What a payload says is said on one line.
        let odd = json!({"action": "x\n::error::y", "pull_request": {"number": 1}});
        let facts = github_facts("pull_request", &odd, &env);
        assert!(!facts.why.unwrap().contains('\n'));
    }

    #[test]
    fn github_reads_the_payload_file_and_names_a_broken_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, pull_request("opened", false).to_string()).unwrap();
        let path_text = path.display().to_string();
        let env = env_of(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &path_text),
        ]);
        let facts = read(&env).unwrap().unwrap();
        assert_eq!(facts.event, Some(Event::Opened));
        std::fs::write(&path, "{\n\"action\": ").unwrap();
        let err = read(&env).unwrap_err();
        assert!(
            err.starts_with(&format!("{path_text}:2: not a JSON event payload")),
            "{err}"
        );
    }

    #[test]
    fn gitlab_merge_request_and_default_branch_pipelines() {
        let mr = gitlab(&env_of(&[
            ("GITLAB_CI", "true"),
            ("CI_SERVER_HOST", "gitlab.example.com"),
            ("CI_PROJECT_PATH", "group/app"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/group/app"),
            ("CI_MERGE_REQUEST_IID", "3"),
            ("CI_MERGE_REQUEST_TITLE", "OPS-4: rotate keys"),
            ("CI_MERGE_REQUEST_DESCRIPTION", "Also SHOP-1"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "ops-4-rotate"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "base0"),
            ("CI_COMMIT_SHA", "head1"),
            (
                "CI_PIPELINE_URL",
                "https://gitlab.example.com/group/app/-/pipelines/9",
            ),
        ]));
        assert_eq!(mr.event, Some(Event::Opened));
        assert_eq!(mr.id.as_deref(), Some("gitlab.example.com/group/app!3"));
        assert_eq!(mr.label.as_deref(), Some("MR !3"));
        assert_eq!(mr.title.as_deref(), Some("OPS-4: rotate keys"));
        assert_eq!(mr.branch.as_deref(), Some("ops-4-rotate"));
        assert_eq!(
            mr.url.as_deref(),
            Some("https://gitlab.example.com/group/app/-/merge_requests/3")
        );
        assert_eq!(mr.range, Some(("base0".into(), "head1".into())));
        assert_eq!(mr.run.unwrap().1, "pipeline");

        let main = [
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", "https://gitlab.example.com:8443"),
            ("CI_PROJECT_PATH", "group/app"),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_DEFAULT_BRANCH", "main"),
            ("CI_COMMIT_SHA", "1234567890"),
            ("CI_COMMIT_BEFORE_SHA", "0987654321"),
            (
                "CI_COMMIT_MESSAGE",
                "Merge branch 'ops-4' into 'main'\n\nOPS-4",
            ),
        ];
        let merged = gitlab(&env_of(&main));
        assert_eq!(merged.event, Some(Event::Merged));
        assert_eq!(
            merged.id.as_deref(),
            Some("gitlab.example.com:8443/group/app@1234567890")
        );
        assert_eq!(merged.commit_messages.len(), 1);
        assert_eq!(
            merged.range,
            Some(("0987654321".into(), "1234567890".into()))
        );

        let mut feature = main.to_vec();
        feature[3] = ("CI_COMMIT_BRANCH", "feature/x");
        let none = gitlab(&env_of(&feature));
        assert_eq!(none.event, None);
        assert!(none
            .why
            .unwrap()
            .contains("neither a merge request pipeline"));
    }

    #[test]
    fn jenkins_change_builds_open_and_branch_builds_do_nothing() {
        let facts = jenkins(&env_of(&[
            ("JENKINS_URL", "https://ci.example.com/"),
            ("BUILD_URL", "https://ci.example.com/job/app/PR-5/1/"),
            ("CHANGE_ID", "5"),
            ("CHANGE_URL", "https://github.com/acme/app/pull/5"),
            ("CHANGE_TITLE", "SHOP-5 checkout"),
            ("CHANGE_BRANCH", "shop-5-checkout"),
            ("CHANGE_TARGET", "main"),
        ]));
        assert_eq!(facts.event, Some(Event::Opened));
        assert_eq!(facts.id.as_deref(), Some("github.com/acme/app#5"));
        assert_eq!(facts.label.as_deref(), Some("PR #5"));
        assert_eq!(facts.title.as_deref(), Some("SHOP-5 checkout"));
        assert_eq!(facts.branch.as_deref(), Some("shop-5-checkout"));
        assert_eq!(facts.range, Some(("origin/main".into(), "HEAD".into())));
        assert_eq!(facts.run.unwrap().1, "build");
        let branch = jenkins(&env_of(&[("JENKINS_URL", "https://ci.example.com/")]));
        assert_eq!(branch.event, None);
        assert!(branch.why.is_some());
        let other = jenkins(&env_of(&[
            ("JENKINS_URL", "https://ci.example.com/"),
            ("BRANCH_IS_PRIMARY", "false"),
            ("GIT_COMMIT", "c".repeat(40).as_str()),
        ]));
        assert_eq!(other.event, None);
    }

    #[test]
    fn a_jenkins_build_of_the_primary_branch_merges_what_came_since_the_last_good_one() {
        let sha = "c".repeat(40);
        let vars = [
            ("JENKINS_URL", "https://ci.example.com/"),
            ("BUILD_URL", "https://ci.example.com/job/app/main/9/"),
            ("JOB_NAME", "app/main"),
            ("BRANCH_NAME", "main"),
            ("BRANCH_IS_PRIMARY", "true"),
            ("GIT_COMMIT", sha.as_str()),
            ("GIT_PREVIOUS_SUCCESSFUL_COMMIT", "a1b2c3"),
        ];
        let facts = jenkins(&env_of(&vars));
        assert_eq!(facts.event, Some(Event::Merged));
        assert_eq!(facts.range, Some(("a1b2c3".into(), sha.clone())));
        assert_eq!(facts.id, Some(format!("app/main@{sha}")));
        assert_eq!(facts.label.as_deref(), Some("commit ccccccc"));
        assert_eq!(facts.run.unwrap().1, "build");
        // The first build of the branch: its last commit.
        let first = jenkins(&env_of(&vars[..6]));
        assert_eq!(first.range, Some((format!("{sha}~1"), sha)));
    }

    #[test]
    fn outside_ci_there_are_no_facts() {
        assert_eq!(read(&env_of(&[])).unwrap(), None);
    }

    #[test]
    fn hostile_titles_are_cut_to_one_short_line_and_hosts_lose_credentials() {
        let long = format!("SHOP-1 {}\n::error::x", "a".repeat(500));
        let title = short_title(&long);
        assert!(!title.contains('\n'));
        assert_eq!(title.chars().count(), MAX_TITLE + 1);
        assert_eq!(
            host_of("https://user:pw@gitlab.example.com/x"),
            "gitlab.example.com"
        );
    }
}
