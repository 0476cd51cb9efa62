//! The review core carried out on GitLab (the fake), run after run: a re-run
//! posts nothing, a fixed finding's discussion is resolved and says so while
//! a look-alike elsewhere stays open, a finding that comes back reopens its
//! thread, a deleted comment stays deleted, and fixes are GitLab suggestions.

use crate::fake_gitlab::{diff_entry, FakeGitLab};
use serde_json::Value;
use std::time::Duration;
use tollgate::finding::{Finding, Fix, Position, Severity};
use tollgate::github::context::Token;
use tollgate::gitlab::client::Client;
use tollgate::gitlab::context::{self, Overrides};
use tollgate::gitlab::forge::GitLab;
use tollgate::review::comments::Markers;
use tollgate::review::publish::{Inputs, OnClean, Published, Review, Settings};

const TOKEN: &str = "glpat-review-secret";

/// `a.go`: new lines 10, 11 (context), 12, 13, 14 (added), 15 (context, old 12).
const DIFF: &str = "@@ -10,3 +10,6 @@\n a\n b\n+c\n+d\n+e\n f\n";

fn finding(line: usize, fingerprint: &str) -> Finding {
    Finding {
        rule: "go/unchecked-error".into(),
        severity: Severity::Warning,
        path: "a.go".into(),
        start: Position { line, column: 1 },
        end: Position { line, column: 5 },
        message: "the error is dropped".into(),
        fingerprint: fingerprint.into(),
        fix: None,
        snippet: String::new(),
        suppressed: false,
    }
}

struct Setup {
    fake: FakeGitLab,
    gitlab: GitLab,
    settings: Settings,
}

fn setup() -> Setup {
    let fake = FakeGitLab::start(TOKEN);
    fake.with(|s| s.diffs = vec![diff_entry("a.go", DIFF)]);
    let overrides = Overrides {
        gitlab_url: Some(fake.api_url()),
        project: Some("42".into()),
        mr: Some(7),
    };
    let mr = context::merge_request(&overrides, &|_: &str| None).unwrap();
    let client = Client::new(
        &mr.api_url,
        Token::new(TOKEN.into()).unwrap(),
        Duration::from_secs(60),
    )
    .unwrap();
    let gitlab = fake.run(GitLab::connect(client, mr)).unwrap();
    let settings = Settings {
        markers: Markers::default(),
        max_comments: 30,
        on_clean: OnClean::Keep,
    };
    Setup {
        fake,
        gitlab,
        settings,
    }
}

impl Setup {
    fn review(&self, findings: &[Finding]) -> Published {
        let review = Review {
            forge: &self.gitlab,
            head_sha: self.gitlab.head_sha(),
            run: Some((
                "pipeline",
                "https://gitlab.example.com/acme/app/-/pipelines/9",
            )),
            environment: None,
            settings: &self.settings,
        };
        self.fake
            .run(review.publish(Inputs {
                findings,
                files: None,
                notes: &[],
                rule_url: &|_| None,
                line_text: &|_, _| None,
                outcome: tollgate::review::summary::Outcome::Passed,
            }))
            .unwrap()
    }

    /// The writes since the last call, as (method, path after the MR, body).
    fn writes(&self) -> Vec<(String, String, Value)> {
        self.fake
            .new_writes()
            .into_iter()
            .map(|(m, p, b)| {
                let rest = p
                    .split_once("/merge_requests/7")
                    .map_or(p.clone(), |(_, r)| r.to_string());
                (m, rest, b)
            })
            .collect()
    }

    fn discussion_of(&self, fingerprint: &str) -> Value {
        self.fake.with(|s| {
            s.discussions
                .iter()
                .find(|d| {
                    d["notes"][0]["body"]
                        .as_str()
                        .is_some_and(|b| b.contains(&format!("fingerprint={fingerprint} ")))
                })
                .cloned()
                .unwrap_or(Value::Null)
        })
    }
}

fn kinds(writes: &[(String, String, Value)]) -> Vec<String> {
    writes
        .iter()
        .map(|(m, p, _)| format!("{m} {}", p.split('?').next().unwrap_or_default()))
        .collect()
}

#[test]
fn a_rerun_posts_nothing_and_a_fixed_finding_is_resolved_while_its_lookalike_stays_open() {
    let s = setup();
    let (a, b) = (
        finding(12, "aaaa000000000001"),
        finding(15, "bbbb000000000002"),
    );
    let first = s.review(&[a.clone(), b.clone()]);
    assert_eq!(first.new_comments, 2);
    let writes = s.writes();
    assert_eq!(
        kinds(&writes),
        vec!["POST /discussions", "POST /discussions", "POST /notes"]
    );
    // The context line carries both numbers.
    let on_b = &writes[1].2;
    assert_eq!(
        (
            on_b["position[new_line]"].as_str(),
            on_b["position[old_line]"].as_str()
        ),
        (Some("15"), Some("12"))
    );

    let again = s.review(&[a.clone(), b.clone()]);
    assert_eq!(
        (again.new_comments, again.kept, again.summary),
        (0, 2, "unchanged")
    );
    assert!(s.writes().is_empty(), "a re-run writes nothing");

    // `a` is fixed; `c` has the same rule and text in another function.
    let c = finding(13, "cccc000000000003");
    let third = s.review(&[b.clone(), c.clone()]);
    assert_eq!((third.new_comments, third.kept, third.resolved), (1, 1, 1));
    let fixed_id = s.discussion_of("aaaa000000000001")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let writes = kinds(&s.writes());
    assert!(
        writes.contains(&format!("PUT /discussions/{fixed_id}")),
        "{writes:?}"
    );
    let fixed = s.discussion_of("aaaa000000000001");
    assert_eq!(fixed["notes"][0]["resolved"], true);
    assert!(
        fixed["notes"][0]["body"]
            .as_str()
            .unwrap()
            .contains("Fixed in"),
        "GitLab shows a resolved thread's text: it says fixed"
    );
    for open in ["bbbb000000000002", "cccc000000000003"] {
        assert_eq!(
            s.discussion_of(open)["notes"][0]["resolved"],
            false,
            "{open}"
        );
    }

    // `a` comes back: its thread is reopened, not posted twice.
    let back = s.review(&[a.clone(), b.clone(), c.clone()]);
    assert_eq!(back.new_comments, 0, "{back:?}");
    let writes = s.writes();
    assert!(
        writes
            .iter()
            .any(|(m, p, _)| m == "PUT" && p.ends_with("?resolved=false")),
        "{:?}",
        kinds(&writes)
    );
    assert!(!kinds(&writes).contains(&"POST /discussions".to_string()));
    assert_eq!(
        s.discussion_of("aaaa000000000001")["notes"][0]["resolved"],
        false
    );
    assert_eq!(
        s.fake.with(|st| st
            .discussions
            .iter()
            .filter(|d| d["individual_note"] == true)
            .count()),
        1,
        "one summary note, edited in place"
    );
}

#[test]
fn a_deleted_comment_stays_deleted_and_fixes_are_gitlab_suggestions() {
    let s = setup();
    let mut a = finding(13, "aaaa000000000001");
    a.start.line = 12;
    a.fix = Some(Fix {
        start: Position {
            line: 12,
            column: 1,
        },
        end: Position {
            line: 13,
            column: 2,
        },
        replacement: "x".into(),
        new_lines: Some("c2\nd2".into()),
    });
    s.review(std::slice::from_ref(&a));
    let writes = s.writes();
    let body = writes[0].2["body"].as_str().unwrap();
    assert!(body.contains("```suggestion:-1+0\nc2\nd2\n```"), "{body}");
    // Anchored on the last line of the two it replaces.
    assert_eq!(writes[0].2["position[new_line]"], "13");
    // A person deletes the comment: the next run does not post it again.
    s.fake
        .with(|st| st.discussions.retain(|d| d["individual_note"] == true));
    let next = s.review(std::slice::from_ref(&a));
    assert_eq!((next.new_comments, next.elsewhere), (0, 1));
    assert!(!kinds(&s.writes()).contains(&"POST /discussions".to_string()));
}
