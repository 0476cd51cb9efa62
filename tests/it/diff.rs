//! `scan --base`: real git repositories in temp dirs, each filter mode, and
//! shallow clones.

use super::common::{findings, git, json, tollgate, write};
use std::path::Path;

/// A function that leaks a file: one `go/unclosed-file` finding on its second line.
fn leak(name: &str) -> String {
    format!("func {name}(p string) {{\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}}\n\n")
}

fn filler(n: usize) -> String {
    (0..n).map(|i| format!("// filler {i}\n")).collect()
}

/// main: a.go (leak at line 4, then filler), b.go (leak), old.go (leak), gone.go.
/// Lines: a.go's new leak is at 29, moved.go's at 19 (its old one stays at 4).
/// feature: a.go gets a new leak at the end, new.go is added, old.go is renamed to
/// moved.go with a new leak, gone.go is deleted, blob.bin becomes binary.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    let a = format!("package p\n\n{}{}", leak("keep"), filler(20));
    write(root, "a.go", a.as_bytes());
    write(
        root,
        "b.go",
        format!("package p\n\n{}", leak("other")).as_bytes(),
    );
    write(
        root,
        "old.go",
        format!("package p\n\n{}{}", leak("before"), filler(10)).as_bytes(),
    );
    write(root, "gone.go", b"package p\n\nvar gone = 1\n");
    write(root, "blob.bin", b"package p\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    // a.go: a new leak appended after the filler (lines 28-31); line 4's leak is old.
    write(root, "a.go", format!("{a}{}", leak("added")).as_bytes());
    write(
        root,
        "new.go",
        format!("package p\n\n{}", leak("fresh")).as_bytes(),
    );
    git(root, &["mv", "old.go", "moved.go"]);
    let moved = format!(
        "package p\n\n{}{}{}",
        leak("before"),
        filler(10),
        leak("after")
    );
    write(root, "moved.go", moved.as_bytes());
    git(root, &["rm", "-q", "gone.go"]);
    write(root, "blob.bin", b"\x00\x01binary os.Open\x00");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "feature"]);
    dir
}

fn scan_lines(dir: &Path, extra: &[&str]) -> Vec<(String, u64)> {
    let mut args = vec![
        "scan",
        "--format",
        "json",
        "--no-default-rules",
        "--rules",
        "rules.yml",
    ];
    args.extend_from_slice(extra);
    let run = tollgate(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut found: Vec<(String, u64)> = findings(&run).into_iter().map(|f| (f.1, f.2)).collect();
    found.sort();
    found
}

fn with_rule(dir: &Path) {
    // The library's rule, loaded from a file outside the repository's history.
    write(
        dir,
        "rules.yml",
        tollgate::rules::library::EMBEDDED
            .iter()
            .find(|(name, _)| *name == "go/unclosed-file.yml")
            .unwrap()
            .1
            .as_bytes(),
    );
    std::fs::write(dir.join(".git/info/exclude"), "rules.yml\n").unwrap();
}

fn s(path: &str, line: u64) -> (String, u64) {
    (path.to_string(), line)
}

#[test]
fn each_filter_mode_reports_exactly_its_findings() {
    let dir = repo();
    let root = dir.path();
    with_rule(root);
    let added = scan_lines(root, &["--base", "main"]);
    assert_eq!(
        added,
        vec![s("a.go", 29), s("moved.go", 19), s("new.go", 4)]
    );
    assert_eq!(
        scan_lines(root, &["--base", "main", "--filter", "added"]),
        added
    );

    // the renamed file's old leak is 14 lines above its edit: outside the hunk
    let context = scan_lines(root, &["--base", "main", "--filter", "diff_context"]);
    assert_eq!(context, added);

    let file = scan_lines(root, &["--base", "main", "--filter", "file"]);
    assert_eq!(
        file,
        vec![
            s("a.go", 4),
            s("a.go", 29),
            s("moved.go", 4),
            s("moved.go", 19),
            s("new.go", 4)
        ]
    );

    let all = scan_lines(root, &["--base", "main", "--filter", "all"]);
    assert_eq!(
        all,
        vec![
            s("a.go", 4),
            s("a.go", 29),
            s("b.go", 4),
            s("moved.go", 4),
            s("moved.go", 19),
            s("new.go", 4)
        ]
    );
    assert_eq!(
        scan_lines(root, &[]),
        all,
        "without --base nothing is filtered"
    );
}

#[test]
fn a_committed_change_with_a_rename_and_a_deletion_is_no_working_tree_change() {
    let dir = repo();
    let run = tollgate(dir.path(), &["scan", "--base", "main", "--format", "json"]);
    assert!(!run.stderr.contains("working tree"), "{}", run.stderr);
    // The same, renamed back in the working tree only: said.
    git(dir.path(), &["mv", "moved.go", "old.go"]);
    let run = tollgate(dir.path(), &["scan", "--base", "main", "--format", "json"]);
    assert!(run.stderr.contains("working tree"), "{}", run.stderr);
}

#[test]
fn diff_context_includes_lines_near_an_edit() {
    let dir = repo();
    let root = dir.path();
    with_rule(root);
    // edit the line right after b.go's leak: the leak is now context, not added
    let b = "package p\n\nfunc other(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name() // edited\n}\n\n";
    write(root, "b.go", b.as_bytes());
    git(root, &["commit", "-qam", "touch b"]);
    let context = scan_lines(root, &["--base", "main", "--filter", "diff_context"]);
    assert!(context.contains(&s("b.go", 4)), "{context:?}");
    let added = scan_lines(root, &["--base", "main"]);
    assert!(!added.contains(&s("b.go", 4)), "{added:?}");
}

#[test]
fn binary_and_deleted_files_are_not_scanned_and_binary_ones_are_named() {
    let dir = repo();
    let root = dir.path();
    with_rule(root);
    let run = tollgate(
        root,
        &[
            "scan",
            "--format",
            "json",
            "--no-default-rules",
            "--rules",
            "rules.yml",
            "--base",
            "main",
        ],
    );
    let report = json(&run);
    let notices = report["notices"].as_array().unwrap();
    assert!(
        notices.iter().any(
            |n| n["path"] == "blob.bin" && n["message"] == "skipped: binary file in the change"
        ),
        "{report}"
    );
    assert!(!findings(&run).iter().any(|f| f.1 == "gone.go"));
}

#[test]
fn a_merge_base_counts_not_the_tip_of_base() {
    let dir = repo();
    let root = dir.path();
    with_rule(root);
    // main moves on after the branch point: its new file is not part of the change
    git(root, &["checkout", "-q", "main"]);
    write(
        root,
        "later.go",
        format!("package p\n\n{}", leak("later")).as_bytes(),
    );
    git(root, &["add", "later.go"]);
    git(root, &["commit", "-qm", "main moves on"]);
    git(root, &["checkout", "-q", "feature"]);
    let added = scan_lines(root, &["--base", "main"]);
    assert_eq!(
        added,
        vec![s("a.go", 29), s("moved.go", 19), s("new.go", 4)]
    );
}

#[test]
fn a_shallow_clone_without_the_base_says_how_to_fix_it() {
    let dir = repo();
    let origin = dir.path();
    let clone_parent = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.display());
    git(
        clone_parent.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, "shallow",
        ],
    );
    let clone = clone_parent.path().join("shallow");
    with_rule(&clone);
    let run = tollgate(
        &clone,
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "rules.yml",
            "--base",
            "origin/main",
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("cannot find `origin/main`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
    assert!(run.stderr.contains("fetch-depth: 0"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing is scanned: {}", run.stdout);

    // the base is there but not the history that joins them
    git(
        &clone,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "origin",
            "main:refs/remotes/origin/main",
        ],
    );
    let run = tollgate(
        &clone,
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "rules.yml",
            "--base",
            "origin/main",
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no common ancestor"), "{}", run.stderr);
    assert!(run.stderr.contains("git fetch --deepen"), "{}", run.stderr);

    // deepening fixes it
    git(
        &clone,
        &[
            "fetch",
            "-q",
            "--unshallow",
            "origin",
            "main:refs/remotes/origin/main",
            "feature",
        ],
    );
    let added = scan_lines(&clone, &["--base", "origin/main"]);
    assert_eq!(
        added,
        vec![s("a.go", 29), s("moved.go", 19), s("new.go", 4)]
    );
}

#[test]
fn filter_without_base_and_base_outside_git_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.go", b"package p\n");
    let run = tollgate(dir.path(), &["scan", "--filter", "added"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("needs --base"), "{}", run.stderr);
    let run = tollgate(dir.path(), &["scan", "--base", "main"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn reports_use_repository_relative_paths_from_a_subfolder() {
    let dir = repo();
    let root = dir.path();
    with_rule(root);
    std::fs::create_dir_all(root.join("sub")).unwrap();
    write(
        root,
        "sub/c.go",
        format!("package p\n\n{}", leak("deep")).as_bytes(),
    );
    let run = tollgate(
        &root.join("sub"),
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "../rules.yml",
            "--report",
            "sarif=../out.sarif",
            "--report",
            "codequality=../cq.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        findings(&run)[0].1,
        "c.go",
        "stdout stays relative to the current folder"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("out.sarif")).unwrap()).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
            ["uri"],
        "sub/c.go"
    );
    let cq: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("cq.json")).unwrap()).unwrap();
    assert_eq!(cq[0]["location"]["path"], "sub/c.go");
}

#[test]
fn scan_checks_images_and_only_changed_lines_count_with_base() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    let config = "images:\n  environments:\n    production:\n      deny_latest: true\n";
    write(root, ".tollgate.yml", config.as_bytes());
    write(
        root,
        "Dockerfile",
        b"FROM alpine:latest AS base\nRUN true\n",
    );
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    write(
        root,
        "Dockerfile",
        b"FROM alpine:latest AS base\nRUN true\nFROM busybox\n",
    );
    git(root, &["commit", "-qam", "add a stage"]);

    let run = tollgate(
        root,
        &[
            "scan",
            "--env",
            "production",
            "--format",
            "json",
            "--no-default-rules",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<u64> = findings(&run).into_iter().map(|f| f.2).collect();
    assert_eq!(lines, vec![1, 3]);

    let run = tollgate(
        root,
        &[
            "scan",
            "--env",
            "production",
            "--format",
            "json",
            "--no-default-rules",
            "--base",
            "main",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = findings(&run);
    assert_eq!(
        found,
        vec![("image/policy".to_string(), "Dockerfile".to_string(), 3)]
    );

    // without an environment the policies are not applied, and it says so
    let run = tollgate(root, &["scan", "--format", "json", "--no-default-rules"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("image policies not checked: no environment selected"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_change_that_moves_an_image_version_back_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    write(root, ".tollgate.yml", b"images:\n  downgrade: error\n");
    write(
        root,
        "Dockerfile",
        b"FROM registry.example.com/app:v1.4.0\nFROM redis:7.2.0\n",
    );
    write(
        root,
        "k8s.yaml",
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.27.0\n",
    );
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    write(
        root,
        "Dockerfile",
        b"FROM registry.example.com/app:v1.3.9\nFROM redis:7.4.0\n",
    );
    write(
        root,
        "k8s.yaml",
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.27.0-rc.1\n",
    );
    git(root, &["commit", "-qam", "pin versions"]);
    let run = tollgate(
        root,
        &[
            "scan",
            "--no-default-rules",
            "--format",
            "json",
            "--base",
            "main",
        ],
    );
    assert_eq!(
        run.code, 1,
        "downgrades are errors by this config: {}",
        run.stderr
    );
    let report = json(&run);
    let found: Vec<(String, u64, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{report}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("Dockerfile", 1));
    assert!(
        found[0].2.contains("moves back from `v1.4.0` to `v1.3.9`"),
        "{}",
        found[0].2
    );
    assert_eq!((found[1].0.as_str(), found[1].1), ("k8s.yaml", 5));
    assert!(
        found[1].2.contains("`1.27.0-rc.1`"),
        "a pre-release is lower: {}",
        found[1].2
    );
}

#[test]
fn locally_the_working_tree_counts_and_head_compares_commits_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    write(root, "ok.go", b"package p\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    // Not committed: an edited tracked file and a new file.
    write(
        root,
        "ok.go",
        b"package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n",
    );
    write(
        root,
        "new.go",
        b"package p\n\nfunc g(p string) {\n\tg, _ := os.Open(p)\n\t_ = g.Name()\n}\n",
    );
    let run = tollgate(root, &["scan", "--base", "main", "--format", "json"]);
    let found = findings(&run);
    assert!(
        found.contains(&("go/unclosed-file".into(), "ok.go".into(), 4)),
        "{found:?}"
    );
    assert!(
        found.contains(&("go/unclosed-file".into(), "new.go".into(), 4)),
        "{found:?}"
    );
    assert!(
        run.stderr.contains("with the working tree"),
        "{}",
        run.stderr
    );
    // --head HEAD: the commits only, which hold neither.
    let committed = tollgate(
        root,
        &[
            "scan", "--base", "main", "--head", "HEAD", "--format", "json",
        ],
    );
    assert_eq!(findings(&committed), vec![], "{}", committed.stdout);
    // Once committed, the working tree adds nothing: no note, same findings.
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "feature"]);
    let clean = tollgate(root, &["scan", "--base", "main", "--format", "json"]);
    assert_eq!(findings(&clean).len(), 2, "{}", clean.stdout);
    assert!(!clean.stderr.contains("working tree"), "{}", clean.stderr);
    // Only deleting a file from the working tree is uncommitted too.
    std::fs::remove_file(root.join("new.go")).unwrap();
    let deleted = tollgate(root, &["scan", "--base", "main", "--format", "json"]);
    assert!(
        deleted.stderr.contains("with the working tree"),
        "{}",
        deleted.stderr
    );
}
