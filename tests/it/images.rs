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
