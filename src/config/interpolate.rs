//! `${VAR}` and `${VAR:-default}` in a configuration file, from the process
//! environment. Done on the text, line by line, so error lines stay exact;
//! comment lines are left alone and `$${` stands for a literal `${`.

/// Returns the text with variables replaced, or (1-based line, message).
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("${") {
            if rest[..at].ends_with('$') {
                out.push_str(&rest[..at - 1]);
                out.push_str("${");
                rest = &rest[at + 2..];
                continue;
            }
            out.push_str(&rest[..at]);
            let Some(close) = rest[at..].find('}') else {
                return Err((
                    index + 1,
                    "unclosed `${`: expected `${NAME}` or `${NAME:-default}`".into(),
                ));
            };
            let inner = &rest[at + 2..at + close];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err((
                    index + 1,
                    format!("invalid variable name `{name}` in `${{{inner}}}`"),
                ));
            }
            match lookup(name).filter(|v| !v.is_empty()).or(default.map(str::to_string)) {
                Some(value) => out.push_str(&value),
                None => {
                    return Err((
                        index + 1,
                        format!("`${{{name}}}` is not set: set the environment variable or give a default, `${{{name}:-value}}`"),
                    ))
                }
            }
            rest = &rest[at + close + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TEAM" => Some("core".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_defaults_and_escapes() {
        let text = "a: ${TEAM}\nb: ${MISSING:-x}\nc: ${EMPTY:-fallback}\n# ${NOT_SET} in a comment\nd: $${TEAM}\n";
        assert_eq!(
            interpolate(text, env).unwrap(),
            "a: core\nb: x\nc: fallback\n# ${NOT_SET} in a comment\nd: ${TEAM}\n"
        );
    }

    #[test]
    fn unset_variables_name_their_line() {
        let err = interpolate("a: 1\nb: ${TOKEN}\n", env).unwrap_err();
        assert_eq!(err.0, 2);
        assert!(err.1.contains("`${TOKEN}` is not set"), "{}", err.1);
        assert_eq!(interpolate("x: ${A B}", env).unwrap_err().0, 1);
        assert_eq!(interpolate("x: ${A", env).unwrap_err().0, 1);
    }
}
