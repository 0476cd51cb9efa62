//! Command-line interface (clap). Flags are parsed here and nowhere else.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Checks the code and image references of a change against rules and policies",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files with the rule library and report findings.
    Scan(ScanArgs),
    /// Review a GitHub pull request or a GitLab merge request: scan its
    /// change, write the reports, then post inline comments and keep one
    /// summary comment up to date.
    Review(ReviewArgs),
    /// List, test and explain rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Check a configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Parse and check container image references.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Write a commented starter `.tollgate.yml`.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of a file kind, for editors (yaml-language-server).
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Move the Jira issues a change names, as `jira.on` says.
    #[command(subcommand)]
    Jira(JiraCommand),
    /// The GitHub Action's entrypoint: read its inputs (`INPUT_*`), review
    /// (scan outside pull request events), write `$GITHUB_OUTPUT`.
    Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    Config,
    Rule,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Find image references in files and check them against an environment's policy.
    ///
    /// Reads Dockerfiles and Containerfiles (`FROM`, `COPY --from`), Kubernetes
    /// manifests, Docker Compose files, Helm values (`values*.yaml` beside a
    /// `Chart.yaml`), kustomize `kustomization.yaml` (`images:`), GitLab CI
    /// (`.gitlab-ci.yml`) and GitHub Actions workflows (`.github/workflows/*.yml`).
    Scan {
        /// Files or folders (default: the current folder).
        paths: Vec<PathBuf>,
        /// The environment whose `images` policy applies.
        #[arg(long = "env", env = "TOLLGATE_ENV", value_name = "NAME")]
        environment: Option<String>,
        /// The configuration file (default: `.tollgate.yml` here or at the repository root).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Check references (e.g. the tag a pipeline is about to push) against an environment's policy.
    Check {
        /// The environment whose `images` policy applies.
        #[arg(long = "env", env = "TOLLGATE_ENV", value_name = "NAME")]
        environment: Option<String>,
        /// The configuration file (default: `.tollgate.yml` here or at the repository root).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Image references (put them after `--`).
        #[arg(required = true)]
        references: Vec<String>,
    },
    /// Parse references as Docker does: domain, path, tag, digest, normalized and familiar forms.
    Parse {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Image references, e.g. `ubuntu:22.04` (put them after `--`).
        #[arg(required = true)]
        references: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum JiraCommand {
    /// Move the issues the change names (branch, title, description, commit
    /// messages) to the status `jira.on` sets for the event, with one comment each.
    ///
    /// The event comes from the CI (a pull/merge request opened or updated,
    /// a merge, a push to the default branch) or `--event`. Credentials come
    /// from the environment only: JIRA_API_TOKEN (with JIRA_EMAIL on Cloud).
    Sync(JiraSyncArgs),
}

#[derive(Debug, Args)]
pub struct JiraSyncArgs {
    /// The event [default: what the CI's context says].
    #[arg(long, value_enum)]
    pub event: Option<JiraEvent>,
    /// Print the plan (keys, current status, transition, comment); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// The change's commits are those of HEAD (or --head) since REF [default: the CI's].
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// The change's last commit [default: HEAD].
    #[arg(long, value_name = "REF", requires = "base")]
    pub head: Option<String>,
    /// The configuration file (default: `.tollgate.yml` here or at the repository root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The environment of the configuration to apply.
    #[arg(long = "env", env = "TOLLGATE_ENV", value_name = "NAME")]
    pub environment: Option<String>,
}

/// `--event`: what happened to the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JiraEvent {
    Opened,
    Updated,
    Merged,
    Failed,
}

impl From<JiraEvent> for crate::jira::Event {
    fn from(event: JiraEvent) -> Self {
        match event {
            JiraEvent::Opened => crate::jira::Event::Opened,
            JiraEvent::Updated => crate::jira::Event::Updated,
            JiraEvent::Merged => crate::jira::Event::Merged,
            JiraEvent::Failed => crate::jira::Event::Failed,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration and print the effective result for an environment (secrets redacted).
    Validate {
        /// The configuration file (default: `.tollgate.yml` here or at the repository root).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The environment overlay to apply and check.
        #[arg(long = "env", env = "TOLLGATE_ENV", value_name = "NAME")]
        environment: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the loaded rules.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Run the `tests` of rules: the rules `scan` would run, or the given rule files and folders.
    Test {
        /// Rule files or folders; default: the rules `scan` would run (the
        /// embedded library and `.tollgate.yml`'s `rules`).
        paths: Vec<PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print the syntax tree of a file, with named fields: what rule queries match against.
    Tree {
        file: PathBuf,
        /// Show anonymous nodes (keywords and punctuation such as "unsafe", "(") too.
        #[arg(long)]
        all: bool,
    },
    /// Show a rule's message, note, link and examples.
    Explain {
        id: String,
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// The configuration the `rules` commands read, as `scan` does: rule
/// folders (`rules.paths`), enable/disable and severity overrides.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The configuration file (default: `.tollgate.yml` here or at the repository root).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// The environment of the configuration to apply.
    #[arg(long = "env", env = "TOLLGATE_ENV", value_name = "NAME")]
    pub environment: Option<String>,
    /// Read no configuration: the embedded library and `--rules` only.
    #[arg(long)]
    pub no_config: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Add rules from a file or folder (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub extra: Vec<PathBuf>,
    /// Leave out the rule library embedded in the binary.
    #[arg(long)]
    pub no_default_rules: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or folders to scan (default: the current folder).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Lowest severity that makes the exit code 1 [default: error, or the config's `fail_on`].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// The configuration file (default: `.tollgate.yml` here or at the repository root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The environment of the configuration to apply.
    #[arg(long = "env", env = "TOLLGATE_ENV", value_name = "NAME")]
    pub environment: Option<String>,
    /// Read `.tollgate.yml` and the repository's rule files from the base
    /// commit (`--base`, or the pull request's base), not from the working tree:
    /// a change cannot turn its own gate off.
    #[arg(long)]
    pub config_from_base: bool,
    /// When to colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// Review a change: compare the merge base of REF and HEAD with the
    /// working tree (uncommitted and new files included), or with `--head`.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Compare with this commit instead of the working tree; must be the checked-out commit.
    #[arg(long, value_name = "REF", requires = "base")]
    pub head: Option<String>,
    /// Which findings of a change to keep (default with --base: added).
    #[arg(long, value_enum)]
    pub filter: Option<crate::diff::FilterMode>,
    /// Also write a report file: `sarif=PATH`, `codequality=PATH` or `json=PATH`
    /// (repeatable). A PATH of `-` writes that report to stdout (one at most);
    /// the text or JSON view then goes to stderr.
    #[arg(long = "report", value_name = "KIND=PATH", value_parser = parse_report)]
    pub reports: Vec<ReportTarget>,
    /// The folder report files go to: relative report paths start there, and
    /// every report must land inside it [default: the working tree].
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// In GitHub Actions, do not print annotations nor write the step summary.
    #[arg(long)]
    pub no_annotations: bool,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = crate::scan::DEFAULT_MAX_FILESIZE)]
    pub max_filesize: u64,
    /// Seconds one file may take (parsing, queries and constraints); a file
    /// over it is not scanned.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::scan::DEFAULT_FILE_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub file_timeout: u64,
    /// Fail (exit 1) when a Go or Rust file of the change (of the scanned
    /// paths, without --base) could not be scanned [default: on, or the
    /// config's `fail_on_skipped`].
    #[arg(long, overrides_with = "no_fail_on_skipped")]
    pub fail_on_skipped: bool,
    /// Only report files that could not be scanned; do not fail on them.
    #[arg(long, overrides_with = "fail_on_skipped")]
    pub no_fail_on_skipped: bool,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// The forge [default: GitLab in GitLab CI or with --gitlab-url/--project,
    /// else what Jenkins' CHANGE_URL names, else GitHub].
    #[arg(long, value_enum)]
    pub forge: Option<ForgeKind>,
    /// The repository, OWNER/NAME [default: GITHUB_REPOSITORY].
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// GitLab: the instance (`https://gitlab.example.com`) or its API
    /// (`…/api/v4`) [default: CI_API_V4_URL].
    #[arg(long, value_name = "URL")]
    pub gitlab_url: Option<String>,
    /// GitLab: the project, by id or path (`group/sub/app`) [default: CI_PROJECT_ID].
    #[arg(long, value_name = "ID|PATH")]
    pub project: Option<String>,
    /// GitLab: the merge request's number (its IID) [default: CI_MERGE_REQUEST_IID].
    #[arg(long, value_name = "N")]
    pub mr: Option<u64>,
    /// The pull request number [default: from the event payload, GITHUB_EVENT_PATH].
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// The token [default: the action input `github-token`, then GITHUB_TOKEN].
    /// Prefer the environment: a flag shows in process listings.
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// Scan and write the reports, post nothing: the unprivileged half of the fork pattern.
    #[arg(long)]
    pub no_post: bool,
    /// Post the findings of a JSON report written by `review --no-post`,
    /// without scanning or reading the pull request's code.
    #[arg(long, value_name = "FILE", conflicts_with = "no_post")]
    pub from: Option<PathBuf>,
    /// The review event when a new comment is an error [default: comment, or the config's].
    #[arg(long, value_enum)]
    pub review_event: Option<crate::github::forge::ReviewEvent>,
    /// Most inline comments per run; the rest go to the summary [default: 30].
    #[arg(long, value_name = "N")]
    pub max_comments: Option<usize>,
    /// The summary comment when nothing is found: keep it, saying so, or delete it [default: keep].
    #[arg(long, value_enum)]
    pub on_clean: Option<crate::review::publish::OnClean>,
    /// Also create a check run with annotations (needs `checks: write`).
    #[arg(long)]
    pub github_check: bool,
    /// Name of this review when several tollgate jobs review one pull request:
    /// each keeps its own comments, summary and check run [default: the config's `github.id`].
    #[arg(long, value_name = "NAME")]
    pub id: Option<String>,
    /// Log every request to GitHub (method, path, status, time, quota left) on stderr.
    #[arg(short, long)]
    pub verbose: bool,
    /// Seconds the whole conversation with GitHub may take [default: 120].
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<u64>,
}

/// Where the change request lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForgeKind {
    Github,
    Gitlab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

impl OutputFormat {
    /// How the CI log guard escapes this format (see [`crate::ci_log`]).
    pub fn log_kind(self) -> crate::ci_log::Kind {
        match self {
            OutputFormat::Text => crate::ci_log::Kind::Text,
            OutputFormat::Json => crate::ci_log::Kind::Json,
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    ValueEnum,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
}

/// A report file to write: its format and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    pub kind: ReportKind,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Sarif,
    CodeQuality,
    Json,
}

fn parse_report(text: &str) -> Result<ReportTarget, String> {
    let (kind, path) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=PATH (e.g. sarif=tollgate.sarif), got `{text}`"))?;
    let kind = match kind {
        "sarif" => ReportKind::Sarif,
        "codequality" => ReportKind::CodeQuality,
        "json" => ReportKind::Json,
        other => {
            return Err(format!(
                "unknown report kind `{other}`: expected one of sarif, codequality, json"
            ))
        }
    };
    if path.is_empty() {
        return Err(format!("the report `{text}` needs a file path after `=`"));
    }
    Ok(ReportTarget {
        kind,
        path: PathBuf::from(path),
    })
}
