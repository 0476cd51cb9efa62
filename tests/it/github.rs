//! `tollgate review` against a local fake of the GitHub API (tests/it/fake_github.rs),
//! driven the way GitHub Actions drives it: an event payload file and the
//! `GITHUB_*` variables the runner sets.

use super::common::{git, tollgate_env, write, Run};
use super::fake_github::{file_entry, FakeGitHub, Injection, OWNER, PR, REPO};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub(crate) const TOKEN: &str = "ghs_fakeTokenValue0123456789abcdefXYZ";
/// `GITHUB_SHA` on `pull_request` is the test merge commit, not the PR head.
const MERGE_SHA: &str = "3333333333333333333333333333333333333333";

pub(crate) const BASE_GO: &str = "package main

import (
\t\"errors\"
\t\"fmt\"
\t\"os\"
)

func old(p string) {
\tf, _ := os.Open(p)
\t_ = f.Name()
}

func main() {}
";

/// Added on the branch: an `errors.New(fmt.Sprintf(…))` (a fix, so a
/// suggestion) and a leaked file.
pub(crate) const ADDED_GO: &str = "
func check(n int) error {
\treturn errors.New(fmt.Sprintf(\"bad %d\", n))
}

func leak(p string) {
\tg, _ := os.Open(p)
\t_ = g.Name()
}
";

pub(crate) struct Pr {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) gh: FakeGitHub,
    pub(crate) base: String,
    pub(crate) head: String,
    pub(crate) run_id: u32,
    pub(crate) extra_env: Vec<(String, String)>,
}

pub(crate) fn rev(dir: &Path, name: &str) -> String {
    git(dir, &["rev-parse", name]).trim().to_string()
}

/// The PR's `patch` of one file as the files API gives it: the diff from the
/// merge base, without the `diff --git`/`---`/`+++` header lines.
pub(crate) fn patch_of(dir: &Path, base: &str, head: &str, file: &str) -> String {
    let diff = git(
        dir,
        &["diff", "-U3", &format!("{base}...{head}"), "--", file],
    );
    let start = diff.find("\n@@").map_or(0, |i| i + 1);
    diff[start..].trim_end_matches('\n').to_string()
}

impl Pr {
    /// A repository with `main` and a checked-out `feature` branch that appends
    /// `added` to main.go, and a fake GitHub that knows the PR.
    pub(crate) fn new(added: &str) -> Pr {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        write(root, "main.go", BASE_GO.as_bytes());
        git(root, &["add", "."]);
        git(root, &["commit", "-qm", "base"]);
        git(root, &["checkout", "-qb", "feature"]);
        write(root, "main.go", format!("{BASE_GO}{added}").as_bytes());
        git(root, &["commit", "-qam", "feature"]);
        let gh = FakeGitHub::start(TOKEN);
        let mut pr = Pr {
            base: rev(root, "main"),
            head: rev(root, "HEAD"),
            dir,
            gh,
            run_id: 100,
            extra_env: Vec::new(),
        };
        pr.sync();
        pr
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Tells the fake the PR's current head and files (as GitHub would after a push).
    fn sync(&mut self) {
        self.head = rev(self.root(), "HEAD");
        let patch = patch_of(self.root(), &self.base, &self.head, "main.go");
        let (head, base) = (self.head.clone(), self.base.clone());
        self.gh.with(|s| {
            s.head_sha = head;
            s.base_sha = base;
            s.files = vec![file_entry("main.go", "modified", Some(&patch))];
        });
    }

    /// Commits new main.go contents on the branch and pushes them to the fake.
    fn push(&mut self, main_go: &str) {
        write(self.root(), "main.go", main_go.as_bytes());
        git(self.root(), &["commit", "-qam", "push"]);
        self.sync();
    }

    pub(crate) fn event_file(&self, template: &str) -> PathBuf {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/github")
                .join(template),
        )
        .unwrap()
        .replace("__HEAD_SHA__", &self.head)
        .replace("__BASE_SHA__", &self.base);
        let path = self
            .root()
            .join(".git")
            .join(format!("event-{}.json", self.head));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The variables the Actions runner sets for a `pull_request` job.
    pub(crate) fn actions_env(&self, event_name: &str, event: &Path) -> Vec<(String, String)> {
        let summary = self.root().join(".git").join("step-summary.md");
        let mut env: Vec<(String, String)> = [
            ("GITHUB_ACTIONS", "true"),
            ("CI", "true"),
            ("GITHUB_EVENT_NAME", event_name),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_REPOSITORY_OWNER", "acme"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_SHA", MERGE_SHA),
            ("GITHUB_REF", "refs/pull/7/merge"),
            ("GITHUB_HEAD_REF", "feature"),
            ("GITHUB_BASE_REF", "main"),
            ("GITHUB_RUN_ATTEMPT", "1"),
            ("GITHUB_TOKEN", TOKEN),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.push(("GITHUB_EVENT_PATH".into(), event.display().to_string()));
        env.push(("GITHUB_API_URL".into(), self.gh.uri()));
        env.push((
            "GITHUB_GRAPHQL_URL".into(),
            format!("{}/graphql", self.gh.uri()),
        ));
        env.push(("GITHUB_RUN_ID".into(), self.run_id.to_string()));
        env.push(("GITHUB_WORKSPACE".into(), self.root().display().to_string()));
        env.push(("GITHUB_STEP_SUMMARY".into(), summary.display().to_string()));
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// `tollgate review ARGS` as a `pull_request` job runs it.
    pub(crate) fn review(&self, args: &[&str]) -> Run {
        let event = self.event_file("pull_request.synchronize.json");
        let env = self.actions_env("pull_request", &event);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut all = vec!["review"];
        all.extend_from_slice(args);
        tollgate_env(self.root(), &all, &env)
    }

    /// A `--depth 1` clone of `branch`: what `actions/checkout` leaves by default.
    fn shallow_clone(&self, branch: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", self.root().display());
        git(
            dir.path(),
            &["clone", "-q", "--depth", "1", "--branch", branch, &url, "."],
        );
        dir
    }

    /// `tollgate review ARGS` as a `pull_request` job runs it in `workspace`.
    fn review_in(&self, workspace: &Path, args: &[&str]) -> Run {
        let event = self.event_file("pull_request.synchronize.json");
        let mut env = self.actions_env("pull_request", &event);
        for (k, v) in &mut env {
            if k == "GITHUB_WORKSPACE" {
                *v = workspace.display().to_string();
            }
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut all = vec!["review"];
        all.extend_from_slice(args);
        tollgate_env(workspace, &all, &env)
    }
}

pub(crate) fn posts_to(
    writes: &[(String, String, Value)],
    method: &str,
    suffix: &str,
) -> Vec<Value> {
    writes
        .iter()
        .filter(|(m, p, _)| m == method && p.ends_with(suffix))
        .map(|(_, _, b)| b.clone())
        .collect()
}

/// The body of the summary comment this run posted.
pub(crate) fn posted_summary(writes: &[(String, String, Value)]) -> String {
    let posted = posts_to(writes, "POST", &format!("/issues/{PR}/comments"));
    let body = posted.first().expect("a summary was posted")["body"].as_str();
    body.expect("a body").to_string()
}

pub(crate) fn line_of(text: &str, needle: &str) -> u64 {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle") as u64
        + 1
}

fn assert_no_token(run: &Run, files: &[&Path]) {
    assert!(!run.stderr.contains(TOKEN), "token in stderr");
    for line in run.stdout.lines().filter(|l| l.contains(TOKEN)) {
        assert_eq!(
            line,
            format!("::add-mask::{TOKEN}"),
            "the token may appear only to be masked"
        );
    }
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        assert!(!text.contains(TOKEN), "token in {}", file.display());
    }
}

#[test]
fn a_pull_request_gets_one_review_on_its_diff_lines_and_one_summary_that_reruns_keep() {
    let mut pr = Pr::new(ADDED_GO);
    // Other bots' comments fill the first pages: tollgate must page past them.
    pr.gh.with(|s| {
        for i in 0..105 {
            s.issue_comments.push(json!({"id": i + 1, "body": format!("bot note {i}"), "user": {"login": "github-actions[bot]", "type": "Bot"}}));
            s.review_comments.push(json!({"id": i + 1, "body": "lgtm", "path": "main.go", "line": 1, "in_reply_to_id": null, "user": {"login": "someone"}}));
        }
        // A person pastes tollgate's markers into their own comments: never touch those.
        s.issue_comments.push(json!({"id": 900, "body": "mine <!-- tollgate:summary -->", "user": {"login": "mallory", "type": "User"}}));
        s.review_comments.push(json!({"id": 901, "body": "x <!-- tollgate:fingerprint=00000000000000000000000000000000 -->", "path": "main.go", "line": 1, "in_reply_to_id": null, "user": {"login": "mallory", "type": "User"}}));
        s.threads.push(("PRRT_901".into(), 901, false));
    });
    let out = pr.root().join("out");
    let run = pr.review(&[
        "--filter",
        "file",
        "--fail-on",
        "never",
        "--report",
        "json=out/tollgate.json",
        "--report",
        "sarif=out/tollgate.sarif",
    ]);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let writes = pr.gh.writes();
    let reviews = posts_to(&writes, "POST", &format!("/pulls/{PR}/reviews"));
    assert_eq!(reviews.len(), 1, "one review per run: {writes:?}");
    assert_eq!(
        writes.len(),
        2,
        "one review and one summary, nothing else: {writes:?}"
    );
    let review = &reviews[0];
    assert_eq!(
        review["commit_id"],
        pr.head.as_str(),
        "the PR head, never GITHUB_SHA"
    );
    assert_eq!(review["event"], "COMMENT");
    assert!(
        pr.gh.with(|s| s.refusals.clone()).is_empty(),
        "GitHub refused an anchor"
    );
    let text = std::fs::read_to_string(pr.root().join("main.go")).unwrap();
    let comments = review["comments"].as_array().unwrap();
    let on = |rule: &str| {
        comments
            .iter()
            .find(|c| c["body"].as_str().unwrap().contains(rule))
            .unwrap_or_else(|| panic!("no comment for {rule}: {comments:?}"))
    };
    let sprintf = on("go/errors-new-sprintf");
    assert_eq!(sprintf["line"], line_of(&text, "errors.New(fmt.Sprintf"));
    assert_eq!(sprintf["side"], "RIGHT");
    assert!(
        sprintf["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\n\treturn fmt.Errorf(\"bad %d\", n)\n```"),
        "{}",
        sprintf["body"]
    );
    assert_eq!(
        on("go/unclosed-file")["line"],
        line_of(&text, "g, _ := os.Open")
    );
    // The old leak (line 10) is in the file but outside the diff: summary only.
    assert!(comments.iter().all(|c| c["line"] != 10), "{comments:?}");
    let summaries = posts_to(&writes, "POST", &format!("/issues/{PR}/comments"));
    let summary = summaries[0]["body"].as_str().unwrap();
    assert!(summary.contains("<!-- tollgate:summary -->"));
    assert!(
        summary.contains(&format!(
            "[main.go:10](https://github.com/{OWNER}/{REPO}/blob/{}/main.go#L10)",
            pr.head
        )),
        "{summary}"
    );
    assert!(summary.contains("outside the diff"));
    assert!(summary.contains("actions/runs/100"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("tollgate.json")).unwrap()).unwrap();
    assert_eq!(
        report["review"],
        json!({"repository": "acme/app", "pull_request": 7, "head_sha": pr.head})
    );
    let step_summary = std::fs::read_to_string(pr.root().join(".git/step-summary.md")).unwrap();
    assert!(step_summary.contains("go/unclosed-file"));
    assert_no_token(
        &run,
        &[
            &out.join("tollgate.json"),
            &out.join("tollgate.sarif"),
            &pr.root().join(".git/step-summary.md"),
        ],
    );

    // Re-run on the same commit (a re-run of the job): nothing is written at all.
    pr.gh.reset_requests();
    let again = pr.review(&["--filter", "file", "--fail-on", "never"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        pr.gh.writes(),
        vec![],
        "a re-run with nothing new posts nothing"
    );
    let gets: Vec<String> = pr.gh.requests().into_iter().map(|r| r.1).collect();
    assert!(
        gets.iter()
            .any(|p| p == "/repositories/4242/pulls/7/comments?per_page=100&page=2"),
        "follows Link rel=next as given: {gets:?}"
    );
    assert!(
        again.stderr.contains("0 new comment(s), 2 already there"),
        "{}",
        again.stderr
    );

    // A new workflow run on the same commit: the summary's run link changes, so it is edited in place.
    pr.gh.reset_requests();
    pr.run_id = 101;
    let third = pr.review(&["--filter", "file", "--fail-on", "never"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    let writes = pr.gh.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    let summary_id = pr.gh.with(|s| {
        s.issue_comments
            .iter()
            .find(|c| {
                c["body"].as_str().unwrap().contains("tollgate:summary")
                    && c["user"]["type"] == "Bot"
            })
            .unwrap()["id"]
            .as_u64()
            .unwrap()
    });
    assert_eq!(writes[0].0, "PATCH");
    assert_eq!(
        writes[0].1,
        format!("/repos/acme/app/issues/comments/{summary_id}")
    );
    assert!(writes[0].2["body"]
        .as_str()
        .unwrap()
        .contains("actions/runs/101"));
    assert_eq!(
        pr.gh.with(|s| s.issue_comments.len()),
        107,
        "still one summary"
    );
    let forged = pr
        .gh
        .with(|s| s.issue_comments.iter().find(|c| c["id"] == 900).unwrap()["body"].clone());
    assert_eq!(
        forged, "mine <!-- tollgate:summary -->",
        "another author's comment is never edited"
    );
    let resolved = pr
        .gh
        .with(|s| s.threads.iter().find(|t| t.1 == 901).unwrap().2);
    assert!(!resolved, "another author's thread is never resolved");
}

#[test]
fn fixed_findings_have_their_threads_resolved_and_a_clean_pr_loses_its_summary() {
    let mut pr = Pr::new(ADDED_GO);
    let first = pr.review(&["--fail-on", "never"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let thread_of = |pr: &Pr, rule: &str| {
        pr.gh.with(|s| {
            let id = s
                .review_comments
                .iter()
                .find(|c| c["body"].as_str().unwrap().contains(rule))
                .unwrap()["id"]
                .as_u64()
                .unwrap();
            s.threads.iter().find(|t| t.1 == id).unwrap().clone()
        })
    };
    assert!(!thread_of(&pr, "go/unclosed-file").2);

    // Push a commit that closes the file.
    pr.gh.reset_requests();
    pr.push(&format!(
        "{BASE_GO}{}",
        ADDED_GO.replace("\t_ = g.Name()\n", "\tdefer g.Close()\n\t_ = g.Name()\n")
    ));
    let fixed = pr.review(&["--fail-on", "never"]);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    let writes = pr.gh.writes();
    let (leak_thread, sprintf_thread) = (
        thread_of(&pr, "go/unclosed-file"),
        thread_of(&pr, "go/errors-new-sprintf"),
    );
    assert!(leak_thread.2, "the fixed finding's thread is resolved");
    assert!(!sprintf_thread.2, "the other thread stays open");
    let mutations: Vec<&Value> = writes
        .iter()
        .filter(|w| w.1 == "/graphql")
        .map(|w| &w.2)
        .collect();
    assert_eq!(mutations.len(), 1, "{writes:?}");
    assert!(mutations[0]["query"]
        .as_str()
        .unwrap()
        .contains("resolveReviewThread"));
    assert_eq!(mutations[0]["variables"]["id"], leak_thread.0.as_str());
    assert!(
        posts_to(&writes, "POST", "/reviews").is_empty(),
        "nothing new to say: no review"
    );

    // A person resolves the open sprintf thread (a dismissal); the leak comes back.
    pr.gh.with(|s| {
        let thread = s
            .threads
            .iter_mut()
            .find(|t| t.0 == sprintf_thread.0)
            .unwrap();
        thread.2 = true;
        s.resolved_by.insert(
            thread.0.clone(),
            json!({"__typename": "User", "login": "dev"}),
        );
    });
    pr.gh.reset_requests();
    pr.push(&format!("{BASE_GO}{ADDED_GO}"));
    let back = pr.review(&["--fail-on", "never"]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    let writes = pr.gh.writes();
    let mutations: Vec<&Value> = writes
        .iter()
        .filter(|w| w.1 == "/graphql")
        .map(|w| &w.2)
        .collect();
    assert_eq!(mutations.len(), 1, "{writes:?}");
    assert!(
        mutations[0]["query"]
            .as_str()
            .unwrap()
            .contains("unresolveReviewThread"),
        "the thread tollgate resolved reopens"
    );
    assert_eq!(mutations[0]["variables"]["id"], leak_thread.0.as_str());
    assert!(
        thread_of(&pr, "go/errors-new-sprintf").2,
        "a person's resolution stands"
    );
    assert!(
        posts_to(&writes, "POST", "/reviews").is_empty(),
        "no duplicate comment for the returning finding"
    );

    // Fix the rest with `--on-clean delete`: every thread resolved, the summary deleted.
    pr.gh.reset_requests();
    pr.push(&format!(
        "{BASE_GO}\nfunc check(n int) error {{\n\treturn fmt.Errorf(\"bad %d\", n)\n}}\n"
    ));
    let clean = pr.review(&["--fail-on", "never", "--on-clean", "delete"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(thread_of(&pr, "go/errors-new-sprintf").2);
    let writes = pr.gh.writes();
    assert_eq!(posts_to(&writes, "DELETE", "").len(), 1, "{writes:?}");
    assert!(pr.gh.with(|s| s.issue_comments.is_empty()));
}

#[test]
fn when_threads_cannot_be_resolved_the_comment_says_it_was_fixed() {
    let mut pr = Pr::new(ADDED_GO);
    assert_eq!(pr.review(&["--fail-on", "never"]).code, 0);
    pr.push(&format!(
        "{BASE_GO}{}",
        ADDED_GO.replace("\t_ = g.Name()\n", "\tdefer g.Close()\n\t_ = g.Name()\n")
    ));
    pr.gh.inject(Injection::once("POST", "/graphql", 200, json!({"data": null, "errors": [{"type": "FORBIDDEN", "message": "Resource not accessible by integration"}]})).times(20));
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = pr.gh.with(|s| {
        s.review_comments
            .iter()
            .find(|c| c["body"].as_str().unwrap().contains("go/unclosed-file"))
            .unwrap()["body"]
            .as_str()
            .unwrap()
            .to_string()
    });
    assert!(
        body.contains(&format!("Fixed in {}", &pr.head[..12])),
        "{body}"
    );
}

#[test]
fn a_read_only_token_falls_back_to_annotations_and_exits_by_fail_on() {
    let pr = Pr::new(ADDED_GO);
    pr.gh.with(|s| s.read_only = true);
    let run = pr.review(&["--fail-on", "warning", "--report", "sarif=tollgate.sarif"]);
    assert_eq!(
        run.code, 1,
        "a warning fails the gate, as without GitHub: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"));
    let refusal: Vec<&str> = run.stderr.lines().filter(|l| l.contains("403")).collect();
    assert_eq!(refusal.len(), 1, "one line says why: {}", run.stderr);
    assert!(
        refusal[0].contains("Resource not accessible by integration"),
        "{}",
        refusal[0]
    );
    assert!(
        run.stdout.contains("::warning file=main.go,line="),
        "annotations instead: {}",
        run.stdout
    );
    assert!(
        pr.root().join("tollgate.sarif").is_file(),
        "the reports were written first"
    );
    let never = pr.review(&["--fail-on", "never"]);
    assert_eq!(never.code, 0, "{}", never.stderr);
    assert_no_token(&run, &[&pr.root().join("tollgate.sarif")]);
}

#[test]
fn rate_limits_and_server_errors_are_waited_out_and_retried() {
    let pr = Pr::new(ADDED_GO);
    pr.gh.inject(Injection::once("POST", "/pulls/7/reviews", 429, json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})).header("retry-after", "1").header("x-ratelimit-remaining", "37"));
    pr.gh.inject(Injection::once(
        "GET",
        "/pulls/7/comments",
        502,
        json!({"message": "Server Error"}),
    ));
    let started = std::time::Instant::now();
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "waited for retry-after and the backoff"
    );
    let posts = posts_to(&pr.gh.requests(), "POST", "/pulls/7/reviews");
    assert_eq!(posts.len(), 2, "the rate-limited review is sent again");
    assert_eq!(pr.gh.with(|s| s.reviews.len()), 1, "and lands once");
}

#[test]
fn a_rate_limit_past_the_time_limit_fails_cleanly_after_the_reports() {
    let pr = Pr::new(ADDED_GO);
    pr.gh.inject(
        Injection::once(
            "POST",
            "/pulls/7/reviews",
            403,
            json!({"message": "API rate limit exceeded for installation ID 1."}),
        )
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", "4102444800"),
    );
    let run = pr.review(&["--fail-on", "never", "--report", "json=tollgate.json"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("rate limited"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the reports were written before posting and are in place: tollgate.json"),
        "{}",
        run.stderr
    );
    assert!(pr.root().join("tollgate.json").is_file());
    assert!(
        run.stdout.contains("::warning file=main.go"),
        "annotations so nothing is lost"
    );
}

#[test]
fn a_shallow_clone_reads_the_change_from_the_pr_files_api_across_pages() {
    let pr = Pr::new(ADDED_GO);
    // A clone that has only the head: the base is not here.
    let shallow = pr.shallow_clone("feature");
    pr.gh.with(|s| {
        // 120 more files (listed first), one without a patch.
        let mut files: Vec<Value> = (0..120)
            .map(|i| {
                file_entry(
                    &format!("docs/n{i:03}.md"),
                    "added",
                    Some("@@ -0,0 +1 @@\n+x"),
                )
            })
            .collect();
        files.push(file_entry("big.go", "modified", None));
        files.append(&mut s.files);
        s.files = files;
    });
    write(shallow.path(), "big.go", b"package main\n\nimport \"os\"\n\nfunc big(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n");
    let run = pr.review_in(shallow.path(), &["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("reading the pull request's files from GitHub instead"),
        "{}",
        run.stderr
    );
    let requests: Vec<String> = pr.gh.requests().into_iter().map(|r| r.1).collect();
    assert!(
        requests.contains(&"/repos/acme/app/pulls/7/files?per_page=100".to_string()),
        "{requests:?}"
    );
    assert!(
        requests.contains(&"/repositories/4242/pulls/7/files?per_page=100&page=2".to_string()),
        "{requests:?}"
    );
    let writes = pr.gh.writes();
    let review = &posts_to(&writes, "POST", "/reviews")[0];
    let rules: Vec<&str> = review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert!(rules.iter().all(|p| *p == "main.go"), "{rules:?}");
    let summary = posted_summary(&writes);
    assert!(
        summary.contains("big.go:6"),
        "a file without a patch is scanned whole and listed: {summary}"
    );
    assert!(
        summary.contains("GitHub shows no diff for 1 file"),
        "{summary}"
    );
}

#[test]
fn a_review_github_refuses_is_posted_comment_by_comment() {
    let pr = Pr::new(ADDED_GO);
    pr.gh.inject(Injection::once("POST", "/pulls/7/reviews", 422, json!({"message": "Unprocessable Entity", "errors": ["Pull request review thread line must be part of the diff"]})));
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let singles = posts_to(&pr.gh.writes(), "POST", "/pulls/7/comments");
    assert_eq!(singles.len(), 2, "each comment alone");
    assert!(singles.iter().all(|c| c["commit_id"] == pr.head.as_str()));
    assert_eq!(pr.gh.with(|s| s.review_comments.len()), 2);
}

#[test]
fn request_changes_is_used_for_errors_when_configured_and_the_cap_sends_the_rest_to_the_summary() {
    let leaks: String = (0..5)
        .map(|i| format!("\nfunc leak{i}(p string) {{\n\tg, _ := os.Open(p)\n\t_ = g.Name()\n}}\n"))
        .collect();
    let pr = Pr::new(&leaks);
    write(pr.root(), ".tollgate.yml", b"rules:\n  severity:\n    go/unclosed-file: error\ngithub:\n  review_event: request_changes\n  max_comments: 3\n");
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let writes = pr.gh.writes();
    let review = &posts_to(&writes, "POST", "/reviews")[0];
    assert_eq!(review["event"], "REQUEST_CHANGES");
    assert_eq!(review["comments"].as_array().unwrap().len(), 3);
    let summary = posted_summary(&writes);
    assert_eq!(
        summary.matches("over the inline comment cap").count(),
        2,
        "{summary}"
    );
}

#[test]
fn a_check_run_sends_annotations_fifty_at_a_time() {
    let leaks: String = (0..60)
        .map(|i| format!("\nfunc leak{i}(p string) {{\n\tg, _ := os.Open(p)\n\t_ = g.Name()\n}}\n"))
        .collect();
    let pr = Pr::new(&leaks);
    let run = pr.review(&["--fail-on", "warning", "--github-check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let writes = pr.gh.writes();
    let created = posts_to(&writes, "POST", "/check-runs");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["head_sha"], pr.head.as_str());
    assert_eq!(created[0]["conclusion"], "failure");
    assert_eq!(
        created[0]["output"]["annotations"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    let more = posts_to(&writes, "PATCH", "");
    let more: Vec<&Value> = more.iter().filter(|b| b.get("output").is_some()).collect();
    assert_eq!(more.len(), 1);
    assert_eq!(
        more[0]["output"]["annotations"].as_array().unwrap().len(),
        10
    );
    assert_eq!(
        posts_to(&writes, "POST", "/reviews")[0]["comments"]
            .as_array()
            .unwrap()
            .len(),
        30,
        "default cap"
    );
}

/// The unprivileged `pull_request` run of a fork: no write token; it scans,
/// writes `tollgate.json` and posts nothing. Returns the privileged job's
/// folder, holding only that artifact.
fn fork_report(pr: &Pr) -> tempfile::TempDir {
    let fork_event = pr.event_file("pull_request.synchronize.json");
    let text = std::fs::read_to_string(&fork_event).unwrap().replacen("\"full_name\": \"acme/app\", \"private\": false, \"owner\": {\"login\": \"acme\", \"id\": 9919, \"type\": \"Organization\"}, \"fork\": false", "\"full_name\": \"eve/app\", \"private\": false, \"owner\": {\"login\": \"eve\", \"id\": 777, \"type\": \"User\"}, \"fork\": true", 1);
    std::fs::write(&fork_event, text).unwrap();
    let mut env = pr.actions_env("pull_request", &fork_event);
    env.retain(|(k, _)| k != "GITHUB_TOKEN");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let scan = tollgate_env(
        pr.root(),
        &[
            "review",
            "--no-post",
            "--fail-on",
            "never",
            "--report",
            "json=tollgate.json",
        ],
        &env,
    );
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert_eq!(
        pr.gh.requests(),
        vec![],
        "the unprivileged run talks to no API"
    );
    assert!(
        scan.stdout.contains("::warning file=main.go"),
        "it still annotates"
    );
    // The privileged `workflow_run` job: no checkout, only the artifact.
    let job = tempfile::tempdir().unwrap();
    std::fs::copy(
        pr.root().join("tollgate.json"),
        job.path().join("tollgate.json"),
    )
    .unwrap();
    job
}

/// The privileged `workflow_run` job's variables, with an Enterprise-style API URL.
fn privileged_env(pr: &Pr) -> Vec<(String, String)> {
    let run_event = pr.event_file("workflow_run.completed.json");
    vec![
        ("GITHUB_ACTIONS".into(), "true".into()),
        ("GITHUB_EVENT_NAME".into(), "workflow_run".into()),
        ("GITHUB_EVENT_PATH".into(), run_event.display().to_string()),
        ("GITHUB_REPOSITORY".into(), "acme/app".into()),
        ("GITHUB_API_URL".into(), format!("{}/api/v3", pr.gh.uri())),
        (
            "GITHUB_GRAPHQL_URL".into(),
            format!("{}/api/graphql", pr.gh.uri()),
        ),
        ("GITHUB_SERVER_URL".into(), "https://ghe.example.com".into()),
        ("GITHUB_RUN_ID".into(), "555".into()),
        ("GITHUB_TOKEN".into(), TOKEN.into()),
    ]
}

#[test]
fn the_two_workflow_fork_pattern_posts_from_the_report_alone() {
    let pr = Pr::new(ADDED_GO);
    let job = fork_report(&pr);
    let env = privileged_env(&pr);
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let post = tollgate_env(
        job.path(),
        &["review", "--from", "tollgate.json"],
        &env_refs,
    );
    assert_eq!(post.code, 0, "{}", post.stderr);
    let writes = pr.gh.writes();
    assert_eq!(
        posts_to(&writes, "POST", "/api/v3/repos/acme/app/pulls/7/reviews").len(),
        1,
        "{writes:?}"
    );
    assert_eq!(
        posts_to(&writes, "POST", "/api/v3/repos/acme/app/issues/7/comments").len(),
        1
    );
    let summary = pr
        .gh
        .with(|s| s.issue_comments[0]["body"].as_str().unwrap().to_string());
    assert!(
        summary.contains("https://ghe.example.com/acme/app/actions/runs/555"),
        "{summary}"
    );
    assert!(pr.gh.with(|s| s
        .review_comments
        .iter()
        .any(|c| c["body"].as_str().unwrap().contains("```suggestion"))));
    assert_no_token(&post, &[]);

    // A report that names another commit than the trusted event is refused.
    pr.gh.reset_requests();
    let report = std::fs::read_to_string(job.path().join("tollgate.json")).unwrap();
    std::fs::write(
        job.path().join("forged.json"),
        report.replace(&pr.head, "1234567890123456789012345678901234567890"),
    )
    .unwrap();
    let forged = tollgate_env(job.path(), &["review", "--from", "forged.json"], &env_refs);
    assert_eq!(forged.code, 2, "{}", forged.stderr);
    assert!(forged.stderr.contains("the report names commit 1234567890123456789012345678901234567890, but the workflow run was for"), "{}", forged.stderr);
    assert_eq!(pr.gh.writes(), vec![]);
    std::fs::write(
        job.path().join("broken.json"),
        "{\"findings\": [\n  {\"rule\": 3}\n]}",
    )
    .unwrap();
    let broken = tollgate_env(job.path(), &["review", "--from", "broken.json"], &env_refs);
    assert_eq!(broken.code, 2);
    assert!(
        broken
            .stderr
            .contains("broken.json:line 2: not a tollgate JSON report"),
        "{}",
        broken.stderr
    );
    // Without --from, a workflow_run job would scan whatever it checked out: refused.
    let scan_here = tollgate_env(job.path(), &["review"], &env_refs);
    assert_eq!(scan_here.code, 2);
    assert!(
        scan_here
            .stderr
            .contains("`tollgate review --from tollgate.json`"),
        "{}",
        scan_here.stderr
    );
    assert_eq!(pr.gh.writes(), vec![]);
}

#[test]
fn a_forged_report_posts_nothing_live_and_never_picks_its_pull_request() {
    let pr = Pr::new(ADDED_GO);
    let job = fork_report(&pr);
    let env = privileged_env(&pr);
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(job.path().join("tollgate.json")).unwrap())
            .unwrap();
    let forge = |name: &str, change: &dyn Fn(&mut Value)| {
        let mut forged = report.clone();
        change(&mut forged);
        std::fs::write(job.path().join(name), forged.to_string()).unwrap();
    };
    let run = |name: &str, extra: &[&str]| {
        pr.gh.reset_requests();
        let mut args = vec!["review", "--from", name];
        args.extend_from_slice(extra);
        tollgate_env(job.path(), &args, &env_refs)
    };

    // Malformed fields refuse the whole report, with no write and no panic.
    type Forgery<'a> = (&'a str, &'a dyn Fn(&mut Value));
    let bad: [Forgery<'_>; 4] = [
        ("fingerprint", &|r| {
            r["findings"][0]["fingerprint"] = json!("ab --> <!-- tollgate:summary --> <!--")
        }),
        ("fingerprint", &|r| {
            r["findings"][0]["fingerprint"] = json!("é".repeat(16))
        }),
        ("rule", &|r| {
            r["findings"][0]["rule"] = json!("go/x` @admin")
        }),
        ("line", &|r| r["findings"][0]["line"] = json!(0)),
    ];
    for (field, change) in bad {
        forge("bad.json", change);
        let refused = run("bad.json", &[]);
        assert_eq!(refused.code, 2, "{field}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(&format!("finding 1: `{field}`")),
            "{}",
            refused.stderr
        );
        assert_eq!(pr.gh.writes(), vec![], "{field}");
    }

    // A report for another pull request than GitHub gives for the run's head is refused.
    forge("other.json", &|r| r["review"]["pull_request"] = json!(8));
    let other = run("other.json", &[]);
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(
        other
            .stderr
            .contains("the report is for PR #8, but this run is for PR #7"),
        "{}",
        other.stderr
    );
    assert_eq!(pr.gh.writes(), vec![]);
    assert!(pr
        .gh
        .requests()
        .iter()
        .any(|(m, p, _)| m == "GET" && p.contains(&format!("/commits/{}/pulls", pr.head))));

    // Text is posted inert; a finding on a file the PR does not change is left out; no check run.
    forge("inert.json", &|r| {
        let first = r["findings"][0].clone();
        r["findings"][0]["message"] =
            json!("ping @octocat, see [this](https://evil.example) <!-- tollgate:summary -->");
        let mut outside = first;
        outside["path"] = json!("../../../../evil.example/x");
        r["findings"].as_array_mut().unwrap().push(outside);
    });
    let inert = run("inert.json", &["--github-check"]);
    assert_eq!(inert.code, 0, "{}", inert.stderr);
    let writes = pr.gh.writes();
    let bodies: Vec<String> = writes
        .iter()
        .map(|(_, _, body)| body.to_string())
        .collect::<Vec<_>>();
    let all = bodies.join("\n");
    assert!(
        !all.contains("@octocat") && all.contains("octocat"),
        "{all}"
    );
    assert!(
        !all.contains("[this](") && !all.contains("https://evil"),
        "{all}"
    );
    assert!(!all.contains("evil.example/x"), "{all}");
    assert_eq!(
        pr.gh.with(|s| s
            .issue_comments
            .iter()
            .filter(|c| c["body"].as_str().unwrap().contains("tollgate:summary"))
            .count()),
        1,
        "one summary: the message could not forge another"
    );
    assert!(
        all.contains("name files this pull request does not change"),
        "the summary says what was left out: {all}"
    );
    assert!(
        pr.gh.with(|s| s.check_runs.is_empty()),
        "no check run from a report alone"
    );

    // A run whose head came from another fork than the PR's finds no pull request.
    let mallory = std::fs::read_to_string(&env[2].1)
        .unwrap()
        .replace("eve/app", "mallory/app");
    std::fs::write(&env[2].1, mallory).unwrap();
    let elsewhere = run("tollgate.json", &[]);
    assert_eq!(elsewhere.code, 2, "{}", elsewhere.stderr);
    assert!(
        elsewhere
            .stderr
            .contains("no single open pull request from mallory/app:feature"),
        "{}",
        elsewhere.stderr
    );
    assert_eq!(pr.gh.writes(), vec![]);
}

#[test]
fn outside_actions_repo_and_pr_flags_and_a_bad_event_are_handled() {
    let pr = Pr::new(ADDED_GO);
    let env = [
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_API_URL", &pr.gh.uri() as &str),
    ];
    let run = tollgate_env(
        pr.root(),
        &[
            "review",
            "--repo",
            "acme/app",
            "--pr",
            "7",
            "--fail-on",
            "never",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(posts_to(&pr.gh.writes(), "POST", "/reviews").len(), 1);
    // The head and base came from the API.
    assert!(pr
        .gh
        .requests()
        .iter()
        .any(|r| r.0 == "GET" && r.1 == "/repos/acme/app/pulls/7"));

    // A wrong PR number and a wrong token say what is wrong.
    let missing = tollgate_env(
        pr.root(),
        &["review", "--repo", "acme/app", "--pr", "8"],
        &env,
    );
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("GET /repos/acme/app/pulls/8: GitHub answered 404: Not Found (no such repository or pull request"), "{}", missing.stderr);
    let wrong = [
        ("GITHUB_TOKEN", "ghs_wrong"),
        ("GITHUB_API_URL", &pr.gh.uri() as &str),
    ];
    let denied = tollgate_env(
        pr.root(),
        &["review", "--repo", "acme/app", "--pr", "7"],
        &wrong,
    );
    assert_eq!(denied.code, 2);
    assert!(
        denied
            .stderr
            .contains("401: Bad credentials (the token is invalid or has expired)"),
        "{}",
        denied.stderr
    );
    assert!(!denied.stderr.contains("ghs_wrong"));

    let bad = pr.root().join(".git/bad-event.json");
    std::fs::write(
        &bad,
        "{\"ref\": \"refs/heads/main\",\n \"repository\": {\"full_name\": \"acme/app\"}}",
    )
    .unwrap();
    let push = tollgate_env(
        pr.root(),
        &["review"],
        &[
            ("GITHUB_EVENT_PATH", bad.to_str().unwrap()),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_TOKEN", TOKEN),
        ],
    );
    assert_eq!(push.code, 2);
    assert!(
        push.stderr
            .contains("bad-event.json: the `push` event has no pull request"),
        "{}",
        push.stderr
    );
    std::fs::write(&bad, "{ not json").unwrap();
    let broken = tollgate_env(
        pr.root(),
        &["review"],
        &[("GITHUB_EVENT_PATH", bad.to_str().unwrap())],
    );
    assert_eq!(broken.code, 2);
    assert!(
        broken
            .stderr
            .contains("bad-event.json:1: not a JSON event payload"),
        "{}",
        broken.stderr
    );
}

#[test]
fn the_readme_shows_the_example_workflows_and_they_keep_pr_code_away_from_write_tokens() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let load = |name: &str| {
        let text = std::fs::read_to_string(root.join("ci-templates/github").join(name)).unwrap();
        assert!(readme.contains(&text), "README shows {name} as it is");
        assert!(!text.contains("pull_request_target"), "{name}");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        (text, yaml)
    };
    let steps = |yaml: &serde_yaml::Value, job: &str| {
        yaml["jobs"][job]["steps"].as_sequence().unwrap().clone()
    };
    let uses = |steps: &[serde_yaml::Value], action: &str| {
        steps
            .iter()
            .any(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
    };
    let head_checkout = |steps: &[serde_yaml::Value]| {
        steps.iter().any(|s| {
            s["with"]["ref"].as_str() == Some("${{ github.event.pull_request.head.sha }}")
                && s["with"]["fetch-depth"].as_u64() == Some(0)
        })
    };

    let (_, same) = load("tollgate.yml");
    assert!(head_checkout(&steps(&same, "review")));
    assert_eq!(same["permissions"]["pull-requests"].as_str(), Some("write"));

    let (scan_text, scan) = load("tollgate-scan.yml");
    assert!(scan["on"].get("pull_request").is_some());
    assert!(
        !serde_yaml::to_string(&scan["permissions"])
            .unwrap()
            .contains("write"),
        "the PR run gets no write permission"
    );
    assert!(head_checkout(&steps(&scan, "scan")));
    let action = |steps: &[serde_yaml::Value]| {
        steps
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.ends_with("/tollgate@v0.1.0"))
            })
            .expect("the step that uses the tollgate action")
            .clone()
    };
    let scan_step = action(&steps(&scan, "scan"));
    assert_eq!(scan_step["with"]["args"].as_str(), Some("--no-post"));
    assert_eq!(
        scan_step["with"]["reports"].as_str(),
        Some("json=tollgate.json")
    );
    assert!(
        !scan_text.contains("${{ secrets."),
        "the PR run gets no secret"
    );

    let (post_text, post) = load("tollgate-post.yml");
    assert_eq!(post["on"]["workflow_run"]["workflows"][0], scan["name"]);
    let post_steps = steps(&post, "post");
    assert!(
        !uses(&post_steps, "actions/checkout"),
        "the privileged job never checks out the PR"
    );
    assert!(uses(&post_steps, "actions/download-artifact"));
    assert_eq!(
        action(&post_steps)["with"]["args"].as_str(),
        Some("--from tollgate.json")
    );
    assert!(
        !post_text.contains("cargo install"),
        "no compiling at run time"
    );
}

#[test]
fn a_hung_api_is_cut_off_by_the_time_limit() {
    let pr = Pr::new(ADDED_GO);
    pr.gh.inject(
        Injection::once("GET", "/pulls/7/comments", 200, json!([]))
            .times(10)
            .delay_ms(20_000),
    );
    let started = std::time::Instant::now();
    let run = pr.review(&[
        "--fail-on",
        "never",
        "--time-limit",
        "2",
        "--report",
        "json=tollgate.json",
    ]);
    let took = started.elapsed();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        took < std::time::Duration::from_secs(10),
        "stopped at the limit, took {took:?}"
    );
    assert!(
        run.stderr.contains("error: posting to GitHub failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("time limit") || run.stderr.contains("no answer within"),
        "{}",
        run.stderr
    );
    assert!(pr.root().join("tollgate.json").is_file());
}

#[test]
fn image_policy_findings_are_reviewed_and_summarised() {
    let pr = Pr::new(ADDED_GO);
    let root = pr.root();
    write(
        root,
        ".tollgate.yml",
        b"images:\n  environments:\n    production:\n      deny_latest: true\n",
    );
    write(
        root,
        "Dockerfile",
        b"FROM golang:1.22 AS build\nRUN go build ./...\n",
    );
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "docker"]);
    write(
        root,
        "Dockerfile",
        b"FROM golang:1.22 AS build\nRUN go build ./...\nFROM nginx:latest\n",
    );
    git(root, &["commit", "-qam", "runtime image"]);
    let mut pr = pr;
    pr.sync();
    let patch = patch_of(pr.root(), &pr.base, &pr.head, "Dockerfile");
    pr.gh.with(|s| {
        s.files
            .push(file_entry("Dockerfile", "added", Some(&patch)))
    });
    let run = pr.review(&["--fail-on", "never", "--env", "production"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let writes = pr.gh.writes();
    let review = &posts_to(&writes, "POST", "/reviews")[0];
    let image = review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "Dockerfile")
        .unwrap_or_else(|| panic!("no Dockerfile comment: {review}"));
    assert_eq!(image["line"], 3);
    assert!(image["body"].as_str().unwrap().contains("image/policy"));
    let summary = posted_summary(&writes);
    assert!(
        summary.contains("### Image policy (`production`)"),
        "{summary}"
    );
    assert!(summary.contains("environment `production`"));
}

#[test]
fn past_githubs_3000_file_limit_the_summary_says_what_was_left_out() {
    let pr = Pr::new(ADDED_GO);
    let shallow = pr.shallow_clone("feature");
    pr.gh.with(|s| {
        let more = (0..3050).map(|i| {
            file_entry(
                &format!("gen/f{i:04}.txt"),
                "added",
                Some("@@ -0,0 +1 @@\n+x"),
            )
        });
        s.files.extend(more);
    });
    let run = pr.review_in(shallow.path(), &["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("GitHub lists at most 3000 files"),
        "{}",
        run.stderr
    );
    let pages = pr
        .gh
        .requests()
        .iter()
        .filter(|r| r.0 == "GET" && r.1.contains("/pulls/7/files"))
        .count();
    assert_eq!(
        pages, 30,
        "GitHub serves no more than 3000 files: 30 pages of 100"
    );
    let writes = pr.gh.writes();
    assert_eq!(
        posts_to(&writes, "POST", "/reviews")[0]["comments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let summary = posted_summary(&writes);
    assert!(
        summary.contains("GitHub lists at most 3000 files of a pull request"),
        "{summary}"
    );
}

/// main moves on above the PR's lines and the job checks out the test merge
/// commit (actions/checkout's default on `pull_request`), where the PR's lines
/// sit 2 lower than at the head. The merge commit is branch `pr-merge`.
pub(crate) fn merge_checkout(pr: &mut Pr) {
    let root = pr.root().to_path_buf();
    git(&root, &["checkout", "-q", "main"]);
    let moved = BASE_GO.replacen("package main\n", "package main\n\n// one\n// two\n", 1);
    write(&root, "main.go", moved.as_bytes());
    git(&root, &["commit", "-qam", "main moves on"]);
    git(&root, &["checkout", "-q", "feature"]);
    pr.base = rev(&root, "main");
    pr.sync();
    git(&root, &["checkout", "-q", "-b", "pr-merge", "main"]);
    git(&root, &["merge", "-q", "--no-edit", "feature"]);
}

#[test]
fn scanning_the_test_merge_commit_comments_on_the_heads_lines() {
    let mut pr = Pr::new(ADDED_GO);
    merge_checkout(&mut pr);
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("findings are moved to the head's lines"),
        "{}",
        run.stderr
    );
    let head_text = git(pr.root(), &["show", &format!("{}:main.go", pr.head)]);
    let writes = pr.gh.writes();
    let review = &posts_to(&writes, "POST", "/reviews")[0];
    let lines: Vec<u64> = review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["line"].as_u64().unwrap())
        .collect();
    let mut expected = vec![
        line_of(&head_text, "g, _ := os.Open"),
        line_of(&head_text, "errors.New(fmt.Sprintf"),
    ];
    expected.sort();
    let mut lines = lines;
    lines.sort();
    assert_eq!(lines, expected, "the head's lines, not the merge commit's");
    assert!(review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\n\treturn fmt.Errorf(\"bad %d\", n)\n```")));
    let summary = posted_summary(&writes);
    assert!(!summary.contains("differs"), "{summary}");
}

#[test]
fn without_the_head_in_the_clone_shifted_lines_go_to_the_summary() {
    let mut pr = Pr::new(ADDED_GO);
    merge_checkout(&mut pr);
    // The default checkout: the merge commit alone.
    let shallow = pr.shallow_clone("pr-merge");
    let run = pr.review_in(shallow.path(), &["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("which is not in this clone"),
        "{}",
        run.stderr
    );
    let head_text = git(pr.root(), &["show", &format!("{}:main.go", pr.head)]);
    let writes = pr.gh.writes();
    for review in posts_to(&writes, "POST", "/reviews") {
        for comment in review["comments"].as_array().unwrap() {
            let line = comment["line"].as_u64().unwrap() as usize;
            let text = head_text.lines().nth(line - 1).unwrap_or_default();
            assert!(
                text.contains("os.Open") || text.contains("errors.New"),
                "comment on a shifted line {line}: `{text}`"
            );
        }
    }
    let summary = posted_summary(&writes);
    assert!(
        summary.contains("the scanned line differs from the PR head"),
        "{summary}"
    );
}

#[test]
fn a_spent_quota_is_waited_out_until_its_reset() {
    let pr = Pr::new(ADDED_GO);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    pr.gh.inject(
        Injection::once(
            "GET",
            "/user",
            403,
            json!({"message": "API rate limit exceeded for installation ID 1."}),
        )
        .header("x-ratelimit-limit", "1000")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", (now + 2).to_string()),
    );
    let started = std::time::Instant::now();
    let run = pr.review(&["--fail-on", "never", "--verbose"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited for x-ratelimit-reset"
    );
    let users = pr.gh.requests().iter().filter(|r| r.1 == "/user").count();
    assert_eq!(users, 2, "asked again after the reset");
    // --verbose shows each request, its answer and the quota, never the token.
    assert!(
        run.stderr.contains("debug: GET /user -> 403 in "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(quota left: 0)"), "{}", run.stderr);
    assert!(
        run.stderr.contains("note: GitHub: waiting "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("debug: POST /repos/acme/app/pulls/7/reviews -> 200"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(TOKEN));
    assert_eq!(posts_to(&pr.gh.writes(), "POST", "/reviews").len(), 1);
}

#[test]
fn a_comment_someone_deleted_stays_deleted() {
    let pr = Pr::new(ADDED_GO);
    assert_eq!(pr.review(&["--fail-on", "never"]).code, 0);
    // A developer deletes tollgate's comment on the leak.
    pr.gh.with(|s| {
        let index = s
            .review_comments
            .iter()
            .position(|c| c["body"].as_str().unwrap().contains("go/unclosed-file"))
            .unwrap();
        let id = s.review_comments.remove(index)["id"].as_u64().unwrap();
        s.threads.retain(|t| t.1 != id);
    });
    pr.gh.reset_requests();
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let writes = pr.gh.writes();
    assert!(
        posts_to(&writes, "POST", "/reviews").is_empty(),
        "not posted again: {writes:?}"
    );
    let edited = posts_to(&writes, "PATCH", "");
    assert_eq!(edited.len(), 1, "{writes:?}");
    assert!(edited[0]["body"]
        .as_str()
        .unwrap()
        .contains("its comment was deleted"));
    // And it stays that way: the next run has nothing to say.
    pr.gh.reset_requests();
    assert_eq!(pr.review(&["--fail-on", "never"]).code, 0);
    assert_eq!(pr.gh.writes(), vec![]);
}

#[test]
fn two_reviews_with_their_own_ids_share_a_pull_request_without_touching_each_other() {
    let mut pr = Pr::new(ADDED_GO);
    let leak = "package p\n\nimport \"os\"\n\nfunc leak(p string) {\n\tg, _ := os.Open(p)\n\t_ = g.Name()\n}\n";
    write(pr.root(), "api/x.go", leak.as_bytes());
    write(pr.root(), "web/y.go", leak.as_bytes());
    git(pr.root(), &["add", "."]);
    git(pr.root(), &["commit", "-qm", "parts"]);
    pr.sync();
    let (base, head) = (pr.base.clone(), pr.head.clone());
    for part in ["api/x.go", "web/y.go"] {
        let patch = patch_of(pr.root(), &base, &head, part);
        pr.gh
            .with(|s| s.files.push(file_entry(part, "added", Some(&patch))));
    }
    assert_eq!(
        pr.review(&["--fail-on", "never", "--id", "api", "api"])
            .code,
        0
    );
    pr.gh.reset_requests();
    let web = pr.review(&["--fail-on", "never", "--id", "web", "web"]);
    assert_eq!(web.code, 0, "{}", web.stderr);
    let writes = pr.gh.writes();
    assert_eq!(
        writes.len(),
        2,
        "its own review and summary only, nothing of api's touched: {writes:?}"
    );
    let review = &posts_to(&writes, "POST", "/reviews")[0];
    assert!(review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["path"] == "web/y.go"));
    assert!(review["body"]
        .as_str()
        .unwrap()
        .starts_with("**tollgate (web)**"));
    let summaries: Vec<String> = pr.gh.with(|s| {
        s.issue_comments
            .iter()
            .map(|c| c["body"].as_str().unwrap().to_string())
            .collect()
    });
    assert_eq!(summaries.len(), 2);
    assert!(
        summaries[0].starts_with("## ⚠️ tollgate (api)")
            && summaries[1].starts_with("## ⚠️ tollgate (web)"),
        "{summaries:?}"
    );
    pr.gh.reset_requests();
    assert_eq!(
        pr.review(&["--fail-on", "never", "--id", "api", "api"])
            .code,
        0
    );
    assert_eq!(pr.gh.writes(), vec![], "api finds its own comments again");
    let bad = pr.review(&["--id", "two words"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("review id `two words`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_check_run_the_token_may_not_create_does_not_undo_the_review() {
    let pr = Pr::new(ADDED_GO);
    pr.gh.inject(Injection::once(
        "POST",
        "/check-runs",
        403,
        json!({"message": "Resource not accessible by integration"}),
    ));
    let run = pr.review(&["--fail-on", "never", "--github-check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("no check run:") && run.stderr.contains("checks: write"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("refused to let this token write to PR"),
        "{}",
        run.stderr
    );
    let writes = pr.gh.writes();
    assert_eq!(posts_to(&writes, "POST", "/reviews").len(), 1);
    assert_eq!(posts_to(&writes, "POST", "/issues/7/comments").len(), 1);
}

#[test]
fn a_report_on_stdout_stays_a_clean_document_in_a_review() {
    let pr = Pr::new(ADDED_GO);
    // A read-only token: the review falls back to annotations, which must not land in the SARIF.
    pr.gh.with(|s| s.read_only = true);
    let run = pr.review(&["--report", "sarif=-"]);
    let sarif: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not the SARIF alone ({e}): {}", run.stdout));
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        run.stderr.contains("::add-mask::"),
        "the mask goes to stderr"
    );
    assert!(
        run.stderr.contains("::warning file=main.go"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_summary_counts_changed_files_nothing_reads_instead_of_listing_them() {
    let mut pr = Pr::new(ADDED_GO);
    for name in ["README.md", "docs/guide.md", "logo.svg"] {
        write(pr.root(), name, b"text\n");
    }
    git(pr.root(), &["add", "-A"]);
    git(pr.root(), &["commit", "-qm", "docs"]);
    pr.sync();
    let run = pr.review(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = posted_summary(&pr.gh.writes());
    assert!(
        summary.contains("3 other files changed: no rule or image check reads them"),
        "{summary}"
    );
    assert!(!summary.contains("README.md"), "{summary}");
    assert!(!summary.contains("not a Go or Rust file"), "{summary}");
}

#[test]
fn a_token_with_a_line_break_is_refused_before_it_reaches_the_log() {
    let mut pr = Pr::new(ADDED_GO);
    let forged = format!("{TOKEN}\n::warning::forged");
    pr.extra_env.push(("GITHUB_TOKEN".into(), forged));
    let run = pr.review(&["--fail-on", "never"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("contains a line break"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("::warning::forged") && !run.stderr.contains("forged"));
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    assert!(pr.gh.requests().is_empty(), "nothing sent to GitHub");
}
