//! Checks an image reference against one environment's policy. Each denial
//! gives one precise reason that names the rule and its configuration path.

use super::reference::{self, Reference};
use crate::config::{EnvironmentPolicy, ImagePolicy};
use semver::{Comparator, Op, Version, VersionReq};
use std::cmp::Ordering;

/// The verdict on one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub reason: Option<String>,
}

impl Verdict {
    fn allow() -> Verdict {
        Verdict {
            allowed: true,
            reason: None,
        }
    }

    fn deny(reason: String) -> Verdict {
        Verdict {
            allowed: false,
            reason: Some(reason),
        }
    }
}

/// Checks `input` against the policies of environment `env`: the first whose
/// `match` names the image applies; an image none names is allowed.
pub fn check(input: &str, env: &str, set: &EnvironmentPolicy) -> Verdict {
    let reference = match reference::parse(input) {
        Ok(r) => r,
        Err(e) => return Verdict::deny(format!("not a valid image reference: {e}")),
    };
    let Some(index) = set
        .policies()
        .iter()
        .position(|policy| applies(policy, &reference))
    else {
        return Verdict::allow();
    };
    let prefix = set.key(env, index);
    match first_violation(&reference, &prefix, &set.policies()[index]) {
        Some(reason) => Verdict::deny(reason),
        None => Verdict::allow(),
    }
}

/// Whether `policy`'s `match` names the image: its full repository name
/// (`docker.io/library/golang`) or its short one (`golang`).
fn applies(policy: &ImagePolicy, r: &Reference) -> bool {
    let Some(patterns) = &policy.matches else {
        return true;
    };
    let full = format!("{}/{}", r.domain, r.path);
    let short = Reference {
        tag: None,
        digest: None,
        ..r.clone()
    }
    .familiar();
    patterns.iter().any(|pattern| {
        crate::config::image_glob(pattern)
            .is_ok_and(|glob| glob.is_match(&full) || glob.is_match(&short))
    })
}

fn first_violation(r: &Reference, prefix: &str, p: &ImagePolicy) -> Option<String> {
    let key = |k: &str| format!("{prefix}.{k}");
    if let Some(registries) = &p.registries {
        if !registries.contains(&r.domain) {
            return Some(format!(
                "registry `{}` is not allowed by {} (allowed: {})",
                r.domain,
                key("registries"),
                registries.join(", ")
            ));
        }
    }
    if p.require_digest == Some(true) && r.digest.is_none() {
        return Some(format!(
            "no digest: {} requires `@sha256:…`",
            key("require_digest")
        ));
    }
    // The effective tag: the tag, else `latest` when there is no digest. A
    // digest-only reference skips the tag rules.
    let tag = match (&r.tag, &r.digest) {
        (Some(t), _) => t.clone(),
        (None, Some(_)) => return None,
        (None, None) => "latest".to_string(),
    };
    // A digest pins the image: `name:latest@sha256:…` cannot move (as
    // hadolint and Kyverno's disallow-latest judge it); `tags` still apply.
    if p.deny_latest == Some(true) && tag == "latest" && r.digest.is_none() {
        let what = if r.tag.is_none() {
            "no tag (Docker pulls `latest`)"
        } else {
            "tag `latest`"
        };
        return Some(format!("{what} is denied by {}", key("deny_latest")));
    }
    if let Some(patterns) = &p.tags {
        let matched = patterns
            .iter()
            .any(|re| regex::Regex::new(re).is_ok_and(|re| re.is_match(&tag)));
        if !matched {
            return Some(format!(
                "tag `{tag}` matches none of {} ({})",
                key("tags"),
                patterns.join(", ")
            ));
        }
    }
    if let Some(patterns) = &p.deny_tags {
        if let Some(hit) = patterns
            .iter()
            .find(|re| regex::Regex::new(re).is_ok_and(|re| re.is_match(&tag)))
        {
            return Some(format!(
                "tag `{tag}` matches `{hit}` in {}",
                key("deny_tags")
            ));
        }
    }
    if let Some(range) = &p.semver {
        let text = if p.build_metadata_underscore == Some(true) {
            tag.replace('_', "+")
        } else {
            tag.clone()
        };
        let text = text.strip_prefix('v').unwrap_or(&text);
        let Ok(version) = Version::parse(text) else {
            return Some(format!(
                "tag `{tag}` is not a SemVer version, which {} (`{range}`) requires",
                key("semver")
            ));
        };
        if !version.pre.is_empty() && p.allow_prerelease != Some(true) {
            return Some(format!(
                "tag `{tag}` is a pre-release, which {} does not allow",
                key("allow_prerelease")
            ));
        }
        let Ok(req) = VersionReq::parse(range) else {
            return Some(format!("{} `{range}` is not a valid range", key("semver")));
        };
        if !satisfies(&version, &req) {
            return Some(format!(
                "version {version} of tag `{tag}` is outside {} `{range}`",
                key("semver")
            ));
        }
    }
    None
}

/// SemVer 2.0.0 precedence, build metadata ignored.
pub fn precedence(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a.pre.cmp(&b.pre),
        })
}

/// Returns true if and only if `v` meets every comparator by plain
/// precedence (unlike Cargo's rules, a pre-release may satisfy any range).
fn satisfies(v: &Version, req: &VersionReq) -> bool {
    req.comparators.iter().all(|c| {
        let (low, high) = bounds(c);
        low.is_none_or(|(l, inclusive)| match precedence(v, &l) {
            Ordering::Greater => true,
            Ordering::Equal => inclusive,
            Ordering::Less => false,
        }) && high.is_none_or(|(h, inclusive)| match precedence(v, &h) {
            Ordering::Less => true,
            Ordering::Equal => inclusive,
            Ordering::Greater => false,
        })
    })
}

type Bound = Option<(Version, bool)>;

/// A comparator as a (lower, upper) interval; `bool` = inclusive.
fn bounds(c: &Comparator) -> (Bound, Bound) {
    let v = |major: u64, minor: u64, patch: u64| {
        let mut version = Version::new(major, minor, patch);
        if minor == c.minor.unwrap_or(0) && patch == c.patch.unwrap_or(0) && major == c.major {
            version.pre = c.pre.clone();
        }
        version
    };
    let exact = v(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
    // The first version past a partial comparator: `1.2` -> 1.3.0, `1` -> 2.0.0.
    let next = match (c.minor, c.patch) {
        (None, _) => Version::new(c.major + 1, 0, 0),
        (Some(minor), None) => Version::new(c.major, minor + 1, 0),
        (Some(minor), Some(patch)) => Version::new(c.major, minor, patch + 1),
    };
    match c.op {
        Op::Exact | Op::Wildcard => match (c.minor, c.patch) {
            (Some(_), Some(_)) => (Some((exact.clone(), true)), Some((exact, true))),
            _ => (Some((exact, true)), Some((next, false))),
        },
        Op::Greater => match (c.minor, c.patch) {
            (Some(_), Some(_)) => (Some((exact, false)), None),
            _ => (Some((next, true)), None),
        },
        Op::GreaterEq => (Some((exact, true)), None),
        Op::Less => (None, Some((exact, false))),
        Op::LessEq => match (c.minor, c.patch) {
            (Some(_), Some(_)) => (None, Some((exact, true))),
            _ => (None, Some((next, false))),
        },
        Op::Tilde => {
            let upper = match c.minor {
                Some(minor) => Version::new(c.major, minor + 1, 0),
                None => Version::new(c.major + 1, 0, 0),
            };
            (Some((exact, true)), Some((upper, false)))
        }
        Op::Caret => {
            let upper = match (c.major, c.minor, c.patch) {
                (0, Some(0), Some(patch)) => Version::new(0, 0, patch + 1),
                (0, Some(minor), _) => Version::new(0, minor + 1, 0),
                (major, _, _) => Version::new(major + 1, 0, 0),
            };
            (Some((exact, true)), Some((upper, false)))
        }
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> EnvironmentPolicy {
        crate::yaml::from_str(yaml).expect("policy parses")
    }

    fn reason(input: &str, p: &EnvironmentPolicy) -> Option<String> {
        check(input, "production", p).reason
    }

    #[test]
    fn a_policy_can_be_limited_to_the_teams_own_images() {
        let p = policy(
            "- match: ['registry.example.com/shop/*']\n  tags: ['^v\\d+\\.\\d+\\.\\d+$']\n- match: [golang, 'docker.io/library/alpine']\n  deny_latest: true\n",
        );
        assert_eq!(reason("registry.example.com/shop/cart:v1.2.3", &p), None);
        let r = reason("registry.example.com/shop/cart:1.2.3-snapshot", &p).unwrap();
        assert!(r.contains("images.environments.production[0].tags"), "{r}");
        // `*` stays within one segment; other images get the next policy, or none.
        assert_eq!(reason("registry.example.com/shop/team/cart:dev", &p), None);
        assert_eq!(reason("golang:1.22", &p), None);
        let r = reason("golang:latest", &p).unwrap();
        assert!(
            r.contains("images.environments.production[1].deny_latest"),
            "{r}"
        );
        assert!(
            reason("alpine", &p).is_some(),
            "the short name matches the full glob"
        );
        assert_eq!(reason("redis:latest", &p), None, "no policy names it");
        // One policy with `match` leaves the others unchecked too.
        let one = policy("match: ['ghcr.io/acme/**']\ndeny_latest: true\n");
        assert!(reason("ghcr.io/acme/a/b:latest", &one).is_some());
        assert_eq!(reason("ubuntu:latest", &one), None);
    }

    #[test]
    fn a_digest_pins_latest() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let p = policy("deny_latest: true\n");
        assert_eq!(reason(&format!("app:latest@{digest}"), &p), None);
        assert!(reason("app:latest", &p).is_some());
        // `tags` still look at the tag of a pinned reference.
        let tags = policy("tags: ['^v']\n");
        assert!(reason(&format!("app:latest@{digest}"), &tags).is_some());
    }

    #[test]
    fn semver_precedence_follows_the_spec() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        let versions: Vec<Version> = chain.iter().map(|v| Version::parse(v).unwrap()).collect();
        for pair in versions.windows(2) {
            assert_eq!(
                precedence(&pair[0], &pair[1]),
                Ordering::Less,
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
        let a = Version::parse("1.0.0+build.1").unwrap();
        let b = Version::parse("1.0.0+build.2").unwrap();
        assert_eq!(
            precedence(&a, &b),
            Ordering::Equal,
            "build metadata is ignored"
        );
    }

    #[test]
    fn registries_digest_and_latest() {
        let p = policy("registries: [registry.example.com, 'localhost:5000']\nrequire_digest: false\ndeny_latest: true\n");
        assert_eq!(reason("registry.example.com/app:v1", &p), None);
        assert_eq!(reason("localhost:5000/app:v1", &p), None);
        let r = reason("ghcr.io/app:v1", &p).unwrap();
        assert!(
            r.contains(
                "registry `ghcr.io` is not allowed by images.environments.production.registries"
            ),
            "{r}"
        );
        assert!(reason("app:v1", &p).unwrap().contains("`docker.io`"));
        let r = reason("registry.example.com/app", &p).unwrap();
        assert!(r.contains("no tag") && r.contains("deny_latest"), "{r}");
        let r = reason("registry.example.com/app:latest", &p).unwrap();
        assert!(
            r.contains("tag `latest` is denied by images.environments.production.deny_latest"),
            "{r}"
        );
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            reason(&format!("registry.example.com/app@{digest}"), &p),
            None,
            "digest only skips tag rules"
        );
        let p = policy("require_digest: true\n");
        assert!(reason("app:v1", &p).unwrap().contains("require_digest"));
        assert_eq!(reason(&format!("app:v1@{digest}"), &p), None);
    }

    #[test]
    fn tag_patterns() {
        let p = policy("tags: ['^v\\d+\\.\\d+\\.\\d+$']\ndeny_tags: ['-snapshot$']\n");
        assert_eq!(reason("app:v1.2.3", &p), None);
        let r = reason("app:1.2.3", &p).unwrap();
        assert!(
            r.contains("tag `1.2.3` matches none of images.environments.production.tags"),
            "{r}"
        );
        let p = policy("deny_tags: ['-snapshot$']\n");
        let r = reason("app:1.2-snapshot", &p).unwrap();
        assert!(
            r.contains("matches `-snapshot$` in images.environments.production.deny_tags"),
            "{r}"
        );
        // with neither tag nor digest the effective tag is `latest`
        let p = policy("tags: ['^v']\n");
        assert!(reason("app", &p).unwrap().contains("tag `latest`"));
    }

    #[test]
    fn semver_ranges() {
        let p = policy("semver: '>=1.0.0, <3.0.0'\n");
        assert_eq!(reason("app:v1.0.0", &p), None, "one leading v is accepted");
        assert_eq!(reason("app:2.9.9", &p), None);
        assert!(reason("app:3.0.0", &p)
            .unwrap()
            .contains("outside images.environments.production.semver"));
        assert!(reason("app:0.9.0", &p).is_some());
        assert!(reason("app:vv1.0.0", &p)
            .unwrap()
            .contains("not a SemVer version"));
        assert!(reason("app:latest", &p)
            .unwrap()
            .contains("not a SemVer version"));
        let r = reason("app:2.0.0-rc.1", &p).unwrap();
        assert!(
            r.contains("pre-release") && r.contains("allow_prerelease"),
            "{r}"
        );
        let p = policy("semver: '>=1.0.0, <3.0.0'\nallow_prerelease: true\n");
        assert_eq!(
            reason("app:2.0.0-rc.1", &p),
            None,
            "precedence: 1.0.0 < 2.0.0-rc.1 < 3.0.0"
        );
        assert!(reason("app:1.0.0-rc.1", &p).is_some(), "1.0.0-rc.1 < 1.0.0");
        assert!(
            reason("app:3.0.0-alpha", &p).is_none(),
            "3.0.0-alpha < 3.0.0"
        );
        // build metadata: ignored for ranges; `_` as `+` on request (Helm)
        assert_eq!(
            reason("app:2.0.0_build.5", &p).map(|r| r.contains("not a SemVer")),
            Some(true)
        );
        let p = policy("semver: '=2.0.0'\nbuild_metadata_underscore: true\n");
        assert_eq!(reason("app:2.0.0_build.5", &p), None);
        let p = policy("semver: '~1.2'\n");
        assert_eq!(reason("app:1.2.9", &p), None);
        assert!(reason("app:1.3.0", &p).is_some());
        let p = policy("semver: '^0.3.1'\n");
        assert_eq!(reason("app:0.3.5", &p), None);
        assert!(reason("app:0.4.0", &p).is_some());
    }

    #[test]
    fn invalid_references_are_denied_with_the_parse_error() {
        let r = reason("App:1", &EnvironmentPolicy::One(ImagePolicy::default())).unwrap();
        assert!(
            r.contains("not a valid image reference") && r.contains("lowercase"),
            "{r}"
        );
    }
}
