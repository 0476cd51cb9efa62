//! `tollgate schema`: the JSON schema of the configuration or of a rule.

use crate::cli::SchemaKind;
use crate::config;
use crate::run::outcome::EXIT_OK;

pub(crate) fn run(kind: SchemaKind) -> anyhow::Result<i32> {
    let schema = match kind {
        SchemaKind::Config => schemars::schema_for!(config::Config),
        SchemaKind::Rule => schemars::schema_for!(crate::rules::model::SerializableRule),
    };
    crate::show!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(EXIT_OK)
}
