use super::*;

/// An environment holding exactly `vars`.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A multibranch change build with `CHANGE_ID` and `CHANGE_URL`.
fn change(id: &str, url: &str) -> ChangeBuild {
    let vars = env(&[
        ("JENKINS_URL", "https://ci.example/"),
        ("CHANGE_ID", id),
        ("CHANGE_URL", url),
    ]);
    match read(&vars) {
        Ok(Build::Change(build)) => build,
        other => panic!("expected a change build, got {other:?}"),
    }
}

#[test]
fn github_com_pull_request() {
    let vars = env(&[
        ("JENKINS_URL", "https://ci.example/"),
        ("BUILD_URL", "https://ci.example/job/app/job/PR-7/3/"),
        ("CHANGE_ID", "7"),
        ("CHANGE_TARGET", "main"),
        ("CHANGE_BRANCH", "feature"),
        ("CHANGE_URL", "https://github.com/acme/app/pull/7"),
        ("GIT_COMMIT", "1111111111111111111111111111111111111111"),
    ]);
    let Ok(Build::Change(build)) = read(&vars) else {
        panic!("a change build");
    };
    assert_eq!(build.number, 7);
    assert_eq!(build.target_branch.as_deref(), Some("main"));
    assert_eq!(build.source_branch.as_deref(), Some("feature"));
    assert_eq!(
        build.build_url.as_deref(),
        Some("https://ci.example/job/app/job/PR-7/3/")
    );
    assert_eq!(
        build.checked_out_commit.as_deref(),
        Some("1111111111111111111111111111111111111111")
    );
    assert!(!build.from_fork());
    assert_eq!(
        build.location(None),
        Ok(Location {
            forge: Forge::GitHub,
            server_url: "https://github.com".into(),
            api_url: "https://api.github.com".into(),
            graphql_url: Some("https://api.github.com/graphql".into()),
            repository: "acme/app".into(),
            number: 7,
        })
    );
}

#[test]
fn github_enterprise_server_on_its_own_host() {
    let location = change("12", "https://git.corp.example:8443/Team/svc/pull/12/")
        .location(None)
        .unwrap();
    assert_eq!(location.forge, Forge::GitHub);
    assert_eq!(location.server_url, "https://git.corp.example:8443");
    assert_eq!(location.api_url, "https://git.corp.example:8443/api/v3");
    assert_eq!(
        location.graphql_url.as_deref(),
        Some("https://git.corp.example:8443/api/graphql")
    );
    assert_eq!(location.repository, "Team/svc");
}

#[test]
fn gitlab_com_merge_request_in_subgroups() {
    let location = change(
        "42",
        "https://gitlab.com/group/sub/deeper/project/-/merge_requests/42",
    )
    .location(None)
    .unwrap();
    assert_eq!(
        location,
        Location {
            forge: Forge::GitLab,
            server_url: "https://gitlab.com".into(),
            api_url: "https://gitlab.com/api/v4".into(),
            graphql_url: None,
            repository: "group/sub/deeper/project".into(),
            number: 42,
        }
    );
}

#[test]
fn self_managed_gitlab_with_a_path_prefix_named_by_gitlab_url() {
    let build = change(
        "5",
        "http://git.internal/gitlab/team/app/-/merge_requests/5",
    );
    for hint in [
        "http://git.internal/gitlab",
        "http://git.internal/gitlab/",
        "http://git.internal/gitlab/api/v4",
    ] {
        let location = build.location(Some(hint)).unwrap();
        assert_eq!(location.server_url, "http://git.internal/gitlab", "{hint}");
        assert_eq!(location.api_url, "http://git.internal/gitlab/api/v4");
        assert_eq!(location.repository, "team/app");
    }
    // The URL alone cannot tell a prefix from a top-level group.
    let location = build.location(None).unwrap();
    assert_eq!(location.api_url, "http://git.internal/api/v4");
    assert_eq!(location.repository, "gitlab/team/app");
    // A --gitlab-url of another server changes nothing.
    let other = build.location(Some("https://elsewhere/gitlab")).unwrap();
    assert_eq!(other, location);
}

#[test]
fn a_number_other_than_change_id_is_an_error_naming_both() {
    let err = change("8", "https://github.com/acme/app/pull/9")
        .location(None)
        .unwrap_err();
    assert!(err.contains("pull request 9"), "{err}");
    assert!(err.contains("CHANGE_ID is 8"), "{err}");
    let err = change("8", "https://gitlab.com/a/b/-/merge_requests/80")
        .location(None)
        .unwrap_err();
    assert!(err.contains("merge request 80"), "{err}");
}

#[test]
fn a_change_url_of_neither_shape_says_what_was_expected_and_the_flags() {
    for url in [
        "not a url",
        "ftp://github.com/acme/app/pull/1",
        "https://bitbucket.example/projects/P/repos/r/pull-requests/1",
        "https://github.com/acme/app/pull/1?tab=files",
        "https://github.com/acme/app/pull/x1",
        "https://github.com/acme/app/pull/0",
        "https://github.com//app/pull/1",
        "https://github.com/acme/app/issues/1",
        "https://gitlab.com/project/-/merge_requests/1",
        "https://gitlab.com/a/-/b/-/merge_requests/1",
        "https://git lab.com/a/b/-/merge_requests/1",
        "https://gitlab.com/a/b\n/-/merge_requests/1",
    ] {
        let err = change("1", url).location(None).unwrap_err();
        assert!(err.starts_with("CHANGE_URL "), "{url}: {err}");
        assert!(err.contains("https://HOST/OWNER/NAME/pull/N"), "{err}");
        assert!(err.contains("/-/merge_requests/N"), "{err}");
        assert!(err.contains("--forge"), "{err}");
        assert!(err.contains("--gitlab-url"), "{err}");
        assert!(err.contains("--repo"), "{err}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
}

#[test]
fn credentials_in_change_url_are_refused_and_never_shown() {
    let err = change("3", "https://bot:s3cr3t@github.com/acme/app/pull/3")
        .location(None)
        .unwrap_err();
    assert!(err.contains("credentials"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(!err.contains("bot"), "{err}");
}

#[test]
fn no_change_url_is_an_error_naming_the_flags() {
    let vars = env(&[("BUILD_URL", "https://ci/job/1/"), ("CHANGE_ID", "4")]);
    let Ok(Build::Change(build)) = read(&vars) else {
        panic!("a change build");
    };
    let err = build.location(None).unwrap_err();
    assert!(err.contains("CHANGE_URL"), "{err}");
    assert!(err.contains("--forge"), "{err}");
}

#[test]
fn a_branch_build_has_nothing_to_review_and_says_why() {
    let vars = env(&[
        ("JENKINS_URL", "https://ci.example/"),
        ("BRANCH_NAME", "main"),
        ("GIT_COMMIT", "2222222222222222222222222222222222222222"),
        ("CHANGE_ID", ""),
    ]);
    let Ok(Build::NoChange { reason }) = read(&vars) else {
        panic!("no change");
    };
    assert!(reason.contains("branch build"), "{reason}");
    assert!(
        reason.contains("not a pull/merge request build"),
        "{reason}"
    );
}

#[test]
fn outside_jenkins_nothing_is_read() {
    let vars = env(&[
        ("CHANGE_ID", "1"),
        ("CHANGE_URL", "https://github.com/a/b/pull/1"),
    ]);
    assert_eq!(read(&vars), Ok(Build::NotJenkins));
    assert_eq!(read(&env(&[("JENKINS_URL", "")])), Ok(Build::NotJenkins));
}

#[test]
fn the_fork_flag_marks_a_change_from_a_fork() {
    let vars = env(&[
        ("JENKINS_URL", "https://ci.example/"),
        ("CHANGE_ID", "6"),
        ("CHANGE_URL", "https://github.com/acme/app/pull/6"),
        ("CHANGE_FORK", "stranger"),
    ]);
    let Ok(Build::Change(build)) = read(&vars) else {
        panic!("a change build");
    };
    assert!(build.from_fork());
    assert_eq!(build.fork.as_deref(), Some("stranger"));
}

#[test]
fn a_change_id_that_is_not_a_number_is_an_error() {
    for id in ["abc", "-1", "0", "1.5", "99999999999999999999999"] {
        let vars = env(&[("JENKINS_URL", "https://ci/"), ("CHANGE_ID", id)]);
        let err = read(&vars).unwrap_err();
        assert!(err.contains("CHANGE_ID"), "{id}: {err}");
        assert!(err.contains("number"), "{id}: {err}");
    }
}
