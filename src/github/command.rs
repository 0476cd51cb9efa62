//! `tollgate review`: wiring of the context, the scan, the reports and the
//! posting. Reports are written before anything is posted; a token that may
//! not write (fork pull requests) falls back to annotations, the step summary
//! and the reports, and the exit code still follows `fail_on`.

use super::client::{ApiError, Client};
use super::context::{self, Endpoints, Overrides, PullRequest, Trigger};
use super::files::{self, PrFiles};
use super::publish::{self, OnClean, ReviewEvent, Settings};
use crate::app::{self, ChangeSource, Review, Setup, EXIT_ERROR};
use crate::cli::ReviewArgs;
use crate::config::trust::{BaseCommit, Place};
use crate::finding::Finding;
use crate::report::json::ReviewMeta;
use crate::review::comments::Markers;
use crate::review::head_lines::{Checkout, Sources};
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
        let mask = format_args!("::add-mask::{}", token.expose());
        let data_on_stdout =
            args.scan.format == crate::cli::OutputFormat::Json || app::stdout_taken(&args.scan);
        let _ = if data_on_stdout {
            crate::ci_log::command(&mut std::io::stderr().lock(), mask)
        } else {
            crate::ci_log::command(&mut std::io::stdout().lock(), mask)
        };
    }
    let pr = match context::pull_request(&overrides, &env) {
        Ok(pr) => pr,
        Err(err) => {
            crate::say!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    let endpoints = context::endpoints(&env);
    let setup = app::setup(&args.scan, &config_place(&args, &pr));
    if args.from.is_some() && setup.broken {
        // The privileged half posts only with the configuration it was given.
        crate::say!(
            "error: nothing posted: the configuration or rules of this run are refused (see above)"
        );
        return Ok(EXIT_ERROR);
    }
    let github = setup.effective.config.github.clone().unwrap_or_default();
    let limit = Duration::from_secs(
        args.time_limit
            .or(github.time_limit)
            .unwrap_or(DEFAULT_TIME_LIMIT),
    );
    let id = args.id.as_deref().or(github.id.as_deref());
    if let Some(id) = id {
        let token = token.as_ref().map(|t| t.expose());
        if crate::config::secrets::holds_secret(id, token, utf8_env()) {
            // Never echoed: it would go into every comment and the log.
            crate::say!("error: the review id (--id or github.id) contains the value of a secret (the GitHub token or a variable whose name says secret): refused");
            return Ok(EXIT_ERROR);
        }
    }
    let markers = match Markers::new(id) {
        Ok(markers) => markers,
        Err(err) => {
            crate::say!("error: {err}");
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
                crate::say!("error: {err}");
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

/// The environment variables whose names and values are UTF-8.
fn utf8_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// Where the configuration may come from: with `--from`, the report's folder
/// is the pull request's and none is read from it; else the checkout, its
/// base being `--base` or the pull request's base.
fn config_place(args: &ReviewArgs, pr: &PullRequest) -> Place {
    match &args.from {
        Some(report) => Place::Report {
            folder: report
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(std::path::Path::to_path_buf)
                .unwrap_or_else(|| ".".into()),
        },
        None => Place::Checkout {
            base: match (&args.scan.base, &pr.base_sha) {
                (Some(base), _) => Some(BaseCommit::MergeBase {
                    base: base.clone(),
                    head: args.scan.head.clone(),
                }),
                (None, Some(sha)) => Some(BaseCommit::Commit(sha.clone())),
                (None, None) => None,
            },
        },
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
            crate::say!("error: on a `workflow_run` event tollgate posts a report made by the pull request's own run: `tollgate review --from tollgate.json` (see the README's two-workflow pattern)");
            return Ok(EXIT_ERROR);
        }
        let mut files: Option<PrFiles> = None;
        // The PR head and base: from the event, else from GitHub.
        if self.pr.head_sha.is_none() || (self.pr.base_sha.is_none() && scan_args.base.is_none()) {
            let Some(client) = &self.client else {
                crate::say!("error: pull request #{} of {}: without a token tollgate cannot ask GitHub for its head and base commits (set GITHUB_TOKEN)", self.pr.number, self.pr.full_name());
                return Ok(EXIT_ERROR);
            };
            match files::pull_info(client, &self.pr).await {
                Ok(info) => {
                    self.pr.head_sha.get_or_insert(info.head_sha);
                    self.pr.base_sha.get_or_insert(info.base_sha);
                }
                Err(err) => {
                    crate::say!("error: {err}");
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
            crate::say!("warning: pull_request_target runs with a write token: tollgate reads the PR's files as data only, but never let other steps run code from its head; the README's two-workflow pattern is safer");
        }
        // The change: from git when the base is here, else from the PR files API.
        let source = match app::review_change(
            &base,
            Some(scan_args.head.as_deref().unwrap_or("HEAD")),
        ) {
            Ok(review) => ChangeSource::Given(review),
            Err(git_err) => {
                let Some(client) = &self.client else {
                    crate::say!("error: {git_err:#}\nerror: and without a token tollgate cannot read the change from GitHub instead (set GITHUB_TOKEN, or check out with `fetch-depth: 0`)");
                    return Ok(EXIT_ERROR);
                };
                crate::say!("note: git cannot give the change ({git_err:#}); reading the pull request's files from GitHub instead");
                match files::pr_files(client, &self.pr).await {
                    Ok(listed) => {
                        for note in &listed.notes {
                            crate::say!("note: {note}");
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
                        crate::say!("error: {err}");
                        return Ok(EXIT_ERROR);
                    }
                }
            }
        };
        let scanned = match app::scan_change(scan_args, self.setup, source) {
            Ok(scanned) => scanned,
            Err(err) => {
                crate::say!("error: {err}");
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
        let broken = report_failed || scanned.bad_images || scanned.missing_paths;
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
        if outcome.other_files > 0 {
            notes.push(other_files_note(outcome.other_files));
        }
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
                    crate::say!("note: {note}");
                }
                crate::say!(
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
                crate::say!("error: posting to GitHub failed: {err}");
                if !self.setup.reports.is_empty() {
                    let written: Vec<String> = self
                        .setup
                        .reports
                        .iter()
                        .map(|r| r.path.display().to_string())
                        .collect();
                    crate::say!(
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
            crate::say!("warning: {why}; the findings are in the annotations, the step summary and the reports instead");
        }
        if in_actions() && !self.args.scan.no_annotations {
            app::github_output(outcome, &self.args.scan)?;
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
                crate::say!("error: {}: cannot read the report: {err}", file.display());
                return Ok(EXIT_ERROR);
            }
        };
        let report = match crate::report::json::read(&text) {
            Ok(report) => report,
            Err(err) => {
                crate::say!("error: {}:{err}", file.display());
                return Ok(EXIT_ERROR);
            }
        };
        let Some(meta) = report.review else {
            crate::say!("error: {}: this report has no `review` section: write it with `tollgate review --no-post --report json=FILE`", file.display());
            return Ok(EXIT_ERROR);
        };
        if meta.repository != self.pr.full_name() {
            crate::say!(
                "error: {}: the report is for another repository than this run's {}: nothing posted",
                file.display(),
                self.pr.full_name()
            );
            return Ok(EXIT_ERROR);
        }
        let Some(client) = &self.client else {
            crate::say!("error: no GitHub token (GITHUB_TOKEN or the action's `github-token` input): nothing to post with");
            return Ok(EXIT_ERROR);
        };
        // Trust the event and GitHub, not the report: the report came from the PR's own run.
        if let Trigger::WorkflowRun {
            head_sha,
            head_repository,
            head_branch,
        } = &self.pr.trigger
        {
            if meta.head_sha != *head_sha {
                crate::say!("error: {}: the report names commit {}, but the workflow run was for {}: nothing posted", file.display(), crate::review::comments::shorten(&meta.head_sha, 40), head_sha);
                return Ok(EXIT_ERROR);
            }
            let found = files::pull_for_commit(
                client,
                &self.pr,
                head_sha,
                head_repository.as_deref(),
                head_branch.as_deref(),
            )
            .await;
            match found {
                Ok(Some(number)) if self.pr.number == 0 || self.pr.number == number => {
                    self.pr.number = number
                }
                Ok(_) => {
                    crate::say!(
                        "error: GitHub knows no single open pull request from {}:{} with commit {head_sha}: nothing posted",
                        head_repository.as_deref().unwrap_or("?"),
                        head_branch.as_deref().unwrap_or("?")
                    );
                    return Ok(EXIT_ERROR);
                }
                Err(err) => {
                    crate::say!("error: {err}");
                    return Ok(EXIT_ERROR);
                }
            }
        }
        if self.pr.number == 0 || self.pr.number != meta.pull_request {
            crate::say!(
                "error: {}: the report is for PR #{}, but this run is for PR #{}: nothing posted",
                file.display(),
                meta.pull_request,
                self.pr.number
            );
            return Ok(EXIT_ERROR);
        }
        let info = match files::pull_info(client, &self.pr).await {
            Ok(info) => info,
            Err(err) => {
                crate::say!("error: {err}");
                return Ok(EXIT_ERROR);
            }
        };
        if info.head_sha != meta.head_sha {
            crate::say!("note: PR #{} has moved on to {} since the report was made for {}: nothing posted (the run for the new head will post)", self.pr.number, info.head_sha, meta.head_sha);
            return Ok(app::EXIT_OK);
        }
        let pr_files = match files::pr_files(client, &self.pr).await {
            Ok(listed) => listed,
            Err(err) => {
                crate::say!("error: {err}");
                return Ok(EXIT_ERROR);
            }
        };
        let changed = pr_files.files.keys().cloned().collect();
        let checked = match crate::review::from_report::check(report.findings, &changed) {
            Ok(checked) => checked,
            Err(err) => {
                crate::say!("error: {}: {err}: nothing posted", file.display());
                return Ok(EXIT_ERROR);
            }
        };
        if settings.check_run {
            // A check run is a status of the commit: a report alone never makes one.
            crate::say!("note: no check run from a report made by another run (--github-check is for runs that scan)");
            settings.check_run = false;
        }
        let findings = checked.findings;
        let mut notes = checked.notes;
        notes.extend(pr_files.notes.iter().cloned());
        settings.gate_fails = app::gate_fails(self.setup.fail_on, &findings);
        let rule_url = |id: &str| self.rule_url(id);
        let result = self
            .publish(
                client,
                settings,
                &meta.head_sha,
                &findings,
                Some(pr_files),
                &notes,
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

/// The one line that stands for every changed file nothing reads.
pub fn other_files_note(count: usize) -> String {
    match count {
        1 => "1 other file changed: no rule or image check reads it".to_string(),
        n => format!("{n} other files changed: no rule or image check reads them"),
    }
}

/// Says when the checked-out commit is not the PR head, and what follows.
fn say_checkout(checkout: &Checkout, head_sha: &str) {
    match checkout {
        Checkout::Head => {}
        Checkout::Other { commit } => crate::say!(
            "note: the checked-out commit {commit} is not the pull request's head {head_sha}: findings are moved to the head's lines, and those on lines that differ there are listed in the summary"
        ),
        Checkout::OtherWithoutHead { commit } => crate::say!(
            "warning: the checked-out commit {commit} is not the pull request's head {head_sha}, which is not in this clone; check out the head (actions/checkout with `ref: ${{{{ github.event.pull_request.head.sha }}}}`). Lines whose text differs from the PR's diff are listed in the summary, not commented"
        ),
    }
}
