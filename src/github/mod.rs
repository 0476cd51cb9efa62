//! GitHub pull request reviews: context from Actions, the API client, diff
//! hunks, comment rendering, the posting plan and the run that carries it out.

pub mod checks;
pub mod client;
pub mod command;
pub mod context;
pub mod files;
pub mod forge;
pub mod identity;
