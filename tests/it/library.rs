//! The embedded rule library: size, test coverage, and every snippet passing.

use tollgate::lang::Language;
use tollgate::rules::testing::{render_failures, test_rule};
use tollgate::rules::{load_rules, RuleSource};

#[test]
fn library_loads_without_errors() {
    let (rules, errors) = load_rules(&[RuleSource::Embedded]);
    assert!(errors.is_empty(), "{errors:#?}");
    for lang in Language::ALL {
        let count = rules.for_language(*lang).count();
        assert!(count >= 15, "{lang}: only {count} rules, want at least 15");
    }
}

#[test]
fn every_library_rule_has_enough_tests_and_passes_them() {
    let (rules, _) = load_rules(&[RuleSource::Embedded]);
    let mut thin = Vec::new();
    for rule in &rules.rules {
        if rule.tests.valid.len() < 2 || rule.tests.invalid.len() < 2 {
            thin.push(rule.id.clone());
        }
        if rule.note.is_none() {
            thin.push(format!("{} (no note)", rule.id));
        }
    }
    assert!(
        thin.is_empty(),
        "rules needing 2 valid + 2 invalid snippets and a note: {thin:?}"
    );
    let results: Vec<_> = rules.rules.iter().map(test_rule).collect();
    let report = render_failures(&results);
    assert!(report.is_empty(), "failing rule tests:\n{report}");
}

#[test]
fn rules_test_command_reports_a_failing_snippet() {
    let dir = super::common::tree(&[(
        "r.yml",
        r#"id: t/panic
language: go
severity: error
message: panic
query: |
  ((call_expression function: (identifier) @f) @match (#eq? @f "panic"))
tests:
  valid:
    - "package p\nfunc f() { panic(1) }\n"
  invalid:
    - code: "package p\nfunc f() {\n  panic(1)\n}\n"
      lines: [2]
"#,
    )]);
    let run = super::common::tollgate(dir.path(), &["rules", "test", "r.yml"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("FAIL t/panic"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("valid #1: expected no finding, got 1 finding, on line 2"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("invalid #1: expected 1 finding, on line 2, got 1 finding, on line 3"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("0 passed, 1 failed"), "{}", run.stdout);
}

#[test]
fn rules_test_command_passes_on_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let run = super::common::tollgate(dir.path(), &["rules", "test"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(" 0 failed"), "{}", run.stdout);
}

#[test]
fn rules_list_json_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let run = super::common::tollgate(dir.path(), &["rules", "list", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list = super::common::json(&run);
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "go/unclosed-file")
        .expect("go/unclosed-file listed");
    assert_eq!(entry["language"], "go");
    assert_eq!(entry["severity"], "warning");

    let run = super::common::tollgate(dir.path(), &["rules", "explain", "go/unclosed-file"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("os.Open"), "{}", run.stdout);
    assert!(
        run.stdout.contains("https://pkg.go.dev/os#File.Close"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("example, flagged:"), "{}", run.stdout);

    let run = super::common::tollgate(dir.path(), &["rules", "explain", "go/nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no rule with id `go/nope`"),
        "{}",
        run.stderr
    );
}

#[test]
fn rules_tree_prints_kinds_fields_and_optionally_tokens() {
    let dir = super::common::tree(&[("a.rs", "fn f() { unsafe { g() } }\n")]);
    let run = super::common::tollgate(dir.path(), &["rules", "tree", "a.rs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("    name: identifier [1:4] \"f\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("unsafe_block [1:10]"), "{}", run.stdout);
    assert!(!run.stdout.contains("\"unsafe\" [1:10]"));
    let run = super::common::tollgate(dir.path(), &["rules", "tree", "--all", "a.rs"]);
    assert!(run.stdout.contains("\"unsafe\" [1:10]"), "{}", run.stdout);
    let run = super::common::tollgate(dir.path(), &["rules", "tree", "a.txt"]);
    assert_eq!(run.code, 2);
}
