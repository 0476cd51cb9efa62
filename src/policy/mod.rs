//! Container image references and the per-environment policies they must meet.

pub mod check;
pub mod reference;
pub mod scan;
pub mod sources;
