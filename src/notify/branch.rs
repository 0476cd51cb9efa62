//! Notifications of `tollgate scan` in CI: a branch build (Jenkins, a
//! pipeline on the default branch) has no change request and no summary, so
//! the message names the branch and `change` counts as changed. Only a run
//! in CI notifies: a developer's local `tollgate scan` never does.

use super::config::NotifyConfig;
use super::message::{Inputs, Message};
use crate::finding::Finding;
use crate::review::summary::{url_path, Outcome};

/// What the CI says about the build: all from the runner's own variables.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Build {
    /// `acme/app`, `group/app`, or Jenkins' job name.
    pub repository: String,
    /// The branch (or ref) built.
    pub branch: String,
    /// The project's web page, for links to the branch and to lines.
    pub project_url: Option<String>,
    /// What comes before `/blob/…`, `/tree/…`: "" on GitHub, "/-" on GitLab.
    pub web_infix: &'static str,
    pub commit: Option<String>,
    /// What the CI calls a run, and this one's URL.
    pub run: Option<(&'static str, String)>,
}

/// The build `env` describes: GitHub Actions, GitLab CI, Jenkins, or another
/// CI (`CI=true`, without links). None outside CI.
pub fn build(env: &dyn Fn(&str) -> Option<String>) -> Option<Build> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let is = |name: &str| var(name).is_some_and(|v| v == "true");
    if is("GITHUB_ACTIONS") {
        let repository = var("GITHUB_REPOSITORY")?;
        let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let project = format!("{}/{repository}", server.trim_end_matches('/'));
        let run =
            var("GITHUB_RUN_ID").map(|id| ("workflow run", format!("{project}/actions/runs/{id}")));
        return Some(Build {
            branch: var("GITHUB_REF_NAME").unwrap_or_default(),
            repository,
            project_url: Some(project),
            web_infix: "",
            commit: var("GITHUB_SHA"),
            run,
        });
    }
    if is("GITLAB_CI") {
        return Some(Build {
            repository: var("CI_PROJECT_PATH")?,
            branch: var("CI_COMMIT_REF_NAME").unwrap_or_default(),
            project_url: var("CI_PROJECT_URL"),
            web_infix: "/-",
            commit: var("CI_COMMIT_SHA"),
            run: var("CI_PIPELINE_URL").map(|url| ("pipeline", url)),
        });
    }
    if var("JENKINS_URL").is_some() {
        return Some(Build {
            repository: var("JOB_NAME").unwrap_or_else(|| "this job".into()),
            branch: var("BRANCH_NAME")
                .or_else(|| var("GIT_BRANCH"))
                .unwrap_or_default(),
            project_url: None,
            web_infix: "",
            commit: var("GIT_COMMIT"),
            run: var("BUILD_URL").map(|url| ("build", url)),
        });
    }
    is("CI").then(|| Build {
        repository: "this repository".into(),
        ..Build::default()
    })
}

/// The message about a branch build.
pub fn message(
    build: &Build,
    config: &NotifyConfig,
    outcome: Outcome,
    findings: &[Finding],
) -> Message {
    let infix = build.web_infix;
    let blob_url = match (&build.project_url, &build.commit) {
        (Some(project), Some(commit)) => {
            Some(format!("{project}{infix}/blob/{}", url_path(commit)))
        }
        _ => None,
    };
    let change_url = match &build.project_url {
        Some(project) if !build.branch.is_empty() => {
            Some(format!("{project}{infix}/tree/{}", url_path(&build.branch)))
        }
        _ => None,
    };
    let change_ref = if build.branch.is_empty() {
        "the build".to_string()
    } else {
        format!("branch {}", build.branch)
    };
    Message::new(&Inputs {
        name: "tollgate".into(),
        outcome,
        findings,
        max_findings: config.max_findings(),
        change_ref,
        repository: &build.repository,
        change_url,
        blob_url,
        run: build
            .run
            .as_ref()
            .map(|(label, url)| (*label, url.as_str())),
        jira: &[],
    })
}

/// Notifies about a `tollgate scan` in CI that exits with `exit`, as
/// `notify` asks. Findings' paths are the scanner's (relative to here).
pub fn notify_scan(config: Option<&NotifyConfig>, findings: &[Finding], exit: i32) {
    let Some(config) = config else {
        return;
    };
    let env = |name: &str| std::env::var(name).ok();
    let Some(build) = build(&env) else {
        return; // A local run: said in the README, not on every scan.
    };
    let paths = crate::report::RepoPaths::detect();
    let findings: Vec<Finding> = findings
        .iter()
        .map(|f| Finding {
            path: paths.of(&f.path).into(),
            ..f.clone()
        })
        .collect();
    // The job's outcome: a refused configuration fails it too.
    let outcome = Outcome::of(exit != crate::run::outcome::EXIT_OK);
    let message = message(&build, config, outcome, &findings);
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(super::notify(config, &message, None)),
        Err(err) => crate::say!("warning: notifications not sent: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn each_ci_describes_its_build_and_a_laptop_none() {
        let gitlab = build(&env(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "group/app"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/group/app"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_COMMIT_SHA", "abc"),
            (
                "CI_PIPELINE_URL",
                "https://gitlab.example.com/group/app/-/pipelines/9",
            ),
        ]))
        .unwrap();
        let message = message(&gitlab, &NotifyConfig::default(), Outcome::Failed, &[]);
        assert_eq!(
            message.headline(),
            "tollgate: branch main of group/app failed"
        );
        assert_eq!(
            message.change_url.as_deref(),
            Some("https://gitlab.example.com/group/app/-/tree/main")
        );
        let jenkins = build(&env(&[
            ("JENKINS_URL", "https://ci.example.com/"),
            ("JOB_NAME", "app/main"),
            ("BRANCH_NAME", "main"),
            ("BUILD_URL", "https://ci.example.com/job/app/job/main/3/"),
        ]))
        .unwrap();
        assert_eq!(jenkins.run.as_ref().unwrap().0, "build");
        assert!(jenkins.project_url.is_none());
        assert!(build(&env(&[("CI", "true")])).is_some());
        assert_eq!(build(&env(&[("HOME", "/home/me")])), None);
    }
}
