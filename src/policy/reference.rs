//! Image references parsed exactly as Docker's distribution `reference`
//! package does (`ParseNormalizedNamed`): the same grammar, the same
//! normalization of familiar names, and errors that say what is wrong.

use regex::Regex;
use serde::Serialize;
use std::sync::OnceLock;

pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// Longest repository path Docker accepts.
pub const PATH_MAX: usize = 255;
/// Longest reference parsed at all, in bytes: Docker's parts (a 255-byte
/// path, a 128-byte tag, a digest, a host) fit well within it.
pub const MAX_LENGTH: usize = 4096;

/// A parsed, normalized reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("the reference is empty")]
    Empty,
    #[error("the reference is {0} bytes: expected at most {MAX_LENGTH}")]
    TooLong(usize),
    #[error("repository name `{0}` must be lowercase")]
    Uppercase(String),
    #[error("`{0}` is a 64-character hexadecimal string, which Docker reads as an image id, not a repository name")]
    HexIdentifier(String),
    #[error("repository path must not be more than {PATH_MAX} characters (it has {0})")]
    PathTooLong(usize),
    #[error("invalid tag `{0}`: a tag is up to 128 characters of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`")]
    BadTag(String),
    #[error("invalid digest `{0}`: {1}")]
    BadDigest(String, String),
    #[error("invalid reference format: {0}")]
    Format(String),
}

struct Grammar {
    reference: Regex,
    name: Regex,
    tag: Regex,
    hex_identifier: Regex,
}

/// The regular expressions of distribution/reference's `regexp.go`.
fn grammar() -> &'static Grammar {
    static GRAMMAR: OnceLock<Grammar> = OnceLock::new();
    GRAMMAR.get_or_init(|| {
        let alnum = "[a-z0-9]+";
        let separator = "(?:[._]|__|[-]+)";
        let path_component = format!("{alnum}(?:{separator}{alnum})*");
        let remote = format!("{path_component}(?:/{path_component})*");
        let domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
        let domain_name = format!("{domain_component}(?:\\.{domain_component})*");
        let ipv6 = r"\[(?:[a-fA-F0-9:]+)\]";
        let host = format!("(?:{domain_name}|{ipv6})");
        let domain = format!("{host}(?::[0-9]+)?");
        let name = format!("(?:{domain}/)?{remote}");
        let tag = r"[\w][\w.-]{0,127}";
        let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
        let compile = |s: &str| Regex::new(s).expect("static grammar compiles");
        Grammar {
            reference: compile(&format!("^({name})(?::({tag}))?(?:@({digest}))?$")),
            name: compile(&format!("^(?:({domain})/)?({remote})$")),
            tag: compile(&format!("^{tag}$")),
            hex_identifier: compile("^[a-f0-9]{64}$"),
        }
    })
}

/// Splits a familiar name into domain and remainder as Docker does: the
/// first component is a registry only if it has a `.` or `:`, is
/// `localhost`, or has uppercase letters.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.find('/') {
        Some(i)
            if name[..i].contains(['.', ':'])
                || &name[..i] == "localhost"
                || name[..i].to_lowercase() != name[..i] =>
        {
            (name[..i].to_string(), name[i + 1..].to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Parses `input` like `reference.ParseNormalizedNamed`.
pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
    if input.is_empty() {
        return Err(ReferenceError::Empty);
    }
    if input.len() > MAX_LENGTH {
        return Err(ReferenceError::TooLong(input.len()));
    }
    let g = grammar();
    if g.hex_identifier.is_match(input) {
        return Err(ReferenceError::HexIdentifier(input.to_string()));
    }
    let (domain, remainder) = split_domain(input);
    let remote_name = remainder.split(':').next().unwrap_or(&remainder);
    let remote_name = remote_name.split('@').next().unwrap_or(remote_name);
    if remote_name.to_lowercase() != remote_name {
        return Err(ReferenceError::Uppercase(remote_name.to_string()));
    }
    let full = format!("{domain}/{remainder}");
    let Some(m) = g.reference.captures(&full) else {
        return Err(explain_mismatch(input, &remainder));
    };
    let name = m.get(1).map_or("", |x| x.as_str());
    let (domain, path) = match g.name.captures(name) {
        Some(n) => (
            n.get(1).map_or("", |x| x.as_str()).to_string(),
            n.get(2).map_or("", |x| x.as_str()).to_string(),
        ),
        None => (String::new(), name.to_string()),
    };
    if path.len() > PATH_MAX {
        return Err(ReferenceError::PathTooLong(path.len()));
    }
    let digest = match m.get(3) {
        Some(d) => Some(validate_digest(d.as_str())?),
        None => None,
    };
    Ok(Reference {
        domain,
        path,
        tag: m.get(2).map(|t| t.as_str().to_string()),
        digest,
    })
}

/// Says which part of a reference that does not match the grammar is wrong.
fn explain_mismatch(input: &str, remainder: &str) -> ReferenceError {
    // Split off `@digest` and `:tag` the way the grammar would.
    let (before_digest, digest) = match remainder.rsplit_once('@') {
        Some((b, d)) => (b, Some(d)),
        None => (remainder, None),
    };
    let (name, tag) = match before_digest.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, Some(t)),
        _ => (before_digest, None),
    };
    if let Some(tag) = tag {
        if !grammar().tag.is_match(tag) {
            return ReferenceError::BadTag(tag.to_string());
        }
    }
    if let Some(d) = digest {
        if let Err(e) = validate_digest(d) {
            return e;
        }
    }
    if name.is_empty() || name.ends_with('/') || input.starts_with('/') {
        return ReferenceError::Format(format!("`{input}` has an empty path component"));
    }
    ReferenceError::Format(format!(
        "`{input}`: a repository path is lowercase letters and digits, separated by `.`, `_`, `__` or dashes, in components separated by `/`"
    ))
}

/// Checks a digest like go-digest: a known algorithm and its exact length
/// of lowercase hex.
fn validate_digest(digest: &str) -> Result<String, ReferenceError> {
    let bad = |why: String| ReferenceError::BadDigest(digest.to_string(), why);
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| bad("expected `algorithm:hex`".into()))?;
    let length = match algorithm {
        "sha256" | "blake3" => 64,
        "sha384" => 96,
        "sha512" => 128,
        other => {
            return Err(bad(format!(
                "unsupported digest algorithm `{other}`: expected sha256, sha384, sha512 or blake3"
            )))
        }
    };
    if hex.len() != length {
        return Err(bad(format!(
            "{algorithm} needs {length} hex digits, found {}",
            hex.len()
        )));
    }
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad("the hex digits must be lowercase 0-9a-f".into()));
    }
    Ok(digest.to_string())
}

impl Reference {
    /// The full name with the tag and/or digest as given:
    /// `docker.io/library/ubuntu:22.04`.
    pub fn normalized(&self) -> String {
        format!("{}/{}{}", self.domain, self.path, self.suffix())
    }

    /// The short form Docker shows: `ubuntu:22.04`, `acme/app`, `ghcr.io/x/y`.
    pub fn familiar(&self) -> String {
        let name = if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                Some(short) if !short.contains('/') => short.to_string(),
                _ => self.path.clone(),
            }
        } else {
            format!("{}/{}", self.domain, self.path)
        };
        format!("{name}{}", self.suffix())
    }

    fn suffix(&self) -> String {
        let mut s = String::new();
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(digest);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn ok(input: &str) -> Reference {
        parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    #[test]
    fn familiar_names_are_normalized() {
        let r = ok("ubuntu");
        assert_eq!(
            (r.domain.as_str(), r.path.as_str(), &r.tag),
            ("docker.io", "library/ubuntu", &None)
        );
        assert_eq!(
            ok("ubuntu:22.04").normalized(),
            "docker.io/library/ubuntu:22.04"
        );
        assert_eq!(ok("ubuntu:22.04").familiar(), "ubuntu:22.04");
        assert_eq!(ok("acme/app").normalized(), "docker.io/acme/app");
        assert_eq!(ok("acme/app").familiar(), "acme/app");
        assert_eq!(
            ok("index.docker.io/library/redis").normalized(),
            "docker.io/library/redis"
        );
        assert_eq!(ok("docker.io/library/a/b").familiar(), "library/a/b");
    }

    #[test]
    fn domains_need_a_dot_a_port_or_localhost() {
        let r = ok("registry.example.com/team/app:v1");
        assert_eq!(
            (r.domain.as_str(), r.path.as_str()),
            ("registry.example.com", "team/app")
        );
        assert_eq!(ok("localhost/app").domain, "localhost");
        assert_eq!(ok("localhost:5000/app").domain, "localhost:5000");
        assert_eq!(ok("myhost:5000/a/b:t").domain, "myhost:5000");
        assert_eq!(ok("[::1]:5000/app").domain, "[::1]:5000");
        assert_eq!(ok("[2001:db8::1]/app").domain, "[2001:db8::1]");
        // no dot, no port, not localhost: a docker.io path
        assert_eq!(ok("myhost/app").normalized(), "docker.io/myhost/app");
        assert!(parse("-bad.example.com/app").is_err());
        assert!(parse("bad-.example.com/app").is_err());
    }

    #[test]
    fn paths_and_separators() {
        assert!(parse("a/b__c/d-e/f.g/h_i").is_ok());
        assert!(parse("a---b").is_ok());
        assert!(parse("a___b").is_err());
        assert!(parse("a..b").is_err());
        assert!(parse("a/").is_err());
        assert!(parse("/a").is_err());
        assert!(parse("a//b").is_err());
        assert!(parse("_a").is_err());
        assert_eq!(
            parse("Ubuntu"),
            Err(ReferenceError::Uppercase("library/Ubuntu".into()))
        );
        assert_eq!(
            parse("acme/App:v1"),
            Err(ReferenceError::Uppercase("acme/App".into()))
        );
        // an uppercase first component is read as a registry
        assert_eq!(
            ok("Registry.Example.com/app").domain,
            "Registry.Example.com"
        );
        let longest = format!("acme/{}", "a".repeat(250));
        assert_eq!(ok(&longest).path.len(), 255);
        let too_long = format!("acme/{}", "a".repeat(251));
        assert_eq!(parse(&too_long), Err(ReferenceError::PathTooLong(256)));
        assert!(matches!(parse(HEX), Err(ReferenceError::HexIdentifier(_))));
        assert_eq!(parse(""), Err(ReferenceError::Empty));
        let huge = format!("acme/app:{}", "a".repeat(MAX_LENGTH));
        assert_eq!(parse(&huge), Err(ReferenceError::TooLong(huge.len())));
    }

    #[test]
    fn tags() {
        assert_eq!(ok("a:V1.0_rc-1").tag.as_deref(), Some("V1.0_rc-1"));
        assert_eq!(
            ok(&format!("a:{}", "t".repeat(128))).tag.unwrap().len(),
            128
        );
        assert!(matches!(
            parse(&format!("a:{}", "t".repeat(129))),
            Err(ReferenceError::BadTag(_))
        ));
        assert!(matches!(parse("a:.v1"), Err(ReferenceError::BadTag(_))));
        assert!(matches!(parse("a:-v1"), Err(ReferenceError::BadTag(_))));
        assert!(matches!(
            parse("a:v1+build"),
            Err(ReferenceError::BadTag(_))
        ));
    }

    #[test]
    fn digests() {
        let r = ok(&format!("a@sha256:{HEX}"));
        assert_eq!(
            (r.tag, r.digest.as_deref()),
            (None, Some(format!("sha256:{HEX}").as_str()))
        );
        let r = ok(&format!("registry.example.com:443/a:v1@sha256:{HEX}"));
        assert_eq!(
            r.normalized(),
            format!("registry.example.com:443/a:v1@sha256:{HEX}")
        );
        assert!(parse(&format!("a@sha512:{HEX}{HEX}")).is_ok());
        let upper = HEX.to_uppercase();
        assert!(matches!(
            parse(&format!("a@sha256:{upper}")),
            Err(ReferenceError::BadDigest(..))
        ));
        assert!(matches!(
            parse(&format!("a@sha256:{}", &HEX[..63])),
            Err(ReferenceError::BadDigest(..))
        ));
        assert!(matches!(
            parse(&format!("a@md5:{HEX}")),
            Err(ReferenceError::BadDigest(..))
        ));
        assert!(parse("a@sha256:abc").is_err());
    }
}
