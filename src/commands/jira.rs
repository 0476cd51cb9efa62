//! `tollgate jira sync`: the configuration (its `jira.url` pinned to the
//! base commit's), the change's facts from the CI, the event, then the
//! shared flow ([`crate::jira::flow`]).

use crate::cli::{JiraSyncArgs, OutputFormat};
use crate::config::trust::{self, BaseCommit, Place};
use crate::context::event::{self, Facts};
use crate::jira::flow::{self, Output};
use crate::jira::Event;
use crate::run::outcome::{EXIT_ERROR, EXIT_OK};

pub fn sync(args: JiraSyncArgs) -> anyhow::Result<i32> {
    let env = crate::github::context::process_env;
    let facts = match event::read(&env) {
        Ok(facts) => facts,
        Err(err) => {
            crate::say!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    let range = match &args.base {
        Some(base) => Some((
            base.clone(),
            args.head.clone().unwrap_or_else(|| "HEAD".into()),
        )),
        None => facts.as_ref().and_then(|f| f.range.clone()),
    };
    let base = match &args.base {
        Some(base) => Some(BaseCommit::MergeBase {
            base: base.clone(),
            head: args.head.clone(),
        }),
        None => range
            .as_ref()
            .map(|(base, _)| BaseCommit::Commit(base.clone())),
    };
    let loaded = trust::load(
        trust::Request {
            explicit: args.config.as_deref(),
            environment: args.environment.as_deref(),
            from_base: false,
        },
        &Place::Checkout { base },
    );
    for note in &loaded.notes {
        crate::say!("note: {note}");
    }
    if !loaded.errors.is_empty() {
        for error in &loaded.errors {
            crate::run::say_error(error);
        }
        return Ok(EXIT_ERROR);
    }
    let output = match args.format {
        OutputFormat::Text => Output::Text,
        OutputFormat::Json => Output::Json,
    };
    let Some(config) = loaded.effective.config.jira.clone() else {
        crate::say!(
            "note: no `jira:` section in the configuration ({}): nothing to sync",
            loaded
                .effective
                .file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_else(|| format!("no {} found", crate::config::FILE_NAME))
        );
        return Ok(nothing(output));
    };
    let event = match args.event.map(Event::from) {
        Some(event) => event,
        None => match facts.as_ref().and_then(|f| f.event) {
            Some(event) => event,
            None => {
                crate::say!(
                    "note: no Jira event: {}; nothing to do (pass --event opened|updated|merged|failed)",
                    why_no_event(facts.as_ref())
                );
                return Ok(nothing(output));
            }
        },
    };
    let head = head_commit(range.as_ref().map(|(_, head)| head.as_str()));
    let mut change = flow::change_from_facts(facts.as_ref(), head.as_deref());
    change.checked.passed = event != Event::Failed;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let request = flow::Request {
        config: &config,
        facts: facts.as_ref(),
        events: vec![event],
        change,
        range,
        dry_run: args.dry_run,
        output,
    };
    Ok(runtime.block_on(flow::run(request, &env)).exit)
}

/// With `--format json`, an empty list: a script reads the same shape always.
fn nothing(output: Output) -> i32 {
    if output == Output::Json {
        crate::ci_log::show(format_args!("{{\"issues\": []}}"));
    }
    EXIT_OK
}

fn why_no_event(facts: Option<&Facts>) -> String {
    match facts {
        Some(facts) => facts
            .why
            .clone()
            .unwrap_or_else(|| "the CI names no event".into()),
        None => "not run in GitHub Actions, GitLab CI or Jenkins".into(),
    }
}

/// The change's last commit, for its id outside a CI: `head` or HEAD.
fn head_commit(head: Option<&str>) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    let repo = crate::diff::git::Repo::discover(&cwd).ok()?;
    repo.resolve(head.unwrap_or("HEAD"))
        .ok()
        .map(|id| id.to_string())
}
