//! The ancestors of a node, found by walking down from the root with a tree
//! cursor instead of recording every node's parent: a parent map of the
//! whole tree costs tens of bytes a node (hundreds of megabytes on a 20 MB
//! file), where constraints ask about a few matched nodes only.
//!
//! The cursor stays on the last node asked about, with the path to it. A
//! rule's matches are checked in source order, so the next node usually
//! shares most of that path, and a wide level (a file of 100,000 functions)
//! is crossed forwards once per rule, not once per match. tree-sitter's own
//! `Node::parent` walks every level from its first child on each call.

use super::engine::Unfinished;
use std::time::Instant;
use tree_sitter::{Node, Tree, TreeCursor};

/// Cursor moves between two looks at the clock.
const DEADLINE_EVERY: u32 = 65_536;

/// Answers "what are the ancestors of this node" for one tree.
pub struct Ancestry<'t> {
    tree: &'t Tree,
    deadline: Instant,
    /// On the last node found, `path`'s last node.
    cursor: TreeCursor<'t>,
    /// The nodes from the root down to the cursor's, root first.
    path: Vec<Node<'t>>,
    /// Cursor moves since the clock was last read.
    moves: u32,
    /// Searches from the root, for tests to see the cursor is reused.
    #[cfg(test)]
    searches: usize,
}

impl<'t> Ancestry<'t> {
    pub fn new(tree: &'t Tree, deadline: Instant) -> Self {
        Ancestry {
            tree,
            deadline,
            cursor: tree.walk(),
            path: vec![tree.root_node()],
            moves: 0,
            #[cfg(test)]
            searches: 0,
        }
    }

    /// The ancestors of `node` (a node of this tree), innermost first; none
    /// for the root. Fails once the deadline has passed.
    pub fn ancestors(&mut self, node: Node<'t>) -> Result<Vec<Node<'t>>, Unfinished> {
        let found = node.start_byte() < node.end_byte() && self.follow(node)?;
        if !found && !self.search(node)? {
            return Ok(Vec::new());
        }
        Ok(self.path.iter().rev().skip(1).copied().collect())
    }

    /// Moves the cursor to `node`, which has a width, from where it is: up
    /// to the deepest node of the path that holds `node`, then down through
    /// the one child at each level that holds it. Returns false when that
    /// does not lead to `node` (tree-sitter hides some nodes in invisible
    /// ones that end past the byte), for [`Self::search`] to find it.
    fn follow(&mut self, node: Node<'t>) -> Result<bool, Unfinished> {
        // A node can span the same bytes as its only child: look for it by id
        // before going down from a deeper node of the same span.
        if let Some(at) = self.path.iter().rposition(|n| n.id() == node.id()) {
            self.up_to(at + 1);
            return Ok(true);
        }
        let Some(holder) = self.path.iter().rposition(|n| holds(*n, node)) else {
            return Ok(false);
        };
        let start = node.start_byte();
        if holder + 1 < self.path.len() {
            // On the child of `holder` where the last node was: a later node
            // is among its next siblings, an earlier one is found from the start.
            self.up_to(holder + 2);
            if self.path[holder + 1].end_byte() <= start {
                loop {
                    self.tick()?;
                    if !self.cursor.goto_next_sibling() || self.cursor.node().start_byte() > start {
                        self.reset();
                        return Ok(false);
                    }
                    let sibling = self.cursor.node();
                    if holds(sibling, node) {
                        *self.path.last_mut().expect("below the root") = sibling;
                        break;
                    }
                }
            } else {
                self.cursor.goto_parent();
                self.path.pop();
            }
        }
        loop {
            let here = *self.path.last().expect("the root at least");
            if here.id() == node.id() {
                return Ok(true);
            }
            self.tick()?;
            // The first child ending after `start` holds a node with a width
            // below `here`: siblings do not overlap.
            if self.cursor.goto_first_child_for_byte(start).is_none() {
                self.reset();
                return Ok(false);
            }
            let child = self.cursor.node();
            self.path.push(child);
            if !holds(child, node) {
                self.reset();
                return Ok(false);
            }
        }
    }

    /// Finds `node` from the root, trying every child that holds its span
    /// (several can, for a zero-width node at a boundary) and telling them
    /// apart by id. Leaves the cursor on `node` when found.
    fn search(&mut self, node: Node<'t>) -> Result<bool, Unfinished> {
        #[cfg(test)]
        {
            self.searches += 1;
        }
        self.reset();
        let start = node.start_byte();
        loop {
            self.tick()?;
            let here = self.cursor.node();
            if here.id() == node.id() {
                return Ok(true);
            }
            if holds(here, node) && self.enter(start) {
                self.path.push(self.cursor.node());
                continue;
            }
            // The next sibling that can hold `node`, or the next one above.
            loop {
                if self.cursor.goto_next_sibling() && self.cursor.node().start_byte() <= start {
                    *self.path.last_mut().expect("below the root") = self.cursor.node();
                    break;
                }
                self.tick()?;
                if !self.cursor.goto_parent() {
                    self.reset();
                    return Ok(false);
                }
                self.path.pop();
            }
        }
    }

    /// Moves the cursor to the first child of its node that can hold a node
    /// starting at `start`: the children ending before it cannot.
    fn enter(&mut self, start: usize) -> bool {
        let skipped = start > 0 && self.cursor.goto_first_child_for_byte(start - 1).is_some();
        skipped || self.cursor.goto_first_child()
    }

    /// Moves the cursor up until the path holds `len` nodes.
    fn up_to(&mut self, len: usize) {
        while self.path.len() > len {
            self.cursor.goto_parent();
            self.path.pop();
        }
    }

    /// Puts the cursor back on the root.
    fn reset(&mut self) {
        self.cursor.reset(self.tree.root_node());
        self.path.clear();
        self.path.push(self.tree.root_node());
    }

    /// Counts a cursor move; fails once the deadline has passed.
    fn tick(&mut self) -> Result<(), Unfinished> {
        self.moves += 1;
        if self.moves >= DEADLINE_EVERY {
            self.moves = 0;
            if Instant::now() > self.deadline {
                return Err(Unfinished::Deadline);
            }
        }
        Ok(())
    }
}

/// Whether `outer`'s bytes include all of `inner`'s.
fn holds(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;
    use std::time::Duration;

    fn parse(lang: Language, source: &str) -> Tree {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&lang.grammar()).unwrap();
        parser.parse(source, None).unwrap()
    }

    /// Every node of `tree`, in document order.
    fn every_node(tree: &Tree) -> Vec<Node<'_>> {
        let mut nodes = Vec::new();
        let mut cursor = tree.walk();
        loop {
            nodes.push(cursor.node());
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    assert_eq!(nodes.len(), tree.root_node().descendant_count());
                    return nodes;
                }
            }
        }
    }

    /// tree-sitter's own chain of `parent()`s, innermost first.
    fn parent_chain(node: Node<'_>) -> Vec<Node<'_>> {
        let mut chain = Vec::new();
        let mut up = node.parent();
        while let Some(p) = up {
            chain.push(p);
            up = p.parent();
        }
        chain
    }

    /// Asks about every node of `source` in document order, backwards and
    /// in a scrambled order (one `Ancestry`, so each answer starts from
    /// where the last one left the cursor), and compares each answer with
    /// tree-sitter's `parent()` chain. Returns how many zero-width nodes
    /// the source has.
    fn assert_agrees(lang: Language, source: &str) -> usize {
        let tree = parse(lang, source);
        let nodes = every_node(&tree);
        let mut scrambled = nodes.clone();
        // A fixed permutation: stride through the nodes by a step prime to their count.
        let step = (0..)
            .map(|k| 7 + k)
            .find(|s| gcd(*s, nodes.len().max(1)) == 1);
        for (i, slot) in scrambled.iter_mut().enumerate() {
            *slot = nodes[(i * step.unwrap()) % nodes.len()];
        }
        let backwards = nodes.iter().rev().copied();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut ancestry = Ancestry::new(&tree, deadline);
        for node in nodes.iter().copied().chain(backwards).chain(scrambled) {
            let expected = parent_chain(node);
            assert_eq!(ancestry.ancestors(node).unwrap(), expected, "{node:?}");
        }
        nodes
            .iter()
            .filter(|n| n.start_byte() == n.end_byte())
            .count()
    }

    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    #[test]
    fn ancestors_agree_with_tree_sitter_on_every_node() {
        assert_agrees(
            Language::Go,
            "package p\nfunc f() {\n\tg := func() { if x { defer y() } }\n\t_ = g\n}\n",
        );
        // macros (token trees), nested modules and closures, an error node
        assert_agrees(
            Language::Rust,
            "mod a { fn f() { let c = || unsafe { g(x.unwrap()) }; println!(\"{}\", h(1)); } }\nfn broken( {",
        );
        // nodes with the span of their only child, nested closures
        assert_agrees(
            Language::Rust,
            "fn f() { a; (b); ((c)); let g = |x| move || async { x? }; }\n",
        );
        assert_agrees(Language::Go, "");
        assert_agrees(Language::Rust, "");
    }

    #[test]
    fn ancestors_of_zero_width_and_error_nodes_agree_with_tree_sitter() {
        // Missing tokens are zero-width nodes at a boundary between siblings.
        let missing = [
            (Language::Go, "package p\nfunc f() { x := ; if { } g(1, }\n"),
            (
                Language::Go,
                "package p\nfunc f() {\n\tfor i := 0; i < ; {\n",
            ),
            (Language::Rust, "fn f() { let x = 1 let y = (2, ; g(x }\n"),
            (Language::Rust, "impl A for { fn g(&self) -> { 1 }\n"),
        ];
        let zero_width: usize = missing.iter().map(|(l, s)| assert_agrees(*l, s)).sum();
        assert!(zero_width > 0, "the sources have no zero-width node");
    }

    #[test]
    fn a_file_of_many_functions_is_crossed_once_per_pass_not_once_per_node() {
        // 20,000 top-level functions: asking about each in order must not
        // walk the root's children from the first one every time
        // (20,000² steps); a generous bound for a loaded debug build.
        let source: String = (0..20_000)
            .map(|i| format!("fn f{i}() {{ g({i}); }}\n"))
            .collect();
        let tree = parse(Language::Rust, &source);
        let calls: Vec<Node<'_>> = every_node(&tree)
            .into_iter()
            .filter(|n| n.kind() == "call_expression")
            .collect();
        let started = Instant::now();
        let mut ancestry = Ancestry::new(&tree, started + Duration::from_secs(600));
        for call in &calls {
            let chain = ancestry.ancestors(*call).unwrap();
            assert_eq!(chain.last().map(|n| n.kind()), Some("source_file"));
        }
        assert_eq!(
            ancestry.searches, 0,
            "every call was found from the last one"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
}
