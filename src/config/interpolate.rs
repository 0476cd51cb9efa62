//! `${VAR}` and `${VAR:-default}` in the string values of a parsed
//! configuration. Substituting after parsing keeps a value a value: one that
//! holds ` #`, a newline or a leading `*` never becomes new keys, anchors or
//! tags. Keys are never substituted; `$${` stands for a literal `${`. Only the
//! variables [`super::secrets::may_read`] allows are read.

use super::secrets;
use serde_json::Value;

/// An interpolation problem: the `${…}` text it is about (to find its line) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub fragment: String,
    pub message: String,
}

/// Substitutes the variables of every string value in `value` (not of keys).
pub fn interpolate_value(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), InterpolationError> {
    match value {
        Value::String(text) => {
            if text.contains("${") {
                *text = interpolate(text, lookup)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                interpolate_value(item, lookup)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                interpolate_value(item, lookup)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Returns one string value with its variables replaced.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('$') {
            out.push_str(&rest[..at - 1]);
            out.push_str("${");
            rest = &rest[at + 2..];
            continue;
        }
        out.push_str(&rest[..at]);
        let Some(close) = rest[at..].find('}') else {
            return Err(InterpolationError {
                fragment: "${".into(),
                message: "unclosed `${`: expected `${NAME}` or `${NAME:-default}`".into(),
            });
        };
        let inner = &rest[at + 2..at + close];
        let fragment = format!("${{{inner}}}");
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let error = |message: String| InterpolationError {
            fragment: fragment.clone(),
            message,
        };
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(error(format!(
                "invalid variable name in `{fragment}`: expected letters, digits and `_`"
            )));
        }
        if !secrets::may_read(name) {
            return Err(error(format!(
                "`${{{name}}}` may not be read: {}",
                secrets::READABLE_HELP
            )));
        }
        match lookup(name)
            .filter(|v| !v.is_empty())
            .or(default.map(str::to_string))
        {
            Some(value) => out.push_str(&value),
            None => {
                return Err(error(format!(
                    "`${{{name}}}` is not set: set the environment variable or give a default, `${{{name}:-value}}`"
                )))
            }
        }
        rest = &rest[at + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOLLGATE_TEAM" => Some("core".into()),
            "TOLLGATE_EMPTY" => Some(String::new()),
            "TOLLGATE_TRICKY" => Some("a\nfail_on: never #x *y".into()),
            "GITHUB_TOKEN" => Some("ghs_secret".into()),
            _ => None,
        }
    }

    #[test]
    fn variables_defaults_and_escapes() {
        for (text, expected) in [
            ("${TOLLGATE_TEAM}", "core"),
            ("x-${TOLLGATE_MISSING:-x}-y", "x-x-y"),
            ("${TOLLGATE_EMPTY:-fallback}", "fallback"),
            ("$${TOLLGATE_TEAM}", "${TOLLGATE_TEAM}"),
            ("${TOLLGATE_TRICKY}", "a\nfail_on: never #x *y"),
        ] {
            assert_eq!(interpolate(text, &env).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn only_string_values_are_substituted_never_keys() {
        let mut value = json!({"${TOLLGATE_TEAM}": ["${TOLLGATE_TEAM}", 3, true], "b": {"c": "${TOLLGATE_TEAM}"}});
        interpolate_value(&mut value, &env).unwrap();
        assert_eq!(
            value,
            json!({"${TOLLGATE_TEAM}": ["core", 3, true], "b": {"c": "core"}})
        );
    }

    #[test]
    fn unset_invalid_and_refused_variables_are_errors_without_values() {
        let err = interpolate("${TOLLGATE_UNSET}", &env).unwrap_err();
        assert_eq!(err.fragment, "${TOLLGATE_UNSET}");
        assert!(err.message.contains("is not set"), "{}", err.message);
        assert!(interpolate("${A B}", &env).is_err());
        assert!(interpolate("${TOLLGATE_A", &env).is_err());
        for refused in ["${GITHUB_TOKEN}", "${GITHUB_TOKEN:-x}", "${HOME}"] {
            let err = interpolate(refused, &env).unwrap_err();
            assert!(err.message.contains("may not be read"), "{}", err.message);
            assert!(!err.message.contains("ghs_secret"));
        }
    }

    #[test]
    fn jira_credentials_never_come_into_the_file() {
        let env = |name: &str| Some(format!("value-of-{name}"));
        for name in ["JIRA_API_TOKEN", "JIRA_EMAIL", "JIRA_URL"] {
            let err = interpolate(&format!("${{{name}}}"), &env).unwrap_err();
            assert!(err.message.contains("may not be read"), "{}", err.message);
            assert!(!err.message.contains("value-of"), "{}", err.message);
        }
    }
}
