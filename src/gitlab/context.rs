//! Where a GitLab review goes: the API, the project, the merge request and
//! the commits, read from GitLab CI's predefined variables (or from
//! `--gitlab-url`/`--project`/`--mr` elsewhere), and the token to use. The
//! environment is read through a lookup function so that tests need no
//! process environment.

use crate::github::context::{Env, Token};
use gitlab::api::common::NameOrId;

/// What `tollgate review` was told on its command line about GitLab.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// An instance URL (`https://gitlab.example.com`, meaning `…/api/v4`) or
    /// an API URL ending in `/api/v4`.
    pub gitlab_url: Option<String>,
    /// A numeric project id or a `group/sub/project` path.
    pub project: Option<String>,
    pub mr: Option<u64>,
}

/// `CI_MERGE_REQUEST_EVENT_TYPE`: what commit the pipeline built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// The MR's head itself (`detached`).
    Detached,
    /// A merge of the head into the target branch (`merged_result`,
    /// `merge_train`): `CI_COMMIT_SHA` is not the MR's head.
    MergedResult,
    /// Not a merge request pipeline (flags outside GitLab CI).
    Manual,
}

/// The merge request under review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    /// The REST API root, `…/api/v4`, without a trailing `/`.
    pub api_url: String,
    /// A numeric id or a `group/sub/project` path, as given.
    pub project: String,
    pub iid: u64,
    pub pipeline: Pipeline,
    /// The commit the pipeline checked out and scanned (`CI_COMMIT_SHA`).
    pub commit_sha: Option<String>,
    /// `CI_MERGE_REQUEST_DIFF_BASE_SHA`: the merge base of the diff.
    pub diff_base_sha: Option<String>,
    /// `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`, set in merged-results pipelines:
    /// the MR head, when the MR's versions cannot say.
    pub source_branch_sha: Option<String>,
    /// Differs from the project for a merge request from a fork.
    pub source_project_id: Option<String>,
    pub pipeline_url: Option<String>,
    /// The MR's project's web page (`CI_MERGE_REQUEST_PROJECT_URL`, else
    /// `CI_PROJECT_URL`), for links.
    pub project_url: Option<String>,
}

impl MergeRequest {
    /// The project as the API addresses it (a path is percent-encoded when formatted).
    pub fn project_ref(&self) -> NameOrId<'_> {
        match self.project.parse::<u64>() {
            Ok(id) => NameOrId::Id(id),
            Err(_) => NameOrId::Name(self.project.as_str().into()),
        }
    }

    /// `projects/ID/merge_requests/IID`, the root of every MR endpoint.
    pub fn mr_path(&self) -> String {
        format!(
            "projects/{}/merge_requests/{}",
            self.project_ref(),
            self.iid
        )
    }

    /// The head the pipeline built, when the environment knows it for sure:
    /// `CI_COMMIT_SHA` in a detached pipeline, `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`
    /// in a merged-results one (where `CI_COMMIT_SHA` is a merge commit).
    pub fn head_from_env(&self) -> Option<&str> {
        match self.pipeline {
            Pipeline::MergedResult => self.source_branch_sha.as_deref(),
            Pipeline::Detached | Pipeline::Manual => self.commit_sha.as_deref(),
        }
    }
}

/// The token, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenState {
    Found(Token),
    /// Only `CI_JOB_TOKEN`, which cannot read or write MR discussions.
    JobTokenOnly,
    Missing,
}

/// The one line to print when only a job token is there.
pub const JOB_TOKEN_ONLY: &str = "GitLab does not let a job token (CI_JOB_TOKEN) read or write merge request discussions: create a project access token (role Reporter or Developer, scope `api`) and store it as a masked, protected CI/CD variable named TOLLGATE_GITLAB_TOKEN. The scan, the reports and the exit code are unaffected; nothing is posted.";

/// The token: `TOLLGATE_GITLAB_TOKEN`, else `GITLAB_TOKEN`.
pub fn token(env: Env<'_>) -> TokenState {
    match env("TOLLGATE_GITLAB_TOKEN")
        .or_else(|| env("GITLAB_TOKEN"))
        .and_then(Token::new)
    {
        Some(token) => TokenState::Found(token),
        None if env("CI_JOB_TOKEN").is_some() => TokenState::JobTokenOnly,
        None => TokenState::Missing,
    }
}

/// The REST API root for a URL given on the command line: an API URL
/// (ending in `/api/v4`) as it is, an instance URL with `/api/v4` added.
pub fn api_url(given: &str) -> Result<String, String> {
    let trimmed = given.trim().trim_end_matches('/');
    let (scheme, rest) = trimmed
        .split_once("://")
        .filter(|(s, r)| matches!(*s, "http" | "https") && !r.is_empty() && !r.starts_with('/'))
        .ok_or_else(|| {
            format!("--gitlab-url `{given}`: expected a URL such as https://gitlab.example.com")
        })?;
    if rest.contains(['?', '#']) {
        return Err(format!(
            "--gitlab-url `{given}`: expected no query or fragment"
        ));
    }
    Ok(if rest.ends_with("/api/v4") {
        format!("{scheme}://{rest}")
    } else {
        format!("{scheme}://{rest}/api/v4")
    })
}

/// Finds the merge request: flags win over GitLab CI's variables.
pub fn merge_request(overrides: &Overrides, env: Env<'_>) -> Result<MergeRequest, String> {
    let in_ci = env("GITLAB_CI").is_some();
    let api_url = match &overrides.gitlab_url {
        Some(url) => api_url(url)?,
        None => match env("CI_API_V4_URL") {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => return Err("no GitLab API: run in a GitLab CI merge request pipeline (CI_API_V4_URL) or pass --gitlab-url URL".into()),
        },
    };
    // The MR's own project: a fork's pipeline runs in the fork (CI_PROJECT_ID),
    // while the merge request and its discussions live in the target project.
    let project = overrides
        .project
        .clone()
        .or_else(|| env("CI_MERGE_REQUEST_PROJECT_ID"))
        .or_else(|| env("CI_PROJECT_ID"))
        .ok_or("no project: run in GitLab CI (CI_PROJECT_ID) or pass --project ID|group/path")?;
    let project = project.trim().trim_matches('/').to_string();
    if project.is_empty() || project.split('/').any(str::is_empty) {
        return Err(format!(
            "project `{project}`: expected a numeric id or a path such as group/app"
        ));
    }
    let iid = match overrides.mr {
        Some(iid) => iid,
        None => match env("CI_MERGE_REQUEST_IID") {
            Some(iid) => iid.trim().parse().map_err(|_| {
                format!("CI_MERGE_REQUEST_IID `{iid}`: expected a merge request number")
            })?,
            None if in_ci => return Err("no merge request: this is not a merge request pipeline (CI_MERGE_REQUEST_IID is unset); run the job with `rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`, or pass --mr N".into()),
            None => return Err("no merge request: pass --mr N".into()),
        },
    };
    let pipeline = match env("CI_MERGE_REQUEST_EVENT_TYPE").as_deref() {
        Some("merged_result" | "merge_train") => Pipeline::MergedResult,
        Some(_) => Pipeline::Detached,
        None if overrides.mr.is_none() && in_ci => Pipeline::Detached,
        None => Pipeline::Manual,
    };
    Ok(MergeRequest {
        api_url,
        project,
        iid,
        pipeline,
        commit_sha: env("CI_COMMIT_SHA"),
        diff_base_sha: env("CI_MERGE_REQUEST_DIFF_BASE_SHA"),
        source_branch_sha: env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"),
        source_project_id: env("CI_MERGE_REQUEST_SOURCE_PROJECT_ID"),
        pipeline_url: env("CI_PIPELINE_URL"),
        project_url: env("CI_MERGE_REQUEST_PROJECT_URL")
            .or_else(|| env("CI_PROJECT_URL"))
            .map(|u| u.trim_end_matches('/').to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    const MR_PIPELINE: &[(&str, &str)] = &[
        ("GITLAB_CI", "true"),
        ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
        ("CI_PROJECT_ID", "42"),
        ("CI_PROJECT_URL", "https://gitlab.example.com/acme/app"),
        ("CI_MERGE_REQUEST_IID", "7"),
        ("CI_MERGE_REQUEST_EVENT_TYPE", "detached"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "base0"),
        ("CI_COMMIT_SHA", "head1"),
        (
            "CI_PIPELINE_URL",
            "https://gitlab.example.com/acme/app/-/pipelines/9",
        ),
        ("CI_JOB_TOKEN", "job-token-value"),
        ("TOLLGATE_GITLAB_TOKEN", "glpat-secret"),
    ];

    #[test]
    fn a_merge_request_pipeline_needs_no_flags() {
        let env = env_of(MR_PIPELINE);
        let mr = merge_request(&Overrides::default(), &env).unwrap();
        assert_eq!(mr.api_url, "https://gitlab.example.com/api/v4");
        assert_eq!((mr.project.as_str(), mr.iid), ("42", 7));
        assert_eq!(mr.mr_path(), "projects/42/merge_requests/7");
        assert_eq!(mr.pipeline, Pipeline::Detached);
        assert_eq!(mr.head_from_env(), Some("head1"));
        assert_eq!(mr.diff_base_sha.as_deref(), Some("base0"));
        assert_eq!(
            token(&env),
            TokenState::Found(Token::new("glpat-secret".into()).unwrap())
        );
    }

    #[test]
    fn a_merged_results_pipeline_does_not_take_the_merge_commit_for_the_head() {
        let mut pairs = MR_PIPELINE.to_vec();
        pairs.retain(|(k, _)| *k != "CI_MERGE_REQUEST_EVENT_TYPE");
        pairs.push(("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result"));
        pairs.push(("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "realhead"));
        let mr = merge_request(&Overrides::default(), &env_of(&pairs)).unwrap();
        assert_eq!(mr.pipeline, Pipeline::MergedResult);
        assert_eq!(mr.commit_sha.as_deref(), Some("head1"));
        assert_eq!(mr.head_from_env(), Some("realhead"));
        pairs.retain(|(k, _)| *k != "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA");
        let train = merge_request(&Overrides::default(), &env_of(&pairs)).unwrap();
        assert_eq!(
            train.head_from_env(),
            None,
            "without the variable, the head comes from the MR's versions"
        );
    }

    #[test]
    fn a_pipeline_in_a_fork_reviews_the_merge_request_in_its_target_project() {
        let mut pairs = MR_PIPELINE.to_vec();
        pairs.retain(|(k, _)| *k != "CI_PROJECT_ID" && *k != "CI_PROJECT_URL");
        pairs.extend([
            ("CI_PROJECT_ID", "99"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/eve/app"),
            ("CI_MERGE_REQUEST_PROJECT_ID", "42"),
            (
                "CI_MERGE_REQUEST_PROJECT_URL",
                "https://gitlab.example.com/acme/app",
            ),
            ("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "99"),
        ]);
        let mr = merge_request(&Overrides::default(), &env_of(&pairs)).unwrap();
        assert_eq!(mr.mr_path(), "projects/42/merge_requests/7");
        assert_eq!(
            mr.project_url.as_deref(),
            Some("https://gitlab.example.com/acme/app")
        );
        assert_eq!(mr.source_project_id.as_deref(), Some("99"));
    }

    #[test]
    fn a_job_token_alone_is_its_own_outcome() {
        let env = env_of(&[("CI_JOB_TOKEN", "job")]);
        assert_eq!(token(&env), TokenState::JobTokenOnly);
        assert!(
            JOB_TOKEN_ONLY.contains("TOLLGATE_GITLAB_TOKEN") && JOB_TOKEN_ONLY.contains("`api`")
        );
        assert_eq!(token(&env_of(&[])), TokenState::Missing);
        let fallback = env_of(&[("GITLAB_TOKEN", "glpat-b"), ("CI_JOB_TOKEN", "job")]);
        assert_eq!(
            token(&fallback),
            TokenState::Found(Token::new("glpat-b".into()).unwrap())
        );
    }

    #[test]
    fn a_project_path_is_encoded_and_flags_win() {
        let overrides = Overrides {
            gitlab_url: Some("https://gitlab.example.com/".into()),
            project: Some("group/sub/app".into()),
            mr: Some(3),
        };
        let mr = merge_request(&overrides, &env_of(MR_PIPELINE)).unwrap();
        assert_eq!(mr.mr_path(), "projects/group%2Fsub%2Fapp/merge_requests/3");
        assert_eq!(mr.api_url, "https://gitlab.example.com/api/v4");
        let bad = Overrides {
            project: Some("group//app".into()),
            ..overrides
        };
        assert!(merge_request(&bad, &env_of(MR_PIPELINE))
            .unwrap_err()
            .contains("expected a numeric id or a path"));
    }

    #[test]
    fn a_path_prefix_is_kept() {
        assert_eq!(
            api_url("https://example.com/gitlab").unwrap(),
            "https://example.com/gitlab/api/v4"
        );
        assert_eq!(
            api_url("http://127.0.0.1:8080/gitlab/api/v4/").unwrap(),
            "http://127.0.0.1:8080/gitlab/api/v4"
        );
        assert!(api_url("gitlab.example.com").is_err());
        assert!(api_url("https://x/?private_token=1").is_err());
        let env = env_of(&[
            ("GITLAB_CI", "true"),
            ("CI_API_V4_URL", "https://example.com/gitlab/api/v4"),
            ("CI_PROJECT_ID", "5"),
            ("CI_MERGE_REQUEST_IID", "1"),
        ]);
        let mr = merge_request(&Overrides::default(), &env).unwrap();
        assert_eq!(mr.api_url, "https://example.com/gitlab/api/v4");
    }

    #[test]
    fn outside_a_merge_request_pipeline_the_error_says_what_to_do() {
        let env = env_of(&[
            ("GITLAB_CI", "true"),
            ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
            ("CI_PROJECT_ID", "42"),
        ]);
        assert!(merge_request(&Overrides::default(), &env)
            .unwrap_err()
            .contains("merge_request_event"));
    }
}
