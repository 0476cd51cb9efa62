//! All YAML reading goes through here, so that moving off the archived
//! `serde_yaml` later is a change to this one module.
//!
//! Besides deserializing, it splits multi-document files itself so that every
//! document knows the line it starts on: errors found after deserializing (a
//! query that does not compile, a duplicate id) can then still name a line.

use serde::de::DeserializeOwned;

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

/// Deserializes one document; error positions are shifted to file lines.
pub fn from_document<T: DeserializeOwned>(doc: &Document<'_>) -> Result<T, YamlError> {
    serde_yaml::from_str(doc.text).map_err(|err| {
        let location = err.location();
        let mut message = err.to_string();
        // serde_yaml appends " at line L column C" relative to the document; the
        // caller prints the file position itself.
        if let Some(pos) = message.find(" at line ") {
            message.truncate(pos);
        }
        YamlError {
            line: location.as_ref().map(|l| l.line() + doc.first_line - 1),
            column: location.as_ref().map(|l| l.column()),
            message,
        }
    })
}

/// Deserializes a whole single-document file.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
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
        .filter(|(_, line)| {
            let t = line.trim_start();
            let t = t.strip_prefix("- ").map(str::trim_start).unwrap_or(t);
            t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .nth(occurrence)
        .map(|(i, _)| i + doc.first_line)
}

/// Where the value of a `key:` that starts on `key_line` begins: the 1-based
/// line and the 0-based column of its first character in the file. Block
/// scalars (`|`, `>`) start on the next line, after their indentation.
pub fn value_start(doc: &Document<'_>, key_line: usize) -> (usize, usize) {
    let mut lines = doc.text.lines().skip(key_line - doc.first_line);
    let line = lines.next().unwrap_or_default();
    let Some(colon) = line.find(':') else {
        return (key_line, 0);
    };
    let after = &line[colon + 1..];
    let value = after.trim_start();
    if value.starts_with('|') || value.starts_with('>') || value.is_empty() {
        let indent = lines
            .find(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .unwrap_or(0);
        (key_line + 1, indent)
    } else {
        let quote = usize::from(value.starts_with('"') || value.starts_with('\''));
        (key_line, colon + 1 + (after.len() - value.len()) + quote)
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
    }
}
