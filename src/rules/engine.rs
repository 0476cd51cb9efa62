//! Evaluates compiled rules on one parsed file and yields raw matches.

use super::ancestry::Ancestry;
use super::compile::{Compiled, Constraint, Rule, SubQueries, SubQuery, Template, TemplatePart};
use super::prefilter::Literal;
use super::spans::Spans;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::time::Instant;
use tree_sitter::{
    Node, Query, QueryCapture, QueryCursor, QueryCursorOptions, QueryCursorState,
    StreamingIterator, Tree,
};

/// Upper bound on in-progress query states, so a pathological file cannot
/// make a query use unbounded memory.
const MATCH_LIMIT: u32 = 4096;
/// Above this many literal places a rule's query runs over the whole tree.
/// Runs around places stay cheaper than one whole walk well past a few
/// hundred places (`unsafe` in the SIMD intrinsics files of the Rust corpus).
const MAX_ANCHORS: usize = 4096;
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

/// (scope node id, sub-query address)
type ScopeKey = (usize, usize);

/// Why the rules could not finish on a file: it then counts as not scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfinished {
    /// The file's deadline passed.
    Deadline,
    /// A query had more matches in progress than [`MATCH_LIMIT`].
    MatchLimit,
    /// A sub-query compiled on first use does not compile: the compiler's words.
    Uncompiled(String),
}

/// What one unified capture of a sub-query match holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot<'t> {
    /// The match has no such capture: any main text is accepted.
    Absent,
    /// Every capture of that index has this text.
    Text(&'t [u8]),
    /// Captures of that index with different texts: no main text equals them all.
    Mixed,
}

/// The matches of one sub-query in one scope, indexed by their unified
/// capture texts, so that each main match is checked with a few hash
/// lookups instead of a run of the sub-query.
struct ScopeIndex<'t> {
    /// One row of slots (one per `unify` entry) per distinct match.
    rows: HashSet<Vec<Slot<'t>>>,
    /// Rows projected onto the entries whose main text is known, by the
    /// bit mask of those entries (built on first use of a mask).
    projections: HashMap<u64, HashSet<Vec<Slot<'t>>>>,
}

/// Above this many unified captures a lookup scans the rows instead of
/// trying every combination of absent and equal slots.
const MAX_INDEXED_UNIFY: usize = 8;
/// Main texts looked up in one scope by runs of the sub-query around their
/// places, before the sub-query runs once over the whole scope and is
/// indexed: cheap for a few texts, linear for many.
const ANCHORED_LOOKUPS: usize = 8;

/// What is known of one sub-query in one scope.
enum ScopeEntry<'t> {
    /// Answers for the main texts looked up so far, each from a run around
    /// the places of that text.
    Anchored(HashMap<Vec<Option<&'t [u8]>>, bool>),
    /// Every match of the scope, indexed by text.
    Indexed(ScopeIndex<'t>),
}

impl<'t> ScopeIndex<'t> {
    fn new(rows: HashSet<Vec<Slot<'t>>>) -> Self {
        ScopeIndex {
            rows,
            projections: HashMap::new(),
        }
    }

    /// Returns true if and only if some match agrees with `wanted`: for each
    /// entry with a main text, the match's slot is absent or that text.
    fn any_agrees(&mut self, wanted: &[Option<&[u8]>]) -> bool {
        if self.rows.is_empty() {
            return false;
        }
        let known = known_entries(wanted);
        if known.len() > MAX_INDEXED_UNIFY {
            return self.rows.iter().any(|row| agrees(row, wanted));
        }
        let mask = known.iter().fold(0u64, |m, &k| m | (1 << k));
        let rows = &self.rows;
        let projected = self.projections.entry(mask).or_insert_with(|| {
            rows.iter()
                .map(|row| known.iter().map(|&k| row[k]).collect())
                .collect()
        });
        let found = agreeing_keys(&known, wanted).any(|key| projected.contains(&key));
        found
    }
}

/// The unify entries whose main text is known.
fn known_entries(wanted: &[Option<&[u8]>]) -> Vec<usize> {
    (0..wanted.len()).filter(|&k| wanted[k].is_some()).collect()
}

/// Whether a match's row agrees with `wanted`: for each entry with a main
/// text, the match's slot is absent or that text.
fn agrees(row: &[Slot<'_>], wanted: &[Option<&[u8]>]) -> bool {
    row.iter()
        .zip(wanted)
        .all(|(slot, want)| match (slot, want) {
            (_, None) | (Slot::Absent, _) => true,
            (Slot::Text(t), Some(w)) => t == w,
            (Slot::Mixed, Some(_)) => false,
        })
}

/// The projected keys a match agreeing with `wanted` can have over the
/// `known` entries: every combination of "absent" and "equal".
fn agreeing_keys<'a, 'w>(
    known: &'a [usize],
    wanted: &'a [Option<&'w [u8]>],
) -> impl Iterator<Item = Vec<Slot<'w>>> + 'a {
    (0u64..1 << known.len()).map(move |absent| {
        known
            .iter()
            .enumerate()
            .map(|(bit, &k)| match (absent >> bit & 1 == 1, wanted[k]) {
                (false, Some(text)) => Slot::Text(text),
                _ => Slot::Absent,
            })
            .collect()
    })
}

/// The matches of one sub-query in one scope with their spans, for scopes
/// bounded by `after`/`before`: grouped by the texts of the unified
/// captures the main match knows (built on first use of each set of them).
struct WindowIndex<'t> {
    rows: Vec<(Vec<Slot<'t>>, usize, usize)>,
    projections: HashMap<u64, HashMap<Vec<Slot<'t>>, Spans>>,
}

impl<'t> WindowIndex<'t> {
    fn new(rows: Vec<(Vec<Slot<'t>>, usize, usize)>) -> Self {
        WindowIndex {
            rows,
            projections: HashMap::new(),
        }
    }

    /// Returns true if and only if some match agrees with `wanted` (as in
    /// [`ScopeIndex::any_agrees`]) and lies wholly inside `window`.
    fn any_within(&mut self, wanted: &[Option<&[u8]>], window: &std::ops::Range<usize>) -> bool {
        let known = known_entries(wanted);
        if known.len() > MAX_INDEXED_UNIFY {
            return self.rows.iter().any(|(row, start, end)| {
                window.start <= *start && *end <= window.end && agrees(row, wanted)
            });
        }
        let mask = known.iter().fold(0u64, |m, &k| m | (1 << k));
        let rows = &self.rows;
        let projected = self.projections.entry(mask).or_insert_with(|| {
            let mut groups: HashMap<Vec<Slot<'t>>, Vec<(usize, usize)>> = HashMap::new();
            for (row, start, end) in rows {
                let key = known.iter().map(|&k| row[k]).collect();
                groups.entry(key).or_default().push((*start, *end));
            }
            groups
                .into_iter()
                .map(|(k, v)| (k, Spans::new(v)))
                .collect()
        });
        let found = agreeing_keys(&known, wanted).any(|key| {
            projected
                .get(&key)
                .is_some_and(|spans| spans.any_within(window))
        });
        found
    }
}

/// What the engine knows about one parsed file, shared by all its rules:
/// sub-query indexes are computed once, on first use, so
/// that a file with many matches in one huge scope stays linear. Every query
/// run and constraint check stops at the file's deadline.
pub struct FileContext<'t> {
    tree: &'t Tree,
    source: &'t [u8],
    deadline: Instant,
    ancestry: Ancestry<'t>,
    scope_index: HashMap<ScopeKey, ScopeEntry<'t>>,
    cursor: QueryCursor,
    main_cursor: QueryCursor,
    /// parent node id -> ids of its children marked as test code
    test_items: HashMap<usize, HashSet<usize>>,
    /// Sub-query matches with their spans, for `after`/`before` scopes.
    window_index: HashMap<ScopeKey, WindowIndex<'t>>,
}

impl<'t> FileContext<'t> {
    pub fn new(tree: &'t Tree, source: &'t [u8], deadline: Instant) -> Self {
        let mut cursor = QueryCursor::new();
        cursor.set_match_limit(MATCH_LIMIT);
        let mut main_cursor = QueryCursor::new();
        main_cursor.set_match_limit(MATCH_LIMIT);
        FileContext {
            tree,
            source,
            deadline,
            ancestry: Ancestry::new(tree, deadline),
            scope_index: HashMap::new(),
            cursor,
            main_cursor,
            test_items: HashMap::new(),
            window_index: HashMap::new(),
        }
    }

    /// Fails once the file's deadline has passed.
    pub fn check_deadline(&self) -> Result<(), Unfinished> {
        if Instant::now() > self.deadline {
            Err(Unfinished::Deadline)
        } else {
            Ok(())
        }
    }

    /// Ancestors of `node`, innermost first.
    fn ancestors(&mut self, node: Node<'t>) -> Result<Vec<Node<'t>>, Unfinished> {
        self.ancestry.ancestors(node)
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
    /// shared capture's text equal to the main match's. The first few texts
    /// of a scope are answered by runs around their places; after that the
    /// sub-query runs once over the scope and later texts are hash lookups,
    /// so many matches in one huge scope stay linear.
    fn contains_any(
        &mut self,
        scope: Node<'t>,
        queries: &SubQueries,
        captures: &[(u32, Node<'t>)],
    ) -> Result<bool, Unfinished> {
        for i in 0..queries.len() {
            let sub = sub_query(queries, i)?;
            let wanted = self.wanted(sub, captures);
            if self.sub_contains(scope, sub, wanted)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The main match's texts of `sub`'s unified captures, in `unify` order.
    fn wanted(&self, sub: &SubQuery, captures: &[(u32, Node<'t>)]) -> Vec<Option<&'t [u8]>> {
        sub.unify
            .iter()
            .map(|(_, main_idx)| capture_node(captures, *main_idx).map(|n| self.text(n)))
            .collect()
    }

    /// Like [`Self::contains_any`], counting only matches whose captures all
    /// lie inside `window` (byte offsets). Each sub-query runs once per
    /// scope; its matches are indexed by text and span, so that each main
    /// match is a few lookups and binary searches.
    fn contains_in(
        &mut self,
        scope: Node<'t>,
        window: std::ops::Range<usize>,
        queries: &SubQueries,
        captures: &[(u32, Node<'t>)],
    ) -> Result<bool, Unfinished> {
        for i in 0..queries.len() {
            let sub = sub_query(queries, i)?;
            let wanted = self.wanted(sub, captures);
            let key = (scope.id(), sub as *const SubQuery as usize);
            if !self.window_index.contains_key(&key) {
                let rows = self.positioned_matches(scope, sub)?;
                self.window_index.insert(key, WindowIndex::new(rows));
            }
            let index = self.window_index.get_mut(&key).expect("just built");
            if index.any_within(&wanted, &window) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every match of `sub` in `scope`: its unified slots and the span from
    /// its first capture's start to its last capture's end. The query runs
    /// only around the places of its rarest literal (every match overlaps
    /// one); a match found by two runs is listed twice, which no lookup minds.
    fn positioned_matches(
        &mut self,
        scope: Node<'t>,
        sub: &SubQuery,
    ) -> Result<Vec<(Vec<Slot<'t>>, usize, usize)>, Unfinished> {
        let source = self.source;
        let base = scope.start_byte();
        let slice = &source[base..scope.end_byte()];
        let anchors = if sub.anchorable {
            sub.prefilter.anchors(slice)
        } else {
            None
        };
        let mut rows = Vec::new();
        for range in merge_ranges(anchors, slice.len()) {
            self.cursor
                .set_byte_range(range.start + base..range.end + base);
            for_each_match(
                &mut self.cursor,
                &sub.query,
                sub.rooted_at_file,
                scope,
                source,
                self.deadline,
                |found| {
                    let start = found.iter().map(|c| c.node.start_byte()).min();
                    let end = found.iter().map(|c| c.node.end_byte()).max();
                    if let (Some(start), Some(end)) = (start, end) {
                        rows.push((slots_of(sub, found, source), start, end));
                    }
                },
            )?;
        }
        Ok(rows)
    }

    fn sub_contains(
        &mut self,
        scope: Node<'t>,
        sub: &SubQuery,
        wanted: Vec<Option<&'t [u8]>>,
    ) -> Result<bool, Unfinished> {
        let key = (scope.id(), sub as *const SubQuery as usize);
        let entry = self
            .scope_index
            .entry(key)
            .or_insert_with(|| ScopeEntry::Anchored(HashMap::new()));
        let runs = match entry {
            ScopeEntry::Indexed(index) => return Ok(index.any_agrees(&wanted)),
            ScopeEntry::Anchored(answers) => match answers.get(&wanted) {
                Some(answer) => return Ok(*answer),
                None => answers.len(),
            },
        };
        // A query that cannot run around places runs over the whole scope
        // anyway: one run, indexed, answers every later text as well.
        if runs < ANCHORED_LOOKUPS && sub.anchorable {
            let rows = self.sub_matches(scope, sub, Some(&wanted))?;
            let answer = ScopeIndex::new(rows).any_agrees(&wanted);
            if let Some(ScopeEntry::Anchored(answers)) = self.scope_index.get_mut(&key) {
                answers.insert(wanted, answer);
            }
            return Ok(answer);
        }
        let mut index = ScopeIndex::new(self.sub_matches(scope, sub, None)?);
        let answer = index.any_agrees(&wanted);
        self.scope_index.insert(key, ScopeEntry::Indexed(index));
        Ok(answer)
    }

    /// The matches of `sub` in `scope`, as the slots of their unified
    /// captures. The query runs only around the places of its own rarest
    /// literal, or, given the main match's texts (`wanted`), of the rarest of
    /// those too: then only the matches that can agree with them are found.
    fn sub_matches(
        &mut self,
        scope: Node<'t>,
        sub: &SubQuery,
        wanted: Option<&[Option<&[u8]>]>,
    ) -> Result<HashSet<Vec<Slot<'t>>>, Unfinished> {
        let source = self.source;
        let base = scope.start_byte();
        let slice = &source[base..scope.end_byte()];
        let mut anchors = if sub.anchorable {
            sub.prefilter.anchors(slice)
        } else {
            None
        };
        let dynamic = wanted.filter(|_| sub.anchorable).unwrap_or_default();
        for (text, token) in dynamic.iter().zip(&sub.unify_tokens) {
            let Some(text) = text.and_then(|t| std::str::from_utf8(t).ok()) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            let places = Literal::new(text, *token).occurrences(slice);
            if anchors.as_ref().is_none_or(|b| places.len() < b.len()) {
                anchors = Some(places);
            }
        }
        let mut rows = HashSet::new();
        for range in merge_ranges(anchors, slice.len()) {
            self.cursor
                .set_byte_range(range.start + base..range.end + base);
            for_each_match(
                &mut self.cursor,
                &sub.query,
                sub.rooted_at_file,
                scope,
                source,
                self.deadline,
                |found| {
                    rows.insert(slots_of(sub, found, source));
                },
            )?;
        }
        Ok(rows)
    }
}

/// The slots of a sub-query match: for each unified capture, its text.
fn slots_of<'t>(sub: &SubQuery, found: &[QueryCapture<'t>], source: &'t [u8]) -> Vec<Slot<'t>> {
    sub.unify
        .iter()
        .map(|(sub_idx, _)| {
            let mut slot = Slot::Absent;
            for c in found.iter().filter(|c| c.index == *sub_idx) {
                let text = &source[c.node.start_byte()..c.node.end_byte()];
                slot = match slot {
                    Slot::Absent => Slot::Text(text),
                    Slot::Text(t) if t == text => slot,
                    _ => Slot::Mixed,
                };
            }
            slot
        })
        .collect()
}

/// Runs `query` under `node` and hands each match's captures to `each`.
/// Stops once `deadline` passes (inside tree-sitter too, through its
/// progress callback), and fails when the match limit cut results short.
/// With `only_at_node`, matches start at `node` itself: the cursor then
/// descends only as deep as the matches in progress need.
fn for_each_match<'t>(
    cursor: &mut QueryCursor,
    query: &Query,
    only_at_node: bool,
    node: Node<'t>,
    source: &'t [u8],
    deadline: Instant,
    mut each: impl FnMut(&[QueryCapture<'t>]),
) -> Result<(), Unfinished> {
    let mut progress = |_: &QueryCursorState| {
        if Instant::now() > deadline {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    cursor.set_max_start_depth(only_at_node.then_some(0));
    let options = QueryCursorOptions::new().progress_callback(&mut progress);
    let mut matches = cursor.matches_with_options(query, node, source, options);
    while let Some(m) = matches.next() {
        each(m.captures());
        if Instant::now() > deadline {
            return Err(Unfinished::Deadline);
        }
    }
    drop(matches);
    // Past the limit tree-sitter drops in-progress matches: results would be
    // silently incomplete, so the file counts as not scanned instead.
    if cursor.did_exceed_match_limit() {
        return Err(Unfinished::MatchLimit);
    }
    if Instant::now() > deadline {
        Err(Unfinished::Deadline)
    } else {
        Ok(())
    }
}

/// The matches of one rule in one file.
#[derive(Debug, Default)]
pub struct RuleMatches {
    /// In source order, one per reported node.
    pub matches: Vec<RawMatch>,
    /// More matches than the limit counted: the rest were not looked at.
    pub truncated: bool,
}

/// Runs `rule` over the file and returns its matches in source order, one
/// per reported node, stopping after `limit` matches that `counts` (a
/// generated file must not produce a million findings); or why it could not
/// finish ([`Unfinished`]).
pub fn run_rule<'t>(
    rule: &Rule,
    compiled: &Compiled,
    file: &mut FileContext<'t>,
    limit: usize,
    counts: &dyn Fn(&RawMatch) -> bool,
) -> Result<RuleMatches, Unfinished> {
    let source = file.source;
    // Collect first: constraint checks need the file context.
    let mut candidates: Vec<Vec<(u32, Node<'t>)>> = Vec::new();
    for range in query_ranges(rule, compiled, source) {
        file.main_cursor.set_byte_range(range);
        let root = file.tree.root_node();
        for_each_match(
            &mut file.main_cursor,
            &compiled.query,
            false,
            root,
            source,
            file.deadline,
            |captures| candidates.push(captures.iter().map(|c| (c.index, c.node)).collect()),
        )?;
    }
    // In source order (stable: the first of several matches of a node wins),
    // so that the limit keeps the first matches of the file.
    let mut candidates: Vec<(Node<'t>, Vec<(u32, Node<'t>)>)> = candidates
        .into_iter()
        .filter_map(|captures| Some((reported_node(compiled, &captures)?, captures)))
        .collect();
    candidates.sort_by_key(|(n, _)| (n.start_byte(), n.end_byte()));

    let mut seen = HashSet::new();
    let mut out = RuleMatches::default();
    let mut counted = 0;
    for (reported, captures) in candidates {
        file.check_deadline()?;
        let span = (reported.start_byte(), reported.end_byte());
        if seen.contains(&span) {
            continue;
        }
        let mut holds = true;
        for c in &compiled.constraints {
            if !constraint_holds(c, reported, &captures, file)? {
                holds = false;
                break;
            }
        }
        if !holds {
            continue;
        }
        seen.insert(span);
        let fix = compiled.fix.as_ref().and_then(|fix| {
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
        let m = RawMatch {
            start_byte: reported.start_byte(),
            end_byte: reported.end_byte(),
            start: reported.start_position(),
            end: reported.end_position(),
            message: render(&compiled.message, &captures, source, MAX_INTERPOLATED),
            fix,
        };
        if counts(&m) {
            if counted == limit {
                out.truncated = true;
                break;
            }
            counted += 1;
        }
        out.matches.push(m);
    }
    Ok(out)
}

/// The byte ranges to run a rule's query in: around the places of its
/// rarest required literal (every match overlaps one), else the whole file.
fn query_ranges(rule: &Rule, compiled: &Compiled, source: &[u8]) -> Vec<std::ops::Range<usize>> {
    let anchors = compiled
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

fn reported_node<'t>(rule: &Compiled, captures: &[(u32, Node<'t>)]) -> Option<Node<'t>> {
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
) -> Result<bool, Unfinished> {
    Ok(match constraint {
        Constraint::Inside(kinds) => file
            .ancestors(reported)?
            .iter()
            .any(|a| kinds.contains(&a.kind_id())),
        Constraint::NotInside(kinds) => !file
            .ancestors(reported)?
            .iter()
            .any(|a| kinds.contains(&a.kind_id())),
        Constraint::OutsideTests => {
            let ancestors = file.ancestors(reported)?;
            !in_test_code(&ancestors, file)
        }
        Constraint::Has(queries) => file.contains_any(reported, queries, captures)?,
        Constraint::NotHas(queries) => !file.contains_any(reported, queries, captures)?,
        Constraint::Scope {
            kinds,
            outermost,
            contains,
            not_contains,
            after,
            before,
        } => {
            let ancestors = file.ancestors(reported)?;
            let mut scopes = ancestors.iter().filter(|a| kinds.contains(&a.kind_id()));
            let scope = if *outermost {
                scopes.next_back()
            } else {
                scopes.next()
            };
            // No enclosing node of those kinds: the whole file is the scope.
            let scope = scope.copied().unwrap_or_else(|| file.tree.root_node());
            if after.is_some() || before.is_some() {
                let Some(window) = window(scope, *after, *before, captures) else {
                    // The captures are not in order: nothing lies between them.
                    return Ok(contains.is_empty());
                };
                (contains.is_empty()
                    || file.contains_in(scope, window.clone(), contains, captures)?)
                    && !file.contains_in(scope, window, not_contains, captures)?
            } else {
                (contains.is_empty() || file.contains_any(scope, contains, captures)?)
                    && !file.contains_any(scope, not_contains, captures)?
            }
        }
    })
}

/// A constraint's sub-query `i`, compiled on first use.
fn sub_query(queries: &SubQueries, i: usize) -> Result<&SubQuery, Unfinished> {
    queries
        .get(i)
        .map_err(|why| Unfinished::Uncompiled(why.to_string()))
}

/// The bytes of `scope` after the end of capture `after` and before the start
/// of capture `before` (a missing bound is the scope's edge); `None` when
/// they are out of order.
fn window(
    scope: Node<'_>,
    after: Option<u32>,
    before: Option<u32>,
    captures: &[(u32, Node<'_>)],
) -> Option<std::ops::Range<usize>> {
    let start = after
        .and_then(|idx| capture_node(captures, idx))
        .map_or(scope.start_byte(), |n| n.end_byte())
        .max(scope.start_byte());
    let end = before
        .and_then(|idx| capture_node(captures, idx))
        .map_or(scope.end_byte(), |n| n.start_byte())
        .min(scope.end_byte());
    (start <= end).then_some(start..end)
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

#[cfg(test)]
mod tests {
    use super::{ScopeIndex, Slot};
    use crate::rules::compile::Constraint;
    use crate::rules::load::load_text;
    use crate::rules::testing::test_rule;

    /// A rule whose scope counts only `x.Close()` calls between the open
    /// (`@open`) and the reported return: the snippets are its tests.
    const BETWEEN_RULE: &str = r#"
id: t/between
language: go
severity: warning
message: "m"
query: |
  (statement_list
    (short_var_declaration left: (expression_list . (identifier) @var)) @open
    (return_statement) @match)
where:
  - scope:
      kinds: [function_declaration]
      after: open
      before: match
      not_contains: |
        ((call_expression function: (selector_expression operand: (identifier) @var field: (field_identifier) @_m)) (#eq? @_m "Close"))
tests:
  valid:
    - |
      package p
      func f() {
      	x := open()
      	x.Close()
      	return
      }
  invalid:
    # closed only after the return, or before the open: neither is between
    - code: |
        package p
        func f() {
        	x.Close()
        	x := open()
        	return
        	x.Close()
        }
      lines: [5]
    # another variable's Close does not count
    - code: |
        package p
        func f() {
        	x := open()
        	y.Close()
        	return
        }
      lines: [5]
"#;

    /// A sub-query of `source_file` patterns (run starting at the root only)
    /// must still find its captures three levels down, and nothing when the
    /// scope is a function.
    const ROOTED_RULE: &str = r#"
id: t/rooted
language: rust
severity: warning
message: "m"
query: (unsafe_block) @u
where:
  - scope:
      kinds: [function_item]
      not_contains: |
        (source_file (line_comment) @_c . (_ (_ (_) @u)) (#match? @_c "ok"))
tests:
  valid:
    - |
      // ok
      static X: [u8; 1] = [unsafe { 1 }];
  invalid:
    # the comment is not just above, or the block is four levels down
    - code: |
        // ok
        static X: u8 = 1;
        static Y: [u8; 1] = [unsafe { 1 }];
        // ok
        static Z: [[u8; 1]; 1] = [[unsafe { 1 }]];
      lines: [3, 5]
    # inside a function the scope is the function, where no `source_file` is
    - code: |
        fn f() {
            // ok
            let x = [unsafe { 1 }];
        }
      lines: [3]
"#;

    #[test]
    fn a_sub_query_rooted_at_the_file_finds_its_captures_below_the_top_level_only_there() {
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        load_text("rooted.yml", ROOTED_RULE, &mut rules, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let Constraint::Scope { not_contains, .. } =
            &rules[0].compiled().expect("compiles").constraints[0]
        else {
            panic!("a scope constraint");
        };
        assert!(not_contains.get(0).expect("compiled").rooted_at_file);
        let result = test_rule(&rules[0]);
        assert!(result.failures.is_empty(), "{:?}", result.failures);
        assert_eq!(result.cases, 3);
    }

    #[test]
    fn a_scope_with_after_and_before_counts_only_matches_between_the_two_captures() {
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        load_text("between.yml", BETWEEN_RULE, &mut rules, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let result = test_rule(&rules[0]);
        assert!(result.failures.is_empty(), "{:?}", result.failures);
        assert_eq!(result.cases, 3);
    }

    #[test]
    fn a_scope_window_finds_its_sub_matches_around_their_literals_only() {
        // Guards far apart (more than the merge gap), a guard whose literal
        // appears again in the same run, a literal outside any match, and a
        // window that excludes the guard: each must be judged as over the
        // whole scope.
        let filler = format!("\t// {}\n", "filler ".repeat(100));
        let valid = format!(
            "package p\nfunc f() {{\n\tx := open()\n{filler}\ty.Close()\n{filler}\tx.Close()\n\t_ = \"Close\"\n\treturn\n}}\n"
        );
        let invalid = format!(
            "package p\nfunc f() {{\n\tx.Close()\n{filler}\tx := open()\n{filler}\ty.Close(); Close()\n\treturn\n}}\n"
        );
        let indent = |code: &str, by: &str| {
            code.lines()
                .map(|l| format!("{by}{l}\n"))
                .collect::<String>()
        };
        let head = &BETWEEN_RULE[..BETWEEN_RULE.find("tests:").unwrap()];
        let text = format!(
            "{head}tests:\n  valid:\n    - |\n{}  invalid:\n    - code: |\n{}      lines: [8]\n",
            indent(&valid, "      "),
            indent(&invalid, "        ")
        );
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        load_text("between.yml", &text, &mut rules, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let result = test_rule(&rules[0]);
        assert!(result.failures.is_empty(), "{:?}", result.failures);
        assert_eq!(result.cases, 2);
    }

    #[test]
    fn hundreds_of_literal_places_each_get_their_own_run_past_the_old_limit() {
        // More places than the old limit of 256: the query now runs around
        // each group of them instead of over the whole file.
        let mut source = String::from("package p\n");
        for n in 0..600 {
            source.push_str(&format!("func f{n}() {{ g(\"{}\") }}\n", "x".repeat(600)));
        }
        let places: Vec<(usize, usize)> = source
            .match_indices("g(")
            .map(|(at, _)| (at, at + 1))
            .collect();
        assert!(places.len() > 256);
        let ranges = super::merge_ranges(Some(places.clone()), source.len());
        assert_eq!(ranges.len(), places.len());
        let too_many = vec![(0, 1); super::MAX_ANCHORS + 1];
        assert_eq!(super::merge_ranges(Some(too_many), 9), vec![0..9]);
    }

    #[test]
    fn the_second_scope_bound_naming_no_capture_is_reported_at_its_own_line() {
        let text = BETWEEN_RULE.replace(
            "tests:",
            "  - scope:\n      kinds: [function_declaration]\n      after: opne\n      not_contains: \"(identifier) @var\"\ntests:",
        );
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        load_text("between.yml", &text, &mut rules, &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let shown = errors[0].to_string();
        assert!(shown.contains("between.yml:19"), "{shown}");
    }

    #[test]
    fn a_scope_bound_naming_no_capture_is_an_error_with_its_line() {
        let text = BETWEEN_RULE.replace("after: open", "after: opne");
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        load_text("between.yml", &text, &mut rules, &mut errors);
        assert!(rules.is_empty());
        let shown = errors[0].to_string();
        assert!(
            shown.contains("unknown capture `opne` in `after`"),
            "{shown}"
        );
        assert!(shown.contains("between.yml:13"), "{shown}");
    }

    fn index<'t>(rows: &[Vec<Slot<'t>>]) -> ScopeIndex<'t> {
        ScopeIndex::new(rows.iter().cloned().collect())
    }

    #[test]
    fn an_index_lookup_agrees_as_a_scan_of_the_matches_would() {
        let mut idx = index(&[
            vec![Slot::Text(b"a"), Slot::Text(b"x")],
            vec![Slot::Absent, Slot::Text(b"y")],
            vec![Slot::Mixed, Slot::Text(b"z")],
        ]);
        // equal texts
        assert!(idx.any_agrees(&[Some(b"a"), Some(b"x")]));
        // an absent capture accepts any main text
        assert!(idx.any_agrees(&[Some(b"q"), Some(b"y")]));
        // a main match without the capture accepts any sub-query text
        assert!(idx.any_agrees(&[None, Some(b"z")]));
        // mixed texts equal no single main text
        assert!(!idx.any_agrees(&[Some(b"b"), Some(b"z")]));
        assert!(!idx.any_agrees(&[Some(b"a"), Some(b"y2")]));
        // the second row has no first capture, and no second main text is asked for
        assert!(idx.any_agrees(&[Some(b"b"), None]));
        assert!(!index(&[]).any_agrees(&[None]));
    }
}
