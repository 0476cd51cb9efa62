//! Image references in a Dockerfile: `FROM` (with `--platform`, global `ARG`
//! defaults substituted, stages that name an earlier stage and `scratch`
//! skipped) and `COPY --from=<image>`.

use super::{ImageMention, SourceError};
use std::collections::{HashMap, HashSet};

/// One logical instruction: continuation lines joined, with the line it starts on.
struct Instruction {
    line: usize,
    keyword: String,
    /// (argument, 1-based column in the first line, or 0 when on a later line)
    args: Vec<(String, usize)>,
}

fn instructions(text: &str) -> Result<Vec<Instruction>, SourceError> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    let lines: Vec<&str> = text.lines().collect();
    for (index, raw) in lines.iter().enumerate() {
        let trimmed = raw.trim_start();
        if pending.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if pending.is_some() && trimmed.starts_with('#') {
            continue; // comment lines inside a continuation are dropped by Docker
        }
        let (start, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
        let content = raw.trim_end();
        if let Some(head) = content.strip_suffix('\\') {
            joined.push_str(head);
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(content);
        out.push(split(start, &joined, lines[start - 1]));
    }
    if let Some((start, _)) = pending {
        return Err(SourceError {
            line: start,
            message: "the instruction ends with `\\` but no line follows".into(),
        });
    }
    Ok(out)
}

fn split(line: usize, joined: &str, first_line: &str) -> Instruction {
    let mut words = joined.split_whitespace();
    let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
    // Words stand in order: each is searched after the one before, and once
    // one is not on the first line no later one is (linear in the line).
    let mut from = first_line
        .find(keyword.as_str())
        .or_else(|| first_line.to_ascii_uppercase().find(keyword.as_str()))
        .map_or(0, |k| k + keyword.len());
    let mut on_first_line = true;
    let args = words
        .map(|w| {
            let found = on_first_line
                .then(|| first_line.get(from..)?.find(w))
                .flatten();
            let column = match found {
                Some(at) => {
                    from += at + w.len();
                    from - w.len() + 1
                }
                None => {
                    on_first_line = false;
                    0
                }
            };
            (w.to_string(), column)
        })
        .collect();
    Instruction {
        line,
        keyword,
        args,
    }
}

/// Substitutes `$NAME`, `${NAME}` and `${NAME:-default}`; returns the first
/// variable without a value, if any.
fn substitute(text: &str, args: &HashMap<String, String>) -> (String, Option<String>) {
    let mut out = String::new();
    let mut missing = None;
    let mut rest = text;
    // Once no `}` is left, none will be: do not search again for every `${`.
    let mut braces_left = true;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, default, used) = if let Some(inner) = after.strip_prefix('{') {
            let close = braces_left.then(|| inner.find('}')).flatten();
            braces_left = close.is_some();
            match close {
                Some(close) => {
                    let body = &inner[..close];
                    let (n, d) = match body.split_once(":-") {
                        Some((n, d)) => (n, Some(d)),
                        None => (body, None),
                    };
                    (n.to_string(), d.map(str::to_string), close + 2)
                }
                None => (String::new(), None, 0),
            }
        } else {
            let n: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let len = n.len();
            (n, None, len)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        match args
            .get(&name)
            .filter(|v| !v.is_empty())
            .cloned()
            .or(default)
        {
            Some(value) => out.push_str(&value),
            None => {
                missing.get_or_insert(name.clone());
                out.push_str(&format!("${{{name}}}"));
            }
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    (out, missing)
}

/// The image references of a Dockerfile, in order.
pub fn images(text: &str) -> Result<Vec<ImageMention>, SourceError> {
    let mut global_args: HashMap<String, String> = HashMap::new();
    let mut stages: HashSet<String> = HashSet::new();
    let mut seen_from = false;
    let mut found = Vec::new();
    for ins in instructions(text)? {
        match ins.keyword.as_str() {
            "ARG" if !seen_from => {
                for (arg, _) in &ins.args {
                    if let Some((name, value)) = arg.split_once('=') {
                        let value = value.trim_matches(|c| c == '"' || c == '\'');
                        global_args.insert(name.to_string(), value.to_string());
                    }
                }
            }
            "FROM" => {
                seen_from = true;
                let mut words = ins.args.iter().filter(|(w, _)| !w.starts_with("--"));
                let Some((image, column)) = words.next() else {
                    return Err(SourceError {
                        line: ins.line,
                        message: "`FROM` needs an image: `FROM image[:tag] [AS name]`".into(),
                    });
                };
                let stage = match (words.next(), words.next()) {
                    (None, _) => None,
                    (Some((as_word, _)), Some((name, _))) if as_word.eq_ignore_ascii_case("as") => {
                        Some(name.to_ascii_lowercase())
                    }
                    _ => {
                        return Err(SourceError {
                            line: ins.line,
                            message: "expected `FROM image [AS name]`".into(),
                        })
                    }
                };
                let (resolved, missing) = substitute(image, &global_args);
                let lower = resolved.to_ascii_lowercase();
                // Only an earlier stage counts, not the one this line names.
                let earlier_stage = stages.contains(&lower);
                stages.extend(stage);
                if lower == "scratch" || earlier_stage {
                    continue;
                }
                found.push(ImageMention {
                    image: resolved,
                    line: ins.line,
                    column: *column,
                    unresolved: missing,
                });
            }
            "COPY" => {
                for (arg, column) in &ins.args {
                    let Some(source) = arg.strip_prefix("--from=") else {
                        continue;
                    };
                    let (resolved, missing) = substitute(source, &global_args);
                    let lower = resolved.to_ascii_lowercase();
                    if stages.contains(&lower) || lower.parse::<usize>().is_ok() {
                        continue;
                    }
                    found.push(ImageMention {
                        image: resolved,
                        line: ins.line,
                        column: column + "--from=".len(),
                        unresolved: missing,
                    });
                }
            }
            _ => {}
        }
    }
    super::check_lengths(&found)?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_copy_args_stages_and_scratch() {
        let text = "\
# syntax=docker/dockerfile:1
ARG BASE=golang
ARG VERSION=\"1.22\"
FROM --platform=$BUILDPLATFORM ${BASE}:${VERSION} AS build
RUN go build
FROM build AS test
FROM scratch
COPY --from=build /app /app
COPY --from=0 /x /x
COPY --from=alpine:3.20 /etc/ssl /etc/ssl
FROM \\
  registry.example.com/base:${TAG}
FROM ${REGISTRY:-ghcr.io}/acme/runtime:v1
";
        let found = images(text).unwrap();
        let summary: Vec<(&str, usize, Option<&str>)> = found
            .iter()
            .map(|m| (m.image.as_str(), m.line, m.unresolved.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("golang:1.22", 4, None),
                ("alpine:3.20", 10, None),
                ("registry.example.com/base:${TAG}", 11, Some("TAG")),
                ("ghcr.io/acme/runtime:v1", 13, None),
            ]
        );
        assert_eq!(found[0].column, 32, "the column of the reference");
        assert_eq!(found[1].column, 13);
    }

    #[test]
    fn malformed_dockerfiles_name_the_line() {
        assert_eq!(images("FROM\n").unwrap_err().line, 1);
        assert_eq!(images("RUN x\nFROM a b c\n").unwrap_err().line, 2);
        let err = images("FROM alpine\nRUN a \\\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("no line follows"), "{}", err.message);
    }
}
