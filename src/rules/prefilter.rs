//! Literal prefilter: which strings must a file contain for a query to match?
//!
//! Parsing dominates the cost of a scan, so a file that cannot match any rule
//! is not parsed at all. The requirement is derived from the query text:
//! anonymous nodes (`"unsafe"`) and `#eq?`/`#any-of?` predicates on captures
//! that every match must have. Anything optional, quantified or alternated is
//! treated conservatively, so the filter never drops a file that could match.

use memchr::memmem;

/// A boolean formula over "the file contains this literal".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Always,
    Literal(Vec<u8>),
    All(Vec<Requirement>),
    Any(Vec<Requirement>),
}

impl Requirement {
    /// Returns true if and only if `text` satisfies the formula.
    pub fn holds(&self, text: &[u8]) -> bool {
        match self {
            Requirement::Always => true,
            Requirement::Literal(lit) => memmem::find(text, lit).is_some(),
            Requirement::All(parts) => parts.iter().all(|p| p.holds(text)),
            Requirement::Any(parts) => parts.iter().any(|p| p.holds(text)),
        }
    }

    fn all(parts: Vec<Requirement>) -> Requirement {
        let parts: Vec<_> = parts
            .into_iter()
            .filter(|p| *p != Requirement::Always)
            .collect();
        match parts.len() {
            0 => Requirement::Always,
            1 => parts.into_iter().next().unwrap_or(Requirement::Always),
            _ => Requirement::All(parts),
        }
    }

    fn any(parts: Vec<Requirement>) -> Requirement {
        if parts.is_empty() || parts.contains(&Requirement::Always) {
            return Requirement::Always;
        }
        if parts.len() == 1 {
            return parts.into_iter().next().unwrap_or(Requirement::Always);
        }
        Requirement::Any(parts)
    }
}

/// Derives the requirement of a whole query (any of its top-level patterns).
pub fn requirement_of_query(source: &str) -> Requirement {
    let Some(items) = parse(source) else {
        return Requirement::Always;
    };
    let mut patterns: Vec<Requirement> = Vec::new();
    let mut pending: Vec<Item> = Vec::new();
    for item in items {
        match item {
            // A top-level predicate belongs to the pattern before it.
            Item::Predicate { .. } => pending.push(item),
            _ => {
                if !pending.is_empty() {
                    patterns.push(requirement_of_pattern(&pending));
                    pending.clear();
                }
                pending.push(item);
            }
        }
    }
    if !pending.is_empty() {
        patterns.push(requirement_of_pattern(&pending));
    }
    Requirement::any(patterns)
}

fn requirement_of_pattern(items: &[Item]) -> Requirement {
    let mut mandatory_captures = Vec::new();
    let mut predicates = Vec::new();
    let mut parts = Vec::new();
    for item in items {
        parts.push(walk(item, true, &mut mandatory_captures, &mut predicates));
    }
    for (name, args) in predicates {
        let Some(Arg::Capture(capture)) = args.first() else {
            continue;
        };
        if !mandatory_captures.contains(capture) {
            continue;
        }
        let strings: Vec<Requirement> = args[1..]
            .iter()
            .map(|a| match a {
                Arg::Str(s) => Some(Requirement::Literal(s.as_bytes().to_vec())),
                _ => None,
            })
            .collect::<Option<_>>()
            .unwrap_or_default();
        match name.as_str() {
            "eq?" if strings.len() == 1 => parts.extend(strings),
            "any-of?" if !strings.is_empty() => parts.push(Requirement::any(strings)),
            _ => {}
        }
    }
    Requirement::all(parts)
}

/// Returns the requirement of `item`, recording captures that every match has
/// (when `mandatory`) and every predicate met on the way.
fn walk(
    item: &Item,
    mandatory: bool,
    captures: &mut Vec<String>,
    predicates: &mut Vec<(String, Vec<Arg>)>,
) -> Requirement {
    match item {
        Item::Predicate { name, args } => {
            predicates.push((name.clone(), args.clone()));
            Requirement::Always
        }
        Item::Node {
            children,
            alternation,
            optional,
            captures: own,
            literal,
        } => {
            let here = mandatory && !optional;
            if here {
                captures.extend(own.iter().cloned());
            }
            if *alternation {
                let branches: Vec<Requirement> = children
                    .iter()
                    .map(|c| walk(c, false, &mut Vec::new(), predicates))
                    .collect();
                return if here {
                    Requirement::any(branches)
                } else {
                    Requirement::Always
                };
            }
            let mut parts = Vec::new();
            if let (Some(lit), true) = (literal, here) {
                parts.push(Requirement::Literal(lit.as_bytes().to_vec()));
            }
            for child in children {
                let req = walk(child, here, captures, predicates);
                if here {
                    parts.push(req);
                }
            }
            Requirement::all(parts)
        }
    }
}

#[derive(Debug, Clone)]
enum Arg {
    Capture(String),
    Str(String),
    Other,
}

#[derive(Debug, Clone)]
enum Item {
    /// A node pattern `( … )`, an alternation `[ … ]`, a wildcard or an anonymous node `"…"`.
    Node {
        children: Vec<Item>,
        alternation: bool,
        optional: bool,
        captures: Vec<String>,
        literal: Option<String>,
    },
    Predicate {
        name: String,
        args: Vec<Arg>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Str(String),
    Capture(String),
    Predicate(String),
    Quantifier(char),
    Word,
}

fn tokenize(source: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '[' => tokens.push(Token::OpenBracket),
            ']' => tokens.push(Token::CloseBracket),
            '?' | '*' | '+' => tokens.push(Token::Quantifier(c)),
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            '0' => s.push('\0'),
                            other => s.push(other),
                        },
                        other => s.push(other),
                    }
                }
                tokens.push(Token::Str(s));
            }
            '@' | '#' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || "_-.?!".contains(n) {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(if c == '@' {
                    Token::Capture(name)
                } else {
                    Token::Predicate(name)
                });
            }
            c if c.is_whitespace() => {}
            _ => {
                // identifiers, field names, anchors, negated fields: no literal meaning
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '-' || n == '.' {
                        chars.next();
                    } else {
                        break;
                    }
                }
                if c != ':' && c != '.' && c != '!' {
                    tokens.push(Token::Word);
                }
            }
        }
    }
    Some(tokens)
}

fn parse(source: &str) -> Option<Vec<Item>> {
    let tokens = tokenize(source)?;
    let mut pos = 0;
    let mut items = Vec::new();
    while pos < tokens.len() {
        items.push(parse_item(&tokens, &mut pos)?);
    }
    Some(items)
}

fn parse_item(tokens: &[Token], pos: &mut usize) -> Option<Item> {
    let token = tokens.get(*pos)?.clone();
    *pos += 1;
    let mut item = match token {
        Token::Open => {
            if let Some(Token::Predicate(name)) = tokens.get(*pos) {
                let name = name.clone();
                *pos += 1;
                let mut args = Vec::new();
                loop {
                    match tokens.get(*pos)? {
                        Token::Close => {
                            *pos += 1;
                            break;
                        }
                        Token::Capture(c) => args.push(Arg::Capture(c.clone())),
                        Token::Str(s) => args.push(Arg::Str(s.clone())),
                        _ => args.push(Arg::Other),
                    }
                    *pos += 1;
                }
                return Some(Item::Predicate { name, args });
            }
            let mut children = Vec::new();
            loop {
                match tokens.get(*pos)? {
                    Token::Close => {
                        *pos += 1;
                        break;
                    }
                    _ => children.push(parse_item(tokens, pos)?),
                }
            }
            node(children, false, None)
        }
        Token::OpenBracket => {
            let mut children = Vec::new();
            loop {
                match tokens.get(*pos)? {
                    Token::CloseBracket => {
                        *pos += 1;
                        break;
                    }
                    _ => children.push(parse_item(tokens, pos)?),
                }
            }
            node(children, true, None)
        }
        Token::Str(s) => node(Vec::new(), false, Some(s)),
        Token::Word => node(Vec::new(), false, None),
        // A stray capture or quantifier: tolerate, it carries no literal.
        Token::Capture(_) | Token::Quantifier(_) => node(Vec::new(), false, None),
        Token::Close | Token::CloseBracket | Token::Predicate(_) => return None,
    };
    // Suffixes: quantifiers and captures, in any order.
    while let Some(next) = tokens.get(*pos) {
        match (next, &mut item) {
            (Token::Quantifier(q), Item::Node { optional, .. }) => {
                if *q == '?' || *q == '*' {
                    *optional = true;
                }
            }
            (Token::Capture(c), Item::Node { captures, .. }) => captures.push(c.clone()),
            _ => break,
        }
        *pos += 1;
    }
    Some(item)
}

fn node(children: Vec<Item>, alternation: bool, literal: Option<String>) -> Item {
    Item::Node {
        children,
        alternation,
        optional: false,
        captures: Vec::new(),
        literal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Requirement {
        Requirement::Literal(s.as_bytes().to_vec())
    }

    #[test]
    fn eq_predicate_on_a_mandatory_capture_is_required() {
        let req = requirement_of_query(
            r#"(call_expression function: (identifier) @f (#eq? @f "panic"))"#,
        );
        assert_eq!(req, lit("panic"));
        assert!(req.holds(b"x := panic(1)"));
        assert!(!req.holds(b"x := 1"));
    }

    #[test]
    fn any_of_becomes_a_choice() {
        let req = requirement_of_query(
            r#"(call (sel (identifier) @p (field) @f) (#eq? @p "os") (#any-of? @f "Open" "Create"))"#,
        );
        assert!(req.holds(b"os.Create"));
        assert!(!req.holds(b"os.Remove"));
        assert!(!req.holds(b"Open"));
    }

    #[test]
    fn anonymous_nodes_are_literals() {
        let req = requirement_of_query(r#"(unsafe_block "unsafe" (block))"#);
        assert_eq!(req, lit("unsafe"));
    }

    #[test]
    fn optional_and_alternated_parts_are_not_required() {
        let req = requirement_of_query(r#"(call (identifier)? @f (#eq? @f "panic"))"#);
        assert_eq!(req, Requirement::Always);
        let req = requirement_of_query(r#"[(a "x") (b "y")]"#);
        assert!(req.holds(b"y") && req.holds(b"x") && !req.holds(b"z"));
        let req = requirement_of_query(r#"(a (b "x")* "y")"#);
        assert_eq!(req, lit("y"));
    }

    #[test]
    fn several_patterns_need_only_one() {
        let req = requirement_of_query(
            r#"((identifier) @a (#eq? @a "alpha")) ((identifier) @b (#eq? @b "beta"))"#,
        );
        assert!(req.holds(b"beta") && req.holds(b"alpha") && !req.holds(b"gamma"));
    }

    #[test]
    fn comments_and_unparsable_queries_are_safe() {
        let req = requirement_of_query("; \"nope\"\n(a \"yes\")");
        assert_eq!(req, lit("yes"));
        assert_eq!(
            requirement_of_query("(a \"unterminated"),
            Requirement::Always
        );
    }
}
