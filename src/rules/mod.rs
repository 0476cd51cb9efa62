//! The rule engine: YAML rules compiled into tree-sitter queries plus
//! constraints on a match's surroundings, evaluated per parsed file.

mod ancestry;
pub mod compile;
pub mod engine;
pub mod library;
pub mod load;
pub mod model;
pub mod prefilter;
mod spans;
pub mod suppress;
pub mod testing;

pub use compile::{Constraint, Rule, RuleSet};
pub use load::{load_rules, RuleError, RuleSource};
