//! Which environment variables a configuration file may read, and whether a
//! text holds the value of a secret. A pull request controls `.tollgate.yml`,
//! so the file may only read variables that are known not to be secrets.

/// Name prefixes a configuration may read: tollgate's own, and the CI's own
/// non-secret variables (GitLab `CI_*`, Actions `GITHUB_*`, Jenkins `CHANGE_*`, `BUILD_*`).
const READABLE_PREFIXES: &[&str] = &["TOLLGATE_", "CI_", "GITHUB_", "CHANGE_", "BUILD_"];
/// Whole names a configuration may read (Jenkins).
const READABLE_NAMES: &[&str] = &[
    "CI",
    "BRANCH_NAME",
    "JOB_NAME",
    "JOB_BASE_NAME",
    "NODE_NAME",
];
/// A name containing one of these is a secret, whatever its prefix.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "KEY",
    "JWT",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "COOKIE",
    "WEBHOOK",
    "SESSION",
];
/// Variables that carry a credential without saying so: GitLab puts the job
/// token into the clone URL.
const SECRET_NAMES: &[&str] = &["CI_REPOSITORY_URL"];
/// Shorter values are too common to count as a known secret inside a text.
const MIN_SECRET_LEN: usize = 8;

/// Whether the name looks like it holds a secret (the deny list wins over every prefix).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("INPUT_")
        || SECRET_NAMES.contains(&upper.as_str())
        || SECRET_WORDS.iter().any(|word| upper.contains(word))
}

/// Whether a configuration file may read the variable `name`.
pub fn may_read(name: &str) -> bool {
    !is_secret_name(name)
        && (READABLE_NAMES.contains(&name) || READABLE_PREFIXES.iter().any(|p| name.starts_with(p)))
}

/// What a refused variable's error says may be read instead.
pub const READABLE_HELP: &str = "a configuration reads only variables named TOLLGATE_*, or the CI's own CI_*, GITHUB_*, CHANGE_*, BUILD_*, BRANCH_NAME, JOB_NAME; never one whose name contains TOKEN, SECRET, PASSWORD, KEY, JWT, CREDENTIAL, AUTH, PRIVATE, COOKIE or WEBHOOK, nor INPUT_*";

/// Whether `text` contains `token` (the forge token) or the value of an
/// environment variable with a secret-like name (of at least 8 characters).
pub fn holds_secret(
    text: &str,
    token: Option<&str>,
    env: impl IntoIterator<Item = (String, String)>,
) -> bool {
    let found = |secret: &str| !secret.is_empty() && text.contains(secret);
    token.is_some_and(found)
        || env.into_iter().any(|(name, value)| {
            is_secret_name(&name) && value.len() >= MIN_SECRET_LEN && found(value.trim())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tollgate_and_ci_variables_but_never_secret_names() {
        for name in [
            "TOLLGATE_ENV",
            "TOLLGATE_REPORT_DIR",
            "CI",
            "CI_COMMIT_REF_NAME",
            "CI_PROJECT_DIR",
            "GITHUB_REF_NAME",
            "BRANCH_NAME",
            "CHANGE_ID",
            "BUILD_NUMBER",
            "JOB_NAME",
        ] {
            assert!(may_read(name), "{name}");
        }
        for name in [
            "TOLLGATE_API_TOKEN",
            "TOLLGATE_JIRA_PASSWORD",
            "CI_JOB_TOKEN",
            "CI_JOB_JWT_V2",
            "CI_REGISTRY_PASSWORD",
            "CI_REPOSITORY_URL",
            "CI_DEPLOY_PASSWD",
            "GITHUB_TOKEN",
            "GITHUB_APP_PRIVATE_KEY",
            "BUILD_SIGNING_KEY",
            "CHANGE_AUTHOR_COOKIE",
            "TOLLGATE_SLACK_WEBHOOK",
            "TOLLGATE_BASIC_AUTH",
            "TOLLGATE_DB_CREDENTIALS",
            "TOLLGATE_Client_Secret",
            "INPUT_GITHUB-TOKEN",
            "INPUT_ID",
            "HOME",
            "PATH",
            "AWS_SECRET_ACCESS_KEY",
            "JIRA_TOKEN",
            "ci_job_name",
        ] {
            assert!(!may_read(name), "{name}");
        }
    }

    #[test]
    fn finds_the_token_and_secret_named_values_in_a_text() {
        let env = || {
            vec![
                (
                    "AWS_SECRET_ACCESS_KEY".to_string(),
                    "wJalrXUtnFEMI".to_string(),
                ),
                ("SHORT_TOKEN".to_string(), "abc".to_string()),
                ("TOLLGATE_ID".to_string(), "frontend-team".to_string()),
            ]
        };
        assert!(holds_secret(
            "x-ghs_123456789-y",
            Some("ghs_123456789"),
            env()
        ));
        assert!(holds_secret("id-wJalrXUtnFEMI", None, env()));
        assert!(!holds_secret("abc-team", None, env()), "too short to count");
        assert!(
            !holds_secret("frontend-team", None, env()),
            "not a secret name"
        );
        assert!(!holds_secret("backend", Some(""), env()));
    }
}
