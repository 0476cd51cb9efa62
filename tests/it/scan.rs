//! `tollgate scan`: findings, formats, exit codes, suppressions, paths.

use super::common::{findings, json, marked_lines, tollgate, tollgate_env, tree, write};

const UNCLOSED: &str = include_str!("../fixtures/unclosed.go");

#[test]
fn unclosed_file_is_reported_exactly_where_defined() {
    let dir = tree(&[("unclosed.go", UNCLOSED)]);
    let run = tollgate(dir.path(), &["scan", "--format", "json"]);
    assert_eq!(
        run.code, 0,
        "warnings do not fail by default: {}",
        run.stderr
    );
    let lines: Vec<u64> = findings(&run)
        .into_iter()
        .filter(|(rule, _, _)| rule == "go/unclosed-file")
        .map(|(_, path, line)| {
            assert_eq!(path, "unclosed.go");
            line
        })
        .collect();
    assert_eq!(lines, marked_lines(UNCLOSED, "// LEAK"));
}

#[test]
fn json_findings_have_the_documented_shape() {
    let dir = tree(&[("src/unclosed.go", UNCLOSED)]);
    let run = tollgate(dir.path(), &["scan", "--format", "json", "src"]);
    let report = json(&run);
    let first = &report["findings"][0];
    for key in [
        "rule",
        "severity",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "fingerprint",
    ] {
        assert!(!first[key].is_null(), "missing {key} in {first}");
    }
    assert_eq!(first["path"], "src/unclosed.go");
    assert_eq!(first["line"], 9);
    assert_eq!(first["column"], 2, "1-based column of `f` after a tab");
    assert_eq!(first["end_line"], 9);
    assert_eq!(first["end_column"], 22);
    assert_eq!(first["severity"], "warning");
    assert!(first["message"].as_str().unwrap().contains("`f`"));
    assert_eq!(report["summary"]["files_checked"], 1);
    // fingerprints differ between findings
    let prints: std::collections::HashSet<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prints.len(), report["findings"].as_array().unwrap().len());
}

#[test]
fn fail_on_sets_the_exit_code() {
    let dir = tree(&[("a.go", UNCLOSED)]);
    assert_eq!(tollgate(dir.path(), &["scan"]).code, 0);
    assert_eq!(
        tollgate(dir.path(), &["scan", "--fail-on", "warning"]).code,
        1
    );
    assert_eq!(tollgate(dir.path(), &["scan", "--fail-on", "info"]).code, 1);
    assert_eq!(
        tollgate(dir.path(), &["scan", "--fail-on", "never"]).code,
        0
    );
    let bad = tollgate(dir.path(), &["scan", "--fail-on", "sometimes"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("sometimes"), "{}", bad.stderr);
}

#[test]
fn text_output_is_a_compiler_style_diagnostic() {
    let dir = tree(&[("a.go", UNCLOSED)]);
    let run = tollgate(dir.path(), &["scan"]);
    assert!(
        run.stdout
            .contains("a.go:9:2: warning[go/unclosed-file] `f` is opened here"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(" 9 | \tf, err := os.Open(p) // LEAK"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("   | \t^^^^^^^^^^^^^^^^^^^^\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("in 1 file checked"), "{}", run.stdout);
    assert!(
        !run.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    let coloured = tollgate(dir.path(), &["scan", "--color", "always"]);
    assert!(
        coloured.stdout.contains("\x1b[1;33m"),
        "{}",
        coloured.stdout
    );
    let no_color = tollgate_env(
        dir.path(),
        &["scan", "--color", "auto"],
        &[("NO_COLOR", "1")],
    );
    assert!(!no_color.stdout.contains('\x1b'));
}

#[test]
fn inline_comments_suppress_findings() {
    let src = "package p\n\nfunc a(p string) {\n\t// tollgate-ignore: go/unclosed-file\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n\nfunc b(p string) {\n\tf, _ := os.Open(p) // tollgate-ignore\n\t_ = f.Name()\n}\n\nfunc c(p string) {\n\tf, _ := os.Open(p) // tollgate-ignore: go/other-rule\n\t_ = f.Name()\n}\n";
    let dir = tree(&[("a.go", src)]);
    let run = tollgate(dir.path(), &["scan", "--format", "json"]);
    let lines: Vec<u64> = findings(&run).into_iter().map(|f| f.2).collect();
    assert_eq!(lines, vec![15]);
    assert_eq!(json(&run)["summary"]["suppressed"], 2);
}

#[test]
fn gitignore_is_respected_but_named_files_are_scanned() {
    let dir = tree(&[
        (".gitignore", "vendor/\n"),
        ("vendor/lib.go", UNCLOSED),
        ("main.go", "package main\n"),
    ]);
    let run = tollgate(dir.path(), &["scan", "--format", "json"]);
    assert!(findings(&run).is_empty(), "{}", run.stdout);
    let run = tollgate(dir.path(), &["scan", "--format", "json", "vendor/lib.go"]);
    assert!(!findings(&run).is_empty());
}

#[test]
fn team_rules_are_added_and_the_library_can_be_left_out() {
    let dir = tree(&[
        ("a.go", "package p\n\nfunc f() {\n\tpanic(\"x\")\n}\n"),
        ("a_test.go", "package p\n\nfunc g() {\n\tpanic(\"x\")\n}\n"),
        (
            "team/panic.yml",
            r#"id: team/no-panic
language: go
severity: error
message: "no {{fn}} here"
query: |
  ((call_expression function: (identifier) @fn) @match (#eq? @fn "panic"))
paths:
  exclude: ["*_test.go"]
fix:
  capture: fn
  replacement: log.Fatal
"#,
        ),
    ]);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "team",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        run.code, 1,
        "an error finding fails the scan: {}",
        run.stderr
    );
    let report = json(&run);
    let list = report["findings"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{report}");
    assert_eq!(list[0]["path"], "a.go");
    assert_eq!(list[0]["message"], "no panic here");
    assert_eq!(list[0]["fix"]["replacement"], "log.Fatal");
    assert_eq!(list[0]["fix"]["start"]["column"], 2);
}

#[test]
fn absolute_and_nested_paths_are_shown_relative_when_below_the_cwd() {
    let dir = tree(&[("pkg/inner/a.go", UNCLOSED)]);
    let abs = dir.path().join("pkg");
    let run = tollgate(
        dir.path(),
        &["scan", "--format", "json", abs.to_str().unwrap()],
    );
    assert_eq!(findings(&run)[0].1, "pkg/inner/a.go");
    write(dir.path(), "pkg/inner/b.go", b"package inner\n");
    let run = tollgate(&dir.path().join("pkg"), &["scan", "--format", "json"]);
    assert_eq!(findings(&run)[0].1, "inner/a.go");
}

/// Queries run only around their rarest literal; matches that start before it
/// (sibling sequences) or reach far beyond it must still be found.
#[test]
fn literal_anchoring_never_loses_a_match() {
    let padding = " ".repeat(2000);
    let code = format!(
        "package p\n\n// the comment before\nfunc target() {{\n\tpanic(\n{padding}\n\t\tfarAway)\n}}\n"
    );
    let dir = tree(&[
        ("a.go", &code),
        (
            "r.yml",
            r#"id: t/sequence
language: go
severity: info
message: commented target
query: |
  ([(comment)] @c . [(comment)]* . (function_declaration name: (identifier) @n) @match (#eq? @n "target"))
---
id: t/far
language: go
severity: info
message: "panic with {{arg}}"
query: |
  ((call_expression function: (identifier) @f arguments: (argument_list (identifier) @arg)) @match
   (#eq? @f "panic"))
"#,
        ),
    ]);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "r.yml",
            "--format",
            "json",
            "a.go",
        ],
    );
    let report = json(&run);
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        vec!["commented target", "panic with farAway"],
        "{report}"
    );
}

/// A scope query that is a sibling sequence (a comment, then the statement
/// holding the match) must see the whole scope, not only the match's text.
#[test]
fn sequence_sub_queries_see_the_whole_scope() {
    let dir = tree(&[
        (
            "a.rs",
            "fn a(p: *const u8) -> u8 {\n    // SAFETY: p is valid\n    let x = unsafe { *p };\n    x\n}\nfn b(p: *const u8) -> u8 {\n    let x = unsafe { *p };\n    x\n}\n",
        ),
        (
            "r.yml",
            r#"id: t/needs-comment
language: rust
severity: info
message: undocumented
query: |
  (unsafe_block "unsafe") @match
where:
  - scope:
      kinds: [function_item]
      not_contains: |
        ([(line_comment) (block_comment)] @_c
          .
          [(_) @match (_ (_) @match) (_ (_ (_) @match))]
          (#match? @_c "SAFETY:"))
"#,
        ),
    ]);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "r.yml",
            "--format",
            "json",
            "a.rs",
        ],
    );
    let lines: Vec<u64> = findings(&run).into_iter().map(|f| f.2).collect();
    assert_eq!(lines, vec![7], "{}", run.stdout);
}

#[test]
fn fingerprints_survive_unrelated_edits_and_tell_twins_apart() {
    let body = "func twice(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n\nfunc again(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n";
    let dir = tree(&[("a.go", &format!("package p\n\n{body}"))]);
    let prints = |dir: &std::path::Path| -> Vec<(u64, String)> {
        let run = tollgate(dir, &["scan", "--format", "json"]);
        json(&run)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["line"].as_u64().unwrap(),
                    f["fingerprint"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let before = prints(dir.path());
    assert_eq!(before.len(), 2);
    assert_ne!(
        before[0].1, before[1].1,
        "identical matches get distinct fingerprints"
    );
    let padding = "// unrelated\n".repeat(10);
    write(
        dir.path(),
        "a.go",
        format!("package p\n\n{padding}{body}").as_bytes(),
    );
    let after = prints(dir.path());
    assert_eq!(after[0].0, before[0].0 + 10);
    assert_eq!(
        after.iter().map(|p| &p.1).collect::<Vec<_>>(),
        before.iter().map(|p| &p.1).collect::<Vec<_>>()
    );
}
