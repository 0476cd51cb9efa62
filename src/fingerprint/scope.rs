//! The enclosing named scope of a place in a parsed file: the function or
//! method around it, qualified by its receiver (Go) or by its `impl`, trait
//! and inline modules (Rust). Names only, never positions or the path, so a
//! scope keeps its name when code moves within the file or the file is renamed.

use crate::lang::Language;
use std::time::Instant;
use tree_sitter::{Node, Tree};

/// Nodes walked between two looks at the clock.
const DEADLINE_EVERY: usize = 65_536;

/// The named scopes of one file, ready to be asked where a byte lies.
#[derive(Debug, Default)]
pub struct Scopes {
    /// (start byte, end byte, own name, index of the enclosing scope), in
    /// source order; scopes nest, so a parent comes before its children.
    /// Names are not joined here: with hostile nesting that would be
    /// quadratic in memory.
    spans: Vec<(usize, usize, String, Option<usize>)>,
}

/// The walk passed the file's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverTime;

impl Scopes {
    /// Finds the named scopes of `tree` (the file `source` in `lang`), in
    /// one walk that stops at `deadline`. Go declares functions and methods
    /// at the top level only; Rust items nest (a `fn` in a `fn`, in an
    /// `impl`, in a `mod`), so the walk goes down into every node that holds
    /// a byte of `around` (sorted; the places [`Scopes::at`] will be asked
    /// about), or into every node with `None`: a scope holding none of them
    /// cannot answer for them.
    pub fn find(
        tree: &Tree,
        source: &[u8],
        lang: Language,
        around: Option<&[usize]>,
        deadline: Instant,
    ) -> Result<Scopes, OverTime> {
        let asked_about = |node: Node<'_>| {
            around.is_none_or(|bytes| {
                let first = bytes.partition_point(|&b| b < node.start_byte());
                bytes.get(first).is_some_and(|&b| b < node.end_byte())
            })
        };
        let mut scopes = Scopes::default();
        let mut cursor = tree.walk();
        // Scopes enclosing the cursor: index into `spans`.
        let mut open: Vec<usize> = Vec::new();
        let mut walked = 0usize;
        loop {
            walked += 1;
            if walked.is_multiple_of(DEADLINE_EVERY) && Instant::now() > deadline {
                return Err(OverTime);
            }
            let node = cursor.node();
            while let Some(&top) = open.last() {
                if node.start_byte() >= scopes.spans[top].1 {
                    open.pop();
                } else {
                    break;
                }
            }
            if let Some(name) = scope_name(node, source, lang) {
                let parent = open.last().copied();
                scopes
                    .spans
                    .push((node.start_byte(), node.end_byte(), name, parent));
                open.push(scopes.spans.len() - 1);
            }
            if descends(node, cursor.depth(), lang)
                && asked_about(node)
                && cursor.goto_first_child()
            {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    return Ok(scopes);
                }
            }
        }
    }

    /// The names of the scopes around `byte`, outermost first; none for
    /// top-level code (the file is the scope).
    pub fn at(&self, byte: usize) -> Vec<&str> {
        let after = self.spans.partition_point(|s| s.0 <= byte);
        let mut candidate = after.checked_sub(1);
        // The innermost scope that holds `byte`: the last one starting at or
        // before it, or one of that one's parents.
        while let Some(i) = candidate {
            let (start, end, _, parent) = &self.spans[i];
            if *start <= byte && byte < *end {
                break;
            }
            candidate = *parent;
        }
        let mut names = Vec::new();
        while let Some(i) = candidate {
            names.push(self.spans[i].2.as_str());
            candidate = self.spans[i].3;
        }
        names.reverse();
        names
    }

    /// A short key of the scope around `byte`: a digest of its names, empty
    /// for top-level code.
    pub fn key(&self, byte: usize) -> String {
        let names = self.at(byte);
        if names.is_empty() {
            String::new()
        } else {
            super::digest(&names)
        }
    }
}

/// Whether named scopes can lie below `node`, found `depth` levels below the root.
fn descends(node: Node<'_>, depth: u32, lang: Language) -> bool {
    match lang {
        // Function and method declarations are top-level (or inside a
        // syntax error that swallowed them).
        Language::Go => depth == 0 || node.is_error(),
        Language::Rust => true,
    }
}

/// The name `node` gives its scope, if it is a named scope.
fn scope_name(node: Node<'_>, source: &[u8], lang: Language) -> Option<String> {
    let field = |name: &str| node.child_by_field_name(name).map(|n| folded(n, source));
    match (lang, node.kind()) {
        (Language::Go, "function_declaration") => Some(format!("func {}", field("name")?)),
        (Language::Go, "method_declaration") => {
            let receiver = node
                .child_by_field_name("receiver")
                .and_then(|r| receiver_type(r, source))
                .unwrap_or_default();
            Some(format!("func ({receiver}) {}", field("name")?))
        }
        (Language::Rust, "function_item") => Some(format!("fn {}", field("name")?)),
        (Language::Rust, "impl_item") => Some(match field("trait") {
            Some(t) => format!("impl {t} for {}", field("type")?),
            None => format!("impl {}", field("type")?),
        }),
        (Language::Rust, "trait_item") => Some(format!("trait {}", field("name")?)),
        (Language::Rust, "mod_item") => Some(format!("mod {}", field("name")?)),
        _ => None,
    }
}

/// The type a Go receiver list names, without `*` or type parameters:
/// `(s *List[T])` is `List` (Go allows one method of a name per type, so
/// the pointer adds nothing and changing it must not move the finding).
fn receiver_type(receiver: Node<'_>, source: &[u8]) -> Option<String> {
    let mut cursor = receiver.walk();
    let param = receiver
        .named_children(&mut cursor)
        .find(|c| c.kind() == "parameter_declaration")?;
    let text = folded(param.child_by_field_name("type")?, source);
    let bare = text.trim_start_matches(['*', ' ', '(']);
    let end = bare.find(['[', ')', ' ']).unwrap_or(bare.len());
    Some(bare[..end].to_string())
}

/// Bytes of a name read from the source: a type can hold a block with more
/// items (`[u8; { fn f() {} 1 }]`), and reading each whole would be quadratic.
const MAX_NAME_BYTES: usize = 256;

/// The text of `node` (its first [`MAX_NAME_BYTES`]) with white space
/// folded to single spaces.
fn folded(node: Node<'_>, source: &[u8]) -> String {
    let end = node.end_byte().min(node.start_byte() + MAX_NAME_BYTES);
    let text = String::from_utf8_lossy(&source[node.start_byte()..end]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The scope of the first place of `needle` in `source`.
    fn scope_of(lang: Language, source: &str, needle: &str) -> String {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&lang.grammar()).unwrap();
        let tree = parser.parse(source, None).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let at = source.find(needle).expect("needle");
        let scopes = Scopes::find(&tree, source.as_bytes(), lang, None, deadline).unwrap();
        let named = scopes.at(at).join("::");
        // Walking only towards the place asked about finds the same scope.
        let towards = Scopes::find(&tree, source.as_bytes(), lang, Some(&[at]), deadline);
        assert_eq!(towards.unwrap().at(at).join("::"), named);
        named
    }

    #[test]
    fn go_scopes_are_functions_and_methods_with_their_receiver_type() {
        let src = "package p\n\nvar top = open(\"t\")\n\nfunc load(p string) {\n\tgo func() { open(\"lit\") }()\n}\n\nfunc (s *Store[K]) Close() { open(\"ptr\") }\n\nfunc (Cache) Close() { open(\"val\") }\n";
        assert_eq!(scope_of(Language::Go, src, "open(\"t\")"), "");
        assert_eq!(scope_of(Language::Go, src, "open(\"lit\")"), "func load");
        assert_eq!(
            scope_of(Language::Go, src, "open(\"ptr\")"),
            "func (Store) Close"
        );
        assert_eq!(
            scope_of(Language::Go, src, "open(\"val\")"),
            "func (Cache) Close"
        );
    }

    #[test]
    fn rust_scopes_nest_through_modules_impls_traits_and_inner_functions() {
        let src = "static A: u8 = x(0);\nmod m {\n    impl Read for Bar<u8> {\n        fn baz() { x(1); fn inner() { x(2) } }\n    }\n    impl Bar<u8> { fn baz() { let c = || x(3); } }\n    trait T { fn d() { x(4) } }\n}\n";
        assert_eq!(scope_of(Language::Rust, src, "x(0)"), "");
        assert_eq!(
            scope_of(Language::Rust, src, "x(1)"),
            "mod m::impl Read for Bar<u8>::fn baz"
        );
        assert_eq!(
            scope_of(Language::Rust, src, "x(2)"),
            "mod m::impl Read for Bar<u8>::fn baz::fn inner"
        );
        assert_eq!(
            scope_of(Language::Rust, src, "x(3)"),
            "mod m::impl Bar<u8>::fn baz"
        );
        assert_eq!(
            scope_of(Language::Rust, src, "x(4)"),
            "mod m::trait T::fn d"
        );
    }

    #[test]
    fn walking_towards_some_places_names_their_scopes_as_the_whole_walk_does() {
        let src = "static A: u8 = x(0);\nmod m {\n    impl Read for Bar<u8> {\n        fn baz() { x(1); fn inner() { x(2) } }\n    }\n    impl Bar<u8> { fn baz() { let c = || x(3); } }\n    trait T { fn d() { x(4) } }\n}\nfn z() { fn y() {} }\n";
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&Language::Rust.grammar()).unwrap();
        let tree = parser.parse(src, None).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let whole = Scopes::find(&tree, src.as_bytes(), Language::Rust, None, deadline).unwrap();
        let every: Vec<usize> = (0..=src.len()).collect();
        for step in [1, 3, 7, 40] {
            let some: Vec<usize> = every.iter().copied().step_by(step).collect();
            let towards =
                Scopes::find(&tree, src.as_bytes(), Language::Rust, Some(&some), deadline).unwrap();
            for &byte in &some {
                assert_eq!(
                    towards.key(byte),
                    whole.key(byte),
                    "byte {byte}, step {step}"
                );
            }
        }
    }

    #[test]
    fn a_place_after_a_nested_scope_belongs_to_the_outer_one() {
        let src = "fn outer() {\n    fn inner() {}\n    y();\n}\nfn z() {}\n";
        assert_eq!(scope_of(Language::Rust, src, "y()"), "fn outer");
        assert_eq!(scope_of(Language::Rust, src, "\nfn z"), "");
    }

    #[test]
    fn hostile_nesting_of_items_in_types_stays_linear() {
        // Each impl's type holds all the deeper impls: reading whole names
        // would copy about n²/2 × 25 bytes.
        let n = 2_000;
        let src = format!(
            "{}fn g() {{ x(1) }}{}",
            "impl A<[u8; { ".repeat(n),
            " 1 }]> {}".repeat(n)
        );
        let started = Instant::now();
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&Language::Rust.grammar()).unwrap();
        let tree = parser.parse(&src, None).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let scopes = Scopes::find(&tree, src.as_bytes(), Language::Rust, None, deadline).unwrap();
        let at = src.find("x(1)").unwrap();
        assert_eq!(scopes.at(at).len(), n + 1);
        assert_eq!(scopes.key(at).len(), 32);
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
