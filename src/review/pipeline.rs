//! `tollgate review` as one straight pipeline, whatever the forge:
//! context → change set → scan → filter → reports → forge. A forge's command
//! finds its context (the change request, its head and base, a client) and
//! then hands over to [`Pipeline`]. Reports are written before anything is
//! posted; a token that may not write falls back to what the CI shows by
//! itself, and the exit code still follows `fail_on`.

use super::comments::Markers;
use super::forge::{ChangedFiles, Dialect, Forge, ForgeError};
use super::head_lines::{Checkout, Sources};
use super::publish::{Inputs, OnClean, Published, Review, Settings};
use super::summary::Outcome;
use crate::cli::ReviewArgs;
use crate::config::trust::{BaseCommit, Place};
use crate::finding::Finding;
use crate::report::json::ReviewMeta;
use crate::run::change::{read_change_scanning_ahead, scan_change};
use crate::run::outcome::{exit_code, gate_fails, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::run::outputs::{github_output, github_step_summary, print_outcome, write_reports};
use crate::run::setup::Setup;
use crate::run::source::{ChangeSource, Review as Change};
use crate::scan::ScanOutcome;

pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Where the configuration may come from: with `--from`, the report's folder
/// is the change request's and none is read from it; else the checkout, its
/// base being `--base` or the change's base commit.
pub fn config_place(args: &ReviewArgs, base_sha: Option<&str>) -> Place {
    match &args.from {
        Some(report) => Place::Report {
            folder: report
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(std::path::Path::to_path_buf)
                .unwrap_or_else(|| ".".into()),
        },
        None => Place::Checkout {
            base: match (&args.scan.base, base_sha) {
                (Some(base), _) => Some(BaseCommit::MergeBase {
                    base: base.clone(),
                    head: args.scan.head.clone(),
                }),
                (None, Some(sha)) => Some(BaseCommit::Commit(sha.to_string())),
                (None, None) => None,
            },
        },
    }
}

/// Most inline comments per run unless told otherwise.
const DEFAULT_MAX_COMMENTS: usize = 30;

/// What the forge's section of the configuration says about posting.
pub struct Posting<'a> {
    /// `github.id`, `gitlab.id`: for messages.
    pub id_key: &'a str,
    pub id: Option<&'a str>,
    pub max_comments: Option<usize>,
    pub on_clean: Option<OnClean>,
}

/// How this review posts: flags over the configuration over defaults.
/// None when the review id is refused, which has been said.
pub fn settings(
    args: &ReviewArgs,
    config: Posting<'_>,
    dialect: &Dialect,
    token: Option<&str>,
) -> Option<Settings> {
    let id = args.id.as_deref().or(config.id);
    Some(Settings {
        markers: markers(id, config.id_key, dialect, token)?,
        max_comments: args
            .max_comments
            .or(config.max_comments)
            .unwrap_or(DEFAULT_MAX_COMMENTS),
        on_clean: args.on_clean.or(config.on_clean).unwrap_or_default(),
    })
}

/// `review --from` posts only with the configuration it was given: a
/// refused one stops it (said here).
pub(crate) fn refuses_to_post(args: &ReviewArgs, setup: &Setup) -> bool {
    let refused = args.from.is_some() && setup.broken;
    if refused {
        crate::say!(
            "error: nothing posted: the configuration or rules of this run are refused (see above)"
        );
    }
    refused
}

/// The hidden markers of a review named `id` (`--id`, or the config's
/// `key`). None when the id is refused, which has been said.
fn markers(id: Option<&str>, key: &str, dialect: &Dialect, token: Option<&str>) -> Option<Markers> {
    if let Some(id) = id {
        if crate::config::secrets::holds_secret(id, token, utf8_env()) {
            // Never echoed: it would go into every comment and the log.
            crate::say!("error: the review id (--id or {key}) contains the value of a secret (the {} token or a variable whose name says secret): refused", dialect.forge);
            return None;
        }
    }
    match Markers::new(id) {
        Ok(markers) => Some(markers),
        Err(err) => {
            crate::say!("error: {err}");
            None
        }
    }
}

/// The environment variables whose names and values are UTF-8.
fn utf8_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// A JSON report written by `review --no-post`; None when it cannot be
/// read, which has been said.
pub fn read_report(file: &std::path::Path) -> Option<crate::report::json::ReadReport> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) => {
            crate::say!("error: {}: cannot read the report: {err}", file.display());
            return None;
        }
    };
    match crate::report::json::read(&text) {
        Ok(report) => Some(report),
        Err(err) => {
            crate::say!("error: {}:{err}", file.display());
            None
        }
    }
}

/// How long a review may talk to its forge: `--time-limit`, else the
/// forge's `time_limit` setting, else two minutes.
pub fn time_limit(flag: Option<u64>, setting: Option<u64>) -> std::time::Duration {
    const DEFAULT_SECONDS: u64 = 120;
    std::time::Duration::from_secs(flag.or(setting).unwrap_or(DEFAULT_SECONDS))
}

/// One change request under review.
pub struct Target {
    /// `acme/app`, `group/sub/app`: the report's `review.repository`.
    pub repository: String,
    pub number: u64,
    /// The commit comments anchor on: the change's head on the forge.
    pub head_sha: String,
    /// The commit the change is compared with (`--base` wins).
    pub base: String,
    /// The CI run, for the summary: its URL, and what the CI calls it
    /// ("workflow run", "pipeline", "build").
    pub run_url: Option<String>,
    pub run_label: &'static str,
}

/// What a forge's command gives the pipeline besides the target.
pub(crate) struct Pipeline<'a> {
    pub(crate) args: &'a ReviewArgs,
    pub(crate) setup: &'a Setup,
    pub(crate) settings: &'a Settings,
    pub(crate) dialect: &'static Dialect,
    /// How to get the head checked out, said when it is not in the clone.
    pub(crate) checkout_advice: &'a str,
}

/// What the steps after posting need of the run.
pub struct Ran<'a> {
    pub outcome: &'a ScanOutcome,
    /// The findings as posted: repository-relative, on the head's lines.
    pub findings: &'a [Finding],
    /// The exit code before posting.
    pub exit: i32,
}

impl Scanned {
    pub fn ran(&self) -> Ran<'_> {
        Ran {
            outcome: &self.outcome,
            findings: &self.findings,
            exit: self.exit,
        }
    }
}

/// A scanned change, ready to post.
pub struct Scanned {
    pub outcome: ScanOutcome,
    pub exit: i32,
    /// Whether the gate fails (a check run's conclusion).
    pub gate_fails: bool,
    /// The change's files, when they were read from the forge.
    pub files: Option<ChangedFiles>,
    /// Findings with repository-relative paths, on the head's lines.
    pub findings: Vec<Finding>,
    /// What the summary should say besides the findings.
    pub notes: Vec<String>,
    sources: Sources,
}

impl Scanned {
    /// The text the scan saw on a line, from the head when it is here.
    pub fn line_text(&self, path: &str, line: usize) -> Option<String> {
        self.sources.line(path, line)
    }
}

impl Pipeline<'_> {
    fn label(&self, target: &Target) -> String {
        format!("{}{}", self.dialect.change_ref, target.number)
    }

    /// The documentation link of a rule, for its comments.
    pub fn rule_url(&self, id: &str) -> Option<String> {
        let rule = self.setup.rules.rules.iter().find(|r| r.id == id)?;
        rule.url.clone()
    }

    /// The change set (git first, else the forge's files), the scan, the
    /// filter and the reports. `Err` is the exit code of a run that stops here.
    pub async fn scan<F: Forge>(&self, target: &Target, forge: Option<&F>) -> Result<Scanned, i32> {
        let scan_args = &self.args.scan;
        let paths = crate::report::RepoPaths::detect();
        let root = paths
            .root()
            .map(|r| r.to_path_buf())
            .or_else(|| {
                let cwd = std::env::current_dir().ok()?;
                Some(cwd.canonicalize().unwrap_or(cwd))
            })
            .unwrap_or_default();
        let (sources, checkout) = Sources::new(&root, &target.head_sha);
        self.say_checkout(&checkout, target);
        let mut files = None;
        let source = match read_change_scanning_ahead(
            scan_args,
            self.setup,
            &target.base,
            Some(scan_args.head.as_deref().unwrap_or("HEAD")),
        ) {
            Ok((review, early)) => ChangeSource::Given(review, early),
            Err(git_err) => {
                let Some(forge) = forge else {
                    crate::say!("error: {git_err:#}\nerror: and without a token tollgate cannot read the change from {} instead (set its token, or fetch the whole history)", self.dialect.forge);
                    return Err(EXIT_ERROR);
                };
                crate::say!(
                    "note: git cannot give the change ({git_err:#}); reading the {}'s files from {} instead",
                    self.dialect.change,
                    self.dialect.forge
                );
                match forge.files().await {
                    Ok(listed) => {
                        for note in &listed.notes {
                            crate::say!("note: {note}");
                        }
                        let review = Change {
                            set: listed.change.clone(),
                            workdir: root.clone(),
                            image_files_before: Vec::new(),
                        };
                        files = Some(listed);
                        ChangeSource::Given(review, None)
                    }
                    Err(err) => {
                        crate::say!("error: {err}");
                        return Err(EXIT_ERROR);
                    }
                }
            }
        };
        let scanned = match scan_change(scan_args, self.setup, source) {
            Ok(scanned) => scanned,
            Err(err) => {
                crate::say!("error: {err}");
                return Err(EXIT_ERROR);
            }
        };
        let outcome = scanned.outcome;
        let meta = ReviewMeta {
            repository: target.repository.clone(),
            pull_request: target.number,
            head_sha: target.head_sha.clone(),
        };
        let report_failed = write_reports(self.setup, &outcome, Some(&meta));
        if let Err(err) = print_outcome(scan_args, &outcome) {
            crate::say!("error: {err:#}");
            return Err(EXIT_ERROR);
        }
        let broken = report_failed || scanned.bad_images || scanned.missing_paths;
        let exit = exit_code(self.setup, &outcome, broken);
        let gate_fails = gate_fails(self.setup.fail_on, &outcome.findings)
            || (self.setup.fail_on_skipped && !outcome.not_scanned.is_empty());
        let mut findings: Vec<Finding> = outcome
            .findings
            .iter()
            .map(|f| Finding {
                path: paths.of(&f.path).into(),
                ..f.clone()
            })
            .collect();
        sources.move_to_head(&mut findings);
        if forge.is_none() && !self.args.no_post {
            // No token, so no posting and no summary to compare with: the
            // channels still hear of the gate (`change` counts as changed).
            self.notify(
                target,
                &findings,
                Outcome::of(exit != EXIT_OK),
                None,
                None,
                &[],
            )
            .await;
        }
        let notes = self.notes(&outcome, &paths);
        Ok(Scanned {
            outcome,
            exit,
            gate_fails,
            files,
            findings,
            notes,
            sources,
        })
    }

    /// The summary's notes: what was left unread, and why.
    fn notes(&self, outcome: &ScanOutcome, paths: &crate::report::RepoPaths) -> Vec<String> {
        let mut notes: Vec<String> = outcome
            .notices
            .iter()
            .map(|n| format!("{}: {}", paths.of(&n.path), n.message))
            .collect();
        if outcome.other_files > 0 {
            notes.push(other_files_note(outcome.other_files));
        }
        if self.setup.fail_on_skipped && !outcome.not_scanned.is_empty() {
            // In code spans: a file name is no mention or link.
            let names: Vec<String> = outcome
                .not_scanned
                .iter()
                .map(|p| format!("`{}`", paths.of(p).replace('`', "'")))
                .collect();
            notes.insert(
                0,
                format!(
                    "{} changed file(s) could not be scanned, which fails the gate (fail_on_skipped): {}",
                    names.len(),
                    names.join(", ")
                ),
            );
        }
        notes
    }

    /// Posts a scanned change through the forge.
    pub async fn post<F: Forge>(
        &self,
        forge: &F,
        target: &Target,
        scanned: &mut Scanned,
    ) -> Result<Published, ForgeError> {
        let files = scanned.files.take();
        let scanned = &*scanned;
        let line_text = |path: &str, line: usize| scanned.line_text(path, line);
        self.publish(
            forge,
            target,
            &scanned.findings,
            files,
            &scanned.notes,
            &line_text,
            // The job's outcome: a refused configuration fails it too.
            Outcome::of(scanned.exit != EXIT_OK),
        )
        .await
    }

    /// Posts through the forge: comments, resolutions and the summary (every
    /// forge's posting, scanned here or `--from` a report, goes through here).
    #[allow(clippy::too_many_arguments)]
    async fn publish<F: Forge>(
        &self,
        forge: &F,
        target: &Target,
        findings: &[Finding],
        files: Option<ChangedFiles>,
        notes: &[String],
        line_text: &dyn Fn(&str, usize) -> Option<String>,
        outcome: Outcome,
    ) -> Result<Published, ForgeError> {
        let review = Review {
            forge,
            head_sha: &target.head_sha,
            run: target.run_url.as_deref().map(|url| (target.run_label, url)),
            environment: self.args.scan.environment.as_deref(),
            settings: self.settings,
        };
        let rule_url = |id: &str| self.rule_url(id);
        review
            .publish(Inputs {
                findings,
                files,
                notes,
                rule_url: &rule_url,
                line_text,
                outcome,
            })
            .await
    }

    /// Tells Slack and Discord about the run, as `notify` asks.
    async fn notify(
        &self,
        target: &Target,
        findings: &[Finding],
        outcome: Outcome,
        previous: Option<Outcome>,
        project_url: Option<String>,
        jira: &[(String, String)],
    ) {
        use crate::notify::message::{Inputs, Message};
        let Some(config) = self.setup.effective.config.notify.as_ref() else {
            return;
        };
        let infix = self.dialect.web_infix;
        // A change request's page: the dialect names GitLab's an "MR". GitLab's
        // target names the project by id: its page's path reads better.
        let gitlab = self.dialect.change_abbr == "MR";
        let change_path = if gitlab { "merge_requests" } else { "pull" };
        let repository = project_url
            .as_deref()
            .filter(|_| gitlab)
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.path().trim_matches('/').to_string())
            .filter(|path| !path.is_empty())
            .unwrap_or_else(|| target.repository.clone());
        let message = Message::new(&Inputs {
            name: self.settings.markers.name(),
            outcome,
            findings,
            max_findings: config.max_findings(),
            change_ref: self.label(target),
            repository: &repository,
            change_url: project_url
                .as_ref()
                .map(|u| format!("{u}{infix}/{change_path}/{}", target.number)),
            blob_url: project_url
                .as_ref()
                .map(|u| format!("{u}{infix}/blob/{}", target.head_sha)),
            run: target.run_url.as_deref().map(|url| (target.run_label, url)),
            jira,
        });
        crate::notify::notify(config, &message, previous).await;
    }

    /// The steps after posting, whatever the forge said: what the run says
    /// of it (`denied` says what a 403 usually means on this forge), then
    /// the change's Jira issues follow, then Slack and Discord hear of the
    /// gate with links to those issues. Returns the exit code.
    pub async fn finish<F: Forge>(
        &self,
        forge: &F,
        target: &Target,
        result: Result<Published, ForgeError>,
        ran: Ran<'_>,
        denied: &dyn Fn(&ForgeError) -> String,
    ) -> i32 {
        // Without the earlier summary, `change` counts as changed.
        let previous = result.as_ref().ok().and_then(|p| p.previous_outcome);
        let exit = self.report_posting(target, result, ran.outcome, ran.exit, denied);
        let (exit, issues) = self.follow_in_jira(target, ran.outcome, exit).await;
        self.notify(
            target,
            ran.findings,
            // The gate as the summary tells it: posting and Jira aside.
            Outcome::of(ran.exit != EXIT_OK),
            previous,
            Some(forge.project_url()),
            &issues,
        )
        .await;
        exit
    }

    fn report_posting(
        &self,
        target: &Target,
        result: Result<Published, ForgeError>,
        outcome: &ScanOutcome,
        exit: i32,
        denied: &dyn Fn(&ForgeError) -> String,
    ) -> i32 {
        match result {
            Ok(done) => {
                for note in &done.notes {
                    crate::say!("note: {note}");
                }
                crate::say!(
                    "tollgate: {}: {} new comment(s), {} already there, {} resolved as fixed, {} in the summary only; summary {}",
                    self.label(target), done.new_comments, done.kept, done.resolved, done.elsewhere, done.summary
                );
                if in_actions() && !self.args.scan.no_annotations {
                    github_step_summary(outcome, &crate::report::RepoPaths::detect());
                }
                exit
            }
            Err(err) if err.status == Some(403) => {
                self.fall_back(outcome, Some(&denied(&err)));
                exit
            }
            Err(err) => {
                crate::say!("error: posting to {} failed: {err}", self.dialect.forge);
                if !self.setup.reports.is_empty() {
                    let written: Vec<String> = self
                        .setup
                        .reports
                        .iter()
                        .map(|r| r.path.display().to_string())
                        .collect();
                    crate::say!(
                        "error: the reports were written before posting and are in place: {}",
                        written.join(", ")
                    );
                }
                self.fall_back(outcome, None);
                EXIT_ERROR
            }
        }
    }

    /// Findings where the run can show them without writing to the change
    /// request: the reports (already written) and, in GitHub Actions, the
    /// annotations and the step summary.
    pub fn fall_back(&self, outcome: &ScanOutcome, why: Option<&str>) {
        if let Some(why) = why {
            let place = if in_actions() {
                "the annotations, the step summary and the reports"
            } else {
                "the reports"
            };
            crate::say!("warning: {why}; the findings are in {place} instead");
        }
        if in_actions() && !self.args.scan.no_annotations {
            if let Err(err) = github_output(outcome, &self.args.scan) {
                crate::say!("error: {err:#}");
            }
        }
    }

    /// Posts a report made by another run (`review --from`), once the
    /// forge's command has checked that it names this change request.
    /// `head_now` is the change's head on the forge: a report for an older
    /// head posts nothing. Every finding is checked before anything is posted.
    #[allow(clippy::too_many_arguments)]
    pub async fn post_report<F: Forge>(
        &self,
        file: &std::path::Path,
        report: crate::report::json::ReadReport,
        head_now: &str,
        forge: &F,
        target: &Target,
        denied: &dyn Fn(&ForgeError) -> String,
    ) -> i32 {
        if head_now != target.head_sha {
            crate::say!("note: {} has moved on to {head_now} since the report was made for {}: nothing posted (the run for the new head will post)", self.label(target), target.head_sha);
            return EXIT_OK;
        }
        let files = match forge.files().await {
            Ok(listed) => listed,
            Err(err) => {
                crate::say!("error: {err}");
                return EXIT_ERROR;
            }
        };
        let changed = files.files.keys().cloned().collect();
        let checked = match super::from_report::check(report.findings, &changed) {
            Ok(checked) => checked,
            Err(err) => {
                crate::say!("error: {}: {err}: nothing posted", file.display());
                return EXIT_ERROR;
            }
        };
        let findings = checked.findings;
        let mut notes = checked.notes;
        notes.extend(files.notes.iter().cloned());
        let gate_fails = gate_fails(self.setup.fail_on, &findings);
        let result = self
            .publish(
                forge,
                target,
                &findings,
                Some(files),
                &notes,
                &|_, _| None,
                Outcome::of(gate_fails),
            )
            .await;
        let exit = if gate_fails { EXIT_FINDINGS } else { EXIT_OK };
        let outcome = ScanOutcome {
            findings,
            ..Default::default()
        };
        let ran = Ran {
            outcome: &outcome,
            findings: &outcome.findings,
            exit,
        };
        self.finish(forge, target, result, ran, denied).await
    }

    /// Says when the checked-out commit is not the change's head, and what follows.
    fn say_checkout(&self, checkout: &Checkout, target: &Target) {
        let (head, change) = (&target.head_sha, self.dialect.change);
        match checkout {
            Checkout::Head => {}
            Checkout::Other { commit } => crate::say!(
                "note: the checked-out commit {commit} is not the {change}'s head {head}: findings are moved to the head's lines, and those on lines that differ there are listed in the summary"
            ),
            Checkout::OtherWithoutHead { commit } => crate::say!(
                "warning: the checked-out commit {commit} is not the {change}'s head {head}, which is not in this clone; {}. Lines whose text differs from the {change}'s diff are listed in the summary, not commented",
                self.checkout_advice
            ),
        }
    }
}

/// The one line that stands for every changed file nothing reads.
pub fn other_files_note(count: usize) -> String {
    match count {
        1 => "1 other file changed: no rule or image check reads it".to_string(),
        n => format!("{n} other files changed: no rule or image check reads them"),
    }
}
