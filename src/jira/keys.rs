//! The issue keys a change names: in its branch name, its title and
//! description, and its commit messages, de-duplicated in order of first
//! appearance. All of these are hostile text from the change: they only ever
//! yield keys of the shape `PROJECT-123`, never anything else.

use super::JiraConfig;
use regex::Regex;

/// The default issue-key pattern: a Cloud project key (an upper-case letter
/// and 1–9 upper-case letters or digits), a dash and a number from 1.
pub const DEFAULT_PATTERN: &str = "[A-Z][A-Z0-9]{1,9}-[1-9][0-9]*";

/// Most keys one change may name: a description listing thousands of keys
/// would otherwise turn into thousands of requests to Jira.
pub const MAX_KEYS: usize = 25;

/// The longest key kept (Data Center allows project keys up to 255 characters).
const MAX_KEY_LEN: usize = 300;

/// Finds issue keys in text, as `jira.key_pattern` and `jira.projects` say.
#[derive(Debug, Clone)]
pub struct KeyMatcher {
    exact: Regex,
    /// The same pattern, case-insensitive: for branch names, and only with an allow-list.
    any_case: Option<Regex>,
    projects: Option<Vec<String>>,
}

/// Where a change names its issues.
#[derive(Debug, Clone, Default)]
pub struct Sources<'a> {
    pub branch: Option<&'a str>,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub commit_messages: &'a [String],
}

/// The keys found, and how many more were left out (over [`MAX_KEYS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub keys: Vec<String>,
    pub left_out: usize,
}

impl KeyMatcher {
    /// The matcher of `config`. An error is a `key_pattern` that is not a
    /// regular expression, said as the configuration's validation says it.
    pub fn new(config: &JiraConfig) -> Result<KeyMatcher, String> {
        let pattern = config.key_pattern.as_deref().unwrap_or(DEFAULT_PATTERN);
        let compile = |p: String| {
            Regex::new(&p).map_err(|e| {
                format!(
                    "jira.key_pattern: invalid regular expression `{pattern}`: {}",
                    e.to_string().lines().last().unwrap_or_default().trim()
                )
            })
        };
        let exact = compile(format!("(?:{pattern})"))?;
        let projects = config.projects.as_ref().map(|list| {
            list.iter()
                .map(|p| p.trim().to_ascii_uppercase())
                .collect::<Vec<_>>()
        });
        let any_case = match projects {
            Some(_) => Some(compile(format!("(?i:{pattern})"))?),
            None => None,
        };
        Ok(KeyMatcher {
            exact,
            any_case,
            projects,
        })
    }

    /// The keys in a title, description or commit message: case-sensitive.
    pub fn in_text(&self, text: &str) -> Vec<String> {
        self.matches(&self.exact, text, false)
    }

    /// The keys in a branch name: lower-case keys too (`feature/shop-12-cart`),
    /// but only of the allowed projects.
    pub fn in_branch(&self, branch: &str) -> Vec<String> {
        match &self.any_case {
            Some(any_case) => self.matches(any_case, branch, true),
            None => self.in_text(branch),
        }
    }

    /// Every key of `sources`, de-duplicated in order of first appearance.
    pub fn extract(&self, sources: &Sources<'_>) -> Found {
        let mut all = Vec::new();
        if let Some(branch) = sources.branch {
            all.extend(self.in_branch(branch));
        }
        for text in [sources.title, sources.description].into_iter().flatten() {
            all.extend(self.in_text(text));
        }
        for message in sources.commit_messages {
            all.extend(self.in_text(message));
        }
        let mut found = Found::default();
        for key in all {
            if found.keys.contains(&key) {
                continue;
            }
            if found.keys.len() == MAX_KEYS {
                found.left_out += 1;
            } else {
                found.keys.push(key);
            }
        }
        found
    }

    fn matches(&self, regex: &Regex, text: &str, upper: bool) -> Vec<String> {
        regex
            .find_iter(text)
            .filter(|m| on_boundaries(text, m.start(), m.end()))
            .map(|m| {
                if upper {
                    m.as_str().to_ascii_uppercase()
                } else {
                    m.as_str().to_string()
                }
            })
            .filter(|key| is_key_shaped(key) && self.allowed(key))
            .collect()
    }

    fn allowed(&self, key: &str) -> bool {
        let project = key.rsplit_once('-').map(|(p, _)| p).unwrap_or_default();
        self.projects
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == project))
    }
}

/// Whether the match stands alone: no letter or digit right before or after
/// it (`_`, `/`, `-` and spaces separate; `feature/SHOP-12_cart` names SHOP-12).
fn on_boundaries(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// `PROJECT-123`: a project key (an upper-case letter, then upper-case letters,
/// digits or `_`), a dash and a number. A `key_pattern` that matches more
/// (spaces, slashes, line breaks) never makes such text a key: keys go into
/// Jira's URLs and the log.
fn is_key_shaped(key: &str) -> bool {
    let Some((project, number)) = key.rsplit_once('-') else {
        return false;
    };
    key.len() <= MAX_KEY_LEN
        && project.starts_with(|c: char| c.is_ascii_uppercase())
        && project
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(projects: Option<&[&str]>, pattern: Option<&str>) -> KeyMatcher {
        KeyMatcher::new(&JiraConfig {
            projects: projects.map(|p| p.iter().map(|s| s.to_string()).collect()),
            key_pattern: pattern.map(str::to_string),
            ..Default::default()
        })
        .unwrap()
    }

    fn keys(m: &KeyMatcher, sources: Sources<'_>) -> Vec<String> {
        m.extract(&sources).keys
    }

    #[test]
    fn keys_from_every_source_in_order_of_first_appearance_without_duplicates() {
        let m = matcher(None, None);
        let commits = vec![
            "SHOP-12: fix the cart total\n\nRefs OPS-7 and SHOP-12.".to_string(),
            "Merge branch 'main' into feature/SHOP-12-cart".to_string(),
            "OPS-9 bump the base image".to_string(),
        ];
        let found = keys(
            &m,
            Sources {
                branch: Some("feature/SHOP-12-cart"),
                title: Some("[SHOP-12] Cart total ignores discounts (OPS-7)"),
                description: Some(
                    "Fixes **SHOP-14**.\n\n- see https://acme.atlassian.net/browse/SHOP-15\n- `SHOP-16`",
                ),
                commit_messages: &commits,
            },
        );
        assert_eq!(
            found,
            ["SHOP-12", "OPS-7", "SHOP-14", "SHOP-15", "SHOP-16", "OPS-9"]
        );
    }

    #[test]
    fn the_default_pattern_needs_word_boundaries_and_a_number_from_one() {
        let m = matcher(None, None);
        for (text, expected) in [
            ("PROJ-0 and PROJ-01", vec![]),
            ("ABCDEFGHIJK-1 is too long a project key", vec![]),
            ("ABCDEFGHIJ-1 is not", vec!["ABCDEFGHIJ-1"]),
            (
                "xSHOP-1 SHOP-2x SHOP-3_ (SHOP-4).",
                vec!["SHOP-3", "SHOP-4"],
            ),
            ("A-1 is one letter: no project", vec![]),
            ("shop-12 in a title stays lower-case", vec![]),
            ("ÄSHOP-5 éSHOP-6", vec![]),
        ] {
            assert_eq!(m.in_text(text), expected, "{text}");
        }
    }

    #[test]
    fn utf_8_sha_256_and_iso_8601_are_keys_only_without_an_allow_list() {
        let text = "Decode as UTF-8, hash with SHA-256, dates in ISO-8601; fixes SHOP-3, DEV-4";
        assert_eq!(
            matcher(None, None).in_text(text),
            ["UTF-8", "SHA-256", "ISO-8601", "SHOP-3", "DEV-4"]
        );
        let allowed = matcher(Some(&["SHOP", "ops"]), None);
        assert_eq!(allowed.in_text(text), ["SHOP-3"]);
        assert_eq!(allowed.in_text("OPS-2 too"), ["OPS-2"]);
    }

    #[test]
    fn lower_case_keys_count_only_in_branch_names_and_only_for_allowed_projects() {
        let allowed = matcher(Some(&["SHOP", "OPS"]), None);
        assert_eq!(allowed.in_branch("feature/shop-12-cart"), ["SHOP-12"]);
        assert_eq!(allowed.in_branch("fix/Ops-3_and_dev-4"), ["OPS-3"]);
        assert_eq!(allowed.in_branch("utf-8-everywhere"), Vec::<String>::new());
        assert_eq!(allowed.in_text("fixes shop-12"), Vec::<String>::new());
        // Without an allow-list a lower-case word-number pair is no key.
        let any = matcher(None, None);
        assert_eq!(any.in_branch("feature/shop-12-cart"), Vec::<String>::new());
        assert_eq!(any.in_branch("feature/SHOP-12-cart"), ["SHOP-12"]);
    }

    #[test]
    fn duplicates_across_sources_and_case_count_once() {
        let m = matcher(Some(&["SHOP"]), None);
        let commits = vec!["SHOP-1".to_string(), "SHOP-2 SHOP-1".to_string()];
        let found = keys(
            &m,
            Sources {
                branch: Some("shop-2-x"),
                title: Some("SHOP-1 SHOP-2"),
                description: None,
                commit_messages: &commits,
            },
        );
        assert_eq!(found, ["SHOP-2", "SHOP-1"]);
    }

    #[test]
    fn key_pattern_replaces_the_default_but_never_yields_other_shapes() {
        // Data Center allows `_` and longer project keys.
        let m = matcher(None, Some(r"[A-Z][A-Z0-9_]+-\d+"));
        assert_eq!(
            m.in_text("MY_TEAM-4 and LONGPROJECTKEY-5"),
            ["MY_TEAM-4", "LONGPROJECTKEY-5"]
        );
        // A pattern that matches anything still only gives key-shaped text.
        let loose = matcher(None, Some(r"[^ ]+"));
        assert_eq!(
            loose.in_text("SHOP-1 ../../admin x\ny SHOP-2"),
            ["SHOP-1", "SHOP-2"]
        );
        let bad = KeyMatcher::new(&JiraConfig {
            key_pattern: Some("[A-Z".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(bad.starts_with("jira.key_pattern: invalid regular expression `[A-Z`"));
    }

    #[test]
    fn a_change_naming_too_many_keys_is_cut_and_counted() {
        let m = matcher(None, None);
        let description: String = (1..=40).map(|n| format!("SHOP-{n} ")).collect();
        let found = m.extract(&Sources {
            description: Some(&description),
            ..Default::default()
        });
        assert_eq!(found.keys.len(), MAX_KEYS);
        assert_eq!(found.left_out, 40 - MAX_KEYS);
    }
}
