//! `tollgate review` as a Jenkins multibranch pipeline runs it: a `sh` step
//! with the `CHANGE_*` variables of a pull/merge request build, the token
//! from `withCredentials`, and `GIT_COMMIT` a merge Jenkins made locally.

use super::common::{git, tollgate_env, Run};
use super::github::{line_of, merge_checkout, posted_summary, posts_to, rev, Pr, ADDED_GO, TOKEN};

const BUILD_URL: &str = "https://ci.example.com/job/app/job/PR-7/3/";

/// The variables a Jenkins PR build of acme/app#7 sets, with GitHub's API
/// pointed at the fake.
fn jenkins_env(pr: &Pr, change_url: &str) -> Vec<(String, String)> {
    let merge = rev(pr.root(), "HEAD");
    [
        ("JENKINS_URL", "https://ci.example.com/"),
        ("BUILD_URL", BUILD_URL),
        ("BRANCH_NAME", "PR-7"),
        ("CHANGE_ID", "7"),
        ("CHANGE_URL", change_url),
        ("CHANGE_TARGET", "main"),
        ("CHANGE_BRANCH", "feature"),
        ("GIT_COMMIT", &merge),
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_API_URL", &pr.gh.uri()),
        ("GITHUB_GRAPHQL_URL", &format!("{}/graphql", pr.gh.uri())),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn jenkins_review(pr: &Pr, env: &[(String, String)], args: &[&str]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut all = vec!["review"];
    all.extend_from_slice(args);
    tollgate_env(pr.root(), &all, &env)
}

#[test]
fn a_jenkins_pr_build_of_a_local_merge_comments_on_the_github_heads_lines() {
    let mut pr = Pr::new(ADDED_GO);
    // Jenkins' "merge" strategy: GIT_COMMIT is a merge GitHub never saw.
    merge_checkout(&mut pr);
    let env = jenkins_env(&pr, "https://github.com/acme/app/pull/7");
    // The configuration comes from the base GitHub names (no event here).
    let run = jenkins_review(&pr, &env, &["--fail-on", "never", "--config-from-base"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN));
    assert!(
        !run.stdout.contains("::add-mask::"),
        "no Actions commands outside Actions"
    );
    let writes = pr.gh.writes();
    let review = &posts_to(&writes, "POST", "/pulls/7/reviews")[0];
    assert_eq!(
        review["commit_id"],
        pr.head.as_str(),
        "the head GitHub knows"
    );
    let head_text = git(pr.root(), &["show", &format!("{}:main.go", pr.head)]);
    let mut lines: Vec<u64> = review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["line"].as_u64().unwrap())
        .collect();
    lines.sort();
    let mut expected = vec![
        line_of(&head_text, "g, _ := os.Open"),
        line_of(&head_text, "errors.New(fmt.Sprintf"),
    ];
    expected.sort();
    assert_eq!(lines, expected, "the head's lines, not the local merge's");
    let summary = posted_summary(&writes);
    assert!(
        summary.contains(&format!("[build]({BUILD_URL})")),
        "{summary}"
    );
    // A re-run posts nothing twice.
    let again = jenkins_review(&pr, &env, &["--fail-on", "never", "--config-from-base"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        posts_to(&pr.gh.writes(), "POST", "/pulls/7/reviews").len(),
        1
    );
}

#[test]
fn a_change_url_that_disagrees_with_change_id_posts_nothing() {
    let pr = Pr::new(ADDED_GO);
    let env = jenkins_env(&pr, "https://github.com/acme/app/pull/8");
    let run = jenkins_review(&pr, &env, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("CHANGE_ID is 7"), "{}", run.stderr);
    assert!(pr.gh.writes().is_empty());
}

#[test]
fn a_jenkins_branch_build_says_there_is_nothing_to_review() {
    let pr = Pr::new(ADDED_GO);
    let env: Vec<(String, String)> = jenkins_env(&pr, "")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("CHANGE_"))
        .collect();
    let run = jenkins_review(&pr, &env, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("branch build"), "{}", run.stderr);
    assert!(pr.gh.requests().is_empty(), "nothing asked of GitHub");
}
