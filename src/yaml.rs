//! All YAML reading goes through here, so that moving off the archived
//! `serde_yaml` later is a change to this one module.
//!
//! Besides deserializing, it splits multi-document files itself so that every
//! document knows the line it starts on: errors found after deserializing (a
//! query that does not compile, a duplicate id) can then still name a line.
//!
//! YAML here is often hostile (a pull request's `.tollgate.yml`, rule files,
//! manifests), so every text is checked before libyaml sees it: a size cap
//! per use and a flow-nesting limit (libyaml's scanner is quadratic in flow
//! depth). Error messages name the type found and the type expected, never a
//! scalar's value, so a file read by mistake (a symlink to a credentials file)
//! cannot print its content into a CI log.

mod message;
mod nesting;

use serde::de::DeserializeOwned;

/// Deepest flow nesting (`[`/`{` inside each other) accepted in any YAML text.
/// Real files stay far below (the embedded rules use 3 levels).
pub const MAX_FLOW_DEPTH: usize = 64;
/// Largest configuration or rule file accepted, in bytes (1 MiB).
pub const CONFIG_MAX_BYTES: usize = 1024 * 1024;
/// Largest manifest, CI file or Dockerfile checked for images, in bytes (4 MiB).
pub const MANIFEST_MAX_BYTES: usize = 4 * 1024 * 1024;

/// One YAML document of a file, with the 1-based line its text starts on.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub text: &'a str,
    pub first_line: usize,
}

/// A YAML error with its 1-based position in the whole file, where known.
#[derive(Debug, Clone)]
pub struct YamlError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Splits a file into its `---`-separated documents, dropping documents that
/// hold nothing but blank lines and comments.
pub fn documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") || trimmed.starts_with("---\t") {
            push_document(&mut docs, &text[start..offset], start_line);
            start = offset + line.len();
            start_line = index + 2;
        }
        offset += line.len();
    }
    push_document(&mut docs, &text[start..], start_line);
    docs
}

fn push_document<'a>(docs: &mut Vec<Document<'a>>, text: &'a str, first_line: usize) {
    let has_content = text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "..."
    });
    if has_content {
        docs.push(Document { text, first_line });
    }
}

/// Refuses a text over `max_bytes`.
pub fn check_size(text: &str, max_bytes: usize) -> Result<(), YamlError> {
    if text.len() > max_bytes {
        return Err(YamlError {
            line: None,
            column: None,
            message: too_large(text.len(), max_bytes),
        });
    }
    Ok(())
}

/// The message for a file of `len` bytes over the `max_bytes` cap.
pub fn too_large(len: usize, max_bytes: usize) -> String {
    format!("the file is {len} bytes: expected at most {max_bytes} bytes")
}

/// Refuses a document whose flow collections nest deeper than
/// [`MAX_FLOW_DEPTH`], naming the file line of the bracket one level too deep.
pub fn check_nesting(doc: &Document<'_>) -> Result<(), YamlError> {
    match nesting::too_deep(doc.text, MAX_FLOW_DEPTH) {
        None => Ok(()),
        Some((line, column)) => Err(YamlError {
            line: Some(line + doc.first_line - 1),
            column: Some(column),
            message: format!(
                "flow collections (`[` or `{{`) nest more than {MAX_FLOW_DEPTH} deep: expected at most {MAX_FLOW_DEPTH} levels"
            ),
        }),
    }
}

/// Deserializes one document; error positions are shifted to file lines.
/// The document is refused before parsing when it is larger than
/// [`MANIFEST_MAX_BYTES`] (the largest cap of any use) or nests too deep.
pub fn from_document<T: DeserializeOwned>(doc: &Document<'_>) -> Result<T, YamlError> {
    check_size(doc.text, MANIFEST_MAX_BYTES)?;
    check_nesting(doc)?;
    serde_yaml::from_str(doc.text).map_err(|err| {
        let location = err.location();
        YamlError {
            line: location.as_ref().map(|l| l.line() + doc.first_line - 1),
            column: location.as_ref().map(|l| l.column()),
            message: message::safe(&err.to_string(), location.is_some()),
        }
    })
}

/// Deserializes a whole single-document file of configuration size (at most
/// [`CONFIG_MAX_BYTES`]).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    check_size(text, CONFIG_MAX_BYTES)?;
    from_document(&Document {
        text,
        first_line: 1,
    })
}

/// Serializes a value as YAML (for showing effective settings).
pub fn to_string<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

/// Finds the 1-based file line of the `occurrence`-th (0-based) line in `doc`
/// whose key is `key` (`key:` or `- key:` after indentation).
pub fn key_line(doc: &Document<'_>, key: &str, occurrence: usize) -> Option<usize> {
    doc.text
        .lines()
        .enumerate()
        .filter(|(_, line)| line_key(line) == Some(key))
        .nth(occurrence)
        .map(|(i, _)| i + doc.first_line)
}

/// The key a line starts with (`key:` or `- key:` after indentation).
fn line_key(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let t = t.strip_prefix("- ").map(str::trim_start).unwrap_or(t);
    let colon = t.find(':')?;
    let key = t[..colon].trim_end();
    (!key.is_empty()).then_some(key)
}

/// Where the value of a `key:` that starts on `key_line` begins: the 1-based
/// line and the 0-based column of its first character in the file. Block
/// scalars (`|`, `>`) start on the next line, after their indentation.
pub fn value_start(doc: &Document<'_>, key_line: usize) -> (usize, usize) {
    let lines: Vec<&str> = doc.text.lines().collect();
    value_start_in(&lines, doc.first_line, key_line)
}

fn value_start_in(lines: &[&str], first_line: usize, key_line: usize) -> (usize, usize) {
    let mut rest = lines.iter().skip(key_line - first_line);
    let line = rest.next().copied().unwrap_or_default();
    let Some(colon) = line.find(':') else {
        return (key_line, 0);
    };
    let after = &line[colon + 1..];
    let value = after.trim_start();
    if value.starts_with('|') || value.starts_with('>') || value.is_empty() {
        let indent = rest
            .find(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .unwrap_or(0);
        (key_line + 1, indent)
    } else {
        let quote = usize::from(value.starts_with('"') || value.starts_with('\''));
        (key_line, colon + 1 + (after.len() - value.len()) + quote)
    }
}

/// The lines of one document indexed once by their key, so that locating
/// many errors in a long document stays linear (each [`key_line`] call
/// would scan the document from its start).
pub struct KeyIndex<'a> {
    first_line: usize,
    lines: Vec<&'a str>,
    keys: std::collections::HashMap<&'a str, Vec<usize>>,
}

impl<'a> KeyIndex<'a> {
    pub fn new(doc: &Document<'a>) -> Self {
        let lines: Vec<&'a str> = doc.text.lines().collect();
        let mut keys: std::collections::HashMap<&'a str, Vec<usize>> = Default::default();
        for (i, line) in lines.iter().enumerate() {
            if let Some(key) = line_key(line) {
                keys.entry(key).or_default().push(i + doc.first_line);
            }
        }
        KeyIndex {
            first_line: doc.first_line,
            lines,
            keys,
        }
    }

    /// Like [`key_line`].
    pub fn key_line(&self, key: &str, occurrence: usize) -> Option<usize> {
        self.keys.get(key)?.get(occurrence).copied()
    }

    /// Like [`value_start`].
    pub fn value_start(&self, key_line: usize) -> (usize, usize) {
        value_start_in(&self.lines, self.first_line, key_line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_know_their_first_line() {
        let text = "# header\nid: a\n---\nid: b\n---\n# only a comment\n---\nid: c\n";
        let docs = documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].first_line, 1);
        assert_eq!(docs[1].first_line, 4);
        assert_eq!(docs[2].first_line, 8);
    }

    #[test]
    fn errors_are_shifted_to_file_lines() {
        let text = "a: 1\n---\nb: [\n";
        let docs = documents(text);
        let err = from_document::<serde_yaml::Value>(&docs[1]).unwrap_err();
        assert!(err.line.unwrap() >= 3, "{err:?}");
    }

    #[test]
    fn key_lines_are_found() {
        let text = "id: x\nwhere:\n  - inside: [a]\n  - scope:\n      contains: q\n";
        let docs = documents(text);
        assert_eq!(key_line(&docs[0], "where", 0), Some(2));
        assert_eq!(key_line(&docs[0], "scope", 0), Some(4));
        assert_eq!(key_line(&docs[0], "contains", 0), Some(5));
        assert_eq!(key_line(&docs[0], "missing", 0), None);
        let index = KeyIndex::new(&docs[0]);
        for key in ["id", "where", "inside", "scope", "contains", "missing"] {
            assert_eq!(index.key_line(key, 0), key_line(&docs[0], key, 0), "{key}");
        }
        assert_eq!(index.value_start(5), value_start(&docs[0], 5));
    }

    #[test]
    fn checks_run_before_parsing() {
        let deep = format!("a: {}", "[".repeat(200_000));
        let docs = documents(&deep);
        let started = std::time::Instant::now();
        let err = from_document::<serde_yaml::Value>(&docs[0]).unwrap_err();
        assert!(started.elapsed().as_secs() < 5);
        assert_eq!((err.line, err.column), (Some(1), Some(4 + MAX_FLOW_DEPTH)));
        assert!(
            err.message.contains("expected at most 64 levels"),
            "{}",
            err.message
        );
        let big = format!("a: \"{}\"\n", "x".repeat(CONFIG_MAX_BYTES));
        let err = from_str::<serde_yaml::Value>(&big).unwrap_err();
        assert!(
            err.message.contains("expected at most 1048576 bytes"),
            "{}",
            err.message
        );
    }
}
