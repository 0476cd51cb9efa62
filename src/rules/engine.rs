//! Evaluates compiled rules on one parsed file and yields raw matches.

use super::compile::{Constraint, Rule, SubQuery, Template, TemplatePart};
use std::collections::HashSet;
use tree_sitter::{Node, QueryCursor, StreamingIterator, Tree};

/// Upper bound on in-progress query states, so a pathological file cannot
/// make a query use unbounded memory.
const MATCH_LIMIT: u32 = 4096;
/// Longest capture text interpolated into a message.
const MAX_INTERPOLATED: usize = 80;

/// One match of a rule in a file, before it becomes a [`crate::finding::Finding`].
#[derive(Debug, Clone)]
pub struct RawMatch {
    pub start_byte: usize,
    pub end_byte: usize,
    pub start: tree_sitter::Point,
    pub end: tree_sitter::Point,
    pub message: String,
    /// Byte range replaced and its replacement.
    pub fix: Option<(usize, usize, tree_sitter::Point, tree_sitter::Point, String)>,
}

/// Runs `rule` over `tree` (parsed from `source`) and returns its matches in
/// source order, one per reported node.
pub fn run_rule(rule: &Rule, tree: &Tree, source: &[u8]) -> Vec<RawMatch> {
    let mut cursor = QueryCursor::new();
    cursor.set_match_limit(MATCH_LIMIT);
    // Collect first: constraint checks need a cursor of their own.
    let mut candidates: Vec<Vec<(u32, Node<'_>)>> = Vec::new();
    let mut matches = cursor.matches(&rule.query, tree.root_node(), source);
    while let Some(m) = matches.next() {
        candidates.push(m.captures().iter().map(|c| (c.index, c.node)).collect());
    }
    drop(matches);

    let mut sub_cursor = QueryCursor::new();
    sub_cursor.set_match_limit(MATCH_LIMIT);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for captures in candidates {
        let Some(reported) = reported_node(rule, &captures) else {
            continue;
        };
        if !seen.insert((reported.start_byte(), reported.end_byte())) {
            continue;
        }
        let holds = rule
            .constraints
            .iter()
            .all(|c| constraint_holds(c, reported, &captures, source, &mut sub_cursor));
        if !holds {
            seen.remove(&(reported.start_byte(), reported.end_byte()));
            continue;
        }
        let fix = rule.fix.as_ref().and_then(|fix| {
            let node = match fix.capture {
                Some(idx) => capture_node(&captures, idx)?,
                None => reported,
            };
            Some((
                node.start_byte(),
                node.end_byte(),
                node.start_position(),
                node.end_position(),
                render(&fix.replacement, &captures, source, usize::MAX),
            ))
        });
        out.push(RawMatch {
            start_byte: reported.start_byte(),
            end_byte: reported.end_byte(),
            start: reported.start_position(),
            end: reported.end_position(),
            message: render(&rule.message, &captures, source, MAX_INTERPOLATED),
            fix,
        });
    }
    out.sort_by_key(|m| (m.start_byte, m.end_byte));
    out
}

fn reported_node<'t>(rule: &Rule, captures: &[(u32, Node<'t>)]) -> Option<Node<'t>> {
    match rule.report {
        Some(idx) => capture_node(captures, idx),
        None => captures.iter().map(|(_, n)| *n).max_by_key(|n| {
            (
                n.end_byte() - n.start_byte(),
                std::cmp::Reverse(n.start_byte()),
            )
        }),
    }
}

fn capture_node<'t>(captures: &[(u32, Node<'t>)], idx: u32) -> Option<Node<'t>> {
    captures.iter().find(|(i, _)| *i == idx).map(|(_, n)| *n)
}

fn node_text<'s>(node: Node<'_>, source: &'s [u8]) -> &'s [u8] {
    &source[node.start_byte()..node.end_byte()]
}

fn constraint_holds(
    constraint: &Constraint,
    reported: Node<'_>,
    captures: &[(u32, Node<'_>)],
    source: &[u8],
    cursor: &mut QueryCursor,
) -> bool {
    match constraint {
        Constraint::Inside(kinds) => ancestors(reported).any(|a| kinds.contains(&a.kind_id())),
        Constraint::NotInside(kinds) => !ancestors(reported).any(|a| kinds.contains(&a.kind_id())),
        Constraint::OutsideTests => !in_test_code(reported, source),
        Constraint::Has(queries) => contains_any(reported, queries, captures, source, cursor),
        Constraint::NotHas(queries) => !contains_any(reported, queries, captures, source, cursor),
        Constraint::Scope {
            kinds,
            outermost,
            contains,
            not_contains,
        } => {
            let mut scopes = ancestors(reported).filter(|a| kinds.contains(&a.kind_id()));
            let scope = if *outermost {
                scopes.last()
            } else {
                scopes.next()
            };
            // No enclosing node of those kinds: the whole file is the scope.
            let scope = scope.unwrap_or_else(|| root_of(reported));
            (contains.is_empty() || contains_any(scope, contains, captures, source, cursor))
                && !contains_any(scope, not_contains, captures, source, cursor)
        }
    }
}

/// Returns true if and only if `node` lies in an item marked as test code:
/// a Rust item with `#[test]`, `#[cfg(test)]`, `#[tokio::test]` and the like,
/// or a Go `Test*`/`Benchmark*`/`Fuzz*`/`Example*` function.
fn in_test_code(node: Node<'_>, source: &[u8]) -> bool {
    ancestors(node).any(|a| match a.kind() {
        "function_item" | "mod_item" | "impl_item" => {
            let mut sibling = a.prev_named_sibling();
            while let Some(s) = sibling {
                match s.kind() {
                    "attribute_item" => {
                        if is_test_attribute(node_text(s, source)) {
                            return true;
                        }
                    }
                    "line_comment" | "block_comment" => {}
                    _ => break,
                }
                sibling = s.prev_named_sibling();
            }
            false
        }
        "function_declaration" => a
            .child_by_field_name("name")
            .map(|n| node_text(n, source))
            .is_some_and(|name| {
                [&b"Test"[..], b"Benchmark", b"Fuzz", b"Example"]
                    .iter()
                    .any(|p| name.starts_with(p))
            }),
        _ => false,
    })
}

fn is_test_attribute(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(text);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("not(test") {
        return false;
    }
    compact == "#[test]"
        || compact.ends_with("::test]")
        || compact.starts_with("#[cfg(test")
        || (compact.starts_with("#[cfg(") && compact.contains("(test,"))
        || (compact.starts_with("#[cfg(") && compact.contains(",test)"))
        || compact.starts_with("#[rstest")
        || compact.starts_with("#[quickcheck")
}

fn root_of(node: Node<'_>) -> Node<'_> {
    ancestors(node).last().unwrap_or(node)
}

fn ancestors<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    std::iter::successors(node.parent(), |n| n.parent())
}

/// Returns true if and only if some query matches inside `scope` with every
/// shared capture's text equal to the main match's.
fn contains_any(
    scope: Node<'_>,
    queries: &[SubQuery],
    captures: &[(u32, Node<'_>)],
    source: &[u8],
    cursor: &mut QueryCursor,
) -> bool {
    queries.iter().any(|sub| {
        let mut matches = cursor.matches(&sub.query, scope, source);
        while let Some(m) = matches.next() {
            let unified = sub.unify.iter().all(|(sub_idx, main_idx)| {
                let Some(main) = capture_node(captures, *main_idx) else {
                    return true;
                };
                m.captures()
                    .iter()
                    .filter(|c| c.index == *sub_idx)
                    .all(|c| node_text(c.node, source) == node_text(main, source))
            });
            if unified {
                return true;
            }
        }
        false
    })
}

/// Renders a template, each capture's text cut to `max` characters and
/// folded to one line.
fn render(template: &Template, captures: &[(u32, Node<'_>)], source: &[u8], max: usize) -> String {
    let mut out = String::new();
    for part in &template.parts {
        match part {
            TemplatePart::Text(t) => out.push_str(t),
            TemplatePart::Capture(idx) => {
                let Some(node) = capture_node(captures, *idx) else {
                    continue;
                };
                let text = String::from_utf8_lossy(node_text(node, source));
                if max == usize::MAX {
                    out.push_str(&text);
                } else {
                    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    if folded.chars().count() > max {
                        out.extend(folded.chars().take(max));
                        out.push('…');
                    } else {
                        out.push_str(&folded);
                    }
                }
            }
        }
    }
    out
}
