//! Stable finding fingerprints: the same finding keeps its fingerprint when
//! unrelated lines move, and two matches of one rule in one file differ.
//! Built from the rule id, the path, the matched text with white space folded,
//! and the occurrence index among identical matches in that file.

use crate::finding::Finding;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Fills in `fingerprint` for findings of one file, in source order.
pub fn assign(findings: &mut [Finding]) {
    let mut occurrences: HashMap<(String, String), usize> = HashMap::new();
    for finding in findings.iter_mut() {
        let normalized = finding
            .snippet
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let key = (finding.rule.clone(), normalized);
        let index = occurrences.entry(key.clone()).or_default();
        finding.fingerprint = compute(
            &finding.rule,
            &finding.path.to_string_lossy(),
            &key.1,
            *index,
        );
        *index += 1;
    }
}

fn compute(rule: &str, path: &str, normalized: &str, occurrence: usize) -> String {
    let mut hasher = Sha256::new();
    for part in [
        rule,
        &path.replace('\\', "/"),
        normalized,
        &occurrence.to_string(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}
