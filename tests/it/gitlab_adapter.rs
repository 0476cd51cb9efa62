//! The GitLab adapter against the fake GitLab, through the library: the
//! positions it sends, pagination, retries and rate limits, the summary
//! note, thread resolution, and what errors say.

use crate::fake_gitlab::{diff_entry, FakeGitLab, Injection, LINE_CODE_ERROR, ME, OTHER};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tollgate::github::context::Token;
use tollgate::gitlab::client::Client;
use tollgate::gitlab::context::{self, Overrides};
use tollgate::gitlab::forge::GitLab;
use tollgate::review::comments::Markers;
use tollgate::review::forge::{Forge, ForgeError};
use tollgate::review::patch;
use tollgate::review::plan::{Elsewhere, FileDiff, NewComment, Thread};

const TOKEN: &str = "glpat-test-secret";

fn client(url: &str, token: &str, limit: Duration) -> Client {
    Client::new(url, Token::new(token.into()).unwrap(), limit)
        .unwrap()
        .backoff(Duration::from_millis(20))
}

fn connect_to(fake: &FakeGitLab, url: &str, project: &str, mr: u64) -> Result<GitLab, ForgeError> {
    let overrides = Overrides {
        gitlab_url: Some(url.to_string()),
        project: Some(project.into()),
        mr: Some(mr),
    };
    let mr = context::merge_request(&overrides, &|_: &str| None).unwrap();
    let client = client(&mr.api_url, TOKEN, Duration::from_secs(60));
    fake.run(GitLab::connect(client, mr))
}

fn connect(fake: &FakeGitLab) -> GitLab {
    connect_to(fake, &fake.api_url(), "42", 7).unwrap()
}

fn comment(finding: usize, path: &str, line: usize) -> NewComment {
    NewComment {
        finding,
        path: path.into(),
        line,
        start_line: None,
        body: format!("finding {finding} <!-- tollgate:fingerprint={finding:016x} -->"),
    }
}

fn marked(fingerprint: u64) -> String {
    format!("⚠️ something <!-- tollgate:fingerprint={fingerprint:016x} -->")
}

fn posts(fake: &FakeGitLab) -> Vec<Value> {
    fake.writes()
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/discussions"))
        .map(|(_, _, body)| body)
        .collect()
}

fn gets(fake: &FakeGitLab, suffix: &str) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|(m, p, _)| m == "GET" && p.split('?').next().unwrap().ends_with(suffix))
        .map(|(_, p, _)| p)
        .collect()
}

/// `a.go`: new lines 10, 11 (context, old 10, 11), 12 (added), 13 (context,
/// old 12). `new.go`, renamed from `old.go`: 1 (context), 2 (added).
fn two_files(fake: &FakeGitLab) {
    let mut renamed = diff_entry("new.go", "@@ -1,2 +1,2 @@\n x\n-y\n+z\n");
    renamed["old_path"] = json!("old.go");
    renamed["renamed_file"] = json!(true);
    fake.with(|s| {
        s.diffs = vec![
            diff_entry("a.go", "@@ -10,3 +10,4 @@\n a\n b\n+c\n d\n"),
            renamed,
        ]
    });
}

#[test]
fn positions_name_the_version_both_paths_and_the_right_line_numbers() {
    let fake = FakeGitLab::start(TOKEN);
    two_files(&fake);
    let gitlab = connect(&fake);
    let files = fake.run(gitlab.files()).unwrap();
    let new = [
        comment(0, "a.go", 12),
        comment(1, "a.go", 13),
        comment(2, "new.go", 1),
        comment(3, "new.go", 2),
        comment(4, "a.go", 30),
        comment(5, "other.go", 1),
    ];
    let refused = fake.run(gitlab.post(&[], &new, &files.files)).unwrap();
    assert_eq!(
        refused,
        vec![(4, Elsewhere::NotInDiff), (5, Elsewhere::NotInDiff)],
        "lines off the diff are never guessed"
    );
    let posted = posts(&fake);
    assert_eq!(posted.len(), 4, "nothing is sent for a line off the diff");
    assert!(
        fake.with(|s| s.refusals.is_empty()),
        "{:?}",
        fake.with(|s| s.refusals.clone())
    );
    for body in &posted {
        assert_eq!(body["position[position_type]"], "text");
        assert_eq!(body["position[base_sha]"], "b".repeat(40));
        assert_eq!(body["position[start_sha]"], "5".repeat(40));
        assert_eq!(body["position[head_sha]"], "a".repeat(40));
    }
    let field = |i: usize, k: &str| posted[i].get(format!("position[{k}]")).cloned();
    // An added line: new_line only.
    assert_eq!(
        (field(0, "new_line"), field(0, "old_line")),
        (Some(json!("12")), None)
    );
    // A context line: both numbers, from the hunk.
    assert_eq!(
        (field(1, "new_line"), field(1, "old_line")),
        (Some(json!("13")), Some(json!("12")))
    );
    assert_eq!(
        (field(0, "new_path"), field(0, "old_path")),
        (Some(json!("a.go")), Some(json!("a.go")))
    );
    // A renamed file: both paths, always.
    assert_eq!(
        (field(2, "new_path"), field(2, "old_path")),
        (Some(json!("new.go")), Some(json!("old.go")))
    );
    assert_eq!(
        (field(2, "new_line"), field(2, "old_line")),
        (Some(json!("1")), Some(json!("1")))
    );
    assert_eq!(
        (field(3, "new_line"), field(3, "old_line")),
        (Some(json!("2")), None)
    );
    // CI_PROJECT_URL unset: links use the project's web URL from the API.
    assert_eq!(gitlab.project_url(), "https://gitlab.example.com/acme/app");
}

#[test]
fn a_refused_position_goes_to_the_summary_and_the_others_are_posted() {
    let fake = FakeGitLab::start(TOKEN);
    two_files(&fake);
    let gitlab = connect(&fake);
    // The diff the review anchored on says line 14 was added; GitLab's does not.
    let mut files = BTreeMap::new();
    files.insert(
        "a.go".to_string(),
        FileDiff {
            hunks: Some(patch::parse("@@ -10,3 +10,5 @@\n a\n b\n+c\n d\n+e\n").unwrap()),
            old_path: None,
        },
    );
    let new = [
        comment(0, "a.go", 12),
        comment(1, "a.go", 14),
        comment(2, "a.go", 13),
    ];
    let refused = fake.run(gitlab.post(&[], &new, &files)).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, 1);
    match &refused[0].1 {
        Elsewhere::Refused(why) => assert!(why.contains("line_code"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(posts(&fake).len(), 3);
    assert_eq!(
        fake.with(|s| s.refusals.clone()),
        vec![LINE_CODE_ERROR.to_string()]
    );
    assert_eq!(fake.with(|s| s.discussions.len()), 2);
}

#[test]
fn listings_are_followed_past_100_discussions_and_across_diff_pages() {
    let fake = FakeGitLab::start(TOKEN);
    fake.with(|s| {
        s.diffs = (0..130)
            .map(|i| diff_entry(&format!("f{i}.go"), "@@ -0,0 +1 @@\n+x\n"))
            .collect()
    });
    for i in 0..150 {
        fake.seed_discussion(ME, &marked(i));
    }
    let gitlab = connect(&fake);
    let files = fake.run(gitlab.files()).unwrap();
    assert_eq!(files.files.len(), 130);
    assert!(files.files.contains_key("f129.go"));
    let diff_pages = gets(&fake, "/diffs");
    assert_eq!(diff_pages.len(), 2, "{diff_pages:?}");
    assert!(
        diff_pages.iter().all(|p| p.contains("per_page=100")),
        "{diff_pages:?}"
    );
    assert!(diff_pages[1].contains("page=2"), "{diff_pages:?}");
    let earlier = fake
        .run(gitlab.earlier(&Markers::default(), &mut Vec::new()))
        .unwrap();
    assert_eq!(earlier.comments.len(), 150);
    assert!(gets(&fake, "/discussions").len() >= 2);
}

#[test]
fn only_the_tokens_own_notes_count_a_pasted_marker_changes_nothing() {
    let fake = FakeGitLab::start(TOKEN);
    let markers = Markers::default();
    let (ours, ours_note) = fake.seed_discussion(ME, &marked(1));
    fake.seed_discussion(OTHER, &marked(2));
    fake.seed_discussion(OTHER, &format!("fake summary {}", markers.summary()));
    // A person resolved our thread: tollgate must not reopen it.
    fake.with(|s| {
        let d = s
            .discussions
            .iter_mut()
            .find(|d| d["id"] == ours.as_str())
            .unwrap();
        d["notes"][0]["resolved"] = json!(true);
        d["notes"][0]["resolved_by"] = json!({"id": OTHER, "username": "someone"});
    });
    let gitlab = connect(&fake);
    let earlier = fake.run(gitlab.earlier(&markers, &mut Vec::new())).unwrap();
    assert_eq!(earlier.comments.len(), 1);
    let existing = &earlier.comments[0];
    assert_eq!(
        (existing.id, existing.fingerprint.as_str()),
        (ours_note, "0000000000000001")
    );
    assert_eq!(
        existing.thread,
        Some(Thread {
            id: ours,
            resolved: true,
            resolved_by_us: false
        })
    );
    assert!(
        earlier.summary.is_none(),
        "another user's summary marker is not ours"
    );
    // Another review id sees nothing of the default one's.
    let other_id = Markers::new(Some("api")).unwrap();
    let theirs = fake
        .run(gitlab.earlier(&other_id, &mut Vec::new()))
        .unwrap();
    assert!(theirs.comments.is_empty());
}

#[test]
fn threads_are_resolved_and_reopened_and_remember_who_resolved_them() {
    let fake = FakeGitLab::start(TOKEN);
    let (id, _) = fake.seed_discussion(ME, &marked(1));
    let gitlab = connect(&fake);
    let markers = Markers::default();
    let thread = Thread {
        id: id.clone(),
        resolved: false,
        resolved_by_us: false,
    };
    fake.run(gitlab.resolve(&thread)).unwrap();
    let after = fake.run(gitlab.earlier(&markers, &mut Vec::new())).unwrap();
    assert_eq!(
        after.comments[0].thread,
        Some(Thread {
            id: id.clone(),
            resolved: true,
            resolved_by_us: true
        })
    );
    fake.run(gitlab.reopen(&thread)).unwrap();
    let writes: Vec<(String, String)> = fake.writes().into_iter().map(|(m, p, _)| (m, p)).collect();
    assert_eq!(
        writes,
        vec![
            (
                "PUT".to_string(),
                format!("/api/v4/projects/42/merge_requests/7/discussions/{id}?resolved=true")
            ),
            (
                "PUT".to_string(),
                format!("/api/v4/projects/42/merge_requests/7/discussions/{id}?resolved=false")
            ),
        ]
    );
    let edited = fake.run(gitlab.earlier(&markers, &mut Vec::new())).unwrap();
    assert!(!edited.comments[0].thread.as_ref().unwrap().resolved);
    fake.run(gitlab.edit(&edited.comments[0], &format!("fixed {}", marked(1))))
        .unwrap();
    let note = fake.with(|s| s.discussions[0]["notes"][0]["body"].clone());
    assert!(note.as_str().unwrap().starts_with("fixed "), "{note}");
}

#[test]
fn the_summary_note_is_created_then_edited_in_place_then_deleted() {
    let fake = FakeGitLab::start(TOKEN);
    let gitlab = connect(&fake);
    let markers = Markers::default();
    fake.run(gitlab.create_summary(&format!("first {}", markers.summary())))
        .unwrap();
    let earlier = fake.run(gitlab.earlier(&markers, &mut Vec::new())).unwrap();
    let (id, body) = earlier.summary.expect("the summary is found by its marker");
    assert!(body.starts_with("first"));
    fake.run(gitlab.edit_summary(id, &format!("second {}", markers.summary())))
        .unwrap();
    let again = fake.run(gitlab.earlier(&markers, &mut Vec::new())).unwrap();
    assert_eq!(again.summary.as_ref().map(|s| s.0), Some(id));
    assert!(again.summary.unwrap().1.starts_with("second"));
    fake.run(gitlab.delete_summary(id)).unwrap();
    let writes: Vec<(String, String)> = fake.writes().into_iter().map(|(m, p, _)| (m, p)).collect();
    let notes = "/api/v4/projects/42/merge_requests/7/notes";
    assert_eq!(
        writes,
        vec![
            ("POST".to_string(), notes.to_string()),
            ("PUT".to_string(), format!("{notes}/{id}")),
            ("DELETE".to_string(), format!("{notes}/{id}")),
        ]
    );
    assert!(fake.with(|s| s.discussions.is_empty()));
}

#[test]
fn rate_limits_are_waited_out_with_and_without_retry_after() {
    let fake = FakeGitLab::start(TOKEN);
    let gitlab = connect(&fake);
    fake.inject(
        Injection::once("GET", "/user", 429, json!("Retry later")).header("Retry-After", "1"),
    );
    fake.inject(Injection::once("GET", "/discussions", 429, json!("Retry later")).times(2));
    let started = Instant::now();
    fake.run(gitlab.earlier(&Markers::default(), &mut Vec::new()))
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is honoured"
    );
    assert_eq!(gets(&fake, "/user").len(), 2);
    assert_eq!(
        gets(&fake, "/discussions").len(),
        3,
        "backs off when GitLab names no wait"
    );
}

#[test]
fn a_rate_limit_past_the_time_limit_fails_at_once() {
    let fake = FakeGitLab::start(TOKEN);
    let mr = context::merge_request(
        &Overrides {
            gitlab_url: Some(fake.api_url()),
            project: Some("42".into()),
            mr: Some(7),
        },
        &|_: &str| None,
    )
    .unwrap();
    fake.inject(
        Injection::once("GET", "/versions", 429, json!("Retry later"))
            .header("Retry-After", "3600"),
    );
    let started = Instant::now();
    let err = fake
        .run(GitLab::connect(
            client(&mr.api_url, TOKEN, Duration::from_secs(60)),
            mr,
        ))
        .err()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it does not wait an hour"
    );
    assert_eq!(err.status, Some(429), "{err}");
    assert!(err.detail.contains("rate limited"), "{err}");
}

#[test]
fn a_get_is_retried_on_5xx_and_a_post_is_not() {
    let fake = FakeGitLab::start(TOKEN);
    two_files(&fake);
    fake.inject(Injection::once("GET", "/diffs", 502, json!("Bad gateway")));
    let gitlab = connect(&fake);
    let files = fake.run(gitlab.files()).unwrap();
    assert_eq!(files.files.len(), 2);
    assert_eq!(gets(&fake, "/diffs").len(), 2);
    fake.inject(Injection::once(
        "POST",
        "/discussions",
        500,
        json!({"message": "500 Internal Server Error"}),
    ));
    let err = fake
        .run(gitlab.post(&[], &[comment(0, "a.go", 12)], &files.files))
        .unwrap_err();
    assert_eq!(err.status, Some(500));
    assert_eq!(
        posts(&fake).len(),
        1,
        "a write that may have landed is not sent twice"
    );
}

#[test]
fn auth_and_lookup_failures_say_what_they_usually_mean() {
    let fake = FakeGitLab::start(TOKEN);
    let overrides = Overrides {
        gitlab_url: Some(fake.api_url()),
        project: Some("42".into()),
        mr: Some(7),
    };
    let mr = context::merge_request(&overrides, &|_: &str| None).unwrap();
    let bad = fake
        .run(GitLab::connect(
            client(&mr.api_url, "glpat-wrong-secret", Duration::from_secs(60)),
            mr,
        ))
        .err()
        .unwrap();
    assert_eq!(bad.status, Some(401));
    assert!(bad.detail.contains("`api` scope"), "{bad}");
    assert!(!bad.detail.contains("glpat-wrong-secret"), "{bad}");
    let missing = connect_to(&fake, &fake.api_url(), "42", 8).err().unwrap();
    assert_eq!(missing.status, Some(404));
    assert!(missing.detail.contains("--mr"), "{missing}");
    let gitlab = connect(&fake);
    fake.inject(Injection::once(
        "PUT",
        "/discussions/abc",
        403,
        json!({"message": "403 Forbidden"}),
    ));
    let thread = Thread {
        id: "abc".into(),
        resolved: false,
        resolved_by_us: false,
    };
    let forbidden = fake.run(gitlab.resolve(&thread)).unwrap_err();
    assert_eq!(forbidden.status, Some(403));
    assert!(forbidden.detail.contains("Developer"), "{forbidden}");
}

#[test]
fn an_instance_under_a_path_prefix_and_a_project_path_work() {
    let fake = FakeGitLab::start_at(TOKEN, "/gitlab");
    two_files(&fake);
    let instance = format!("{}/gitlab", fake.server.uri());
    let gitlab = connect_to(&fake, &instance, "acme/app", 7).unwrap();
    let files = fake.run(gitlab.files()).unwrap();
    assert_eq!(files.files.len(), 2);
    let paths: Vec<String> = fake.requests().into_iter().map(|(_, p, _)| p).collect();
    assert!(
        paths.iter().all(|p| p.starts_with("/gitlab/api/v4/")),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/gitlab/api/v4/projects/acme%2Fapp/merge_requests/7/diffs")),
        "{paths:?}"
    );
    assert_eq!(gitlab.project_url(), "https://gitlab.example.com/acme/app");
}

#[test]
fn a_gitlab_without_the_diffs_endpoint_is_read_through_its_changes() {
    let fake = FakeGitLab::start(TOKEN);
    two_files(&fake);
    let gitlab = connect(&fake);
    // GitLab before 15.7 has no `…/diffs`.
    fake.inject(Injection::once(
        "GET",
        "/diffs",
        404,
        json!({"error": "404 Not Found"}),
    ));
    let files = fake.run(gitlab.files()).unwrap();
    assert_eq!(
        files.files.keys().collect::<Vec<_>>(),
        vec!["a.go", "new.go"]
    );
    assert_eq!(files.files["new.go"].old_path.as_deref(), Some("old.go"));
    assert_eq!(gets(&fake, "/changes").len(), 1);
}
