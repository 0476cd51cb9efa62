//! Review threads follow the right finding (issue 10, item 4): fingerprints
//! are built from the enclosing function, not the path or the n-th
//! occurrence in the file, so fixing one of two identical leaks resolves
//! that one's thread, and a renamed file keeps its threads.

use super::common::{git, tollgate, tree, write};
use super::fake_github::{file_entry, FakeGitHub};
use super::github::{patch_of, posts_to, rev, Pr, BASE_GO, TOKEN};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Two functions that leak a file the same way, added on the branch.
const TWO_LEAKS: &str = "
func first(p string) error {
\tf, err := os.Open(p)
\tif err != nil {
\t\treturn err
\t}
\t_ = f.Name()
\treturn nil
}

func second(p string) error {
\tf, err := os.Open(p)
\tif err != nil {
\t\treturn err
\t}
\t_ = f.Name()
\treturn nil
}
";

const RULE: &str = "go/unclosed-file";

/// Tells the fake GitHub the PR's head and every changed file, renames
/// included (as GitHub lists them after a push).
fn sync_all(pr: &mut Pr) {
    let head = rev(pr.root(), "HEAD");
    let range = format!("{}...{head}", pr.base);
    let listed = git(pr.root(), &["diff", "--name-status", "-M", &range]);
    let mut files = Vec::new();
    for line in listed.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        let (status, name, previous) = match parts[0].chars().next() {
            Some('R') => ("renamed", parts[2], Some(parts[1])),
            Some('A') => ("added", parts[1], None),
            Some('D') => ("removed", parts[1], None),
            _ => ("modified", parts[1], None),
        };
        let patch = patch_of(pr.root(), &pr.base, &head, name);
        let mut entry = file_entry(name, status, Some(&patch));
        if let Some(previous) = previous {
            entry["previous_filename"] = previous.into();
        }
        files.push(entry);
    }
    let (head_sha, base_sha) = (head.clone(), pr.base.clone());
    pr.head = head;
    pr.gh.with(|s| {
        s.head_sha = head_sha;
        s.base_sha = base_sha;
        s.files = files;
    });
}

/// The leak comments on the PR: (line, thread id, resolved), in line order.
fn leak_threads(pr: &Pr) -> Vec<(u64, String, bool)> {
    let mut out: Vec<(u64, String, bool)> = pr.gh.with(|s| {
        s.review_comments
            .iter()
            .filter(|c| c["body"].as_str().unwrap_or_default().contains(RULE))
            .map(|c| {
                let id = c["id"].as_u64().unwrap();
                let thread = s.threads.iter().find(|t| t.1 == id).unwrap();
                (c["line"].as_u64().unwrap(), thread.0.clone(), thread.2)
            })
            .collect()
    });
    out.sort();
    out
}

/// The GraphQL mutations of the last run (thread resolutions).
fn mutations(writes: &[(String, String, Value)]) -> Vec<Value> {
    writes
        .iter()
        .filter(|w| w.1 == "/graphql")
        .map(|w| w.2.clone())
        .collect()
}

fn line_of(text: &str, needle: &str, nth: usize) -> u64 {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .expect("needle")
        .0 as u64
        + 1
}

/// The base's main.go: [`BASE_GO`] and enough clean code that git still
/// sees a rename after the branch adds [`TWO_LEAKS`].
fn base_go() -> String {
    let mut text = BASE_GO.to_string();
    for i in 0..12 {
        text.push_str(&format!(
            "\nfunc helper{i}(n int) int {{\n\treturn n + {i}\n}}\n"
        ));
    }
    text
}

/// A repository whose `feature` branch adds [`TWO_LEAKS`] to main.go, and a
/// fake GitHub that knows the PR.
fn new_pr() -> Pr {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    write(root, "main.go", base_go().as_bytes());
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "feature"]);
    write(
        root,
        "main.go",
        format!("{}{TWO_LEAKS}", base_go()).as_bytes(),
    );
    git(root, &["commit", "-qam", "feature"]);
    let mut pr = Pr {
        base: rev(root, "main"),
        head: String::new(),
        dir,
        gh: FakeGitHub::start(TOKEN),
        run_id: 100,
        extra_env: Vec::new(),
    };
    sync_all(&mut pr);
    pr
}

/// A PR adding two identical leaks, reviewed once: two leak threads.
fn reviewed_pr() -> (Pr, Vec<(u64, String, bool)>) {
    let pr = new_pr();
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let threads = leak_threads(&pr);
    let text = std::fs::read_to_string(pr.root().join("main.go")).unwrap();
    let lines: Vec<u64> = threads.iter().map(|t| t.0).collect();
    assert_eq!(
        lines,
        vec![
            line_of(&text, "f, err := os.Open(p)", 0),
            line_of(&text, "f, err := os.Open(p)", 1)
        ],
        "one comment per leak: {}",
        run.stderr
    );
    assert!(threads.iter().all(|t| !t.2));
    (pr, threads)
}

#[test]
fn fixing_one_of_two_identical_leaks_resolves_only_its_own_thread() {
    let (mut pr, threads) = reviewed_pr();
    let (first, second) = (&threads[0], &threads[1]);

    // Close the first file: a line more above the second leak, which moves down.
    let fixed = TWO_LEAKS.replacen("\t_ = f.Name()\n", "\tdefer f.Close()\n\t_ = f.Name()\n", 1);
    std::fs::write(pr.root().join("main.go"), format!("{}{fixed}", base_go())).unwrap();
    git(pr.root(), &["commit", "-qam", "close the first file"]);
    sync_all(&mut pr);
    pr.gh.reset_requests();
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let writes = pr.gh.writes();
    let resolved = mutations(&writes);
    assert_eq!(resolved.len(), 1, "one thread resolved: {writes:?}");
    assert!(resolved[0]["query"]
        .as_str()
        .unwrap()
        .contains("resolveReviewThread"));
    assert_eq!(
        resolved[0]["variables"]["id"],
        first.1.as_str(),
        "the fixed leak's thread, not the one still there"
    );
    let after = leak_threads(&pr);
    assert_eq!(after.len(), 2, "nothing new posted: {after:?}");
    assert!(
        after.iter().any(|t| t.1 == first.1 && t.2),
        "first resolved: {after:?}"
    );
    assert!(
        after.iter().any(|t| t.1 == second.1 && !t.2),
        "second open: {after:?}"
    );
    assert!(
        posts_to(&writes, "POST", "/reviews").is_empty(),
        "no new comment: {writes:?}"
    );
}

#[test]
fn a_renamed_file_keeps_its_threads() {
    let (mut pr, threads) = reviewed_pr();

    git(pr.root(), &["mv", "main.go", "leaks.go"]);
    git(pr.root(), &["commit", "-qm", "rename"]);
    sync_all(&mut pr);
    assert!(
        pr.gh.with(|s| s.files[0]["status"] == "renamed"),
        "git sees a rename"
    );
    pr.gh.reset_requests();
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let writes = pr.gh.writes();
    assert!(
        mutations(&writes).is_empty(),
        "nothing resolved: {writes:?}"
    );
    assert!(
        posts_to(&writes, "POST", "/reviews").is_empty(),
        "nothing posted: {writes:?}"
    );
    assert_eq!(leak_threads(&pr), threads);
}

/// A command whose `main` leaks a file, as many `cmd/*/main.go` do.
const LEAKY_MAIN: &str =
    "package main\n\nimport \"os\"\n\nfunc main() {\n\tf, _ := os.Open(\"x\")\n\t_ = f.Name()\n}\n";

/// (path, line) → fingerprint, from the JSON, SARIF and Code Quality reports
/// of a scan of `dir`.
fn report_fingerprints(dir: &Path) -> [BTreeMap<(String, u64), String>; 3] {
    let run = tollgate(
        dir,
        &[
            "scan",
            "--fail-on",
            "never",
            "--report",
            "json=out/t.json",
            "--report",
            "sarif=out/t.sarif",
            "--report",
            "codequality=out/cq.json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("out").join(name)).unwrap()).unwrap()
    };
    let text = |v: &Value| v.as_str().unwrap().to_string();
    let json = read("t.json")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (text(&f["path"]), f["line"].as_u64().unwrap()),
                text(&f["fingerprint"]),
            )
        })
        .collect();
    let sarif = read("t.sarif")["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let at = &r["locations"][0]["physicalLocation"];
            (
                (
                    text(&at["artifactLocation"]["uri"]),
                    at["region"]["startLine"].as_u64().unwrap(),
                ),
                text(&r["partialFingerprints"]["primaryLocationLineHash"]),
            )
        })
        .collect();
    let codequality = read("cq.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                (
                    text(&i["location"]["path"]),
                    i["location"]["lines"]["begin"].as_u64().unwrap(),
                ),
                text(&i["fingerprint"]),
            )
        })
        .collect();
    [json, sarif, codequality]
}

#[test]
fn reports_share_one_fingerprint_per_finding_unique_across_twin_files_and_kept_by_a_rename() {
    let tool = LEAKY_MAIN.replace("func main()", "func run()");
    let dir = tree(&[
        ("cmd/a/main.go", LEAKY_MAIN),
        ("cmd/b/main.go", LEAKY_MAIN),
        ("cmd/c/tool.go", &tool),
    ]);
    let [json, sarif, codequality] = report_fingerprints(dir.path());
    let leak = |path: &str| json[&(path.to_string(), 6)].clone();
    assert_eq!(json.len(), 3, "{json:?}");
    assert_eq!(
        sarif, json,
        "SARIF partialFingerprints are the fingerprints"
    );
    assert_eq!(
        codequality, json,
        "Code Quality fingerprints are the fingerprints"
    );
    let distinct: BTreeSet<&String> = json.values().collect();
    assert_eq!(distinct.len(), 3, "twins in two files differ: {json:?}");
    assert!(json.values().all(|f| f.len() == 32
        && f.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))));

    // Renaming the unique one keeps its fingerprint; the twins keep theirs.
    let before = (
        leak("cmd/a/main.go"),
        leak("cmd/b/main.go"),
        leak("cmd/c/tool.go"),
    );
    std::fs::rename(
        dir.path().join("cmd/c/tool.go"),
        dir.path().join("cmd/c/renamed.go"),
    )
    .unwrap();
    let [json, _, _] = report_fingerprints(dir.path());
    assert_eq!(
        (
            json[&("cmd/a/main.go".to_string(), 6)].clone(),
            json[&("cmd/b/main.go".to_string(), 6)].clone(),
            json[&("cmd/c/renamed.go".to_string(), 6)].clone(),
        ),
        before
    );
}
