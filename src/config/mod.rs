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
    /// GitLab settings (not used yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<serde_json::Value>,
    /// Jira settings (not used yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira: Option<serde_json::Value>,
    /// Slack/Discord settings (not used yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<serde_json::Value>,
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
    /// Image policy by environment name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<BTreeMap<String, ImagePolicy>>,
    /// Severity of a change that moves an image's SemVer tag back (with `--base`); default warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgrade: Option<Severity>,
}

/// What image references an environment accepts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePolicy {
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
    pub review_event: Option<crate::github::publish::ReviewEvent>,
    /// Most inline comments per run (default 30); the rest are listed in the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_comments: Option<usize>,
    /// The summary comment when a run finds nothing: `keep` it saying so (default), or `delete` it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_clean: Option<crate::github::publish::OnClean>,
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
    validate(&raw, &doc, false, check_rule_path).map_err(|(line, message)| error(line, message))?;
    if let Some(envs) = &raw.environments {
        for (env_name, overlay) in envs {
            validate(overlay, &doc, true, check_rule_path).map_err(|(line, message)| {
                error(
                    line.or_else(|| yaml::key_line(&doc, env_name, 0)),
                    format!("environments.{env_name}: {message}"),
                )
            })?;
        }
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
) -> Result<(), (Option<usize>, String)> {
    let at = |key: &str| yaml::key_line(doc, key, 0);
    if nested && config.environments.is_some() {
        return Err((None, "environments cannot be nested".into()));
    }
    for path in config.rules.iter().flat_map(|r| r.paths.iter().flatten()) {
        check_rule_path(path).map_err(|message| {
            (
                line_of_value(doc, &path.display().to_string()).or(at("paths")),
                format!("rules.paths: {message}"),
            )
        })?;
    }
    if let Some(exclude) = &config.exclude {
        glob_set(exclude).map_err(|m| (at("exclude"), m))?;
    }
    for (env, policy) in config
        .images
        .iter()
        .flat_map(|i| i.environments.iter().flatten())
    {
        for (key, list) in [("tags", &policy.tags), ("deny_tags", &policy.deny_tags)] {
            for pattern in list.iter().flatten() {
                regex::Regex::new(pattern).map_err(|e| {
                    (
                        line_of_value(doc, pattern).or(at(key)),
                        format!(
                            "images.environments.{env}.{key}: invalid regular expression `{pattern}`: {}",
                            e.to_string().lines().last().unwrap_or_default().trim()
                        ),
                    )
                })?;
            }
        }
        if let Some(range) = &policy.semver {
            semver::VersionReq::parse(range).map_err(|e| {
                (
                    line_of_value(doc, range).or(at("semver")),
                    format!("images.environments.{env}.semver: invalid SemVer range `{range}`: {e} (expected e.g. `>=1.0.0, <3.0.0`)"),
                )
            })?;
        }
    }
    if let Some(rules) = &config.rules {
        for (key, list) in [
            ("enable", &rules.enable),
            ("opt_in", &rules.opt_in),
            ("disable", &rules.disable),
        ] {
            if let Some(list) = list {
                glob_set(list).map_err(|m| (at(key), m))?;
            }
        }
        if let Some(map) = &rules.severity {
            glob_set(&map.keys().cloned().collect::<Vec<_>>()).map_err(|m| (at("severity"), m))?;
        }
    }
    Ok(())
}

/// The first line, not a comment, that holds `value` verbatim.
fn line_of_value(doc: &yaml::Document<'_>, value: &str) -> Option<usize> {
    doc.text
        .lines()
        .position(|l| l.contains(value) && !l.trim_start().starts_with('#'))
        .map(|i| i + doc.first_line)
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
        jira: overlay.jira.or(base.jira),
        notify: overlay.notify.or(base.notify),
        environments: None,
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
    /// An opt-in rule is kept only when `opt_in` matches it or `enable` names its exact id.
    pub fn select_rules(&self, rules: &mut crate::rules::RuleSet) {
        let cfg = self.config.rules.clone().unwrap_or_default();
        let set = |list: &Option<Vec<String>>| list.as_ref().and_then(|l| glob_set(l).ok());
        let (enable, opt_in, disable) = (set(&cfg.enable), set(&cfg.opt_in), set(&cfg.disable));
        let named = |id: &str| cfg.enable.iter().flatten().any(|e| e == id);
        rules.rules.retain(|r| {
            let opted_in =
                !r.opt_in || named(&r.id) || opt_in.as_ref().is_some_and(|o| o.is_match(&r.id));
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
    }

    /// The effective configuration as YAML, secrets redacted.
    pub fn render(&self) -> String {
        let mut value = serde_json::to_value(&self.config).unwrap_or_default();
        redact(&mut value);
        yaml::to_string(&value)
    }
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
