//! GitLab merge request reviews: context from GitLab CI, the API client (the
//! `gitlab` crate's typed endpoints over our own transport), the MR's diffs
//! and versions, and the [`crate::review::forge::Forge`] implementation.

pub mod client;
pub mod command;
pub mod context;
pub mod diffs;
pub mod forge;
