//! Evaluates compiled rules on one parsed file and yields raw matches.

use super::compile::{Constraint, Rule, SubQuery, Template, TemplatePart};
use super::prefilter::Literal;
use std::collections::{HashMap, HashSet};
use tree_sitter::{Node, QueryCursor, StreamingIterator, Tree};

/// Upper bound on in-progress query states, so a pathological file cannot
/// make a query use unbounded memory.
const MATCH_LIMIT: u32 = 4096;
/// Above this many literal places a rule's query runs over the whole tree.
const MAX_ANCHORS: usize = 256;
/// Literal places closer than this many bytes share one query run.
const ANCHOR_MERGE_GAP: usize = 512;
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

/// (scope node id, sub-query address, the main match's unified texts)
type ScopeKey = (usize, usize, Vec<u8>);
/// The texts of a sub-query match's unified captures, by capture index.
type UnifiedTexts<'t> = Vec<(u32, &'t [u8])>;

/// What the engine knows about one parsed file, shared by all its rules:
/// parent links and sub-query results are computed once, on first use, so
/// that a file with many matches in one huge scope stays linear.
pub struct FileContext<'t> {
    tree: &'t Tree,
    source: &'t [u8],
    parents: Option<HashMap<usize, Node<'t>>>,
    /// (scope node id, sub-query address) -> unified capture texts of each match
    scope_matches: HashMap<ScopeKey, Vec<UnifiedTexts<'t>>>,
    cursor: QueryCursor,
    main_cursor: QueryCursor,
    /// parent node id -> ids of its children marked as test code
    test_items: HashMap<usize, HashSet<usize>>,
}

impl<'t> FileContext<'t> {
    pub fn new(tree: &'t Tree, source: &'t [u8]) -> Self {
        let mut cursor = QueryCursor::new();
        cursor.set_match_limit(MATCH_LIMIT);
        let mut main_cursor = QueryCursor::new();
        main_cursor.set_match_limit(MATCH_LIMIT);
        FileContext {
            tree,
            source,
            parents: None,
            scope_matches: HashMap::new(),
            cursor,
            main_cursor,
            test_items: HashMap::new(),
        }
    }

    /// Ancestors of `node`, innermost first. `Node::parent` searches down from
    /// the root through every sibling, which is quadratic on wide trees, so
    /// the parent links of the whole tree are recorded once instead.
    fn ancestors(&mut self, node: Node<'t>) -> Vec<Node<'t>> {
        let parents = self.parents.get_or_insert_with(|| parent_links(self.tree));
        let mut out = Vec::new();
        let mut current = node;
        while let Some(parent) = parents.get(&current.id()) {
            out.push(*parent);
            current = *parent;
        }
        out
    }

    fn test_items(&mut self, parent: Node<'t>) -> &HashSet<usize> {
        let source = self.source;
        self.test_items
            .entry(parent.id())
            .or_insert_with(|| test_items_of(parent, source))
    }

    fn text(&self, node: Node<'_>) -> &'t [u8] {
        &self.source[node.start_byte()..node.end_byte()]
    }

    /// Returns true if and only if some query matches inside `scope` with every
    /// shared capture's text equal to the main match's.
    fn contains_any(
        &mut self,
        scope: Node<'t>,
        queries: &[SubQuery],
        captures: &[(u32, Node<'t>)],
    ) -> bool {
        queries.iter().any(|sub| {
            let wanted: Vec<(u32, Option<&'t [u8]>)> = sub
                .unify
                .iter()
                .map(|(sub_idx, main_idx)| {
                    (
                        *sub_idx,
                        capture_node(captures, *main_idx).map(|n| self.text(n)),
                    )
                })
                .collect();
            let key = (
                scope.id(),
                sub as *const SubQuery as usize,
                wanted
                    .iter()
                    .map(|(_, t)| t.unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(&0u8),
            );
            if !self.scope_matches.contains_key(&key) {
                let found = self.sub_matches(scope, sub, &wanted);
                self.scope_matches.insert(key.clone(), found);
            }
            self.scope_matches[&key].iter().any(|texts| {
                wanted.iter().all(|(sub_idx, main_text)| {
                    let Some(main_text) = main_text else {
                        return true;
                    };
                    texts
                        .iter()
                        .filter(|(i, _)| i == sub_idx)
                        .all(|(_, t)| t == main_text)
                })
            })
        })
    }

    /// All matches of `sub` in `scope`, as the texts of their unified captures.
    /// The query runs only around the rarest literal its matches must contain:
    /// its own, or the main match's text of a unified capture.
    fn sub_matches(
        &mut self,
        scope: Node<'t>,
        sub: &SubQuery,
        wanted: &[(u32, Option<&[u8]>)],
    ) -> Vec<Vec<(u32, &'t [u8])>> {
        let source = self.source;
        let base = scope.start_byte();
        let slice = &source[base..scope.end_byte()];
        let mut best = sub.prefilter.anchors(slice);
        let dynamic = if sub.anchorable { wanted } else { &[] };
        if !sub.anchorable {
            best = None;
        }
        for ((_, text), token) in dynamic.iter().zip(&sub.unify_tokens) {
            let Some(text) = text.and_then(|t| std::str::from_utf8(t).ok()) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            let places = Literal::new(text, *token).occurrences(slice);
            if best.as_ref().is_none_or(|b| places.len() < b.len()) {
                best = Some(places);
            }
        }
        let ranges = merge_ranges(best, slice.len())
            .into_iter()
            .map(|r| r.start + base..r.end + base);
        let mut out = Vec::new();
        for range in ranges {
            self.cursor.set_byte_range(range);
            let mut matches = self.cursor.matches(&sub.query, scope, source);
            while let Some(m) = matches.next() {
                out.push(
                    m.captures()
                        .iter()
                        .filter(|c| sub.unify.iter().any(|(i, _)| *i == c.index))
                        .map(|c| (c.index, &source[c.node.start_byte()..c.node.end_byte()]))
                        .collect(),
                );
            }
        }
        out
    }
}

fn parent_links(tree: &Tree) -> HashMap<usize, Node<'_>> {
    let mut parents = HashMap::new();
    let mut cursor = tree.walk();
    let mut stack: Vec<Node<'_>> = Vec::new();
    loop {
        let node = cursor.node();
        if let Some(parent) = stack.last() {
            parents.insert(node.id(), *parent);
        }
        if cursor.goto_first_child() {
            stack.push(node);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return parents;
            }
            stack.pop();
        }
    }
}

/// Runs `rule` over the file and returns its matches in source order, one
/// per reported node.
pub fn run_rule<'t>(rule: &Rule, file: &mut FileContext<'t>) -> Vec<RawMatch> {
    let source = file.source;
    // Collect first: constraint checks need the file context.
    let mut candidates: Vec<Vec<(u32, Node<'t>)>> = Vec::new();
    for range in query_ranges(rule, source) {
        file.main_cursor.set_byte_range(range);
        let mut matches = file
            .main_cursor
            .matches(&rule.query, file.tree.root_node(), source);
        while let Some(m) = matches.next() {
            candidates.push(m.captures().iter().map(|c| (c.index, c.node)).collect());
        }
    }

    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for captures in candidates {
        let Some(reported) = reported_node(rule, &captures) else {
            continue;
        };
        let span = (reported.start_byte(), reported.end_byte());
        if seen.contains(&span) {
            continue;
        }
        let holds = rule
            .constraints
            .iter()
            .all(|c| constraint_holds(c, reported, &captures, file));
        if !holds {
            continue;
        }
        seen.insert(span);
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

/// The byte ranges to run a rule's query in: around the places of its
/// rarest required literal (every match overlaps one), else the whole file.
fn query_ranges(rule: &Rule, source: &[u8]) -> Vec<std::ops::Range<usize>> {
    let anchors = rule
        .anchorable
        .then(|| rule.prefilter.anchors(source))
        .flatten();
    merge_ranges(anchors, source.len())
}

/// Turns literal places into the ranges a query runs in: nearby places share
/// a range; too many places, or none known, mean the whole of `len` bytes.
fn merge_ranges(anchors: Option<Vec<(usize, usize)>>, len: usize) -> Vec<std::ops::Range<usize>> {
    let Some(anchors) = anchors.filter(|a| a.len() <= MAX_ANCHORS) else {
        return std::iter::once(0..len).collect();
    };
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for (start, end) in anchors {
        match ranges.last_mut() {
            Some(last) if start <= last.end + ANCHOR_MERGE_GAP => last.end = last.end.max(end),
            _ => ranges.push(start..end),
        }
    }
    ranges
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

fn constraint_holds<'t>(
    constraint: &Constraint,
    reported: Node<'t>,
    captures: &[(u32, Node<'t>)],
    file: &mut FileContext<'t>,
) -> bool {
    match constraint {
        Constraint::Inside(kinds) => file
            .ancestors(reported)
            .iter()
            .any(|a| kinds.contains(&a.kind_id())),
        Constraint::NotInside(kinds) => !file
            .ancestors(reported)
            .iter()
            .any(|a| kinds.contains(&a.kind_id())),
        Constraint::OutsideTests => {
            let ancestors = file.ancestors(reported);
            !in_test_code(&ancestors, file)
        }
        Constraint::Has(queries) => file.contains_any(reported, queries, captures),
        Constraint::NotHas(queries) => !file.contains_any(reported, queries, captures),
        Constraint::Scope {
            kinds,
            outermost,
            contains,
            not_contains,
        } => {
            let ancestors = file.ancestors(reported);
            let mut scopes = ancestors.iter().filter(|a| kinds.contains(&a.kind_id()));
            let scope = if *outermost {
                scopes.next_back()
            } else {
                scopes.next()
            };
            // No enclosing node of those kinds: the whole file is the scope.
            let scope = scope.copied().unwrap_or_else(|| file.tree.root_node());
            (contains.is_empty() || file.contains_any(scope, contains, captures))
                && !file.contains_any(scope, not_contains, captures)
        }
    }
}

/// Returns true if and only if one of `ancestors` is an item marked as test
/// code: a Rust item with `#[test]`, `#[cfg(test)]`, `#[tokio::test]` and the
/// like, or a Go `Test*`/`Benchmark*`/`Fuzz*`/`Example*` function.
fn in_test_code<'t>(ancestors: &[Node<'t>], file: &mut FileContext<'t>) -> bool {
    ancestors.iter().enumerate().any(|(i, a)| match a.kind() {
        "function_item" | "mod_item" | "impl_item" => ancestors
            .get(i + 1)
            .is_some_and(|parent| file.test_items(*parent).contains(&a.id())),
        "function_declaration" => a
            .child_by_field_name("name")
            .map(|n| file.text(n))
            .is_some_and(|name| {
                [&b"Test"[..], b"Benchmark", b"Fuzz", b"Example"]
                    .iter()
                    .any(|p| name.starts_with(p))
            }),
        _ => false,
    })
}

/// The ids of the children of `parent` that carry a test attribute, found in
/// one pass over the children: the attributes of an item are the siblings
/// right before it.
fn test_items_of(parent: Node<'_>, source: &[u8]) -> HashSet<usize> {
    let mut marked = HashSet::new();
    let mut is_test = false;
    let mut cursor = parent.walk();
    for child in parent.named_children(&mut cursor) {
        match child.kind() {
            "attribute_item" => is_test |= is_test_attribute(node_text(child, source)),
            "line_comment" | "block_comment" => {}
            _ => {
                if is_test {
                    marked.insert(child.id());
                }
                is_test = false;
            }
        }
    }
    marked
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
