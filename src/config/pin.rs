//! Keys that decide where credentials are sent (forge API URLs, any `*url*`
//! key) or what they are used for (the whole `jira` and `notify` sections)
//! cannot be changed by the change under review: the base commit's value is
//! used, and tollgate says so.

use super::Config;
use serde_json::{Map, Value};

/// Replaces every credential destination of `head` that differs from `base`'s
/// with `base`'s (removing it when the base has none). Returns a note per
/// key, naming the key but never a value. `None` (no base known) changes nothing.
pub fn pin_credential_destinations(head: &mut Config, base: Option<&Config>) -> Vec<String> {
    let Some(base) = base else {
        return Vec::new();
    };
    let (Ok(mut head_value), Ok(base_value)) =
        (serde_json::to_value(&*head), serde_json::to_value(base))
    else {
        return Vec::new();
    };
    let mut pointers = Vec::new();
    destinations(&head_value, &mut Vec::new(), &mut pointers);
    destinations(&base_value, &mut Vec::new(), &mut pointers);
    pointers.sort();
    pointers.dedup();
    let mut notes = Vec::new();
    for path in pointers {
        let pointer = to_pointer(&path);
        let wanted = base_value.pointer(&pointer);
        if head_value.pointer(&pointer) == wanted {
            continue;
        }
        set(&mut head_value, &path, wanted.cloned());
        notes.push(format!(
            "`{}` is changed by this change: it decides {}, so the base commit's {} used",
            path.join("."),
            what_it_decides(&path),
            if wanted.is_some() {
                "value is"
            } else {
                "configuration (without it) is"
            }
        ));
    }
    if notes.is_empty() {
        return notes;
    }
    match serde_json::from_value(head_value) {
        Ok(pinned) => *head = pinned,
        Err(_) => {
            // Cannot happen for the keys pinned today; fail closed all the same.
            head.jira = base.jira.clone();
            head.gitlab = base.gitlab.clone();
            head.notify = base.notify.clone();
        }
    }
    notes
}

/// Whether the key at the end of `path` decides where credentials go or
/// what they do. Two top-level sections are taken whole: `notify` (its
/// webhooks come from the environment, but a change must neither silence a
/// channel nor flood it) and `jira` (a change must not choose which issues
/// its token moves, nor where to: `on.opened.status: Done`).
fn is_destination(path: &[String]) -> bool {
    let Some(key) = path.last() else {
        return false;
    };
    let key = key.to_ascii_lowercase();
    let section = path.len() == 1 && matches!(key.as_str(), "notify" | "jira");
    section || key.contains("url") || key.contains("webhook")
}

/// What a pinned key decides, for the note.
fn what_it_decides(path: &[String]) -> &'static str {
    match path {
        [section] if section == "jira" => {
            "which Jira issues move, to which status, and where the token is sent"
        }
        [section] if section == "notify" => "which channels hear of the run",
        _ => "where credentials are sent",
    }
}

/// A settings table of a service tollgate sends credentials to: one that is
/// not a table (`jira: https://…`) is a destination as a whole.
fn is_forge(key: &str) -> bool {
    matches!(key, "jira" | "gitlab")
}

/// The key paths of every destination in `value` (a destination's subtree is taken whole).
fn destinations(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(map) = value {
        for (key, item) in map {
            path.push(key.clone());
            if is_destination(path) || (is_forge(key) && !item.is_object()) {
                out.push(path.clone());
            } else {
                destinations(item, path, out);
            }
            path.pop();
        }
    }
}

fn to_pointer(path: &[String]) -> String {
    path.iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Sets (or removes, with None) the value at `path`, making objects on the way.
fn set(value: &mut Value, path: &[String], new: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = value;
    for key in parents {
        if !at.is_object() {
            if new.is_none() {
                return;
            }
            *at = Value::Object(Map::new());
        }
        let map = at.as_object_mut().expect("an object");
        at = map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !at.is_object() {
        if new.is_none() {
            return;
        }
        *at = Value::Object(Map::new());
    }
    let map = at.as_object_mut().expect("an object");
    match new {
        Some(new) => {
            map.insert(last.clone(), new);
        }
        None => {
            map.remove(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> Config {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_base_value_wins_for_urls_and_the_jira_and_notify_sections() {
        let base = config(json!({
            "jira": {"url": "https://jira.example.com", "projects": ["OPS"]},
            "notify": {"on": "failure", "slack": {"on": "change"}},
        }));
        let mut head = config(json!({
            "fail_on": "warning",
            "jira": {"url": "https://evil.example", "projects": ["DEV"], "key_pattern": "[A-Z]+-[0-9]+"},
            "notify": {"on": "never", "discord": {"on": "always"}},
        }));
        let notes = pin_credential_destinations(&mut head, Some(&base));
        let pinned = serde_json::to_value(&head).unwrap();
        assert_eq!(
            pinned,
            json!({
                "fail_on": "warning",
                "jira": {"url": "https://jira.example.com", "projects": ["OPS"]},
                "notify": {"on": "failure", "slack": {"on": "change"}},
            })
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes.iter().any(|n| n
            .starts_with("`jira` is changed by this change: it decides which Jira issues move")));
        assert!(notes.iter().any(|n| n.starts_with(
            "`notify` is changed by this change: it decides which channels hear of the run"
        )));
        // Any other `*url*` key keeps the old reason.
        assert_eq!(
            what_it_decides(&["gitlab".into(), "url".into()]),
            "where credentials are sent"
        );
        assert!(notes
            .iter()
            .all(|n| !n.contains("evil") && !n.contains("hooks.example")));
    }

    #[test]
    fn a_change_cannot_choose_the_status_its_issues_move_to() {
        let base = config(json!({"jira": {"url": "https://jira.example.com",
            "on": {"opened": {"status": "In Review"}}}}));
        let mut head = config(json!({"jira": {"url": "https://jira.example.com",
            "on": {"opened": {"status": "Done"}}}}));
        assert_eq!(pin_credential_destinations(&mut head, Some(&base)).len(), 1);
        assert_eq!(head.jira, base.jira);
        // Only the top-level section is taken whole: a `jira` key deeper down is not.
        assert!(!is_destination(&["rules".into(), "jira".into()]));
    }

    #[test]
    fn a_removed_or_added_jira_section_and_no_base_at_all() {
        let base = config(json!({"jira": {"url": "https://jira.example.com"}}));
        // Without `url`, JIRA_URL is not the change's to choose either: the base's stays.
        let mut head = config(json!({"jira": {"projects": ["SHOP"]}}));
        assert_eq!(pin_credential_destinations(&mut head, Some(&base)).len(), 1);
        assert_eq!(
            serde_json::to_value(&head).unwrap(),
            json!({"jira": {"url": "https://jira.example.com"}})
        );
        let mut added = config(json!({"jira": {"url": "https://evil.example"}}));
        let notes = pin_credential_destinations(&mut added, Some(&config(json!({}))));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(added.jira, None);
        let mut unchanged = config(json!({"jira": {"url": "https://jira.example.com"}}));
        assert!(pin_credential_destinations(&mut unchanged, Some(&base)).is_empty());
        assert!(pin_credential_destinations(&mut head, None).is_empty());
    }

    #[test]
    fn a_change_can_neither_silence_nor_start_notifications() {
        let base = config(json!({"notify": {"on": "failure"}}));
        let mut silenced = config(json!({"notify": {"on": "never"}}));
        let mut dropped = config(json!({}));
        for head in [&mut silenced, &mut dropped] {
            assert_eq!(pin_credential_destinations(head, Some(&base)).len(), 1);
            assert_eq!(head.notify, base.notify);
        }
        let mut added = config(json!({"notify": {"on": "always"}}));
        let notes = pin_credential_destinations(&mut added, Some(&config(json!({}))));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(added.notify, None);
    }
}
