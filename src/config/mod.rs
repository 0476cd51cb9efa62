//! `.tollgate.yml`: rule selection, paths, filter, `fail_on`, reports, and
//! per-environment overlays, with `${VAR}` / `${VAR:-default}` taken from
//! an allow-list of non-secret environment variables. A pull request can
//! edit the file: it never reads a secret, nor points outside the repository.

mod interpolate;
pub mod paths;
mod pin;
pub mod secrets;
pub mod trust;

pub use pin::pin_credential_destinations;

use crate::cli::FailOn;
use crate::diff::FilterMode;
use crate::finding::Severity;
use crate::yaml;
use globset::{Glob, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = ".tollgate.yml";

/// The configuration as written; an environment entry has the same shape
/// and overlays the top level.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which rules run, at which severity, from where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RulesConfig>,
    /// Paths never scanned: globs; one without `/` matches file names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    /// Which findings of a change to keep (with `--base`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterMode>,
    /// Lowest severity that fails the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on: Option<FailOn>,
    /// Fail the step when a changed Go or Rust file could not be scanned
    /// (too big, unreadable, not UTF-8, over the time budget); default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on_skipped: Option<bool>,
    /// Report files written on every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports: Option<ReportsConfig>,
    /// Container image policies per environment (checked here; enforced by the image checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImagesConfig>,
    /// How `tollgate review` posts on GitHub pull requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GitHubConfig>,
    /// How `tollgate review` posts on GitLab merge requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<GitLabConfig>,
    /// Jira follows the code: the issues a change names move on its events
    /// (`tollgate jira sync`, and `tollgate review` after posting). The
    /// credentials come from the environment only (JIRA_API_TOKEN, JIRA_EMAIL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira: Option<crate::jira::JiraConfig>,
    /// When `tollgate review` tells Slack and Discord (webhook URLs come from
    /// `SLACK_WEBHOOK_URL` / `DISCORD_WEBHOOK_URL` only, never from this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<crate::notify::config::NotifyConfig>,
    /// Named overlays, chosen with `--env NAME` or `TOLLGATE_ENV`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<BTreeMap<String, Config>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Only these rules run (ids or globs such as `rust/*`); default: all but the opt-in ones.
    /// An opt-in rule named here by its exact id runs too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<Vec<String>>,
    /// Opt-in rules that run too (ids or globs such as `rust/*`), like clippy's restriction group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_in: Option<Vec<String>>,
    /// These rules never run (ids or globs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<Vec<String>>,
    /// Severity overrides by rule id or glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<BTreeMap<String, Severity>>,
    /// Extra rule files or folders, relative to the configuration file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<PathBuf>>,
    /// Whether the library embedded in the binary is loaded (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rules: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagesConfig {
    /// Image policy by environment name: one policy, or a list of policies
    /// of which each image gets the first whose `match` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<BTreeMap<String, EnvironmentPolicy>>,
    /// Severity of a change that moves an image's SemVer tag back (with `--base`); default warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgrade: Option<Severity>,
}

/// An environment's image policies: one, or a list where each image gets the
/// first policy whose `match` names it (a policy without `match` takes every
/// image), and an image no policy names is not checked.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvironmentPolicy {
    One(ImagePolicy),
    Many(Vec<ImagePolicy>),
}

impl EnvironmentPolicy {
    pub fn policies(&self) -> &[ImagePolicy] {
        match self {
            EnvironmentPolicy::One(policy) => std::slice::from_ref(policy),
            EnvironmentPolicy::Many(policies) => policies,
        }
    }

    /// The configuration path of policy `index`, for messages.
    pub fn key(&self, env: &str, index: usize) -> String {
        match self {
            EnvironmentPolicy::One(_) => format!("images.environments.{env}"),
            EnvironmentPolicy::Many(_) => format!("images.environments.{env}[{index}]"),
        }
    }
}

impl<'de> Deserialize<'de> for EnvironmentPolicy {
    /// A map is one policy, a sequence a list: decided by the shape, so a
    /// typo inside a policy still gets serde's own error with its line
    /// (an untagged enum would only say that nothing matched).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Shape;
        impl<'de> serde::de::Visitor<'de> for Shape {
            type Value = EnvironmentPolicy;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an image policy (a map) or a list of image policies")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                ImagePolicy::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(EnvironmentPolicy::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                Vec::<ImagePolicy>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(EnvironmentPolicy::Many)
            }
        }
        deserializer.deserialize_any(Shape)
    }
}

/// What image references an environment accepts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePolicy {
    /// Which images this policy is for: repository globs such as
    /// `registry.example.com/shop/*` (`*` stays within one path segment,
    /// `**` crosses them), matched against the full name
    /// (`docker.io/library/golang`) and the short one (`golang`); absent = every image.
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<String>>,
    /// Allowed registries, exact `domain[:port]`; absent = any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registries: Option<Vec<String>>,
    /// References must carry a digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_digest: Option<bool>,
    /// Deny `latest` and references with neither tag nor digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_latest: Option<bool>,
    /// Regular expressions; the tag must match at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Regular expressions; the tag must match none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_tags: Option<Vec<String>>,
    /// A SemVer range such as `>=1.0.0, <3.0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_prerelease: Option<bool>,
    /// Read `_` in a tag as `+` (Helm's convention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_metadata_underscore: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitHubConfig {
    /// The review event when a new comment is an error: `comment` (default) or `request_changes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_event: Option<crate::github::forge::ReviewEvent>,
    /// Most inline comments per run (default 30); the rest are listed in the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_comments: Option<usize>,
    /// The summary comment when a run finds nothing: `keep` it saying so (default), or `delete` it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_clean: Option<crate::review::publish::OnClean>,
    /// Also create a check run with annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_run: Option<bool>,
    /// Seconds the whole conversation with GitHub may take (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<u64>,
    /// Name of this review when several tollgate jobs review one pull request
    /// (letters, digits, `-`, `_`, `.`): each keeps its own comments and summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The GitLab review. Where GitLab is and the token come from GitLab CI's
/// variables or flags, never from this file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitLabConfig {
    /// Most inline discussions per run (default 30); the rest are listed in the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_comments: Option<usize>,
    /// The summary note when a run finds nothing: `keep` it saying so (default), or `delete` it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_clean: Option<crate::review::publish::OnClean>,
    /// Seconds the whole conversation with GitLab may take (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<u64>,
    /// Name of this review when several tollgate jobs review one merge request
    /// (letters, digits, `-`, `_`, `.`): each keeps its own discussions and summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sarif: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codequality: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<PathBuf>,
}

/// A bad configuration: the file, the line where known, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// Several problems as one error: the first, with the others on the
    /// lines after it (each `file:line: message`). None when there are none.
    pub fn joined(problems: Vec<ConfigError>) -> Option<ConfigError> {
        let mut problems = problems.into_iter();
        let mut first = problems.next()?;
        for other in problems {
            first.message.push('\n');
            first.message.push_str(&other.to_string());
        }
        Some(first)
    }
}

/// A loaded configuration with one environment applied.
#[derive(Debug, Clone)]
pub struct Effective {
    pub config: Config,
    /// The folder of the configuration file: relative paths start there.
    pub base_dir: PathBuf,
    pub file: Option<PathBuf>,
}

/// The largest configuration file read: anything bigger is not a configuration.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// Finds the configuration: `explicit`, else `.tollgate.yml` in the current
/// folder, else at the repository root. A file found (not named on the
/// command line) must be a regular file inside the repository, not a symlink:
/// it may come from a pull request.
pub fn locate(explicit: Option<&Path>) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = explicit {
        return Ok(Some(path.to_path_buf()));
    }
    let here = PathBuf::from(FILE_NAME);
    let cwd = std::env::current_dir().ok();
    let repo = cwd
        .as_deref()
        .and_then(|cwd| crate::diff::git::Repo::discover(cwd).ok());
    let root = repo
        .as_ref()
        .and_then(|r| r.workdir())
        .map(Path::to_path_buf);
    let found = if here.symlink_metadata().is_ok() {
        here
    } else {
        match &root {
            Some(root) if root.join(FILE_NAME).symlink_metadata().is_ok() => root.join(FILE_NAME),
            _ => return Ok(None),
        }
    };
    check_found(&found, root.as_deref())?;
    Ok(Some(found))
}

/// A found configuration file is a regular file, inside `root` when there is
/// a repository, and not too big. Errors never show the file's content.
fn check_found(file: &Path, root: Option<&Path>) -> Result<(), ConfigError> {
    let error = |message: String| ConfigError {
        file: file.display().to_string(),
        line: None,
        message,
    };
    let meta = file
        .symlink_metadata()
        .map_err(|e| error(format!("cannot read: {e}")))?;
    if meta.file_type().is_symlink() {
        return Err(error("expected a regular file, found a symbolic link: a configuration found in the repository is never followed out of it (name a file with --config)".into()));
    }
    if !meta.is_file() {
        return Err(error("expected a regular file".into()));
    }
    if let Some(root) = root {
        let inside = match (file.canonicalize(), root.canonicalize()) {
            (Ok(file), Ok(root)) => file.starts_with(root),
            _ => false,
        };
        if !inside {
            return Err(error(
                "expected a file inside the repository's working tree".into(),
            ));
        }
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(error(format!(
            "{} bytes: expected a configuration of at most {MAX_FILE_SIZE} bytes",
            meta.len()
        )));
    }
    Ok(())
}

/// Reads at most [`MAX_FILE_SIZE`] bytes of `file` as UTF-8.
fn read_capped(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(format!(
            "expected a configuration of at most {MAX_FILE_SIZE} bytes"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "expected UTF-8 text".to_string())
}

/// Loads `file` (if any) and applies `environment`.
pub fn load(file: Option<&Path>, environment: Option<&str>) -> Result<Effective, ConfigError> {
    let Some(file) = file else {
        if let Some(env) = environment {
            return Err(ConfigError {
                file: FILE_NAME.into(),
                line: None,
                message: format!(
                    "environment `{env}` was asked for, but there is no configuration file"
                ),
            });
        }
        return Ok(Effective {
            config: Config::default(),
            base_dir: PathBuf::from("."),
            file: None,
        });
    };
    let name = file.display().to_string();
    let text = read_capped(file).map_err(|message| ConfigError {
        file: name.clone(),
        line: None,
        message,
    })?;
    let base_dir = file
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let root = paths::root_of(&base_dir);
    let check = |path: &Path| paths::check_on_disk(&root, &base_dir, path);
    let config = parse(&name, &text, environment, &check)?;
    Ok(Effective {
        config,
        base_dir,
        file: Some(file.to_path_buf()),
    })
}

/// Parses the text of the configuration file `name`, substitutes variables,
/// validates it (rule paths with `check_rule_path`) and applies `environment`.
pub fn parse(
    name: &str,
    text: &str,
    environment: Option<&str>,
    check_rule_path: &dyn Fn(&Path) -> Result<(), String>,
) -> Result<Config, ConfigError> {
    let error = |line: Option<usize>, message: String| ConfigError {
        file: name.to_string(),
        line,
        message,
    };
    let doc = yaml::Document {
        text,
        first_line: 1,
    };
    let raw = parse_and_interpolate(text, &doc).map_err(|(line, message)| error(line, message))?;
    // Every problem is listed, each with its line: one fix-and-retry per file, not per error.
    let mut problems: Vec<ConfigError> = validate(&raw, &doc, false, check_rule_path)
        .into_iter()
        .map(|(line, message)| error(line, message))
        .collect();
    if let Some(envs) = &raw.environments {
        for (env_name, overlay) in envs {
            problems.extend(
                validate(overlay, &doc, true, check_rule_path)
                    .into_iter()
                    .map(|(line, message)| {
                        error(
                            line.or_else(|| yaml::key_line(&doc, env_name, 0)),
                            format!("environments.{env_name}: {message}"),
                        )
                    }),
            );
        }
    }
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    if let Some(joined) = ConfigError::joined(problems) {
        return Err(joined);
    }
    let mut config = raw.clone();
    config.environments = None;
    if let Some(env) = environment {
        let envs = raw.environments.as_ref();
        // An environment may be named in `environments:` (an overlay), in
        // `images.environments:` (a policy), or both.
        let image_envs = raw.images.as_ref().and_then(|i| i.environments.as_ref());
        match envs.and_then(|e| e.get(env)) {
            Some(overlay) => config = overlay_on(config, overlay.clone()),
            None if image_envs.is_some_and(|e| e.contains_key(env)) => {}
            None => {
                let mut known: Vec<&String> = envs.map(|e| e.keys().collect()).unwrap_or_default();
                known.extend(
                    image_envs
                        .map(|e| e.keys().collect::<Vec<_>>())
                        .unwrap_or_default(),
                );
                known.sort();
                known.dedup();
                return Err(error(
                    yaml::key_line(&doc, "environments", 0),
                    format!(
                        "unknown environment `{env}`: expected one of {}",
                        if known.is_empty() {
                            "the names under `environments:` or `images.environments:` (there are none)"
                                .to_string()
                        } else {
                            known
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                ));
            }
        }
    }
    Ok(config)
}

/// Deserializes the text, then substitutes `${VAR}` in its string values.
/// A `${…}` in a field that is not a string (`fail_on: ${TOLLGATE_FAIL_ON}`)
/// is read through an untyped pass first.
fn parse_and_interpolate(
    text: &str,
    doc: &yaml::Document<'_>,
) -> Result<Config, (Option<usize>, String)> {
    let lookup = |name: &str| std::env::var(name).ok();
    let value = match yaml::from_str::<Config>(text) {
        Ok(typed) => serde_json::to_value(&typed).map_err(|e| (None, e.to_string()))?,
        Err(typed_error) if text.contains("${") => yaml::from_str::<serde_json::Value>(text)
            .map_err(|_| (typed_error.line, typed_error.message.clone()))?,
        Err(e) => return Err((e.line, e.message)),
    };
    let mut value = value;
    interpolate::interpolate_value(&mut value, &lookup)
        .map_err(|e| (line_of_value(doc, &e.fragment), e.message))?;
    serde_json::from_value(value).map_err(|e| match yaml::from_str::<Config>(text) {
        Err(typed) => (typed.line, typed.message),
        Ok(_) => (
            first_line_with_variable(doc),
            format!("after substituting variables: {e}"),
        ),
    })
}

/// The first line, not a comment, that uses a variable.
fn first_line_with_variable(doc: &yaml::Document<'_>) -> Option<usize> {
    line_of_value(doc, "${")
}

/// Checks what serde cannot: globs, regular expressions and SemVer ranges
/// compile, environments are not nested. Errors carry their line.
fn validate(
    config: &Config,
    doc: &yaml::Document<'_>,
    nested: bool,
    check_rule_path: &dyn Fn(&Path) -> Result<(), String>,
) -> Vec<(Option<usize>, String)> {
    let at = |key: &str| yaml::key_line(doc, key, 0);
    let mut problems = Vec::new();
    if nested && config.environments.is_some() {
        problems.push((None, "environments cannot be nested".into()));
    }
    for path in config.rules.iter().flat_map(|r| r.paths.iter().flatten()) {
        if let Err(message) = check_rule_path(path) {
            problems.push((
                line_of_value(doc, &path.display().to_string()).or(at("paths")),
                format!("rules.paths: {message}"),
            ));
        }
    }
    if let Some(exclude) = &config.exclude {
        problems.extend(glob_problems(exclude, doc, "exclude"));
    }
    for (policy, prefix) in config
        .images
        .iter()
        .flat_map(|i| i.environments.iter().flatten())
        .flat_map(|(env, set)| {
            set.policies()
                .iter()
                .enumerate()
                .map(move |(index, policy)| (policy, set.key(env, index)))
        })
    {
        for pattern in policy.matches.iter().flatten() {
            if let Err(e) = image_glob(pattern) {
                problems.push((
                    line_of_value(doc, pattern).or(at("match")),
                    format!("{prefix}.match: {e}"),
                ));
            }
        }
        for (key, list) in [("tags", &policy.tags), ("deny_tags", &policy.deny_tags)] {
            for pattern in list.iter().flatten() {
                if let Err(e) = regex::Regex::new(pattern) {
                    problems.push((
                        line_of_value(doc, pattern).or(at(key)),
                        format!(
                            "{prefix}.{key}: invalid regular expression `{pattern}`: {}",
                            e.to_string().lines().last().unwrap_or_default().trim()
                        ),
                    ));
                }
            }
        }
        if let Some(range) = &policy.semver {
            if let Err(e) = semver::VersionReq::parse(range) {
                problems.push((
                    line_of_value(doc, range).or(at("semver")),
                    format!("{prefix}.semver: invalid SemVer range `{range}`: {e} (expected e.g. `>=1.0.0, <3.0.0`)"),
                ));
            }
        }
    }
    if let Some(jira) = &config.jira {
        problems.extend(jira_problems(jira, doc));
    }
    if let Some(rules) = &config.rules {
        for (key, list) in [
            ("enable", &rules.enable),
            ("opt_in", &rules.opt_in),
            ("disable", &rules.disable),
        ] {
            if let Some(list) = list {
                problems.extend(glob_problems(list, doc, key));
            }
        }
        if let Some(map) = &rules.severity {
            let keys: Vec<String> = map.keys().cloned().collect();
            problems.extend(glob_problems(&keys, doc, "severity"));
        }
    }
    problems
}

/// What serde cannot check in `jira:`: the key pattern compiles, project
/// keys look like project keys, the URL is an http(s) URL without credentials.
fn jira_problems(
    jira: &crate::jira::JiraConfig,
    doc: &yaml::Document<'_>,
) -> Vec<(Option<usize>, String)> {
    let at = |key: &str| yaml::key_line(doc, key, 0);
    let mut problems = Vec::new();
    if let Some(pattern) = &jira.key_pattern {
        if let Err(message) = crate::jira::keys::KeyMatcher::new(jira) {
            problems.push((
                line_of_value(doc, pattern).or(at("key_pattern")),
                format!("{message} (expected e.g. `[A-Z][A-Z0-9_]+-[0-9]+`)"),
            ));
        }
    }
    for project in jira.projects.iter().flatten() {
        let shaped = project.starts_with(|c: char| c.is_ascii_alphabetic())
            && project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !shaped {
            let shown: String = project.chars().take(60).collect();
            problems.push((
                line_of_value(doc, project).or(at("projects")),
                format!("jira.projects: `{shown}` is not a project key: expected a letter, then letters, digits or `_` (e.g. SHOP)"),
            ));
        }
    }
    if let Some(url) = &jira.url {
        if let Err(why) = crate::jira::site::check_url(url) {
            problems.push((
                line_of_value(doc, url).or(at("url")),
                format!("jira.url: {why}"),
            ));
        }
    }
    problems
}

/// One problem per glob of `globs` that does not compile, at its own line.
fn glob_problems(
    globs: &[String],
    doc: &yaml::Document<'_>,
    key: &str,
) -> Vec<(Option<usize>, String)> {
    globs
        .iter()
        .filter_map(|glob| {
            let e = Glob::new(glob).err()?;
            Some((
                line_of_value(doc, glob).or_else(|| yaml::key_line(doc, key, 0)),
                format!("invalid glob `{glob}`: {}", e.kind()),
            ))
        })
        .collect()
}

/// The first line, not a comment, that holds `value` verbatim.
fn line_of_value(doc: &yaml::Document<'_>, value: &str) -> Option<usize> {
    doc.text
        .lines()
        .position(|l| l.contains(value) && !l.trim_start().starts_with('#'))
        .map(|i| i + doc.first_line)
}

/// A repository glob of an image policy's `match`: `*` stays within one
/// path segment, `**` crosses them.
pub fn image_glob(pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob `{pattern}`: {}", e.kind()))
}

fn glob_set(globs: &[String]) -> Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(Glob::new(glob).map_err(|e| format!("invalid glob `{glob}`: {}", e.kind()))?);
    }
    builder.build().map_err(|e| e.to_string())
}

/// `overlay`'s settings replace `base`'s; `rules` is overlaid key by key.
fn overlay_on(base: Config, overlay: Config) -> Config {
    let rules = match (base.rules, overlay.rules) {
        (Some(b), Some(o)) => Some(RulesConfig {
            enable: o.enable.or(b.enable),
            opt_in: o.opt_in.or(b.opt_in),
            disable: o.disable.or(b.disable),
            severity: o.severity.or(b.severity),
            paths: o.paths.or(b.paths),
            default_rules: o.default_rules.or(b.default_rules),
        }),
        (b, o) => o.or(b),
    };
    Config {
        rules,
        exclude: overlay.exclude.or(base.exclude),
        filter: overlay.filter.or(base.filter),
        fail_on: overlay.fail_on.or(base.fail_on),
        fail_on_skipped: overlay.fail_on_skipped.or(base.fail_on_skipped),
        reports: overlay.reports.or(base.reports),
        images: overlay.images.or(base.images),
        github: overlay.github.or(base.github),
        gitlab: overlay.gitlab.or(base.gitlab),
        jira: overlay_jira(base.jira, overlay.jira),
        notify: match (base.notify, overlay.notify) {
            (Some(b), Some(o)) => Some(b.overlaid(o)),
            (b, o) => o.or(b),
        },
        environments: None,
    }
}

/// An environment's `jira:` overlays the top level's key by key.
fn overlay_jira(
    base: Option<crate::jira::JiraConfig>,
    overlay: Option<crate::jira::JiraConfig>,
) -> Option<crate::jira::JiraConfig> {
    match (base, overlay) {
        (Some(b), Some(o)) => Some(crate::jira::JiraConfig {
            url: o.url.or(b.url),
            deployment: o.deployment.or(b.deployment),
            projects: o.projects.or(b.projects),
            key_pattern: o.key_pattern.or(b.key_pattern),
            on: o.on.or(b.on),
            required: o.required.or(b.required),
        }),
        (b, o) => o.or(b),
    }
}

impl Effective {
    /// Paths excluded from scanning, as a matcher (name globs and path globs).
    pub fn exclude(&self) -> Option<(GlobSet, GlobSet)> {
        let globs = self.config.exclude.as_ref()?;
        let by_name: Vec<String> = globs.iter().filter(|g| !g.contains('/')).cloned().collect();
        let by_path: Vec<String> = globs
            .iter()
            .filter(|g| g.contains('/'))
            .flat_map(|g| {
                let g = g.trim_start_matches("./").to_string();
                if g.starts_with("**/") {
                    vec![g]
                } else {
                    vec![format!("**/{g}"), g]
                }
            })
            .collect();
        Some((glob_set(&by_name).ok()?, glob_set(&by_path).ok()?))
    }

    /// Applies rule selection and severity overrides to a loaded rule set.
    /// An opt-in rule is kept only when `opt_in` matches it or `enable`
    /// names its exact id (or always, with `keep_opt_in`: `rules list`,
    /// `explain` and `test` show them all). Returns one error per id or glob
    /// that matches no loaded rule: a typo there would otherwise turn a rule
    /// off (or leave it on) in silence.
    pub fn select_rules(
        &self,
        rules: &mut crate::rules::RuleSet,
        keep_opt_in: bool,
    ) -> Vec<ConfigError> {
        let cfg = self.config.rules.clone().unwrap_or_default();
        let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        let unmatched = if self.config.rules.is_some() {
            self.unmatched_selectors(&cfg, &ids)
        } else {
            Vec::new()
        };
        let set = |list: &Option<Vec<String>>| list.as_ref().and_then(|l| glob_set(l).ok());
        let (enable, opt_in, disable) = (set(&cfg.enable), set(&cfg.opt_in), set(&cfg.disable));
        let named = |id: &str| cfg.enable.iter().flatten().any(|e| e == id);
        rules.rules.retain(|r| {
            let opted_in = keep_opt_in
                || !r.opt_in
                || named(&r.id)
                || opt_in.as_ref().is_some_and(|o| o.is_match(&r.id));
            opted_in
                && enable.as_ref().is_none_or(|e| e.is_match(&r.id))
                && !disable.as_ref().is_some_and(|d| d.is_match(&r.id))
        });
        if let Some(overrides) = &cfg.severity {
            for (pattern, severity) in overrides {
                if let Ok(glob) = Glob::new(pattern) {
                    let matcher = glob.compile_matcher();
                    for rule in rules.rules.iter_mut().filter(|r| matcher.is_match(&r.id)) {
                        rule.severity = *severity;
                    }
                }
            }
        }
        unmatched
    }

    /// The ids and globs of `rules.enable`, `rules.disable` and
    /// `rules.severity` that match none of `ids`, each at its line.
    fn unmatched_selectors(&self, cfg: &RulesConfig, ids: &[&str]) -> Vec<ConfigError> {
        let text = self.file.as_deref().and_then(|f| read_capped(f).ok());
        let doc = text.as_deref().map(|text| yaml::Document {
            text,
            first_line: 1,
        });
        let file = self
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| FILE_NAME.to_string());
        let severity_keys: Vec<String> = cfg
            .severity
            .iter()
            .flat_map(|m| m.keys().cloned())
            .collect();
        let lists = [
            ("enable", cfg.enable.as_deref().unwrap_or_default()),
            ("opt_in", cfg.opt_in.as_deref().unwrap_or_default()),
            ("disable", cfg.disable.as_deref().unwrap_or_default()),
            ("severity", severity_keys.as_slice()),
        ];
        let mut problems = Vec::new();
        // A file from a pull request can hold thousands of entries: the
        // first ones are named (line, suggestion), the rest only counted.
        const NAMED: usize = 20;
        let mut more = 0;
        for (key, patterns) in lists {
            for pattern in patterns {
                let Ok(glob) = Glob::new(pattern) else {
                    continue; // reported by `validate`
                };
                let matcher = glob.compile_matcher();
                if ids.iter().any(|id| matcher.is_match(id)) {
                    continue;
                }
                if problems.len() == NAMED {
                    more += 1;
                    continue;
                }
                let hint = match closest_id(pattern, ids) {
                    Some(id) => format!("; did you mean `{id}`?"),
                    None => "; `tollgate rules list` shows them".to_string(),
                };
                let shown: String = pattern.chars().take(100).collect();
                problems.push(ConfigError {
                    file: file.clone(),
                    line: doc.as_ref().and_then(|d| line_of_value(d, pattern)),
                    message: format!("rules.{key}: `{shown}` matches no loaded rule{hint}"),
                });
            }
        }
        if more > 0 {
            problems.push(ConfigError {
                file: file.clone(),
                line: None,
                message: format!("{more} more ids or globs under `rules` match no loaded rule"),
            });
        }
        problems
    }
    /// The effective configuration as YAML, secrets redacted.
    pub fn render(&self) -> String {
        let mut value = serde_json::to_value(&self.config).unwrap_or_default();
        redact(&mut value);
        yaml::to_string(&value)
    }
}

/// The loaded rule id closest to `pattern`, if one is close: a small edit
/// distance, else the same last segment (`unclosed-file` for
/// `go/unclosed-file`), else a last segment that contains it.
pub fn closest_id<'a>(pattern: &str, ids: &[&'a str]) -> Option<&'a str> {
    let last = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let wanted = last(pattern);
    // Rule ids are short: a long pattern is close to none (and costs no quadratic time).
    if pattern.len() > 200 {
        return None;
    }
    let by_distance = ids
        .iter()
        .map(|id| (edit_distance(pattern, id), *id))
        .filter(|(d, id)| *d <= (id.len() / 4).max(2))
        .min();
    let segment_is = |same: bool| {
        ids.iter()
            .copied()
            .filter(|id| {
                let segment = last(id);
                !wanted.is_empty()
                    && if same {
                        segment == wanted
                    } else {
                        segment.contains(&wanted)
                    }
            })
            .min()
    };
    // `rust/unwrap` for `rust/unwrap-outside-tests`: a shorter name of it.
    by_distance
        .map(|(_, id)| id)
        .or_else(|| segment_is(true))
        .or_else(|| segment_is(false))
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Replaces the values of keys that look like secrets.
fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let k = key.to_ascii_lowercase();
                if [
                    "token", "password", "secret", "webhook", "api_key", "apikey",
                ]
                .iter()
                .any(|s| k.contains(s))
                    && !v.is_null()
                {
                    *v = serde_json::Value::String("***".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The starter file `tollgate init` writes.
pub const STARTER: &str = include_str!("starter.yml");

#[cfg(test)]
mod tests {
    use super::closest_id;

    const IDS: &[&str] = &[
        "go/unclosed-file",
        "go/defer-in-loop",
        "rust/unwrap-outside-tests",
        "rust/dbg-macro",
    ];

    #[test]
    fn a_typo_a_missing_language_or_a_short_name_finds_the_rule() {
        assert_eq!(
            closest_id("go/unclosed-fiel", IDS),
            Some("go/unclosed-file")
        );
        assert_eq!(closest_id("unclosed-file", IDS), Some("go/unclosed-file"));
        assert_eq!(
            closest_id("rust/unwrap", IDS),
            Some("rust/unwrap-outside-tests")
        );
        assert_eq!(closest_id("rust/dbg_macro", IDS), Some("rust/dbg-macro"));
    }

    #[test]
    fn nothing_close_suggests_nothing() {
        assert_eq!(closest_id("team/no-println", IDS), None);
        assert_eq!(closest_id(&"x".repeat(10_000), IDS), None);
    }
}
