//! The forge-neutral review: the plan (what to post, keep, resolve, reopen
//! and summarise), anchoring against a parsed diff, hidden markers, comment
//! and summary text, and the trait a forge implements to carry it out.

pub mod comments;
pub mod forge;
pub mod from_report;
pub mod head_lines;
pub mod jira;
pub mod patch;
pub mod pipeline;
pub mod plan;
pub mod publish;
pub mod summary;
