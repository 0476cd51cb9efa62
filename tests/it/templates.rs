//! The CI templates users copy (`ci-templates/`), `action.yml` and its
//! install script: shown in the README as they are, consistent with each
//! other and with what the binary reads, and their scripts run here.

use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_readme_shows_the_gitlab_and_jenkins_quick_starts_as_they_are() {
    let readme = read("README.md");
    for path in [
        "ci-templates/gitlab/.gitlab-ci.yml",
        "ci-templates/jenkins/Jenkinsfile",
    ] {
        assert!(readme.contains(&read(path)), "README shows {path} as it is");
        assert!(readme.contains(&format!("(./{path})")) || readme.contains(&format!("({path})")));
    }
    let jenkins = read("ci-templates/jenkins/Jenkinsfile");
    for part in [
        "when { changeRequest() }",
        "withCredentials([string(credentialsId:",
        "sh 'tollgate review --config-from-base --report sarif=tollgate.sarif",
        "recordIssues(tools: [sarif(pattern: 'tollgate.sarif'",
    ] {
        assert!(jenkins.contains(part), "Jenkinsfile: {part}");
    }
    // The repository's top level shows what users meet.
    for top in [
        "Cargo.toml",
        "src",
        "action.yml",
        "rules",
        "ci-templates",
        "tests",
        "Dockerfile",
        "README.md",
    ] {
        assert!(root().join(top).exists(), "{top}");
    }
}

/// The `.tollgate` job of the include template and the component's job.
fn gitlab_jobs() -> (Value, Value, Value) {
    let template = yaml("ci-templates/gitlab/tollgate.gitlab-ci.yml");
    let text = read("ci-templates/gitlab/templates/tollgate/template.yml");
    let mut docs = text.split("\n---\n");
    let spec: Value = serde_yaml::from_str(docs.next().unwrap()).unwrap();
    let jobs: Value = serde_yaml::from_str(docs.next().unwrap()).unwrap();
    assert!(
        docs.next().is_none(),
        "a component is a spec and one document"
    );
    let job = jobs["$[[ inputs.job-name ]]"].clone();
    assert!(job.is_mapping(), "the component's job is named by an input");
    (template[".tollgate"].clone(), spec, job)
}

#[test]
fn the_gitlab_template_and_component_run_the_same_job_in_merge_request_pipelines() {
    let (hidden, spec, component) = gitlab_jobs();
    assert!(
        hidden.is_mapping(),
        "the include template has a hidden .tollgate job"
    );
    for job in [&hidden, &component] {
        assert_eq!(
            job["rules"][0]["if"].as_str(),
            Some("$CI_PIPELINE_SOURCE == \"merge_request_event\"")
        );
        assert_eq!(
            job["artifacts"]["reports"]["codequality"].as_str(),
            Some("gl-code-quality-report.json")
        );
        assert_eq!(job["variables"]["GIT_DEPTH"].as_str(), Some("0"));
        assert_eq!(job["image"]["entrypoint"], Value::Sequence(vec!["".into()]));
    }
    assert_eq!(hidden["script"], component["script"], "one script for both");
    assert!(hidden["script"][1]
        .as_str()
        .unwrap()
        .contains("--report codequality=gl-code-quality-report.json"));
    // Every input the component uses is declared, and the options are inputs.
    let text = read("ci-templates/gitlab/templates/tollgate/template.yml");
    let inputs = spec["spec"]["inputs"].as_mapping().unwrap();
    for name in [
        "stage", "image", "config", "env", "fail-on", "filter", "args",
    ] {
        assert!(inputs.contains_key(name), "input {name}");
    }
    for used in text.split("$[[ inputs.").skip(1) {
        let name = used.split(" ]]").next().unwrap();
        assert!(inputs.contains_key(name), "{name} is used but not declared");
    }
    // The quick start extends the template's job and includes the file that exists.
    let quick = yaml("ci-templates/gitlab/.gitlab-ci.yml");
    assert_eq!(quick["tollgate"]["extends"].as_str(), Some(".tollgate"));
    assert!(quick["include"][0]["remote"]
        .as_str()
        .unwrap()
        .ends_with("/ci-templates/gitlab/tollgate.gitlab-ci.yml"));
}

#[test]
fn the_gitlab_script_passes_the_variables_as_arguments_and_expands_nothing() {
    let (hidden, _, _) = gitlab_jobs();
    let lines: Vec<&str> = hidden["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    // GitLab runs the lines as one script; `tollgate` here prints its arguments.
    let script = format!(
        "tollgate() {{ printf '<%s>\\n' \"$@\"; }}\n{}\n",
        lines.join("\n")
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("glob-would-match.txt"), "").unwrap();
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(&script).current_dir(dir.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let base = "<review>\n<--config-from-base>\n<--report>\n<codequality=gl-code-quality-report.json>\n<--report>\n<sarif=tollgate.sarif>\n<--report>\n<json=tollgate.json>\n";
    assert_eq!(run(&[]), base);
    let all = run(&[
        ("TOLLGATE_CONFIG", "ci/gate $(touch pwned).yml"),
        ("TOLLGATE_ENVIRONMENT", "prod"),
        ("TOLLGATE_FAIL_ON", "warning"),
        ("TOLLGATE_FILTER", "file"),
        ("TOLLGATE_ARGS", "--max-comments 5 *"),
    ]);
    assert_eq!(
        all,
        format!("{base}<--config>\n<ci/gate $(touch pwned).yml>\n<--env>\n<prod>\n<--fail-on>\n<warning>\n<--filter>\n<file>\n<--max-comments>\n<5>\n<*>\n")
    );
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn the_action_passes_every_input_to_the_binary_as_a_container_action_would() {
    let action = yaml("action.yml");
    let inputs = action["inputs"].as_mapping().unwrap();
    let names: Vec<&str> = inputs.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "github-token",
            "config",
            "env",
            "fail-on",
            "filter",
            "reports",
            "working-directory",
            "args",
            "version"
        ]
    );
    assert_eq!(
        action["inputs"]["github-token"]["default"].as_str(),
        Some("${{ github.token }}")
    );
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let run_step = steps.iter().find(|s| s["id"] == "tollgate").unwrap();
    let env = run_step["env"].as_mapping().unwrap();
    for name in names.iter().filter(|n| **n != "version") {
        let var = format!("INPUT_{}", name.to_uppercase());
        assert_eq!(
            env.get(var.as_str()).and_then(Value::as_str),
            Some(format!("${{{{ inputs.{name} }}}}").as_str()),
            "{var}"
        );
    }
    // No input is ever pasted into a script: they reach it as variables.
    for step in steps {
        let script = step["run"].as_str().unwrap();
        assert!(!script.contains("${{"), "{script}");
    }
    for output in [
        "findings",
        "errors",
        "warnings",
        "infos",
        "sarif",
        "codequality",
        "json",
        "exit-code",
    ] {
        assert_eq!(
            action["outputs"][output]["value"].as_str(),
            Some(format!("${{{{ steps.tollgate.outputs.{output} }}}}").as_str()),
            "{output}"
        );
    }
}

/// A stand-in release of `repo` at `version` under `server` (a `file://` URL
/// works for curl), holding the test binary and its checksum file.
fn release(server: &Path, repo: &str, version: &str, checksum_of: &[u8]) -> PathBuf {
    let dir = server
        .join(repo)
        .join("releases/download")
        .join(format!("v{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    let asset = "tollgate-x86_64-unknown-linux-gnu";
    std::fs::copy(env!("CARGO_BIN_EXE_tollgate"), dir.join(asset)).unwrap();
    use sha2::Digest;
    let sum = sha2::Sha256::digest(checksum_of);
    let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(
        dir.join(format!("{asset}.sha256")),
        format!("{hex}  {asset}\n"),
    )
    .unwrap();
    dir
}

fn install(server: &Path, temp: &Path, version: &str) -> (std::process::Output, String) {
    let output = temp.join("output");
    let out = Command::new("bash")
        .arg(root().join("scripts/action-install.sh"))
        .env("GITHUB_ACTION_PATH", root())
        .env("GITHUB_ACTION_REPOSITORY", "a-fork/tollgate")
        .env("GITHUB_SERVER_URL", format!("file://{}", server.display()))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", temp)
        .env("GITHUB_OUTPUT", &output)
        .env("TOLLGATE_VERSION", version)
        .output()
        .unwrap();
    (out, std::fs::read_to_string(output).unwrap_or_default())
}

#[test]
fn the_action_installs_its_own_repositorys_release_and_refuses_a_bad_checksum() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl is missing: skipped");
        return;
    }
    let server = tempfile::tempdir().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let binary = std::fs::read(env!("CARGO_BIN_EXE_tollgate")).unwrap();
    release(server.path(), "a-fork/tollgate", "9.9.9", &binary);
    let (out, output) = install(server.path(), temp.path(), "v9.9.9");
    assert!(out.status.success(), "{out:?}");
    let path = output.strip_prefix("path=").unwrap().trim();
    assert!(
        path.starts_with(&temp.path().display().to_string()),
        "{path}"
    );
    let version = Command::new(path).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("tollgate "));

    // A binary whose checksum does not match is never run nor named.
    release(server.path(), "a-fork/tollgate", "9.9.8", b"another binary");
    std::fs::remove_file(temp.path().join("output")).unwrap();
    let (bad, output) = install(server.path(), temp.path(), "9.9.8");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("::error title=tollgate::the checksum"),
        "{bad:?}"
    );
    assert_eq!(output, "");
    assert!(!temp.path().join("tollgate-9.9.8-x86_64/tollgate").exists());
}
