//! Where a build runs: CI systems' variables read into forge-neutral facts.

pub mod event;
pub mod jenkins;
