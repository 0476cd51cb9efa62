//! One integration-test binary: the real `tollgate` run on temp trees.

// The tests' own diagnostics are not tollgate's output: the CI log guard
// (`clippy.toml`) is for the binary.
#![allow(clippy::disallowed_macros)]

mod accidents;
mod action;
mod bad_rules;
mod common;
mod config;
mod diff;
mod fake_github;
mod fake_gitlab;
mod fake_jira;
mod fake_server;
mod fake_webhooks;
mod fingerprints;
mod github;
mod gitlab;
mod gitlab_adapter;
mod gitlab_review;
mod images;
mod jenkins;
mod jira_flow;
mod jira_sync;
mod library;
mod memory;
mod noise;
mod notify;
mod opt_in;
mod reports;
mod review_ahead;
mod robustness;
mod rule_classes;
mod scan;
mod security_config;
mod security_gate;
mod security_log;
mod security_write;
mod security_yaml;
mod templates;
