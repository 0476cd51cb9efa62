//! Image references in YAML files: Kubernetes manifests (multi-document),
//! Compose files, `.gitlab-ci.yml` and GitHub workflows. Values are read with
//! the YAML parser; each is then placed on its line by finding its text in
//! the document, in order, so identical images on several lines keep theirs.

use super::{ImageMention, SourceError};
use crate::yaml;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The kinds of YAML file that name images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Compose,
    GitLabCi,
    GitHubWorkflow,
    /// A Helm chart's `values*.yaml` (beside `Chart.yaml`).
    HelmValues,
    /// `kustomization.yaml`: its `images:` overrides.
    Kustomization,
    /// Anything else: Kubernetes objects are recognised by `kind`.
    Kubernetes,
}

/// Which kind a YAML file is, by its path; `None` for files that are not YAML.
pub fn kind_of(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if !(name.ends_with(".yml") || name.ends_with(".yaml")) {
        return None;
    }
    let in_workflows = path
        .parent()
        .is_some_and(|p| p.ends_with(".github/workflows"));
    let in_chart = path
        .parent()
        .is_some_and(|p| p.join("Chart.yaml").is_file() || p.join("Chart.yml").is_file());
    Some(if in_workflows {
        Kind::GitHubWorkflow
    } else if name.starts_with("values") && in_chart {
        Kind::HelmValues
    } else if name.starts_with("kustomization.") {
        Kind::Kustomization
    } else if name.ends_with("gitlab-ci.yml") || name.ends_with("gitlab-ci.yaml") {
        Kind::GitLabCi
    } else if name.starts_with("docker-compose") || name.starts_with("compose.") {
        Kind::Compose
    } else {
        Kind::Kubernetes
    })
}

/// The image references of one YAML file of `kind`. `app_version` is the
/// chart's `appVersion`, the tag Helm charts use when `image.tag` is empty.
pub fn images(text: &str, kind: Kind) -> Result<Vec<ImageMention>, SourceError> {
    images_with(text, kind, None)
}

pub fn images_with(
    text: &str,
    kind: Kind,
    app_version: Option<&str>,
) -> Result<Vec<ImageMention>, SourceError> {
    let mut found = Vec::new();
    for doc in yaml::documents(text) {
        let value: Value = yaml::from_document(&doc).map_err(|e| SourceError {
            line: e.line.unwrap_or(doc.first_line),
            message: e.message,
        })?;
        let mut values = Vec::new();
        // (image, the text that marks its line) for the kinds that build images
        let mut composed: Vec<(String, String)> = Vec::new();
        match kind {
            Kind::Compose => compose(&value, &mut values),
            Kind::GitLabCi => gitlab_ci(&value, &mut values),
            Kind::GitHubWorkflow => github_workflow(&value, &mut values),
            Kind::Kubernetes => kubernetes(&value, &mut values),
            Kind::HelmValues => helm_values(&value, app_version, &mut composed),
            Kind::Kustomization => kustomization(&value, &mut composed),
        }
        composed.extend(values.into_iter().map(|v| (v.clone(), v)));
        place(&doc, composed, &mut found);
    }
    // Maps are read in key order, not file order.
    found.sort_by_key(|m| (m.line, m.column));
    super::check_lengths(&found)?;
    Ok(found)
}

fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn compose(doc: &Value, out: &mut Vec<String>) {
    if let Some(services) = doc.get("services").and_then(Value::as_object) {
        out.extend(
            services
                .values()
                .filter_map(|s| s.get("image"))
                .filter_map(string),
        );
    }
}

/// `image:` and `services:` at the top and in every job, as strings or `{name:}`.
fn gitlab_ci(doc: &Value, out: &mut Vec<String>) {
    let name_of = |v: &Value| string(v).or_else(|| v.get("name").and_then(string));
    let mut from = |section: &Value| {
        if let Some(image) = section.get("image").and_then(name_of) {
            out.push(image);
        }
        for service in section
            .get("services")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(name_of(service));
        }
    };
    from(doc);
    if let Some(defaults) = doc.get("default") {
        from(defaults);
    }
    for (name, job) in doc.as_object().into_iter().flatten() {
        if name != "default" && job.is_object() {
            from(job);
        }
    }
}

/// `container:`, `services.*.image` and `uses: docker://…` of every job.
fn github_workflow(doc: &Value, out: &mut Vec<String>) {
    for job in doc
        .get("jobs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(_, j)| j)
    {
        if let Some(container) = job.get("container") {
            out.extend(string(container).or_else(|| container.get("image").and_then(string)));
        }
        for service in job
            .get("services")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            out.extend(service.1.get("image").and_then(string));
        }
        for step in job
            .get("steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(image) = step
                .get("uses")
                .and_then(Value::as_str)
                .and_then(|u| u.strip_prefix("docker://"))
            {
                out.push(image.to_string());
            }
        }
    }
}

/// Every `image:` map with a `repository` (`registry`, `tag`, `digest`
/// optional); an empty tag falls back to the chart's `appVersion`.
fn helm_values(v: &Value, app_version: Option<&str>, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (key, child) in map {
                let repository = child.get("repository").and_then(Value::as_str);
                if key == "image" {
                    if let Some(repository) = repository {
                        let scalar = |k: &str| {
                            child.get(k).and_then(|x| match x {
                                Value::String(s) if !s.is_empty() => Some(s.clone()),
                                Value::Number(n) => Some(n.to_string()),
                                _ => None,
                            })
                        };
                        let mut image = match scalar("registry") {
                            Some(registry) => format!("{registry}/{repository}"),
                            None => repository.to_string(),
                        };
                        if let Some(tag) = scalar("tag").or_else(|| app_version.map(str::to_string))
                        {
                            image.push(':');
                            image.push_str(&tag);
                        }
                        if let Some(digest) = scalar("digest") {
                            image.push('@');
                            image.push_str(&digest);
                        }
                        out.push((image, repository.to_string()));
                        continue;
                    }
                }
                helm_values(child, app_version, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| helm_values(i, app_version, out)),
        _ => {}
    }
}

/// `images:` of a kustomization: `name` replaced by `newName`, `newTag`, `digest`.
fn kustomization(doc: &Value, out: &mut Vec<(String, String)>) {
    for entry in doc
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            continue;
        };
        let target = entry.get("newName").and_then(Value::as_str).unwrap_or(name);
        let mut image = target.to_string();
        if let Some(tag) = entry.get("newTag").and_then(|t| {
            t.as_str()
                .map(str::to_string)
                .or_else(|| t.as_number().map(|n| n.to_string()))
        }) {
            image.push(':');
            image.push_str(&tag);
        }
        if let Some(digest) = entry.get("digest").and_then(Value::as_str) {
            image.push('@');
            image.push_str(digest);
        }
        out.push((image, name.to_string()));
    }
}

/// Containers of the workload kinds, at their pod spec.
fn kubernetes(doc: &Value, out: &mut Vec<String>) {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let pod = |v: &Value| v.get("template").and_then(|t| t.get("spec")).cloned();
    let spec = doc.get("spec");
    let pod_spec = match kind {
        "Pod" => spec.cloned(),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => spec.and_then(pod),
        "CronJob" => spec
            .and_then(|s| s.get("jobTemplate"))
            .and_then(|j| j.get("spec"))
            .and_then(pod),
        "List" => {
            for item in doc
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                kubernetes(item, out);
            }
            None
        }
        _ => None,
    };
    let Some(pod_spec) = pod_spec else {
        return;
    };
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for container in pod_spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(container.get("image").and_then(string));
        }
    }
}

/// Gives each value the line where its text stands, taking lines in order
/// for repeated values. The lines are indexed once by the values they hold,
/// so placing many images in a long file stays linear.
fn place(doc: &yaml::Document<'_>, values: Vec<(String, String)>, out: &mut Vec<ImageMention>) {
    let wanted: HashSet<&str> = values.iter().map(|(_, needle)| needle.as_str()).collect();
    // needle -> (line index, byte offset) of every line where it stands, in order
    let mut hits: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    let mut lines = Vec::new();
    for (i, line) in doc.text.lines().enumerate() {
        lines.push(line);
        if line.trim_start().starts_with('#') {
            continue;
        }
        for (at, candidate) in value_candidates(line) {
            if let Some(needle) = wanted.get(candidate) {
                let list = hits.entry(needle).or_default();
                if list.last().is_none_or(|&(last, _)| last != i) {
                    list.push((i, at));
                }
            }
        }
    }
    let mut used = vec![false; lines.len()];
    let mut cursors: HashMap<&str, usize> = HashMap::new();
    for (image, needle) in &values {
        let list = hits
            .get(needle.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let cursor = cursors.entry(needle.as_str()).or_default();
        while *cursor < list.len() && used[list[*cursor].0] {
            *cursor += 1;
        }
        let (line, column) = match list.get(*cursor) {
            Some(&(i, at)) => {
                used[i] = true;
                (i + doc.first_line, lines[i][..at].chars().count() + 1)
            }
            None => (doc.first_line, 1),
        };
        out.push(ImageMention {
            image: image.clone(),
            line,
            column,
            unresolved: unresolved_variable(image),
        });
    }
}

/// The texts that stand on `line` as a whole YAML value, with their byte
/// offsets: after the first `:`, after leading `- ` markers, after
/// `docker://`, each without its quotes, up to a quote, a ` #` comment or
/// the end of the line; and every quoted text. Few per line, and together
/// no longer than the line, so indexing a file is linear.
fn value_candidates(line: &str) -> Vec<(usize, &str)> {
    let mut starts = Vec::new();
    let content = line.trim_start();
    let mut after_dashes = line.len() - content.len();
    while let Some(rest) = line[after_dashes..].strip_prefix('-') {
        let value = rest.trim_start();
        if value.len() == rest.len() && !rest.is_empty() {
            break; // `-x`: no sequence marker
        }
        after_dashes = line.len() - value.len();
    }
    starts.push(after_dashes);
    if let Some(colon) = line.find(':') {
        starts.push(colon + 1);
    }
    if let Some(at) = line.find("docker://") {
        starts.push(at + "docker://".len());
    }
    let mut out = Vec::new();
    for start in starts {
        let rest = &line[start..];
        let value = rest.trim_start();
        let mut begin = start + (rest.len() - value.len());
        let value = match value.strip_prefix(['"', '\'']) {
            Some(unquoted) => {
                begin += 1;
                unquoted
            }
            None => value,
        };
        let end = value.find(['"', '\'', '#']).unwrap_or(value.len());
        let candidate = value[..end].trim_end();
        if !candidate.is_empty() {
            out.push((begin, candidate));
        }
        let whole = value.trim_end();
        if whole.len() != candidate.len() && !whole.is_empty() {
            out.push((begin, whole));
        }
    }
    // Every quoted text, as in flow style `{image: "nginx:1.27"}`: the
    // segments do not overlap, so this too is linear in the line.
    let mut from = 0;
    while let Some(open) = line[from..].find(['"', '\'']).map(|o| from + o) {
        let quote = &line[open..open + 1];
        let Some(close) = line[open + 1..].find(quote).map(|c| open + 1 + c) else {
            break;
        };
        if close > open + 1 {
            out.push((open + 1, &line[open + 1..close]));
        }
        from = close + 1;
    }
    out
}

/// A CI or template variable the file cannot resolve: `${VAR}`, `$VAR`,
/// `{{ .Values.x }}`, `${{ matrix.x }}`.
fn unresolved_variable(image: &str) -> Option<String> {
    if let Some(start) = image.find("{{") {
        let end = image[start..]
            .find("}}")
            .map(|e| start + e + 2)
            .unwrap_or(image.len());
        return Some(image[start..end].to_string());
    }
    let at = image.find('$')?;
    let rest = &image[at + 1..];
    let name: String = rest
        .trim_start_matches('{')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Some(if name.is_empty() { "$".into() } else { name })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, kind: Kind) -> Vec<(String, usize)> {
        images(text, kind)
            .unwrap()
            .into_iter()
            .map(|m| (m.image, m.line))
            .collect()
    }

    #[test]
    fn kubernetes_workloads_in_several_documents() {
        let text = "\
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: busybox:1.36
      containers:
        - name: app
          image: \"registry.example.com/app:v1.2.3\"
---
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - image: busybox:1.36   # the same image again
---
apiVersion: v1
kind: ConfigMap
data:
  image: not-an-image-field
";
        assert_eq!(
            lines(text, Kind::Kubernetes),
            vec![
                ("busybox:1.36".into(), 8),
                ("registry.example.com/app:v1.2.3".into(), 11),
                ("busybox:1.36".into(), 21),
            ]
        );
    }

    #[test]
    fn every_workload_kind_and_container_list() {
        let mut text = String::from(
            "apiVersion: v1\nkind: Pod\nspec:\n  ephemeralContainers:\n    - image: debug:1\n",
        );
        for kind in ["StatefulSet", "DaemonSet", "ReplicaSet", "Job"] {
            text.push_str(&format!(
                "---\nkind: {kind}\nspec:\n  template:\n    spec:\n      containers:\n        - image: {}:1\n",
                kind.to_lowercase()
            ));
        }
        text.push_str("---\nkind: Service\nspec:\n  image: not-a-workload\n");
        let found: Vec<String> = images(&text, Kind::Kubernetes)
            .unwrap()
            .into_iter()
            .map(|m| m.image)
            .collect();
        assert_eq!(
            found,
            vec![
                "debug:1",
                "statefulset:1",
                "daemonset:1",
                "replicaset:1",
                "job:1"
            ]
        );
    }

    #[test]
    fn compose_gitlab_and_github() {
        let compose = "services:\n  web:\n    image: nginx:1.27\n  db:\n    image: postgres\n";
        assert_eq!(
            lines(compose, Kind::Compose),
            vec![("nginx:1.27".into(), 3), ("postgres".into(), 5)]
        );
        let gitlab = "image: golang:1.22\nbuild:\n  image:\n    name: node:20\n  services:\n    - postgres:16\n    - name: redis:7\n";
        assert_eq!(
            lines(gitlab, Kind::GitLabCi),
            vec![
                ("golang:1.22".into(), 1),
                ("node:20".into(), 4),
                ("postgres:16".into(), 6),
                ("redis:7".into(), 7)
            ]
        );
        let workflow = "on: push\njobs:\n  test:\n    container: golang:1.22\n    services:\n      db:\n        image: postgres:16\n    steps:\n      - uses: docker://alpine:3.20\n      - uses: actions/checkout@v4\n";
        assert_eq!(
            lines(workflow, Kind::GitHubWorkflow),
            vec![
                ("golang:1.22".into(), 4),
                ("postgres:16".into(), 7),
                ("alpine:3.20".into(), 9)
            ]
        );
    }

    #[test]
    fn helm_values_and_kustomize() {
        let values = "replicaCount: 1\nimage:\n  registry: registry.example.com\n  repository: team/app\n  tag: \"\"\nsidecar:\n  image:\n    repository: busybox\n    tag: 1.36\n";
        let found: Vec<(String, usize)> = images_with(values, Kind::HelmValues, Some("v2.1.0"))
            .unwrap()
            .into_iter()
            .map(|m| (m.image, m.line))
            .collect();
        assert_eq!(
            found,
            vec![
                ("registry.example.com/team/app:v2.1.0".into(), 4),
                ("busybox:1.36".into(), 8)
            ]
        );
        let kustomize = "resources: [deploy.yaml]\nimages:\n  - name: app\n    newName: registry.example.com/app\n    newTag: v1.4.0\n  - name: redis\n    digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
        let found = lines(kustomize, Kind::Kustomization);
        assert_eq!(found[0], ("registry.example.com/app:v1.4.0".into(), 3));
        assert_eq!(found[1].1, 6);
        assert!(found[1].0.starts_with("redis@sha256:"));
    }

    #[test]
    fn flow_style_and_repeated_images_keep_their_lines() {
        let text = "kind: Pod\nspec:\n  containers: [{name: a, image: \"nginx:1\"}]\n  initContainers:\n    - image: 'nginx:1' # again\n    - {image: \"busybox:1\"}\n";
        let found: Vec<(String, usize, usize)> = images(text, Kind::Kubernetes)
            .unwrap()
            .into_iter()
            .map(|m| (m.image, m.line, m.column))
            .collect();
        assert_eq!(
            found,
            vec![
                ("nginx:1".into(), 3, 34),
                ("nginx:1".into(), 5, 15),
                ("busybox:1".into(), 6, 16),
            ]
        );
    }

    #[test]
    fn variables_are_unresolved_and_bad_yaml_names_its_line() {
        let found = images("image: $CI_REGISTRY/app:${TAG}\n", Kind::GitLabCi).unwrap();
        assert_eq!(found[0].unresolved.as_deref(), Some("CI_REGISTRY"));
        let err = images("services:\n  web:\n    image: [\n", Kind::Compose).unwrap_err();
        assert!(err.line >= 3, "{err:?}");
    }
}
