//! Walks the given paths, parses each file once and runs all of its
//! language's rules in that pass, on all cores. A file that fails (binary,
//! invalid UTF-8, too large, too slow to parse) becomes a one-line notice and
//! the scan goes on with the others.

use crate::finding::{Finding, Fix, Position};
use crate::fingerprint;
use crate::lang::Language;
use crate::rules::engine::{run_rule, FileContext};
use crate::rules::suppress::Suppressions;
use crate::rules::{Rule, RuleSet};
use rayon::prelude::*;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tree_sitter::{ParseOptions, ParseState, Parser, Point, Tree};

/// Files larger than this are skipped by default.
pub const DEFAULT_MAX_FILESIZE: u64 = 10 * 1024 * 1024;
/// A file whose parse takes longer than this is skipped.
const PARSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How far into a file to look for a NUL byte that marks it binary.
const BINARY_PROBE: usize = 8192;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub max_filesize: u64,
    /// Paths never scanned: (file-name globs, path globs).
    pub exclude: Option<(globset::GlobSet, globset::GlobSet)>,
}

/// A file that was not (fully) scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Findings not silenced by an inline comment, sorted by path and position.
    pub findings: Vec<Finding>,
    /// Findings silenced by `tollgate-ignore`.
    pub suppressed: Vec<Finding>,
    /// Files of a known language that were looked at.
    pub files_checked: usize,
    /// Files that were parsed (the others could not match any rule).
    pub files_parsed: usize,
    pub notices: Vec<Notice>,
}

enum FileResult {
    Findings {
        parsed: bool,
        findings: Vec<Finding>,
    },
    Notice(Notice),
}

/// Scans every file under `options.paths` with `rules`.
pub fn scan(rules: &RuleSet, options: &ScanOptions) -> ScanOutcome {
    let (mut files, mut walk_notices) = collect_files(&options.paths);
    if let Some(exclude) = &options.exclude {
        files.retain(|(path, _)| !excluded(exclude, path));
    }
    let results: Vec<FileResult> = files
        .par_iter()
        .map_init(Parser::new, |parser, (path, lang)| {
            scan_file(rules, parser, path, *lang, options.max_filesize)
        })
        .collect();

    let mut outcome = ScanOutcome {
        files_checked: files.len(),
        ..ScanOutcome::default()
    };
    for result in results {
        match result {
            FileResult::Findings { parsed, findings } => {
                outcome.files_parsed += usize::from(parsed);
                for f in findings {
                    if f.suppressed {
                        outcome.suppressed.push(f);
                    } else {
                        outcome.findings.push(f);
                    }
                }
            }
            FileResult::Notice(n) => outcome.notices.push(n),
        }
    }
    outcome.notices.append(&mut walk_notices);
    outcome.notices.sort_by(|a, b| a.path.cmp(&b.path));
    outcome
}

/// Returns true if and only if `path` matches the configuration's `exclude`
/// globs: (file-name globs, path globs).
pub fn excluded(exclude: &(globset::GlobSet, globset::GlobSet), path: &Path) -> bool {
    let name = path.file_name().map(Path::new).unwrap_or(path);
    exclude.0.is_match(name) || exclude.1.is_match(path)
}

/// Lists the files to scan with their language, honouring `.gitignore`.
/// Paths named explicitly are scanned even when ignored.
fn collect_files(paths: &[PathBuf]) -> (Vec<(PathBuf, Language)>, Vec<Notice>) {
    let mut files = Vec::new();
    let mut notices = Vec::new();
    for root in paths {
        if root.is_file() {
            match Language::from_path(root) {
                Some(lang) => files.push((display_path(root), lang)),
                None => notices.push(Notice {
                    path: root.clone(),
                    message: "skipped: not a Go or Rust file".into(),
                }),
            }
            continue;
        }
        if !root.exists() {
            notices.push(Notice {
                path: root.clone(),
                message: "skipped: no such file or folder".into(),
            });
            continue;
        }
        let walker = ignore::WalkBuilder::new(root).require_git(false).build();
        for entry in walker {
            match entry {
                Ok(entry) => {
                    if !entry.file_type().is_some_and(|t| t.is_file()) {
                        continue;
                    }
                    if let Some(lang) = Language::from_path(entry.path()) {
                        files.push((display_path(entry.path()), lang));
                    }
                }
                Err(err) => notices.push(Notice {
                    path: root.clone(),
                    message: format!("skipped: {err}"),
                }),
            }
        }
    }
    files.sort();
    files.dedup();
    (files, notices)
}

/// The path as users expect to see it: relative to the current directory
/// when it lies below it, without a leading `./`.
pub fn display_path(path: &Path) -> PathBuf {
    let stripped = path.strip_prefix("./").unwrap_or(path);
    if stripped.is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rel) = stripped.strip_prefix(&cwd) {
                return rel.to_path_buf();
            }
        }
    }
    stripped.to_path_buf()
}

fn scan_file(
    rules: &RuleSet,
    parser: &mut Parser,
    path: &Path,
    lang: Language,
    max_filesize: u64,
) -> FileResult {
    let notice = |message: String| {
        FileResult::Notice(Notice {
            path: path.to_path_buf(),
            message,
        })
    };
    let applicable: Vec<&Rule> = rules
        .for_language(lang)
        .filter(|r| r.paths.allows(path))
        .collect();
    if applicable.is_empty() {
        return FileResult::Findings {
            parsed: false,
            findings: Vec::new(),
        };
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > max_filesize => {
            return notice(format!(
                "skipped: {} bytes is over the size limit of {max_filesize} bytes (--max-filesize)",
                meta.len()
            ))
        }
        Ok(_) => {}
        Err(e) => return notice(format!("skipped: cannot read: {e}")),
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return notice(format!("skipped: cannot read: {e}")),
    };
    match check_source(&applicable, parser, path, lang, &bytes) {
        Ok((parsed, findings)) => FileResult::Findings { parsed, findings },
        Err(message) => notice(message),
    }
}

/// Checks one file's contents with the given rules (all of language `lang`).
/// Returns whether the file was parsed, and its findings; or why it was skipped.
pub fn check_source(
    rules: &[&Rule],
    parser: &mut Parser,
    path: &Path,
    lang: Language,
    bytes: &[u8],
) -> Result<(bool, Vec<Finding>), String> {
    if memchr::memchr(0, &bytes[..bytes.len().min(BINARY_PROBE)]).is_some() {
        return Err("skipped: binary file".into());
    }
    let test_file = is_test_file(path, lang);
    let candidates: Vec<&Rule> = rules
        .iter()
        .copied()
        .filter(|r| !(test_file && r.skips_test_files()) && r.prefilter.holds(bytes))
        .collect();
    if candidates.is_empty() {
        return Ok((false, Vec::new()));
    }
    let source = std::str::from_utf8(bytes)
        .map_err(|e| format!("skipped: not valid UTF-8 (at byte {})", e.valid_up_to()))?;
    let tree = parse(parser, lang, bytes).ok_or_else(|| {
        format!(
            "skipped: parsing took longer than {} s",
            PARSE_TIMEOUT.as_secs()
        )
    })?;
    let suppressions = Suppressions::parse(source);
    let mut findings = Vec::new();
    let mut context = FileContext::new(&tree, bytes);
    for rule in candidates {
        for m in run_rule(rule, &mut context) {
            let start = position(source, m.start_byte, m.start);
            let finding = Finding {
                rule: rule.id.clone(),
                severity: rule.severity,
                path: path.to_path_buf(),
                start,
                end: position(source, m.end_byte, m.end),
                message: m.message,
                fingerprint: String::new(),
                fix: m.fix.map(|(sb, eb, sp, ep, replacement)| Fix {
                    start: position(source, sb, sp),
                    end: position(source, eb, ep),
                    new_lines: Some(lines_after_fix(source, sb, eb, &replacement)),
                    replacement,
                }),
                snippet: source[m.start_byte..m.end_byte].to_string(),
                suppressed: suppressions.silences(&rule.id, start.line),
            };
            findings.push(finding);
        }
    }
    findings.sort_by(|a, b| (a.start, &a.rule, a.end).cmp(&(b.start, &b.rule, b.end)));
    fingerprint::assign(&mut findings);
    Ok((true, findings))
}

/// The whole lines around bytes `start..end` of `source`, with that span
/// replaced (no trailing line break).
fn lines_after_fix(source: &str, start: usize, end: usize, replacement: &str) -> String {
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[end..].find('\n').map_or(source.len(), |i| end + i);
    let tail = source[end..line_end].trim_end_matches('\r');
    format!("{}{replacement}{tail}", &source[line_start..start])
}

/// Returns true if and only if `path` is a test file by its language's
/// conventions: Go `*_test.go`; Rust files under `tests/` or `benches/`, and
/// `tests.rs` (the body of a `#[cfg(test)] mod tests;`).
pub fn is_test_file(path: &Path, lang: Language) -> bool {
    match lang {
        Language::Go => path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("_test.go")),
        Language::Rust => {
            path.file_name().is_some_and(|n| n == "tests.rs")
                || path
                    .components()
                    .any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "benches")))
        }
    }
}

fn parse(parser: &mut Parser, lang: Language, bytes: &[u8]) -> Option<Tree> {
    parser.set_language(&lang.grammar()).ok()?;
    let deadline = Instant::now() + PARSE_TIMEOUT;
    let mut progress = |_: &ParseState| {
        if Instant::now() > deadline {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut read = |offset: usize, _: Point| -> &[u8] { bytes.get(offset..).unwrap_or_default() };
    let tree = parser.parse_with_options(
        &mut read,
        None,
        Some(ParseOptions::new().progress_callback(&mut progress)),
    );
    if tree.is_none() {
        parser.reset();
    }
    tree
}

/// Converts a byte offset and tree-sitter point to a 1-based line and
/// character column.
fn position(source: &str, byte: usize, point: Point) -> Position {
    let line_start = byte - point.column;
    let column = source
        .get(line_start..byte)
        .map(|s| s.chars().count())
        .unwrap_or(point.column);
    Position {
        line: point.row + 1,
        column: column + 1,
    }
}
