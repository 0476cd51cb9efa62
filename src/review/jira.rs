//! After a review has posted: the issues its change names follow in Jira,
//! when `jira.on` has the change's event (and `failed` when the gate fails).
//! A Jira problem is a warning; with `jira.required: true` it makes the
//! exit code 2.

use super::pipeline::{Pipeline, Target};
use crate::context::event::{self, Facts};
use crate::jira::flow::{self, Output};
use crate::jira::{Change, Checked};
use crate::run::outcome::{gate_fails, EXIT_ERROR};
use crate::scan::ScanOutcome;
use std::collections::BTreeMap;

impl Pipeline<'_> {
    /// Syncs Jira for `target` once posting is over; returns the exit code
    /// and the issues reached (key, web page) for the notifications.
    pub(crate) async fn follow_in_jira(
        &self,
        target: &Target,
        outcome: &ScanOutcome,
        exit: i32,
    ) -> (i32, Vec<(String, String)>) {
        let Some(config) = self.setup.effective.config.jira.clone() else {
            return (exit, Vec::new());
        };
        let env = crate::github::context::process_env;
        let facts = match event::read(&env) {
            Ok(facts) => facts,
            Err(err) => {
                crate::say!("warning: Jira is not synced: {err}");
                return (exit, Vec::new());
            }
        };
        let failed = gate_fails(self.setup.fail_on, &outcome.findings);
        let events = match &facts {
            Some(facts) => facts.events(failed),
            None => failed
                .then_some(crate::jira::Event::Failed)
                .into_iter()
                .collect(),
        };
        if events.is_empty() {
            let why = facts
                .as_ref()
                .and_then(|f| f.why.clone())
                .unwrap_or_else(|| "the CI names no event".into());
            crate::say!("note: Jira is left alone: {why}");
            return (exit, Vec::new());
        }
        let request = flow::Request {
            config: &config,
            facts: facts.as_ref(),
            events,
            change: self.jira_change(target, facts.as_ref(), outcome, failed),
            range: Some((target.base.clone(), target.head_sha.clone())),
            dry_run: false,
            output: Output::Log,
        };
        let synced = flow::run(request, &env).await;
        match synced.exit {
            EXIT_ERROR => (EXIT_ERROR, synced.issues),
            _ => (exit, synced.issues),
        }
    }

    /// The change as Jira's comment tells it: the CI's facts when they are
    /// about this change request, else what the review knows.
    fn jira_change(
        &self,
        target: &Target,
        facts: Option<&Facts>,
        outcome: &ScanOutcome,
        failed: bool,
    ) -> Change {
        let label = format!("{}{}", self.dialect.change_ref, target.number);
        let same = facts.is_some_and(|f| f.label.as_deref() == Some(label.as_str()));
        let mut change = flow::change_from_facts(facts.filter(|_| same), None);
        if !same {
            let host = match self.dialect.forge {
                "GitLab" => std::env::var("CI_SERVER_HOST").unwrap_or_else(|_| "gitlab".into()),
                _ => std::env::var("GITHUB_SERVER_URL")
                    .ok()
                    .and_then(|u| {
                        u.split("://")
                            .nth(1)
                            .map(|h| h.trim_end_matches('/').to_string())
                    })
                    .unwrap_or_else(|| "github.com".into()),
            };
            let sign = self.dialect.change_ref.chars().last().unwrap_or('#');
            change.id = format!("{host}/{}{sign}{}", target.repository, target.number);
            change.label = label;
        }
        if let Some(id) = self.settings.markers.id() {
            change.id = format!("{}/{id}", change.id);
        }
        if let Some(url) = &target.run_url {
            change.run = Some((url.clone(), target.run_label.to_string()));
        }
        let mut by_severity = BTreeMap::new();
        for finding in &outcome.findings {
            *by_severity.entry(finding.severity).or_insert(0usize) += 1;
        }
        change.checked = Checked {
            passed: !failed,
            findings: by_severity.into_iter().rev().collect(),
            environment: self.args.scan.environment.clone(),
            images_passed: distinct_images(outcome),
        };
        change
    }
}

/// Each image reference that passed the environment's policy, once, in the
/// order the change names them.
fn distinct_images(outcome: &ScanOutcome) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    outcome
        .images_passed
        .iter()
        .filter(|i| seen.insert(i.image.as_str()))
        .map(|i| i.image.clone())
        .collect()
}
