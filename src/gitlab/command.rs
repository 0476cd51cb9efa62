//! `tollgate review` on GitLab: the merge request from GitLab CI's variables
//! (or flags, or a Jenkins build's `CHANGE_URL`), the token, the MR's latest
//! version (its head and base), then the review pipeline with GitLab as the
//! forge.

use super::client::Client;
use super::context::{self, MergeRequest, Overrides, TokenState, JOB_TOKEN_ONLY};
use super::forge::{GitLab, DIALECT};
use crate::cli::ReviewArgs;
use crate::commands::review::Jenkins;
use crate::github::context::process_env;
use crate::review::forge::ForgeError;
use crate::review::pipeline::{
    config_place, read_report, refuses_to_post, settings, time_limit, Pipeline, Posting, Target,
};
use crate::run::outcome::EXIT_ERROR;
use crate::run::setup::setup;
use std::time::Duration;

/// Reviews a merge request; `jenkins` is the Jenkins build that named it.
pub fn run(args: ReviewArgs, jenkins: Option<Jenkins>) -> anyhow::Result<i32> {
    let env = process_env;
    let location = jenkins.as_ref().map(|j| &j.location);
    let overrides = Overrides {
        gitlab_url: args
            .gitlab_url
            .clone()
            .or_else(|| location.map(|l| l.api_url.clone())),
        project: args
            .project
            .clone()
            .or_else(|| location.map(|l| l.repository.clone())),
        mr: args.mr.or(location.map(|l| l.number)),
    };
    let mut mr = match context::merge_request(&overrides, &env) {
        Ok(mr) => mr,
        Err(err) => {
            crate::say!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    if let Some(jenkins) = &jenkins {
        mr.pipeline_url = jenkins.build.build_url.clone();
        mr.project_url.get_or_insert_with(|| {
            format!(
                "{}/{}",
                jenkins.location.server_url, jenkins.location.repository
            )
        });
    }
    let (token, job_token_only) = match context::token(&env) {
        TokenState::Found(token) => (Some(token), false),
        TokenState::JobTokenOnly => {
            crate::say!("warning: {JOB_TOKEN_ONLY}");
            (None, true)
        }
        TokenState::Missing => (None, false),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The MR's latest version names its head and base: GitLab's word, not
    // the pipeline's commit (a merge in a merged-results pipeline). It is
    // read before the configuration only when that comes from a base no
    // variable names (outside GitLab CI).
    let connect = |limit: Duration| -> Result<Option<Result<GitLab, ForgeError>>, String> {
        let Some(token) = &token else {
            return Ok(None);
        };
        let client = Client::new(&mr.api_url, token.clone(), limit)?.verbose(args.verbose);
        Ok(Some(runtime.block_on(GitLab::connect(client, mr.clone()))))
    };
    let early = args.scan.config_from_base
        && args.from.is_none()
        && args.scan.base.is_none()
        && mr.diff_base_sha.is_none();
    let mut connected = if early {
        match connect(time_limit(args.time_limit, None)) {
            Ok(connected) => Some(connected),
            Err(err) => {
                crate::say!("error: {err}");
                return Ok(EXIT_ERROR);
            }
        }
    } else {
        None
    };
    let base_sha = mr.diff_base_sha.clone().or_else(|| match &connected {
        Some(Some(Ok(forge))) => Some(forge.version().base_commit_sha.clone()),
        _ => None,
    });
    let setup = setup(&args.scan, &config_place(&args, base_sha.as_deref()));
    if refuses_to_post(&args, &setup) {
        return Ok(EXIT_ERROR);
    }
    let gitlab = setup.effective.config.gitlab.clone().unwrap_or_default();
    let posting = Posting {
        id_key: "gitlab.id",
        id: gitlab.id.as_deref(),
        max_comments: gitlab.max_comments,
        on_clean: gitlab.on_clean,
    };
    let token_value = token.as_ref().map(|t| t.expose());
    let Some(settings) = settings(&args, posting, &DIALECT, token_value) else {
        return Ok(EXIT_ERROR);
    };
    if connected.is_none() {
        match connect(time_limit(args.time_limit, gitlab.time_limit)) {
            Ok(now) => connected = Some(now),
            Err(err) => {
                crate::say!("error: {err}");
                return Ok(EXIT_ERROR);
            }
        }
    }
    let (forge, unreachable) = match connected.flatten() {
        Some(Ok(forge)) => (Some(forge), None),
        Some(Err(err)) => {
            crate::say!("error: {err}");
            (None, Some(err))
        }
        None => (None, None),
    };
    let base_sha = base_sha.or_else(|| forge.as_ref().map(|f| f.version().base_commit_sha.clone()));
    let head_sha = forge
        .as_ref()
        .map(|f| f.head_sha().to_string())
        .or_else(|| mr.head_from_env().map(str::to_string))
        .unwrap_or_default();
    let target = Target {
        repository: mr.project.clone(),
        number: mr.iid,
        head_sha,
        base: args.scan.base.clone().or(base_sha).unwrap_or_default(),
        run_url: mr.pipeline_url.clone(),
        run_label: if jenkins.is_some() {
            "build"
        } else {
            "pipeline"
        },
    };
    let job = Job {
        pipeline: Pipeline {
            args: &args,
            setup: &setup,
            settings: &settings,
            dialect: &DIALECT,
            checkout_advice: "fetch the merge request's head (GIT_DEPTH: \"0\")",
        },
        mr: &mr,
        forge,
        unreachable,
        job_token_only,
    };
    runtime.block_on(async {
        match &args.from {
            Some(file) => job.post_report(file, &target).await,
            None => job.scan_and_post(&target).await,
        }
    })
}

struct Job<'a> {
    pipeline: Pipeline<'a>,
    mr: &'a MergeRequest,
    forge: Option<GitLab>,
    /// Why GitLab could not be reached, when it could not.
    unreachable: Option<ForgeError>,
    /// Only CI_JOB_TOKEN is there, which has been said.
    job_token_only: bool,
}

impl Job<'_> {
    fn denied(&self, err: &ForgeError) -> String {
        format!(
            "GitLab refused to let this token write to MR !{} (403: {}); the token's user needs the Developer role and the token the `api` scope",
            self.mr.iid, err.message
        )
    }

    async fn scan_and_post(&self, target: &Target) -> anyhow::Result<i32> {
        let mut scanned = match self.pipeline.scan(target, self.forge.as_ref()).await {
            Ok(scanned) => scanned,
            Err(exit) => return Ok(exit),
        };
        if self.pipeline.args.no_post {
            self.pipeline.fall_back(&scanned.outcome, None);
            return Ok(scanned.exit);
        }
        let Some(forge) = &self.forge else {
            if let Some(err) = &self.unreachable {
                // Said above; the reports are written and in place.
                self.pipeline.fall_back(&scanned.outcome, None);
                crate::say!("error: nothing posted to GitLab: {}", err.message);
                return Ok(EXIT_ERROR);
            }
            let why =
                "no GitLab token (TOLLGATE_GITLAB_TOKEN or GITLAB_TOKEN), so nothing was posted";
            let why = (!self.job_token_only).then_some(why);
            self.pipeline.fall_back(&scanned.outcome, why);
            return Ok(scanned.exit);
        };
        let result = self.pipeline.post(forge, target, &mut scanned).await;
        Ok(self
            .pipeline
            .finish(forge, target, result, scanned.ran(), &|err| {
                self.denied(err)
            })
            .await)
    }

    /// Posts a report made by another job (`review --from`), after checking
    /// that it is for this merge request and its current head.
    async fn post_report(&self, file: &std::path::Path, target: &Target) -> anyhow::Result<i32> {
        let Some(report) = read_report(file) else {
            return Ok(EXIT_ERROR);
        };
        let Some(meta) = report.review.clone() else {
            crate::say!("error: {}: this report has no `review` section: write it with `tollgate review --no-post --report json=FILE`", file.display());
            return Ok(EXIT_ERROR);
        };
        if meta.repository != self.mr.project || meta.pull_request != self.mr.iid {
            crate::say!(
                "error: {}: the report is for another merge request than this run's (project {}, MR !{}): nothing posted",
                file.display(),
                self.mr.project,
                self.mr.iid
            );
            return Ok(EXIT_ERROR);
        }
        let Some(forge) = &self.forge else {
            crate::say!("error: no usable GitLab token (TOLLGATE_GITLAB_TOKEN or GITLAB_TOKEN): nothing to post with");
            return Ok(EXIT_ERROR);
        };
        let reported = Target {
            repository: target.repository.clone(),
            number: target.number,
            head_sha: meta.head_sha.clone(),
            base: String::new(),
            run_url: target.run_url.clone(),
            run_label: target.run_label,
        };
        Ok(self
            .pipeline
            .post_report(file, report, forge.head_sha(), forge, &reported, &|err| {
                self.denied(err)
            })
            .await)
    }
}
