//! The optional check run: a completed `tollgate` check on the PR head with
//! an annotation per finding.

use super::client::{ApiError, Client, Method};
use crate::finding::{Finding, Severity};
use serde_json::{json, Value};

/// GitHub takes at most this many annotations per request.
const ANNOTATION_BATCH: usize = 50;

/// Creates a completed check run named `name` on `head_sha` of the
/// repository at `repo_path` (`/repos/OWNER/NAME`); annotations go 50 per
/// request, as GitHub allows.
pub async fn create(
    client: &Client,
    repo_path: &str,
    name: &str,
    head_sha: &str,
    findings: &[Finding],
    gate_fails: bool,
) -> Result<(), ApiError> {
    let annotations: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut a = json!({
                "path": crate::report::json::path_string(&f.path),
                "start_line": f.start.line,
                "end_line": f.end.line.max(f.start.line),
                "annotation_level": match f.severity {
                    Severity::Error => "failure",
                    Severity::Warning => "warning",
                    Severity::Info => "notice",
                },
                "title": f.rule,
                "message": f.message.chars().take(4000).collect::<String>(),
            });
            if f.start.line == f.end.line {
                a["start_column"] = json!(f.start.column);
                a["end_column"] = json!(f.end.column);
            }
            a
        })
        .collect();
    let title = if findings.is_empty() {
        "No findings".to_string()
    } else {
        format!(
            "{} finding{}",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        )
    };
    let output = |batch: &[Value]| json!({ "title": title, "summary": format!("tollgate: {title} on {}", head_sha), "annotations": batch });
    let mut batches = annotations.chunks(ANNOTATION_BATCH);
    let first = batches.next().unwrap_or(&[]);
    let created = client
        .rest(
            Method::Post,
            &format!("{repo_path}/check-runs"),
            Some(&json!({
                "name": name,
                "head_sha": head_sha,
                "status": "completed",
                "conclusion": if gate_fails { "failure" } else { "success" },
                "output": output(first),
            })),
        )
        .await?;
    let id = created.body.get("id").and_then(Value::as_u64).unwrap_or(0);
    for batch in batches {
        client
            .rest(
                Method::Patch,
                &format!("{repo_path}/check-runs/{id}"),
                Some(&json!({ "output": output(batch) })),
            )
            .await?;
    }
    Ok(())
}
