//! Writers that turn findings into something people or other tools read.

pub mod json;
pub mod terminal;
