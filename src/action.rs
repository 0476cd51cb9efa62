//! `tollgate action`: the GitHub Action's entrypoint (`action.yml`). It reads
//! the action's inputs from `INPUT_<NAME>` (the name upper-cased, hyphens
//! kept, as the runner passes them to a container action), runs `review` on
//! pull request events (`scan` on the others), and writes the counts by
//! severity and the report paths to `$GITHUB_OUTPUT`.
//!
//! The inputs come from the workflow's author, not from the pull request;
//! still, `args` is split into words without a shell (quotes group, nothing
//! expands), and every value reaches `$GITHUB_OUTPUT` as one line.

use crate::cli::Cli;
use crate::finding::{Finding, Severity};
use crate::run::outcome::EXIT_ERROR;
use clap::Parser;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The events whose job reviews a pull request; the others scan the tree.
const REVIEW_EVENTS: &[&str] = &["pull_request", "pull_request_target", "workflow_run"];

/// Counts by severity of the run's findings, recorded once the reports are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

static COUNTS: OnceLock<Counts> = OnceLock::new();

/// Records the findings of this run (the first call wins: one run per process).
pub(crate) fn record(findings: &[Finding]) {
    let mut counts = Counts::default();
    for finding in findings {
        match finding.severity {
            Severity::Error => counts.error += 1,
            Severity::Warning => counts.warning += 1,
            Severity::Info => counts.info += 1,
        }
    }
    let _ = COUNTS.set(counts);
}

/// What the inputs ask for: the command line, where to run it, the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub argv: Vec<String>,
    pub working_directory: Option<PathBuf>,
    /// `(kind, path)` of each `reports` entry, the path as given.
    pub reports: Vec<(String, String)>,
}

/// The input `name` as the runner passes it; blank means unset.
fn input(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(&format!("INPUT_{}", name.to_ascii_uppercase()))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Turns the inputs into a `tollgate` command line, without running anything.
pub fn plan(env: &dyn Fn(&str) -> Option<String>) -> Result<Plan, String> {
    let event = env("GITHUB_EVENT_NAME").unwrap_or_default();
    let command = if REVIEW_EVENTS.contains(&event.as_str()) {
        "review"
    } else {
        "scan"
    };
    let mut argv = vec!["tollgate".to_string(), command.to_string()];
    for (name, flag) in [
        ("config", "--config"),
        ("env", "--env"),
        ("fail-on", "--fail-on"),
        ("filter", "--filter"),
    ] {
        if let Some(value) = input(env, name) {
            argv.push(flag.to_string());
            argv.push(value);
        }
    }
    let mut reports = Vec::new();
    for entry in input(env, "reports").unwrap_or_default().split_whitespace() {
        let (kind, path) = entry.split_once('=').ok_or_else(|| {
            format!("input `reports`: expected KIND=PATH entries (e.g. sarif=tollgate.sarif), got `{entry}`")
        })?;
        if path == "-" {
            return Err(format!(
                "input `reports`: `{entry}` would write to the log; give a file path"
            ));
        }
        argv.push("--report".to_string());
        argv.push(entry.to_string());
        reports.push((kind.to_string(), path.to_string()));
    }
    if let Some(args) = input(env, "args") {
        let words =
            shlex::split(&args).ok_or("input `args`: an unclosed quote or a trailing backslash")?;
        argv.extend(words);
    }
    let working_directory = input(env, "working-directory").map(PathBuf::from);
    // Report paths cannot hold one: `reports` is split on white space.
    if working_directory
        .as_deref()
        .is_some_and(|d| d.to_string_lossy().contains(['\n', '\r']))
    {
        return Err("input `working-directory`: a path with a line break".to_string());
    }
    Ok(Plan {
        argv,
        working_directory,
        reports,
    })
}

/// The `$GITHUB_OUTPUT` lines: counts (when the run got as far as its
/// findings), report paths as seen from the workspace, and the exit code.
pub fn outputs(plan: &Plan, counts: Option<Counts>, exit_code: i32) -> String {
    let mut out = String::new();
    if let Some(c) = counts {
        out.push_str(&format!(
            "findings={}\nerrors={}\nwarnings={}\ninfos={}\n",
            c.error + c.warning + c.info,
            c.error,
            c.warning,
            c.info
        ));
    }
    for (kind, path) in &plan.reports {
        let path = match &plan.working_directory {
            Some(dir) => dir.join(path).to_string_lossy().into_owned(),
            None => path.clone(),
        };
        out.push_str(&format!("{kind}={path}\n"));
    }
    out.push_str(&format!("exit-code={exit_code}\n"));
    out
}

pub fn run() -> anyhow::Result<i32> {
    let env = |name: &str| std::env::var(name).ok();
    let token = input(&env, "github-token");
    if let (true, Some(token)) = (crate::ci_log::guarding(), &token) {
        // The runner hides it from every later line of the log.
        let _ = crate::ci_log::command(
            &mut std::io::stdout().lock(),
            format_args!("::add-mask::{}", crate::report::github::escape_data(token)),
        );
    }
    // A line break would let the value end a `::add-mask::` line and start
    // a workflow command of its own; no real token has one.
    let token_ok = token.is_none_or(|t| !t.contains(['\n', '\r']));
    let planned = if token_ok {
        plan(&env)
    } else {
        Err("input `github-token`: a line break (the value is not shown)".to_string())
    };
    let (text, code) = match planned {
        Ok(plan) => {
            let code = execute(&plan)?;
            (outputs(&plan, COUNTS.get().copied(), code), code)
        }
        Err(err) => {
            crate::say!("error: {err}");
            (format!("exit-code={EXIT_ERROR}\n"), EXIT_ERROR)
        }
    };
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(err) = written {
            crate::say!(
                "error: cannot write the action's outputs to GITHUB_OUTPUT ({}): {err}",
                Path::new(&path).display()
            );
            return Ok(EXIT_ERROR);
        }
    }
    Ok(code)
}

/// Runs the planned command in its working directory.
fn execute(plan: &Plan) -> anyhow::Result<i32> {
    if let Some(dir) = &plan.working_directory {
        if let Err(err) = std::env::set_current_dir(dir) {
            crate::say!(
                "error: input `working-directory`: cannot enter {}: {err}",
                dir.display()
            );
            return Ok(EXIT_ERROR);
        }
    }
    let cli = match Cli::try_parse_from(&plan.argv) {
        Ok(cli) => cli,
        Err(err) => {
            for line in err.render().to_string().lines() {
                crate::say!("{line}");
            }
            crate::say!("error: the action's inputs do not make a valid `tollgate` command");
            return Ok(EXIT_ERROR);
        }
    };
    if matches!(cli.command, crate::cli::Command::Action) {
        crate::say!("error: input `args`: `action` cannot run itself");
        return Ok(EXIT_ERROR);
    }
    crate::app::run(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn inputs_become_flags_and_args_split_without_a_shell() {
        let vars = [
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("INPUT_FAIL-ON", "warning"),
            ("INPUT_CONFIG", " ci/gate.yml "),
            ("INPUT_ENV", ""),
            ("INPUT_REPORTS", "sarif=a.sarif\n json=b.json"),
            ("INPUT_ARGS", "--id 'two words' $(touch x) \"a;b\""),
        ];
        let plan = plan(&env_of(&vars)).unwrap();
        assert_eq!(
            plan.argv,
            [
                "tollgate",
                "review",
                "--config",
                "ci/gate.yml",
                "--fail-on",
                "warning",
                "--report",
                "sarif=a.sarif",
                "--report",
                "json=b.json",
                "--id",
                "two words",
                "$(touch",
                "x)",
                "a;b"
            ]
        );
    }

    #[test]
    fn a_push_scans_and_bad_inputs_are_named() {
        let push = plan(&env_of(&[("GITHUB_EVENT_NAME", "push")])).unwrap();
        assert_eq!(push.argv, ["tollgate", "scan"]);
        let quote = plan(&env_of(&[("INPUT_ARGS", "--id 'open")])).unwrap_err();
        assert!(quote.contains("input `args`"), "{quote}");
        let kind = plan(&env_of(&[("INPUT_REPORTS", "tollgate.sarif")])).unwrap_err();
        assert!(kind.contains("input `reports`"), "{kind}");
        let log = plan(&env_of(&[("INPUT_REPORTS", "json=-")])).unwrap_err();
        assert!(log.contains("log"), "{log}");
        let dir = plan(&env_of(&[("INPUT_WORKING-DIRECTORY", "a\rb")])).unwrap_err();
        assert!(dir.contains("working-directory"), "{dir}");
    }

    #[test]
    fn outputs_are_one_line_each_and_paths_start_at_the_workspace() {
        let plan = plan(&env_of(&[
            ("INPUT_REPORTS", "sarif=t.sarif"),
            ("INPUT_WORKING-DIRECTORY", "svc"),
        ]))
        .unwrap();
        let counts = Counts {
            error: 2,
            warning: 1,
            info: 0,
        };
        assert_eq!(
            outputs(&plan, Some(counts), 1),
            "findings=3\nerrors=2\nwarnings=1\ninfos=0\nsarif=svc/t.sarif\nexit-code=1\n"
        );
        assert_eq!(outputs(&plan, None, 2), "sarif=svc/t.sarif\nexit-code=2\n");
    }
}
