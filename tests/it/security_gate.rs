//! Issue 9, items 5, 6 and 10: a change cannot exempt its own code from the
//! gate (attributes, NUL bytes, padding, `.ignore` files), pathological files
//! finish within the per-file budget, and git problems are named for what
//! they are. Each test builds the attack from tiny generated inputs.

use super::common::{findings, git, json, tollgate, tollgate_env, write};
use std::path::Path;
use std::time::{Duration, Instant};

/// A Go file that leaks a file handle: one `go/unclosed-file` warning on line 4.
const LEAK: &str = "package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n";

/// A repository whose `main` has one harmless file, checked out on `feature`
/// with `files` added on top.
fn change(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    write(root, "ok.go", b"package p\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    for (path, bytes) in files {
        write(root, path, bytes);
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "feature"]);
    dir
}

fn scan_change(root: &Path, extra: &[&str]) -> super::common::Run {
    let mut args = vec![
        "scan",
        "--format",
        "json",
        "--fail-on",
        "warning",
        "--base",
        "main",
    ];
    args.extend_from_slice(extra);
    tollgate(root, &args)
}

fn not_scanned(run: &super::common::Run) -> Vec<String> {
    json(run)["not_scanned"]
        .as_array()
        .unwrap_or_else(|| panic!("no not_scanned list: {}", run.stdout))
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn gitattributes_cannot_turn_a_go_file_binary() {
    let dir = change(&[
        (".gitattributes", b"*.go -diff\n"),
        ("leak.go", LEAK.as_bytes()),
    ]);
    let run = scan_change(dir.path(), &[]);
    assert!(
        findings(&run).contains(&("go/unclosed-file".into(), "leak.go".into(), 4)),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn a_nul_byte_in_a_rust_comment_does_not_make_the_file_binary() {
    let code =
        b"fn main() {\n    // \x00 not binary\n    let x: Option<u8> = None;\n    x.unwrap();\n}\n";
    // The rule is opt-in (rules/SCORECARD.md): this repository opts in.
    let config = b"rules:\n  opt_in: [rust/unwrap-outside-tests]\n";
    let dir = change(&[("src/main.rs", code), (".tollgate.yml", config)]);
    let run = scan_change(dir.path(), &[]);
    assert!(
        findings(&run).contains(&("rust/unwrap-outside-tests".into(), "src/main.rs".into(), 4)),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn a_changed_go_file_over_the_size_limit_fails_the_gate_and_is_named() {
    let mut padded = LEAK.as_bytes().to_vec();
    padded.extend(std::iter::repeat_n(b' ', 2000));
    let dir = change(&[("big.go", &padded)]);
    let root = dir.path();
    let summary = root.join("summary.md");
    let run = tollgate_env(
        root,
        &[
            "scan",
            "--format",
            "json",
            "--base",
            "main",
            "--max-filesize",
            "1000",
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(not_scanned(&run), vec!["big.go".to_string()]);
    assert!(run.stderr.contains("big.go"), "{}", run.stderr);
    let step_summary = std::fs::read_to_string(&summary).unwrap();
    assert!(step_summary.contains("`big.go`"), "{step_summary}");
    // The text view names it too.
    let text = tollgate(root, &["scan", "--base", "main", "--max-filesize", "1000"]);
    assert!(
        text.stdout.contains("big.go: notice: skipped"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("1 file not scanned"),
        "{}",
        text.stdout
    );

    // Opting out keeps the notice and passes.
    for opt_out in [
        tollgate(
            root,
            &[
                "scan",
                "--base",
                "main",
                "--max-filesize",
                "1000",
                "--no-fail-on-skipped",
            ],
        ),
        {
            write(root, ".tollgate.yml", b"fail_on_skipped: false\n");
            tollgate(root, &["scan", "--base", "main", "--max-filesize", "1000"])
        },
    ] {
        assert_eq!(opt_out.code, 0, "{}{}", opt_out.stdout, opt_out.stderr);
        assert!(
            opt_out.stdout.contains("big.go: notice: skipped"),
            "{}",
            opt_out.stdout
        );
    }
}

#[test]
fn the_pull_request_summary_names_a_changed_file_that_was_not_scanned() {
    use super::fake_github::{file_entry, FakeGitHub, PR};
    const TOKEN: &str = "ghs_fakeTokenValue0123456789abcdefXYZ";
    let mut padded = LEAK.as_bytes().to_vec();
    padded.extend(std::iter::repeat_n(b' ', 2000));
    let dir = change(&[("big.go", &padded)]);
    let root = dir.path();
    let gh = FakeGitHub::start(TOKEN);
    let (head, base) = (
        git(root, &["rev-parse", "HEAD"]).trim().to_string(),
        git(root, &["rev-parse", "main"]).trim().to_string(),
    );
    gh.with(|s| {
        s.head_sha = head;
        s.base_sha = base;
        s.files = vec![file_entry(
            "big.go",
            "added",
            Some("@@ -0,0 +1,6 @@\n+package p"),
        )];
    });
    let uri = gh.uri();
    let run = tollgate_env(
        root,
        &[
            "review",
            "--repo",
            "acme/app",
            "--pr",
            "7",
            "--max-filesize",
            "1000",
        ],
        &[("GITHUB_TOKEN", TOKEN), ("GITHUB_API_URL", &uri)],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let summary = gh
        .writes()
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with(&format!("/issues/{PR}/comments")))
        .filter_map(|(_, _, body)| body["body"].as_str().map(str::to_string))
        .next()
        .expect("a summary comment");
    assert!(
        summary.contains("could not be scanned, which fails the gate (fail_on_skipped): `big.go`"),
        "{summary}"
    );
}

#[test]
fn an_unchanged_file_that_cannot_be_scanned_does_not_fail_a_change() {
    let dir = change(&[("leak.go", LEAK.as_bytes())]);
    let root = dir.path();
    // Invalid UTF-8 at the merge base, untouched by the change.
    git(root, &["checkout", "-q", "main"]);
    write(root, "legacy.go", b"package p\n// caf\xe9\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "legacy"]);
    git(root, &["checkout", "-q", "feature"]);
    git(root, &["merge", "-q", "main", "-m", "merge"]);
    let run = tollgate(
        root,
        &[
            "scan", "--format", "json", "--base", "main", "--filter", "all",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(not_scanned(&run).is_empty());
    // Without a change, every file asked for counts.
    let plain = tollgate(root, &["scan", "--format", "json"]);
    assert_eq!(plain.code, 1);
    assert_eq!(not_scanned(&plain), vec!["legacy.go".to_string()]);
}

#[test]
fn ignore_files_other_than_gitignore_do_not_exempt_code() {
    let dir = change(&[
        (".ignore", b"*.go\n"),
        (".rgignore", b"*.go\n"),
        ("leak.go", LEAK.as_bytes()),
        (".hidden/leak.go", LEAK.as_bytes()),
    ]);
    let root = dir.path();
    let plain = tollgate(root, &["scan", "--format", "json"]);
    assert!(
        findings(&plain).contains(&("go/unclosed-file".into(), "leak.go".into(), 4)),
        "{}",
        plain.stdout
    );
    // A change's files are scanned even in a hidden folder, with every filter.
    for filter in ["added", "all"] {
        let run = scan_change(root, &["--filter", filter]);
        let found = findings(&run);
        for path in ["leak.go", ".hidden/leak.go"] {
            assert!(
                found.contains(&("go/unclosed-file".into(), path.into(), 4)),
                "{filter}: {found:?}"
            );
        }
    }
}

#[test]
fn pathological_files_finish_and_the_other_files_still_report() {
    // 200 KB of `(`, and a 2 MB function with 100 000 locks in one scope.
    let mut parens = b"package p\n\nfunc f() {\n\tm.Lock()\n\tx := ".to_vec();
    parens.extend(std::iter::repeat_n(b'(', 200_000));
    let mut huge = String::from("package p\n\nfunc f() {\n");
    for i in 0..100_000 {
        huge.push_str(&format!("\tm{i}.Lock()\n"));
    }
    huge.push_str("}\n");
    let dir = change(&[
        ("parens.go", &parens),
        ("huge.go", huge.as_bytes()),
        ("leak.go", LEAK.as_bytes()),
    ]);
    let started = Instant::now();
    let run = scan_change(dir.path(), &[]);
    let took = started.elapsed();
    eprintln!("pathological files took {took:?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let found = findings(&run);
    assert!(
        found.contains(&("go/unclosed-file".into(), "leak.go".into(), 4)),
        "{found:?}"
    );
    let skipped = not_scanned(&run);
    assert!(skipped.contains(&"parens.go".to_string()), "{skipped:?}");
    // huge.go is either scanned (its findings capped) or over its budget.
    let huge_findings = found.iter().filter(|f| f.1 == "huge.go").count();
    assert!(
        huge_findings == 100 || skipped.contains(&"huge.go".to_string()),
        "{huge_findings} findings, not scanned: {skipped:?}"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn a_file_over_its_time_budget_is_not_scanned() {
    let mut huge = String::from("package p\n\nfunc f() {\n");
    for i in 0..100_000 {
        huge.push_str(&format!("\tm{i}.Lock()\n"));
    }
    huge.push_str("}\n");
    let dir = change(&[("huge.go", huge.as_bytes()), ("leak.go", LEAK.as_bytes())]);
    // The smallest budget there is: 1 s is far below what this file needs in a debug build.
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--format",
            "json",
            "--base",
            "main",
            "--file-timeout",
            "1",
        ],
    );
    let report = json(&run);
    let notice = report["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == "huge.go")
        .cloned();
    if not_scanned(&run).contains(&"huge.go".to_string()) {
        assert_eq!(
            notice.unwrap()["message"],
            "skipped: scanning took longer than 1 s (the per-file time budget)"
        );
        assert_eq!(run.code, 1, "fail_on_skipped applies whatever fail_on says");
    }
    assert!(findings(&run).contains(&("go/unclosed-file".into(), "leak.go".into(), 4)));
}

#[test]
fn findings_of_one_rule_in_one_file_are_capped() {
    let mut code = String::from("package p\n\nfunc f() {\n");
    for i in 0..150 {
        code.push_str(&format!("\tm{i}.Lock()\n"));
    }
    // Released ones, looked up after the scope's matches are indexed.
    code.push_str("\tm20.Unlock()\n\tm21.Unlock()\n}\n");
    let dir = change(&[("locks.go", code.as_bytes())]);
    let run = scan_change(dir.path(), &[]);
    let found = findings(&run);
    assert_eq!(found.len(), 100, "{found:?}");
    // The first ones in the file are kept (m{i} is on line 4 + i).
    assert_eq!(found[0].2, 4);
    assert_eq!(found[99].2, 105);
    assert!(!found.iter().any(|f| f.2 == 24 || f.2 == 25), "{found:?}");
    let notices = json(&run)["notices"].to_string();
    assert!(
        notices.contains(
            "rule go/lock-without-unlock: only the first 100 findings in this file are reported"
        ),
        "{notices}"
    );
}

#[test]
fn a_corrupt_object_store_is_not_reported_as_missing_history() {
    let dir = change(&[("leak.go", LEAK.as_bytes())]);
    let root = dir.path();
    let base = git(root, &["rev-parse", "main"]).trim().to_string();
    let object = root.join(".git/objects").join(&base[..2]).join(&base[2..]);
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, b"garbage, not zlib").unwrap();
    let run = tollgate(root, &["scan", "--base", "main"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("looks corrupt"), "{}", run.stderr);
    assert!(!run.stderr.contains("etch it first"), "{}", run.stderr);
}

/// As root, a checkout handed to another user is what container jobs see.
#[cfg(unix)]
#[test]
fn a_checkout_owned_by_another_user_is_read_when_the_ci_names_it() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc_getuid() } != 0 {
        eprintln!("skipped: needs root to hand the repository to another user");
        return;
    }
    let dir = change(&[("leak.go", LEAK.as_bytes())]);
    let root = dir.path();
    let status = std::process::Command::new("chown")
        .args(["-R", "4242:4242"])
        .arg(root)
        .status()
        .unwrap();
    assert!(status.success());
    let refused = tollgate(root, &["scan", "--base", "main"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("safe.directory"),
        "{}",
        refused.stderr
    );
    let workspace = root.canonicalize().unwrap();
    let read = tollgate_env(
        root,
        &[
            "scan",
            "--format",
            "json",
            "--base",
            "main",
            "--fail-on",
            "never",
        ],
        &[("GITHUB_WORKSPACE", workspace.to_str().unwrap())],
    );
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert!(findings(&read).contains(&("go/unclosed-file".into(), "leak.go".into(), 4)));
}

#[cfg(unix)]
extern "C" {
    #[link_name = "getuid"]
    fn libc_getuid() -> u32;
}

#[cfg(unix)]
#[test]
fn a_committed_symlink_to_a_file_outside_the_tree_is_never_read() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("credentials.go");
    std::fs::write(
        &secret,
        "package p\n\nfunc f(p string) {\n\tSECRETVALUE, _ := os.Open(p)\n\t_ = SECRETVALUE.Name()\n}\n",
    )
    .unwrap();
    let dir = change(&[("inside/leak.go", LEAK.as_bytes())]);
    let root = dir.path();
    std::os::unix::fs::symlink(&secret, root.join("main.go")).unwrap();
    std::os::unix::fs::symlink("inside/leak.go", root.join("alias.go")).unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "links"]);
    let run = scan_change(root, &[]);
    assert!(!run.stdout.contains("SECRETVALUE"), "{}", run.stdout);
    assert!(!run.stderr.contains("SECRETVALUE"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("a symbolic link to a file outside the working tree"),
        "{}",
        run.stdout
    );
    // Not read, so not scanned: the gate fails and names it.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        not_scanned(&run).contains(&"main.go".to_string()),
        "{}",
        run.stdout
    );
    // A link inside the tree is read like any file.
    assert!(
        !not_scanned(&run).contains(&"alias.go".to_string()),
        "{}",
        run.stdout
    );
}
