//! Stable finding fingerprints: a finding keeps its fingerprint when other
//! code moves, when its function moves within the file, and when git sees
//! its file renamed; two findings with the same text in two functions differ.
//!
//! A fingerprint hashes the rule id, the enclosing named scope (see
//! [`scope`]: the function or method with its receiver, `impl` or trait; the
//! file for top-level code and image references), the matched text with
//! white space folded, and the occurrence index among identical matches in
//! that scope. The path is left out, so a rename keeps the fingerprint and
//! review keeps the thread. It is put back only where it is needed to tell
//! findings apart: when the same fingerprint comes out of two files of one
//! scan (say `main` in two `cmd/*/main.go` leaking the same way), each of
//! those is hashed again with its path ([`separate_twins`]), so every
//! finding of a report has its own fingerprint (review, SARIF and Code
//! Quality rely on that) at the cost of rename stability for such twins.
//! Always 32 lowercase hex digits.

pub mod scope;

use crate::finding::Finding;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;

/// Fills in `fingerprint` for findings of one file, in source order, all in
/// the file's scope (image references, which have no functions).
pub fn assign(findings: &mut [Finding]) {
    let scopes = vec![""; findings.len()];
    assign_scoped(findings, &scopes);
}

/// Sorts the findings of one parsed file into source order (position, then
/// rule) and fills in their fingerprints, each in its enclosing named scope;
/// `starts[i]` is the start byte of `findings[i]` in `source`. Fails when
/// finding the scopes passes `deadline`.
pub fn sort_and_assign(
    findings: &mut Vec<Finding>,
    starts: &[usize],
    tree: &tree_sitter::Tree,
    source: &[u8],
    lang: crate::lang::Language,
    deadline: std::time::Instant,
) -> Result<(), scope::OverTime> {
    let scopes = if findings.is_empty() {
        scope::Scopes::default()
    } else {
        let mut around = starts.to_vec();
        around.sort_unstable();
        scope::Scopes::find(tree, source, lang, Some(&around), deadline)?
    };
    let mut scoped: Vec<(Finding, String)> = findings
        .drain(..)
        .zip(starts.iter().map(|&byte| scopes.key(byte)))
        .collect();
    scoped.sort_by(|(a, _), (b, _)| (a.start, &a.rule, a.end).cmp(&(b.start, &b.rule, b.end)));
    let keys: Vec<String> = scoped.iter().map(|(_, key)| key.clone()).collect();
    findings.extend(scoped.into_iter().map(|(finding, _)| finding));
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    assign_scoped(findings, &keys);
    Ok(())
}

/// Fills in `fingerprint` for findings of one file, in source order;
/// `scopes[i]` is the key of the enclosing named scope of `findings[i]`
/// ([`scope::Scopes::key`]; empty for the file itself).
pub fn assign_scoped(findings: &mut [Finding], scopes: &[&str]) {
    let mut occurrences: HashMap<(String, &str, String), usize> = HashMap::new();
    for (finding, scope) in findings.iter_mut().zip(scopes) {
        let normalized = fold(&finding.snippet);
        let index = occurrences
            .entry((finding.rule.clone(), scope, normalized.clone()))
            .or_default();
        finding.fingerprint = digest(&[&finding.rule, scope, &normalized, &index.to_string()]);
        *index += 1;
    }
}

/// Makes fingerprints unique across the files of one scan: findings of
/// different files that got the same fingerprint are each hashed again with
/// their path. Running it again changes nothing.
pub fn separate_twins<'a>(findings: impl IntoIterator<Item = &'a mut Finding>) {
    let mut by_fingerprint: HashMap<String, Vec<&'a mut Finding>> = HashMap::new();
    for finding in findings {
        by_fingerprint
            .entry(finding.fingerprint.clone())
            .or_default()
            .push(finding);
    }
    for (fingerprint, twins) in by_fingerprint {
        let paths: std::collections::HashSet<&PathBuf> = twins.iter().map(|f| &f.path).collect();
        if paths.len() < 2 {
            continue;
        }
        for finding in twins {
            let path = finding.path.to_string_lossy().replace('\\', "/");
            finding.fingerprint = digest(&[&fingerprint, &path]);
        }
    }
}

/// The text with every run of white space folded to one space.
fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first 16 bytes of the SHA-256 of the NUL-terminated parts, in hex.
fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;
    use crate::rules::load::load_text;
    use std::path::Path;

    /// A rule that reports every call of `open` (Go) or `open` (Rust).
    fn open_rule(lang: Language) -> crate::rules::Rule {
        let text = format!(
            "id: {0}/open\nlanguage: {0}\nseverity: warning\nmessage: m\nquery: |\n  ((call_expression function: (identifier) @f) @match (#eq? @f \"open\"))\n",
            lang.name()
        );
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        load_text("r.yml", &text, &mut rules, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        rules.remove(0)
    }

    /// The fingerprints of `source` at `path`, in source order.
    fn fingerprints(lang: Language, path: &str, source: &str) -> Vec<String> {
        let rule = open_rule(lang);
        let checked = crate::scan::check_source(
            &[&rule],
            &mut tree_sitter::Parser::new(),
            Path::new(path),
            lang,
            source.as_bytes(),
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        checked
            .findings
            .into_iter()
            .map(|f| f.fingerprint)
            .collect()
    }

    const TWO_LEAKS: &str = "package p\n\nfunc a(p string) {\n\tf, err := open(p)\n}\n\nfunc b(p string) {\n\tf, err := open(p)\n}\n";

    #[test]
    fn the_same_text_in_two_functions_has_two_fingerprints() {
        let fps = fingerprints(Language::Go, "x.go", TWO_LEAKS);
        assert_eq!(fps.len(), 2);
        assert_ne!(fps[0], fps[1]);
        assert!(fps
            .iter()
            .all(|f| f.len() == 32 && f.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))));
    }

    #[test]
    fn moving_a_function_or_renaming_the_file_keeps_the_fingerprints() {
        let before = fingerprints(Language::Go, "x.go", TWO_LEAKS);
        // `b` first, lines added above both, the file renamed.
        let moved = "package p\n\n// A comment.\n\nfunc b(p string) {\n\tf, err := open(p)\n}\n\nfunc a(p string) {\n\n\tf, err :=   open(p)\n}\n";
        let after = fingerprints(Language::Go, "pkg/renamed.go", moved);
        assert_eq!(after, vec![before[1].clone(), before[0].clone()]);
        // Fixing `a` leaves `b`'s fingerprint alone.
        let fixed = TWO_LEAKS.replacen("f, err := open(p)", "_ = p", 1);
        assert_eq!(
            fingerprints(Language::Go, "x.go", &fixed),
            vec![before[1].clone()]
        );
    }

    #[test]
    fn methods_of_one_name_on_different_receivers_or_impls_differ() {
        let go = "package p\n\nfunc (s *Store) Close() { open(1) }\n\nfunc (c Cache) Close() { open(1) }\n\nfunc Close() { open(1) }\n";
        let fps = fingerprints(Language::Go, "x.go", go);
        assert_eq!(fps.len(), 3);
        assert!(
            fps[0] != fps[1] && fps[1] != fps[2] && fps[0] != fps[2],
            "{fps:?}"
        );
        let rust = "impl Store { fn close() { open(1) } }\nimpl Drop for Store { fn close() { open(1) } }\nimpl Cache { fn close() { open(1) } }\n";
        let fps = fingerprints(Language::Rust, "x.rs", rust);
        assert_eq!(fps.len(), 3);
        assert!(
            fps[0] != fps[1] && fps[1] != fps[2] && fps[0] != fps[2],
            "{fps:?}"
        );
    }

    #[test]
    fn occurrences_count_within_a_scope_not_the_file() {
        let one = "package p\n\nfunc a() {\n\topen(1)\n\topen(1)\n}\n";
        let two = format!("package p\n\nfunc z() {{\n\topen(1)\n}}\n{}", &one[10..]);
        let (one, two) = (
            fingerprints(Language::Go, "x.go", one),
            fingerprints(Language::Go, "x.go", &two),
        );
        assert_eq!(one.len(), 2);
        assert_ne!(one[0], one[1]);
        assert_eq!(
            &two[1..],
            &one[..],
            "an earlier copy in another function shifts nothing"
        );
    }

    fn finding(path: &str, fingerprint: &str) -> Finding {
        Finding {
            rule: "r".into(),
            severity: crate::finding::Severity::Warning,
            path: path.into(),
            start: crate::finding::Position { line: 1, column: 1 },
            end: crate::finding::Position { line: 1, column: 2 },
            message: "m".into(),
            fingerprint: fingerprint.into(),
            fix: None,
            snippet: String::new(),
            suppressed: false,
        }
    }

    #[test]
    fn twins_in_two_files_are_told_apart_by_path_and_only_they() {
        let mut findings = vec![
            finding("cmd/a/main.go", "aa"),
            finding("cmd/b/main.go", "aa"),
            finding("cmd/b/main.go", "bb"),
        ];
        separate_twins(&mut findings);
        let fps: Vec<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
        assert_ne!(fps[0], fps[1]);
        assert!(fps[0] != "aa" && fps[0].len() == 32);
        assert_eq!(fps[2], "bb", "a fingerprint of one file stays path-free");
        let once = fps.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        separate_twins(&mut findings);
        let twice: Vec<String> = findings.iter().map(|f| f.fingerprint.clone()).collect();
        assert_eq!(once, twice, "idempotent");
    }
}
