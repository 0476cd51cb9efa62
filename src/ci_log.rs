//! Everything tollgate prints goes through here, so that text from a pull
//! request (file names, rule messages, configuration keys) can never become a
//! CI command. GitHub Actions reads workflow commands from any line of the
//! job's stdout or stderr that starts with `::` (after white space), and the
//! legacy form `##[…]` anywhere in a line; a file named
//! `x\n::stop-commands::t` would otherwise silence every later annotation.
//!
//! Under `GITHUB_ACTIONS=true` every printed line is made inert: a carriage
//! return becomes `%0D` (the runner splits lines on it too), a leading `::`
//! becomes `%3A%3A` and `##[` becomes `##%5B`, the escapes the Actions toolkit
//! uses. tollgate's own commands (annotations, `::add-mask::`) are written
//! with [`command`], the one way around the guard; their data is escaped by
//! [`crate::report::github::escape_data`].

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;

/// Whether lines must be guarded: set once, from the environment of the run
/// (the runner's, not the pull request's).
pub fn guarding() -> bool {
    static GUARD: OnceLock<bool> = OnceLock::new();
    *GUARD.get_or_init(|| std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"))
}

/// What a printed text carries: its escape for `##[` differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// JSON: `##[` can only stand inside a string there, where `\u005b` is
    /// the same character, so the document reads back unchanged.
    Json,
}

/// `text` with every line made inert (see the module docs).
pub fn inert(text: &str, kind: Kind) -> Cow<'_, str> {
    let needs = text.contains('\r')
        || text.contains("##[")
        || text
            .split('\n')
            .any(|line| line.trim_start().starts_with("::"));
    if !needs {
        return Cow::Borrowed(text);
    }
    let text = text.replace('\r', "%0D").replace(
        "##[",
        match kind {
            Kind::Text => "##%5B",
            Kind::Json => "##\\u005b",
        },
    );
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let body = line.trim_start();
            match body.strip_prefix("::") {
                Some(rest) => format!("{}%3A%3A{rest}", &line[..line.len() - body.len()]),
                None => line.to_string(),
            }
        })
        .collect();
    Cow::Owned(lines.join("\n"))
}

/// A writer whose lines are made inert while [`guarding`]. It holds back a
/// line until its end is seen, so a line split across writes is judged whole.
pub struct Guarded<W: Write> {
    inner: W,
    kind: Kind,
    active: bool,
    pending: Vec<u8>,
}

impl<W: Write> Guarded<W> {
    pub fn new(inner: W, kind: Kind) -> Guarded<W> {
        Guarded::with(inner, kind, guarding())
    }

    fn with(inner: W, kind: Kind, active: bool) -> Guarded<W> {
        Guarded {
            inner,
            kind,
            active,
            pending: Vec::new(),
        }
    }

    fn write_out(&mut self, bytes: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(bytes);
        self.inner.write_all(inert(&text, self.kind).as_bytes())
    }
}

impl<W: Write> Write for Guarded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.active {
            return self.inner.write(buf);
        }
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            let complete: Vec<u8> = self.pending.drain(..=end).collect();
            self.write_out(&complete)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.write_out(&rest)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Guarded<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Standard output, guarded and buffered: Rust's stdout writes each line
/// on its own, and a JSON report of ten thousand findings is 280,000 lines.
/// Flushed when dropped.
pub fn stdout(kind: Kind) -> Guarded<io::BufWriter<io::StdoutLock<'static>>> {
    Guarded::new(
        io::BufWriter::with_capacity(STDOUT_BUFFER, io::stdout().lock()),
        kind,
    )
}

/// Bytes of standard output written at once.
const STDOUT_BUFFER: usize = 64 * 1024;

/// Standard error, guarded.
pub fn stderr() -> Guarded<io::StderrLock<'static>> {
    Guarded::new(io::stderr().lock(), Kind::Text)
}

/// One line on stderr, guarded: what [`crate::say!`] expands to.
pub fn say(args: fmt::Arguments<'_>) {
    let mut err = stderr();
    let _ = writeln!(err, "{args}");
}

/// One line on stdout, guarded: what [`crate::show!`] expands to.
pub fn show(args: fmt::Arguments<'_>) {
    let mut out = stdout(Kind::Text);
    let _ = writeln!(out, "{args}");
}

/// One of tollgate's own workflow commands, unguarded: `::NAME PROPS::DATA`.
/// The caller escapes `props` and `data`.
pub fn command(out: &mut dyn Write, line: fmt::Arguments<'_>) -> io::Result<()> {
    writeln!(out, "{line}")
}

/// `eprintln!` whose lines can never form a CI workflow command.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::ci_log::say(::std::format_args!($($arg)*)) };
}

/// `println!` whose lines can never form a CI workflow command.
#[macro_export]
macro_rules! show {
    ($($arg:tt)*) => { $crate::ci_log::show(::std::format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_data_never_start_a_command() {
        let hostile = "error: a.go\n::stop-commands::x: bad\n  ::error::forged\r::warning::cr\nok ##[add-mask]y";
        let safe = inert(hostile, Kind::Text);
        for line in safe.split('\n') {
            assert!(!line.trim_start().starts_with("::"), "{line:?}");
            assert!(!line.contains('\r') && !line.contains("##["), "{line:?}");
        }
        assert!(safe.contains("%3A%3Astop-commands::x: bad"), "{safe}");
        assert!(
            safe.contains("  %3A%3Aerror::forged%0D::warning::cr"),
            "{safe}"
        );
        assert_eq!(inert("plain: text", Kind::Text), "plain: text");
    }

    #[test]
    fn json_stays_the_same_document() {
        let value = serde_json::json!({ "message": "##[add-mask]x", "path": "a\n::error::b" });
        let text = serde_json::to_string_pretty(&value).unwrap();
        let safe = inert(&text, Kind::Json);
        assert!(!safe.contains("##["));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn a_line_split_across_writes_is_judged_whole() {
        let mut out = Guarded::with(Vec::new(), Kind::Text, true);
        write!(out, ":").unwrap();
        write!(out, ":error::x\nnext ").unwrap();
        write!(out, "line\n::").unwrap();
        out.flush().unwrap();
        let written = String::from_utf8(std::mem::take(&mut out.inner)).unwrap();
        assert_eq!(written, "%3A%3Aerror::x\nnext line\n%3A%3A");
        let mut off = Guarded::with(Vec::new(), Kind::Text, false);
        writeln!(off, "::error::x").unwrap();
        assert_eq!(off.inner, b"::error::x\n");
    }
}
