//! `tollgate review`: wiring of the context, the scan, the reports and the
//! posting. Reports are written before anything is posted; a token that may
//! not write (fork pull requests) falls back to annotations, the step summary
//! and the reports, and the exit code still follows `fail_on`.

use super::client::{ApiError, Client};
use super::comments::Markers;
use super::context::{self, Endpoints, Overrides, PullRequest, Trigger};
use super::files::{self, PrFiles};
use super::head_lines::{Checkout, Sources};
use super::publish::{self, OnClean, ReviewEvent, Settings};
use crate::app::{self, ChangeSource, Review, Setup, EXIT_ERROR};
use crate::cli::ReviewArgs;
use crate::finding::Finding;
use crate::report::json::ReviewMeta;
use std::time::Duration;

const DEFAULT_MAX_COMMENTS: usize = 30;
const DEFAULT_TIME_LIMIT: u64 = 120;

fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

pub fn run(args: ReviewArgs) -> anyhow::Result<i32> {
    let env = context::process_env;
    let overrides = Overrides {
        repo: args.repo.clone(),
        pr: args.pr,
        token: args.github_token.clone(),
    };
    let token = context::token(&overrides, &env);
    if let (true, Some(token)) = (in_actions(), &token) {
        // The runner hides the value from every later line of the log. It
        // reads commands from both streams; stdout may carry JSON.
        match args.scan.format {
            crate::cli::OutputFormat::Text => println!("::add-mask::{}", token.expose()),
            crate::cli::OutputFormat::Json => eprintln!("::add-mask::{}", token.expose()),
        }
    }
    let pr = match context::pull_request(&overrides, &env) {
        Ok(pr) => pr,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    let endpoints = context::endpoints(&env);
    let setup = app::setup(&args.scan);
    let github = setup.effective.config.github.clone().unwrap_or_default();
    let limit = Duration::from_secs(
        args.time_limit
            .or(github.time_limit)
            .unwrap_or(DEFAULT_TIME_LIMIT),
    );
    let markers = match Markers::new(args.id.as_deref().or(github.id.as_deref())) {
        Ok(markers) => markers,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    let mut settings = Settings {
        markers,
        event: args
            .review_event
            .or(github.review_event)
            .unwrap_or(ReviewEvent::Comment),
        max_comments: args
            .max_comments
            .or(github.max_comments)
            .unwrap_or(DEFAULT_MAX_COMMENTS),
        on_clean: args.on_clean.or(github.on_clean).unwrap_or(OnClean::Keep),
        check_run: args.github_check || github.check_run.unwrap_or(false),
        gate_fails: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // octocrab starts its worker on the runtime it is built in.
    let _entered = runtime.enter();
    let client = match &token {
        Some(token) => match Client::new(&endpoints, token, limit) {
            Ok(client) => Some(client.verbose(args.verbose)),
            Err(err) => {
                eprintln!("error: {err}");
                return Ok(EXIT_ERROR);
            }
        },
        None => None,
    };
    let job = Job {
        args: &args,
        setup: &setup,
        pr,
        endpoints,
        client,
    };
    match &args.from {
        Some(file) => runtime.block_on(job.post_report(file, &mut settings)),
        None => runtime.block_on(job.scan_and_post(&mut settings)),
    }
}

struct Job<'a> {
    args: &'a ReviewArgs,
    setup: &'a Setup,
    pr: PullRequest,
    endpoints: Endpoints,
    client: Option<Client>,
}

impl Job<'_> {
    /// The documentation link of a rule, for its comments.
    fn rule_url(&self, id: &str) -> Option<String> {
        let rule = self.setup.rules.rules.iter().find(|r| r.id == id)?;
        rule.url.clone()
    }

    /// The usual run: scan the pull request's change here, then post.
    async fn scan_and_post(mut self, settings: &mut Settings) -> anyhow::Result<i32> {
        let scan_args = &self.args.scan;
        if matches!(self.pr.trigger, Trigger::WorkflowRun { .. }) {
            eprintln!("error: on a `workflow_run` event tollgate posts a report made by the pull request's own run: `tollgate review --from tollgate.json` (see the README's two-workflow pattern)");
            return Ok(EXIT_ERROR);
        }
        let mut files: Option<PrFiles> = None;
        // The PR head and base: from the event, else from GitHub.
        if self.pr.head_sha.is_none() || (self.pr.base_sha.is_none() && scan_args.base.is_none()) {
            let Some(client) = &self.client else {
                eprintln!("error: pull request #{} of {}: without a token tollgate cannot ask GitHub for its head and base commits (set GITHUB_TOKEN)", self.pr.number, self.pr.full_name());
                return Ok(EXIT_ERROR);
            };
            match files::pull_info(client, &self.pr).await {
                Ok(info) => {
                    self.pr.head_sha.get_or_insert(info.head_sha);
                    self.pr.base_sha.get_or_insert(info.base_sha);
                }
                Err(err) => {
                    eprintln!("error: {err}");
                    return Ok(EXIT_ERROR);
                }
            }
        }
        let head_sha = self.pr.head_sha.clone().unwrap_or_default();
        let base = scan_args
            .base
            .clone()
            .or(self.pr.base_sha.clone())
            .unwrap_or_default();
        let paths = crate::report::RepoPaths::detect();
        let root = paths
            .root()
            .map(|r| r.to_path_buf())
            .or_else(|| {
                let cwd = std::env::current_dir().ok()?;
                Some(cwd.canonicalize().unwrap_or(cwd))
            })
            .unwrap_or_default();
        let (sources, checkout) = Sources::new(&root, &head_sha);
        say_checkout(&checkout, &head_sha);
        if self.pr.trigger == Trigger::PullRequestTarget {
            eprintln!("warning: pull_request_target runs with a write token: tollgate reads the PR's files as data only, but never let other steps run code from its head; the README's two-workflow pattern is safer");
        }
        // The change: from git when the base is here, else from the PR files API.
        let source = match app::review_change(&base, scan_args.head.as_deref()) {
            Ok(review) => ChangeSource::Given(review),
            Err(git_err) => {
                let Some(client) = &self.client else {
                    eprintln!("error: {git_err:#}\nerror: and without a token tollgate cannot read the change from GitHub instead (set GITHUB_TOKEN, or check out with `fetch-depth: 0`)");
                    return Ok(EXIT_ERROR);
                };
                eprintln!("note: git cannot give the change ({git_err:#}); reading the pull request's files from GitHub instead");
                match files::pr_files(client, &self.pr).await {
                    Ok(listed) => {
                        for note in &listed.notes {
                            eprintln!("note: {note}");
                        }
                        let review = Review {
                            set: listed.change.clone(),
                            workdir: root.clone(),
                            image_files_before: Vec::new(),
                        };
                        files = Some(listed);
                        ChangeSource::Given(review)
                    }
                    Err(err) => {
                        eprintln!("error: {err}");
                        return Ok(EXIT_ERROR);
                    }
                }
            }
        };
        let scanned = match app::scan_change(scan_args, self.setup, source) {
            Ok(scanned) => scanned,
            Err(err) => {
                eprintln!("error: {err}");
                return Ok(EXIT_ERROR);
            }
        };
        let outcome = scanned.outcome;
        let meta = ReviewMeta {
            repository: self.pr.full_name(),
            pull_request: self.pr.number,
            head_sha: head_sha.clone(),
        };
        let report_failed = app::write_reports(self.setup, &outcome, Some(&meta));
        app::print_outcome(scan_args, &outcome)?;
        let broken = report_failed || scanned.bad_images;
        let exit = app::exit_code(self.setup, &outcome, broken);
        settings.gate_fails = app::gate_fails(self.setup.fail_on, &outcome.findings)
            || (self.setup.fail_on_skipped && !outcome.not_scanned.is_empty());
        if self.args.no_post {
            self.fall_back(&outcome, None)?;
            return Ok(exit);
        }
        let Some(client) = &self.client else {
            self.fall_back(&outcome, Some("no GitHub token (GITHUB_TOKEN or the action's `github-token` input), so nothing was posted"))?;
            return Ok(exit);
        };
        let mut findings: Vec<Finding> = outcome
            .findings
            .iter()
            .map(|f| Finding {
                path: paths.of(&f.path).into(),
                ..f.clone()
            })
            .collect();
        sources.move_to_head(&mut findings);
        let line_text = |path: &str, line: usize| sources.line(path, line);
        let rule_url = |id: &str| self.rule_url(id);
        let mut notes: Vec<String> = outcome
            .notices
            .iter()
            .map(|n| format!("{}: {}", paths.of(&n.path), n.message))
            .collect();
        if self.setup.fail_on_skipped && !outcome.not_scanned.is_empty() {
            // In code spans: a file name is no mention or link.
            let names: Vec<String> = outcome
                .not_scanned
                .iter()
                .map(|p| format!("`{}`", paths.of(p).replace('`', "'")))
                .collect();
            notes.insert(
                0,
                format!(
                    "{} changed file(s) could not be scanned, which fails the gate (fail_on_skipped): {}",
                    names.len(),
                    names.join(", ")
                ),
            );
        }
        let result = self
            .publish(
                client, settings, &head_sha, &findings, files, &notes, &rule_url, &line_text,
            )
            .await;
        self.finish(result, &outcome, exit)
    }

    #[allow(clippy::too_many_arguments)]
    async fn publish(
        &self,
        client: &Client,
        settings: &Settings,
        head_sha: &str,
        findings: &[Finding],
        files: Option<PrFiles>,
        notes: &[String],
        rule_url: &dyn Fn(&str) -> Option<String>,
        line_text: &dyn Fn(&str, usize) -> Option<String>,
    ) -> Result<publish::Published, ApiError> {
        let review = publish::Review {
            client,
            pr: &self.pr,
            head_sha,
            server_url: &self.endpoints.server_url,
            run_url: self.endpoints.run_url.as_deref(),
            environment: self.args.scan.environment.as_deref(),
            settings,
        };
        review
            .publish(findings, files, notes, rule_url, line_text)
            .await
    }

    /// What the run says and returns once posting is over (or failed).
    fn finish(
        &self,
        result: Result<publish::Published, ApiError>,
        outcome: &crate::scan::ScanOutcome,
        exit: i32,
    ) -> anyhow::Result<i32> {
        match result {
            Ok(done) => {
                for note in &done.notes {
                    eprintln!("note: {note}");
                }
                eprintln!(
                    "tollgate: PR #{}: {} new comment(s), {} already there, {} resolved as fixed, {} in the summary only; summary {}",
                    self.pr.number, done.new_comments, done.kept, done.resolved, done.elsewhere, done.summary
                );
                if in_actions() && !self.args.scan.no_annotations {
                    app::github_step_summary(outcome, &crate::report::RepoPaths::detect());
                }
                Ok(exit)
            }
            Err(err) if err.status() == Some(403) => {
                let why = format!(
                    "GitHub refused to let this token write to PR #{} (403: {}){}",
                    self.pr.number,
                    err.message(),
                    if self.pr.from_fork {
                        "; pull requests from forks get a read-only token: see the README's two-workflow pattern"
                    } else {
                        "; give the job `pull-requests: write`"
                    }
                );
                self.fall_back(outcome, Some(&why))?;
                Ok(exit)
            }
            Err(err) => {
                eprintln!("error: posting to GitHub failed: {err}");
                if !self.setup.reports.is_empty() {
                    let written: Vec<String> = self
                        .setup
                        .reports
                        .iter()
                        .map(|r| r.path.display().to_string())
                        .collect();
                    eprintln!(
                        "error: the reports were written before posting and are in place: {}",
                        written.join(", ")
                    );
                }
                self.fall_back(outcome, None)?;
                Ok(EXIT_ERROR)
            }
        }
    }

    /// Findings where the run can show them without writing to the PR:
    /// annotations and the step summary in Actions (and the reports, already written).
    fn fall_back(
        &self,
        outcome: &crate::scan::ScanOutcome,
        why: Option<&str>,
    ) -> anyhow::Result<()> {
        if let Some(why) = why {
            eprintln!("warning: {why}; the findings are in the annotations, the step summary and the reports instead");
        }
        if in_actions() && !self.args.scan.no_annotations {
            app::github_output(outcome, self.args.scan.format)?;
        }
        Ok(())
    }

    /// The privileged half of the fork pattern: post a report made by an
    /// unprivileged run, checking that it belongs to this pull request's head.
    async fn post_report(
        mut self,
        file: &std::path::Path,
        settings: &mut Settings,
    ) -> anyhow::Result<i32> {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(err) => {
                eprintln!("error: {}: cannot read the report: {err}", file.display());
                return Ok(EXIT_ERROR);
            }
        };
        let report = match crate::report::json::read(&text) {
            Ok(report) => report,
            Err(err) => {
                eprintln!("error: {}:{err}", file.display());
                return Ok(EXIT_ERROR);
            }
        };
        let Some(meta) = report.review else {
            eprintln!("error: {}: this report has no `review` section: write it with `tollgate review --no-post --report json=FILE`", file.display());
            return Ok(EXIT_ERROR);
        };
        if meta.repository != self.pr.full_name() {
            eprintln!(
                "error: {}: the report is for {}, but this run is for {}: nothing posted",
                file.display(),
                meta.repository,
                self.pr.full_name()
            );
            return Ok(EXIT_ERROR);
        }
        if self.pr.number == 0 {
            self.pr.number = meta.pull_request;
        } else if self.pr.number != meta.pull_request {
            eprintln!(
                "error: {}: the report is for PR #{}, but the event is for PR #{}: nothing posted",
                file.display(),
                meta.pull_request,
                self.pr.number
            );
            return Ok(EXIT_ERROR);
        }
        let Some(client) = &self.client else {
            eprintln!("error: no GitHub token (GITHUB_TOKEN or the action's `github-token` input): nothing to post with");
            return Ok(EXIT_ERROR);
        };
        let info = match files::pull_info(client, &self.pr).await {
            Ok(info) => info,
            Err(err) => {
                eprintln!("error: {err}");
                return Ok(EXIT_ERROR);
            }
        };
        // Trust the event, not the report: the report came from the PR's own run.
        if let Trigger::WorkflowRun { head_sha } = &self.pr.trigger {
            if meta.head_sha != *head_sha {
                eprintln!("error: {}: the report names commit {}, but the workflow run was for {}: nothing posted", file.display(), meta.head_sha, head_sha);
                return Ok(EXIT_ERROR);
            }
        }
        if info.head_sha != meta.head_sha {
            eprintln!("note: PR #{} has moved on to {} since the report was made for {}: nothing posted (the run for the new head will post)", self.pr.number, info.head_sha, meta.head_sha);
            return Ok(app::EXIT_OK);
        }
        let findings = report.findings;
        settings.gate_fails = app::gate_fails(self.setup.fail_on, &findings);
        let rule_url = |id: &str| self.rule_url(id);
        let result = self
            .publish(
                client,
                settings,
                &meta.head_sha,
                &findings,
                None,
                &[],
                &rule_url,
                &|_, _| None,
            )
            .await;
        let outcome = crate::scan::ScanOutcome {
            findings,
            ..Default::default()
        };
        let exit = if settings.gate_fails {
            app::EXIT_FINDINGS
        } else {
            app::EXIT_OK
        };
        self.finish(result, &outcome, exit)
    }
}

/// Says when the checked-out commit is not the PR head, and what follows.
fn say_checkout(checkout: &Checkout, head_sha: &str) {
    match checkout {
        Checkout::Head => {}
        Checkout::Other { commit } => eprintln!(
            "note: the checked-out commit {commit} is not the pull request's head {head_sha}: findings are moved to the head's lines, and those on lines that differ there are listed in the summary"
        ),
        Checkout::OtherWithoutHead { commit } => eprintln!(
            "warning: the checked-out commit {commit} is not the pull request's head {head_sha}, which is not in this clone; check out the head (actions/checkout with `ref: ${{{{ github.event.pull_request.head.sha }}}}`). Lines whose text differs from the PR's diff are listed in the summary, not commented"
        ),
    }
}
