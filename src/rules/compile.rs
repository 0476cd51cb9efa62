//! Checks a [`SerializableRule`] and compiles it into a [`Rule`]: queries,
//! kind ids and templates are resolved once, at load time, never per file.

use super::model::{SerializableFix, SerializableInvalidCase, SerializableRule};
use super::prefilter::{
    is_anchorable, is_rooted_at, requirement_of_query, token_captures, Requirement,
};
use crate::finding::Severity;
use crate::lang::Language;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::Path;
use std::sync::OnceLock;
use tree_sitter::Query;

/// Where a rule came from, for error messages and `rules list`.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

/// A problem in one part of a rule, with the YAML key it concerns so the
/// loader can turn it into a file line.
#[derive(Debug, Clone)]
pub struct CompileError {
    /// The key the error is about, e.g. `query`, `message`, `severity`.
    pub key: &'static str,
    /// Which occurrence of that key in the document (0-based).
    pub occurrence: usize,
    /// Row and column inside the key's value (query errors), 0-based.
    pub inner: Option<(usize, usize)>,
    pub message: String,
}

impl CompileError {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        CompileError {
            key,
            occurrence: 0,
            inner: None,
            message: message.into(),
        }
    }
}

/// A checked rule. Its queries are compiled at load time ([`compile`]), or,
/// for the embedded library, on first use ([`defer`]): tree-sitter's query
/// analysis is most of a small review's cost, and a rule whose literals no
/// scanned file holds never needs its queries.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub language: Language,
    pub severity: Severity,
    pub query_source: String,
    pub paths: PathFilter,
    pub note: Option<String>,
    pub url: Option<String>,
    /// Runs only when the configuration opts in to it (like clippy's restriction group).
    pub opt_in: bool,
    pub tests: RuleTests,
    pub origin: Origin,
    pub prefilter: Requirement,
    pub has_fix: bool,
    /// The message as written, for listings (`{{ @name }}` shown as `{{name}}`).
    message_source: String,
    /// Has an `outside_tests` constraint.
    outside_tests: bool,
    compiled: OnceLock<Result<Compiled, String>>,
    /// The rule's text, kept to compile it on first use (deferred rules only).
    deferred: Option<SerializableRule>,
}

/// The parts of a rule that need its queries compiled.
#[derive(Debug)]
pub struct Compiled {
    pub message: Template,
    pub query: Query,
    /// Index of the capture reported; `None` = the widest capture of a match.
    pub report: Option<u32>,
    pub constraints: Vec<Constraint>,
    pub fix: Option<FixTemplate>,
    /// Whether the query may run only around literal places (see `prefilter::is_anchorable`).
    pub anchorable: bool,
}

/// A condition on a match's surroundings.
#[derive(Debug)]
pub enum Constraint {
    Inside(Vec<u16>),
    NotInside(Vec<u16>),
    /// Not in a test file, test function or test module.
    OutsideTests,
    Has(SubQueries),
    NotHas(SubQueries),
    Scope {
        kinds: Vec<u16>,
        outermost: bool,
        contains: SubQueries,
        not_contains: SubQueries,
        /// Only sub-query matches after the end of this main capture count.
        after: Option<u32>,
        /// Only sub-query matches before the start of this main capture count.
        before: Option<u32>,
    },
}

/// A query run inside a scope. Captures named like a capture of the main
/// match (and not starting with `_`) must have the same text as it.
#[derive(Debug)]
pub struct SubQuery {
    pub query: Query,
    /// (capture index in this query, capture index in the rule's main query)
    pub unify: Vec<(u32, u32)>,
    /// Literals every match of this query contains.
    pub prefilter: Requirement,
    /// Whether the query may run only around literal places (see `prefilter::is_anchorable`).
    pub anchorable: bool,
    /// Whether every pattern starts at the tree's root node (see
    /// `prefilter::is_rooted_at`): then a run needs to start matches only there.
    pub rooted_at_file: bool,
    /// For each entry of `unify`: whether the capture holds a whole token,
    /// so the main match's text must stand alone where this query matches.
    pub unify_tokens: Vec<bool>,
}

/// The sub-queries of one constraint key. A deferred (embedded) rule
/// compiles them on first use, when a main match needs them: most rules
/// match nowhere in a small change, and tree-sitter's analysis of a query
/// costs milliseconds. A rule from a file compiles them at load, so that a
/// bad one is reported with its line.
#[derive(Debug)]
pub struct SubQueries {
    sources: Vec<String>,
    language: Language,
    main_captures: Vec<String>,
    key: &'static str,
    /// One per source, each compiled when first needed: a constraint holds
    /// at its first sub-query that matches, and the rest may never run.
    built: Vec<OnceLock<Result<SubQuery, String>>>,
}

impl SubQueries {
    fn new(
        language: Language,
        sources: Vec<String>,
        main_captures: &[String],
        key: &'static str,
    ) -> SubQueries {
        let built = sources.iter().map(|_| OnceLock::new()).collect();
        SubQueries {
            sources,
            language,
            main_captures: main_captures.to_vec(),
            key,
            built,
        }
    }

    /// None given (an empty `contains`).
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// How many sub-queries there are.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Sub-query `i`, compiled on the first call (at most once, whichever
    /// thread asks first); the compiler's error otherwise.
    pub fn get(&self, i: usize) -> Result<&SubQuery, &str> {
        self.built[i]
            .get_or_init(|| {
                sub_query(
                    self.language,
                    &self.sources[i],
                    &self.main_captures,
                    self.key,
                    0,
                )
                .map_err(|e| format!("{}: {}", e.key, e.message))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// How many have been compiled (tests of the laziness).
    pub fn compiled_count(&self) -> usize {
        self.built.iter().filter(|b| b.get().is_some()).count()
    }

    /// Compiles them now, for a rule whose errors are reported at load.
    fn compile_now(self, occurrence: usize) -> Result<SubQueries, CompileError> {
        for (source, built) in self.sources.iter().zip(&self.built) {
            let sub = sub_query(
                self.language,
                source,
                &self.main_captures,
                self.key,
                occurrence,
            )?;
            let _ = built.set(Ok(sub));
        }
        Ok(self)
    }
}

/// Text with `{{capture}}` placeholders.
#[derive(Debug, Clone)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone)]
pub enum TemplatePart {
    Text(String),
    Capture(u32),
}

#[derive(Debug)]
pub struct FixTemplate {
    /// The capture replaced; `None` = the reported node.
    pub capture: Option<u32>,
    pub replacement: Template,
}

/// Include/exclude globs of a rule. A glob without `/` is matched against
/// the file name, one with `/` against the whole path.
#[derive(Debug, Default)]
pub struct PathFilter {
    include: Option<(GlobSet, GlobSet)>,
    exclude: Option<(GlobSet, GlobSet)>,
}

impl PathFilter {
    /// Returns true if and only if the rule applies to `path`.
    pub fn allows(&self, path: &Path) -> bool {
        let name = path.file_name().map(Path::new).unwrap_or(path);
        let hit = |(by_name, by_path): &(GlobSet, GlobSet)| {
            by_name.is_match(name) || by_path.is_match(path)
        };
        if let Some(include) = &self.include {
            if !hit(include) {
                return false;
            }
        }
        !self.exclude.as_ref().is_some_and(hit)
    }

    fn build(
        globs: &[String],
        key: &'static str,
    ) -> Result<Option<(GlobSet, GlobSet)>, CompileError> {
        if globs.is_empty() {
            return Ok(None);
        }
        let mut by_name = GlobSetBuilder::new();
        let mut by_path = GlobSetBuilder::new();
        for glob in globs {
            let compiled = |pattern: &str| {
                Glob::new(pattern).map_err(|e| {
                    CompileError::new(key, format!("invalid glob `{glob}`: {}", e.kind()))
                })
            };
            if glob.contains('/') {
                let trimmed = glob.trim_start_matches("./");
                by_path.add(compiled(trimmed)?);
                if !trimmed.starts_with("**/") && !trimmed.starts_with('/') {
                    by_path.add(compiled(&format!("**/{trimmed}"))?);
                }
            } else {
                by_name.add(compiled(glob)?);
            }
        }
        let built = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| CompileError::new(key, format!("invalid glob: {e}")))
        };
        Ok(Some((built(by_name)?, built(by_path)?)))
    }
}

/// The test snippets of a rule.
#[derive(Debug, Clone, Default)]
pub struct RuleTests {
    pub valid: Vec<String>,
    pub invalid: Vec<InvalidCase>,
}

#[derive(Debug, Clone)]
pub struct InvalidCase {
    pub code: String,
    pub lines: Option<Vec<usize>>,
    pub count: Option<usize>,
}

/// All loaded rules, grouped for fast lookup by language.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl Rule {
    /// Returns true if and only if the rule never reports in test files.
    pub fn skips_test_files(&self) -> bool {
        self.outside_tests
    }

    /// The message template with captures shown as `{{name}}`.
    pub fn message_text(&self) -> String {
        display_template(&self.message_source)
    }

    /// The compiled queries and templates, compiled on the first call for a
    /// deferred rule (at most once, whichever thread asks first). The error
    /// is the compiler's, for a deferred rule that does not compile.
    pub fn compiled(&self) -> Result<&Compiled, &str> {
        self.compiled
            .get_or_init(|| {
                let Some(raw) = self.deferred.clone() else {
                    return Err("the rule was not compiled".into());
                };
                match compile_with(raw, self.origin.clone(), true) {
                    Ok(rule) => rule
                        .compiled
                        .into_inner()
                        .unwrap_or_else(|| Err("the rule was not compiled".into())),
                    Err(errors) => Err(errors
                        .iter()
                        .map(|e| format!("{}: {}", e.key, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")),
                }
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Whether the queries have been compiled (tests of the laziness).
    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }
}

/// `text` with each `{{ @name }}` placeholder written `{{name}}`, as
/// [`parse_template`] reads them.
fn display_template(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        let name = name.strip_prefix('@').unwrap_or(name);
        out.push_str(&rest[..start]);
        out.push_str(&format!("{{{{{name}}}}}"));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

impl RuleSet {
    pub fn for_language(&self, language: Language) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.language == language)
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// What a rule id looks like: `language/name`, lowercase.
pub const ID_PATTERN: &str = r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)+$";

/// Checks what a deferred rule needs before it runs (id, language,
/// severity, path globs) and keeps its text to compile its queries on first
/// use. Only for rules known to compile: the embedded library, whose every
/// rule a unit test compiles.
pub fn defer(raw: SerializableRule, origin: Origin) -> Result<Rule, Vec<CompileError>> {
    let mut errors = Vec::new();
    let header = check_header(&raw, &mut errors);
    let paths = path_filter(raw.paths.as_ref(), &mut errors);
    let Some((language, severity)) = header.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    Ok(Rule {
        id: raw.id.clone(),
        language,
        severity,
        query_source: raw.query.clone(),
        paths,
        note: raw.note.clone(),
        url: raw.url.clone(),
        opt_in: raw.opt_in,
        tests: rule_tests(raw.tests.clone()),
        origin,
        prefilter: requirement_of_query(&raw.query),
        has_fix: raw.fix.is_some(),
        message_source: raw.message.trim_end().to_string(),
        outside_tests: has_outside_tests(&raw),
        compiled: OnceLock::new(),
        deferred: Some(raw),
    })
}

fn has_outside_tests(raw: &SerializableRule) -> bool {
    raw.constraints
        .iter()
        .any(|c| c.outside_tests == Some(true))
}

/// The rule's language and severity, when both are valid; pushes an error
/// for a bad id, language or severity.
fn check_header(
    raw: &SerializableRule,
    errors: &mut Vec<CompileError>,
) -> Option<(Language, Severity)> {
    static ID_RE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(ID_PATTERN).expect("static regex"));
    if !ID_RE.is_match(&raw.id) {
        errors.push(CompileError::new(
            "id",
            format!(
                "invalid id `{}`: expected a namespaced lowercase id such as `go/unclosed-file`",
                raw.id
            ),
        ));
    }
    let language = Language::from_name(&raw.language);
    if language.is_none() {
        errors.push(CompileError::new(
            "language",
            format!(
                "unknown language `{}`: expected one of go, rust",
                raw.language
            ),
        ));
    }
    let severity = Severity::parse(&raw.severity);
    if severity.is_none() {
        errors.push(CompileError::new(
            "severity",
            format!(
                "invalid severity `{}`: expected one of {}",
                raw.severity,
                Severity::NAMES.join(", ")
            ),
        ));
    }
    language.zip(severity)
}

/// Compiles one rule; returns every problem found, not just the first.
pub fn compile(raw: SerializableRule, origin: Origin) -> Result<Rule, Vec<CompileError>> {
    compile_with(raw, origin, false)
}

/// Compiles one rule; with `lazy_subs`, its constraints' sub-queries wait
/// for their first use (see [`SubQueries`]).
fn compile_with(
    raw: SerializableRule,
    origin: Origin,
    lazy_subs: bool,
) -> Result<Rule, Vec<CompileError>> {
    let mut errors = Vec::new();
    let Some((language, severity)) = check_header(&raw, &mut errors) else {
        return Err(errors);
    };
    let grammar = language.grammar();
    let outside_tests = has_outside_tests(&raw);

    let query = match compile_query(&grammar, &raw.query, "query", 0) {
        Ok(q) => q,
        Err(e) => {
            errors.push(e);
            return Err(errors);
        }
    };
    let captures: Vec<String> = query
        .capture_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let capture_index = |name: &str| captures.iter().position(|c| c == name).map(|i| i as u32);

    let report = match raw.report.as_deref() {
        Some(name) => {
            let idx = capture_index(name);
            if idx.is_none() {
                errors.push(unknown_capture("report", name, &captures));
            }
            idx
        }
        None => capture_index("match"),
    };
    if captures.is_empty() {
        errors.push(CompileError::new(
            "query",
            "the query has no capture: add one, e.g. `@match`, to mark what is reported",
        ));
    }

    // A message is one line: it is printed in logs and annotations, where a
    // line break could start a line the CI reads as a command.
    let one_line = raw.message.trim_end();
    let message = if one_line.contains(['\n', '\r']) {
        errors.push(CompileError::new(
            "message",
            "a message is one line: put the longer explanation in `note`",
        ));
        None
    } else {
        match parse_template(one_line, &captures) {
            Ok(t) => Some(t),
            Err(name) => {
                errors.push(unknown_capture("message", &name, &captures));
                None
            }
        }
    };

    let fix = match raw.fix {
        None => None,
        Some(SerializableFix::Text(text)) => match parse_template(&text, &captures) {
            Ok(replacement) => Some(FixTemplate {
                capture: None,
                replacement,
            }),
            Err(name) => {
                errors.push(unknown_capture("fix", &name, &captures));
                None
            }
        },
        Some(SerializableFix::Capture(fix)) => {
            let capture = capture_index(&fix.capture);
            if capture.is_none() {
                errors.push(unknown_capture("fix", &fix.capture, &captures));
            }
            match parse_template(&fix.replacement, &captures) {
                Ok(replacement) => Some(FixTemplate {
                    capture,
                    replacement,
                }),
                Err(name) => {
                    errors.push(unknown_capture("fix", &name, &captures));
                    None
                }
            }
        }
    };

    let subs = |sources: Vec<String>, key: &'static str, occurrence: usize| {
        let queries = SubQueries::new(language, sources, &captures, key);
        if lazy_subs {
            Ok(queries)
        } else {
            queries.compile_now(occurrence)
        }
    };
    let mut constraints = Vec::new();
    let mut key_counts: std::collections::HashMap<&'static str, usize> = Default::default();
    let mut next_occurrence = |key: &'static str| {
        let n = key_counts.entry(key).or_default();
        *n += 1;
        *n - 1
    };
    for (index, constraint) in raw.constraints.into_iter().enumerate() {
        let set = [
            constraint.inside.is_some(),
            constraint.not_inside.is_some(),
            constraint.has.is_some(),
            constraint.not_has.is_some(),
            constraint.scope.is_some(),
            constraint.outside_tests.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            errors.push(CompileError::new(
                "where",
                format!(
                    "where[{index}]: expected exactly one of inside, not_inside, has, not_has, scope, outside_tests; found {set}"
                ),
            ));
            continue;
        }
        let result = if let Some(outside) = constraint.outside_tests {
            if !outside {
                continue;
            }
            Ok(Constraint::OutsideTests)
        } else if let Some(kinds) = constraint.inside {
            let occ = next_occurrence("inside");
            kind_ids(&grammar, &kinds, "inside", occ).map(Constraint::Inside)
        } else if let Some(kinds) = constraint.not_inside {
            let occ = next_occurrence("not_inside");
            kind_ids(&grammar, &kinds, "not_inside", occ).map(Constraint::NotInside)
        } else if let Some(queries) = constraint.has {
            let occ = next_occurrence("has");
            subs(queries.into_vec(), "has", occ).map(Constraint::Has)
        } else if let Some(queries) = constraint.not_has {
            let occ = next_occurrence("not_has");
            subs(queries.into_vec(), "not_has", occ).map(Constraint::NotHas)
        } else if let Some(scope) = constraint.scope {
            let occ = next_occurrence("scope");
            let kinds = kind_ids(&grammar, &scope.kinds, "kinds", occ);
            let outermost = match scope.pick.as_deref() {
                None | Some("innermost") => Ok(false),
                Some("outermost") => Ok(true),
                Some(other) => Err(CompileError {
                    occurrence: occ,
                    ..CompileError::new(
                        "pick",
                        format!("invalid pick `{other}`: expected innermost or outermost"),
                    )
                }),
            };
            let contains = match scope.contains {
                Some(q) => {
                    let occ = next_occurrence("contains");
                    subs(q.into_vec(), "contains", occ)
                }
                None => Ok(SubQueries::new(language, Vec::new(), &captures, "contains")),
            };
            let not_contains = match scope.not_contains {
                Some(q) => {
                    let occ = next_occurrence("not_contains");
                    subs(q.into_vec(), "not_contains", occ)
                }
                None => Ok(SubQueries::new(
                    language,
                    Vec::new(),
                    &captures,
                    "not_contains",
                )),
            };
            // Every occurrence of the key counts, so an error names its own line.
            let mut bound = |name: Option<String>, key: &'static str| match name {
                None => Ok(None),
                Some(name) => {
                    let occurrence = next_occurrence(key);
                    capture_index(&name).map(Some).ok_or_else(|| CompileError {
                        occurrence,
                        ..unknown_capture(key, &name, &captures)
                    })
                }
            };
            let after = bound(scope.after, "after");
            let before = bound(scope.before, "before");
            let (after, before) = match (after, before) {
                (Ok(after), Ok(before)) => (after, before),
                (after, before) => {
                    errors.extend([after.err(), before.err()].into_iter().flatten());
                    errors.extend(
                        [
                            kinds.err(),
                            outermost.err(),
                            contains.err(),
                            not_contains.err(),
                        ]
                        .into_iter()
                        .flatten(),
                    );
                    continue;
                }
            };
            match (kinds, outermost, contains, not_contains) {
                (Ok(kinds), Ok(outermost), Ok(contains), Ok(not_contains)) => {
                    if contains.is_empty() && not_contains.is_empty() {
                        Err(CompileError {
                            occurrence: occ,
                            ..CompileError::new(
                                "scope",
                                "a scope needs `contains` or `not_contains`",
                            )
                        })
                    } else {
                        Ok(Constraint::Scope {
                            kinds,
                            outermost,
                            contains,
                            not_contains,
                            after,
                            before,
                        })
                    }
                }
                (a, b, c, d) => {
                    errors.extend([a.err(), b.err(), c.err(), d.err()].into_iter().flatten());
                    continue;
                }
            }
        } else {
            continue;
        };
        match result {
            Ok(c) => constraints.push(c),
            Err(e) => errors.push(e),
        }
    }

    let paths = path_filter(raw.paths.as_ref(), &mut errors);
    let tests = rule_tests(raw.tests);

    if !errors.is_empty() {
        return Err(errors);
    }
    let prefilter = requirement_of_query(&raw.query);
    let anchorable = is_anchorable(&raw.query);
    Ok(Rule {
        id: raw.id,
        language,
        severity,
        query_source: raw.query,
        paths,
        note: raw.note,
        url: raw.url,
        opt_in: raw.opt_in,
        tests,
        origin,
        prefilter,
        has_fix: fix.is_some(),
        message_source: one_line.to_string(),
        outside_tests,
        compiled: OnceLock::from(Ok(Compiled {
            message: message.expect("checked above"),
            query,
            report,
            constraints,
            fix,
            anchorable,
        })),
        deferred: None,
    })
}

fn path_filter(
    paths: Option<&super::model::SerializablePaths>,
    errors: &mut Vec<CompileError>,
) -> PathFilter {
    match paths {
        None => PathFilter::default(),
        Some(p) => {
            match (
                PathFilter::build(&p.include, "include"),
                PathFilter::build(&p.exclude, "exclude"),
            ) {
                (Ok(include), Ok(exclude)) => PathFilter { include, exclude },
                (a, b) => {
                    errors.extend([a.err(), b.err()].into_iter().flatten());
                    PathFilter::default()
                }
            }
        }
    }
}

fn rule_tests(tests: Option<super::model::SerializableTests>) -> RuleTests {
    tests
        .map(|t| RuleTests {
            valid: t.valid,
            invalid: t
                .invalid
                .into_iter()
                .map(|c| match c {
                    SerializableInvalidCase::Code(code) => InvalidCase {
                        code,
                        lines: None,
                        count: None,
                    },
                    SerializableInvalidCase::Detailed(d) => InvalidCase {
                        code: d.code,
                        lines: d.lines,
                        count: d.count,
                    },
                })
                .collect(),
        })
        .unwrap_or_default()
}

fn unknown_capture(key: &'static str, name: &str, captures: &[String]) -> CompileError {
    if name.starts_with('_') && captures.iter().any(|c| c == name) {
        return CompileError::new(
            key,
            format!("capture `{name}` is private (its name starts with `_`): rename it to use it in `{key}`"),
        );
    }
    let captures: Vec<String> = captures
        .iter()
        .filter(|c| !c.starts_with('_'))
        .cloned()
        .collect();
    let known = if captures.is_empty() {
        "the query has no captures".to_string()
    } else {
        format!(
            "expected one of the query's captures: {}",
            captures
                .iter()
                .map(|c| format!("@{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    CompileError::new(key, format!("unknown capture `{name}` in `{key}`: {known}"))
}

fn compile_query(
    grammar: &tree_sitter::Language,
    source: &str,
    key: &'static str,
    occurrence: usize,
) -> Result<Query, CompileError> {
    let query = Query::new(grammar, source).map_err(|e| CompileError {
        key,
        occurrence,
        inner: Some((e.row, e.column)),
        message: format!(
            "the query does not compile: {:?} error: {}",
            e.kind,
            e.message.trim()
        ),
    })?;
    if let Some(row) = top_level_predicate_row(source) {
        return Err(CompileError {
            key,
            occurrence,
            inner: Some((row, 0)),
            message: "a predicate outside the pattern's parentheses is not applied: wrap pattern and predicates in one pair, e.g. `((call_expression function: (identifier) @f) (#eq? @f \"panic\"))`".into(),
        });
    }
    for pattern in 0..query.pattern_count() {
        if let Some(p) = query.general_predicates(pattern).first() {
            return Err(CompileError {
                key,
                occurrence,
                inner: None,
                message: format!(
                    "unsupported predicate `#{}`: expected one of #eq?, #not-eq?, #match?, #not-match?, #any-of?, #not-any-of?",
                    p.operator
                ),
            });
        }
    }
    Ok(query)
}

fn kind_ids(
    grammar: &tree_sitter::Language,
    kinds: &[String],
    key: &'static str,
    occurrence: usize,
) -> Result<Vec<u16>, CompileError> {
    let mut ids = Vec::new();
    for kind in kinds {
        let id = grammar.id_for_node_kind(kind, true);
        if id == 0 {
            return Err(CompileError {
                occurrence,
                ..CompileError::new(key, format!("unknown node kind `{kind}` for this language"))
            });
        }
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(CompileError {
            occurrence,
            ..CompileError::new(key, "expected at least one node kind")
        });
    }
    Ok(ids)
}

fn sub_query(
    language: Language,
    source: &str,
    main_captures: &[String],
    key: &'static str,
    occurrence: usize,
) -> Result<SubQuery, CompileError> {
    let query = compile_query(&language.grammar(), source, key, occurrence)?;
    let unify: Vec<(u32, u32)> = query
        .capture_names()
        .iter()
        .enumerate()
        .filter(|(_, name)| !name.starts_with('_'))
        .filter_map(|(i, name)| {
            main_captures
                .iter()
                .position(|m| m == name)
                .map(|m| (i as u32, m as u32))
        })
        .collect();
    let tokens = token_captures(source);
    let unify_tokens = unify
        .iter()
        .map(|(i, _)| {
            tokens
                .iter()
                .any(|t| t == query.capture_names()[*i as usize])
        })
        .collect();
    // A query rooted at the file walks the file's top level whatever
    // the range it runs in: runs around places would each repeat that.
    let rooted_at_file = is_rooted_at(source, language.root_kind());
    Ok(SubQuery {
        prefilter: requirement_of_query(source),
        anchorable: is_anchorable(source) && !rooted_at_file,
        rooted_at_file,
        query,
        unify,
        unify_tokens,
    })
}

/// The 0-based row of the first predicate that stands outside every pattern's
/// parentheses; tree-sitter accepts it but never applies it.
fn top_level_predicate_row(source: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = source.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            ';' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '(' | '[' => {
                if depth == 0 && c == '(' && chars.peek().is_some_and(|(_, n)| *n == '#') {
                    return Some(source[..at].matches('\n').count());
                }
                depth += 1;
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Parses `{{name}}` placeholders; returns the first unknown capture name on error.
pub fn parse_template(text: &str, captures: &[String]) -> Result<Template, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        if start > 0 {
            parts.push(TemplatePart::Text(rest[..start].to_string()));
        }
        let name = rest[start + 2..start + 2 + len].trim();
        let name = name.strip_prefix('@').unwrap_or(name);
        match captures
            .iter()
            .position(|c| c == name && !c.starts_with('_'))
        {
            Some(i) => parts.push(TemplatePart::Capture(i as u32)),
            None => return Err(name.to_string()),
        }
        rest = &rest[start + 2 + len + 2..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_string()));
    }
    Ok(Template { parts })
}
