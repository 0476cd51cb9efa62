//! Helpers shared by the integration tests: run the real binary in a temp dir.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `tollgate` with `args` in `dir`, with colour and CI variables cleared.
pub fn tollgate(dir: &Path, args: &[&str]) -> Run {
    tollgate_env(dir, args, &[])
}

pub fn tollgate_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    cmd.args(args).current_dir(dir);
    for var in ["NO_COLOR", "GITLAB_CI", "TOLLGATE_ENV"] {
        cmd.env_remove(var);
    }
    // The tests may themselves run in GitHub Actions: none of its variables leak in.
    for (var, _) in std::env::vars() {
        if var.starts_with("GITHUB_") || var.starts_with("INPUT_") || var.starts_with("RUNNER_") {
            cmd.env_remove(var);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run tollgate");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `files` (path, contents) under a new temp dir.
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        write(dir.path(), path, text.as_bytes());
    }
    dir
}

pub fn write(root: &Path, path: &str, bytes: &[u8]) -> PathBuf {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
    std::fs::write(&full, bytes).expect("write");
    full
}

/// Parses `--format json` output.
pub fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr))
}

/// (rule, path, line) of every finding in a JSON report.
pub fn findings(run: &Run) -> Vec<(String, String, u64)> {
    json(run)["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Lines of `text` (1-based) that carry `marker`.
pub fn marked_lines(text: &str, marker: &str) -> Vec<u64> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(marker))
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

/// Runs git (the CLI, only to build test repositories) and returns its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
