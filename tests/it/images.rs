//! `tollgate images parse`: Docker's reference grammar on the command line.

use super::common::{json, tollgate};

#[test]
fn images_parse_prints_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let run = tollgate(
        dir.path(),
        &["images", "parse", "--format", "json", "--", "ubuntu:22.04", "localhost:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "acme/App"],
    );
    assert_eq!(run.code, 1, "one reference is invalid: {}", run.stderr);
    let parsed = json(&run);
    let first = &parsed[0];
    assert_eq!(first["input"], "ubuntu:22.04");
    assert_eq!(first["valid"], true);
    assert!(first["error"].is_null());
    assert_eq!(first["domain"], "docker.io");
    assert_eq!(first["path"], "library/ubuntu");
    assert_eq!(first["tag"], "22.04");
    assert!(first["digest"].is_null());
    assert_eq!(first["normalized"], "docker.io/library/ubuntu:22.04");
    assert_eq!(first["familiar"], "ubuntu:22.04");
    assert_eq!(parsed[1]["domain"], "localhost:5000");
    assert!(parsed[1]["tag"].is_null());
    assert!(parsed[1]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:0123"));
    assert_eq!(parsed[2]["valid"], false);
    assert_eq!(
        parsed[2]["error"],
        "repository name `acme/App` must be lowercase"
    );
    assert!(parsed[2]["normalized"].is_null());

    let run = tollgate(dir.path(), &["images", "parse", "--", "redis"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "redis: docker.io/library/redis\n");
}

#[test]
fn images_check_applies_an_environments_policy() {
    let config = "images:\n  environments:\n    production:\n      registries: [registry.example.com]\n      deny_latest: true\n      tags: ['^v\\d+\\.\\d+\\.\\d+$']\n    staging:\n      deny_tags: ['-dirty$']\n";
    let dir = super::common::tree(&[(".tollgate.yml", config)]);
    let run = tollgate(
        dir.path(),
        &[
            "images",
            "check",
            "--env",
            "production",
            "--format",
            "json",
            "--",
            "registry.example.com/app:v1.2.3",
            "registry.example.com/app:latest",
            "app:v1.2.3",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let checked = json(&run);
    assert_eq!(checked[0]["image"], "registry.example.com/app:v1.2.3");
    assert_eq!(checked[0]["environment"], "production");
    assert_eq!(checked[0]["allowed"], true);
    assert!(checked[0]["reason"].is_null());
    assert_eq!(checked[1]["allowed"], false);
    assert!(checked[1]["reason"]
        .as_str()
        .unwrap()
        .contains("images.environments.production.deny_latest"));
    assert!(checked[2]["reason"]
        .as_str()
        .unwrap()
        .contains("registries"));

    let run = tollgate(
        dir.path(),
        &["images", "check", "--env", "staging", "--", "app:1.0-dirty"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("app:1.0-dirty: denied in staging: tag `1.0-dirty` matches `-dirty$`"),
        "{}",
        run.stdout
    );
    let run = tollgate(
        dir.path(),
        &["images", "check", "--env", "staging", "--", "app:1.0"],
    );
    assert_eq!(run.code, 0);

    let run = tollgate(
        dir.path(),
        &["images", "check", "--env", "qa", "--", "app:1"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no image policy for environment `qa`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`production`, `staging`"),
        "{}",
        run.stderr
    );
}

#[test]
fn images_scan_reports_denied_and_unresolved_images_on_their_lines() {
    let config = "images:\n  environments:\n    production:\n      deny_latest: true\n      tags: ['^v?\\d+\\.\\d+(\\.\\d+)?$']\n";
    let dockerfile = "ARG GO=1.22\nFROM golang:${GO} AS build\nRUN go build\nFROM build AS again\nFROM alpine:latest\nCOPY --from=build /app /app\nCOPY --from=busybox /bin/sh /bin/sh\nFROM scratch\nFROM registry.example.com/app:${TAG}\n";
    let dir = super::common::tree(&[
        (".tollgate.yml", config),
        ("svc/Dockerfile", dockerfile),
        ("broken/Dockerfile", "FROM\n"),
        ("other/Containerfile", "FROM node:20.1\n"),
    ]);
    let run = tollgate(
        dir.path(),
        &["images", "scan", "--env", "production", "--format", "json"],
    );
    assert_eq!(
        run.code, 2,
        "the broken Dockerfile makes the run fail, after the others"
    );
    assert!(
        run.stderr
            .contains("broken/Dockerfile:1: `FROM` needs an image"),
        "{}",
        run.stderr
    );
    let report = json(&run);
    let found: Vec<(String, String, u64, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["path"].as_str().unwrap().into(),
                f["line"].as_u64().unwrap(),
                f["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "image/policy".into(),
                "svc/Dockerfile".into(),
                5,
                "error".into()
            ),
            (
                "image/policy".into(),
                "svc/Dockerfile".into(),
                7,
                "error".into()
            ),
            (
                "image/unresolved".into(),
                "svc/Dockerfile".into(),
                9,
                "info".into()
            ),
        ],
        "{report}"
    );
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[0].contains("`alpine:latest` is denied in production")
            && messages[0].contains("deny_latest"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].contains("`busybox` is denied"),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].contains("`TAG` has no value"),
        "{}",
        messages[2]
    );
    assert_eq!(report["findings"][0]["column"], 6);
}

#[test]
fn images_scan_reads_manifests_compose_and_ci_files() {
    let config = "images:\n  environments:\n    production:\n      deny_latest: true\n";
    let k8s = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: nginx:1.27\n    - name: b\n      image: redis\n";
    let dir = super::common::tree(&[
        (".tollgate.yml", config),
        ("deploy/pod.yaml", k8s),
        ("docker-compose.yml", "services:\n  web:\n    image: app:latest\n"),
        (".gitlab-ci.yml", "test:\n  image: golang\n  script: [go test]\n"),
        (".github/workflows/ci.yml", "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    container: node\n    steps:\n      - run: true\n"),
        ("chart/templates/deploy.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n"),
        ("bad/compose.yaml", "services:\n  web:\n    image: [\n"),
        ("notes.yml", "just: data\n"),
    ]);
    let run = tollgate(
        dir.path(),
        &["images", "scan", "--env", "production", "--format", "json"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("bad/compose.yaml:"), "{}", run.stderr);
    let report = json(&run);
    let found: Vec<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (".github/workflows/ci.yml".into(), 5),
            (".gitlab-ci.yml".into(), 2),
            ("deploy/pod.yaml".into(), 8),
            ("docker-compose.yml".into(), 3),
        ],
        "{report}"
    );
    let notices = report["notices"].as_array().unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n["path"] == "chart/templates/deploy.yaml"),
        "{report}"
    );
}

#[test]
fn images_scan_reads_helm_values_with_app_version_and_kustomize() {
    let config = "images:\n  environments:\n    production:\n      tags: ['^v']\n";
    let dir = super::common::tree(&[
        (".tollgate.yml", config),
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\nappVersion: \"1.0\"\n",
        ),
        (
            "chart/values.yaml",
            "image:\n  repository: nginx\n  tag: \"\"\n",
        ),
        (
            "overlays/prod/kustomization.yaml",
            "images:\n  - name: app\n    newTag: v2\n  - name: db\n    newTag: \"16\"\n",
        ),
    ]);
    let run = tollgate(
        dir.path(),
        &["images", "scan", "--env", "production", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = json(&run);
    let found: Vec<(String, u64, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{report}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("chart/values.yaml", 2));
    assert!(
        found[0].2.contains("`nginx:1.0`"),
        "appVersion fills the empty tag: {}",
        found[0].2
    );
    assert_eq!(
        (found[1].0.as_str(), found[1].1),
        ("overlays/prod/kustomization.yaml", 4)
    );
    assert!(found[1].2.contains("`db:16`"), "{}", found[1].2);
}

#[test]
fn a_policy_limited_by_match_leaves_build_images_alone() {
    let digest = format!("sha256:{}", "b".repeat(64));
    let dir = super::common::tree(&[
        (
            ".tollgate.yml",
            "images:\n  environments:\n    production:\n      - match: ['registry.example.com/shop/**']\n        tags: ['^v\\d+\\.\\d+\\.\\d+$']\n      - deny_latest: true\n",
        ),
        (
            "Dockerfile",
            &format!(
                "FROM golang:1.22 AS build\nFROM registry.example.com/shop/cart:1.2.3-snapshot\nFROM registry.example.com/shop/cart:v1.2.3\nFROM alpine:latest\nFROM alpine:latest@{digest}\n"
            ),
        ),
    ]);
    let run = tollgate(
        dir.path(),
        &["images", "scan", "--env", "production", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<(u64, String)> = json(&run)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].0, 2);
    assert!(lines[0].1.contains("production[0].tags"), "{lines:?}");
    assert_eq!(
        lines[1].0, 4,
        "a digest-pinned `latest` is not denied: {lines:?}"
    );

    // A typo inside a listed policy still names its line.
    let bad = super::common::tree(&[(
        ".tollgate.yml",
        "images:\n  environments:\n    production:\n      - match: ['a/*']\n      - deny_lates: true\n",
    )]);
    let run = tollgate(bad.path(), &["config", "validate"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(".tollgate.yml:5") && run.stderr.contains("deny_lates"),
        "{}",
        run.stderr
    );
}
