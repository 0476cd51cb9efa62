//! GitHub pull request reviews: context from Actions, the API client, diff
//! hunks, comment rendering, the posting plan and the run that carries it out.

pub mod checks;
pub mod client;
pub mod command;
pub mod comments;
pub mod context;
pub mod files;
pub mod from_report;
pub mod head_lines;
pub mod identity;
pub mod patch;
pub mod plan;
pub mod publish;
pub mod summary;
