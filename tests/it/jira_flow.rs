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
    let run = sync(
        dir.path(),
        &[
            "--event",
            "merged",
            "--dry-run",
            "--base",
            "main",
            "--format",
            "json",
        ],
        &[],
    );
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
    let payload = |action: &str, merged: bool| {
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
                "base": {"ref": "main", "sha": "b".repeat(40)},
            }
        })
        .to_string()
    };
    let event = write(
        dir.path(),
        "event.json",
        payload("opened", false).as_bytes(),
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

    std::fs::write(&event, payload("closed", false)).unwrap();
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
fn a_change_cannot_redirect_the_jira_url() {
    let dir = repo(CONFIG, "shop-12-cart");
    let root = dir.path();
    write(
        root,
        ".tollgate.yml",
        CONFIG
            .replace("https://jira.example.com", "https://evil.example")
            .as_bytes(),
    );
    git(root, &["commit", "-qam", "SHOP-12 point Jira elsewhere"]);
    let run = sync(
        root,
        &["--event", "opened", "--base", "main"],
        &[("JIRA_API_TOKEN", TOKEN)],
    );
    assert!(
        run.stderr.contains("note: `jira.url` is changed by this change: it decides where credentials are sent, so the base commit's value is used"),
        "{}",
        run.stderr
    );
    assert!(!output(&run).contains("evil.example"), "{}", output(&run));
}
