//! One integration-test binary: the real `tollgate` run on temp trees.

mod bad_rules;
mod common;
mod config;
mod diff;
mod fake_github;
mod github;
mod images;
mod library;
mod reports;
mod robustness;
mod scan;
mod security_yaml;
