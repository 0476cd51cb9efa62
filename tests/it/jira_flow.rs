//! `tollgate jira sync` without a Jira server: configuration errors with
//! their lines, no credentials, no event, the keys a dry run plans for, the
//! JSON shape, and the token never printed. (Against a fake Jira: the
//! end-to-end tests of the sync itself.)

use crate::common::{git, json, tollgate_env, tree, write, Run};
use std::path::Path;

const TOKEN: &str = "jira-tok-5ecret-value";

const CONFIG: &str = "jira:
  url: https://jira.example.com
  projects: [SHOP, OPS]
  on:
    opened: { status: In Review, comment: true }
    merged: { status: Done, comment: true }
  required: false
";

/// A repository whose `main` has `config`, and a branch `branch` with two
/// commits naming issues.
fn repo(config: &str, branch: &str) -> tempfile::TempDir {
    let dir = tree(&[(".tollgate.yml", config)]);
    let root = dir.path();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base: UTF-8 everywhere"]);
    git(root, &["checkout", "-qb", branch]);
    write(root, "a.txt", b"a");
    git(root, &["add", "-A"]);
    git(
        root,
        &["commit", "-qm", "SHOP-14 hash with SHA-256\n\nRefs OPS-7"],
    );
    write(root, "b.txt", b"b");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "Fix SHOP-14 again, see DEV-9"]);
    dir
}

fn sync(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["jira", "sync"];
    all.extend_from_slice(args);
    tollgate_env(dir, &all, env)
}

/// `jira sync --dry-run --format json` of `event` for the change from `main`, without credentials.
fn plan(dir: &Path, event: &str) -> Run {
    let args = [
        "--event",
        event,
        "--dry-run",
        "--base",
        "main",
        "--format",
        "json",
    ];
    sync(dir, &args, &[])
}

fn output(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

#[test]
fn a_dry_run_plans_for_the_keys_of_the_branch_and_the_commits_in_order() {
    let dir = repo(CONFIG, "feature/shop-12-cart");
    let run = sync(
        dir.path(),
        &["--event", "opened", "--dry-run", "--base", "main"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", output(&run));
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    for (line, key) in lines.iter().zip(["SHOP-12", "SHOP-14", "OPS-7"]) {
        assert!(
            line.starts_with(&format!("{key}: ")) && line.contains("In Review"),
            "{line}"
        );
    }
    // Outside the allow-list, and the base's own commit: no key.
    for not_a_key in ["DEV-9", "UTF-8", "SHA-256"] {
        assert!(!run.stdout.contains(not_a_key), "{}", run.stdout);
    }
    assert!(
        run.stderr.contains("JIRA_API_TOKEN is not set"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_lists_every_issue_with_the_documented_fields() {
    let dir = repo(CONFIG, "ops-3-rotate");
    let run = plan(dir.path(), "merged");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let issues = json(&run)["issues"].as_array().unwrap().clone();
    let keys: Vec<&str> = issues.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["OPS-3", "SHOP-14", "OPS-7"]);
    let first = issues[0].as_object().unwrap();
    let mut fields: Vec<&str> = first.keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "comment",
            "key",
            "outcome",
            "reason",
            "status_after",
            "status_before",
            "transition"
        ]
    );
    assert_eq!(first["status_after"], "Done");
    assert_eq!(first["outcome"], "planned");
}

#[test]
fn the_event_and_the_keys_come_from_a_github_pull_request_payload() {
    let dir = repo(CONFIG, "feature/x");
    // The base is in the clone: its `jira:` section is the one used.
    let main = git(dir.path(), &["rev-parse", "main"]).trim().to_string();
    let payload = |action: &str, merged: bool, base: &str| {
        serde_json::json!({
            "action": action,
            "number": 12,
            "repository": {"full_name": "acme/app", "default_branch": "main"},
            "pull_request": {
                "number": 12,
                "title": "[SHOP-12] Cart total (UTF-8 safe)",
                "body": "Fixes **SHOP-15**\n\nsee https://jira.example.com/browse/OPS-8\n::error::SHOP-16",
                "html_url": "https://github.com/acme/app/pull/12",
                "merged": merged,
                "head": {"ref": "shop-11-cart", "sha": "h".repeat(40)},
                "base": {"ref": "main", "sha": base},
            }
        })
        .to_string()
    };
    let event = write(
        dir.path(),
        "event.json",
        payload("opened", false, &main).as_bytes(),
    );
    let event_path = event.display().to_string();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", event_path.as_str()),
        ("GITHUB_REPOSITORY", "acme/app"),
    ];
    let run = sync(dir.path(), &["--dry-run", "--format", "json"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let keys: Vec<String> = json(&run)["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect();
    // The payload's head commit is not in this clone: the commits cannot be
    // listed, which is said; the branch, title and description still count.
    assert_eq!(keys, ["SHOP-11", "SHOP-12", "SHOP-15", "OPS-8", "SHOP-16"]);
    assert!(
        run.stderr.contains("commit messages cannot be read"),
        "{}",
        run.stderr
    );
    // Hostile text from the payload never forms a workflow command.
    assert!(!output(&run)
        .lines()
        .any(|l| l.trim_start().starts_with("::error")));

    // A base that is not in the clone (a shallow checkout): nothing of the
    // change's `jira:` section is trusted, and tollgate says what to do.
    std::fs::write(&event, payload("opened", false, &"b".repeat(40))).unwrap();
    let shallow = sync(dir.path(), &["--dry-run", "--format", "json"], &env);
    assert_eq!(shallow.code, 0, "{}", shallow.stderr);
    assert_eq!(json(&shallow)["issues"], serde_json::json!([]));
    assert!(
        shallow
            .stderr
            .contains("the base commit's configuration cannot be read")
            && shallow.stderr.contains("fetch-depth: 0"),
        "{}",
        shallow.stderr
    );

    std::fs::write(&event, payload("closed", false, &main)).unwrap();
    let closed = sync(dir.path(), &["--dry-run"], &env);
    assert_eq!(closed.code, 0, "{}", closed.stderr);
    assert!(
        closed
            .stderr
            .contains("no Jira event: the pull request was closed without merging"),
        "{}",
        closed.stderr
    );
    assert_eq!(closed.stdout, "");
}

#[test]
fn a_jenkins_build_of_the_primary_branch_merges_the_issues_of_its_new_commits() {
    let dir = repo(CONFIG, "main-next");
    let (head, main) = (
        git(dir.path(), &["rev-parse", "HEAD"]).trim().to_string(),
        git(dir.path(), &["rev-parse", "main"]).trim().to_string(),
    );
    let env = [
        ("JENKINS_URL", "https://ci.example.com/"),
        ("BUILD_URL", "https://ci.example.com/job/app/main/9/"),
        ("JOB_NAME", "app/main"),
        ("BRANCH_NAME", "main"),
        ("BRANCH_IS_PRIMARY", "true"),
        ("GIT_COMMIT", head.as_str()),
        ("GIT_PREVIOUS_SUCCESSFUL_COMMIT", main.as_str()),
    ];
    let run = sync(dir.path(), &["--dry-run", "--format", "json"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let issues = json(&run)["issues"].as_array().unwrap().clone();
    let keys: Vec<&str> = issues.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["SHOP-14", "OPS-7"], "{}", run.stderr);
    assert!(
        issues.iter().all(|i| i["status_after"] == "Done"),
        "{issues:?}"
    );
}

#[test]
fn no_event_no_section_and_no_keys_are_one_line_each() {
    let dir = repo(CONFIG, "feature/x");
    let run = sync(dir.path(), &["--dry-run"], &[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("note: no Jira event: not run in GitHub Actions, GitLab CI or Jenkins; nothing to do (pass --event opened|updated|merged|failed)"),
        "{}",
        run.stderr
    );

    let bare = repo("fail_on: warning\n", "feature/x");
    let run = sync(bare.path(), &["--event", "opened", "--format", "json"], &[]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("no `jira:` section"), "{}", run.stderr);
    assert_eq!(json(&run)["issues"], serde_json::json!([]));

    let run = sync(dir.path(), &["--event", "opened", "--dry-run"], &[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("no Jira issue keys in the branch name, title, description or commit messages (of the projects SHOP, OPS): nothing to sync"),
        "{}",
        run.stderr
    );

    let run = sync(dir.path(), &["--event", "failed", "--dry-run"], &[]);
    assert!(
        run.stderr.contains("jira.on has no `failed`"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_credentials_warn_unless_jira_is_required() {
    let dir = repo(CONFIG, "shop-12-cart");
    let run = sync(dir.path(), &["--event", "opened", "--base", "main"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: Jira issues SHOP-12, SHOP-14, OPS-7 not synced: JIRA_API_TOKEN is not set"
        ),
        "{}",
        run.stderr
    );
    let required = repo(
        &CONFIG.replace("required: false", "required: true"),
        "shop-12-cart",
    );
    let run = sync(
        required.path(),
        &["--event", "opened", "--base", "main"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: Jira issues SHOP-12"),
        "{}",
        run.stderr
    );
}

#[test]
fn configuration_errors_name_the_file_and_line() {
    for (config, line, expected) in [
        (
            "jira:\n  projects: [SHOP]\n  key_pattern: \"[A-Z\"\n",
            3,
            "jira.key_pattern: invalid regular expression `[A-Z`",
        ),
        (
            "jira:\n  url: https://jira.example.com\n  token: s3cr3t-value\n",
            3,
            "unknown field `token`",
        ),
        (
            "jira:\n  projects: [SHOP, shop-x]\n",
            2,
            "jira.projects: `shop-x` is not a project key",
        ),
        (
            "jira:\n  url: http://jira.example.com\n",
            2,
            "jira.url: `http://`: expected an https:// URL",
        ),
        (
            "jira:\n  on:\n    opened: { status: Done, coment: true }\n",
            3,
            "unknown field `coment`",
        ),
        (
            "jira:\n  url: https://${JIRA_API_TOKEN}.example.com\n",
            2,
            "`${JIRA_API_TOKEN}` may not be read",
        ),
    ] {
        let dir = repo(config, "shop-1");
        for args in [
            vec!["jira", "sync", "--event", "opened", "--dry-run"],
            vec!["config", "validate"],
        ] {
            let run = tollgate_env(dir.path(), &args, &[("JIRA_API_TOKEN", TOKEN)]);
            assert_eq!(run.code, 2, "{args:?} {config}: {}", run.stderr);
            assert!(
                run.stderr.contains(&format!(".tollgate.yml:{line}: "))
                    && run.stderr.contains(expected),
                "{args:?} {config}: {}",
                run.stderr
            );
            assert!(!output(&run).contains("s3cr3t-value"));
            assert!(!output(&run).contains(TOKEN));
        }
    }
}

#[test]
fn the_schema_shows_the_jira_section() {
    let dir = tree(&[]);
    let run = tollgate_env(dir.path(), &["schema", "config"], &[]);
    let schema = json(&run);
    let text = schema.to_string();
    for key in ["key_pattern", "projects", "required", "transition"] {
        assert!(text.contains(key), "{key}");
    }
}

#[test]
fn the_token_is_never_printed_and_is_masked_in_actions() {
    let dir = repo(CONFIG, "shop-12-cart");
    let env = [
        ("JIRA_API_TOKEN", TOKEN),
        ("JIRA_EMAIL", "bot@example.com"),
        ("JIRA_URL", "http://127.0.0.1:9"),
    ];
    for format in ["text", "json"] {
        let run = sync(
            dir.path(),
            &["--event", "opened", "--base", "main", "--format", format],
            &env,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!output(&run).contains(TOKEN), "{}", output(&run));
        assert!(run.stderr.contains("warning: "), "{}", run.stderr);
    }
    let mut actions = env.to_vec();
    actions.push(("GITHUB_ACTIONS", "true"));
    let run = sync(
        dir.path(),
        &["--event", "opened", "--base", "main", "--format", "json"],
        &actions,
    );
    // Only the mask command holds it, on stderr: stdout is the JSON document.
    let all = output(&run);
    let holding: Vec<&str> = all.lines().filter(|l| l.contains(TOKEN)).collect();
    assert_eq!(
        holding,
        [format!("::add-mask::{TOKEN}")],
        "{}",
        output(&run)
    );
    assert!(!run.stdout.contains(TOKEN));
    json(&run);
}

#[test]
fn a_change_can_neither_redirect_jira_nor_choose_its_issues_status() {
    let dir = repo(CONFIG, "shop-12-cart");
    let root = dir.path();
    write(
        root,
        ".tollgate.yml",
        CONFIG
            .replace("https://jira.example.com", "https://evil.example")
            .replace("status: In Review", "status: Done")
            .replace("projects: [SHOP, OPS]", "projects: [SHOP, OPS, DEV]")
            .as_bytes(),
    );
    git(root, &["commit", "-qam", "SHOP-12 point Jira elsewhere"]);
    let run = plan(root, "opened");
    assert!(
        run.stderr.contains("note: `jira` is changed by this change: it decides which Jira issues move, to which status, and where the token is sent, so the base commit's value is used"),
        "{}",
        run.stderr
    );
    assert!(!output(&run).contains("evil.example"), "{}", output(&run));
    let issues = json(&run)["issues"].as_array().unwrap().clone();
    let keys: Vec<&str> = issues.iter().map(|i| i["key"].as_str().unwrap()).collect();
    // DEV-9 is in a commit message, but only the base's projects count.
    assert_eq!(keys, ["SHOP-12", "SHOP-14", "OPS-7"]);
    assert!(
        issues.iter().all(|i| i["status_after"] == "In Review"),
        "{issues:?}"
    );
}

// ---- End to end, against a fake Jira (and a fake GitHub for `review`). ----

use crate::fake_github::{file_entry, FakeGitHub};
use crate::fake_jira::{FakeJira, Flavor, EMAIL};

const GITHUB_TOKEN: &str = "ghs_jira_flow_token";

fn jira_config(url: &str, extra: &str) -> String {
    format!(
        "jira:
  url: {url}
  projects: [SHOP]
  on:
    opened: {{ status: In Review, comment: true }}
    merged: {{ status: Done, comment: true }}
    failed: {{ comment: true }}
{extra}"
    )
}

fn credentials(flavor: Flavor) -> Vec<(&'static str, &'static str)> {
    match flavor {
        Flavor::Cloud => vec![("JIRA_API_TOKEN", TOKEN), ("JIRA_EMAIL", EMAIL)],
        Flavor::DataCenter => vec![("JIRA_API_TOKEN", TOKEN)],
    }
}

#[test]
fn jira_sync_moves_the_issues_once_and_a_rerun_posts_no_second_comment() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let jira = FakeJira::start(flavor, TOKEN);
        jira.add_issue("SHOP-12", "In Progress");
        jira.add_issue("SHOP-14", "Done");
        let dir = repo(&jira_config(&jira.url(), ""), "feature/shop-12-cart");
        let run = sync(
            dir.path(),
            &["--event", "merged", "--base", "main"],
            &credentials(flavor),
        );
        assert_eq!(run.code, 0, "{flavor:?}: {}", output(&run));
        assert_eq!(jira.issue("SHOP-12").status, "Done", "{flavor:?}");
        assert_eq!(jira.issue("SHOP-14").status, "Done");
        for key in ["SHOP-12", "SHOP-14"] {
            assert_eq!(jira.issue(key).comments.len(), 1, "{flavor:?} {key}");
        }
        assert!(
            run.stdout.contains("SHOP-12: In Progress → Done"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("SHOP-14: already Done"),
            "{}",
            run.stdout
        );
        assert!(!output(&run).contains(TOKEN));

        jira.reset_requests();
        let again = sync(
            dir.path(),
            &["--event", "merged", "--base", "main", "--format", "json"],
            &credentials(flavor),
        );
        assert_eq!(again.code, 0, "{}", again.stderr);
        for key in ["SHOP-12", "SHOP-14"] {
            assert_eq!(jira.issue(key).comments.len(), 1, "{flavor:?} {key}");
        }
        assert!(
            !jira
                .writes()
                .iter()
                .any(|w| w.method == "POST" && w.path.contains("/comment")),
            "{:?}",
            jira.writes()
        );
        let issues = json(&again)["issues"].as_array().unwrap().clone();
        assert_eq!(issues.len(), 2);
        assert!(
            issues.iter().all(|i| i["outcome"] == "unchanged"),
            "{issues:?}"
        );
    }
}

#[test]
fn a_dry_run_reads_jira_and_changes_nothing() {
    let jira = FakeJira::start(Flavor::Cloud, TOKEN);
    jira.add_issue("SHOP-12", "To Do");
    let dir = repo(&jira_config(&jira.url(), ""), "shop-12-cart");
    let run = sync(
        dir.path(),
        &["--event", "opened", "--dry-run", "--format", "json"],
        &credentials(Flavor::Cloud),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let issue = &json(&run)["issues"][0];
    assert_eq!(issue["key"], "SHOP-12");
    assert_eq!(issue["status_before"], "To Do");
    assert_eq!(issue["transition"], "Send to review (21)");
    assert_eq!(
        issue["status_after"], "In Review",
        "the plan names the target"
    );
    assert_eq!(issue["outcome"], "planned");
    assert!(jira.writes().is_empty(), "{:?}", jira.writes());
    assert_eq!(jira.issue("SHOP-12").status, "To Do");
}

#[test]
fn a_missing_issue_is_a_warning_unless_jira_is_required() {
    let jira = FakeJira::start(Flavor::Cloud, TOKEN);
    jira.add_issue("SHOP-12", "To Do");
    for (required, code, level) in [("false", 0, "warning"), ("true", 2, "error")] {
        let config = jira_config(&jira.url(), &format!("  required: {required}\n"));
        let dir = repo(&config, "shop-12-and-shop-404");
        let run = sync(
            dir.path(),
            &["--event", "opened"],
            &credentials(Flavor::Cloud),
        );
        assert_eq!(run.code, code, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("{level}: SHOP-404: ")),
            "{}",
            run.stderr
        );
        // The other issue moves all the same.
        assert_eq!(jira.issue("SHOP-12").status, "In Review");
    }
    // Bad credentials: one line, never the token, exit 2 only when required.
    let dir = repo(&jira_config(&jira.url(), "  required: true\n"), "shop-12");
    let run = sync(
        dir.path(),
        &["--event", "opened"],
        &[("JIRA_API_TOKEN", "wrong-token-123"), ("JIRA_EMAIL", EMAIL)],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("error: "), "{}", run.stderr);
    assert!(!output(&run).contains("wrong-token-123"));
}

/// A pull request `feature` → `main` that a fake GitHub knows, opened with
/// a title naming SHOP-1 and a commit naming SHOP-2.
struct Review {
    dir: tempfile::TempDir,
    github: FakeGitHub,
    event: std::path::PathBuf,
}

impl Review {
    fn new(config: &str, file: (&str, &str)) -> Review {
        let dir = tree(&[(".tollgate.yml", config)]);
        let root = dir.path();
        git(root, &["init", "-q"]);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "base"]);
        git(root, &["checkout", "-qb", "feature"]);
        write(root, file.0, file.1.as_bytes());
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "SHOP-2 the change"]);
        let rev = |name: &str| git(root, &["rev-parse", name]).trim().to_string();
        let (head, base) = (rev("HEAD"), rev("main"));
        let diff = git(
            root,
            &["diff", "-U3", &format!("{base}...{head}"), "--", file.0],
        );
        let start = diff.find("\n@@").map_or(0, |i| i + 1);
        let patch = diff[start..].trim_end_matches('\n').to_string();
        let github = FakeGitHub::start(GITHUB_TOKEN);
        let (h, b) = (head.clone(), base.clone());
        github.with(|s| {
            s.head_sha = h;
            s.base_sha = b;
            s.files = vec![file_entry(file.0, "added", Some(&patch))];
        });
        let repo = serde_json::json!({"full_name": "acme/app", "fork": false});
        let payload = serde_json::json!({
            "action": "opened",
            "number": 7,
            "repository": {"full_name": "acme/app", "default_branch": "main"},
            "pull_request": {
                "number": 7,
                "title": "SHOP-1: the cart",
                "body": "UTF-8 only",
                "html_url": "https://github.com/acme/app/pull/7",
                "merged": false,
                "head": {"ref": "feature", "sha": head, "repo": repo},
                "base": {"ref": "main", "sha": base, "repo": repo},
            }
        });
        let event = root.join(".git/event.json");
        std::fs::write(&event, payload.to_string()).unwrap();
        Review { dir, github, event }
    }

    fn review(&self, extra: &[(&str, &str)]) -> Run {
        let event = self.event.display().to_string();
        let api = self.github.uri();
        let graphql = format!("{api}/graphql");
        let mut env = vec![
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", event.as_str()),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_RUN_ID", "100"),
            ("GITHUB_TOKEN", GITHUB_TOKEN),
            ("GITHUB_API_URL", api.as_str()),
            ("GITHUB_GRAPHQL_URL", graphql.as_str()),
        ];
        env.extend_from_slice(extra);
        tollgate_env(self.dir.path(), &["review"], &env)
    }
}

#[test]
fn review_moves_the_issues_after_posting_and_comments_once() {
    let jira = FakeJira::start(Flavor::Cloud, TOKEN);
    jira.add_issue("SHOP-1", "To Do");
    jira.add_issue("SHOP-2", "In Progress");
    let pr = Review::new(
        &jira_config(&jira.url(), ""),
        (
            "src/lib.rs",
            "pub fn add(a: u8, b: u8) -> u8 {\n    a + b\n}\n",
        ),
    );
    let run = pr.review(&credentials(Flavor::Cloud));
    assert_eq!(run.code, 0, "{}", run.stderr);
    for key in ["SHOP-1", "SHOP-2"] {
        let issue = jira.issue(key);
        assert_eq!(issue.status, "In Review", "{key}: {}", run.stderr);
        assert_eq!(issue.comments.len(), 1, "{key}");
        let body = issue.comments[0].to_string();
        assert!(
            body.contains("https://github.com/acme/app/pull/7"),
            "{body}"
        );
    }
    assert!(
        run.stderr.contains("jira: SHOP-1: To Do → In Review"),
        "{}",
        run.stderr
    );
    // Only the mask command holds the token.
    let all = output(&run);
    let holding: Vec<&str> = all.lines().filter(|l| l.contains(TOKEN)).collect();
    assert_eq!(holding, [format!("::add-mask::{TOKEN}")], "{all}");
    // A re-run (new commits, same PR) writes no second comment.
    let again = pr.review(&credentials(Flavor::Cloud));
    assert_eq!(again.code, 0, "{}", again.stderr);
    for key in ["SHOP-1", "SHOP-2"] {
        assert_eq!(jira.issue(key).comments.len(), 1, "{key}");
    }
}

#[test]
fn the_channels_hear_of_the_jira_issues_and_jira_of_the_images_that_passed() {
    use crate::fake_webhooks::FakeWebhooks;
    let jira = FakeJira::start(Flavor::Cloud, TOKEN);
    jira.add_issue("SHOP-1", "To Do");
    // SHOP-2 (named by the commit) does not exist: no link to it.
    let hooks = FakeWebhooks::start();
    let images = "images:\n  environments:\n    production:\n      - deny_latest: true\nnotify:\n  on: always\n";
    let pr = Review::new(
        &jira_config(&jira.url(), images),
        (
            "Dockerfile",
            "FROM registry.example.com/shop/base:v1.4.2 AS build\nFROM registry.example.com/shop/base:v1.4.2\nFROM gcr.io/distroless/static:nonroot\n",
        ),
    );
    let (slack, discord) = (hooks.slack_url(), hooks.discord_url());
    let mut env = credentials(Flavor::Cloud);
    env.extend([
        ("SLACK_WEBHOOK_URL", slack.as_str()),
        ("DISCORD_WEBHOOK_URL", discord.as_str()),
        ("TOLLGATE_ENV", "production"),
    ]);
    let run = pr.review(&env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Jira first, then the channels, with a link to each issue reached.
    let browse = format!("{}/browse/SHOP-1", jira.url());
    let slack = hooks.slack();
    assert_eq!(slack.len(), 1, "{}", run.stderr);
    let slack = slack[0].1.to_string();
    assert!(slack.contains(&browse), "{slack}");
    assert!(!slack.contains("SHOP-2"), "{slack}");
    let discord = hooks.discord();
    assert_eq!(discord.len(), 1, "{}", run.stderr);
    let discord = discord[0].1.to_string();
    assert!(discord.contains(&browse), "{discord}");
    assert!(!discord.contains("SHOP-2"), "{discord}");
    // The comment lists each image that passed production's policy, once.
    let comment = jira.issue("SHOP-1").comments[0].to_string();
    assert!(comment.contains("production"), "{comment}");
    assert_eq!(
        comment
            .matches("registry.example.com/shop/base:v1.4.2")
            .count(),
        1,
        "{comment}"
    );
    assert!(
        comment.contains("gcr.io/distroless/static:nonroot"),
        "{comment}"
    );
}

#[test]
fn a_failing_review_comments_failed_and_jira_never_changes_the_exit_code_unless_required() {
    let jira = FakeJira::start(Flavor::DataCenter, TOKEN);
    jira.add_issue("SHOP-1", "In Review");
    let finding = ("src/lib.rs", "pub fn f(x: u8) -> u8 {\n    dbg!(x)\n}\n");
    // No credentials: the review's own exit code (1: the gate fails) stands.
    let pr = Review::new(&jira_config(&jira.url(), "fail_on: warning\n"), finding);
    let run = pr.review(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: Jira issues SHOP-1, SHOP-2 not synced: JIRA_API_TOKEN is not set"),
        "{}",
        run.stderr
    );
    // With credentials: opened and failed each comment once; SHOP-2 does not exist.
    let run = pr.review(&credentials(Flavor::DataCenter));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(jira.issue("SHOP-1").comments.len(), 2, "{}", run.stderr);
    assert!(run.stderr.contains("warning: SHOP-2: "), "{}", run.stderr);
    let required = Review::new(
        &jira_config(&jira.url(), "  required: true\nfail_on: warning\n"),
        finding,
    );
    let run = required.review(&credentials(Flavor::DataCenter));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("error: SHOP-2: "), "{}", run.stderr);
}

#[test]
fn the_readme_jira_example_is_valid_and_names_what_a_token_needs() {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("### Jira").expect("Jira section")..];
    let section = &section[..section.find("\n### ").unwrap_or(section.len())];
    let start = section.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let dir = tree(&[(".tollgate.yml", example)]);
    let run = tollgate_env(dir.path(), &["config", "validate"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for needed in [
        "JIRA_API_TOKEN",
        "JIRA_EMAIL",
        "JIRA_URL",
        "personal access token",
        "*Browse projects*",
        "*Transition issues*",
        "*Add comments*",
        "*Edit own comments*",
        "--dry-run",
        "types: [opened, synchronize, reopened, ready_for_review, closed]",
        "CI_PIPELINE_SOURCE == \"merge_request_event\"",
        "CHANGE_ID",
    ] {
        assert!(section.contains(needed), "{needed}");
    }
}

#[test]
fn a_gitlab_merge_request_pipeline_moves_the_issues_after_posting() {
    use crate::fake_gitlab::{diff_entry, FakeGitLab};
    use crate::github::{patch_of, rev, BASE_GO};
    let jira = FakeJira::start(Flavor::DataCenter, TOKEN);
    jira.add_issue("SHOP-3", "To Do");
    jira.add_issue("SHOP-4", "To Do");
    let dir = tree(&[
        (".tollgate.yml", jira_config(&jira.url(), "").as_str()),
        ("main.go", BASE_GO),
    ]);
    let root = dir.path();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    write(root, "main.go", format!("{BASE_GO}\n// more\n").as_bytes());
    git(root, &["commit", "-qam", "SHOP-4 one more line"]);
    let (base, head) = (rev(root, "main"), rev(root, "HEAD"));
    let gitlab = FakeGitLab::start("glpat-jira-flow-0123456789");
    let diff = patch_of(root, &base, &head, "main.go") + "\n";
    let (b, h) = (base.clone(), head.clone());
    gitlab.with(|s| {
        s.base_sha = b.clone();
        s.start_sha = b;
        s.head_sha = h;
        s.diffs = vec![diff_entry("main.go", &diff)];
    });
    let api = gitlab.api_url();
    let env = [
        ("GITLAB_CI", "true"),
        ("CI_API_V4_URL", api.as_str()),
        ("CI_SERVER_HOST", "gitlab.example.com"),
        ("CI_PROJECT_ID", "42"),
        ("CI_PROJECT_PATH", "acme/app"),
        ("CI_PROJECT_URL", "https://gitlab.example.com/acme/app"),
        (
            "CI_PIPELINE_URL",
            "https://gitlab.example.com/acme/app/-/pipelines/900",
        ),
        ("CI_COMMIT_SHA", head.as_str()),
        ("CI_MERGE_REQUEST_IID", "7"),
        ("CI_MERGE_REQUEST_EVENT_TYPE", "detached"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", base.as_str()),
        ("CI_MERGE_REQUEST_TITLE", "SHOP-3: the MR"),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature"),
        ("TOLLGATE_GITLAB_TOKEN", "glpat-jira-flow-0123456789"),
        ("JIRA_API_TOKEN", TOKEN),
    ];
    let run = tollgate_env(root, &["review"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for key in ["SHOP-3", "SHOP-4"] {
        let issue = jira.issue(key);
        assert_eq!(issue.status, "In Review", "{key}: {}", run.stderr);
        assert_eq!(issue.comments.len(), 1, "{key}");
        let body = issue.comments[0].to_string();
        assert!(
            body.contains("https://gitlab.example.com/acme/app/-/merge_requests/7"),
            "{body}"
        );
    }
    assert!(!output(&run).contains(TOKEN), "{}", output(&run));
}

#[test]
fn an_environment_overlays_the_jira_section_key_by_key() {
    let config = "jira:
  url: https://jira.example.com
  projects: [SHOP]
  on:
    opened: { status: In Review }
environments:
  prod:
    jira:
      on:
        merged: { status: Released }
";
    let dir = repo(config, "shop-5");
    let run = tollgate_env(dir.path(), &["config", "validate", "--env", "prod"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for shown in ["https://jira.example.com", "SHOP", "Released"] {
        assert!(run.stdout.contains(shown), "{shown}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("In Review"), "{}", run.stdout);
    let plan = sync(
        dir.path(),
        &["--event", "merged", "--dry-run", "--env", "prod"],
        &[],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("SHOP-5: (status not read) → Released"),
        "{}",
        plan.stdout
    );
}
