//! Walks the given paths, parses each file once and runs all of its
//! language's rules in that pass, on all cores. A file that fails (not valid
//! UTF-8, too large, unreadable, over its time budget) becomes a one-line
//! notice, is listed as not scanned (which fails the gate by default), and
//! the scan goes on with the others.

use crate::finding::{Finding, Fix, Position};
use crate::fingerprint;
use crate::lang::Language;
use crate::rules::compile::Compiled;
use crate::rules::engine::{run_rule, FileContext, Unfinished};
use crate::rules::suppress::Suppressions;
use crate::rules::{Rule, RuleSet};
use rayon::prelude::*;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tree_sitter::{ParseOptions, ParseState, Parser, Point, Tree};

/// Files larger than this are skipped by default.
pub const DEFAULT_MAX_FILESIZE: u64 = 10 * 1024 * 1024;
/// Default time budget of one file: parsing, queries and constraints. Real
/// source files take milliseconds; tree-sitter alone needs ~4.5 s to parse a
/// 10 MB Go file on one line, so a file past this is made to stall the job.
pub const DEFAULT_FILE_TIMEOUT_SECS: u64 = 5;
/// Most tokens inside syntax errors in a scanned file: tree-sitter's query
/// engine is quadratic on the wide error nodes of text that is not code
/// (200 KB of `(`), and a file that far from Go or Rust is not scanned.
pub const MAX_ERROR_TOKENS: usize = 10_000;
/// Files larger than this are scanned one after the other on one thread:
/// a syntax tree is tens of times its file's size, and the memory a thread
/// frees stays with that thread's allocator arena, so large files spread
/// over threads would add up their trees' memory instead of reusing it.
const LARGE_FILE_BYTES: u64 = 128 * 1024;
/// Before a file larger than this, whose tree (~50 times its size) sets the
/// scan's peak memory, the memory the other threads freed is handed back to
/// the system ([`release_free_memory`]); before smaller ones that would cost
/// more time (pages faulted in again) than it saves.
const HUGE_FILE_BYTES: u64 = 512 * 1024;
/// A scan of at most this many files (a review's change) compiles the rules
/// its files need first, on all threads: compiling is then most of its time,
/// and done file by file it falls to whichever thread meets the rule first.
/// A larger scan's compilation is small beside its files, which it would read
/// twice.
const COMPILE_FIRST_MAX_FILES: usize = 1000;
/// Most findings of one rule in one file; the rest become one notice.
pub const MAX_FINDINGS_PER_RULE: usize = 100;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub max_filesize: u64,
    /// Paths never scanned: (file-name globs, path globs).
    pub exclude: Option<(globset::GlobSet, globset::GlobSet)>,
    /// Time budget of one file: parsing, queries and constraints.
    pub file_timeout: Duration,
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
    /// Files of a known language, and image files, that were looked at.
    pub files_checked: usize,
    /// Files that were parsed (the others could not match any rule).
    pub files_parsed: usize,
    pub notices: Vec<Notice>,
    /// Changed files that neither a rule nor an image check reads (counted,
    /// not listed: a change's README is nobody's concern).
    pub other_files: usize,
    /// Files of a scanned language that were not (fully) scanned: too big,
    /// unreadable, not UTF-8, over the time budget. Each also has a notice.
    pub not_scanned: Vec<PathBuf>,
    /// Image references the environment's policy allows, in file order.
    pub images_passed: Vec<PassedImage>,
}

/// An image reference that passed the environment's policy, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedImage {
    pub path: PathBuf,
    pub line: usize,
    pub image: String,
}

/// What became of one file.
#[derive(Default)]
struct FileResult {
    parsed: bool,
    findings: Vec<Finding>,
    notices: Vec<Notice>,
    /// The file's rules did not all run to the end.
    not_scanned: bool,
}

/// One file's check: whether it was parsed, its findings, and notes such as
/// a rule's findings cut at [`MAX_FINDINGS_PER_RULE`].
#[derive(Debug, Default)]
pub struct Checked {
    pub parsed: bool,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

/// Scans every file under `options.paths` with `rules`.
pub fn scan(rules: &RuleSet, options: &ScanOptions) -> ScanOutcome {
    let (mut walked, mut walk_notices) = collect_files(&options.paths);
    if let Some(exclude) = &options.exclude {
        walked.retain(|(path, _, _)| !excluded(exclude, path));
    }
    let sizes: Vec<u64> = walked.iter().map(|(_, _, size)| *size).collect();
    let files: Vec<(PathBuf, Language)> = walked
        .into_iter()
        .map(|(path, lang, _)| (path, lang))
        .collect();
    if files.len() <= COMPILE_FIRST_MAX_FILES && rayon::current_num_threads() > 1 {
        compile_needed(rules, &files, options);
    }
    let results = scan_files(rules, &files, &sizes, options);

    let mut outcome = ScanOutcome {
        files_checked: files.len(),
        ..ScanOutcome::default()
    };
    for (result, (path, _)) in results.into_iter().zip(&files) {
        outcome.files_parsed += usize::from(result.parsed);
        for f in result.findings {
            if f.suppressed {
                outcome.suppressed.push(f);
            } else {
                outcome.findings.push(f);
            }
        }
        outcome.notices.extend(result.notices);
        if result.not_scanned {
            outcome.not_scanned.push(path.clone());
        }
    }
    // A walk error on a file of a scanned language hides that file.
    outcome.not_scanned.extend(
        walk_notices
            .iter()
            .filter(|n| Language::from_path(&n.path).is_some())
            .map(|n| n.path.clone()),
    );
    outcome.notices.append(&mut walk_notices);
    fingerprint::separate_twins(outcome.findings.iter_mut().chain(&mut outcome.suppressed));
    outcome.notices.sort_by(|a, b| a.path.cmp(&b.path));
    outcome.not_scanned.sort();
    outcome.not_scanned.dedup();
    outcome
}

/// Scans `files` on all threads, the large ones one after the other on one
/// thread (see [`LARGE_FILE_BYTES`]); results in the order of `files`.
fn scan_files(
    rules: &RuleSet,
    files: &[(PathBuf, Language)],
    sizes: &[u64],
    options: &ScanOptions,
) -> Vec<FileResult> {
    run_apart(sizes, |parser, i| {
        scan_file(rules, parser, &files[i].0, files[i].1, options)
    })
}

/// Runs `scan_one` on every file index (`sizes` holds each file's size) and
/// returns the results in index order. Files over [`LARGE_FILE_BYTES`] run
/// one after the other on one thread, largest first, so that one large tree
/// lives at a time and the largest lives beside the smallest files; the
/// others run smallest first, one file per task, so that a thread done with
/// the large files still finds small ones to take over. Without large
/// files, the small ones run largest first.
fn run_apart<R: Send>(sizes: &[u64], scan_one: impl Fn(&mut Parser, usize) -> R + Sync) -> Vec<R> {
    let (mut large, mut small): (Vec<usize>, Vec<usize>) =
        (0..sizes.len()).partition(|&i| sizes[i] > LARGE_FILE_BYTES);
    // The largest trees first, beside the smallest files: the peak is the
    // largest tree plus what lives beside it. The largest small files come
    // last, when a thread done with the large files shares them.
    large.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    if large.is_empty() {
        // No thread is busy with large files: the largest first, so that
        // the threads end together instead of waiting on the last one.
        small.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    } else {
        small.sort_by_key(|&i| sizes[i]);
    }
    let (large_results, small_results): (Vec<R>, Vec<R>) = rayon::join(
        || {
            let mut parser = Parser::new();
            large
                .iter()
                .map(|&i| {
                    if sizes[i] > HUGE_FILE_BYTES {
                        release_free_memory();
                    }
                    scan_one(&mut parser, i)
                })
                .collect()
        },
        || {
            // One file per task: rayon otherwise cuts the list into as many
            // runs as threads up front, and a thread busy with the large
            // files finds nothing left to steal once it is free.
            small
                .par_iter()
                .with_max_len(1)
                .map_init(Parser::new, |parser, &i| scan_one(parser, i))
                .collect()
        },
    );
    let mut results: Vec<Option<R>> = (0..sizes.len()).map(|_| None).collect();
    for (i, result) in large
        .into_iter()
        .zip(large_results)
        .chain(small.into_iter().zip(small_results))
    {
        results[i] = Some(result);
    }
    results.into_iter().flatten().collect()
}

/// Hands the memory the allocator keeps free back to the system, before a
/// huge file's tree is built: glibc keeps what each thread freed in that
/// thread's arena, so the pages the small files' thread used and freed
/// would still count beside the huge tree (Rust corpus at `-j 2`: 137 ->
/// 125 MiB peak).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim only returns unused pages of glibc's own heaps
        // to the kernel; it takes no pointer and leaves every allocation alone.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Returns true if and only if `path` matches the configuration's `exclude`
/// globs: (file-name globs, path globs).
pub fn excluded(exclude: &(globset::GlobSet, globset::GlobSet), path: &Path) -> bool {
    let name = path.file_name().map(Path::new).unwrap_or(path);
    exclude.0.is_match(name) || exclude.1.is_match(path)
}

/// Lists the files to scan with their language, honouring `.gitignore` and
/// `.git/info/exclude` only: the scanned code must not be able to exempt
/// itself, so `.ignore`/`.rgignore` files and the runner's global gitignore
/// are not read. Hidden files and folders are skipped in a walk; paths named
/// explicitly (such as a change's files) are scanned even when ignored or hidden.
/// The Go and Rust files under `paths`, in path order, each with its size
/// in bytes (for the scheduling), and what the walk could not read. Folders
/// are walked on all threads: a large checkout has tens of thousands of
/// files to list and measure before the first one is scanned.
fn collect_files(paths: &[PathBuf]) -> (Vec<(PathBuf, Language, u64)>, Vec<Notice>) {
    let mut files = Vec::new();
    let mut notices = Vec::new();
    for root in paths {
        if root.is_file() {
            match Language::from_path(root) {
                Some(lang) => {
                    let size = std::fs::metadata(root).map_or(0, |m| m.len());
                    files.push((display_path(root), lang, size));
                }
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
        let found = std::sync::Mutex::new((Vec::new(), Vec::new()));
        ignore::WalkBuilder::new(root)
            .require_git(false)
            .ignore(false)
            .git_global(false)
            .threads(rayon::current_num_threads())
            .build_parallel()
            .run(|| {
                let found = &found;
                Box::new(move |entry| {
                    let item = match entry {
                        Ok(entry) => {
                            let lang = Language::from_path(entry.path());
                            match lang.filter(|_| entry.file_type().is_some_and(|t| t.is_file())) {
                                Some(lang) => {
                                    let size = entry.metadata().map_or(0, |m| m.len());
                                    Ok((display_path(entry.path()), lang, size))
                                }
                                None => return ignore::WalkState::Continue,
                            }
                        }
                        Err(err) => Err(Notice {
                            path: error_path(&err).unwrap_or_else(|| root.clone()),
                            message: format!("skipped: {err}"),
                        }),
                    };
                    let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
                    match item {
                        Ok(file) => found.0.push(file),
                        Err(notice) => found.1.push(notice),
                    }
                    ignore::WalkState::Continue
                })
            });
        let (walked, mut walk_notices) = found.into_inner().unwrap_or_else(|e| e.into_inner());
        files.extend(walked);
        // The threads list them in any order.
        walk_notices.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        notices.append(&mut walk_notices);
    }
    files.sort();
    files.dedup();
    (files, notices)
}

/// The file or folder a walk error is about, when it names one.
fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(display_path(path)),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
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

/// A file that is a symbolic link is read only when its target lies inside
/// the working tree that holds the link (the current folder outside a
/// repository): a pull request can commit a link named `main.go` that points
/// at a credentials file of the runner, whose text would reach the findings.
fn link_stays_inside(path: &Path) -> Result<(), String> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(());
    }
    let refused =
        || "skipped: a symbolic link to a file outside the working tree: not read".to_string();
    let target = path
        .canonicalize()
        .map_err(|e| format!("skipped: cannot read: {e}"))?;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tree = crate::diff::git::Repo::discover(folder)
        .ok()
        .and_then(|repo| repo.workdir().map(Path::to_path_buf))
        .or_else(|| std::env::current_dir().ok())
        .and_then(|root| root.canonicalize().ok())
        .ok_or_else(refused)?;
    if target.starts_with(&tree) {
        Ok(())
    } else {
        Err(refused())
    }
}

fn scan_file(
    rules: &RuleSet,
    parser: &mut Parser,
    path: &Path,
    lang: Language,
    options: &ScanOptions,
) -> FileResult {
    let skipped = |message: String| FileResult {
        notices: vec![Notice {
            path: path.to_path_buf(),
            message,
        }],
        not_scanned: true,
        ..FileResult::default()
    };
    let file = match read_for_rules(rules, path, lang, options) {
        Ok(Some(file)) => file,
        Ok(None) => return FileResult::default(),
        Err(message) => return skipped(message),
    };
    match check_source_as(
        &file.rules,
        parser,
        path,
        lang,
        &file.bytes,
        options.file_timeout,
        file.test_file,
    ) {
        Ok(checked) => FileResult {
            parsed: checked.parsed,
            findings: checked.findings,
            notices: checked
                .notes
                .into_iter()
                .map(|message| Notice {
                    path: path.to_path_buf(),
                    message,
                })
                .collect(),
            not_scanned: false,
        },
        Err(message) => skipped(message),
    }
}

/// A file as the rules see it: its bytes, the rules its path lets run, and
/// whether it is test code.
struct ReadFile<'r> {
    rules: Vec<&'r Rule>,
    bytes: Vec<u8>,
    test_file: bool,
}

/// Reads `path` for its language's rules: nothing if no rule applies to its
/// path, why not if it must not or cannot be read (a link out of the working
/// tree, over the size limit, unreadable).
fn read_for_rules<'r>(
    rules: &'r RuleSet,
    path: &Path,
    lang: Language,
    options: &ScanOptions,
) -> Result<Option<ReadFile<'r>>, String> {
    let applicable: Vec<&Rule> = rules
        .for_language(lang)
        .filter(|r| r.paths.allows(path))
        .collect();
    if applicable.is_empty() {
        return Ok(None);
    }
    link_stays_inside(path)?;
    let max_filesize = options.max_filesize;
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > max_filesize => {
            return Err(format!(
                "skipped: {} bytes is over the size limit of {max_filesize} bytes (--max-filesize)",
                meta.len()
            ))
        }
        Ok(_) => {}
        Err(e) => return Err(format!("skipped: cannot read: {e}")),
    }
    let bytes = std::fs::read(path).map_err(|e| format!("skipped: cannot read: {e}"))?;
    // A Rust file can be test code by a `#[cfg(test)] mod x;` in its parent,
    // or be a compile-test fixture beside its expected compiler output.
    let test_file = is_test_file(path, lang)
        || (lang == Language::Rust
            && (crate::test_modules::is_compile_test_fixture(path)
                || crate::test_modules::declared_as_test_module(path)));
    Ok(Some(ReadFile {
        rules: applicable,
        bytes,
        test_file,
    }))
}

/// Checks one file's contents with the given rules (all of language `lang`)
/// within `timeout` (parsing, queries and constraints together). Returns
/// what was found, or why the file could not be scanned.
///
/// A file is "binary" exactly when it is not valid UTF-8: Go and Rust source
/// must be UTF-8, and any other byte, a NUL in a comment included, is text
/// the parser reads like any other.
pub fn check_source(
    rules: &[&Rule],
    parser: &mut Parser,
    path: &Path,
    lang: Language,
    bytes: &[u8],
    timeout: Duration,
) -> Result<Checked, String> {
    let test_file = is_test_file(path, lang);
    check_source_as(rules, parser, path, lang, bytes, timeout, test_file)
}

/// [`check_source`], told whether the file is test code (rules with
/// `outside_tests` then do not run on it).
fn check_source_as(
    rules: &[&Rule],
    parser: &mut Parser,
    path: &Path,
    lang: Language,
    bytes: &[u8],
    timeout: Duration,
    test_file: bool,
) -> Result<Checked, String> {
    let over_time = || {
        format!(
            "skipped: scanning took longer than {} s (the per-file time budget)",
            timeout.as_secs_f64()
        )
    };
    let unfinished = |why: Unfinished, rule: &Rule| match why {
        Unfinished::Deadline => over_time(),
        Unfinished::MatchLimit => {
            "skipped: a rule's query had too many matches in progress to finish".to_string()
        }
        Unfinished::Uncompiled(e) => format!("skipped: rule {} does not compile: {e}", rule.id),
    };
    let source = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "skipped: not valid UTF-8 (at byte {}): binary, or not Go/Rust source",
            e.valid_up_to()
        )
    })?;
    let candidates = candidates(rules.iter().copied(), bytes, test_file);
    if candidates.is_empty() {
        return Ok(Checked::default());
    }
    // Compiling a rule (once per run) is not the file's cost: its budget starts after.
    let compiled = compile_all(&candidates)?;
    let deadline = Instant::now() + timeout;
    let tree = parse(parser, lang, bytes, deadline).ok_or_else(over_time)?;
    if let Some(why) = unscannable_shape(&tree, lang) {
        return Err(format!("skipped: {why}"));
    }
    let suppressions = Suppressions::parse(source);
    let mut checked = Checked {
        parsed: true,
        ..Checked::default()
    };
    let mut context = FileContext::new(&tree, bytes, deadline);
    // Each finding with the start byte of its match, for its scope.
    let mut starts: Vec<usize> = Vec::new();
    for (rule, compiled) in candidates.into_iter().zip(compiled) {
        let silenced =
            |m: &crate::rules::engine::RawMatch| suppressions.silences(&rule.id, m.start.row + 1);
        // Silenced findings do not count towards the cap, so that silenced
        // lines cannot push a live finding past it.
        let found = run_rule(rule, compiled, &mut context, MAX_FINDINGS_PER_RULE, &|m| {
            !silenced(m)
        })
        .map_err(|why| unfinished(why, rule))?;
        if found.truncated {
            checked.notes.push(format!(
                "rule {}: only the first {MAX_FINDINGS_PER_RULE} findings in this file are reported",
                rule.id
            ));
        }
        for m in found.matches {
            context
                .check_deadline()
                .map_err(|why| unfinished(why, rule))?;
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
            checked.findings.push(finding);
            starts.push(m.start_byte);
        }
    }
    fingerprint::sort_and_assign(&mut checked.findings, &starts, &tree, bytes, lang, deadline)
        .map_err(|_| over_time())?;
    // The matched text served the fingerprints; a whole `unsafe impl` need
    // not stay in memory until the end of the scan.
    for finding in &mut checked.findings {
        finding.snippet = String::new();
    }
    Ok(checked)
}

/// The rules that run on a file: those its literals let through, less the
/// rules kept out of test files when it is one.
fn candidates<'r>(
    rules: impl Iterator<Item = &'r Rule>,
    bytes: &[u8],
    test_file: bool,
) -> Vec<&'r Rule> {
    rules
        .filter(|r| !(test_file && r.skips_test_files()) && r.prefilter.holds(bytes))
        .collect()
}

/// Compiles, on all threads, every rule that the scan of `files` will run
/// (those each file lets through its prefilter), so that the scan finds
/// them compiled. Reads the files as the scan does; a file the scan would
/// skip needs nothing. A rule that does not compile is left to the scan,
/// which says so for each file that needs it. Sub-queries stay lazy: they
/// compile only when a match needs them.
fn compile_needed(rules: &RuleSet, files: &[(PathBuf, Language)], options: &ScanOptions) {
    let needs: Vec<Vec<&Rule>> = files
        .par_iter()
        .with_max_len(1)
        .map(
            |(path, lang)| match read_for_rules(rules, path, *lang, options) {
                Ok(Some(file)) => candidates(file.rules.into_iter(), &file.bytes, file.test_file),
                _ => Vec::new(),
            },
        )
        .collect();
    let needed: Vec<&Rule> = rules
        .rules
        .iter()
        .filter(|rule| needs.iter().flatten().any(|n| std::ptr::eq(*n, *rule)))
        .collect();
    needed.par_iter().with_max_len(1).for_each(|rule| {
        let _ = rule.compiled();
    });
}

/// The compiled form of each rule, in order; compiles those not compiled yet.
/// Odd worker threads compile from the end, so that two threads starting
/// together compile different rules instead of waiting on each other's.
fn compile_all<'r>(rules: &[&'r Rule]) -> Result<Vec<&'r Compiled>, String> {
    let compile = |rule: &'r Rule| {
        rule.compiled()
            .map_err(|e| format!("skipped: rule {} does not compile: {e}", rule.id))
    };
    if rayon::current_thread_index().is_some_and(|i| i % 2 == 1) {
        for rule in rules.iter().rev() {
            compile(rule)?;
        }
    }
    rules.iter().map(|rule| compile(rule)).collect()
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

fn parse(parser: &mut Parser, lang: Language, bytes: &[u8], deadline: Instant) -> Option<Tree> {
    parser.set_language(&lang.grammar()).ok()?;
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

/// Why the queries cannot run on `tree` in reasonable time, if they cannot:
/// more than [`MAX_ERROR_TOKENS`] tokens inside syntax errors. One walk of a
/// tree with errors, stopped as soon as the limit is passed.
fn unscannable_shape(tree: &Tree, lang: Language) -> Option<String> {
    if !tree.root_node().has_error() {
        return None;
    }
    let mut cursor = tree.walk();
    let mut error_tokens = 0usize;
    loop {
        let node = cursor.node();
        if node.is_error() {
            error_tokens += node.child_count() as usize;
            if error_tokens > MAX_ERROR_TOKENS {
                return Some(format!(
                    "not {lang} code: more than {MAX_ERROR_TOKENS} tokens in syntax errors"
                ));
            }
        }
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return None;
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{load_rules, RuleSource};

    fn options(max_filesize: u64) -> ScanOptions {
        ScanOptions {
            paths: Vec::new(),
            max_filesize,
            exclude: None,
            file_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn compiling_first_compiles_exactly_what_the_files_need() {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("p.go");
        std::fs::write(&code, "package p\n\nfunc f() { println(\"x\") }\n").unwrap();
        let files = [(code.clone(), Language::Go)];

        let (set, errors) = load_rules(&[RuleSource::Embedded]);
        assert!(errors.is_empty(), "{errors:?}");
        compile_needed(&set, &files, &options(u64::MAX));
        let bytes = std::fs::read(&code).unwrap();
        let needed = candidates(set.for_language(Language::Go), &bytes, false);
        assert!(needed.iter().any(|r| r.id == "go/builtin-print"));
        for rule in &set.rules {
            let expected = needed.iter().any(|n| std::ptr::eq(*n, rule));
            assert_eq!(rule.is_compiled(), expected, "{}", rule.id);
        }
        // A file over the size limit is not read: the scan skips it.
        let (limited, _) = load_rules(&[RuleSource::Embedded]);
        compile_needed(&limited, &files, &options(4));
        assert!(limited.rules.iter().all(|r| !r.is_compiled()));
    }

    #[cfg(unix)]
    #[test]
    fn compiling_first_does_not_read_through_a_link_out_of_the_working_tree() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("secret.txt");
        std::fs::write(&outside, "package p\nfunc f() { println(1) }\n").unwrap();
        let tree = dir.path().join("repo");
        git2::Repository::init(&tree).unwrap();
        let link = tree.join("main.go");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let (set, _) = load_rules(&[RuleSource::Embedded]);
        compile_needed(&set, &[(link, Language::Go)], &options(u64::MAX));
        assert!(set.rules.iter().all(|r| !r.is_compiled()));
        // The same text inside the tree is read.
        let inside = tree.join("inside.go");
        std::fs::copy(&outside, &inside).unwrap();
        compile_needed(&set, &[(inside, Language::Go)], &options(u64::MAX));
        assert!(set
            .rules
            .iter()
            .any(|r| r.id == "go/builtin-print" && r.is_compiled()));
    }

    #[test]
    fn only_the_rules_a_file_lets_through_its_prefilter_are_compiled() {
        let (set, errors) = load_rules(&[RuleSource::Embedded]);
        assert!(errors.is_empty(), "{errors:?}");
        let go: Vec<&Rule> = set.for_language(Language::Go).collect();
        let source = b"package p\n\nfunc f() { println(\"x\") }\n";
        let passing: Vec<&str> = go
            .iter()
            .filter(|r| r.prefilter.holds(source))
            .map(|r| r.id.as_str())
            .collect();
        assert!(passing.contains(&"go/builtin-print"), "{passing:?}");
        let checked = check_source(
            &go,
            &mut Parser::new(),
            Path::new("p.go"),
            Language::Go,
            source,
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(checked.findings.len(), 1, "{:?}", checked.findings);
        for rule in &set.rules {
            let expected = passing.contains(&rule.id.as_str());
            assert_eq!(rule.is_compiled(), expected, "{}", rule.id);
        }
    }
}

#[cfg(test)]
mod deferred_rule_tests {
    use super::*;
    use crate::rules::compile::{defer, Origin};

    #[test]
    fn a_deferred_rule_that_does_not_compile_skips_the_file_with_a_notice_not_a_panic() {
        let raw: crate::rules::model::SerializableRule = serde_yaml::from_str(
            "id: t/bad\nlanguage: go\nseverity: warning\nmessage: m\nquery: '((identifer) @x (#eq? @x \"println\"))'\n",
        )
        .unwrap();
        let origin = Origin {
            file: "<embedded>/t.yml".into(),
            line: 1,
        };
        let rule = defer(raw, origin).unwrap();
        assert!(!rule.is_compiled());
        let message = scan_go(&rule, b"package p\nfunc f() { println() }\n").unwrap_err();
        assert!(
            message.starts_with("skipped: rule t/bad does not compile: query:"),
            "{message}"
        );
    }

    /// `code` as the Go file `p.go`, scanned with `rule` alone.
    fn scan_go(rule: &Rule, code: &[u8]) -> Result<Checked, String> {
        let mut parser = Parser::new();
        let path = Path::new("p.go");
        check_source(
            &[rule],
            &mut parser,
            path,
            Language::Go,
            code,
            Duration::from_secs(60),
        )
    }

    /// A deferred rule whose `not_has` sub-query is `sub`.
    fn deferred_with_sub(sub: &str) -> Rule {
        deferred_with_subs(&[sub])
    }

    /// A deferred rule whose `not_has` sub-queries are `subs`.
    fn deferred_with_subs(subs: &[&str]) -> Rule {
        let subs: Vec<String> = subs.iter().map(|s| format!("'{s}'")).collect();
        let yaml = format!(
            "id: t/sub\nlanguage: go\nseverity: warning\nmessage: m\nquery: '((call_expression function: (identifier) @f) @match (#eq? @f \"println\"))'\nwhere:\n  - not_has: [{}]\n",
            subs.join(", ")
        );
        let raw: crate::rules::model::SerializableRule = serde_yaml::from_str(&yaml).unwrap();
        let origin = Origin {
            file: "<embedded>/t.yml".into(),
            line: 1,
        };
        defer(raw, origin).unwrap()
    }

    fn sub_queries_of(rule: &Rule) -> &crate::rules::compile::SubQueries {
        match &rule.compiled().unwrap().constraints[0] {
            crate::rules::Constraint::NotHas(queries) => queries,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_deferred_rule_compiles_its_sub_queries_only_when_a_match_needs_them() {
        let rule = deferred_with_sub("((interpreted_string_literal) @s)");
        let scan = |code: &[u8]| scan_go(&rule, code).unwrap();
        // The literal `println` passes the prefilter, but nothing calls it.
        let none = scan(b"package p\n// println\nfunc f() { print() }\n");
        assert!(none.findings.is_empty());
        assert!(rule.is_compiled());
        assert_eq!(sub_queries_of(&rule).compiled_count(), 0);
        let found = scan(b"package p\nfunc f() { println() }\nfunc g() { println(\"x\") }\n");
        assert_eq!(sub_queries_of(&rule).compiled_count(), 1);
        let lines: Vec<usize> = found.findings.iter().map(|f| f.start.line).collect();
        assert_eq!(lines, [2], "the sub-query applies once compiled");
    }

    #[test]
    fn a_later_sub_query_compiles_only_when_the_earlier_ones_do_not_match() {
        let rule = deferred_with_subs(&[
            "((interpreted_string_literal) @s)",
            "((argument_list (identifier)) @a)",
        ]);
        let lines = |code: &[u8]| -> Vec<usize> {
            let checked = scan_go(&rule, code).unwrap();
            checked.findings.iter().map(|f| f.start.line).collect()
        };
        // The first sub-query settles `println("x")`: the second is not needed.
        assert!(lines(b"package p\nfunc f() { println(\"x\") }\n").is_empty());
        assert_eq!(sub_queries_of(&rule).compiled_count(), 1);
        assert!(lines(b"package p\nfunc f() { println(y) }\n").is_empty());
        assert_eq!(sub_queries_of(&rule).compiled_count(), 2);
        assert_eq!(lines(b"package p\nfunc f() { println(1) }\n"), [2]);
    }

    #[test]
    fn a_deferred_sub_query_that_does_not_compile_skips_the_file_with_a_notice() {
        let rule = deferred_with_sub("((interpreted_strin_literal) @s)");
        let message = scan_go(&rule, b"package p\nfunc f() { println() }\n").unwrap_err();
        assert!(
            message.starts_with("skipped: rule t/sub does not compile: not_has:"),
            "{message}"
        );
    }
}

#[cfg(test)]
mod large_file_tests {
    use super::*;
    use crate::rules::{load_rules, RuleSource};

    #[test]
    fn large_files_scanned_apart_keep_their_place_among_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let call = "func f() { println(\"x\") }\n";
        let large = format!("package p\n{}", "// filler line\n".repeat(10_000)) + call;
        assert!(large.len() as u64 > LARGE_FILE_BYTES);
        for (name, text) in [
            ("a.go", format!("package p\n{call}")),
            ("b.go", large.clone()),
            ("c.go", format!("package p\n{call}")),
            ("d.go", large),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let (rules, errors) = load_rules(&[RuleSource::Embedded]);
        assert!(errors.is_empty(), "{errors:?}");
        let options = ScanOptions {
            paths: vec![dir.path().to_path_buf()],
            max_filesize: DEFAULT_MAX_FILESIZE,
            exclude: None,
            file_timeout: Duration::from_secs(60),
        };
        let outcome = scan(&rules, &options);
        let files: Vec<String> = outcome
            .findings
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files, ["a.go", "b.go", "c.go", "d.go"]);
        assert_eq!(outcome.files_parsed, 4);
    }

    #[test]
    fn the_walk_on_all_threads_lists_the_files_in_path_order_with_their_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        for d in 0..6 {
            for f in 0..20 {
                let path = dir.path().join(format!("d{d}/s{f}/f.go"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, "x".repeat(d * 20 + f)).unwrap();
                expected.push((path, Language::Go, (d * 20 + f) as u64));
            }
        }
        std::fs::write(dir.path().join("d0/notes.txt"), "not code").unwrap();
        expected.sort();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (files, notices) = pool.install(|| collect_files(&[dir.path().to_path_buf()]));
        assert!(notices.is_empty(), "{notices:?}");
        let files: Vec<(PathBuf, Language, u64)> = files
            .into_iter()
            .map(|(p, l, s)| {
                (
                    dir.path().join(p.strip_prefix(dir.path()).unwrap_or(&p)),
                    l,
                    s,
                )
            })
            .collect();
        assert_eq!(files, expected);
    }

    #[test]
    fn results_come_in_file_order_whatever_the_sizes() {
        let sizes = [5, LARGE_FILE_BYTES + 1, 1, 900, LARGE_FILE_BYTES * 2, 0, 7];
        let results = run_apart(&sizes, |_, i| i);
        assert_eq!(results, (0..sizes.len()).collect::<Vec<_>>());
    }

    #[test]
    fn the_largest_tree_comes_first_and_the_small_files_smallest_first() {
        let sizes = [5, LARGE_FILE_BYTES + 1, 1, 900, LARGE_FILE_BYTES * 2, 0, 7];
        assert_eq!(order_on_one_thread(&sizes), [4, 1, 5, 2, 0, 6, 3]);
    }

    /// The order in which [`run_apart`] runs the files on one thread.
    fn order_on_one_thread(sizes: &[u64]) -> Vec<usize> {
        let order = std::sync::Mutex::new(Vec::new());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        pool.install(|| run_apart(sizes, |_, i| order.lock().unwrap().push(i)));
        order.into_inner().unwrap()
    }

    #[test]
    fn without_large_files_the_largest_small_file_comes_first() {
        let sizes = [5, 1, 900, 0, 7, LARGE_FILE_BYTES];
        assert_eq!(order_on_one_thread(&sizes), [5, 2, 4, 0, 1, 3]);
    }

    #[test]
    fn a_thread_done_with_the_large_files_takes_over_small_ones() {
        use std::sync::{Condvar, Mutex};
        // One large file that is busy until the small-file thread has
        // started the last quarter of the small files: rayon's default
        // split hands that whole quarter to that thread, leaving nothing
        // for the other one to take over.
        let mut sizes = vec![LARGE_FILE_BYTES + 1];
        sizes.extend((0..64).map(|n| 1000 - n));
        let started = (Mutex::new(0usize), Condvar::new());
        let threads = Mutex::new(std::collections::HashSet::new());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            run_apart(&sizes, |_, i| {
                let (count, changed) = &started;
                if i == 0 {
                    let guard = count.lock().unwrap();
                    let _ = changed
                        .wait_timeout_while(guard, Duration::from_secs(20), |n| *n < 50)
                        .unwrap();
                    return;
                }
                *count.lock().unwrap() += 1;
                changed.notify_all();
                threads
                    .lock()
                    .unwrap()
                    .insert(rayon::current_thread_index());
                std::thread::sleep(Duration::from_millis(20));
            })
        });
        assert_eq!(threads.into_inner().unwrap().len(), 2);
    }
}
