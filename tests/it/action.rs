//! `tollgate action`, run exactly as `action.yml` runs it: the inputs as
//! `INPUT_<NAME>` variables (hyphens kept), a `pull_request` event, the
//! runner's `GITHUB_*` variables and a `$GITHUB_OUTPUT` file, against the
//! local fake GitHub.

use super::common::{tollgate_env, tree, Run};
use super::github::{Pr, ADDED_GO, TOKEN};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// `tollgate action` in `dir` with `env`, and the outputs it wrote.
fn action(dir: &Path, env: &[(String, String)]) -> (Run, BTreeMap<String, String>) {
    let output = dir.join(".git").join("github-output");
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let output_str = output.display().to_string();
    env.push(("GITHUB_OUTPUT", &output_str));
    let run = tollgate_env(dir, &["action"], &env);
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    let outputs = text
        .lines()
        .map(|line| {
            let (k, v) = line.split_once('=').expect("name=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    (run, outputs)
}

fn count(report: &Value, severity: &str) -> String {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .count()
        .to_string()
}

#[test]
fn the_action_reviews_the_pull_request_and_writes_counts_and_report_paths() {
    let pr = Pr::new(ADDED_GO);
    let event = pr.event_file("pull_request.synchronize.json");
    let mut env: Vec<(String, String)> = pr
        .actions_env("pull_request", &event)
        .into_iter()
        // The action passes the token as its input, not as GITHUB_TOKEN.
        .filter(|(k, _)| k != "GITHUB_TOKEN")
        .collect();
    for (name, value) in [
        ("INPUT_GITHUB-TOKEN", TOKEN),
        ("INPUT_FAIL-ON", "never"),
        ("INPUT_FILTER", "added"),
        (
            "INPUT_REPORTS",
            "sarif=out/tollgate.sarif\njson=tollgate.json",
        ),
        ("INPUT_ARGS", "--max-comments '5'"),
        ("INPUT_CONFIG", ""),
    ] {
        env.push((name.to_string(), value.to_string()));
    }
    std::fs::create_dir(pr.root().join("out")).unwrap();
    let (run, outputs) = action(pr.root(), &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(pr.root().join("tollgate.json")).unwrap())
            .unwrap();
    let total = report["findings"].as_array().unwrap().len();
    assert!(total >= 2, "the PR adds findings: {report}");
    assert_eq!(outputs["findings"], total.to_string());
    assert_eq!(outputs["errors"], count(&report, "error"));
    assert_eq!(outputs["warnings"], count(&report, "warning"));
    assert_eq!(outputs["infos"], count(&report, "info"));
    assert_eq!(outputs["sarif"], "out/tollgate.sarif");
    assert_eq!(outputs["json"], "tollgate.json");
    assert_eq!(outputs["exit-code"], "0");
    assert!(pr.root().join("out/tollgate.sarif").is_file());

    // It reviewed with the input's token: the fake accepted the posts.
    assert!(!pr.gh.writes().is_empty(), "posted the review");
    // The token is masked, and shows nowhere else.
    let mask = format!("::add-mask::{TOKEN}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&mask), "{}", run.stdout);
    assert_eq!(
        all.matches(TOKEN).count(),
        all.matches(&mask).count(),
        "{all}"
    );
}

#[test]
fn the_action_fails_its_step_when_the_gate_fails_and_says_so_in_its_outputs() {
    let pr = Pr::new(ADDED_GO);
    let event = pr.event_file("pull_request.synchronize.json");
    let mut env = pr.actions_env("pull_request", &event);
    env.push(("INPUT_FAIL-ON".into(), "info".into()));
    env.push(("INPUT_ARGS".into(), "--no-post".into()));
    let (run, outputs) = action(pr.root(), &env);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(outputs["exit-code"], "1");
    assert_ne!(outputs["findings"], "0");
    assert!(pr.gh.writes().is_empty(), "--no-post posts nothing");
}

#[test]
fn outside_a_pull_request_the_action_scans_the_working_directory() {
    let dir = tree(&[(
        "svc/main.go",
        "package main\n\nimport \"os\"\n\nfunc f(p string) {\n\tg, _ := os.Open(p)\n\t_ = g.Name()\n}\n",
    )]);
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let env: Vec<(String, String)> = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "push"),
        ("INPUT_WORKING-DIRECTORY", "svc"),
        ("INPUT_REPORTS", "codequality=gl.json"),
        ("INPUT_FAIL-ON", "never"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (run, outputs) = action(dir.path(), &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(outputs["findings"], "1", "{}", run.stdout);
    assert_eq!(outputs["codequality"], "svc/gl.json");
    assert!(dir.path().join("svc/gl.json").is_file());
}

#[test]
fn bad_inputs_are_named_and_exit_2_with_the_exit_code_in_the_outputs() {
    let dir = tree(&[("main.go", "package main\n")]);
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (input, value, says) in [
        ("INPUT_ARGS", "--id 'unclosed", "input `args`"),
        ("INPUT_ARGS", "--no-such-flag", "--no-such-flag"),
        ("INPUT_FAIL-ON", "sometimes", "sometimes"),
        ("INPUT_REPORTS", "tollgate.sarif", "input `reports`"),
        (
            "INPUT_WORKING-DIRECTORY",
            "missing",
            "input `working-directory`",
        ),
    ] {
        let env = vec![
            ("GITHUB_EVENT_NAME".to_string(), "push".to_string()),
            (input.to_string(), value.to_string()),
        ];
        let (run, outputs) = action(dir.path(), &env);
        assert_eq!(run.code, 2, "{input}={value}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{input}: {}", run.stderr);
        assert_eq!(outputs.get("exit-code").map(String::as_str), Some("2"));
        let _ = std::fs::remove_file(dir.path().join(".git/github-output"));
    }
}

#[test]
fn a_token_with_a_line_break_is_refused_before_anything_prints_it() {
    let pr = Pr::new(ADDED_GO);
    let event = pr.event_file("pull_request.synchronize.json");
    let mut env = pr.actions_env("pull_request", &event);
    env.push((
        "INPUT_GITHUB-TOKEN".into(),
        format!("{TOKEN}\n::warning::forged"),
    ));
    let (run, outputs) = action(pr.root(), &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("input `github-token`: a line break"));
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !all.lines()
            .any(|l| l.trim_start().starts_with("::warning::")),
        "{all}"
    );
    assert_eq!(outputs["exit-code"], "2");
    assert!(pr.gh.requests().is_empty(), "nothing reached GitHub");
}
