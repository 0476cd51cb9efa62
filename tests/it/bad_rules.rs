//! Bad rules: each kind gives an error naming the file and line, all in one
//! run, exit code 2, and the good rules still run.

use super::common::{findings, tollgate, tree};

const GOOD: &str = r#"id: t/good
language: go
severity: warning
message: panic
query: |
  ((call_expression function: (identifier) @f) @match (#eq? @f "panic"))
"#;

fn rule(id: &str, extra: &str) -> String {
    format!("id: {id}\nlanguage: go\nseverity: warning\nmessage: m\n{extra}")
}

#[test]
fn every_kind_of_bad_rule_is_reported_with_file_and_line() {
    let broken_yaml = "id: t/yaml\nlanguage: go\nquery: [unclosed\n".to_string();
    let unknown_key = rule("t/key", "query: (identifier) @x\nseverty: error\n");
    let bad_query = rule(
        "t/query",
        "query: |\n  (call_expression\n    functio: (identifier) @f)\n",
    );
    let bad_capture = "id: t/capture\nlanguage: go\nseverity: warning\nmessage: \"{{nope}} here\"\nquery: (identifier) @x\n".to_string();
    let bad_fix = rule("t/fix", "query: (identifier) @x\nfix: \"{{y}}\"\n");
    let bad_severity =
        "id: t/sev\nlanguage: go\nseverity: critical\nmessage: m\nquery: (identifier) @x\n"
            .to_string();
    let bad_kind = rule(
        "t/kind",
        "query: (identifier) @x\nwhere:\n  - inside: [functoin_declaration]\n",
    );
    let bad_predicate = rule("t/pred", "query: ((identifier) @x (#eqq? @x \"a\"))\n");
    let duplicate = format!("{GOOD}---\n{GOOD}");
    let dir = tree(&[
        ("rules/a_yaml.yml", &broken_yaml),
        ("rules/b_key.yml", &unknown_key),
        ("rules/c_query.yml", &bad_query),
        ("rules/d_capture.yml", &bad_capture),
        ("rules/e_fix.yml", &bad_fix),
        ("rules/f_sev.yml", &bad_severity),
        ("rules/g_kind.yml", &bad_kind),
        ("rules/h_pred.yml", &bad_predicate),
        ("rules/i_dup.yml", &duplicate),
        ("code/a.go", "package p\n\nfunc f() {\n\tpanic(1)\n}\n"),
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
            "code",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let expect = [
        ("rules/a_yaml.yml:3", "t/yaml", ""),
        (
            "rules/b_key.yml:6",
            "t/key",
            "unknown field `severty`, expected one of",
        ),
        (
            "rules/c_query.yml:7:5",
            "t/query",
            "does not compile: Field error: \"functio\"",
        ),
        (
            "rules/d_capture.yml:4",
            "t/capture",
            "unknown capture `nope` in `message`: expected one of the query's captures: @x",
        ),
        ("rules/e_fix.yml:6", "t/fix", "unknown capture `y` in `fix`"),
        (
            "rules/f_sev.yml:3",
            "t/sev",
            "invalid severity `critical`: expected one of error, warning, info",
        ),
        (
            "rules/g_kind.yml:7",
            "t/kind",
            "unknown node kind `functoin_declaration`",
        ),
        (
            "rules/h_pred.yml:5",
            "t/pred",
            "unsupported predicate `#eqq?`",
        ),
        (
            "rules/i_dup.yml:8",
            "t/good",
            "duplicate rule id: already defined at rules/i_dup.yml:1",
        ),
    ];
    for (location, id, text) in expect {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(location) && l.contains(id))
            .unwrap_or_else(|| panic!("no error at {location} for {id} in:\n{}", run.stderr));
        assert!(line.contains(text), "{line}");
    }
    // The good rule still ran.
    let found = findings(&run);
    assert_eq!(found.len(), 1, "{}", run.stdout);
    assert_eq!(found[0].0, "t/good");
}

#[test]
fn a_missing_rules_path_is_an_error() {
    let dir = tree(&[("a.go", "package p\n")]);
    let run = tollgate(dir.path(), &["scan", "--rules", "nowhere"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("nowhere: no such file or folder"),
        "{}",
        run.stderr
    );
}

#[test]
fn rules_test_exits_2_on_a_bad_rule() {
    let dir = tree(&[(
        "bad.yml",
        "id: t/x\nlanguage: cobol\nseverity: info\nmessage: m\nquery: (x) @x\n",
    )]);
    let run = tollgate(dir.path(), &["rules", "test", "bad.yml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("bad.yml:2: rule `t/x`: unknown language `cobol`: expected one of go, rust"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unquoted_query_with_a_colon_gets_a_hint() {
    let dir = tree(&[(
        "r.yml",
        "id: t/q\nlanguage: go\nseverity: info\nmessage: m\nquery: (call_expression function: (identifier) @f)\n",
    )]);
    let run = tollgate(dir.path(), &["rules", "test", "r.yml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("r.yml:5:"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("must be quoted or written as a block scalar"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_inline_query_error_points_at_its_column() {
    let dir = tree(&[(
        "r.yml",
        "id: t/q\nlanguage: go\nseverity: info\nmessage: m\nquery: \"(identifer) @x\"\n",
    )]);
    let run = tollgate(dir.path(), &["rules", "test", "r.yml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("r.yml:5:10: rule `t/q`: the query does not compile: NodeType error"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_predicate_outside_the_pattern_is_rejected() {
    let dir = tree(&[(
        "r.yml",
        "id: t/top\nlanguage: go\nseverity: info\nmessage: m\nquery: |\n  (call_expression function: (identifier) @f) @match\n  (#eq? @f \"foo\")\n",
    )]);
    let run = tollgate(dir.path(), &["rules", "test", "r.yml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "r.yml:7:3: rule `t/top`: a predicate outside the pattern's parentheses is not applied"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn private_captures_cannot_be_shown() {
    let dir = tree(&[(
        "r.yml",
        "id: t/private\nlanguage: go\nseverity: info\nmessage: \"{{_f}}\"\nquery: |\n  ((call_expression function: (identifier) @_f) @match (#eq? @_f \"foo\"))\n",
    )]);
    let run = tollgate(dir.path(), &["rules", "test", "r.yml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("capture `_f` is private"),
        "{}",
        run.stderr
    );
}
