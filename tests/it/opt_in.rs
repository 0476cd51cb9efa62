//! Opt-in rules (`opt_in: true`): loaded and tested, run only where the
//! configuration opts in to them, shown as such by `rules list`.

use super::common::{findings, json, tollgate, tree};

/// Two rules that both fire on `todo!()`: one on by default, one opt-in.
const RULES: &str = r#"
id: team/default-todo
language: rust
severity: warning
message: default rule
query: '(macro_invocation macro: (identifier) @m (#eq? @m "todo")) @match'
---
id: team/strict-todo
language: rust
severity: warning
message: opt-in rule
opt_in: true
query: '(macro_invocation macro: (identifier) @m (#eq? @m "todo")) @match'
"#;

const CODE: &str = "fn f() {\n    todo!()\n}\n";

/// The rules that fired on `src/lib.rs` with `config` as `.tollgate.yml` (none when empty).
fn rules_run(config: &str) -> Vec<String> {
    let mut files = vec![("rules/team.yml", RULES), ("src/lib.rs", CODE)];
    if !config.is_empty() {
        files.push((".tollgate.yml", config));
    }
    let dir = tree(&files);
    let run = tollgate(
        dir.path(),
        &[
            "scan",
            "--no-default-rules",
            "--rules",
            "rules",
            "--format",
            "json",
            "--fail-on",
            "never",
            "src",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let mut rules: Vec<String> = findings(&run)
        .into_iter()
        .map(|(rule, _, _)| rule)
        .collect();
    rules.sort();
    rules
}

#[test]
fn an_opt_in_rule_does_not_run_by_default() {
    assert_eq!(rules_run(""), ["team/default-todo"]);
    assert_eq!(rules_run("fail_on: never\n"), ["team/default-todo"]);
}

#[test]
fn rules_opt_in_turns_it_on_by_id_or_glob_without_turning_others_off() {
    let both = ["team/default-todo", "team/strict-todo"];
    assert_eq!(rules_run("rules:\n  opt_in: [team/strict-todo]\n"), both);
    assert_eq!(rules_run("rules:\n  opt_in: [\"team/*\"]\n"), both);
    assert_eq!(rules_run("rules:\n  opt_in: [\"*\"]\n"), both);
}

#[test]
fn enable_runs_an_opt_in_rule_named_by_exact_id_but_a_glob_does_not() {
    assert_eq!(
        rules_run("rules:\n  enable: [team/strict-todo]\n"),
        ["team/strict-todo"]
    );
    assert_eq!(
        rules_run("rules:\n  enable: [\"team/*\"]\n"),
        ["team/default-todo"]
    );
}

#[test]
fn disable_wins_over_opt_in() {
    let config = "rules:\n  opt_in: [\"*\"]\n  disable: [team/strict-todo]\n";
    assert_eq!(rules_run(config), ["team/default-todo"]);
}

#[test]
fn an_invalid_opt_in_glob_is_a_config_error_naming_the_key() {
    let dir = tree(&[(".tollgate.yml", "rules:\n  opt_in: [\"team/[\"]\n")]);
    let run = tollgate(dir.path(), &["config", "validate"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains(".tollgate.yml:2: invalid glob `team/[`"),
        "{}",
        run.stderr
    );
}

#[test]
fn rules_list_shows_which_rules_are_opt_in() {
    let dir = tree(&[("rules/team.yml", RULES)]);
    let args = ["rules", "list", "--no-default-rules", "--rules", "rules"];
    let run = tollgate(dir.path(), &[&args[..], &["--format", "json"]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list = json(&run);
    let opt_in = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} listed"))["opt_in"]
            .clone()
    };
    assert_eq!(opt_in("team/strict-todo"), true);
    assert_eq!(opt_in("team/default-todo"), false);

    let run = tollgate(dir.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = |id: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} in {}", run.stdout))
            .to_string()
    };
    assert!(
        line("team/strict-todo").contains("opt-in"),
        "{}",
        run.stdout
    );
    assert!(
        !line("team/default-todo").contains("opt-in"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 opt-in"), "{}", run.stdout);
}

#[test]
fn rules_test_still_runs_an_opt_in_rules_tests() {
    let failing = "id: team/strict-todo\nlanguage: rust\nseverity: warning\n\
                   message: opt-in rule\nopt_in: true\n\
                   query: '(macro_invocation macro: (identifier) @m (#eq? @m \"todo\")) @match'\n\
                   tests:\n  valid: [\"fn f() { todo!() }\"]\n";
    let dir = tree(&[("rules/team.yml", failing)]);
    let run = tollgate(dir.path(), &["rules", "test", "rules"]);
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("team/strict-todo"),
        "{}{}",
        run.stdout,
        run.stderr
    );
}
