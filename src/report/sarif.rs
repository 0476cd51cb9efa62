//! SARIF 2.1.0, as GitHub code scanning (`upload-sarif`) and Jenkins Warnings
//! NG read it: tool and rule metadata, levels, repo-relative locations,
//! `partialFingerprints`, and inline-suppressed findings as `suppressions`.

use crate::finding::{Finding, Severity};
use crate::report::RepoPaths;
use crate::rules::RuleSet;
use crate::scan::ScanOutcome;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// GitHub shows at most 1024 characters of a rule's descriptions.
const MAX_DESCRIPTION: usize = 1024;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

pub fn write(
    out: &mut dyn Write,
    outcome: &ScanOutcome,
    rules: &RuleSet,
    paths: &RepoPaths,
) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(outcome, rules, paths))?;
    writeln!(out)
}

/// Builds the SARIF log for one scan.
pub fn document(outcome: &ScanOutcome, rules: &RuleSet, paths: &RepoPaths) -> Value {
    // Every rule that produced a result is described, in a stable order.
    let mut used: BTreeMap<&str, Severity> = BTreeMap::new();
    for f in outcome.findings.iter().chain(&outcome.suppressed) {
        used.entry(f.rule.as_str()).or_insert(f.severity);
    }
    let ids: Vec<&str> = used.keys().copied().collect();
    let descriptors: Vec<Value> = ids
        .iter()
        .map(|id| rule_descriptor(id, used[id], rules))
        .collect();
    let mut results: Vec<Value> = Vec::new();
    for f in &outcome.findings {
        results.push(result(f, &ids, false, paths));
    }
    for f in &outcome.suppressed {
        results.push(result(f, &ids, true, paths));
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "tollgate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/tollgate-ci/tollgate",
                    "rules": descriptors,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn rule_descriptor(id: &str, severity: Severity, rules: &RuleSet) -> Value {
    let Some(rule) = rules.get(id) else {
        // A policy or other non-rule source: describe it by its id alone.
        return json!({
            "id": id,
            "shortDescription": { "text": id },
            "fullDescription": { "text": id },
            "help": { "text": id },
            "defaultConfiguration": { "level": level(severity) },
        });
    };
    let short = rule.message_text();
    let full = rule
        .note
        .as_deref()
        .map(str::trim)
        .unwrap_or(&short)
        .to_string();
    let mut help = full.clone();
    if let Some(url) = &rule.url {
        help.push_str(&format!("\n\nMore: {url}"));
    }
    let mut descriptor = json!({
        "id": id,
        "name": id.replace(['/', '-'], "_"),
        "shortDescription": { "text": cut(&short, MAX_DESCRIPTION) },
        "fullDescription": { "text": cut(&full, MAX_DESCRIPTION) },
        "help": { "text": help },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": { "tags": [rule.language.name()] },
    });
    if let Some(url) = &rule.url {
        descriptor["helpUri"] = json!(url);
    }
    descriptor
}

fn result(f: &Finding, ids: &[&str], suppressed: bool, paths: &RepoPaths) -> Value {
    let mut value = json!({
        "ruleId": f.rule,
        "ruleIndex": ids.iter().position(|id| *id == f.rule),
        "level": level(f.severity),
        "message": { "text": f.message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": paths.of(&f.path) },
                "region": {
                    "startLine": f.start.line,
                    "startColumn": f.start.column,
                    "endLine": f.end.line,
                    "endColumn": f.end.column,
                }
            }
        }],
        "partialFingerprints": { "primaryLocationLineHash": f.fingerprint },
    });
    if suppressed {
        value["suppressions"] =
            json!([{ "kind": "inSource", "justification": "tollgate-ignore comment" }]);
    }
    if let Some(fix) = &f.fix {
        value["fixes"] = json!([{
            "description": { "text": format!("Replace with `{}`", cut(&fix.replacement, 200)) },
            "artifactChanges": [{
                "artifactLocation": { "uri": paths.of(&f.path) },
                "replacements": [{
                    "deletedRegion": {
                        "startLine": fix.start.line,
                        "startColumn": fix.start.column,
                        "endLine": fix.end.line,
                        "endColumn": fix.end.column,
                    },
                    "insertedContent": { "text": fix.replacement },
                }]
            }]
        }]);
    }
    value
}
