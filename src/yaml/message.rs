//! YAML error messages without the file's content. serde quotes the value it
//! could not use (`invalid type: string "https://user:TOKEN@host", expected
//! …`); these messages are rebuilt from their kind, the type found and the
//! type expected (which come from tollgate's own types), and keep a key only
//! when it is a short identifier.

use regex::Regex;
use std::sync::OnceLock;

/// A short identifier: the only user text a message may repeat (a key).
fn identifier(text: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new("^[A-Za-z0-9_-]{1,64}$").expect("static regex"))
        .is_match(text)
}

/// What serde says it expected: built from type and field names, so only
/// that alphabet is let through.
fn expected_text(text: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new("^[A-Za-z0-9_ ,`.():'-]{1,300}$").expect("static regex"))
        .is_match(text)
}

/// The message kinds serde's derived deserializers produce.
const SERDE_KINDS: [&str; 8] = [
    "invalid type: ",
    "invalid value: ",
    "unknown variant ",
    "unknown field ",
    "missing field ",
    "duplicate field ",
    "invalid length ",
    "data did not match any variant of untagged enum ",
];

/// `raw` (serde_yaml's `Display`) without its position (the caller gives the
/// file position) and without any value from the file.
pub fn safe(raw: &str, located: bool) -> String {
    match split_serde(raw) {
        Some((path, body)) => {
            let body = if located { strip_position(body) } else { body };
            let body = serde_message(body);
            match path {
                Some(path) => format!("{}: {body}", safe_path(path)),
                None => body,
            }
        }
        None => libyaml_message(raw),
    }
}

/// Splits `path: message` when `message` is one of serde's kinds.
fn split_serde(raw: &str) -> Option<(Option<&str>, &str)> {
    let mut search = 0;
    loop {
        if SERDE_KINDS.iter().any(|k| raw[search..].starts_with(k)) {
            return Some(match search {
                0 => (None, raw),
                _ => (Some(&raw[..search - 2]), &raw[search..]),
            });
        }
        let next = raw[search..].find(": ")?;
        search += next + 2;
    }
}

/// serde_yaml appends ` at line L column C` to serde's messages.
fn strip_position(body: &str) -> &str {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r" at line \d+ column \d+$").expect("static regex"));
    match re.find(body) {
        Some(m) => &body[..m.start()],
        None => body,
    }
}

/// A serde_yaml path (`rules.enable[0]`) with every key that is not a short
/// identifier replaced by `?`.
fn safe_path(path: &str) -> String {
    path.split('.')
        .map(|segment| {
            let key = segment.split('[').next().unwrap_or_default();
            let indexes = &segment[key.len()..];
            let indexes_ok = indexes.split_inclusive(']').all(|i| {
                i.starts_with('[') && i.ends_with(']') && i[1..i.len() - 1].parse::<usize>().is_ok()
            });
            match (key.is_empty() || identifier(key), indexes_ok) {
                (true, true) => segment.to_string(),
                (false, true) => format!("?{indexes}"),
                _ => "?".to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The part after the last `, expected ` (serde's wording), when it is made
/// of type and field names.
fn expected(body: &str) -> Option<String> {
    let at = body.rfind(", expected ")?;
    let text = &body[at + ", expected ".len()..];
    if !expected_text(text) {
        return Some("another type".into());
    }
    Some(match text.strip_prefix("struct ") {
        Some(name) => format!("a map (struct {name})"),
        None if text == "a sequence" => "a list".into(),
        None => text.to_string(),
    })
}

fn with_expected(head: &str, body: &str) -> String {
    match expected(body) {
        Some(e) => format!("{head}, expected {e}"),
        None => head.to_string(),
    }
}

/// The kind of value serde found (`string "…"`, `integer `5``), without it.
fn found(unexpected: &str) -> &'static str {
    const KINDS: [(&str, &str); 13] = [
        ("string", "a string"),
        ("integer", "an integer"),
        ("floating point", "a number"),
        ("boolean", "a boolean"),
        ("character", "a character"),
        ("unit value", "null"),
        ("Option value", "an optional value"),
        ("byte array", "bytes"),
        ("sequence", "a list"),
        ("map", "a map"),
        ("newtype struct", "a value"),
        ("unit variant", "a tagged value"),
        ("enum", "a tagged value"),
    ];
    KINDS
        .iter()
        .find(|(prefix, _)| unexpected.starts_with(prefix))
        .map_or("a value", |(_, kind)| kind)
}

/// The name between backticks right after `prefix`, when it is an identifier.
fn quoted_name<'a>(body: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = body.strip_prefix(prefix)?.strip_prefix('`')?;
    let end = rest.find('`')?;
    let name = &rest[..end];
    identifier(name).then_some(name)
}

fn serde_message(body: &str) -> String {
    for kind in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = body.strip_prefix(kind) {
            return with_expected(&format!("{kind}{}", found(rest)), body);
        }
    }
    if body.starts_with("unknown variant ") {
        return match expected(body) {
            Some(e) => format!("unknown value (not shown), expected {e}"),
            None => "unknown value (not shown), there are no variants".into(),
        };
    }
    if body.starts_with("unknown field ") {
        let head = match quoted_name(body, "unknown field ") {
            Some(name) => format!("unknown field `{name}`"),
            None => "an unknown field".into(),
        };
        return match expected(body) {
            Some(e) => format!("{head}, expected {e}"),
            None => format!("{head}, there are no fields"),
        };
    }
    for kind in ["missing field ", "duplicate field "] {
        if body.starts_with(kind) {
            return match quoted_name(body, kind) {
                Some(name) => format!("{kind}`{name}`"),
                None => format!("{}a field", kind.trim_end()),
            };
        }
    }
    if let Some(rest) = body.strip_prefix("invalid length ") {
        let length: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return with_expected(&format!("invalid length {length}"), body);
    }
    let name = body
        .strip_prefix("data did not match any variant of untagged enum ")
        .filter(|n| identifier(n))
        .unwrap_or("(a type)");
    format!("data did not match any variant of untagged enum {name}")
}

/// libyaml's messages (`did not find expected key`) and serde_yaml's own are
/// fixed text; only the first part is kept, without its positions. Anything
/// in double quotes is dropped all the same.
fn libyaml_message(raw: &str) -> String {
    let problem = raw.split(" at line ").next().unwrap_or(raw);
    let problem = problem.split(" at position ").next().unwrap_or(problem);
    static QUOTED: OnceLock<Regex> = OnceLock::new();
    QUOTED
        .get_or_init(|| Regex::new(r#""[^"]*"?"#).expect("static regex"))
        .replace_all(problem, "(a value)")
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::safe;
    use serde::Deserialize;

    const SECRET: &str = "SECRETVALUE";

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Config {
        name: Option<String>,
        level: Option<Level>,
        list: Option<Vec<u32>>,
        pair: Option<(u32, u32)>,
        small: Option<u8>,
        nested: Option<std::collections::BTreeMap<String, Inner>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        id: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Level {
        Low,
        High,
    }

    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Either {
        Text(String),
        Number(u32),
    }

    fn message<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) -> String {
        let doc = crate::yaml::Document {
            text,
            first_line: 1,
        };
        let err = crate::yaml::from_document::<T>(&doc).unwrap_err();
        assert!(!err.message.contains(SECRET), "{}", err.message);
        assert!(!err.message.contains(" at line "), "{}", err.message);
        err.message
    }

    #[test]
    fn invalid_type_names_types_only() {
        let m = message::<Config>("https://user:SECRETVALUE@example.com\n");
        assert_eq!(m, "invalid type: a string, expected a map (struct Config)");
        let m = message::<Config>("list: [1, SECRETVALUE]\n");
        assert_eq!(m, "list[1]: invalid type: a string, expected u32");
        let m = message::<Config>("name: [SECRETVALUE]\n");
        assert_eq!(m, "name: invalid type: a list, expected a string");
        let m = message::<Config>("12345\n");
        assert_eq!(
            m,
            "invalid type: an integer, expected a map (struct Config)"
        );
        let m = message::<Config>("list: [1.5]\n");
        assert_eq!(m, "list[0]: invalid type: a number, expected u32");
        let m = message::<Config>("list: [true]\n");
        assert_eq!(m, "list[0]: invalid type: a boolean, expected u32");
    }

    #[test]
    fn invalid_value_and_length() {
        let m = message::<Config>("small: 300\n");
        assert_eq!(m, "small: invalid value: an integer, expected u8");
        let m = message::<Config>("pair: [1, 2, 3]\n");
        assert!(m.starts_with("pair: invalid length 3, expected"), "{m}");
    }

    #[test]
    fn unknown_variants_are_not_quoted() {
        let m = message::<Config>("level: SECRETVALUE\n");
        assert_eq!(
            m,
            "level: unknown value (not shown), expected `low` or `high`"
        );
    }

    #[test]
    fn unknown_fields_keep_only_short_identifiers() {
        let m = message::<Config>("nmae: x\n");
        assert!(
            m.starts_with("unknown field `nmae`, expected one of `name`"),
            "{m}"
        );
        let m = message::<Config>("\"https://u:SECRETVALUE@h\": x\n");
        assert!(m.starts_with("an unknown field, expected one of"), "{m}");
        let long = format!("{}: x\n", "a".repeat(65));
        assert!(message::<Config>(&long).starts_with("an unknown field"));
    }

    #[test]
    fn paths_hide_keys_that_are_no_identifiers() {
        let m = message::<Config>("nested:\n  \"x SECRETVALUE\": {id: 1, extra: 2}\n");
        assert_eq!(m, "nested.?: unknown field `extra`, expected `id`");
        let m = message::<Config>("nested:\n  ok: {}\n");
        assert_eq!(m, "nested.ok: missing field `id`");
    }

    #[test]
    fn untagged_duplicate_and_libyaml_messages() {
        let m = message::<Either>("[SECRETVALUE]\n");
        assert_eq!(m, "data did not match any variant of untagged enum Either");
        let m = message::<Config>("name: a\nname: SECRETVALUE\n");
        assert_eq!(m, "duplicate field `name`");
        let m = message::<Config>("name: \"SECRETVALUE\n");
        assert!(m.contains("found unexpected end of stream"), "{m}");
        let m = message::<serde_yaml::Value>("a: [SECRETVALUE\n");
        assert!(m.starts_with("did not find expected"), "{m}");
    }

    #[test]
    fn unrecognised_text_loses_quoted_parts() {
        assert_eq!(
            super::libyaml_message("odd \"SECRETVALUE\" at line 1 column 2"),
            "odd (a value)"
        );
        assert_eq!(
            safe("missing field `id` at line 3 column 1", true),
            "missing field `id`"
        );
    }
}
