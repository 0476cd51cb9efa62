//! Slack and Discord notifications of `tollgate review`, end to end: the
//! binary reviews a pull request on the fake GitHub (tests/it/fake_github.rs)
//! and notifies the fake webhooks (tests/it/fake_webhooks.rs), which refuse
//! what the platforms refuse.

use super::common::{tollgate, tollgate_env, tree, write, Run};
use super::fake_webhooks::{FakeWebhooks, DISCORD_PATH, SLACK_PATH};
use super::github::Pr;
use serde_json::Value;

/// Flags every finding's printed string: its text comes from the change
/// (at most 80 characters of it), then a long tail.
const RULE: &str = "id: team/no-println\nlanguage: go\nseverity: error\nmessage: \"prints {{arg}}, which is long: éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\"\nquery: |\n  ((call_expression function: (identifier) @f arguments: (argument_list (interpreted_string_literal) @arg)) @match (#eq? @f \"println\"))\n";

/// What a pull request's code can say to a channel: each fits the 80
/// characters of a capture a message shows.
const HOSTILE: &[&str] = &[
    "<!channel> <!here> @here @channel @everyone",
    "<@U123> <@123> <#C1> <@&456> <!subteam^S1>",
    "[click](https://evil.example) <https://evil.example|click>",
    "*bold* `code` ~strike~ _it_ www.evil.example",
];

/// Go code with `count` printlns of the hostile texts in turn.
fn printlns(count: usize) -> String {
    let mut code = String::from("\nfunc shout() {\n");
    for i in 0..count {
        let text = HOSTILE[i % HOSTILE.len()];
        code.push_str(&format!("\tprintln(\"{text}\")\n"));
    }
    code.push_str("}\n");
    code
}

/// A pull request adding `added`, reviewed with `notify` set to `notify`
/// (the configuration lives outside the repository, so it is used as given).
struct Setup {
    pr: Pr,
    hooks: FakeWebhooks,
    config: tempfile::TempDir,
}

fn setup(added: &str, notify: &str) -> Setup {
    let mut pr = Pr::new(added);
    let hooks = FakeWebhooks::start();
    let config = tree(&[
        (
            "tollgate.yml",
            &format!("rules:\n  default_rules: false\n  paths: [rules/]\nnotify:\n{notify}"),
        ),
        ("rules/no-println.yml", RULE),
    ]);
    pr.extra_env
        .push(("SLACK_WEBHOOK_URL".into(), hooks.slack_url()));
    pr.extra_env
        .push(("DISCORD_WEBHOOK_URL".into(), hooks.discord_url()));
    Setup { pr, hooks, config }
}

impl Setup {
    fn review(&self, fail_on: &str) -> Run {
        let config = self.config.path().join("tollgate.yml");
        self.pr
            .review(&["--config", config.to_str().unwrap(), "--fail-on", fail_on])
    }
}

/// The webhook URLs appear in the log only to be masked.
fn assert_no_webhook(run: &Run) {
    for secret in ["sl4ckS3cretT0ken", "d1sc0rdS3cretT0ken"] {
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
        for line in run.stderr.lines().filter(|l| l.contains(secret)) {
            assert!(line.starts_with("::add-mask::"), "{line}");
        }
    }
}

fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

#[test]
fn a_failing_review_tells_both_channels_within_their_limits_and_pings_nobody() {
    // 60 findings, each long and hostile: more than any message can hold.
    let s = setup(&printlns(60), "  on: failure\n  max_findings: 20\n");
    let run = s.review("error");
    assert_eq!(run.code, 1, "the gate fails: {}", run.stderr);
    assert!(
        run.stderr.contains("note: Slack notified"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("note: Discord notified"),
        "{}",
        run.stderr
    );
    assert_no_webhook(&run);
    for mask in [
        format!("::add-mask::{}\n", s.hooks.slack_url()),
        format!("::add-mask::{}\n", s.hooks.discord_url()),
        format!("::add-mask::{SLACK_PATH}\n"),
        format!("::add-mask::{DISCORD_PATH}\n"),
    ] {
        assert!(
            run.stderr.contains(&mask),
            "masked in Actions: {}",
            run.stderr
        );
    }

    let slack = s.hooks.slack();
    assert_eq!(slack.len(), 1);
    let body = &slack[0].1;
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("PR #7 of acme/app failed"),
        "{body}"
    );
    let blocks = body["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50);
    for block in blocks {
        assert!(block["text"]["text"].as_str().unwrap().chars().count() <= 3_000);
    }
    let all = text(body);
    assert!(all.contains("60 errors, 0 warnings, 0 infos"), "{all}");
    assert!(
        all.contains("<https://github.com/acme/app/pull/7|PR #7 of acme/app>"),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "<https://github.com/acme/app/blob/{}/main.go#L",
            s.pr.head
        )),
        "{all}"
    );
    assert!(all.contains("|workflow run>"), "the run's link: {all}");
    assert!(all.contains(" more"), "the rest are counted: {all}");
    for ping in [
        "<!channel>",
        "<!here>",
        "<!subteam",
        "<@U123>",
        "<@123>",
        "<@&",
        "<#C1>",
        "<https://evil",
        "@here",
        "@channel",
        "@everyone",
        "https://evil",
        "*bold*",
        "`code`",
    ] {
        assert!(!all.contains(ping), "{ping} in {all}");
    }
    // The hostile texts did reach the message, escaped.
    assert!(
        all.contains("&lt;!channel&gt;") && all.contains("[click](http"),
        "{all}"
    );

    let discord = s.hooks.discord();
    assert_eq!(discord.len(), 1);
    let (path, body) = &discord[0];
    assert_eq!(
        path,
        &format!("{DISCORD_PATH}?wait=true"),
        "errors are reported"
    );
    assert_eq!(body["allowed_mentions"], serde_json::json!({"parse": []}));
    assert!(body["content"].as_str().unwrap().chars().count() <= 2_000);
    let embed = &body["embeds"][0];
    assert_eq!(embed["url"], "https://github.com/acme/app/pull/7");
    assert!(
        embed["description"].as_str().unwrap().contains(" more"),
        "{embed}"
    );
    let all = text(body);
    for ping in [
        "@everyone",
        "@here",
        "<@123>",
        "<#C1>",
        "](https://evil",
        "https://evil",
        "**bold**",
    ] {
        assert!(!all.contains(ping), "{ping} in {all}");
    }
    assert!(
        all.contains("\\\\<@\u{200B}123\\\\>"),
        "escaped, still readable: {all}"
    );
    assert!(s.hooks.slack().iter().all(|(p, _)| p == SLACK_PATH));
}

#[test]
fn on_failure_sends_nothing_when_the_gate_passes_and_no_post_sends_nothing() {
    let s = setup(&printlns(1), "  on: failure\n");
    let run = s.review("never");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(s.hooks.slack().is_empty() && s.hooks.discord().is_empty());
    assert!(
        run.stderr
            .contains("note: Slack not notified: the gate passed"),
        "{}",
        run.stderr
    );
    let config = s.config.path().join("tollgate.yml");
    let quiet =
        s.pr.review(&["--config", config.to_str().unwrap(), "--no-post"]);
    assert_eq!(quiet.code, 1, "{}", quiet.stderr);
    assert!(s.hooks.slack().is_empty() && s.hooks.discord().is_empty());
}

#[test]
fn change_sends_only_when_the_outcome_differs_from_the_previous_run() {
    let s = setup(&printlns(1), "  on: change\n  discord:\n    on: always\n");
    let sent = || s.hooks.slack().len();
    // No earlier summary: a change.
    assert_eq!(s.review("error").code, 1);
    assert_eq!(sent(), 1);
    let again = s.review("error");
    assert_eq!(again.code, 1);
    assert_eq!(sent(), 1, "still failing: {}", again.stderr);
    assert!(
        again
            .stderr
            .contains("note: Slack not notified: the gate failed and `on` is change"),
        "{}",
        again.stderr
    );
    assert_eq!(s.review("never").code, 0);
    assert_eq!(sent(), 2, "now passing");
    assert!(s.hooks.slack()[1].1["text"]
        .as_str()
        .unwrap()
        .contains("passed"));
    assert_eq!(s.review("never").code, 0);
    assert_eq!(sent(), 2, "still passing");
    assert_eq!(s.hooks.discord().len(), 4, "discord: on always");
}

#[test]
fn a_429_is_retried_once_and_a_second_one_is_a_warning() {
    let s = setup(&printlns(1), "  on: always\n");
    s.hooks
        .queue(true, 429, &[("retry-after", "1")], "rate_limited");
    s.hooks.queue(
        false,
        429,
        &[("retry-after", "5")],
        r#"{"message": "You are being rate limited.", "retry_after": 0.2, "global": false}"#,
    );
    let run = s.review("error");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(s.hooks.slack().len(), 2, "{}", run.stderr);
    assert_eq!(s.hooks.discord().len(), 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("note: Slack notified")
            && run.stderr.contains("note: Discord notified"),
        "{}",
        run.stderr
    );

    for _ in 0..2 {
        s.hooks
            .queue(true, 429, &[("retry-after", "0")], "rate_limited");
    }
    let run = s.review("error");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(s.hooks.slack().len(), 4, "one retry, no more");
    assert!(
        run.stderr
            .contains("warning: Slack refused the notification (429 rate_limited)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_gone_webhook_is_one_warning_and_the_exit_code_stays() {
    let s = setup(&printlns(1), "  on: always\n");
    s.hooks.queue(true, 404, &[], "channel_not_found");
    s.hooks.queue(
        false,
        404,
        &[],
        r#"{"message": "Unknown Webhook", "code": 10015}"#,
    );
    let failing = s.review("error");
    assert_eq!(failing.code, 1, "{}", failing.stderr);
    s.hooks.queue(true, 410, &[], "channel_is_archived");
    let passing = s.review("never");
    assert_eq!(passing.code, 0, "{}", passing.stderr);
    let warnings: Vec<&str> = failing
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", failing.stderr);
    assert!(
        warnings[0].contains("Slack refused the notification (404 channel_not_found)")
            && warnings[0].contains("update SLACK_WEBHOOK_URL"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("Discord refused the notification (404")
            && warnings[1].contains("stop using it"),
        "{warnings:?}"
    );
    assert!(
        passing
            .stderr
            .contains("(410 channel_is_archived): the webhook's channel is archived"),
        "{}",
        passing.stderr
    );
    assert_no_webhook(&failing);
    assert_no_webhook(&passing);
}

#[test]
fn an_unusable_webhook_variable_is_a_warning_without_its_value() {
    let mut s = setup(&printlns(1), "  on: always\n");
    for (name, value) in &mut s.pr.extra_env {
        if name == "SLACK_WEBHOOK_URL" {
            *value = "http://hooks.example.com/services/T/B/pla1nS3cret".into();
        }
    }
    let run = s.review("error");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: SLACK_WEBHOOK_URL is not an https URL"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("pla1nS3cret") && !run.stdout.contains("pla1nS3cret"));
    assert!(s.hooks.slack().is_empty());
    assert_eq!(s.hooks.discord().len(), 1);
}

#[test]
fn a_webhook_written_into_the_configuration_is_refused_at_its_line() {
    let dir = tree(&[(
        ".tollgate.yml",
        "fail_on: error\nnotify:\n  on: always\n  slack:\n    webhook_url: https://hooks.slack.com/services/T/B/f1leS3cret\n",
    )]);
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(".tollgate.yml:5"), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown field `webhook_url`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("f1leS3cret") && !run.stdout.contains("f1leS3cret"));
    // `${VAR}` cannot read a webhook variable either.
    write(
        dir.path(),
        ".tollgate.yml",
        b"notify:\n  on: ${SLACK_WEBHOOK_URL}\n",
    );
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("may not be read"), "{}", run.stderr);
}

#[test]
fn a_branch_build_in_ci_notifies_and_a_local_scan_does_not() {
    let hooks = FakeWebhooks::start();
    let mut code = String::from("package main\n\nfunc main() {\n");
    for text in HOSTILE {
        code.push_str(&format!("\tprintln(\"{text}\")\n"));
    }
    code.push_str("}\n");
    let dir = tree(&[
        (
            ".tollgate.yml",
            "rules:\n  default_rules: false\n  paths: [rules/]\nnotify:\n  on: failure\n",
        ),
        ("rules/no-println.yml", RULE),
        ("cmd/main.go", &code),
    ]);
    let slack = hooks.slack_url();
    let discord = hooks.discord_url();
    let webhooks = [
        ("SLACK_WEBHOOK_URL", slack.as_str()),
        ("DISCORD_WEBHOOK_URL", discord.as_str()),
        ("CI", ""),
        ("JENKINS_URL", ""),
    ];
    let local = tollgate_env(dir.path(), &["scan"], &webhooks);
    assert_eq!(local.code, 1, "{}", local.stderr);
    assert!(hooks.slack().is_empty() && hooks.discord().is_empty());

    let mut ci = webhooks.to_vec();
    ci.extend([
        ("GITLAB_CI", "true"),
        ("CI_PROJECT_PATH", "group/app"),
        ("CI_PROJECT_URL", "https://gitlab.example.com/group/app"),
        ("CI_COMMIT_REF_NAME", "main"),
        ("CI_COMMIT_SHA", "0123abc"),
        (
            "CI_PIPELINE_URL",
            "https://gitlab.example.com/group/app/-/pipelines/9",
        ),
    ]);
    let run = tollgate_env(dir.path(), &["scan"], &ci);
    assert_eq!(run.code, 1, "the exit code is the gate's: {}", run.stderr);
    assert_no_webhook(&run);
    let slack = hooks.slack();
    assert_eq!(slack.len(), 1, "{}", run.stderr);
    let all = text(&slack[0].1);
    assert!(
        all.contains("<https://gitlab.example.com/group/app/-/tree/main|branch main of group/app>"),
        "{all}"
    );
    assert!(
        all.contains(
            "<https://gitlab.example.com/group/app/-/blob/0123abc/cmd/main.go#L4|cmd/main.go:4>"
        ),
        "{all}"
    );
    assert!(all.contains("|pipeline>"), "{all}");
    assert!(
        !all.contains("<!channel>") && !all.contains("@here"),
        "{all}"
    );
    assert_eq!(hooks.discord().len(), 1);
    let quiet = tollgate_env(dir.path(), &["scan", "--fail-on", "never"], &ci);
    assert_eq!(quiet.code, 0);
    assert_eq!(hooks.slack().len(), 1, "on: failure, and the build passed");
}

#[test]
fn without_a_token_nothing_is_posted_but_the_channels_still_hear_of_the_gate() {
    let mut s = setup(&printlns(1), "  on: change\n");
    s.pr.extra_env.push(("GITHUB_TOKEN".into(), String::new()));
    for _ in 0..2 {
        let run = s.review("error");
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("no GitHub token"), "{}", run.stderr);
    }
    assert!(s.pr.gh.writes().is_empty());
    // No summary to compare with: every run counts as a change.
    let slack = s.hooks.slack();
    assert_eq!(slack.len(), 2);
    assert!(
        text(&slack[0].1).contains("PR #7 of acme/app failed"),
        "{:?}",
        slack[0]
    );
}

#[test]
fn the_readme_notify_example_is_valid() {
    let readme = include_str!("../../README.md");
    let section = &readme[readme
        .find("### Notifications: Slack and Discord")
        .expect("the section")..];
    let start = section.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    assert!(example.contains("notify:"), "{example}");
    let dir = tree(&[(".tollgate.yml", example)]);
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("max_findings: 5"), "{}", run.stdout);
}

#[test]
fn a_gitlab_merge_request_links_its_page_lines_and_pipeline_and_change_reads_its_notes() {
    let mr = super::gitlab::Mr::new(&printlns(2));
    let hooks = FakeWebhooks::start();
    let config = tree(&[
        (
            "tollgate.yml",
            "rules:\n  default_rules: false\n  paths: [rules/]\nnotify:\n  on: change\n",
        ),
        ("rules/no-println.yml", RULE),
    ]);
    let mut env = super::gitlab::with_token(mr.pipeline_env("detached", &mr.head));
    env.push(("SLACK_WEBHOOK_URL".into(), hooks.slack_url()));
    let file = config.path().join("tollgate.yml");
    let review = |fail_on: &str| {
        mr.review(
            &env,
            &["--config", file.to_str().unwrap(), "--fail-on", fail_on],
        )
    };
    assert_eq!(review("error").code, 1);
    let slack = hooks.slack();
    assert_eq!(slack.len(), 1);
    let all = text(&slack[0].1);
    assert!(
        all.contains("<https://gitlab.example.com/acme/app/-/merge_requests/7|MR !7 of acme/app>"),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "<https://gitlab.example.com/acme/app/-/blob/{}/main.go#L",
            mr.head
        )),
        "{all}"
    );
    assert!(
        all.contains("<https://gitlab.example.com/acme/app/-/pipelines/900|pipeline>"),
        "{all}"
    );
    assert!(
        !all.contains("<!channel>") && !all.contains("@here"),
        "{all}"
    );
    // The outcome is read back from the summary note: unchanged, nothing sent.
    let again = review("error");
    assert_eq!(again.code, 1);
    assert_eq!(hooks.slack().len(), 1, "{}", again.stderr);
    assert_eq!(review("never").code, 0);
    assert_eq!(hooks.slack().len(), 2);
}
