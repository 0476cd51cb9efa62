//! Report files: SARIF 2.1.0 valid against the official schema, GitLab Code
//! Quality in its documented shape, JSON as on stdout.

use super::common::{json, tollgate, tree};
use serde_json::Value;

const CODE: &str = "package p\n\nfunc a(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n\nfunc b(p string) {\n\t// tollgate-ignore: go/unclosed-file\n\tg, _ := os.Open(p)\n\t_ = g.Name()\n}\n\nfunc c(err error) error {\n\treturn errors.New(fmt.Sprintf(\"x %d\", 1))\n}\n";

fn scan_with_reports() -> (tempfile::TempDir, super::common::Run) {
    let dir = tree(&[("src/a.go", CODE)]);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--report",
            "sarif=out/tollgate.sarif",
            "--report",
            "codequality=out/gl-code-quality.json",
            "--report",
            "json=out/tollgate.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    (dir, run)
}

fn read(dir: &tempfile::TempDir, path: &str) -> Value {
    let text = std::fs::read_to_string(dir.path().join(path)).expect(path);
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let (dir, _) = scan_with_reports();
    let sarif = read(&dir, "out/tollgate.sarif");
    let schema: Value =
        serde_json::from_str(include_str!("../fixtures/sarif/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // a broken log must fail, so the check above means something
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn sarif_has_rule_metadata_fingerprints_and_suppressions() {
    let (dir, _) = scan_with_reports();
    let sarif = read(&dir, "out/tollgate.sarif");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "tollgate");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let unclosed = rules
        .iter()
        .find(|r| r["id"] == "go/unclosed-file")
        .unwrap();
    assert!(unclosed["shortDescription"]["text"]
        .as_str()
        .unwrap()
        .contains("opened here"));
    assert!(unclosed["help"]["text"]
        .as_str()
        .unwrap()
        .contains("os.Open"));
    assert_eq!(unclosed["helpUri"], "https://pkg.go.dev/os#File.Close");
    let results = run["results"].as_array().unwrap();
    let open: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "go/unclosed-file")
        .collect();
    assert_eq!(open.len(), 2, "the suppressed one is kept, marked");
    let loc = &open[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "src/a.go");
    assert_eq!(loc["region"]["startLine"], 4);
    assert_eq!(loc["region"]["startColumn"], 2);
    assert_eq!(open[0]["level"], "warning");
    assert!(open[0]["suppressions"].is_null());
    assert_eq!(open[1]["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        open[1]["locations"][0]["physicalLocation"]["region"]["startLine"],
        10
    );
    assert_eq!(
        open[0]["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    let index = open[0]["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "go/unclosed-file");
    let fixed = results
        .iter()
        .find(|r| r["ruleId"] == "go/errors-new-sprintf")
        .unwrap();
    assert_eq!(fixed["level"], "note");
    assert!(
        fixed["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
            .as_str()
            .unwrap()
            .starts_with("fmt.Errorf(")
    );
}

#[test]
fn code_quality_matches_gitlabs_documented_shape() {
    let (dir, _) = scan_with_reports();
    let report = read(&dir, "out/gl-code-quality.json");
    let issues = report.as_array().expect("a JSON array");
    assert_eq!(
        issues.len(),
        2,
        "suppressed findings are left out: {report}"
    );
    let allowed = ["info", "minor", "major", "critical", "blocker"];
    for issue in issues {
        assert!(issue["description"].is_string());
        assert!(issue["check_name"].is_string());
        assert!(issue["fingerprint"].as_str().is_some_and(|f| !f.is_empty()));
        assert!(allowed.contains(&issue["severity"].as_str().unwrap()));
        assert_eq!(issue["location"]["path"], "src/a.go");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    assert_eq!(issues[0]["check_name"], "go/unclosed-file");
    assert_eq!(issues[0]["severity"], "minor");
    assert_eq!(issues[0]["location"]["lines"]["begin"], 4);
    let prints: std::collections::HashSet<_> = issues.iter().map(|i| &i["fingerprint"]).collect();
    assert_eq!(
        prints.len(),
        issues.len(),
        "GitLab collapses equal fingerprints"
    );
}

#[test]
fn json_report_file_equals_stdout() {
    let (dir, run) = scan_with_reports();
    assert_eq!(read(&dir, "out/tollgate.json"), json(&run));
}

#[test]
fn bad_report_arguments_are_usage_errors() {
    let dir = tree(&[("a.go", "package p\n")]);
    let run = tollgate(dir.path(), &["scan", "--report", "pdf=x.pdf"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown report kind `pdf`: expected one of sarif, codequality, json"),
        "{}",
        run.stderr
    );
    let run = tollgate(dir.path(), &["scan", "--report", "a.sarif"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("expected KIND=PATH"), "{}", run.stderr);
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    let run = tollgate(dir.path(), &["scan", "--report", "sarif=taken"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("cannot write the report taken: something other than a regular file"),
        "{}",
        run.stderr
    );
}

#[test]
fn github_actions_gets_annotations_and_a_step_summary() {
    let dir = tree(&[("src/a.go", CODE)]);
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ("GITHUB_SERVER_URL", "https://github.example.com"),
        ("GITHUB_REPOSITORY", "acme/app"),
        ("GITHUB_SHA", "abc123"),
    ];
    let run = super::common::tollgate_env(dir.path(), &["scan"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("::warning file=src/a.go,line=4,endLine=4,col=2,endColumn=20,title=go/unclosed-file::`f` is opened here"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("::notice file=src/a.go,line=15"),
        "{}",
        run.stdout
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("earlier step\n## tollgate"),
        "appended: {md}"
    );
    assert!(md.contains("| 0 | 1 | 1 | 1 | 1 |"), "{md}");
    assert!(
        md.contains("[src/a.go:4](https://github.example.com/acme/app/blob/abc123/src/a.go#L4)"),
        "{md}"
    );
    // JSON on stdout stays JSON; annotations move to stderr
    let run = super::common::tollgate_env(dir.path(), &["scan", "--format", "json"], &env);
    json(&run);
    assert!(
        run.stderr.contains("::warning file=src/a.go"),
        "{}",
        run.stderr
    );
    // and they can be switched off
    let run = super::common::tollgate_env(dir.path(), &["scan", "--no-annotations"], &env);
    assert!(!run.stdout.contains("::warning"), "{}", run.stdout);
    // outside Actions there are none
    let run = tollgate(dir.path(), &["scan"]);
    assert!(!run.stdout.contains("::warning"));
}
