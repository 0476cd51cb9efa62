//! Hostile input never crashes a scan, and other files' findings still come out.

use super::common::{findings, json, tollgate, tree, write};

const LEAK: &str = "package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n";

#[test]
fn binary_invalid_utf8_huge_and_deep_files_do_not_stop_the_scan() {
    let dir = tree(&[("ok/leak.go", LEAK)]);
    // random bytes (a fixed xorshift sequence) that mention the rule's literals
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut noise: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    noise.extend_from_slice(b"os.Open panic unwrap");
    write(dir.path(), "bad/random.go", &noise);
    write(dir.path(), "bad/random.rs", &noise);
    // invalid UTF-8 in an otherwise plausible file
    let mut invalid = b"package p\nfunc f() { os.Open(\"\xff\xfe\") }\n".to_vec();
    invalid.extend_from_slice(&[0xc3, 0x28]);
    write(dir.path(), "bad/invalid.go", &invalid);
    // a 2 MB file on one line
    let mut long = String::from("package p; func f(p string) { f, _ := os.Open(p); _ = f; ");
    while long.len() < 2_000_000 {
        long.push_str("x = x + 1; ");
    }
    long.push_str("}\n");
    write(dir.path(), "bad/long.go", long.as_bytes());
    // an expression nested 20 000 deep, in both languages
    let depth = 20_000;
    let go_deep = format!(
        "package p\nfunc f(p string) {{ f, _ := os.Open(p); x := {}1{}; _ = x }}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    write(dir.path(), "bad/deep.go", go_deep.as_bytes());
    let rs_deep = format!(
        "fn f() {{ let x = {}1{}; Some(x).unwrap(); unsafe {{ g() }} }}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    write(dir.path(), "bad/deep.rs", rs_deep.as_bytes());
    // a file with syntax errors still gets what tree-sitter can recover
    write(
        dir.path(),
        "bad/syntax.go",
        b"package p\nfunc f( {\n\tf, _ := os.Open(p)\n\t_ = f\n}\n}}}\n",
    );

    let run = tollgate(
        dir.path(),
        // Files that could not be scanned would fail the gate: here only
        // the scan going on matters.
        &[
            "scan",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--no-fail-on-skipped",
            // A loaded debug build: the 2 MB file below must be scanned whole.
            "--file-timeout",
            "120",
        ],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let report = json(&run);
    let found = findings(&run);
    assert!(
        found.contains(&("go/unclosed-file".into(), "ok/leak.go".into(), 4)),
        "{found:?}"
    );
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
    let notice = |path: &str| notices.iter().find(|n| n.0 == path).map(|n| n.1.clone());
    // Binary means not valid UTF-8 (Go and Rust source must be UTF-8).
    for path in ["bad/random.go", "bad/random.rs"] {
        assert!(
            notice(path).is_some_and(|n| n.starts_with("skipped: not valid UTF-8")),
            "{notices:?}"
        );
    }
    assert!(notice("bad/invalid.go")
        .unwrap()
        .contains("not valid UTF-8"));
    assert!(
        notice("bad/long.go").is_none(),
        "a 2 MB file is scanned: {notices:?}"
    );
    assert!(notice("bad/deep.go").is_none(), "{notices:?}");
}

#[test]
fn the_size_limit_skips_with_a_notice() {
    let dir = tree(&[("a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "--max-filesize", "10"]);
    // A Go file that was not scanned fails the gate (fail_on_skipped).
    assert_eq!(run.code, 1);
    let expected = format!(
        "a.go: notice: skipped: {} bytes is over the size limit of 10 bytes",
        LEAK.len()
    );
    assert!(run.stdout.contains(&expected), "{}", run.stdout);
}

#[test]
fn scanning_a_missing_path_says_so() {
    let dir = tree(&[]);
    let run = tollgate(dir.path(), &["scan", "--format", "json", "nope"]);
    let report = json(&run);
    assert_eq!(report["notices"][0]["path"], "nope");
    assert_eq!(
        report["notices"][0]["message"],
        "skipped: no such file or folder"
    );
}
