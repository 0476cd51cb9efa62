//! Loads rule files (embedded library, files, folders) into a [`RuleSet`],
//! collecting every problem with its file, rule id and line instead of
//! stopping at the first.
//!
//! Rule files may come from the change under review, so reading them is
//! bounded: only regular files are read (no FIFO, device or socket; no
//! symbolic link inside a rules folder), each at most
//! [`RULE_FILE_MAX_BYTES`]; at most [`MAX_REPOSITORY_RULES`] rules come from
//! files, each with at most [`MAX_CONSTRAINTS_PER_RULE`] constraints and
//! [`MAX_QUERIES_PER_RULE`] queries. The embedded library is not counted.

use super::compile::{compile, defer, CompileError, Origin, Rule, RuleSet};
use super::library;
use super::model::SerializableRule;
use crate::yaml;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Largest rule file read, in bytes (1 MiB).
pub const RULE_FILE_MAX_BYTES: usize = yaml::CONFIG_MAX_BYTES;
/// Most rules loaded from files (`--rules`, `rules.paths`); the embedded
/// library does not count.
pub const MAX_REPOSITORY_RULES: usize = 1000;
/// Most `where` constraints in one rule.
pub const MAX_CONSTRAINTS_PER_RULE: usize = 32;
/// Most tree-sitter queries in one rule (its `query` and every sub-query).
pub const MAX_QUERIES_PER_RULE: usize = 32;

/// The origin file of the embedded library's rules starts with this.
const EMBEDDED_PREFIX: &str = "<embedded>/";

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
                // Compiled on first use: a run pays only for the rules its files need.
                // Read on all threads (YAML and prefilters are a small review's
                // set-up cost), kept in the library's order.
                use rayon::prelude::*;
                let loaded: Vec<(Vec<Rule>, Vec<RuleError>)> = library::EMBEDDED
                    .par_iter()
                    .map(|(name, text)| {
                        let (mut rules, mut errors) = (Vec::new(), Vec::new());
                        let file = format!("{EMBEDDED_PREFIX}{name}");
                        load_documents(&file, text, &mut rules, &mut errors, usize::MAX, defer);
                        (rules, errors)
                    })
                    .collect();
                for (more_rules, more_errors) in loaded {
                    rules.extend(more_rules);
                    errors.extend(more_errors);
                }
            }
            RuleSource::Path(path) => load_path(path, &mut rules, &mut errors),
            RuleSource::Text { file, text } => load_text(file, text, &mut rules, &mut errors),
        }
    }
    cap_repository_rules(&mut rules, &mut errors);
    check_duplicates(&mut rules, &mut errors);
    (RuleSet { rules }, errors)
}

fn from_files(rule: &Rule) -> bool {
    !rule.origin.file.starts_with(EMBEDDED_PREFIX)
}

/// How many more rules files may add.
fn room_left(rules: &[Rule]) -> usize {
    MAX_REPOSITORY_RULES.saturating_sub(rules.iter().filter(|r| from_files(r)).count())
}

/// Keeps the first [`MAX_REPOSITORY_RULES`] rules from files; one error names
/// where the first rule past the cap stands.
fn cap_repository_rules(rules: &mut Vec<Rule>, errors: &mut Vec<RuleError>) {
    let mut seen = 0usize;
    let mut refused: Option<Origin> = None;
    rules.retain(|rule| {
        if !from_files(rule) {
            return true;
        }
        seen += 1;
        if seen > MAX_REPOSITORY_RULES {
            refused.get_or_insert_with(|| rule.origin.clone());
            return false;
        }
        true
    });
    if let Some(origin) = refused {
        report_cap(errors, &origin.file, Some(origin.line));
    }
}

fn cap_message() -> String {
    format!(
        "more than {MAX_REPOSITORY_RULES} rules from files: this rule and every later one are not loaded (expected at most {MAX_REPOSITORY_RULES}; the embedded library does not count)"
    )
}

/// Whether the cap has been reached and said so: nothing more is read then.
fn cap_reported(errors: &[RuleError]) -> bool {
    errors.iter().any(|e| e.message == cap_message())
}

/// One error, where the cap was first reached.
fn report_cap(errors: &mut Vec<RuleError>, file: &str, line: Option<usize>) {
    if !cap_reported(errors) {
        errors.push(RuleError {
            file: file.to_string(),
            line,
            column: None,
            rule_id: None,
            message: cap_message(),
        });
    }
}

fn load_path(path: &Path, rules: &mut Vec<Rule>, errors: &mut Vec<RuleError>) {
    if room_left(rules) == 0 && cap_reported(errors) {
        return;
    }
    let file_error = |message: String| RuleError {
        file: path.display().to_string(),
        line: None,
        column: None,
        rule_id: None,
        message,
    };
    // A path named on the command line or in the configuration may be a
    // symbolic link; the files inside a folder may not.
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            errors.push(file_error("no such file or folder".into()));
            return;
        }
        Err(e) => {
            errors.push(file_error(format!("cannot read: {}", e.kind())));
            return;
        }
    };
    if !meta.is_dir() {
        load_file(path, true, rules, errors);
        return;
    }
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(path)
        .standard_filters(false)
        .follow_links(false)
        .build()
    {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(file_error(format!("cannot read the folder: {e}")));
                continue;
            }
        };
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let p = entry.into_path();
        if kind.is_dir() || !is_rule_file(&p) {
            continue;
        }
        if kind.is_symlink() {
            errors.push(RuleError {
                message: "a symbolic link: rule files inside a folder are read only when they are regular files (name the target with --rules if it is meant)".into(),
                ..file_error(String::new())
            }.with_file(&p));
        } else {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() && !errors.iter().any(|e| Path::new(&e.file).starts_with(path)) {
        errors.push(file_error(
            "no rule files (*.yml, *.yaml) in this folder".into(),
        ));
    }
    for file in files {
        if room_left(rules) == 0 {
            report_cap(errors, &file.display().to_string(), None);
            return;
        }
        load_file(&file, false, rules, errors);
    }
}

impl RuleError {
    fn with_file(self, file: &Path) -> Self {
        RuleError {
            file: file.display().to_string(),
            ..self
        }
    }
}

fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml") | Some("yaml")
    )
}

/// Reads one rule file (a symbolic link only when `follow`: a path named by
/// the user) and loads its rules.
fn load_file(path: &Path, follow: bool, rules: &mut Vec<Rule>, errors: &mut Vec<RuleError>) {
    let file = path.display().to_string();
    match crate::textfile::read(path, RULE_FILE_MAX_BYTES, follow) {
        Ok(text) => load_documents(&file, &text, rules, errors, room_left(rules), compile),
        Err(e) => errors.push(RuleError {
            file,
            line: None,
            column: None,
            rule_id: None,
            message: format!("cannot read rule file: {e}: expected a regular UTF-8 file (*.yml, *.yaml) of at most {RULE_FILE_MAX_BYTES} bytes"),
        }),
    }
}

/// Loads every document of one rule file's text.
pub fn load_text(file: &str, text: &str, rules: &mut Vec<Rule>, errors: &mut Vec<RuleError>) {
    load_documents(file, text, rules, errors, usize::MAX, compile);
}

/// Turns one rule's text into a [`Rule`]: [`compile`] or [`defer`].
type Build = fn(SerializableRule, Origin) -> Result<Rule, Vec<CompileError>>;

/// Loads the documents of one rule file, at most `room` of them (the rest
/// are refused with one error at the first one left out), each made a rule by `build`.
fn load_documents(
    file: &str,
    text: &str,
    rules: &mut Vec<Rule>,
    errors: &mut Vec<RuleError>,
    room: usize,
    build: Build,
) {
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
    for (count, doc) in docs.into_iter().enumerate() {
        if count == room {
            report_cap(errors, file, Some(doc.first_line));
            return;
        }
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
        let index = yaml::KeyIndex::new(&doc);
        let origin = Origin {
            file: file.to_string(),
            line: index.key_line("id", 0).unwrap_or(doc.first_line),
        };
        if let Some(message) = too_many_parts(&raw) {
            errors.push(RuleError {
                file: file.to_string(),
                line: Some(origin.line),
                column: None,
                rule_id: Some(raw.id.clone()),
                message,
            });
            continue;
        }
        let id = raw.id.clone();
        match build(raw, origin) {
            Ok(rule) => rules.push(rule),
            Err(problems) => {
                for problem in problems {
                    errors.push(locate(file, &doc, &index, &id, problem));
                }
            }
        }
    }
}

/// Refuses a rule with more constraints or queries than the caps: each
/// query costs compiling and running it on every file.
fn too_many_parts(raw: &SerializableRule) -> Option<String> {
    if raw.constraints.len() > MAX_CONSTRAINTS_PER_RULE {
        return Some(format!(
            "{} constraints under `where`: expected at most {MAX_CONSTRAINTS_PER_RULE}",
            raw.constraints.len()
        ));
    }
    let count = |q: &Option<super::model::OneOrMany>| match q {
        Some(super::model::OneOrMany::One(_)) => 1,
        Some(super::model::OneOrMany::Many(many)) => many.len(),
        None => 0,
    };
    let queries = 1 + raw
        .constraints
        .iter()
        .map(|c| {
            count(&c.has)
                + count(&c.not_has)
                + c.scope
                    .as_ref()
                    .map_or(0, |s| count(&s.contains) + count(&s.not_contains))
        })
        .sum::<usize>();
    (queries > MAX_QUERIES_PER_RULE).then(|| {
        format!(
            "{queries} queries (`query` and sub-queries): expected at most {MAX_QUERIES_PER_RULE}"
        )
    })
}

fn locate(
    file: &str,
    doc: &yaml::Document<'_>,
    index: &yaml::KeyIndex<'_>,
    id: &str,
    problem: CompileError,
) -> RuleError {
    let key_line = index.key_line(problem.key, problem.occurrence);
    let (line, column) = match (key_line, problem.inner) {
        (Some(k), Some((row, col))) => {
            let (line, indent) = index.value_start(k);
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

/// Best-effort id of a document that failed to deserialize, for the error;
/// only a value shaped like a rule id is repeated.
fn peek_id(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let value = l
            .strip_prefix("id:")?
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        let id_like = (1..=100).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"/-_.".contains(&b));
        id_like.then(|| value.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_with(extra: &str) -> String {
        format!(
            "id: t/x\nlanguage: go\nseverity: warning\nmessage: m\nquery: (identifier) @x\n{extra}"
        )
    }

    fn load(text: &str) -> (Vec<Rule>, Vec<RuleError>) {
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        load_text("r.yml", text, &mut rules, &mut errors);
        (rules, errors)
    }

    #[test]
    fn constraints_and_queries_per_rule_are_capped() {
        let many = "  - inside: [function_declaration]\n".repeat(MAX_CONSTRAINTS_PER_RULE + 1);
        let (rules, errors) = load(&rule_with(&format!("where:\n{many}")));
        assert!(rules.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].to_string(),
            "r.yml:1: rule `t/x`: 33 constraints under `where`: expected at most 32"
        );
        let queries = "    - (identifier) @y\n".repeat(MAX_QUERIES_PER_RULE);
        let (rules, errors) = load(&rule_with(&format!("where:\n  - has:\n{queries}")));
        assert!(rules.is_empty());
        assert!(
            errors[0]
                .message
                .starts_with("33 queries (`query` and sub-queries): expected at most 32"),
            "{errors:?}"
        );
        let within = "  - inside: [function_declaration]\n".repeat(MAX_CONSTRAINTS_PER_RULE);
        let (rules, errors) = load(&rule_with(&format!("where:\n{within}")));
        assert_eq!((rules.len(), errors.len()), (1, 0), "{errors:?}");
    }

    #[test]
    fn every_rule_of_the_library_compiles_and_only_on_first_use() {
        let (set, errors) = load_rules(&[RuleSource::Embedded]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(set.rules.iter().all(|r| !r.is_compiled()));
        for rule in &set.rules {
            assert!(
                rule.compiled().is_ok(),
                "{}: {:?}",
                rule.id,
                rule.compiled().err()
            );
            assert!(rule.is_compiled());
            // Sub-queries compile one by one when first needed: all of them must.
            use crate::rules::compile::Constraint;
            for constraint in &rule.compiled().unwrap().constraints {
                let subs: Vec<&crate::rules::compile::SubQueries> = match constraint {
                    Constraint::Has(q) | Constraint::NotHas(q) => vec![q],
                    Constraint::Scope {
                        contains,
                        not_contains,
                        ..
                    } => vec![contains, not_contains],
                    _ => Vec::new(),
                };
                for q in subs {
                    for i in 0..q.len() {
                        assert!(q.get(i).is_ok(), "{}: {:?}", rule.id, q.get(i).err());
                    }
                }
            }
        }
    }

    #[test]
    fn a_rule_from_a_file_is_compiled_at_load_time_so_its_errors_have_lines() {
        let (rules, errors) = load(&rule_with(""));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(rules[0].is_compiled());
        let (rules, errors) = load(&rule_with("").replace("(identifier) @x", "(identifer) @x"));
        assert!(rules.is_empty());
        assert_eq!(errors[0].line, Some(5), "{errors:?}");
    }

    #[test]
    fn the_library_is_within_every_cap() {
        let (set, errors) = load_rules(&[RuleSource::Embedded]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(set.rules.iter().all(|r| !from_files(r)));
    }

    #[test]
    fn the_rule_cap_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let docs: Vec<String> = (0..MAX_REPOSITORY_RULES + 5)
            .map(|i| rule_with("").replace("t/x", &format!("t/x{i}")))
            .collect();
        for name in ["a.yml", "b.yml"] {
            std::fs::write(dir.path().join(name), docs.join("---\n")).unwrap();
        }
        let sources = [
            RuleSource::Path(dir.path().join("a.yml")),
            RuleSource::Path(dir.path().join("b.yml")),
            RuleSource::Path(dir.path().to_path_buf()),
        ];
        let (set, errors) = load_rules(&sources);
        assert_eq!(set.rules.len(), MAX_REPOSITORY_RULES);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].to_string().ends_with(&format!(
            "a.yml:{}: {}",
            6 * MAX_REPOSITORY_RULES + 1,
            cap_message()
        )));
    }

    #[test]
    fn an_id_that_does_not_look_like_one_is_not_repeated() {
        assert_eq!(peek_id("id: go/x-1\n"), Some("go/x-1".into()));
        assert_eq!(peek_id("id: https://u:SECRET@h\n"), None);
    }
}
