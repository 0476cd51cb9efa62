//! `tollgate review` against the fake GitLab (tests/it/fake_gitlab.rs),
//! driven the way a GitLab CI merge request pipeline drives it: exactly the
//! predefined variables GitLab sets, no flags.

use super::common::{git, tollgate_env, write, Run};
use super::fake_gitlab::{diff_entry, FakeGitLab};
use super::github::{line_of, patch_of, rev, ADDED_GO, BASE_GO};
use serde_json::Value;
use std::path::Path;

const TOKEN: &str = "glpat-e2eFakeToken0123456789";
const JOB_TOKEN: &str = "glcbt-jobTokenValue0123456789";

pub(crate) struct Mr {
    dir: tempfile::TempDir,
    gitlab: FakeGitLab,
    /// The merge base, the target branch's tip and the MR head.
    base: String,
    start: String,
    pub(crate) head: String,
}

impl Mr {
    /// A repository with `main` and a checked-out `feature` branch that
    /// appends `added` to main.go, and a fake GitLab that knows the MR.
    pub(crate) fn new(added: &str) -> Mr {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        write(root, "main.go", BASE_GO.as_bytes());
        git(root, &["add", "."]);
        git(root, &["commit", "-qm", "base"]);
        git(root, &["checkout", "-qb", "feature"]);
        write(root, "main.go", format!("{BASE_GO}{added}").as_bytes());
        git(root, &["commit", "-qam", "feature"]);
        let mut mr = Mr {
            base: rev(root, "main"),
            start: rev(root, "main"),
            head: rev(root, "HEAD"),
            dir,
            gitlab: FakeGitLab::start(TOKEN),
        };
        mr.sync();
        mr
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Tells the fake the MR's latest version and diffs.
    fn sync(&mut self) {
        self.head = rev(self.root(), "feature");
        self.start = rev(self.root(), "main");
        self.base = git(self.root(), &["merge-base", "main", "feature"])
            .trim()
            .to_string();
        let diff = patch_of(self.root(), &self.start, &self.head, "main.go") + "\n";
        let (base, start, head) = (self.base.clone(), self.start.clone(), self.head.clone());
        self.gitlab.with(|s| {
            s.base_sha = base;
            s.start_sha = start;
            s.head_sha = head;
            s.diffs = vec![diff_entry("main.go", &diff)];
        });
    }

    /// The variables GitLab sets for a job in a merge request pipeline.
    pub(crate) fn pipeline_env(&self, event_type: &str, commit: &str) -> Vec<(String, String)> {
        let api = self.gitlab.api_url();
        let server = api.trim_end_matches("/api/v4").to_string();
        [
            ("CI", "true"),
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", server.as_str()),
            ("CI_API_V4_URL", api.as_str()),
            ("CI_PROJECT_ID", "42"),
            ("CI_PROJECT_PATH", "acme/app"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/acme/app"),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            (
                "CI_PIPELINE_URL",
                "https://gitlab.example.com/acme/app/-/pipelines/900",
            ),
            ("CI_COMMIT_SHA", commit),
            ("CI_MERGE_REQUEST_IID", "7"),
            ("CI_MERGE_REQUEST_ID", "70007"),
            ("CI_MERGE_REQUEST_PROJECT_ID", "42"),
            ("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "42"),
            ("CI_MERGE_REQUEST_EVENT_TYPE", event_type),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", self.base.as_str()),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature"),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
            ("CI_JOB_TOKEN", JOB_TOKEN),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// main moves on above the MR's lines, and `branch` merges the MR into
    /// it: what a merged-results pipeline or Jenkins' merge strategy builds.
    /// Returns the merge commit.
    fn merge_into_moved_main(&mut self, branch: &str) -> String {
        let root = self.root().to_path_buf();
        git(&root, &["checkout", "-q", "main"]);
        let moved = BASE_GO.replacen("package main\n", "package main\n\n// one\n// two\n", 1);
        write(&root, "main.go", moved.as_bytes());
        git(&root, &["commit", "-qam", "main moves on"]);
        self.sync();
        git(&root, &["checkout", "-q", "-b", branch, "main"]);
        git(&root, &["merge", "-q", "--no-edit", "feature"]);
        rev(&root, "HEAD")
    }

    /// The discussions sit on the MR head's lines of the two added findings.
    fn assert_on_head_lines(&self, posted: &[Value]) {
        let head_text = git(self.root(), &["show", &format!("{}:main.go", self.head)]);
        let mut lines: Vec<String> = posted
            .iter()
            .map(|d| d["position[new_line]"].as_str().unwrap().to_string())
            .collect();
        lines.sort();
        let mut expected = vec![
            line_of(&head_text, "g, _ := os.Open").to_string(),
            line_of(&head_text, "errors.New(fmt.Sprintf").to_string(),
        ];
        expected.sort();
        assert_eq!(lines, expected, "the head's lines, not the merge commit's");
        assert!(posted
            .iter()
            .all(|d| d["position[head_sha]"] == self.head.as_str()));
    }

    /// A review that exits 0, prints no secret, and whose every position GitLab took.
    fn review_posted(&self, env: &[(String, String)], args: &[&str]) {
        let run = self.review(env, args);
        assert_eq!(
            run.code, 0,
            "stdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert_no_secret(&run);
        let refused = self.gitlab.with(|s| s.refusals.clone());
        assert!(refused.is_empty(), "GitLab refused a position: {refused:?}");
    }

    pub(crate) fn review(&self, env: &[(String, String)], args: &[&str]) -> Run {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut all = vec!["review"];
        all.extend_from_slice(args);
        tollgate_env(self.root(), &all, &env)
    }
}

pub(crate) fn with_token(mut env: Vec<(String, String)>) -> Vec<(String, String)> {
    env.push(("TOLLGATE_GITLAB_TOKEN".into(), TOKEN.into()));
    env
}

fn discussions(writes: &[(String, String, Value)]) -> Vec<Value> {
    writes
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/merge_requests/7/discussions"))
        .map(|(_, _, b)| b.clone())
        .collect()
}

fn assert_no_secret(run: &Run) {
    for secret in [TOKEN, JOB_TOKEN] {
        assert!(
            !run.stderr.contains(secret) && !run.stdout.contains(secret),
            "a token was printed"
        );
    }
}

#[test]
fn a_merge_request_pipeline_reviews_with_gitlabs_own_variables_and_a_rerun_posts_nothing() {
    let mr = Mr::new(ADDED_GO);
    let env = with_token(mr.pipeline_env("detached", &mr.head));
    let args = ["--filter", "file", "--fail-on", "never"];
    mr.review_posted(&env, &args);
    let writes = mr.gitlab.writes();
    let posted = discussions(&writes);
    let text = std::fs::read_to_string(mr.root().join("main.go")).unwrap();
    let on = |rule: &str| {
        posted
            .iter()
            .find(|d| d["body"].as_str().unwrap().contains(rule))
            .unwrap_or_else(|| panic!("no discussion for {rule}: {posted:?}"))
    };
    let sprintf = on("go/errors-new-sprintf");
    let line = line_of(&text, "errors.New(fmt.Sprintf").to_string();
    assert_eq!(sprintf["position[new_line]"], line.as_str());
    assert!(
        sprintf.get("position[old_line]").is_none(),
        "an added line has no old number"
    );
    assert_eq!(sprintf["position[head_sha]"], mr.head.as_str());
    assert_eq!(sprintf["position[base_sha]"], mr.base.as_str());
    assert!(
        sprintf["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion:-0+0\n\treturn fmt.Errorf(\"bad %d\", n)\n```"),
        "{}",
        sprintf["body"]
    );
    let leak = line_of(&text, "g, _ := os.Open").to_string();
    assert_eq!(on("go/unclosed-file")["position[new_line]"], leak.as_str());
    // The old leak (line 10) is outside the diff: in the summary note only.
    assert!(
        posted.iter().all(|d| d["position[new_line]"] != "10"),
        "{posted:?}"
    );
    let summaries: Vec<&Value> = writes
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/merge_requests/7/notes"))
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(summaries.len(), 1, "{writes:?}");
    let summary = summaries[0]["body"].as_str().unwrap();
    assert!(
        summary.contains(&format!(
            "https://gitlab.example.com/acme/app/-/blob/{}/main.go#L10",
            mr.head
        )),
        "{summary}"
    );
    assert!(summary.contains("pipelines/900"), "{summary}");

    let before = mr.gitlab.writes().len();
    let again = mr.review(&env, &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(mr.gitlab.writes().len(), before, "a re-run writes nothing");
}

#[test]
fn a_merged_results_pipeline_comments_on_the_heads_lines() {
    let mut mr = Mr::new(ADDED_GO);
    let merge = mr.merge_into_moved_main("merged");
    let mut env = with_token(mr.pipeline_env("merged_result", &merge));
    env.push(("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA".into(), mr.head.clone()));
    env.push((
        "CI_MERGE_REQUEST_TARGET_BRANCH_SHA".into(),
        mr.start.clone(),
    ));
    mr.review_posted(&env, &["--fail-on", "never"]);
    mr.assert_on_head_lines(&discussions(&mr.gitlab.writes()));
}

#[test]
fn a_job_token_alone_says_what_to_create_and_the_gate_still_runs() {
    let mr = Mr::new(ADDED_GO);
    let env = mr.pipeline_env("detached", &mr.head);
    let run = mr.review(
        &env,
        &[
            "--fail-on",
            "warning",
            "--report",
            "codequality=gl-code-quality-report.json",
        ],
    );
    assert_eq!(run.code, 1, "the exit code follows fail_on: {}", run.stderr);
    assert_no_secret(&run);
    let said: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("job token"))
        .collect();
    assert_eq!(said.len(), 1, "one line: {}", run.stderr);
    assert!(said[0].contains("TOLLGATE_GITLAB_TOKEN") && said[0].contains("`api`"));
    assert!(mr.root().join("gl-code-quality-report.json").exists());
    assert!(
        mr.gitlab.requests().is_empty(),
        "nothing is sent with a job token"
    );
}

#[test]
fn a_jenkins_merge_request_build_reviews_on_gitlab_from_change_url_alone() {
    let mut mr = Mr::new(ADDED_GO);
    // Jenkins' "merge" strategy builds a merge GitLab never saw.
    let merge = mr.merge_into_moved_main("jenkins-merge");
    let change_url = format!("{}/acme/app/-/merge_requests/7", mr.gitlab.server.uri());
    let env: Vec<(String, String)> = [
        ("JENKINS_URL", "https://ci.example.com/"),
        ("BUILD_URL", "https://ci.example.com/job/app/job/MR-7/3/"),
        ("BRANCH_NAME", "MR-7"),
        ("CHANGE_ID", "7"),
        ("CHANGE_URL", change_url.as_str()),
        ("CHANGE_TARGET", "main"),
        ("CHANGE_BRANCH", "feature"),
        ("GIT_COMMIT", merge.as_str()),
        ("TOLLGATE_GITLAB_TOKEN", TOKEN),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    mr.review_posted(&env, &["--fail-on", "never"]);
    let writes = mr.gitlab.writes();
    assert!(
        writes
            .iter()
            .all(|(_, p, _)| p.starts_with("/api/v4/projects/acme%2Fapp/")),
        "the project from CHANGE_URL, by path: {writes:?}"
    );
    mr.assert_on_head_lines(&discussions(&writes));
    let summary = writes
        .iter()
        .find(|(m, p, _)| m == "POST" && p.ends_with("/notes"))
        .map(|(_, _, b)| b["body"].as_str().unwrap().to_string())
        .expect("a summary note");
    assert!(summary.contains("job/MR-7/3"), "{summary}");
}
