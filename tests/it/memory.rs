//! A file over the size where the scan hands freed memory back before its
//! tree is built, with a rule whose constraint asks for the ancestors of
//! matches spread over thousands of top-level functions: every match is
//! still found, beside a small file scanned in the same run.

use super::common::{findings, marked_lines, tollgate, tree};

const IN_CLOSURE: &str = r#"id: t/panic-in-closure
language: go
severity: warning
message: panic in a closure
query: |
  ((call_expression function: (identifier) @f) @match (#eq? @f "panic"))
where:
  - inside: [func_literal]
"#;

#[test]
fn a_huge_file_keeps_every_match_of_an_ancestor_constraint() {
    // 20,000 functions (~600 KB); every 2,500th panics inside a closure.
    let mut huge = String::from("package p\n\n");
    for i in 0..20_000 {
        if i % 2_500 == 1_234 {
            huge.push_str(&format!(
                "func f{i}() {{\n\tgo func() {{ panic({i}) }}() // HIT\n}}\n"
            ));
        } else {
            huge.push_str(&format!("func f{i}() {{\n\tpanic({i})\n}}\n"));
        }
    }
    assert!(huge.len() > 512 * 1024);
    let small = "package p\n\nfunc s() {\n\tdefer func() { panic(1) }() // HIT\n\tpanic(2)\n}\n";
    let dir = tree(&[
        ("rules/r.yml", IN_CLOSURE),
        ("code/huge.go", &huge),
        ("code/small.go", small),
    ]);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "rules",
            "--file-timeout",
            "600",
            "--format",
            "json",
            "code",
        ],
    );
    assert_ne!(run.code, 2, "{}", run.stderr);
    let mut expected: Vec<(String, String, u64)> = Vec::new();
    for (path, text) in [("code/huge.go", huge.as_str()), ("code/small.go", small)] {
        for line in marked_lines(text, "// HIT") {
            expected.push(("t/panic-in-closure".into(), path.into(), line));
        }
    }
    assert_eq!(expected.len(), 9);
    assert_eq!(findings(&run), expected, "{}", run.stderr);
}
