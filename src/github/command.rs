//! `tollgate review` on GitHub: the pull request from Actions' event (or
//! flags), the token, its head and base, then the review pipeline with
//! GitHub as the forge; a `workflow_run` posts a report made by the pull
//! request's own run, after checking that it is that pull request's.

use super::client::Client;
use super::context::{self, Endpoints, Overrides, PullRequest, Trigger};
use super::files;
use super::forge::{GitHub, ReviewEvent, DIALECT};
use crate::cli::ReviewArgs;
use crate::commands::review::Jenkins;
use crate::review::forge::ForgeError;
use crate::review::pipeline::{
    config_place, in_actions, refuses_to_post, settings, time_limit, Pipeline, Posting, Target,
};
use crate::review::publish::Published;
use crate::run::outcome::EXIT_ERROR;
use crate::run::outputs::stdout_taken;
use crate::run::setup::setup;

/// Reviews a pull request; `jenkins` is the Jenkins build that named it
/// (flags still win over what its `CHANGE_URL` says).
pub fn run(args: ReviewArgs, jenkins: Option<Jenkins>) -> anyhow::Result<i32> {
    let env = context::process_env;
    let location = jenkins.as_ref().map(|j| &j.location);
    let overrides = Overrides {
        repo: args
            .repo
            .clone()
            .or_else(|| location.map(|l| l.repository.clone())),
        pr: args.pr.or(location.map(|l| l.number)),
        token: args.github_token.clone(),
    };
    let token = context::token(&overrides, &env);
    if token
        .as_ref()
        .is_some_and(|t| t.expose().chars().any(char::is_control))
    {
        // It would end the `::add-mask::` line and break the request header.
        crate::say!("error: the GitHub token (--github-token, the action's `github-token` input or GITHUB_TOKEN) contains a line break or another control character (the value is not shown)");
        return Ok(EXIT_ERROR);
    }
    if let (true, Some(token)) = (in_actions(), &token) {
        // The runner hides the value from every later line of the log. It
        // reads commands from both streams; stdout may carry JSON.
        let mask = format_args!("::add-mask::{}", token.expose());
        let data_on_stdout =
            args.scan.format == crate::cli::OutputFormat::Json || stdout_taken(&args.scan);
        let _ = if data_on_stdout {
            crate::ci_log::command(&mut std::io::stderr().lock(), mask)
        } else {
            crate::ci_log::command(&mut std::io::stdout().lock(), mask)
        };
    }
    let mut pr = match context::pull_request(&overrides, &env) {
        Ok(pr) => pr,
        Err(err) => {
            crate::say!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    let mut endpoints = context::endpoints(&env);
    if let Some(jenkins) = &jenkins {
        // GIT_COMMIT may be a merge Jenkins made: the head comes from GitHub.
        pr.from_fork = jenkins.build.from_fork();
        endpoints.run_url = jenkins.build.build_url.clone();
        if env("GITHUB_API_URL").is_none() {
            endpoints.api_url = jenkins.location.api_url.clone();
            endpoints.server_url = jenkins.location.server_url.clone();
            if let Some(graphql) = &jenkins.location.graphql_url {
                endpoints.graphql_url = graphql.clone();
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // octocrab starts its worker on the runtime it is built in.
    let _entered = runtime.enter();
    if args.scan.config_from_base && args.from.is_none() && args.scan.base.is_none() {
        // The configuration is read from the base: ask GitHub for it first
        // when the event did not say (--pr, Jenkins).
        if let (None, Some(token)) = (&pr.base_sha, &token) {
            let limit = time_limit(args.time_limit, None);
            let info = match Client::new(&endpoints, token, limit) {
                Ok(client) => runtime
                    .block_on(files::pull_info(&client.verbose(args.verbose), &pr))
                    .map_err(|e| e.to_string()),
                Err(err) => Err(err),
            };
            match info {
                Ok(info) => {
                    pr.head_sha.get_or_insert(info.head_sha);
                    pr.base_sha.get_or_insert(info.base_sha);
                }
                Err(err) => {
                    crate::say!("error: {err}");
                    return Ok(EXIT_ERROR);
                }
            }
        }
    }
    let setup = setup(&args.scan, &config_place(&args, pr.base_sha.as_deref()));
    if refuses_to_post(&args, &setup) {
        return Ok(EXIT_ERROR);
    }
    let github = setup.effective.config.github.clone().unwrap_or_default();
    let limit = time_limit(args.time_limit, github.time_limit);
    let posting = Posting {
        id_key: "github.id",
        id: github.id.as_deref(),
        max_comments: github.max_comments,
        on_clean: github.on_clean,
    };
    let token_value = token.as_ref().map(|t| t.expose());
    let Some(settings) = settings(&args, posting, &DIALECT, token_value) else {
        return Ok(EXIT_ERROR);
    };
    let extras = Extras {
        event: args
            .review_event
            .or(github.review_event)
            .unwrap_or(ReviewEvent::Comment),
        check_run: args.github_check || github.check_run.unwrap_or(false),
    };
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
        pipeline: Pipeline {
            args: &args,
            setup: &setup,
            settings: &settings,
            dialect: &DIALECT,
            checkout_advice: "check out the head (actions/checkout with `ref: ${{ github.event.pull_request.head.sha }}`)",
        },
        pr,
        endpoints,
        client,
        extras,
        jenkins: jenkins.is_some(),
    };
    match &args.from {
        Some(file) => runtime.block_on(job.post_report(file)),
        None => runtime.block_on(job.scan_and_post()),
    }
}

/// What only GitHub does: the review event and the check run.
struct Extras {
    event: ReviewEvent,
    check_run: bool,
}

struct Job<'a> {
    pipeline: Pipeline<'a>,
    pr: PullRequest,
    endpoints: Endpoints,
    client: Option<Client>,
    extras: Extras,
    /// Run by Jenkins, not GitHub Actions.
    jenkins: bool,
}

impl Job<'_> {
    fn forge<'c>(&'c self, client: &'c Client, head_sha: &'c str) -> GitHub<'c> {
        GitHub {
            client,
            pr: &self.pr,
            head_sha,
            server_url: &self.endpoints.server_url,
            event: self.extras.event,
            name: self.pipeline.settings.markers.name(),
        }
    }

    fn target(&self, head_sha: String, base: String) -> Target {
        Target {
            repository: self.pr.full_name(),
            number: self.pr.number,
            head_sha,
            base,
            run_url: self.endpoints.run_url.clone(),
            run_label: if self.jenkins {
                "build"
            } else {
                "workflow run"
            },
        }
    }

    /// What a 403 on writing usually means here.
    fn denied(&self, err: &ForgeError) -> String {
        format!(
            "GitHub refused to let this token write to PR #{} (403: {}){}",
            self.pr.number,
            err.message,
            if self.pr.from_fork {
                "; pull requests from forks get a read-only token: see the README's two-workflow pattern"
            } else {
                "; give the job `pull-requests: write`"
            }
        )
    }

    /// The usual run: scan the pull request's change here, then post.
    async fn scan_and_post(mut self) -> anyhow::Result<i32> {
        let scan_args = &self.pipeline.args.scan;
        if matches!(self.pr.trigger, Trigger::WorkflowRun { .. }) {
            crate::say!("error: on a `workflow_run` event tollgate posts a report made by the pull request's own run: `tollgate review --from tollgate.json` (see the README's two-workflow pattern)");
            return Ok(EXIT_ERROR);
        }
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
        if self.pr.trigger == Trigger::PullRequestTarget {
            crate::say!("warning: pull_request_target runs with a write token: tollgate reads the PR's files as data only, but never let other steps run code from its head; the README's two-workflow pattern is safer");
        }
        let target = self.target(head_sha, base);
        let forge = self
            .client
            .as_ref()
            .map(|client| self.forge(client, &target.head_sha));
        let mut scanned = match self.pipeline.scan(&target, forge.as_ref()).await {
            Ok(scanned) => scanned,
            Err(exit) => return Ok(exit),
        };
        if self.pipeline.args.no_post {
            self.pipeline.fall_back(&scanned.outcome, None);
            return Ok(scanned.exit);
        }
        let Some(forge) = &forge else {
            self.pipeline.fall_back(&scanned.outcome, Some("no GitHub token (GITHUB_TOKEN or the action's `github-token` input), so nothing was posted"));
            return Ok(scanned.exit);
        };
        let result = self.pipeline.post(forge, &target, &mut scanned).await;
        let result = self
            .check_run(forge, result, &scanned.findings, scanned.gate_fails)
            .await;
        Ok(self
            .pipeline
            .finish(forge, &target, result, scanned.ran(), &|err| {
                self.denied(err)
            })
            .await)
    }

    /// The optional check run, once the review is posted.
    async fn check_run(
        &self,
        forge: &GitHub<'_>,
        result: Result<Published, ForgeError>,
        findings: &[crate::finding::Finding],
        gate_fails: bool,
    ) -> Result<Published, ForgeError> {
        let mut published = result?;
        if !self.extras.check_run {
            return Ok(published);
        }
        let created = super::checks::create(
            forge.client,
            &format!("/repos/{}", self.pr.full_name()),
            &self.pipeline.settings.markers.name(),
            forge.head_sha,
            findings,
            gate_fails,
        )
        .await;
        match created {
            Ok(()) => {}
            // The comments are posted; only the check run is not allowed.
            Err(err) if err.status() == Some(403) => published.notes.push(format!(
                "no check run: {err}; give the job `checks: write` (a personal token cannot create check runs)"
            )),
            Err(err) => return Err(err.into()),
        }
        Ok(published)
    }

    /// The privileged half of the fork pattern: post a report made by an
    /// unprivileged run, checking that it belongs to this pull request's head.
    async fn post_report(mut self, file: &std::path::Path) -> anyhow::Result<i32> {
        let Some(report) = crate::review::pipeline::read_report(file) else {
            return Ok(EXIT_ERROR);
        };
        let Some(meta) = report.review.clone() else {
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
        if self.extras.check_run {
            // A check run is a status of the commit: a report alone never makes one.
            crate::say!("note: no check run from a report made by another run (--github-check is for runs that scan)");
            self.extras.check_run = false;
        }
        let target = self.target(meta.head_sha.clone(), String::new());
        let forge = self.forge(client, &target.head_sha);
        Ok(self
            .pipeline
            .post_report(file, report, &info.head_sha, &forge, &target, &|err| {
                self.denied(err)
            })
            .await)
    }
}
