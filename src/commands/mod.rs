//! The subcommands, one module each; `app` dispatches to them.

pub mod config;
pub mod images;
pub mod init;
pub mod jira;
pub mod review;
pub mod rules;
pub mod scan;
pub mod schema;
