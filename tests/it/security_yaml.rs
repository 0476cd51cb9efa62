//! Hostile YAML, rule files and image files (issue 9 items 7, 8, 9, 10):
//! each pathological input is generated here and must end quickly with a
//! clear error naming the file and line, while the other checks still run;
//! a file outside the repository or a secret never reaches the output.

use super::common::{findings, json, tollgate, tree, write, Run};
use std::time::{Duration, Instant};

/// Generous: debug build, a loaded 2-core machine. Before the fixes these
/// inputs took from 15 s to minutes in release builds.
const BOUND: Duration = Duration::from_secs(10);

const LEAK: &str = "package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n";
const POLICY: &str = "images:\n  environments:\n    prod:\n      deny_latest: true\n";
const SECRET: &str = "SECRETVALUE";

/// `scan` of `code/` with the rules under `rules/` alone, as JSON.
const TEAM_RULES_SCAN: [&str; 7] = [
    "scan",
    "--no-default-rules",
    "--rules",
    "rules",
    "--format",
    "json",
    "code",
];

fn timed(dir: &std::path::Path, args: &[&str]) -> (Run, Duration) {
    let started = Instant::now();
    let run = tollgate(dir, args);
    let took = started.elapsed();
    eprintln!("{args:?}: {took:?}");
    (run, took)
}

fn rule(id: &str, func: &str) -> String {
    format!(
        "id: {id}\nlanguage: go\nseverity: warning\nmessage: m\nquery: |\n  ((call_expression function: (identifier) @f) @match (#eq? @f \"{func}\"))\n"
    )
}

fn assert_no_secret(run: &Run) {
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
}

#[test]
fn deep_flow_nesting_in_the_configuration_is_refused_before_parsing() {
    let config = format!("exclude: {}", "[".repeat(200_000));
    let dir = tree(&[(".tollgate.yml", &config), ("a.go", LEAK)]);
    let (run, took) = timed(dir.path(), &["scan", "--format", "json"]);
    assert!(took < BOUND, "{took:?}");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(".tollgate.yml:1: flow collections (`[` or `{`) nest more than 64 deep"),
        "{}",
        run.stderr
    );
    assert_eq!(findings(&run).len(), 1, "the default rules still ran");
}

#[test]
fn deep_flow_nesting_in_a_rule_file_is_refused_and_other_rules_run() {
    let deep = format!("{}\nwhere: {}", rule("t/deep", "x"), "{a: ".repeat(100_000));
    let dir = tree(&[
        ("rules/a_deep.yml", &deep),
        ("rules/b_good.yml", &rule("t/good", "panic")),
        ("code/a.go", "package p\n\nfunc f() {\n\tpanic(1)\n}\n"),
    ]);
    let (run, took) = timed(dir.path(), &TEAM_RULES_SCAN);
    assert!(took < BOUND, "{took:?}");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("rules/a_deep.yml:8:")
            && run.stderr.contains("expected at most 64 levels"),
        "{}",
        run.stderr
    );
    assert_eq!(
        findings(&run),
        vec![("t/good".into(), "code/a.go".into(), 4)]
    );
}

#[test]
fn deep_flow_nesting_in_a_manifest_is_refused_and_other_images_are_checked() {
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nspec:\n  containers: {}",
        "[".repeat(200_000)
    );
    let dir = tree(&[
        (".tollgate.yml", POLICY),
        ("k8s/pod.yaml", &manifest),
        ("Dockerfile", "FROM alpine:latest\n"),
    ]);
    let (run, took) = timed(dir.path(), &["scan", "--env", "prod", "--format", "json"]);
    assert!(took < BOUND, "{took:?}");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("k8s/pod.yaml:4: flow collections"),
        "{}",
        run.stderr
    );
    assert_eq!(
        findings(&run),
        vec![("image/policy".into(), "Dockerfile".into(), 1)]
    );
}

#[test]
fn a_two_megabyte_manifest_places_every_image_on_its_line_quickly() {
    // One document (placement used to rescan it from its top for every
    // image): 40,000 containers, every third image a repeat.
    let mut text = String::from("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n");
    let mut expected = Vec::new();
    let mut i = 0;
    while text.len() < 2_000_000 {
        let image = if i % 3 == 0 {
            "repeat:latest".to_string()
        } else {
            format!("app{i}:latest")
        };
        text.push_str(&format!("    - name: c{i}\n      image: \"{image}\"\n"));
        expected.push(6 + 2 * i);
        i += 1;
    }
    let dir = tree(&[(".tollgate.yml", POLICY), ("pod.yaml", &text)]);
    let (run, took) = timed(
        dir.path(),
        &[
            "scan",
            "--env",
            "prod",
            "--format",
            "json",
            "--no-default-rules",
        ],
    );
    // 40,000 findings to print as JSON: a wider bound than the others.
    assert!(took < 2 * BOUND, "{took:?}");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<u64> = findings(&run).into_iter().map(|(_, _, l)| l).collect();
    assert!(expected.len() > 20_000, "{}", expected.len());
    assert_eq!(lines, expected);
}

#[test]
fn a_one_megabyte_from_line_is_an_error_on_its_line_quickly() {
    let many_words = format!("FROM alpine:3.20\nFROM {}\n", "a ".repeat(500_000));
    let one_word = format!(
        "FROM alpine:3.20\nRUN true\nFROM registry.example.com/{}\n",
        "a".repeat(1_000_000)
    );
    let dollars = format!("FROM alpine:3.20\nFROM {}\n", "${".repeat(500_000));
    let dir = tree(&[
        (".tollgate.yml", POLICY),
        ("a/Dockerfile", &many_words),
        ("b/Dockerfile", &one_word),
        ("c/Dockerfile", &dollars),
        ("d/Dockerfile", "FROM alpine:latest\n"),
    ]);
    let (run, took) = timed(
        dir.path(),
        &[
            "scan",
            "--env",
            "prod",
            "--format",
            "json",
            "--no-default-rules",
        ],
    );
    assert!(took < BOUND, "{took:?}");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("a/Dockerfile:2: expected `FROM image [AS name]`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "b/Dockerfile:3: an image reference of 1000021 bytes: expected at most 4096 bytes"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("c/Dockerfile:2: an image reference of"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.len() < 2000,
        "no file content is echoed: {} bytes",
        run.stderr.len()
    );
    assert_eq!(
        findings(&run),
        vec![("image/policy".into(), "d/Dockerfile".into(), 1)]
    );
}

#[test]
fn five_thousand_rule_documents_load_quickly_and_the_cap_names_where_it_was_reached() {
    let docs: Vec<String> = (0..5000)
        .map(|i| rule(&format!("t/r{i}"), &format!("p{i}")))
        .collect();
    let dir = tree(&[
        ("rules/many.yml", &docs.join("---\n")),
        (
            "code/a.go",
            "package p\n\nfunc f() {\n\tp7(1)\n\tp4999(1)\n}\n",
        ),
    ]);
    let (run, took) = timed(dir.path(), &TEAM_RULES_SCAN);
    assert!(took < BOUND, "{took:?}");
    assert_eq!(run.code, 2, "{}", run.stderr);
    // document 1001 starts on line 1000 * 7 + 1
    assert!(
        run.stderr
            .contains("rules/many.yml:7001: more than 1000 rules from files"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("more than 1000 rules").count(), 1);
    assert_eq!(
        findings(&run),
        vec![("t/r7".into(), "code/a.go".into(), 4)],
        "the first 1000 rules run, the rest are not loaded"
    );
}

#[test]
fn more_rule_files_than_the_cap_are_refused_with_one_error() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..1005 {
        write(
            dir.path(),
            &format!("rules/r{i:04}.yml"),
            rule(&format!("t/r{i}"), "panic").as_bytes(),
        );
    }
    write(
        dir.path(),
        "code/a.go",
        b"package p\n\nfunc f() {\n\tpanic(1)\n}\n",
    );
    let (run, took) = timed(dir.path(), &TEAM_RULES_SCAN);
    assert!(took < BOUND, "{took:?}");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rules/r1000.yml: more than 1000 rules from files"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("more than 1000 rules").count(), 1);
    assert_eq!(findings(&run).len(), 1000);
}

#[test]
fn a_device_or_a_fifo_as_a_rule_path_is_refused_without_reading() {
    let dir = tree(&[("code/a.go", LEAK)]);
    let fifo = dir.path().join("rules.yml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for path in ["/dev/zero", "rules.yml"] {
        let (run, took) = timed(
            dir.path(),
            &["scan", "--rules", path, "--format", "json", "code"],
        );
        assert!(took < BOUND, "{took:?}");
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{path}: cannot read rule file: a "))
                && run
                    .stderr
                    .contains(", not a regular file: expected a regular UTF-8 file"),
            "{}",
            run.stderr
        );
        assert_eq!(findings(&run).len(), 1, "the embedded rules still ran");
    }
}

#[test]
fn a_symlink_in_a_rules_folder_is_refused_and_its_target_never_printed() {
    let outside = tree(&[(
        "git-credentials",
        &format!("https://user:{SECRET}@github.com\n"),
    )]);
    let dir = tree(&[
        ("rules/good.yml", &rule("t/good", "panic")),
        ("code/a.go", "package p\n\nfunc f() {\n\tpanic(1)\n}\n"),
    ]);
    std::os::unix::fs::symlink(
        outside.path().join("git-credentials"),
        dir.path().join("rules/creds.yml"),
    )
    .unwrap();
    let run = tollgate(dir.path(), &TEAM_RULES_SCAN);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("rules/creds.yml: a symbolic link: rule files inside a folder are read only when they are regular files"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run);
    assert_eq!(findings(&run).len(), 1, "the other rule still ran");
}

#[test]
fn yaml_errors_never_quote_a_value() {
    let config = format!("https://user:{SECRET}@example.com\n");
    let dir = tree(&[(".tollgate.yml", &config), ("a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "--format", "json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(".tollgate.yml:1: invalid type: a string, expected a map (struct Config)"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run);

    let config = format!("fail_on: {SECRET}\ngithub:\n  max_comments: {SECRET}\n");
    let dir = tree(&[(".tollgate.yml", &config)]);
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 2);
    assert_no_secret(&run);

    let bad_rule = format!("id: t/x\nlanguage: go\nseverity: [{SECRET}]\n");
    let dir = tree(&[("rules/x.yml", &bad_rule), ("code/a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "--rules", "rules", "code"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("rules/x.yml:3"), "{}", run.stderr);
    assert_no_secret(&run);
}

#[test]
fn an_unreadable_dockerfile_is_a_notice_like_an_unreadable_go_file() {
    let dir = tree(&[
        (".tollgate.yml", POLICY),
        ("ok/Dockerfile", "FROM alpine:latest\n"),
        ("ok/a.go", LEAK),
    ]);
    write(dir.path(), "bad/Dockerfile", b"FROM alpine:\xff\n");
    write(
        dir.path(),
        "bad/a.go",
        b"package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p) // \xff\n\t_ = f.Name()\n}\n",
    );
    std::os::unix::fs::symlink("../ok/Dockerfile", dir.path().join("bad/Dockerfile.link")).unwrap();
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--env",
            "prod",
            "--format",
            "json",
            "bad/Dockerfile.link",
            "ok",
            "bad",
        ],
    );
    assert_ne!(
        run.code, 2,
        "an unreadable file is no broken input: {}",
        run.stderr
    );
    let report = json(&run);
    let notices: Vec<(String, String)> = report["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["path"].as_str().unwrap().into(),
                n["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    let notice = |path: &str| {
        notices
            .iter()
            .find(|(p, m)| p == path && !m.contains("not a Go or Rust file"))
            .map(|(_, m)| m.clone())
    };
    assert!(
        notice("bad/a.go").is_some_and(|m| m.starts_with("skipped: not valid UTF-8")),
        "{notices:?}"
    );
    assert_eq!(
        notice("bad/Dockerfile").as_deref(),
        Some("skipped: not valid UTF-8 (at byte 12)"),
        "{notices:?}"
    );
    assert!(
        notice("bad/Dockerfile.link")
            .is_some_and(|m| m.starts_with("skipped: a symbolic link, not a regular file")),
        "{notices:?}"
    );
    let found = findings(&run);
    assert!(
        found.contains(&("image/policy".into(), "ok/Dockerfile".into(), 1)),
        "{found:?}"
    );
}

#[test]
fn an_image_file_over_the_size_cap_is_a_notice_not_a_silent_skip() {
    let mut big = String::from(
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: alpine:latest\n",
    );
    while big.len() <= 4 * 1024 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let dir = tree(&[(".tollgate.yml", POLICY), ("pod.yaml", &big)]);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--env",
            "prod",
            "--format",
            "json",
            "--no-default-rules",
        ],
    );
    let report = json(&run);
    let notices = report["notices"].as_array().unwrap();
    assert!(
        notices.iter().any(|n| n["path"] == "pod.yaml"
            && n["message"]
                .as_str()
                .unwrap()
                .starts_with("skipped: over the size limit of 4194304 bytes")),
        "{notices:?}"
    );
    // Padding must not hide the images from the policy: the gate fails, naming the file.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report["not_scanned"], serde_json::json!(["pod.yaml"]));
}
