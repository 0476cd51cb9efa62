//! Text from a pull request (file names, rule messages, configuration keys)
//! never forms a GitHub Actions workflow command in tollgate's output.

use super::common::{tollgate_env, tree, write};

const LEAK: &str = "package p\n\nfunc f(p string) {\n\tf, _ := os.Open(p)\n\t_ = f.Name()\n}\n";

/// Lines the runner would read as a command (it trims leading white space,
/// and splits lines on CR too), or that carry the legacy `##[` form.
fn commands(text: &str) -> Vec<String> {
    text.split(['\n', '\r'])
        .map(str::trim_start)
        .filter(|l| l.starts_with("::") || l.contains("##["))
        .map(str::to_string)
        .collect()
}

/// tollgate's own annotations: `::error file=…,line=N,…::message`, with the
/// file property escaped (no raw `:` or `,` in it).
fn is_own_annotation(line: &str) -> bool {
    let re = regex::Regex::new(
        r"^::(error|warning|notice) file=[^:,]*,line=\d+,endLine=\d+(,col=\d+,endColumn=\d+)?,title=[^:,]*::[^\r\n]*$",
    )
    .unwrap();
    re.is_match(line)
}

#[test]
fn file_names_messages_and_keys_never_form_a_workflow_command() {
    let dir = tree(&[
        // a configuration key is echoed in its error
        (".tollgate.yml", "\"x\\n::warning::forged-by-config\": 1\n"),
        // a rule whose message would span lines
        (
            "team-rules/bad.yml",
            "id: t/multi\nlanguage: go\nseverity: error\nmessage: \"ok\\n::error::forged-by-rule\"\nquery: (identifier) @x\n",
        ),
    ]);
    write(
        dir.path(),
        "evil\n::stop-commands::pwned\n.go",
        LEAK.as_bytes(),
    );
    write(dir.path(), "::error::forged-by-name.go", LEAK.as_bytes());
    write(dir.path(), "ok##[add-mask]x.go", LEAK.as_bytes());
    for format in ["text", "json"] {
        let run = tollgate_env(
            dir.path(),
            &["scan", "--format", format, "--rules", "team-rules"],
            &[("GITHUB_ACTIONS", "true")],
        );
        assert_eq!(
            run.code, 2,
            "the bad configuration and rule exit 2: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("a message is one line"),
            "{}",
            run.stderr
        );
        let all = format!("{}\n{}", run.stdout, run.stderr);
        let forged: Vec<String> = commands(&all)
            .into_iter()
            .filter(|l| !is_own_annotation(l))
            .collect();
        assert!(
            forged.is_empty(),
            "{format}: lines a runner would obey: {forged:#?}"
        );
        // The findings in the oddly named files are still there, as annotations.
        let annotations = commands(&all)
            .into_iter()
            .filter(|l| is_own_annotation(l))
            .count();
        assert_eq!(annotations, 3, "{format}: {all}");
        if format == "text" {
            // the terminal view names the file, with its line break made inert
            assert!(
                run.stdout.contains("%3A%3Astop-commands::pwned"),
                "{}",
                run.stdout
            );
        } else {
            let value: serde_json::Value =
                serde_json::from_str(&run.stdout).expect("JSON stays JSON");
            let paths: Vec<&str> = value["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().unwrap())
                .collect();
            assert!(paths.contains(&"ok##[add-mask]x.go"), "{paths:?}");
            assert!(
                paths.contains(&"evil\n::stop-commands::pwned\n.go"),
                "{paths:?}"
            );
        }
    }
}

#[test]
fn outside_actions_the_output_is_left_as_it_is() {
    let dir = tree(&[]);
    write(dir.path(), "::odd.go", LEAK.as_bytes());
    let run = tollgate_env(dir.path(), &["scan"], &[]);
    assert!(run.stdout.contains("::odd.go:4"), "{}", run.stdout);
}
