//! `scan --base … --head HEAD`: a review of two commits reads the change
//! without the index, and scanning its files while git still diffs their
//! lines (with more than one thread) changes nothing in what it reports.

use super::common::{findings, git, tollgate, write};
use std::path::Path;

/// A function that leaks a file: a `go/unclosed-file` finding.
fn leak(name: &str) -> String {
    format!("func {name}(p string) {{\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}}\n\n")
}

/// main: a.go, old.go, gone.go and a `.gitattributes` (Go files undiffable,
/// notes.txt binary); feature: leaks added to a.go, old.go renamed to
/// moved.go with a leak, gone.go deleted, new.go added, notes.txt changed.
fn review_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(root, ".gitattributes", b"*.go -diff\nnotes.txt binary\n");
    write(
        root,
        "a.go",
        format!("package p\n\n{}", leak("old")).as_bytes(),
    );
    let body: String = (0..12).map(|i| format!("var v{i} = {i}\n")).collect();
    write(root, "old.go", format!("package p\n\n{body}").as_bytes());
    let gone: String = (0..12).map(|i| format!("const g{i} = {i}\n")).collect();
    write(
        root,
        "gone.go",
        format!("package gone\n\n{gone}").as_bytes(),
    );
    write(root, "notes.txt", b"notes\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    let a = format!("package p\n\n{}{}", leak("old"), leak("added"));
    write(root, "a.go", a.as_bytes());
    git(root, &["mv", "old.go", "moved.go"]);
    let moved = format!("package p\n\n{body}{}", leak("moved"));
    write(root, "moved.go", moved.as_bytes());
    git(root, &["rm", "-q", "gone.go"]);
    write(
        root,
        "new.go",
        format!("package q\n\n{}", leak("fresh")).as_bytes(),
    );
    write(root, "notes.txt", b"more notes\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "feature"]);
    dir
}

fn review(root: &Path, jobs: &str) -> super::common::Run {
    let args = [
        "scan",
        "-j",
        jobs,
        "--format",
        "json",
        "--fail-on",
        "never",
        "--base",
        "main",
        "--head",
        "HEAD",
    ];
    tollgate(root, &args)
}

#[test]
fn a_review_reports_the_same_whether_its_files_are_scanned_ahead_or_not() {
    let dir = review_repo();
    let one_thread = review(dir.path(), "1");
    let two_threads = review(dir.path(), "2");
    assert_eq!(one_thread.code, 0, "{}", one_thread.stderr);
    assert_eq!(two_threads.code, 0, "{}", two_threads.stderr);
    assert_eq!(one_thread.stdout, two_threads.stdout);
    let mut found: Vec<(String, u64)> = findings(&two_threads)
        .into_iter()
        .filter(|f| f.0 == "go/unclosed-file")
        .map(|f| (f.1, f.2))
        .collect();
    found.sort();
    // Only the added leaks; the old one in a.go is not part of the change.
    let expected = [("a.go", 9), ("moved.go", 16), ("new.go", 4)];
    let expected: Vec<(String, u64)> = expected.iter().map(|(p, l)| (p.to_string(), *l)).collect();
    assert_eq!(found, expected, "{}", two_threads.stdout);
    assert!(
        two_threads.stdout.contains("binary file in the change"),
        "{}",
        two_threads.stdout
    );
}

#[test]
fn a_review_of_two_commits_does_not_need_a_readable_index() {
    let dir = review_repo();
    let before = review(dir.path(), "2");
    std::fs::write(dir.path().join(".git/index"), b"DIRC damaged").unwrap();
    let after = review(dir.path(), "2");
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(before.stdout, after.stdout);
}
