//! False-positive classes of the default library that depend on where a file
//! sits: a Rust module declared `#[cfg(test)] mod x;` in another file is test
//! code, and `dbg!` is left alone in tests, benches, examples and compile-test
//! fixtures.

use super::common::{findings, tollgate, tree};

/// Every Rust rule is opt-in since the real-code measurement: these tests opt in.
const OPT_IN: (&str, &str) = (".tollgate.yml", "rules:\n  opt_in: [\"rust/*\"]\n");

fn rule_lines(files: &[(&str, &str)], rule: &str) -> Vec<(String, u64)> {
    let dir = tree(&[files, &[OPT_IN]].concat());
    let run = tollgate(dir.path(), &["scan", "--format", "json", "."]);
    findings(&run)
        .into_iter()
        .filter(|(r, _, _)| r == rule)
        .map(|(_, path, line)| (path, line))
        .collect()
}

const UNWRAP: &str = "pub fn f(s: &str) -> u8 {\n    s.parse().unwrap()\n}\n";

#[test]
fn a_module_declared_under_cfg_test_in_its_parent_is_test_code() {
    let found = rule_lines(
        &[
            (
                "src/lib.rs",
                "mod foo;\nmod real;\n#[cfg(test)]\nmod helpers;\n",
            ),
            ("src/foo.rs", "#[cfg(test)] mod checks;\nmod inner;\n"),
            ("src/foo/checks.rs", UNWRAP),
            ("src/foo/inner.rs", UNWRAP),
            ("src/helpers.rs", "mod deep;\n"),
            ("src/helpers/deep.rs", UNWRAP),
            ("src/real.rs", UNWRAP),
        ],
        "rust/unwrap-outside-tests",
    );
    assert_eq!(
        found,
        vec![
            ("src/foo/inner.rs".to_string(), 2),
            ("src/real.rs".to_string(), 2)
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_parent_module_file_that_is_a_symbolic_link_is_not_read() {
    let dir = tree(&[
        OPT_IN,
        ("outside/mod.rs", "#[cfg(test)]\nmod x;\n"),
        ("src/lib.rs", "mod sub;\n"),
        ("src/sub/x.rs", UNWRAP),
    ]);
    std::os::unix::fs::symlink(
        dir.path().join("outside/mod.rs"),
        dir.path().join("src/sub/mod.rs"),
    )
    .unwrap();
    let run = tollgate(dir.path(), &["scan", "--format", "json", "src"]);
    let found: Vec<_> = findings(&run)
        .into_iter()
        .filter(|(r, _, _)| r == "rust/unwrap-outside-tests")
        .map(|(_, p, l)| (p, l))
        .collect();
    assert_eq!(found, vec![("src/sub/x.rs".to_string(), 2)]);
}

#[test]
fn dbg_is_left_alone_in_tests_benches_examples_and_compile_test_fixtures() {
    let dbg = "fn main() {\n    dbg!(1 + 1);\n}\n";
    let found = rule_lines(
        &[
            ("src/main.rs", dbg),
            ("tests/it.rs", dbg),
            ("benches/b.rs", dbg),
            ("examples/demo.rs", dbg),
            ("crates/x/examples/demo.rs", dbg),
            ("tests/ui/dbg.rs", dbg),
            ("crates/x/ui/dbg.rs", dbg),
            ("crates/x/ui/dbg.stderr", "error: dbg\n"),
            ("src/ui/widget.rs", dbg),
            ("compile-fail/dbg.rs", dbg),
        ],
        "rust/dbg-macro",
    );
    assert_eq!(
        found,
        vec![
            ("src/main.rs".to_string(), 2),
            ("src/ui/widget.rs".to_string(), 2)
        ]
    );
}

/// The error-path leak spans a whole function: a return kilobytes after the
/// open (past the places the query is anchored around) is still found, and
/// a second open in the same file does not confuse the two.
#[test]
fn an_error_path_leak_far_below_the_open_is_reported_on_its_return() {
    let pad: String = (0..60)
        .map(|i| format!("\tx{i} := compute({i}, \"padding padding padding\")\n\t_ = x{i}\n"))
        .collect();
    let src = format!(
        "package p\n\nfunc load(p string) error {{\n\tf, err := os.Open(p)\n\tif err != nil {{\n\t\treturn err\n\t}}\n{pad}\tif bad() {{\n\t\treturn errBad // LEAK\n\t}}\n\treturn f.Close()\n}}\n\nfunc ok(p string) error {{\n\tg, err := os.Open(p)\n\tif err != nil {{\n\t\treturn err\n\t}}\n\tdefer g.Close()\n\tif bad() {{\n\t\treturn errBad\n\t}}\n\treturn nil\n}}\n"
    );
    let found = rule_lines(&[("load.go", &src)], "go/file-leak-on-error-path");
    let want: Vec<(String, u64)> = super::common::marked_lines(&src, "// LEAK")
        .into_iter()
        .map(|l| ("load.go".to_string(), l))
        .collect();
    assert_eq!(found, want);
}

/// The guards of `rust/unwrap-outside-tests` look back over the function for
/// every unwrap: indexed once per function, a huge one stays fast (looked up
/// afresh for each unwrap, 20,000 of them took far over the time budget).
#[test]
fn twenty_thousand_guarded_unwraps_in_one_function_are_checked_in_time() {
    let mut src = String::from("fn f(x: Option<u8>) {\n    if x.is_none() { return; }\n");
    for i in 0..20_000 {
        src.push_str(&format!("    let a{i} = x.unwrap();\n"));
    }
    src.push_str("}\n");
    let dir = tree(&[("big.rs", &src)]);
    let started = std::time::Instant::now();
    let run = tollgate(
        dir.path(),
        &["scan", "--format", "json", "--file-timeout", "60", "big.rs"],
    );
    let report = super::common::json(&run);
    assert_eq!(
        report["not_scanned"],
        serde_json::json!([]),
        "{}",
        run.stderr
    );
    assert_eq!(report["findings"], serde_json::json!([]));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}
