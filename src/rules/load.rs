//! Loads rule files (embedded library, files, folders) into a [`RuleSet`],
//! collecting every problem with its file, rule id and line instead of
//! stopping at the first.

use super::compile::{compile, CompileError, Origin, Rule, RuleSet};
use super::library;
use super::model::SerializableRule;
use crate::yaml;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where to read rules from.
#[derive(Debug, Clone)]
pub enum RuleSource {
    /// The library compiled into the binary.
    Embedded,
    /// A rule file or a folder searched recursively for `*.yml`/`*.yaml`.
    Path(PathBuf),
    /// A rule file's text read elsewhere (from a commit), named `file` in errors.
    Text { file: String, text: String },
}

/// A bad rule: file, line (and column) where known, rule id where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub rule_id: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(id) = &self.rule_id {
            write!(f, "rule `{id}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Loads all rules from `sources`. Good rules are returned even when others
/// are bad, so one broken rule never stops the rest from running.
pub fn load_rules(sources: &[RuleSource]) -> (RuleSet, Vec<RuleError>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for source in sources {
        match source {
            RuleSource::Embedded => {
                for (name, text) in library::EMBEDDED {
                    load_text(&format!("<embedded>/{name}"), text, &mut rules, &mut errors);
                }
            }
            RuleSource::Path(path) => load_path(path, &mut rules, &mut errors),
            RuleSource::Text { file, text } => load_text(file, text, &mut rules, &mut errors),
        }
    }
    check_duplicates(&mut rules, &mut errors);
    (RuleSet { rules }, errors)
}

fn load_path(path: &Path, rules: &mut Vec<Rule>, errors: &mut Vec<RuleError>) {
    let file_error = |message: String| RuleError {
        file: path.display().to_string(),
        line: None,
        column: None,
        rule_id: None,
        message,
    };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = ignore::WalkBuilder::new(path)
            .standard_filters(false)
            .build()
            .filter_map(Result::ok)
            .map(|e| e.into_path())
            .filter(|p| p.is_file() && is_rule_file(p))
            .collect();
        files.sort();
        if files.is_empty() {
            errors.push(file_error(
                "no rule files (*.yml, *.yaml) in this folder".into(),
            ));
        }
        for file in files {
            load_file(&file, rules, errors);
        }
    } else if path.exists() {
        load_file(path, rules, errors);
    } else {
        errors.push(file_error("no such file or folder".into()));
    }
}

fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml") | Some("yaml")
    )
}

fn load_file(path: &Path, rules: &mut Vec<Rule>, errors: &mut Vec<RuleError>) {
    match std::fs::read_to_string(path) {
        Ok(text) => load_text(&path.display().to_string(), &text, rules, errors),
        Err(e) => errors.push(RuleError {
            file: path.display().to_string(),
            line: None,
            column: None,
            rule_id: None,
            message: format!("cannot read rule file: {e}"),
        }),
    }
}

/// Loads every document of one rule file's text.
pub fn load_text(file: &str, text: &str, rules: &mut Vec<Rule>, errors: &mut Vec<RuleError>) {
    let docs = yaml::documents(text);
    if docs.is_empty() {
        errors.push(RuleError {
            file: file.to_string(),
            line: None,
            column: None,
            rule_id: None,
            message: "the file holds no rule".into(),
        });
    }
    for doc in docs {
        let rule_id = peek_id(doc.text);
        let raw: SerializableRule = match yaml::from_document(&doc) {
            Ok(raw) => raw,
            Err(e) => {
                errors.push(RuleError {
                    file: file.to_string(),
                    line: e.line.or(Some(doc.first_line)),
                    column: e.column,
                    rule_id,
                    message: explain_yaml_message(&e.message),
                });
                continue;
            }
        };
        let origin = Origin {
            file: file.to_string(),
            line: yaml::key_line(&doc, "id", 0).unwrap_or(doc.first_line),
        };
        let id = raw.id.clone();
        match compile(raw, origin) {
            Ok(rule) => rules.push(rule),
            Err(problems) => {
                for problem in problems {
                    errors.push(locate(file, &doc, &id, problem));
                }
            }
        }
    }
}

fn locate(file: &str, doc: &yaml::Document<'_>, id: &str, problem: CompileError) -> RuleError {
    let key_line = yaml::key_line(doc, problem.key, problem.occurrence);
    let (line, column) = match (key_line, problem.inner) {
        (Some(k), Some((row, col))) => {
            let (line, indent) = yaml::value_start(doc, k);
            (Some(line + row), Some(col + indent + 1))
        }
        (Some(k), None) => (Some(k), None),
        (None, _) => (Some(doc.first_line), None),
    };
    RuleError {
        file: file.to_string(),
        line,
        column,
        rule_id: Some(id.to_string()),
        message: problem.message,
    }
}

/// Best-effort id of a document that failed to deserialize, for the error.
fn peek_id(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let value = l
            .strip_prefix("id:")?
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// serde's wording for an unknown key lists the expected ones already; make
/// the "untagged" failures say what was expected instead.
fn explain_yaml_message(message: &str) -> String {
    if message.contains("did not match any variant of untagged enum SerializableInvalidCase") {
        return "invalid test case: expected a code string or a map with `code` and optional `lines`, `count`".into();
    }
    if message.contains("did not match any variant of untagged enum SerializableFix") {
        return "invalid fix: expected a replacement string or a map with `capture` and `replacement`".into();
    }
    if message.contains("mapping values are not allowed in this context") {
        return format!(
            "{message}: a value that contains `: ` (as queries do) must be quoted or written as a block scalar, e.g. `query: |` with the query indented on the next lines"
        );
    }
    if message.contains("did not match any variant of untagged enum OneOrMany") {
        return "invalid query list: expected a query string or a list of query strings".into();
    }
    message.to_string()
}

fn check_duplicates(rules: &mut Vec<Rule>, errors: &mut Vec<RuleError>) {
    let mut first_seen: HashMap<String, Origin> = HashMap::new();
    let mut keep = Vec::with_capacity(rules.len());
    for rule in rules.drain(..) {
        if let Some(first) = first_seen.get(&rule.id) {
            errors.push(RuleError {
                file: rule.origin.file.clone(),
                line: Some(rule.origin.line),
                column: None,
                rule_id: Some(rule.id.clone()),
                message: format!(
                    "duplicate rule id: already defined at {}:{}",
                    first.file, first.line
                ),
            });
        } else {
            first_seen.insert(rule.id.clone(), rule.origin.clone());
            keep.push(rule);
        }
    }
    *rules = keep;
}
