//! Issue 9, configuration trust: a pull request controls `.tollgate.yml`, its
//! rule files and the folder a report artifact is unpacked into. None of
//! them may read a secret, point outside the repository, redirect
//! credentials or turn the gate off when the job asks for the base's configuration.

use super::common::{findings, git, json, tollgate, tollgate_env, tree, write, Run};
use super::fake_github::{file_entry, FakeGitHub};
use serde_json::Value;
use std::path::{Path, PathBuf};

const TOKEN: &str = "ghs_fakeTokenValue0123456789abcdefXYZ";
const AWS_SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";
/// Go with one warning (a file left open).
const LEAK: &str = "package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n";

fn all_output(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

/// A repository whose `main` holds `base` and whose checked-out `feature`
/// branch holds `base` overwritten by `change` (a `None` text deletes).
fn repo(base: &[(&str, &str)], change: &[(&str, Option<&str>)]) -> tempfile::TempDir {
    let dir = tree(base);
    let root = dir.path();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base", "--allow-empty"]);
    git(root, &["checkout", "-qb", "feature"]);
    for (path, text) in change {
        match text {
            Some(text) => {
                write(root, path, text.as_bytes());
            }
            None => {
                std::fs::remove_file(root.join(path)).unwrap();
            }
        }
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "change", "--allow-empty"]);
    dir
}

fn rev(dir: &Path, name: &str) -> String {
    git(dir, &["rev-parse", name]).trim().to_string()
}

/// A pull request of `feature` into `main` that a fake GitHub knows.
struct Pr {
    dir: tempfile::TempDir,
    gh: FakeGitHub,
    head: String,
    base: String,
}

impl Pr {
    fn new(base: &[(&str, &str)], change: &[(&str, Option<&str>)]) -> Pr {
        let dir = repo(base, change);
        let (head, base) = (rev(dir.path(), "HEAD"), rev(dir.path(), "main"));
        let gh = FakeGitHub::start(TOKEN);
        let mut entries = Vec::new();
        for (file, _) in change {
            let diff = git(
                dir.path(),
                &["diff", "-U3", &format!("{base}...{head}"), "--", file],
            );
            let start = diff.find("\n@@").map_or(0, |i| i + 1);
            let patch = diff[start..].trim_end_matches('\n').to_string();
            entries.push(file_entry(file, "modified", Some(&patch)));
        }
        let (h, b) = (head.clone(), base.clone());
        gh.with(|s| {
            s.head_sha = h;
            s.base_sha = b;
            s.files = entries;
        });
        Pr {
            dir,
            gh,
            head,
            base,
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn event(&self, template: &str) -> PathBuf {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/github")
                .join(template),
        )
        .unwrap()
        .replace("__HEAD_SHA__", &self.head)
        .replace("__BASE_SHA__", &self.base);
        let path = self.root().join(".git").join(template);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// What the runner sets for a job on `event_name`, plus `extra`.
    fn env(
        &self,
        event_name: &str,
        template: &str,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event_name),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_RUN_ID", "100"),
            ("GITHUB_TOKEN", TOKEN),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.push((
            "GITHUB_EVENT_PATH".into(),
            self.event(template).display().to_string(),
        ));
        env.push(("GITHUB_API_URL".into(), self.gh.uri()));
        env.push((
            "GITHUB_GRAPHQL_URL".into(),
            format!("{}/graphql", self.gh.uri()),
        ));
        env
    }

    fn review_in(&self, dir: &Path, args: &[&str], env: &[(String, String)]) -> Run {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut all = vec!["review"];
        all.extend_from_slice(args);
        tollgate_env(dir, &all, &env)
    }

    /// Every request the fake saw, as text (paths and bodies).
    fn sent(&self) -> String {
        self.gh
            .requests()
            .iter()
            .map(|(m, p, b)| format!("{m} {p} {b}\n"))
            .collect()
    }
}

/// The token may appear in a run's output only to be masked.
fn assert_no_secret(run: &Run, secret: &str) {
    assert!(
        !run.stderr.contains(secret),
        "secret in stderr: {}",
        run.stderr
    );
    for line in run.stdout.lines().filter(|l| l.contains(secret)) {
        assert_eq!(line, format!("::add-mask::{secret}"), "secret in stdout");
    }
}

#[test]
fn a_configuration_cannot_read_the_token_into_the_review_id() {
    let config = "fail_on: never\ngithub:\n  id: \"${GITHUB_TOKEN}\"\n";
    let pr = Pr::new(
        &[("main.go", "package main\n")],
        &[("main.go", Some(LEAK)), (".tollgate.yml", Some(config))],
    );
    let env = pr.env("pull_request", "pull_request.synchronize.json", &[]);
    let run = pr.review_in(pr.root(), &["--report", "json=out.json"], &env);
    assert_eq!(run.code, 2, "a bad configuration exits 2: {}", run.stderr);
    assert!(
        run.stderr
            .contains(".tollgate.yml:3: `${GITHUB_TOKEN}` may not be read"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("TOLLGATE_*"), "says what may be read");
    assert_no_secret(&run, TOKEN);
    let sent = pr.sent();
    assert!(
        sent.contains("/reviews"),
        "it still posts, with defaults: {sent}"
    );
    assert!(!sent.contains(TOKEN), "the token was posted: {sent}");
    let report = std::fs::read_to_string(pr.root().join("out.json")).unwrap();
    assert!(!report.contains(TOKEN));
}

#[test]
fn a_configuration_cannot_read_a_cloud_secret_into_a_denial_reason() {
    let config =
        "images:\n  environments:\n    prod:\n      registries: [\"${AWS_SECRET_ACCESS_KEY}\"]\n";
    let dir = tree(&[
        (".tollgate.yml", config),
        ("Dockerfile", "FROM evil.example.com/app:1.0\n"),
    ]);
    let env = [("AWS_SECRET_ACCESS_KEY", AWS_SECRET)];
    let validate = tollgate_env(dir.path(), &["config", "validate"], &env);
    assert_eq!(validate.code, 2);
    assert!(
        validate
            .stderr
            .contains(".tollgate.yml:4: `${AWS_SECRET_ACCESS_KEY}` may not be read"),
        "{}",
        validate.stderr
    );
    let scan = tollgate_env(
        dir.path(),
        &[
            "scan",
            "--env",
            "prod",
            "--format",
            "json",
            "--report",
            "sarif=out.sarif",
        ],
        &env,
    );
    assert_eq!(scan.code, 2, "{}", scan.stderr);
    for text in [
        all_output(&validate),
        all_output(&scan),
        std::fs::read_to_string(dir.path().join("out.sarif")).unwrap(),
    ] {
        assert!(!text.contains(AWS_SECRET), "{text}");
    }
    for refused in [
        "CI_JOB_TOKEN",
        "TOLLGATE_API_TOKEN",
        "CI_REGISTRY_PASSWORD",
        "INPUT_ID",
    ] {
        let dir = tree(&[(
            ".tollgate.yml",
            &format!("exclude: [\"${{{refused}:-x}}\"]\n"),
        )]);
        let run = tollgate_env(
            dir.path(),
            &["config", "validate"],
            &[(refused, AWS_SECRET)],
        );
        assert_eq!(run.code, 2, "{refused}");
        assert!(run.stderr.contains("may not be read"), "{}", run.stderr);
        assert!(!all_output(&run).contains(AWS_SECRET));
    }
}

/// The effective configuration `config validate` prints, parsed.
fn effective(run: &Run) -> serde_yaml::Value {
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_yaml::from_str(&run.stdout).unwrap()
}

#[test]
fn a_variable_stays_one_plain_string_whatever_it_holds() {
    let config = "exclude:\n  - ${TOLLGATE_X}\n  - ${TOLLGATE_Y}\n  - ${TOLLGATE_Z}\n";
    let dir = tree(&[(".tollgate.yml", config)]);
    let values = [
        ("TOLLGATE_X", "a\nfail_on: never"),
        ("TOLLGATE_Y", "x #y"),
        ("TOLLGATE_Z", "*anchor"),
    ];
    let run = tollgate_env(dir.path(), &["config", "validate"], &values);
    let config = effective(&run);
    assert_eq!(config["fail_on"], serde_yaml::Value::Null, "no new key");
    let exclude: Vec<&str> = config["exclude"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(exclude, vec!["a\nfail_on: never", "x #y", "*anchor"]);
    // Keys are never substituted; `$${` is a literal `${`.
    let dir = tree(&[(
        ".tollgate.yml",
        "rules:\n  severity:\n    \"${TOLLGATE_X}\": error\nexclude: [\"$${TOLLGATE_X}\"]\n",
    )]);
    let config = effective(&tollgate_env(dir.path(), &["config", "validate"], &values));
    assert_eq!(config["rules"]["severity"]["${TOLLGATE_X}"], "error");
    assert_eq!(config["exclude"][0], "${TOLLGATE_X}");
}

#[test]
fn a_review_id_holding_a_secret_value_is_refused_without_echoing_it() {
    let pr = Pr::new(&[("main.go", "package main\n")], &[("main.go", Some(LEAK))]);
    let deploy_key = "dk-0123456789abcdef";
    let env = pr.env(
        "pull_request",
        "pull_request.synchronize.json",
        &[("DEPLOY_KEY", deploy_key)],
    );
    for id in [TOKEN.to_string(), format!("team-{deploy_key}")] {
        let run = pr.review_in(pr.root(), &["--id", &id], &env);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("contains the value of a secret"),
            "{}",
            run.stderr
        );
        assert_no_secret(&run, TOKEN);
        assert!(!all_output(&run).contains(deploy_key));
        assert_eq!(pr.gh.requests().len(), 0, "nothing was sent: {}", pr.sent());
    }
    // A plain id is fine.
    let run = pr.review_in(pr.root(), &["--id", "backend"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(pr.sent().contains("tollgate:backend"));
}

#[test]
fn review_from_reads_no_configuration_from_the_artifact_folder() {
    let pr = Pr::new(&[("main.go", "package main\n")], &[("main.go", Some(LEAK))]);
    // The unprivileged run of the pull request writes the report.
    let mut env = pr.env("pull_request", "pull_request.synchronize.json", &[]);
    env.retain(|(k, _)| k != "GITHUB_TOKEN");
    let scan = pr.review_in(
        pr.root(),
        &["--no-post", "--report", "json=tollgate.json"],
        &env,
    );
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    // The artifact folder also holds a configuration the fork shipped.
    let job = tree(&[(
        ".tollgate.yml",
        "fail_on: warning\ngithub:\n  id: hostile\n  review_event: request_changes\n",
    )]);
    std::fs::copy(
        pr.root().join("tollgate.json"),
        job.path().join("tollgate.json"),
    )
    .unwrap();
    let env = pr.env("workflow_run", "workflow_run.completed.json", &[]);
    let post = pr.review_in(job.path(), &["--from", "tollgate.json"], &env);
    assert_eq!(
        post.code, 0,
        "a warning does not fail the default gate: {}",
        post.stderr
    );
    assert!(
        post.stderr
            .contains("reads no configuration from the report's folder"),
        "{}",
        post.stderr
    );
    let sent = pr.sent();
    assert!(sent.contains("/reviews"), "{sent}");
    assert!(
        !sent.contains("hostile") && !sent.contains("REQUEST_CHANGES"),
        "{sent}"
    );

    // Named explicitly, a file in the report's folder is refused all the same.
    pr.gh.reset_requests();
    let named = pr.review_in(
        job.path(),
        &["--from", "tollgate.json", "--config", ".tollgate.yml"],
        &env,
    );
    assert_eq!(named.code, 2, "{}", named.stderr);
    assert!(
        named.stderr.contains("lies in the report's folder"),
        "{}",
        named.stderr
    );
    assert_eq!(pr.gh.writes(), vec![], "nothing posted");

    // One from a trusted checkout elsewhere is read.
    let trusted = tree(&[("tollgate.yml", "github:\n  id: trusted\n")]);
    let config = trusted.path().join("tollgate.yml");
    pr.gh.reset_requests();
    let run = pr.review_in(
        job.path(),
        &[
            "--from",
            "tollgate.json",
            "--config",
            config.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(pr.sent().contains("tollgate:trusted"));
}

#[cfg(unix)]
#[test]
fn a_symlinked_configuration_is_not_followed_out_of_the_repository() {
    let outside = tree(&[("credentials", "hunter2-fake-secret-line\n")]);
    let dir = tree(&[("a.go", LEAK)]);
    git(dir.path(), &["init", "-q"]);
    std::os::unix::fs::symlink(
        outside.path().join("credentials"),
        dir.path().join(".tollgate.yml"),
    )
    .unwrap();
    let validate = tollgate(dir.path(), &["config", "validate"]);
    let scan = tollgate(dir.path(), &["scan", "--format", "json"]);
    for run in [&validate, &scan] {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(".tollgate.yml: expected a regular file, found a symbolic link"),
            "{}",
            run.stderr
        );
        assert!(!all_output(run).contains("hunter2"), "{}", all_output(run));
    }
    assert_eq!(
        findings(&scan).len(),
        1,
        "the scan still ran on the defaults"
    );
    // Named on the command line, the same file is read (the command line is trusted).
    let named = tollgate(
        dir.path(),
        &["config", "validate", "--config", ".tollgate.yml"],
    );
    assert_eq!(named.code, 2, "not a configuration, but read");
}

#[test]
fn rule_paths_must_stay_inside_the_repository() {
    let team = "id: team/x\nlanguage: go\nseverity: info\nmessage: m\nquery: |\n  ((identifier) @match (#eq? @match \"x\"))\n";
    let outside = tree(&[("rules/x.yml", team)]);
    for (config, line) in [
        ("rules:\n  paths: [/etc]\n".to_string(), 2),
        (
            "fail_on: error\nrules:\n  paths:\n    - ../outside\n".to_string(),
            4,
        ),
        (
            format!("rules:\n  paths: [\"{}\"]\n", outside.path().display()),
            2,
        ),
        (
            "environments:\n  ci:\n    rules:\n      paths: [\"sub/../../x\"]\n".to_string(),
            4,
        ),
    ] {
        let dir = tree(&[(".tollgate.yml", &config), ("a.go", LEAK)]);
        git(dir.path(), &["init", "-q"]);
        let run = tollgate(dir.path(), &["config", "validate"]);
        assert_eq!(run.code, 2, "{config}: {}", run.stdout);
        assert!(
            run.stderr.contains(&format!(".tollgate.yml:{line}: "))
                && run.stderr.contains("is outside the repository"),
            "{config}: {}",
            run.stderr
        );
        let scan = tollgate(dir.path(), &["scan", "--format", "json"]);
        assert_eq!(scan.code, 2);
        assert_eq!(findings(&scan).len(), 1, "the defaults still ran");
    }
    #[cfg(unix)]
    {
        let dir = tree(&[(".tollgate.yml", "rules:\n  paths: [team]\n")]);
        git(dir.path(), &["init", "-q"]);
        std::os::unix::fs::symlink(outside.path().join("rules"), dir.path().join("team")).unwrap();
        let run = tollgate(dir.path(), &["config", "validate"]);
        assert_eq!(run.code, 2);
        assert!(
            run.stderr
                .contains(".tollgate.yml:2: rules.paths: `team` is outside"),
            "{}",
            run.stderr
        );
    }
    // Inside the repository is fine, and `--rules` may point anywhere.
    let dir = tree(&[
        (".tollgate.yml", "rules:\n  paths: [team/]\n"),
        ("team/x.yml", team),
    ]);
    git(dir.path(), &["init", "-q"]);
    assert_eq!(tollgate(dir.path(), &["config", "validate"]).code, 0);
    let run = tollgate(
        dir.path(),
        &[
            "rules",
            "list",
            "--no-config",
            "--rules",
            outside.path().join("rules").to_str().unwrap(),
            "--no-default-rules",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

const PRINTLN_RULE: &str = "id: team/no-println\nlanguage: go\nseverity: error\nmessage: no println\nquery: |\n  ((call_expression function: (identifier) @f) @match (#eq? @f \"println\"))\n";

#[test]
fn config_from_base_keeps_a_change_from_turning_its_own_gate_off() {
    let dir = repo(
        &[
            (
                ".tollgate.yml",
                "fail_on: error\nrules:\n  paths: [team/]\n",
            ),
            ("team/println.yml", PRINTLN_RULE),
            ("a.go", "package p\n"),
        ],
        &[
            (
                ".tollgate.yml",
                Some("fail_on: never\nexclude: [\"**\"]\nrules:\n  default_rules: false\n"),
            ),
            ("team/println.yml", None),
            (
                "a.go",
                Some("package p\n\nfunc f() {\n\tprintln(\"x\")\n}\n"),
            ),
        ],
    );
    let root = dir.path();
    // The attack: the change's own configuration lets it through.
    let own = tollgate(root, &["scan", "--base", "main", "--format", "json"]);
    // (An empty rule set is at least an error now, but no finding is posted.)
    assert_eq!(own.code, 2, "{}", own.stderr);
    assert!(own.stderr.contains("no rules loaded"), "{}", own.stderr);
    assert!(findings(&own).is_empty());
    // The base's configuration and rules hold.
    let run = tollgate(
        root,
        &[
            "scan",
            "--base",
            "main",
            "--config-from-base",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        findings(&run).contains(&("team/no-println".to_string(), "a.go".to_string(), 4)),
        "{:?}",
        findings(&run)
    );
    let short = &rev(root, "main")[..7];
    assert!(
        run.stderr
            .contains(&format!("from the base commit {short}")),
        "{}",
        run.stderr
    );
    // Without a base there is nothing to trust.
    let none = tollgate(root, &["scan", "--config-from-base"]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr
            .contains("--config-from-base needs the base commit"),
        "{}",
        none.stderr
    );
}

#[test]
fn config_from_base_names_base_errors_by_commit_and_path() {
    let dir = repo(
        &[
            (".tollgate.yml", "rules:\n  paths: [team/]\n"),
            (
                "team/bad.yml",
                "id: team/bad\nlanguage: go\nseverity: fatal\nmessage: m\nquery: x\n",
            ),
        ],
        &[("team/bad.yml", Some(PRINTLN_RULE))],
    );
    let run = tollgate(
        dir.path(),
        &["scan", "--base", "main", "--config-from-base"],
    );
    assert_eq!(run.code, 2);
    let short = &rev(dir.path(), "main")[..7];
    assert!(
        run.stderr.contains(&format!("{short}:team/bad.yml:3")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_change_cannot_redirect_where_credentials_go() {
    let base = "jira:\n  url: https://jira.example.com\nnotify:\n  on: failure\n";
    let head = "jira:\n  url: https://evil.example\nnotify:\n  on: never\n";
    let dir = repo(&[(".tollgate.yml", base)], &[(".tollgate.yml", Some(head))]);
    let run = tollgate(dir.path(), &["scan", "--base", "main", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (key, what) in [
        (
            "jira",
            "which Jira issues move, to which status, and where the token is sent",
        ),
        ("notify", "which channels hear of the run"),
    ] {
        assert!(
            run.stderr.contains(&format!(
                "note: `{key}` is changed by this change: it decides {what}, so the base commit's value is used"
            )),
            "{}",
            run.stderr
        );
    }
    assert!(!all_output(&run).contains("evil.example"));
    assert_eq!(json(&run)["findings"], Value::Array(vec![]));
    // Without a change there is no base to pin to: nothing said.
    let plain = tollgate(dir.path(), &["scan"]);
    assert!(!plain.stderr.contains("credentials"), "{}", plain.stderr);
}

#[test]
fn the_example_that_holds_a_write_token_reads_its_configuration_from_the_base() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("ci-templates/github/tollgate.yml")).unwrap();
    // The action's `args` go to `tollgate review` (src/action.rs).
    assert!(example.contains("args: --config-from-base"), "{example}");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("**Trusted configuration.**"));
    assert!(
        readme.contains(&example),
        "the README shows the example as it is"
    );
}

#[test]
fn review_with_config_from_base_takes_the_pull_requests_base() {
    let pr = Pr::new(
        &[
            ("main.go", "package main\n"),
            (".tollgate.yml", "fail_on: warning\n"),
        ],
        &[
            ("main.go", Some(LEAK)),
            (".tollgate.yml", Some("fail_on: never\n")),
        ],
    );
    let env = pr.env("pull_request", "pull_request.synchronize.json", &[]);
    let own = pr.review_in(pr.root(), &[], &env);
    assert_eq!(
        own.code, 0,
        "the change's own configuration: {}",
        own.stderr
    );
    let trusted = pr.review_in(pr.root(), &["--config-from-base"], &env);
    assert_eq!(trusted.code, 1, "{}", trusted.stderr);
    assert!(
        trusted
            .stderr
            .contains(&format!("from the base commit {}", &pr.base[..7])),
        "{}",
        trusted.stderr
    );
}
