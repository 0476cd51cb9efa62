//! tollgate: a CI gate that checks a change with tree-sitter rules and image
//! policies, and reports findings where reviewers and CI systems see them.

pub mod action;
pub mod app;
pub mod ci_log;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod diff;
pub mod finding;
pub mod fingerprint;
pub mod github;
pub mod gitlab;
pub mod jira;
pub mod lang;
pub mod notify;
pub mod policy;
pub mod report;
pub mod retry;
pub mod review;
pub mod rules;
pub mod run;
pub mod scan;
pub mod test_modules;
pub mod textfile;
pub mod yaml;
