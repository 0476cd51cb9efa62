//! A change's files that nothing reads are one count, never a notice each,
//! and the totals count image files among the files checked.

use super::common::{git, json, tollgate, write};

#[test]
fn changed_files_nothing_reads_are_counted_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    write(root, "ok.go", b"package p\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    for name in ["README.md", "docs/a.md", "logo.svg"] {
        write(root, name, b"text\n");
    }
    write(root, "Dockerfile", b"FROM alpine:latest\n");
    write(
        root,
        ".tollgate.yml",
        b"images:\n  environments:\n    prod:\n      deny_latest: true\n",
    );
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "change"]);

    let text = tollgate(root, &["scan", "--base", "main", "--env", "prod"]);
    assert_eq!(text.code, 1, "{}", text.stderr);
    assert!(!text.stdout.contains("notice"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("3 other files changed that nothing reads"),
        "{}",
        text.stdout
    );
    // The Dockerfile (and the configuration, read as a possible manifest) were checked.
    assert!(
        !text.stdout.contains("in 0 files checked"),
        "{}",
        text.stdout
    );

    let run = tollgate(
        root,
        &[
            "scan", "--base", "main", "--env", "prod", "--format", "json",
        ],
    );
    let report = json(&run);
    assert_eq!(report["notices"], serde_json::json!([]));
    assert_eq!(report["summary"]["other_files"], 3);
    assert!(report["summary"]["files_checked"].as_u64().unwrap() >= 1);
    // Without an image policy, the Dockerfile and .tollgate.yml are among the files nothing reads.
    let plain = tollgate(root, &["scan", "--base", "main", "--format", "json"]);
    assert_eq!(
        json(&plain)["summary"]["other_files"],
        5,
        "{}",
        plain.stdout
    );
}
