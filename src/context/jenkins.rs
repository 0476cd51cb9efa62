//! A Jenkins build, read from the variables a multibranch pipeline sets:
//! whether it builds a pull/merge request (`CHANGE_*`), and from
//! `CHANGE_URL` which forge holds it and where that forge's API is.
//!
//! Pure: it reads an environment lookup and does no I/O. `GIT_COMMIT` is kept
//! only as the checked-out commit: Jenkins may have merged the change into
//! its target locally, so the head to anchor comments on comes from the forge.

/// A Jenkins build, as far as a review cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Build {
    /// Neither `JENKINS_URL` nor `BUILD_URL` is set.
    NotJenkins,
    /// A Jenkins build with nothing to review; the reason can be printed.
    NoChange { reason: &'static str },
    /// A multibranch pull request (GitHub) or merge request (GitLab) build.
    Change(ChangeBuild),
}

/// What a branch build is, for the caller to say.
pub const BRANCH_BUILD: &str = "a Jenkins branch build, not a pull/merge request build (no CHANGE_ID): there is no change to review";

/// The `CHANGE_*` variables of a pull/merge request build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBuild {
    /// `CHANGE_ID`: the pull or merge request number.
    pub number: u64,
    /// `CHANGE_TARGET`: the branch the change goes into.
    pub target_branch: Option<String>,
    /// `CHANGE_BRANCH`: the change's own branch (in the fork, for a fork).
    pub source_branch: Option<String>,
    /// `CHANGE_URL`: the change's web page.
    pub change_url: Option<String>,
    /// `CHANGE_FORK`: set (to the fork's owner or name) when the change comes from a fork.
    pub fork: Option<String>,
    /// `BUILD_URL`: this build's page, for the summary.
    pub build_url: Option<String>,
    /// `GIT_COMMIT`: the checked-out commit. It may be a local merge commit
    /// the forge has never seen: never the head to comment on.
    pub checked_out_commit: Option<String>,
}

impl ChangeBuild {
    /// Whether the change comes from a fork.
    pub fn from_fork(&self) -> bool {
        self.fork.is_some()
    }

    /// The forge, API and change that `CHANGE_URL` names; its number must be
    /// `CHANGE_ID`. `gitlab_url` (`--gitlab-url`) tells a GitLab path prefix
    /// apart from a top-level group, which the URL alone cannot.
    pub fn location(&self, gitlab_url: Option<&str>) -> Result<Location, String> {
        let Some(url) = &self.change_url else {
            return Err(format!(
                "Jenkins sets CHANGE_ID ({}) but not CHANGE_URL, so the forge is unknown: {FLAGS_INSTEAD}",
                self.number
            ));
        };
        let location = Location::from_change_url(url, gitlab_url)?;
        if location.number != self.number {
            return Err(format!(
                "CHANGE_URL {url:?} names {} {}, but CHANGE_ID is {}: which one is under review is unclear",
                location.forge.change_noun(),
                location.number,
                self.number
            ));
        }
        Ok(location)
    }
}

/// What a caller can pass when `CHANGE_URL` does not say where the change is.
const FLAGS_INSTEAD: &str = "give the forge with --forge github --repo OWNER/NAME, or --forge gitlab --gitlab-url URL --project PATH";

/// Reads the build from `env` (an unset or empty variable counts as unset).
/// An error is a `CHANGE_ID` that is not a number.
pub fn read(env: &dyn Fn(&str) -> Option<String>) -> Result<Build, String> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if var("JENKINS_URL").is_none() && var("BUILD_URL").is_none() {
        return Ok(Build::NotJenkins);
    }
    let Some(id) = var("CHANGE_ID") else {
        return Ok(Build::NoChange {
            reason: BRANCH_BUILD,
        });
    };
    let number = parse_number(id.trim()).ok_or_else(|| {
        format!("CHANGE_ID {id:?}: expected the pull/merge request number (a whole number above 0)")
    })?;
    Ok(Build::Change(ChangeBuild {
        number,
        target_branch: var("CHANGE_TARGET"),
        source_branch: var("CHANGE_BRANCH"),
        change_url: var("CHANGE_URL").map(|u| u.trim().to_string()),
        fork: var("CHANGE_FORK"),
        build_url: var("BUILD_URL"),
        checked_out_commit: var("GIT_COMMIT"),
    }))
}

/// Which forge holds the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    GitHub,
    GitLab,
}

impl Forge {
    fn change_noun(self) -> &'static str {
        match self {
            Forge::GitHub => "pull request",
            Forge::GitLab => "merge request",
        }
    }
}

/// Where a change lives, derived from its web URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub forge: Forge,
    /// The web root: `https://github.com`, `https://HOST`, `https://HOST/prefix`.
    pub server_url: String,
    /// The REST API: `https://api.github.com`, `https://HOST/api/v3`, `https://HOST[/prefix]/api/v4`.
    pub api_url: String,
    /// GitHub's GraphQL endpoint; `None` on GitLab.
    pub graphql_url: Option<String>,
    /// `OWNER/NAME` on GitHub, the project path (`group/sub/project`) on GitLab.
    pub repository: String,
    /// The pull or merge request number.
    pub number: u64,
}

impl Location {
    /// Reads `https://github.com/OWNER/NAME/pull/N`,
    /// `https://HOST/OWNER/NAME/pull/N` (GitHub Enterprise Server) or
    /// `https://HOST[/prefix]/group/…/project/-/merge_requests/N` (GitLab).
    /// A GitLab prefix is recognised only when `gitlab_url` names it.
    pub fn from_change_url(url: &str, gitlab_url: Option<&str>) -> Result<Location, String> {
        let unexpected = |why: &str| {
            format!(
                "CHANGE_URL {:?}: {why}; expected https://HOST/OWNER/NAME/pull/N (GitHub) or https://HOST/GROUP/PROJECT/-/merge_requests/N (GitLab); or {FLAGS_INSTEAD}",
                redacted(url)
            )
        };
        let (origin, segments) = split_url(url).map_err(&unexpected)?;
        match segments.as_slice() {
            [owner, name, pull, n] if *pull == "pull" => {
                let number = parse_number(n).ok_or_else(|| unexpected("the number is not one"))?;
                let host = origin.split_once("://").map_or("", |(_, h)| h);
                let (api_url, graphql_url) = if host.eq_ignore_ascii_case("github.com") {
                    (
                        "https://api.github.com".to_string(),
                        "https://api.github.com/graphql".to_string(),
                    )
                } else {
                    (format!("{origin}/api/v3"), format!("{origin}/api/graphql"))
                };
                Ok(Location {
                    forge: Forge::GitHub,
                    server_url: origin.clone(),
                    api_url,
                    graphql_url: Some(graphql_url),
                    repository: format!("{owner}/{name}"),
                    number,
                })
            }
            [path @ .., dash, mr, n] if *dash == "-" && *mr == "merge_requests" => {
                let number = parse_number(n).ok_or_else(|| unexpected("the number is not one"))?;
                let prefix = gitlab_prefix(&origin, path, gitlab_url);
                let project = &path[prefix..];
                if project.len() < 2 || project.contains(&"-") {
                    return Err(unexpected(
                        "a GitLab project path has a group and a project",
                    ));
                }
                let server_url = std::iter::once(origin.as_str())
                    .chain(path[..prefix].iter().copied())
                    .collect::<Vec<_>>()
                    .join("/");
                Ok(Location {
                    forge: Forge::GitLab,
                    api_url: format!("{server_url}/api/v4"),
                    server_url,
                    graphql_url: None,
                    repository: project.join("/"),
                    number,
                })
            }
            _ => Err(unexpected(
                "neither a GitHub pull request nor a GitLab merge request",
            )),
        }
    }
}

/// How many leading segments of a GitLab project's URL path are the
/// instance's own prefix: those of `gitlab_url` when it is the same server.
fn gitlab_prefix(origin: &str, path: &[&str], gitlab_url: Option<&str>) -> usize {
    let Some((known_origin, mut known)) = gitlab_url.and_then(|u| split_url(u).ok()) else {
        return 0;
    };
    // An API URL names the same prefix.
    if known.ends_with(&["api", "v4"]) {
        known.truncate(known.len() - 2);
    }
    let same = known_origin.eq_ignore_ascii_case(origin) && path.starts_with(&known);
    if same {
        known.len()
    } else {
        0
    }
}

/// `scheme://host[:port]` (host lowercased) and the path's segments, for an
/// http(s) URL with no credentials, query or fragment and no empty segment
/// (a trailing `/` is allowed).
fn split_url(url: &str) -> Result<(String, Vec<&str>), &'static str> {
    let (scheme, rest) = url.split_once("://").ok_or("not a URL")?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err("not an http(s) URL");
    }
    if rest.contains(['?', '#']) {
        return Err("a query or fragment is not expected");
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err("a URL with credentials is not expected");
    }
    let host_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if authority.is_empty() || !authority.chars().all(host_ok) {
        return Err("no valid host");
    }
    let segments: Vec<&str> = path.strip_suffix('/').unwrap_or(path).split('/').collect();
    let segment_ok = |s: &&str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic());
    if path.is_empty() || !segments.iter().all(segment_ok) {
        return Err("an empty or unprintable path segment");
    }
    let origin = format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    );
    Ok((origin, segments))
}

/// A URL as it may be shown: any `user:password@` part replaced.
fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// A pull/merge request number: decimal digits, above 0.
fn parse_number(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse().ok())
        .flatten()
        .filter(|n| *n > 0)
}

#[cfg(test)]
mod tests;
