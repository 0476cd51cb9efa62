//! `tollgate::jira::sync` against a local Jira Cloud and Data Center: the
//! transitions it takes, the one comment per change and event, the bodies
//! and credentials each flavour gets, and a one-line reason for each failure,
//! asserted on the requests the fake recorded.

use super::fake_jira::{base64, FakeJira, Flavor, Injection, EMAIL};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tollgate::finding::Severity;
use tollgate::jira::{
    Change, Checked, Credentials, Deployment, Event, IssueOutcome, JiraConfig, JiraError, OnEvent,
    OnEvents, Options, Outcome,
};

const TOKEN: &str = "jira-s3cr3t-t0ken";

fn on(status: Option<&str>) -> Option<OnEvent> {
    Some(OnEvent {
        status: status.map(String::from),
        transition: None,
        comment: Some(true),
    })
}

fn config(deployment: Option<Deployment>) -> JiraConfig {
    JiraConfig {
        deployment,
        on: Some(OnEvents {
            opened: on(Some("In Review")),
            updated: None,
            merged: on(Some("Done")),
            failed: on(None),
        }),
        ..JiraConfig::default()
    }
}

fn deployment(flavor: Flavor) -> Option<Deployment> {
    Some(match flavor {
        Flavor::Cloud => Deployment::Cloud,
        Flavor::DataCenter => Deployment::DataCenter,
    })
}

fn credentials(flavor: Flavor, token: &str) -> Credentials {
    match flavor {
        Flavor::Cloud => Credentials::new(token.into(), Some(EMAIL.into())),
        Flavor::DataCenter => Credentials::new(token.into(), None),
    }
}

fn change(run: u32) -> Change {
    Change {
        id: "github.com/acme/shop#12".into(),
        label: "PR #12".into(),
        title: Some("SHOP-1: checkout [~admin] {noformat}".into()),
        url: Some("https://github.com/acme/shop/pull/12".into()),
        run: Some((
            format!("https://github.com/acme/shop/actions/runs/{run}"),
            "workflow run".into(),
        )),
        checked: Checked {
            passed: true,
            findings: vec![(Severity::Warning, 2)],
            environment: Some("prod".into()),
            images_passed: vec!["registry.example.com/shop:1.4.2".into()],
        },
    }
}

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| k.to_string()).collect()
}

struct Sync<'a> {
    fake: &'a FakeJira,
    config: JiraConfig,
    token: String,
    dry_run: bool,
}

impl<'a> Sync<'a> {
    fn new(fake: &'a FakeJira) -> Sync<'a> {
        Sync {
            fake,
            config: config(deployment(fake.flavor)),
            token: TOKEN.into(),
            dry_run: false,
        }
    }

    fn run(
        &self,
        keys: &[String],
        event: Event,
        change: &Change,
    ) -> Result<Vec<IssueOutcome>, JiraError> {
        let options = Options {
            base_url: self.fake.url(),
            dry_run: self.dry_run,
            time_limit: Duration::from_secs(60),
        };
        let credentials = credentials(self.fake.flavor, &self.token);
        self.fake.run(tollgate::jira::sync(
            &self.config,
            &credentials,
            &options,
            keys,
            event,
            change,
        ))
    }
}

fn outcome<'a>(outcomes: &'a [IssueOutcome], key: &str) -> &'a IssueOutcome {
    outcomes.iter().find(|o| o.key == key).unwrap()
}

fn paths(fake: &FakeJira, method: &str) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == method)
        .map(|r| r.path)
        .collect()
}

fn adf_text(node: &Value) -> String {
    if let Some(text) = node["text"].as_str() {
        return text.to_string();
    }
    node["content"]
        .as_array()
        .map(|c| c.iter().map(adf_text).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[test]
fn cloud_takes_the_transition_to_the_status_with_basic_auth_and_adf() {
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    fake.add_issue("SHOP-1", "In Progress");
    fake.add_issue("SHOP-2", "in review");
    let outcomes = Sync::new(&fake)
        .run(&keys(&["SHOP-1", "SHOP-2"]), Event::Opened, &change(1))
        .unwrap();

    let moved = outcome(&outcomes, "SHOP-1");
    assert_eq!(moved.outcome, Outcome::Moved, "{moved:?}");
    assert_eq!(moved.status_before.as_deref(), Some("In Progress"));
    assert_eq!(moved.status_after.as_deref(), Some("In Review"));
    assert_eq!(moved.transition.as_deref(), Some("Send to review (21)"));
    assert_eq!(moved.comment.as_deref(), Some("created"));
    assert_eq!(fake.issue("SHOP-1").status, "In Review");
    // Already there (the name matched case-insensitively): no transition.
    let stayed = outcome(&outcomes, "SHOP-2");
    assert_eq!(stayed.outcome, Outcome::Unchanged, "{stayed:?}");
    assert_eq!(stayed.transition, None);

    let transitions: Vec<_> = fake
        .writes()
        .into_iter()
        .filter(|r| r.path.ends_with("/transitions"))
        .collect();
    assert_eq!(transitions.len(), 1, "{transitions:?}");
    assert_eq!(transitions[0].path, "/rest/api/3/issue/SHOP-1/transitions");
    assert_eq!(transitions[0].body, json!({"transition": {"id": "21"}}));
    assert!(paths(&fake, "GET")
        .iter()
        .all(|p| p.starts_with("/rest/api/3/")));
    let basic = format!("Basic {}", base64(format!("{EMAIL}:{TOKEN}").as_bytes()));
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.authorization.as_deref() == Some(basic.as_str())));

    // The comment is an ADF document with a linked change and the hostile title as plain text.
    let comment = &fake.issue("SHOP-1").comments[0];
    let body = &comment["body"];
    assert_eq!(body["type"], "doc");
    let head = &body["content"][0]["content"];
    assert_eq!(head[0]["text"], "PR #12");
    assert_eq!(
        head[0]["marks"][0]["attrs"]["href"],
        "https://github.com/acme/shop/pull/12"
    );
    assert_eq!(head[2]["text"], "SHOP-1: checkout [~admin] {noformat}");
    let text = adf_text(body);
    assert!(text.contains("workflow run"), "{text}");
    assert!(text.contains("2 warning"), "{text}");
    assert!(text.contains("registry.example.com/shop:1.4.2"), "{text}");
    assert_eq!(comment["properties"][0]["key"], "tollgate");
    assert_eq!(comment["properties"][0]["value"]["event"], "opened");
}

#[test]
fn data_center_uses_bearer_api_v2_and_escaped_wiki_markup() {
    let fake = FakeJira::start_at(Flavor::DataCenter, TOKEN, "/jira");
    fake.add_issue("SHOP-1", "To Do");
    let mut sync = Sync::new(&fake);
    // Detected from serverInfo, not configured.
    sync.config.deployment = None;
    fake.with(|s| s.dc_type = "DataCenter".into());
    let outcomes = sync
        .run(&keys(&["SHOP-1"]), Event::Merged, &change(1))
        .unwrap();
    assert_eq!(outcomes[0].outcome, Outcome::Moved, "{outcomes:?}");
    assert_eq!(outcomes[0].transition.as_deref(), Some("Finish (31)"));
    assert_eq!(fake.issue("SHOP-1").status, "Done");

    let requests = fake.requests();
    assert_eq!(requests[0].path, "/rest/api/2/serverInfo");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.path.contains("serverInfo"))
            .count(),
        1
    );
    assert!(requests[1..]
        .iter()
        .all(|r| r.path.starts_with("/rest/api/2/")));
    let bearer = format!("Bearer {TOKEN}");
    assert!(requests
        .iter()
        .all(|r| r.authorization.as_deref() == Some(bearer.as_str())));

    let body = fake.issue("SHOP-1").comments[0]["body"].clone();
    let body = body.as_str().expect("a wiki-markup string");
    assert!(
        body.starts_with("[PR #12|https://github.com/acme/shop/pull/12] “SHOP-1:\u{200B} checkout \\[\\~admin\\] \\{noformat\\}” was merged."),
        "{body}"
    );
    assert!(
        body.contains("tollgate · github.com/acme/shop#12 · merged"),
        "{body}"
    );
}

#[test]
fn one_comment_per_change_and_event_across_reruns() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let fake = FakeJira::start(flavor, TOKEN);
        fake.add_issue("SHOP-1", "To Do");
        let sync = Sync::new(&fake);
        let first = sync
            .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
            .unwrap();
        assert_eq!(first[0].comment.as_deref(), Some("created"), "{flavor:?}");

        // The same run again: nothing is written at all.
        fake.reset_requests();
        let again = sync
            .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
            .unwrap();
        assert_eq!(again[0].outcome, Outcome::Unchanged, "{flavor:?} {again:?}");
        assert_eq!(again[0].comment.as_deref(), Some("unchanged"));
        assert!(fake.writes().is_empty(), "{flavor:?}: {:?}", fake.writes());

        // A re-run in another CI run edits the comment in place.
        fake.reset_requests();
        let rerun = sync
            .run(&keys(&["SHOP-1"]), Event::Opened, &change(2))
            .unwrap();
        assert_eq!(rerun[0].comment.as_deref(), Some("updated"), "{flavor:?}");
        let writes = fake.writes();
        assert_eq!(writes.len(), 1, "{flavor:?}: {writes:?}");
        assert_eq!(writes[0].method, "PUT");
        let comments = fake.issue("SHOP-1").comments;
        assert_eq!(comments.len(), 1, "{flavor:?}");
        assert!(comments[0]["body"].to_string().contains("runs/2"));

        // Another event of the same change gets its own comment.
        let merged = sync
            .run(&keys(&["SHOP-1"]), Event::Merged, &change(2))
            .unwrap();
        assert_eq!(merged[0].comment.as_deref(), Some("created"), "{flavor:?}");
        assert_eq!(fake.issue("SHOP-1").comments.len(), 2, "{flavor:?}");
        // And it too is found again.
        let merged = sync
            .run(&keys(&["SHOP-1"]), Event::Merged, &change(2))
            .unwrap();
        assert_eq!(
            merged[0].comment.as_deref(),
            Some("unchanged"),
            "{flavor:?}"
        );
        assert_eq!(fake.issue("SHOP-1").comments.len(), 2, "{flavor:?}");
    }
}

#[test]
fn a_marker_pasted_by_someone_else_counts_for_nothing() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let fake = FakeJira::start(flavor, TOKEN);
        fake.add_issue("SHOP-1", "In Review");
        // Someone copies our comment, footer and property included.
        let original = FakeJira::start(flavor, TOKEN);
        original.add_issue("SHOP-1", "In Review");
        Sync::new(&original)
            .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
            .unwrap();
        let copied = original.issue("SHOP-1").comments[0].clone();
        fake.seed_comment(
            "SHOP-1",
            false,
            copied["body"].clone(),
            copied["properties"].clone(),
        );

        let outcomes = Sync::new(&fake)
            .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
            .unwrap();
        assert_eq!(
            outcomes[0].comment.as_deref(),
            Some("created"),
            "{flavor:?}"
        );
        let writes = fake.writes();
        assert_eq!(writes.len(), 1, "{flavor:?}: {writes:?}");
        assert_eq!(writes[0].method, "POST");
    }
}

#[test]
fn comments_are_read_page_by_page() {
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    fake.add_issue("SHOP-1", "In Review");
    Sync::new(&fake)
        .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
        .unwrap();
    // Our comment ends up fifth; Jira hands out two a page.
    let ours = fake.with(|s| s.issues.get_mut("SHOP-1").unwrap().comments.remove(0));
    for n in 0..4 {
        fake.seed_comment(
            "SHOP-1",
            n % 2 == 0,
            json!({"type": "doc", "version": 1, "content": []}),
            Value::Null,
        );
    }
    fake.with(|s| {
        s.issues.get_mut("SHOP-1").unwrap().comments.push(ours);
        s.page_size = 2;
    });
    fake.reset_requests();
    let outcomes = Sync::new(&fake)
        .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
        .unwrap();
    assert_eq!(
        outcomes[0].comment.as_deref(),
        Some("unchanged"),
        "{outcomes:?}"
    );
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    let listed: Vec<String> = paths(&fake, "GET")
        .into_iter()
        .filter(|p| p.contains("/comment?"))
        .collect();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed[2].contains("startAt=4"), "{listed:?}");
    assert!(listed[0].contains("expand=properties"), "{listed:?}");
}

#[test]
fn a_moved_issue_is_acted_on_under_its_new_key() {
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    fake.add_issue("OPS-7", "To Do");
    fake.with(|s| s.moved.insert("SHOP-1".into(), "OPS-7".into()));
    let outcomes = Sync::new(&fake)
        .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
        .unwrap();
    let moved = &outcomes[0];
    assert_eq!(moved.key, "SHOP-1");
    assert_eq!(moved.outcome, Outcome::Moved, "{moved:?}");
    let reason = moved.reason.as_deref().unwrap();
    assert!(reason.contains("SHOP-1 is now OPS-7"), "{reason}");
    let writes: Vec<String> = fake.writes().into_iter().map(|r| r.path).collect();
    assert_eq!(
        writes,
        [
            "/rest/api/3/issue/OPS-7/transitions",
            "/rest/api/3/issue/OPS-7/comment"
        ]
    );
}

#[test]
fn each_failure_is_one_line_naming_the_issue_and_what_to_do() {
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    fake.add_issue("SHOP-2", "To Do");
    fake.add_issue("SHOP-3", "Backlog");
    fake.add_issue("SHOP-4", "To Do");
    fake.add_issue("SHOP-5", "To Do");
    fake.add_issue("SHOP-6", "To Do");
    fake.with(|s| {
        // No permission to transition: Jira lists nothing.
        s.issues.get_mut("SHOP-2").unwrap().transitions = Some(vec![]);
        // A workflow with no way to In Review.
        s.issues.get_mut("SHOP-3").unwrap().transitions = Some(vec![
            ("51".into(), "Triage".into(), "To Do".into()),
            ("61".into(), "Drop".into(), "Won't Do".into()),
        ]);
        s.issues.get_mut("SHOP-4").unwrap().required_fields =
            vec!["resolution".into(), "customfield_10010".into()];
    });
    fake.inject(Injection::once(
        "POST",
        "/issue/SHOP-5/transitions",
        403,
        json!({"errorMessages": ["You do not have permission to transition this issue."], "errors": {}}),
    ));
    let outcomes = Sync::new(&fake)
        .run(
            &keys(&["SHOP-1", "SHOP-2", "SHOP-3", "SHOP-4", "SHOP-5", "SHOP-6"]),
            Event::Opened,
            &change(1),
        )
        .unwrap();
    let reason = |key: &str| {
        let o = outcome(&outcomes, key);
        assert_eq!(o.outcome, Outcome::Failed, "{o:?}");
        let r = o.reason.clone().unwrap();
        assert!(!r.contains('\n') && r.contains(key), "{r}");
        r
    };
    let missing = reason("SHOP-1");
    assert!(
        missing.contains("does not exist or this token cannot see it"),
        "{missing}"
    );
    let empty = reason("SHOP-2");
    assert!(empty.contains("Transition issues permission"), "{empty}");
    let unreachable = reason("SHOP-3");
    assert!(unreachable.contains("to `In Review`"), "{unreachable}");
    assert!(
        unreachable.contains("`To Do` (via `Triage`, id 51), `Won't Do`"),
        "{unreachable}"
    );
    let fields = reason("SHOP-4");
    assert!(
        fields.contains("field `resolution`") && fields.contains("field `customfield_10010`"),
        "{fields}"
    );
    assert!(
        fields.contains("transition screen requires fields"),
        "{fields}"
    );
    let forbidden = reason("SHOP-5");
    assert!(
        forbidden.contains("403") && forbidden.contains("permission"),
        "{forbidden}"
    );
    // The other issues were not held up.
    let fine = outcome(&outcomes, "SHOP-6");
    assert_eq!(fine.outcome, Outcome::Moved, "{fine:?}");
    // A failed issue gets no comment; no transition was attempted for 1-3.
    let writes: Vec<String> = fake.writes().into_iter().map(|r| r.path).collect();
    assert!(
        writes
            .iter()
            .all(|p| !p.contains("SHOP-1") && !p.contains("SHOP-2") && !p.contains("SHOP-3")),
        "{writes:?}"
    );
}

#[test]
fn bad_credentials_stop_the_whole_sync_at_the_first_issue() {
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    for key in ["SHOP-1", "SHOP-2", "SHOP-3"] {
        fake.add_issue(key, "To Do");
    }
    let mut sync = Sync::new(&fake);
    sync.token = "wrong-t0ken-value".into();
    let error = sync
        .run(
            &keys(&["SHOP-1", "SHOP-2", "SHOP-3"]),
            Event::Opened,
            &change(1),
        )
        .unwrap_err();
    assert!(error.0.contains("refused the credentials"), "{error}");
    assert!(error.0.contains("JIRA_EMAIL"), "{error}");
    assert!(!error.0.contains("wrong-t0ken-value"), "{error}");
    assert_eq!(fake.requests().len(), 1, "{:?}", fake.requests());
}

#[test]
fn a_rate_limit_is_waited_out_as_retry_after_says() {
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    fake.add_issue("SHOP-1", "To Do");
    fake.inject(
        Injection::once(
            "GET",
            "/issue/SHOP-1",
            429,
            json!({"errorMessages": ["Rate limit exceeded."]}),
        )
        .header("Retry-After", "1")
        .header("RateLimit-Reason", "jira-burst-based"),
    );
    let started = Instant::now();
    let outcomes = Sync::new(&fake)
        .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(outcomes[0].outcome, Outcome::Moved, "{outcomes:?}");
    let reads = paths(&fake, "GET")
        .into_iter()
        .filter(|p| p == "/rest/api/3/issue/SHOP-1?fields=status")
        .count();
    assert_eq!(reads, 2);
}

#[test]
fn a_dry_run_reads_and_plans_but_writes_nothing() {
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    fake.add_issue("SHOP-1", "To Do");
    fake.add_issue("SHOP-2", "In Review");
    let mut sync = Sync::new(&fake);
    sync.dry_run = true;
    let outcomes = sync
        .run(&keys(&["SHOP-1", "SHOP-2"]), Event::Opened, &change(1))
        .unwrap();
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    let planned = outcome(&outcomes, "SHOP-1");
    assert_eq!(planned.outcome, Outcome::Planned, "{planned:?}");
    assert_eq!(planned.transition.as_deref(), Some("Send to review (21)"));
    assert_eq!(planned.comment.as_deref(), Some("planned"));
    assert_eq!(fake.issue("SHOP-1").status, "To Do");
    let there = outcome(&outcomes, "SHOP-2");
    assert_eq!(there.transition, None);
    assert_eq!(there.comment.as_deref(), Some("planned"));
}

#[test]
fn the_token_never_reaches_an_outcome_or_an_error() {
    let fake = FakeJira::start(Flavor::DataCenter, TOKEN);
    fake.add_issue("SHOP-1", "To Do");
    fake.add_issue("SHOP-2", "To Do");
    // A proxy that echoes the request's headers into its error.
    let echo = format!("Authorization: Bearer {TOKEN}");
    fake.inject(Injection::once(
        "POST",
        "/issue/SHOP-1/transitions",
        400,
        json!({"errorMessages": [echo.clone()]}),
    ));
    // A write answered 500 is not retried: its text is the reason.
    fake.inject(Injection::once(
        "POST",
        "/issue/SHOP-2/transitions",
        500,
        Value::String(echo.clone()),
    ));
    let outcomes = Sync::new(&fake).run(&keys(&["SHOP-1", "SHOP-2"]), Event::Opened, &change(1));
    let shown = format!("{outcomes:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert_eq!(shown.matches("Bearer ***").count(), 2, "{shown}");
    assert!(shown.contains("Bearer ***"), "{shown}");
}

#[test]
fn credentials_are_never_sent_elsewhere_nor_in_clear_text() {
    // A redirect to another host is not followed.
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    let elsewhere = FakeJira::start(Flavor::Cloud, TOKEN);
    fake.add_issue("SHOP-1", "To Do");
    fake.inject(
        Injection::once("GET", "/issue/SHOP-1", 302, Value::Null).header(
            "Location",
            format!("{}/rest/api/3/issue/SHOP-1?fields=status", elsewhere.url()),
        ),
    );
    let outcomes = Sync::new(&fake)
        .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
        .unwrap();
    assert_eq!(outcomes[0].outcome, Outcome::Failed, "{outcomes:?}");
    assert!(elsewhere.requests().is_empty());

    // http to anything but this machine is refused before any request.
    let options = Options {
        base_url: "http://jira.example.com".into(),
        dry_run: false,
        time_limit: Duration::from_secs(5),
    };
    let error = fake
        .run(tollgate::jira::sync(
            &config(Some(Deployment::Cloud)),
            &credentials(Flavor::Cloud, TOKEN),
            &options,
            &keys(&["SHOP-1"]),
            Event::Opened,
            &change(1),
        ))
        .unwrap_err();
    assert!(error.0.contains("https is required"), "{error}");
}

#[test]
fn the_failed_event_comments_without_moving() {
    let fake = FakeJira::start(Flavor::Cloud, TOKEN);
    fake.add_issue("SHOP-1", "In Review");
    let mut failing = change(1);
    failing.checked.passed = false;
    failing.checked.findings = vec![(Severity::Error, 3)];
    let outcomes = Sync::new(&fake)
        .run(&keys(&["SHOP-1"]), Event::Failed, &failing)
        .unwrap();
    assert_eq!(outcomes[0].outcome, Outcome::Unchanged, "{outcomes:?}");
    assert_eq!(outcomes[0].comment.as_deref(), Some("created"));
    assert!(paths(&fake, "GET")
        .iter()
        .all(|p| !p.ends_with("/transitions")));
    let text = adf_text(&fake.issue("SHOP-1").comments[0]["body"]);
    assert!(
        text.contains("failed its tollgate checks") && text.contains("3 error"),
        "{text}"
    );
}

#[test]
fn an_overloaded_jira_is_asked_again_when_it_says_when() {
    let fake = FakeJira::start(Flavor::DataCenter, TOKEN);
    fake.add_issue("SHOP-1", "To Do");
    // 503 with Retry-After: Jira did nothing, so even the POST is sent again.
    fake.inject(
        Injection::once("POST", "/issue/SHOP-1/transitions", 503, Value::Null)
            .header("Retry-After", "1"),
    );
    let outcomes = Sync::new(&fake)
        .run(&keys(&["SHOP-1"]), Event::Opened, &change(1))
        .unwrap();
    assert_eq!(outcomes[0].outcome, Outcome::Moved, "{outcomes:?}");
    let posts = paths(&fake, "POST")
        .into_iter()
        .filter(|p| p.ends_with("/transitions"))
        .count();
    assert_eq!(posts, 2);
    // Who the token is was asked once, for the one comment.
    assert_eq!(
        paths(&fake, "GET")
            .iter()
            .filter(|p| p.ends_with("/myself"))
            .count(),
        1
    );
}
