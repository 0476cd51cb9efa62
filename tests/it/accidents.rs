//! The gate never passes by accident: a typo in the rule selection, no rules
//! at all, or a path that does not exist is an error (exit 2), said plainly;
//! and the small things a new user meets first.

use super::common::{findings, json, tollgate, tree};

/// A leak `go/unclosed-file` reports, at line 4.
const LEAK: &str =
    "package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\tprintln(f.Name())\n}\n";

const RULE: &str = r#"id: t/panic
language: go
severity: warning
message: panic
query: |
  ((call_expression function: (identifier) @f) @match (#eq? @f "panic"))
"#;

#[test]
fn a_disable_entry_that_matches_no_rule_fails_with_a_suggestion_and_the_scan_still_reports() {
    let config = "rules:\n  disable:\n    - go/unclosed-fil\n";
    let dir = tree(&[(".tollgate.yml", config), ("a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "--format", "json", "a.go"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(".tollgate.yml:3: rules.disable: `go/unclosed-fil` matches no loaded rule; did you mean `go/unclosed-file`?"),
        "{}",
        run.stderr
    );
    // The typo disabled nothing: the rule still ran and reported.
    assert!(findings(&run).contains(&("go/unclosed-file".into(), "a.go".into(), 4)));
}

#[test]
fn enable_and_severity_entries_that_match_nothing_are_each_named_with_their_line() {
    let config = "rules:\n  enable:\n    - go/*\n    - unclosed-file\n  severity:\n    rust/no-such-rule: error\n";
    let dir = tree(&[(".tollgate.yml", config), ("a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "a.go"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // A shared last segment is a suggestion too.
    assert!(
        run.stderr.contains(".tollgate.yml:4: rules.enable: `unclosed-file` matches no loaded rule; did you mean `go/unclosed-file`?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            ".tollgate.yml:6: rules.severity: `rust/no-such-rule` matches no loaded rule"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("`go/*` matches no"), "{}", run.stderr);
}

#[test]
fn an_unmatched_entry_in_an_environment_counts_only_when_that_environment_is_applied() {
    let config = "environments:\n  prod:\n    rules:\n      disable: [go/unclosed-fiel]\n";
    let dir = tree(&[(".tollgate.yml", config), ("ok.go", "package p\n")]);
    let plain = tollgate(dir.path(), &["scan", "ok.go"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let prod = tollgate(dir.path(), &["scan", "--env", "prod", "ok.go"]);
    assert_eq!(prod.code, 2, "{}", prod.stderr);
    assert!(
        prod.stderr.contains(".tollgate.yml:4: rules.disable: `go/unclosed-fiel` matches no loaded rule; did you mean `go/unclosed-file`?"),
        "{}",
        prod.stderr
    );
}

#[test]
fn no_default_rules_without_other_rules_loads_nothing_and_fails() {
    let dir = tree(&[("a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "--no-default-rules", "a.go"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: no rules loaded"),
        "{}",
        run.stderr
    );
    let off = tree(&[
        (".tollgate.yml", "rules:\n  default_rules: false\n"),
        ("a.go", LEAK),
    ]);
    let run = tollgate(off.path(), &["scan", "a.go"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: no rules loaded"),
        "{}",
        run.stderr
    );
    // With a rule of its own, the same run is fine.
    let own = tree(&[("rules/panic.yml", RULE), ("a.go", LEAK)]);
    let run = tollgate(
        own.path(),
        &["scan", "--no-default-rules", "--rules", "rules", "a.go"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn no_code_rules_is_fine_when_the_run_checks_image_policies() {
    let config = "images:\n  environments:\n    prod:\n      deny_latest: true\n";
    let dir = tree(&[
        (".tollgate.yml", config),
        ("Dockerfile", "FROM alpine:3.20\n"),
    ]);
    let run = tollgate(dir.path(), &["scan", "--no-default-rules", "--env", "prod"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("no rules loaded"), "{}", run.stderr);
}

#[test]
fn a_path_that_does_not_exist_fails_and_the_other_paths_are_still_scanned() {
    let dir = tree(&[("a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "nosuch/"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: nosuch/: no such file or folder"),
        "{}",
        run.stderr
    );
    let both = tollgate(dir.path(), &["scan", "--format", "json", "nosuch/", "a.go"]);
    assert_eq!(both.code, 2, "{}", both.stderr);
    assert!(findings(&both).contains(&("go/unclosed-file".into(), "a.go".into(), 4)));
}

#[test]
fn images_scan_of_a_path_that_does_not_exist_fails_and_checks_the_others() {
    let dir = tree(&[
        (
            ".tollgate.yml",
            "images:
  environments:
    prod:
      deny_latest: true
",
        ),
        (
            "Dockerfile",
            "FROM alpine:3.20
",
        ),
    ]);
    let run = tollgate(
        dir.path(),
        &["images", "scan", "--env", "prod", "nosuch/", "Dockerfile"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: nosuch/: no such file or folder"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("1 file checked"), "{}", run.stdout);
}

#[test]
fn config_validate_lists_every_problem_with_its_line() {
    let config = "exclude: ['a/[b']\nrules:\n  paths: [../outside]\n  enable: ['go/{x']\nimages:\n  environments:\n    prod:\n      tags: ['(v']\n      semver: '>>1'\nenvironments:\n  ci:\n    exclude: ['c/[d']\n";
    let dir = tree(&[(".tollgate.yml", config)]);
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for expected in [
        ".tollgate.yml:1: invalid glob `a/[b`",
        ".tollgate.yml:3: rules.paths:",
        ".tollgate.yml:4: invalid glob `go/{x`",
        ".tollgate.yml:8: images.environments.prod.tags: invalid regular expression `(v`",
        ".tollgate.yml:9: images.environments.prod.semver: invalid SemVer range `>>1`",
        ".tollgate.yml:12: environments.ci: invalid glob `c/[d`",
    ] {
        assert!(
            run.stderr.contains(&format!("error: {expected}")),
            "missing {expected:?} in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_rule_file_with_two_bad_rules_gets_two_errors() {
    let bad = |id: &str| {
        format!("id: {id}\nlanguage: go\nseverity: warning\nmessage: m\nquery: (nosuchnode) @x\n")
    };
    let file = format!("{}---\n{}---\n{RULE}", bad("t/one"), bad("t/two"));
    let dir = tree(&[
        ("rules/r.yml", &file),
        ("a.go", "package p\n\nfunc f() {\n\tpanic(1)\n}\n"),
    ]);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "rules",
            "--format",
            "json",
            "a.go",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: rules/r.yml:"))
        .collect();
    assert_eq!(errors.len(), 2, "{}", run.stderr);
    assert!(
        errors[0].contains("t/one") && errors[1].contains("t/two"),
        "{errors:?}"
    );
    assert_eq!(json(&run)["findings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_report_on_dash_goes_to_stdout_and_the_view_to_stderr() {
    let dir = tree(&[("a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "--report", "sarif=-", "a.go"]);
    assert!(run.code < 2, "{}", run.stderr);
    let sarif = json(&run);
    assert_eq!(sarif["version"], "2.1.0", "{}", run.stdout);
    assert!(run.stderr.contains("go/unclosed-file"), "{}", run.stderr);
    assert!(!dir.path().join("-").exists(), "no file named `-`");
    // Any kind, with --format json and --output-dir too: stdout holds the report alone.
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--format",
            "json",
            "--output-dir",
            "out",
            "--report",
            "codequality=-",
            "a.go",
        ],
    );
    assert!(run.code < 2, "{}", run.stderr);
    assert!(
        json(&run).as_array().is_some_and(|a| !a.is_empty()),
        "{}",
        run.stdout
    );
    let view = run
        .stderr
        .find('{')
        .map(|i| &run.stderr[i..])
        .unwrap_or_default();
    let view: serde_json::Value = serde_json::from_str(view).expect("JSON view on stderr");
    assert_eq!(view["findings"][0]["rule"], "go/unclosed-file");
    assert!(!dir.path().join("out/-").exists());
}

#[test]
fn two_reports_on_stdout_are_refused() {
    let dir = tree(&[("ok.go", "package p\n")]);
    let run = tollgate(
        dir.path(),
        &["scan", "--report", "sarif=-", "--report", "json=-", "ok.go"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("only one report can go to stdout"),
        "{}",
        run.stderr
    );
}

#[test]
fn counts_of_one_are_singular() {
    let dir = tree(&[
        ("rules/panic.yml", RULE),
        ("a.go", "package p\n\nfunc f() {\n\tpanic(1)\n}\n"),
    ]);
    let list = tollgate(
        dir.path(),
        &["rules", "list", "--no-default-rules", "--rules", "rules"],
    );
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.lines().any(|l| l == "1 rule"),
        "{}",
        list.stdout
    );
    let test = tollgate(dir.path(), &["rules", "test", "rules"]);
    assert!(
        test.stdout.contains("(1 rule, 0 snippets)"),
        "{}",
        test.stdout
    );
    let scan = tollgate(
        dir.path(),
        &["scan", "--no-default-rules", "--rules", "rules", "a.go"],
    );
    assert!(
        scan.stdout
            .contains("1 finding (0 errors, 1 warning, 0 infos) in 1 file checked"),
        "{}",
        scan.stdout
    );
}

#[test]
fn every_config_and_env_flag_has_help_text() {
    let dir = tree(&[]);
    for command in [
        &["scan"][..],
        &["review"],
        &["images", "scan"],
        &["images", "check"],
        &["config", "validate"],
        &["rules", "list"],
        &["rules", "explain"],
        &["rules", "test"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let run = tollgate(dir.path(), &args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        for flag in ["--config <FILE>", "--env <NAME>"] {
            let at = lines
                .iter()
                .position(|l| l.trim_start().starts_with(flag))
                .unwrap_or_else(|| panic!("{args:?} has no {flag}:\n{}", run.stdout));
            // The help is on the flag's line or the line after it.
            let same = lines[at].trim_start()[flag.len()..].trim();
            let next = lines.get(at + 1).map_or("", |l| l.trim());
            let described = |t: &str| !t.is_empty() && !t.starts_with('-');
            assert!(
                described(same) || described(next),
                "{args:?}: {flag} has no help:\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn images_scan_help_lists_every_file_kind_it_reads() {
    let dir = tree(&[]);
    let run = tollgate(dir.path(), &["images", "scan", "--help"]);
    for kind in [
        "Dockerfile",
        "Kubernetes",
        "Compose",
        "Helm",
        "kustomiz",
        "GitLab CI",
        "GitHub Actions",
    ] {
        assert!(
            run.stdout.contains(kind),
            "{kind} missing from:\n{}",
            run.stdout
        );
    }
}

#[test]
fn rules_commands_read_the_configuration_like_scan() {
    let failing = RULE.replace(
        "message: panic\n",
        "message: panic\ntests:\n  valid:\n    - \"package p\\nfunc f() { panic(1) }\\n\"\n",
    );
    let config = "rules:\n  paths: [rules]\n  disable: ['go/*']\n  severity:\n    t/panic: error\n";
    let dir = tree(&[(".tollgate.yml", config), ("rules/panic.yml", &failing)]);
    let list = tollgate(dir.path(), &["rules", "list", "--format", "json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let listed = json(&list);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"t/panic"), "{ids:?}");
    assert!(!ids.iter().any(|id| id.starts_with("go/")), "{ids:?}");
    let panic = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "t/panic")
        .unwrap();
    assert_eq!(panic["severity"], "error");

    let explain = tollgate(dir.path(), &["rules", "explain", "t/panic"]);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(
        explain.stdout.starts_with("t/panic (go, error)"),
        "{}",
        explain.stdout
    );

    // `rules test` tests the configuration's rule folder: its failing test shows.
    let test = tollgate(dir.path(), &["rules", "test"]);
    assert_eq!(test.code, 1, "{}{}", test.stdout, test.stderr);
    assert!(test.stdout.contains("FAIL t/panic"), "{}", test.stdout);

    // --no-config: as before, the library alone.
    let plain = tollgate(
        dir.path(),
        &["rules", "list", "--no-config", "--format", "json"],
    );
    let plain = json(&plain);
    let ids: Vec<&str> = plain
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"go/unclosed-file") && !ids.contains(&"t/panic"),
        "{ids:?}"
    );
}

#[test]
fn thousands_of_unmatched_entries_are_counted_not_each_searched() {
    let mut config = String::from("rules:\n  disable:\n");
    for i in 0..20_000 {
        config.push_str(&format!("    - x/no-rule-{i}\n"));
    }
    let dir = tree(&[(".tollgate.yml", &config), ("ok.go", "package p\n")]);
    let started = std::time::Instant::now();
    let run = tollgate(dir.path(), &["scan", "ok.go"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(run.stderr.matches("matches no loaded rule").count(), 20);
    assert!(
        run.stderr
            .contains("19980 more ids or globs under `rules` match no loaded rule"),
        "{}",
        run.stderr.lines().last().unwrap_or_default()
    );
}
