//! Where Jira is: `JIRA_URL` (the runner's environment) or `jira.url`, an
//! https URL (http only on this machine, for tests) that carries no
//! credentials. Its value is never chosen by the change under review:
//! `jira.url` keeps the base commit's value (see `config::pin`).

/// `url` when it may receive the Jira credentials, without a trailing `/`;
/// else why not (never echoing a password it may hold).
pub fn check_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = url::Url::parse(trimmed)
        .map_err(|e| format!("not a URL ({e}): expected e.g. https://example.atlassian.net"))?;
    let local = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if local => {}
        other => {
            return Err(format!(
                "`{other}://`: expected an https:// URL (the API token is sent to it)"
            ))
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("expected a host, e.g. https://example.atlassian.net".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a URL with a user or password: credentials come from JIRA_API_TOKEN and JIRA_EMAIL only".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("expected the site's base URL, without `?` or `#`".into());
    }
    Ok(trimmed.to_string())
}

/// The base URL: `JIRA_URL` first, then `jira.url`. An error says what to set.
pub fn base_url(
    config: &super::JiraConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    match env("JIRA_URL").filter(|u| !u.trim().is_empty()) {
        Some(url) => check_url(&url).map_err(|why| format!("JIRA_URL: {why}")),
        None => match &config.url {
            Some(url) => check_url(url).map_err(|why| format!("jira.url: {why}")),
            None => Err("no Jira site: set `jira.url` in .tollgate.yml or JIRA_URL".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_local_http_without_credentials() {
        assert_eq!(
            check_url("https://acme.atlassian.net/").unwrap(),
            "https://acme.atlassian.net"
        );
        assert_eq!(
            check_url("https://jira.example.com/context").unwrap(),
            "https://jira.example.com/context"
        );
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        for bad in [
            "http://jira.example.com",
            "ftp://jira.example.com",
            "https://user:s3cret@jira.example.com",
            "https://jira.example.com/?x=1",
            "jira.example.com",
        ] {
            let err = check_url(bad).unwrap_err();
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn jira_url_from_the_environment_wins() {
        let config = crate::jira::JiraConfig {
            url: Some("https://from-file.example.com".into()),
            ..Default::default()
        };
        let env = |name: &str| (name == "JIRA_URL").then(|| "https://from-env.example.com".into());
        assert_eq!(
            base_url(&config, &env).unwrap(),
            "https://from-env.example.com"
        );
        assert_eq!(
            base_url(&config, &|_| None).unwrap(),
            "https://from-file.example.com"
        );
        assert!(base_url(&Default::default(), &|_| None)
            .unwrap_err()
            .contains("JIRA_URL"));
    }
}
