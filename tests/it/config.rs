//! `.tollgate.yml`: validation errors with lines, interpolation, environment
//! overlays, rule selection, and the config commands.

use super::common::{findings, json, tollgate, tollgate_env, tree};

const LEAK: &str = "package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n";
const TODO: &str = "fn f() {\n    todo!()\n}\n";

#[test]
fn init_writes_a_config_that_validates() {
    let dir = tree(&[]);
    let run = tollgate(dir.path(), &["init"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(".tollgate.yml is valid"),
        "{}",
        run.stdout
    );
    let run = tollgate(dir.path(), &["config", "validate", "--env", "production"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("fail_on: warning"), "{}", run.stdout);
    let again = tollgate(dir.path(), &["init"]);
    assert_eq!(again.code, 2, "no silent overwrite");
    assert!(again.stderr.contains("already exists"));
}

#[test]
fn init_fits_the_repository_and_litters_nothing() {
    let dir = tree(&[("cmd/main.go", LEAK)]);
    let run = tollgate(dir.path(), &["init"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = std::fs::read_to_string(dir.path().join(".tollgate.yml")).unwrap();
    assert!(written.contains("# enable: [\"go/*\"]"), "{written}");
    assert!(
        !written.contains("rust/"),
        "only rules for the languages here: {written}"
    );
    assert!(written.contains("# images:"), "{written}");
    // No report files from a local run.
    let scan = tollgate(dir.path(), &["scan", "--fail-on", "never"]);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".tollgate.yml", "cmd"]);
}

fn validate_error(config: &str) -> String {
    let dir = tree(&[(".tollgate.yml", config)]);
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    run.stderr
}

#[test]
fn the_gitlab_section_is_typed_and_never_holds_where_the_token_goes() {
    let dir = tree(&[(
        ".tollgate.yml",
        "gitlab:\n  max_comments: 5\n  on_clean: delete\n  id: api\n  time_limit: 30\n",
    )]);
    let ok = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let err = validate_error("gitlab:\n  max_comments: 5\n  url: https://evil.example\n");
    assert!(err.contains(".tollgate.yml:3"), "{err}");
    assert!(err.contains("unknown field `url`"), "{err}");
    let err = validate_error("gitlab:\n  max_comments: many\n");
    assert!(err.contains(".tollgate.yml:2"), "{err}");
}

#[test]
fn bad_configs_name_the_file_and_line() {
    let err = validate_error("fail_on: error\nrules:\n  disabel: [go/x]\n");
    assert!(err.contains(".tollgate.yml:3"), "{err}");
    assert!(
        err.contains("unknown field `disabel`, expected one of"),
        "{err}"
    );

    let err = validate_error("filter: added\nfail_on: sometimes\n");
    assert!(err.contains(".tollgate.yml:2"), "{err}");
    // The value is never quoted (it could be a secret): the choices are.
    assert!(
        err.contains("unknown value (not shown), expected one of `error`"),
        "{err}"
    );

    let err = validate_error("rules:\n  severity:\n    go/x: fatal\n");
    assert!(err.contains(".tollgate.yml:3"), "{err}");

    let err = validate_error("exclude: 3\n");
    assert!(err.contains(".tollgate.yml:1"), "{err}");
    assert!(err.contains("invalid type"), "{err}");

    let err = validate_error("fail_on: error\nexclude: [\"src/[a\"]\n");
    assert!(
        err.contains(".tollgate.yml:2: invalid glob `src/[a`"),
        "{err}"
    );

    let images = "images:\n  environments:\n    staging:\n      tags: ['-snapshot$']\n    production:\n      deny_latest: true\n      tags: ['^v\\d+\\.\\d+$', '^v(\\d+']\n";
    let err = validate_error(images);
    assert!(
        err.contains(".tollgate.yml:7: images.environments.production.tags: invalid regular expression `^v(\\d+`"),
        "{err}"
    );
    let err =
        validate_error("images:\n  environments:\n    production:\n      semver: '>=1.0.0, <<3'\n");
    assert!(
        err.contains(
            ".tollgate.yml:4: images.environments.production.semver: invalid SemVer range"
        ),
        "{err}"
    );
    let err =
        validate_error("images:\n  environments:\n    production:\n      require_digets: true\n");
    assert!(err.contains(".tollgate.yml:4"), "{err}");
    assert!(err.contains("unknown field `require_digets`"), "{err}");

    let err = validate_error("reports:\n  sarif: ${TOLLGATE_NOT_SET_ANYWHERE}\n");
    assert!(
        err.contains(".tollgate.yml:2: `${TOLLGATE_NOT_SET_ANYWHERE}` is not set"),
        "{err}"
    );

    let dir = tree(&[(
        ".tollgate.yml",
        "fail_on: error\nenvironments:\n  staging: {}\n",
    )]);
    let run = tollgate(dir.path(), &["config", "validate", "--env", "prod"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(".tollgate.yml:2: unknown environment `prod`: expected one of `staging`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_config_does_not_stop_the_scan() {
    let dir = tree(&[(".tollgate.yml", "fail_on: [\n"), ("a.go", LEAK)]);
    let run = tollgate(dir.path(), &["scan", "--format", "json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains(".tollgate.yml:"), "{}", run.stderr);
    assert_eq!(findings(&run).len(), 1, "the defaults still ran");
}

#[test]
fn interpolation_and_environment_overlays() {
    let config = "fail_on: ${TOLLGATE_FAIL_ON:-never}\nenvironments:\n  production:\n    fail_on: warning\n  staging:\n    rules:\n      disable: [\"go/*\"]\n";
    let dir = tree(&[(".tollgate.yml", config), ("a.go", LEAK)]);
    // default from ${TOLLGATE_FAIL_ON:-never}: the warning does not fail
    assert_eq!(tollgate(dir.path(), &["scan"]).code, 0);
    // the variable wins over the default
    assert_eq!(
        tollgate_env(dir.path(), &["scan"], &[("TOLLGATE_FAIL_ON", "warning")]).code,
        1
    );
    // the production overlay
    assert_eq!(
        tollgate(dir.path(), &["scan", "--env", "production"]).code,
        1
    );
    assert_eq!(
        tollgate_env(dir.path(), &["scan"], &[("TOLLGATE_ENV", "production")]).code,
        1
    );
    // flags override the file
    assert_eq!(
        tollgate(
            dir.path(),
            &["scan", "--env", "production", "--fail-on", "never"]
        )
        .code,
        0
    );
    // the staging overlay disables Go rules but keeps the top-level fail_on
    let run = tollgate(
        dir.path(),
        &["scan", "--env", "staging", "--format", "json"],
    );
    assert_eq!(run.code, 0);
    assert!(findings(&run).is_empty());
}

#[test]
fn rule_selection_severity_paths_excludes_and_reports() {
    let config = r#"rules:
  enable: ["go/*", "rust/todo-macro", "team/*"]
  disable: [go/errorf-without-wrap, go/builtin-print]
  severity:
    "go/unclosed-*": error
  paths: [team-rules]
exclude: ["vendor/**", "*_gen.go"]
reports:
  json: out/report.json
"#;
    let team = "id: team/no-println\nlanguage: go\nseverity: info\nmessage: println\nquery: |\n  ((call_expression function: (identifier) @f) @match (#eq? @f \"println\"))\n";
    let dir = tree(&[
        ("cfg/.tollgate.yml", config),
        ("cfg/team-rules/r.yml", team),
        ("src/a.go", LEAK),
        ("src/lib.rs", TODO),
        ("src/b_gen.go", LEAK),
        ("vendor/v.go", LEAK),
        ("src/c.go", "package p\n\nfunc g() {\n\tprintln(1)\n}\n"),
    ]);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--config",
            "cfg/.tollgate.yml",
            "--format",
            "json",
            "src",
            "vendor",
        ],
    );
    assert_eq!(
        run.code, 1,
        "the override makes the leak an error: {}",
        run.stderr
    );
    let report = json(&run);
    let mut got: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["path"].as_str().unwrap().into(),
                f["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("go/unclosed-file".into(), "src/a.go".into(), "error".into()),
            (
                "rust/todo-macro".into(),
                "src/lib.rs".into(),
                "warning".into()
            ),
            ("team/no-println".into(), "src/c.go".into(), "info".into()),
        ]
    );
    let written = std::fs::read_to_string(dir.path().join("cfg/out/report.json")).unwrap();
    assert!(written.contains("team/no-println"));
}

#[test]
fn validate_redacts_secrets() {
    // Credentials never come from the environment into a configuration;
    // one written into the file is still never shown. (`jira:` has no key
    // for a token at all: tests/it/jira_flow.rs.)
    let config = "jira:\n  url: https://jira.example.com\nnotify:\n  on: change\n";
    let dir = tree(&[(".tollgate.yml", config)]);
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("hooks.example.com"), "{}", run.stdout);
    assert!(run.stdout.contains("https://jira.example.com"));
}

#[test]
fn schemas_describe_both_file_kinds() {
    let dir = tree(&[]);
    for (kind, key) in [("config", "environments"), ("rule", "query")] {
        let run = tollgate(dir.path(), &["schema", kind]);
        assert_eq!(run.code, 0);
        let schema = json(&run);
        assert!(schema["properties"][key].is_object(), "{kind}: {schema}");
        assert_eq!(
            schema["additionalProperties"], false,
            "{kind}: unknown keys are rejected"
        );
    }
}

#[test]
fn the_readme_example_config_is_valid() {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("### Configuration").expect("config section")..];
    let start = section.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let team = "id: team/x\nlanguage: go\nseverity: info\nmessage: m\nquery: |\n  ((identifier) @match (#eq? @match \"x\"))\n";
    let dir = tree(&[
        (".tollgate.yml", example),
        ("tools/tollgate-rules/x.yml", team),
    ]);
    for env in [None, Some("production"), Some("dev")] {
        let mut args = vec!["config", "validate"];
        if let Some(env) = env {
            args.extend(["--env", env]);
        }
        let run = tollgate(dir.path(), &args);
        assert_eq!(run.code, 0, "{env:?}: {}", run.stderr);
    }
}
