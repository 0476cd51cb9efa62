//! Report paths, from the pull request's `.tollgate.yml` or from the
//! workflow, never make tollgate write outside the working tree (or the
//! `--output-dir`), nor through a symbolic link the pull request committed.

use super::common::{tollgate, tollgate_env, tree, write};
use std::path::Path;

const LEAK: &str = "package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n";

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn report_paths_from_the_configuration_stay_in_the_working_tree() {
    let outside = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let absolute = outside.path().join("abs.json");
    let config = format!(
        "reports:\n  json: {}\n  sarif: ../{}/up.sarif\n",
        absolute.display(),
        outside.path().file_name().unwrap().to_string_lossy()
    );
    // The repository sits beside `outside`, so `../NAME` reaches it.
    let parent = outside.path().parent().unwrap();
    let repo = tempfile::tempdir_in(parent).unwrap();
    write(repo.path(), ".tollgate.yml", config.as_bytes());
    write(repo.path(), "leak.go", LEAK.as_bytes());
    let run = tollgate_env(
        repo.path(),
        &["scan", "--fail-on", "never"],
        &[("HOME", home.path().to_str().unwrap())],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        entries(outside.path()).is_empty(),
        "{:?}",
        entries(outside.path())
    );
    assert!(
        entries(home.path()).is_empty(),
        "{:?}",
        entries(home.path())
    );
    assert!(
        run.stderr.contains("outside the working tree"),
        "{}",
        run.stderr
    );
    // The scan still ran and reported.
    assert!(run.stdout.contains("leak.go:4"), "{}", run.stdout);
    // `${HOME}` cannot steer a report out either: the variable is not one a configuration may read.
    write(
        repo.path(),
        ".tollgate.yml",
        b"reports:\n  codequality: ${HOME}/home.json\n",
    );
    let run = tollgate_env(
        repo.path(),
        &["scan", "--fail-on", "never"],
        &[("HOME", home.path().to_str().unwrap())],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        entries(home.path()).is_empty(),
        "{:?}",
        entries(home.path())
    );
}

#[cfg(unix)]
#[test]
fn a_committed_symlink_at_the_report_path_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("deploy.sh");
    std::fs::write(&victim, "#!/bin/sh\necho deploy\n").unwrap();
    let dir = tree(&[
        ("leak.go", LEAK),
        (".tollgate.yml", "reports:\n  sarif: out/r.sarif\n"),
    ]);
    // The workflow's own `--report json=tollgate.json`, and a folder the config names.
    std::os::unix::fs::symlink(&victim, dir.path().join("tollgate.json")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--fail-on",
            "never",
            "--report",
            "json=tollgate.json",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "#!/bin/sh\necho deploy\n"
    );
    assert_eq!(entries(outside.path()), ["deploy.sh"]);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(
        run.stderr.contains("outside the working tree"),
        "{}",
        run.stderr
    );
}

#[test]
fn reports_are_written_whole_and_output_dir_moves_them() {
    let dir = tree(&[
        ("leak.go", LEAK),
        (".tollgate.yml", "reports:\n  sarif: r.sarif\n"),
    ]);
    let run = tollgate(
        dir.path(),
        &["scan", "--fail-on", "never", "--report", "json=sub/r.json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sub/r.json")).unwrap())
            .unwrap();
    assert_eq!(report["summary"]["findings"], 1);
    assert!(dir.path().join("r.sarif").is_file());
    // No temporary file is left beside them.
    assert_eq!(entries(&dir.path().join("sub")), ["r.json"]);
    // An explicit --output-dir takes every report, from the flag and the configuration.
    let out = tempfile::tempdir().unwrap();
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--fail-on",
            "never",
            "--output-dir",
            out.path().to_str().unwrap(),
            "--report",
            "json=r.json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(entries(out.path()), ["r.json", "r.sarif"]);
}
