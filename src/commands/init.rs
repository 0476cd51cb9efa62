//! `tollgate init`: a starter `.tollgate.yml` for the languages present.

use crate::config;
use crate::report;
use crate::run::outcome::{EXIT_ERROR, EXIT_OK};

pub(crate) fn run(force: bool) -> anyhow::Result<i32> {
    let path = std::path::Path::new(config::FILE_NAME);
    // `symlink_metadata`: a dangling link counts as there, and is never written through.
    if std::fs::symlink_metadata(path).is_ok() && !force {
        crate::say!(
            "error: {} already exists (use --force to overwrite)",
            path.display()
        );
        return Ok(EXIT_ERROR);
    }
    let starter = starter_for(&languages_here());
    if let Err(err) = report::file::write_new(path, |out| out.write_all(starter.as_bytes())) {
        crate::say!("error: cannot write {}: {err}", path.display());
        return Ok(EXIT_ERROR);
    }
    crate::show!(
        "wrote {}; check it with `tollgate config validate`",
        path.display()
    );
    Ok(EXIT_OK)
}

/// The languages whose files the current folder holds (a bounded look).
fn languages_here() -> Vec<crate::lang::Language> {
    let mut found = Vec::new();
    let walk = ignore::WalkBuilder::new(".")
        .ignore(false)
        .git_global(false)
        .build();
    for entry in walk.flatten().take(50_000) {
        if let Some(lang) = crate::lang::Language::from_path(entry.path()) {
            if !found.contains(&lang) {
                found.push(lang);
            }
        }
    }
    found.sort();
    found
}

/// The starter configuration, its rule examples for the languages present
/// (both when there are none yet).
fn starter_for(languages: &[crate::lang::Language]) -> String {
    use crate::lang::Language;
    let has = |l: Language| languages.is_empty() || languages.contains(&l);
    let mut enable = Vec::new();
    if has(Language::Go) {
        enable.push("\"go/*\"");
    }
    if has(Language::Rust) {
        enable.push("\"rust/*\"");
    }
    let opt_in = if has(Language::Rust) {
        "rust/unwrap-outside-tests"
    } else {
        "go/errorf-without-wrap"
    };
    let severity = if has(Language::Rust) {
        "rust/todo-macro"
    } else {
        "go/builtin-print"
    };
    config::STARTER
        .replace("__ENABLE__", &enable.join(", "))
        .replace("__OPT_IN__", opt_in)
        .replace("__SEVERITY__", severity)
}
