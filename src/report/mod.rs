//! Writers that turn findings into something people or other tools read.

pub mod codequality;
pub mod github;
pub mod json;
pub mod sarif;
pub mod terminal;
