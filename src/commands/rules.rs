//! `tollgate rules list|test|explain|tree`.

use crate::cli::{ConfigArgs, OutputFormat, RuleArgs};
use crate::finding::Severity;
use crate::rules::testing::{render_failures, test_rule};
use crate::rules::RuleSource;
use crate::run::outcome::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::run::plural;
use crate::run::setup::{configured_rules, load};
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct ListedRule<'a> {
    id: &'a str,
    language: crate::lang::Language,
    severity: Severity,
    message: String,
    source: String,
    has_fix: bool,
    url: Option<&'a str>,
    /// Runs only where the configuration opts in to it (`rules.opt_in`).
    opt_in: bool,
    tests: usize,
    /// The literal strings a file must contain for the rule to be run on it.
    prefilter: String,
}

pub(crate) fn list(
    args: &RuleArgs,
    config_args: &ConfigArgs,
    format: OutputFormat,
) -> anyhow::Result<i32> {
    let (rules, bad) = configured_rules(args, config_args);
    let listed: Vec<ListedRule<'_>> = rules
        .rules
        .iter()
        .map(|r| ListedRule {
            id: &r.id,
            language: r.language,
            severity: r.severity,
            message: r.message_text(),
            source: format!("{}:{}", r.origin.file, r.origin.line),
            has_fix: r.has_fix,
            url: r.url.as_deref(),
            opt_in: r.opt_in,
            tests: r.tests.valid.len() + r.tests.invalid.len(),
            prefilter: r.prefilter.describe(),
        })
        .collect();
    let mut out = crate::ci_log::stdout(format.log_kind());
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &listed)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            let width = listed.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in &listed {
                let group = if r.opt_in { "opt-in" } else { "default" };
                writeln!(
                    out,
                    "{:<width$}  {:<7}  {group:<7}  {}",
                    r.id,
                    r.severity.as_str(),
                    r.message
                )?;
            }
            let opt_in = listed.iter().filter(|r| r.opt_in).count();
            let note = match opt_in {
                0 => String::new(),
                n => format!(" ({n} opt-in: they run only where `.tollgate.yml` opts in, see `rules.opt_in`)"),
            };
            writeln!(out, "{}{note}", plural(listed.len(), "rule"))?;
        }
    }
    Ok(if bad { EXIT_ERROR } else { EXIT_OK })
}

pub(crate) fn test(
    paths: Vec<std::path::PathBuf>,
    config_args: &ConfigArgs,
) -> anyhow::Result<i32> {
    // Files named here are tested alone; else the rules `scan` would run.
    let (rules, bad) = if paths.is_empty() {
        let defaults = RuleArgs {
            extra: Vec::new(),
            no_default_rules: false,
        };
        configured_rules(&defaults, config_args)
    } else {
        load(&paths.into_iter().map(RuleSource::Path).collect::<Vec<_>>())
    };
    let results: Vec<_> = {
        use rayon::prelude::*;
        rules.rules.par_iter().map(test_rule).collect()
    };
    let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Text);
    write!(out, "{}", render_failures(&results))?;
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    let untested: Vec<&str> = results
        .iter()
        .filter(|r| r.cases == 0)
        .map(|r| r.rule_id.as_str())
        .collect();
    for id in &untested {
        writeln!(out, "warning: rule `{id}` has no tests")?;
    }
    let cases: usize = results.iter().map(|r| r.cases).sum();
    writeln!(
        out,
        "{} passed, {} failed ({}, {})",
        results.len() - failed,
        failed,
        plural(results.len(), "rule"),
        plural(cases, "snippet")
    )?;
    Ok(if bad {
        EXIT_ERROR
    } else if failed > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

pub(crate) fn explain(id: &str, args: &RuleArgs, config_args: &ConfigArgs) -> anyhow::Result<i32> {
    let (rules, bad) = configured_rules(args, config_args);
    let Some(rule) = rules.get(id) else {
        let mut known: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        known.sort_unstable();
        let close: Vec<&str> = known
            .iter()
            .copied()
            .filter(|k| k.contains(id.rsplit('/').next().unwrap_or(id)))
            .collect();
        crate::say!(
            "error: no rule with id `{id}`{}",
            if close.is_empty() {
                "; `tollgate rules list` shows them all".to_string()
            } else {
                format!("; did you mean {}?", close.join(", "))
            }
        );
        return Ok(EXIT_ERROR);
    };
    let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Text);
    writeln!(out, "{} ({}, {})", rule.id, rule.language, rule.severity)?;
    writeln!(out, "defined at {}:{}", rule.origin.file, rule.origin.line)?;
    writeln!(
        out,
        "files parsed only when they contain: {}",
        rule.prefilter.describe()
    )?;
    writeln!(out, "\nmessage: {}", rule.message_text())?;
    if let Some(note) = &rule.note {
        writeln!(out, "\n{}", note.trim_end())?;
    }
    if let Some(url) = &rule.url {
        writeln!(out, "\nmore: {url}")?;
    }
    for (title, snippets) in [
        (
            "flagged",
            rule.tests
                .invalid
                .iter()
                .map(|c| c.code.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "not flagged",
            rule.tests.valid.iter().map(String::as_str).collect(),
        ),
    ] {
        if let Some(first) = snippets.first() {
            writeln!(out, "\nexample, {title}:")?;
            for line in first.lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    Ok(if bad { EXIT_ERROR } else { EXIT_OK })
}

pub(crate) fn tree(file: &std::path::Path, all: bool) -> anyhow::Result<i32> {
    use anyhow::Context as _;
    let Some(lang) = crate::lang::Language::from_path(file) else {
        crate::say!(
            "error: {}: not a Go (.go) or Rust (.rs) file",
            file.display()
        );
        return Ok(EXIT_ERROR);
    };
    let source = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&lang.grammar())?;
    let tree = parser
        .parse(&source, None)
        .context("the parser gave up on this file")?;
    let mut out = crate::ci_log::stdout(crate::ci_log::Kind::Text);
    write_tree(&mut out, tree.root_node(), None, 0, &source, all)?;
    Ok(EXIT_OK)
}

/// Prints one named node a line, indented, with its field name and position,
/// and the text of leaves.
fn write_tree(
    out: &mut dyn Write,
    node: tree_sitter::Node<'_>,
    field: Option<&str>,
    depth: usize,
    source: &[u8],
    all: bool,
) -> std::io::Result<()> {
    let pos = node.start_position();
    let field = field.map(|f| format!("{f}: ")).unwrap_or_default();
    let kind = if node.is_named() {
        node.kind().to_string()
    } else {
        format!("{:?}", node.kind())
    };
    let text = if !node.is_named() {
        String::new()
    } else if node.named_child_count() == 0 {
        let t = String::from_utf8_lossy(&source[node.start_byte()..node.end_byte()]);
        format!(" {:?}", t.chars().take(60).collect::<String>())
    } else {
        String::new()
    };
    writeln!(
        out,
        "{}{}{} [{}:{}]{}",
        "  ".repeat(depth),
        field,
        kind,
        pos.row + 1,
        pos.column + 1,
        text
    )?;
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            let child = cursor.node();
            if child.is_named() || all {
                write_tree(out, child, cursor.field_name(), depth + 1, source, all)?;
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    Ok(())
}
