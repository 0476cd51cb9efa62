//! `tollgate config validate`.

use crate::config;
use crate::rules::RuleSource;
use crate::run::outcome::{EXIT_ERROR, EXIT_OK};
use crate::run::say_error;
use crate::run::setup::load;
use std::io::Write;

pub(crate) fn validate(
    file: Option<&std::path::Path>,
    environment: Option<&str>,
) -> anyhow::Result<i32> {
    let located = match config::locate(file) {
        Ok(located) => located,
        Err(err) => {
            crate::say!("error: {err}");
            return Ok(EXIT_ERROR);
        }
    };
    let Some(file) = located else {
        crate::say!(
            "error: no {} here or at the repository root (`tollgate init` writes one)",
            config::FILE_NAME
        );
        return Ok(EXIT_ERROR);
    };
    match config::load(Some(&file), environment) {
        Ok(effective) => {
            // Rule folders named by the configuration must load too.
            let sources: Vec<RuleSource> = effective
                .config
                .rules
                .iter()
                .flat_map(|r| r.paths.iter().flatten())
                .map(|p| RuleSource::Path(effective.base_dir.join(p)))
                .collect();
            let (_, bad_rules) = load(&sources);
            let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Text);
            writeln!(
                out,
                "# {} is valid{}; effective configuration:",
                file.display(),
                environment
                    .map(|e| format!(" (environment `{e}`)"))
                    .unwrap_or_default()
            )?;
            write!(out, "{}", effective.render())?;
            Ok(if bad_rules { EXIT_ERROR } else { EXIT_OK })
        }
        Err(err) => {
            say_error(&err.to_string());
            Ok(EXIT_ERROR)
        }
    }
}
