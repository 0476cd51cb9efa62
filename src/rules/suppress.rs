//! Inline suppressions: a comment `tollgate-ignore` (all rules) or
//! `tollgate-ignore: id[, id]` on a finding's line or the line above it.

use std::collections::HashMap;

const MARKER: &str = "tollgate-ignore";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    All,
    Rules(Vec<String>),
}

/// The suppression comments of one file, by 1-based line.
#[derive(Debug, Default)]
pub struct Suppressions {
    by_line: HashMap<usize, Scope>,
}

impl Suppressions {
    /// Finds the suppression comments in `source`. Only text after a comment
    /// opener (`//`, `/*` or `#`) on the same line counts.
    pub fn parse(source: &str) -> Suppressions {
        let mut by_line = HashMap::new();
        if !source.contains(MARKER) {
            return Suppressions { by_line };
        }
        for (index, line) in source.lines().enumerate() {
            let Some(at) = line.find(MARKER) else {
                continue;
            };
            let before = &line[..at];
            if !(before.contains("//") || before.contains("/*") || before.contains('#')) {
                continue;
            }
            let rest = &line[at + MARKER.len()..];
            let scope = match rest.trim_start().strip_prefix(':') {
                Some(list) => {
                    let list = list.split("*/").next().unwrap_or(list);
                    let ids: Vec<String> = list
                        .split(',')
                        .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    if ids.is_empty() {
                        Scope::All
                    } else {
                        Scope::Rules(ids)
                    }
                }
                None => Scope::All,
            };
            by_line.insert(index + 1, scope);
        }
        Suppressions { by_line }
    }

    /// Returns true if and only if a finding of `rule` starting on `line` is silenced.
    pub fn silences(&self, rule: &str, line: usize) -> bool {
        [line, line.saturating_sub(1)]
            .iter()
            .filter_map(|l| self.by_line.get(l))
            .any(|scope| match scope {
                Scope::All => true,
                Scope::Rules(ids) => ids.iter().any(|id| id_matches(id, rule)),
            })
    }
}

fn id_matches(pattern: &str, rule: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => rule.starts_with(prefix),
        None => pattern == rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_line_and_line_above() {
        let s = Suppressions::parse("a\nx // tollgate-ignore\n// tollgate-ignore: go/a, go/b\ny\n");
        assert!(s.silences("go/z", 2));
        assert!(s.silences("go/z", 3), "line 2's comment covers line 3");
        assert!(s.silences("go/b", 4));
        assert!(!s.silences("go/c", 5));
        assert!(!s.silences("go/z", 1));
    }

    #[test]
    fn only_in_comments_and_with_globs() {
        let s =
            Suppressions::parse("let s = \"tollgate-ignore\";\n/* tollgate-ignore: rust/* */ x\n");
        assert!(!s.silences("rust/a", 1));
        assert!(s.silences("rust/unwrap", 2));
        assert!(!s.silences("go/x", 2));
    }
}
