//! The human view: one compiler-style diagnostic per finding with the source
//! line underlined, and a closing summary. Colour only when asked for.

use crate::finding::{Finding, Severity};
use crate::scan::ScanOutcome;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;

/// ANSI styles, or nothing when colour is off.
#[derive(Clone, Copy)]
pub struct Palette {
    on: bool,
}

impl Palette {
    pub fn new(on: bool) -> Self {
        Palette { on }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(&self, s: Severity) -> &'static str {
        match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        }
    }
}

/// Decides whether to colour: `always`, `never`, or `auto` (a terminal and
/// `NO_COLOR` unset or empty).
pub fn colour_enabled(choice: &str, is_terminal: bool) -> bool {
    match choice {
        "always" => true,
        "never" => false,
        _ => is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

pub fn write(out: &mut dyn Write, outcome: &ScanOutcome, palette: Palette) -> io::Result<()> {
    // Each file is read once and split into lines once, however many findings it has.
    let mut sources: HashMap<PathBuf, Vec<String>> = HashMap::new();
    for finding in &outcome.findings {
        let lines = sources.entry(finding.path.clone()).or_insert_with(|| {
            std::fs::read_to_string(&finding.path)
                .map(|text| text.lines().map(str::to_string).collect())
                .unwrap_or_default()
        });
        let line = lines.get(finding.start.line - 1).map(String::as_str);
        write_finding(out, finding, line, palette)?;
    }
    write_summary(out, outcome, palette)
}

fn write_finding(
    out: &mut dyn Write,
    f: &Finding,
    line: Option<&str>,
    p: Palette,
) -> io::Result<()> {
    let location = format!("{}:{}:{}", f.path.display(), f.start.line, f.start.column);
    writeln!(
        out,
        "{}: {} {}",
        p.paint("1", &location),
        p.paint(
            p.severity(f.severity),
            &format!("{}[{}]", f.severity, f.rule)
        ),
        f.message
    )?;
    let Some(line) = line else {
        return Ok(());
    };
    let gutter = f.start.line.to_string();
    let pad = " ".repeat(gutter.len());
    let chars: Vec<char> = line.chars().collect();
    let start = (f.start.column - 1).min(chars.len());
    let end = if f.end.line == f.start.line {
        (f.end.column - 1).clamp(start, chars.len())
    } else {
        chars.len()
    };
    // Show a window of very long lines (minified code) around the match.
    let from = if chars.len() > MAX_SHOWN && start > WINDOW_BEFORE {
        start - WINDOW_BEFORE
    } else {
        0
    };
    let to = chars
        .len()
        .min(from + MAX_SHOWN)
        .max(start + 1)
        .min(chars.len());
    let shown: String = chars[from..to].iter().collect();
    let prefix = if from > 0 { "…" } else { "" };
    let suffix = if to < chars.len() { "…" } else { "" };
    // Keep tabs so the underline lines up with the source line.
    let lead: String = std::iter::once(prefix)
        .filter(|p| !p.is_empty())
        .map(|_| ' ')
        .chain(
            chars[from..start]
                .iter()
                .map(|c| if *c == '\t' { '\t' } else { ' ' }),
        )
        .collect();
    let width = end.min(to).saturating_sub(start).max(1);
    writeln!(
        out,
        " {} {} {prefix}{shown}{suffix}",
        gutter,
        p.paint("34", "|")
    )?;
    writeln!(
        out,
        " {} {} {}{}",
        pad,
        p.paint("34", "|"),
        lead,
        p.paint(p.severity(f.severity), &"^".repeat(width))
    )?;
    Ok(())
}

/// Longest part of a source line shown, in characters.
const MAX_SHOWN: usize = 160;
/// Characters shown before the match when a long line is cut.
const WINDOW_BEFORE: usize = 40;

fn write_summary(out: &mut dyn Write, outcome: &ScanOutcome, p: Palette) -> io::Result<()> {
    for notice in &outcome.notices {
        writeln!(
            out,
            "{}: {} {}",
            notice.path.display(),
            p.paint("35", "notice:"),
            notice.message
        )?;
    }
    let count = |s: Severity| outcome.findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut line = if outcome.findings.is_empty() {
        "no findings".to_string()
    } else {
        format!(
            "{} ({}, {}, {})",
            plural(outcome.findings.len(), "finding"),
            plural(count(Severity::Error), "error"),
            plural(count(Severity::Warning), "warning"),
            plural(count(Severity::Info), "info")
        )
    };
    line.push_str(&format!(
        " in {} checked ({} parsed)",
        plural(outcome.files_checked, "file"),
        outcome.files_parsed
    ));
    if !outcome.suppressed.is_empty() {
        line.push_str(&format!(", {} suppressed", outcome.suppressed.len()));
    }
    if !outcome.notices.is_empty() {
        line.push_str(&format!(
            ", {}",
            plural(outcome.notices.len(), "file notice")
        ));
    }
    if outcome.other_files > 0 {
        line.push_str(&format!(
            ", {} changed that nothing reads",
            plural(outcome.other_files, "other file")
        ));
    }
    if !outcome.not_scanned.is_empty() {
        line.push_str(&format!(
            ", {} not scanned",
            plural(outcome.not_scanned.len(), "file")
        ));
    }
    writeln!(out, "{}", p.paint("1", &line))
}
