//! `tollgate images parse|check|scan`: image references alone, by policy.

use crate::cli::OutputFormat;
use crate::config;
use crate::finding::Severity;
use crate::report::{self, terminal};
use crate::run::change::say_missing;
use crate::run::outcome::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use serde::Serialize;
use std::io::{IsTerminal, Write};

#[derive(Serialize)]
struct ParsedImage<'a> {
    input: &'a str,
    valid: bool,
    error: Option<String>,
    domain: Option<String>,
    path: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
    normalized: Option<String>,
    familiar: Option<String>,
}

pub(crate) fn parse(format: OutputFormat, references: &[String]) -> anyhow::Result<i32> {
    use crate::policy::reference;
    let parsed: Vec<ParsedImage<'_>> = references
        .iter()
        .map(|input| match reference::parse(input) {
            Ok(r) => ParsedImage {
                input,
                valid: true,
                error: None,
                normalized: Some(r.normalized()),
                familiar: Some(r.familiar()),
                domain: Some(r.domain),
                path: Some(r.path),
                tag: r.tag,
                digest: r.digest,
            },
            Err(e) => ParsedImage {
                input,
                valid: false,
                error: Some(e.to_string()),
                domain: None,
                path: None,
                tag: None,
                digest: None,
                normalized: None,
                familiar: None,
            },
        })
        .collect();
    let mut out = crate::ci_log::stdout(format.log_kind());
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &parsed)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for p in &parsed {
                match (&p.normalized, &p.error) {
                    (Some(n), _) => writeln!(out, "{}: {n}", p.input)?,
                    (None, Some(e)) => writeln!(out, "{}: invalid: {e}", p.input)?,
                    _ => {}
                }
            }
        }
    }
    Ok(if parsed.iter().all(|p| p.valid) {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

#[derive(Serialize)]
struct CheckedImage<'a> {
    image: &'a str,
    environment: &'a str,
    allowed: bool,
    reason: Option<String>,
}

/// The image policy of `environment`, or the reason there is none (printed).
fn image_policy(
    environment: Option<&str>,
    config_file: Option<&std::path::Path>,
) -> Option<(String, config::EnvironmentPolicy)> {
    let file = match config::locate(config_file) {
        Ok(file) => file,
        Err(err) => {
            crate::say!("error: {err}");
            return None;
        }
    };
    // The policies live under `images.environments`, not under `environments`.
    let effective = match config::load(file.as_deref(), None) {
        Ok(e) => e,
        Err(err) => {
            crate::say!("error: {err}");
            return None;
        }
    };
    let policies = effective
        .config
        .images
        .as_ref()
        .and_then(|i| i.environments.clone())
        .unwrap_or_default();
    let known = || {
        policies
            .keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(env) = environment else {
        crate::say!(
            "error: which environment? give --env NAME or TOLLGATE_ENV (the configuration has: {})",
            known()
        );
        return None;
    };
    let Some(policy) = policies.get(env) else {
        crate::say!(
            "error: no image policy for environment `{env}` under `images.environments` in {} (it has: {})",
            file.map(|f| f.display().to_string()).unwrap_or_else(|| "the configuration (none found)".into()),
            if policies.is_empty() { "none".to_string() } else { known() }
        );
        return None;
    };
    Some((env.to_string(), policy.clone()))
}

pub(crate) fn check(
    environment: Option<&str>,
    config_file: Option<&std::path::Path>,
    format: OutputFormat,
    references: &[String],
) -> anyhow::Result<i32> {
    let Some((env, policy)) = image_policy(environment, config_file) else {
        return Ok(EXIT_ERROR);
    };
    let env = env.as_str();
    let policy = &policy;
    let checked: Vec<CheckedImage<'_>> = references
        .iter()
        .map(|image| {
            let verdict = crate::policy::check::check(image, env, policy);
            CheckedImage {
                image,
                environment: env,
                allowed: verdict.allowed,
                reason: verdict.reason,
            }
        })
        .collect();
    let mut out = crate::ci_log::stdout(format.log_kind());
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &checked)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for c in &checked {
                match &c.reason {
                    None => writeln!(out, "{}: allowed in {env}", c.image)?,
                    Some(reason) => writeln!(out, "{}: denied in {env}: {reason}", c.image)?,
                }
            }
        }
    }
    Ok(if checked.iter().all(|c| c.allowed) {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

pub(crate) fn scan(
    paths: &[std::path::PathBuf],
    environment: Option<&str>,
    config_file: Option<&std::path::Path>,
    format: OutputFormat,
) -> anyhow::Result<i32> {
    let Some((env, policy)) = image_policy(environment, config_file) else {
        return Ok(EXIT_ERROR);
    };
    let missing = say_missing(paths);
    let roots = if paths.is_empty() {
        vec![".".into()]
    } else {
        paths.to_vec()
    };
    let files = crate::policy::scan::image_files(&roots);
    let mut outcome = crate::scan::ScanOutcome::default();
    let bad_files = crate::policy::scan::check_files(&files, &env, &policy, &mut outcome);
    let colour = terminal::colour_enabled("auto", std::io::stdout().is_terminal());
    let mut out = crate::ci_log::stdout(format.log_kind());
    match format {
        OutputFormat::Json => {
            report::json::write(&mut out, &outcome, &report::RepoPaths::default(), None)?
        }
        OutputFormat::Text => terminal::write(&mut out, &outcome, terminal::Palette::new(colour))?,
    }
    Ok(if bad_files || missing {
        EXIT_ERROR
    } else if outcome
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error)
    {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
