//! Literal prefilter: which strings must a file contain for a query to match?
//!
//! Parsing dominates the cost of a scan, so a file that cannot match any rule
//! is not parsed at all. The requirement is derived from the query text:
//! anonymous nodes (`"unsafe"`) and `#eq?`/`#any-of?` predicates on captures
//! that every match must have. Anything optional, quantified or alternated is
//! treated conservatively, so the filter never drops a file that could match.
//! Literals that are whole tokens (keywords, and `#eq?` values of identifier
//! captures) must also stand alone: `panic` does not count inside `panics`.
//! A `#match?` regex that is plain text (`"(?i)safety:"`) is a literal too,
//! matched in any ASCII case when the regex ignores case.

use memchr::memmem;

/// A boolean formula over "the file contains this literal".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Always,
    Literal(Box<Literal>),
    All(Vec<Requirement>),
    Any(Vec<Requirement>),
}

/// A string the file must contain; `word` when it must not touch identifier
/// characters on either side; `caseless` when any ASCII case will do (the
/// needle is then lower case).
#[derive(Debug, Clone)]
pub struct Literal {
    finder: memmem::Finder<'static>,
    word: bool,
    caseless: bool,
}

impl PartialEq for Literal {
    fn eq(&self, other: &Self) -> bool {
        self.finder.needle() == other.finder.needle()
            && self.word == other.word
            && self.caseless == other.caseless
    }
}

impl Eq for Literal {}

impl Literal {
    pub fn new(text: &str, token: bool) -> Literal {
        Literal {
            finder: memmem::Finder::new(text.as_bytes()).into_owned(),
            // Only a word-shaped token can be checked for word boundaries.
            word: token && !text.is_empty() && text.bytes().all(is_ident_byte),
            caseless: false,
        }
    }

    /// `text` in any ASCII case, anywhere (not only as a whole token).
    fn caseless(text: &str) -> Literal {
        Literal {
            finder: memmem::Finder::new(text.to_ascii_lowercase().as_bytes()).into_owned(),
            word: false,
            caseless: true,
        }
    }

    fn found_in(&self, text: &[u8]) -> bool {
        self.starts(text).any(|at| self.stands_alone(text, at))
    }

    pub fn occurrences(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let len = self.finder.needle().len();
        self.starts(text)
            .filter(|at| self.stands_alone(text, *at))
            .map(|at| (at, at + len))
            .collect()
    }

    /// Where the needle starts in `text` (in any ASCII case if `caseless`).
    fn starts<'a>(&'a self, text: &'a [u8]) -> Box<dyn Iterator<Item = usize> + 'a> {
        let needle = self.finder.needle();
        match needle.first() {
            Some(&first) if self.caseless => Box::new(
                memchr::memchr2_iter(first, first.to_ascii_uppercase(), text).filter(move |&at| {
                    text.get(at..at + needle.len())
                        .is_some_and(|found| found.eq_ignore_ascii_case(needle))
                }),
            ),
            _ => Box::new(self.finder.find_iter(text)),
        }
    }

    fn stands_alone(&self, text: &[u8], at: usize) -> bool {
        let len = self.finder.needle().len();
        !self.word
            || (!text
                .get(at.wrapping_sub(1))
                .is_some_and(|b| is_ident_byte(*b))
                && !text.get(at + len).is_some_and(|b| is_ident_byte(*b)))
    }
}

/// ASCII identifier characters. Bytes of non-ASCII characters count as
/// boundaries, which can only let more files through, never fewer.
fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Requirement {
    /// Returns true if and only if `text` satisfies the formula.
    pub fn holds(&self, text: &[u8]) -> bool {
        match self {
            Requirement::Always => true,
            Requirement::Literal(lit) => lit.found_in(text),
            Requirement::All(parts) => parts.iter().all(|p| p.holds(text)),
            Requirement::Any(parts) => parts.iter().any(|p| p.holds(text)),
        }
    }

    /// Byte ranges of `text` such that every match of the query overlaps one
    /// of them, or `None` when the whole file must be searched. Lets the
    /// query run only around the rarest literal instead of over every node.
    pub fn anchors(&self, text: &[u8]) -> Option<Vec<(usize, usize)>> {
        match self {
            Requirement::Always => None,
            Requirement::Literal(lit) => Some(lit.occurrences(text)),
            // Every match contains every part: the part found least often will do.
            Requirement::All(parts) => parts
                .iter()
                .filter_map(|p| p.anchors(text))
                .min_by_key(Vec::len),
            // A match contains one of the parts: all of their places are needed.
            Requirement::Any(parts) => {
                let mut all = Vec::new();
                for part in parts {
                    all.extend(part.anchors(text)?);
                }
                all.sort_unstable();
                Some(all)
            }
        }
    }

    /// A readable form for rule authors: `"os" & ("Open" | "Create")`, or
    /// `none` when every file of the language must be parsed.
    pub fn describe(&self) -> String {
        match self {
            Requirement::Always => "none".into(),
            Requirement::Literal(lit) => format!(
                "{}{:?}",
                if lit.caseless { "(?i)" } else { "" },
                String::from_utf8_lossy(lit.finder.needle())
            ),
            Requirement::All(parts) => parts
                .iter()
                .map(|p| p.describe_nested())
                .collect::<Vec<_>>()
                .join(" & "),
            Requirement::Any(parts) => parts
                .iter()
                .map(|p| p.describe_nested())
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }

    fn describe_nested(&self) -> String {
        match self {
            Requirement::All(_) | Requirement::Any(_) => format!("({})", self.describe()),
            _ => self.describe(),
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
        // The same choice twice (patterns repeating one literal) would count
        // its places twice when anchoring.
        let mut unique: Vec<Requirement> = Vec::new();
        for part in parts {
            if !unique.contains(&part) {
                unique.push(part);
            }
        }
        if unique.len() == 1 {
            return unique.into_iter().next().unwrap_or(Requirement::Always);
        }
        Requirement::Any(unique)
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

/// Returns true if and only if every top-level pattern of the query has one
/// root node. Only then does every match contain its literals inside its
/// first node, which is what running a query in a byte range relies on
/// (tree-sitter starts no match on a node outside the range, but finishes
/// matches that started inside it). A sibling sequence like
/// `((comment) . (function_item))` may start far from its literal.
pub fn is_anchorable(source: &str) -> bool {
    fn single_root(item: &Item) -> bool {
        match item {
            Item::Predicate { .. } => true,
            Item::Node { optional: true, .. } => false,
            Item::Node {
                alternation: true,
                children,
                ..
            } => children.iter().all(single_root),
            Item::Node {
                children,
                literal,
                kind,
                ..
            } => {
                if literal.is_some() || kind.is_some() {
                    return true;
                }
                match children.first() {
                    // `(kind …)`: a node pattern
                    Some(Item::Node { kind: Some(_), .. }) => true,
                    // `( … )` without a kind: a group; one node pattern in it is fine
                    _ => {
                        let nodes: Vec<&Item> = children
                            .iter()
                            .filter(|c| !matches!(c, Item::Predicate { .. }))
                            .collect();
                        nodes.len() == 1 && single_root(nodes[0])
                    }
                }
            }
        }
    }
    parse(source).is_some_and(|items| items.iter().all(single_root))
}

/// Returns true if and only if every top-level pattern of the query is a node
/// of kind `root_kind` (with predicates, or alone in a group): given the root
/// kind of a grammar, its matches can start only at the root, and a cursor
/// limited to start there walks the root's children instead of the whole tree.
pub fn is_rooted_at(source: &str, root_kind: &str) -> bool {
    fn rooted(item: &Item, root_kind: &str) -> bool {
        match item {
            Item::Predicate { .. } => true,
            Item::Node {
                children,
                alternation: false,
                optional: false,
                literal: None,
                kind: None,
                ..
            } => match children.first() {
                Some(Item::Node { kind: Some(k), .. }) => k == root_kind,
                // a group: one node pattern in it, rooted there
                _ => {
                    let nodes: Vec<&Item> = children
                        .iter()
                        .filter(|c| !matches!(c, Item::Predicate { .. }))
                        .collect();
                    nodes.len() == 1 && rooted(nodes[0], root_kind)
                }
            },
            Item::Node { .. } => false,
        }
    }
    parse(source).is_some_and(|items| {
        items.iter().any(|i| !matches!(i, Item::Predicate { .. }))
            && items.iter().all(|i| rooted(i, root_kind))
    })
}

/// Names of the captures that are on identifier nodes or anonymous tokens in
/// every place they appear: their text is always a whole token.
pub fn token_captures(source: &str) -> Vec<String> {
    let Some(items) = parse(source) else {
        return Vec::new();
    };
    let mut seen: Vec<(String, bool)> = Vec::new();
    fn visit(item: &Item, seen: &mut Vec<(String, bool)>) {
        if let Item::Node {
            children,
            captures,
            literal,
            ..
        } = item
        {
            let token = literal.is_some()
                || matches!(children.first(), Some(Item::Node { kind: Some(k), .. }) if k.ends_with("identifier"));
            seen.extend(captures.iter().map(|c| (c.clone(), token)));
            for child in children {
                visit(child, seen);
            }
        }
    }
    for item in &items {
        visit(item, &mut seen);
    }
    let mut names: Vec<String> = seen
        .iter()
        .filter(|(name, _)| seen.iter().filter(|(n, _)| n == name).all(|(_, t)| *t))
        .map(|(n, _)| n.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn requirement_of_pattern(items: &[Item]) -> Requirement {
    // tree-sitter applies every predicate of a pattern wherever it is written
    // (a predicate on a capture the match lacks passes), so collect them all
    // first, then apply each where its capture is mandatory.
    let mut predicates = Vec::new();
    for item in items {
        collect_predicates(item, &mut predicates);
    }
    let mut captures = Vec::new();
    let mut parts = Vec::new();
    for item in items {
        parts.push(walk(item, &predicates, &mut captures));
    }
    parts.push(predicate_requirement(&predicates, &captures));
    Requirement::all(parts)
}

type Predicate = (String, Vec<Arg>);

fn collect_predicates(item: &Item, out: &mut Vec<Predicate>) {
    match item {
        Item::Predicate { name, args } => out.push((name.clone(), args.clone())),
        Item::Node { children, .. } => {
            for child in children {
                collect_predicates(child, out);
            }
        }
    }
}

/// The literals that `#eq?`/`#any-of?` predicates demand of `captures`
/// (captures every match has, with whether each holds a whole token).
fn predicate_requirement(predicates: &[Predicate], captures: &[(String, bool)]) -> Requirement {
    let mut parts = Vec::new();
    for (name, args) in predicates {
        let Some(Arg::Capture(capture)) = args.first() else {
            continue;
        };
        let mut places = captures.iter().filter(|(c, _)| c == capture).peekable();
        if places.peek().is_none() {
            continue;
        }
        let token = places.all(|(_, t)| *t);
        let strings: Vec<Requirement> = args[1..]
            .iter()
            .map(|a| match a {
                Arg::Str(s) => Some(Requirement::Literal(Box::new(Literal::new(s, token)))),
                _ => None,
            })
            .collect::<Option<_>>()
            .unwrap_or_default();
        match name.as_str() {
            "eq?" if strings.len() == 1 => parts.extend(strings),
            "any-of?" if !strings.is_empty() => parts.push(Requirement::any(strings)),
            "match?" => {
                if let [_, Arg::Str(pattern)] = args.as_slice() {
                    parts.extend(regex_literal(pattern).map(|l| Requirement::Literal(Box::new(l))));
                }
            }
            _ => {}
        }
    }
    Requirement::all(parts)
}

/// Shortest run of a case-insensitive regex worth searching for.
const MIN_CASELESS_LITERAL: usize = 3;

/// The literal that every text a `#match?` regex matches contains, when the
/// regex is plain text (letters, digits, `_`, `:` and spaces), optionally
/// preceded by `(?i)`. A case-insensitive regex also matches `ſ` for `s` and
/// the Kelvin sign for `k` (Unicode case folding), which an ASCII caseless
/// search would miss: only the longest run without those letters is kept.
fn regex_literal(pattern: &str) -> Option<Literal> {
    let (caseless, body) = match pattern.strip_prefix("(?i)") {
        Some(body) => (true, body),
        None => (false, pattern),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | ' ');
    if body.is_empty() || !body.chars().all(plain) {
        return None;
    }
    if !caseless {
        return Some(Literal::new(body, false));
    }
    let run = body
        .split(|c: char| matches!(c.to_ascii_lowercase(), 's' | 'k'))
        .max_by_key(|run| run.len())?;
    (run.len() >= MIN_CASELESS_LITERAL).then(|| Literal::caseless(run))
}

/// Returns the structural requirement of a mandatory `item` and records the
/// captures every match of it has. An alternation's branches each get their
/// own captures' predicate literals, so they are not recorded above it.
fn walk(item: &Item, predicates: &[Predicate], captures: &mut Vec<(String, bool)>) -> Requirement {
    match item {
        Item::Predicate { .. } => Requirement::Always,
        Item::Node { optional: true, .. } => Requirement::Always,
        Item::Node {
            children,
            alternation: true,
            captures: own,
            ..
        } => {
            captures.extend(own.iter().map(|c| (c.clone(), false)));
            let branches = children
                .iter()
                .map(|branch| {
                    let mut branch_captures = Vec::new();
                    let structure = walk(branch, predicates, &mut branch_captures);
                    Requirement::all(vec![
                        structure,
                        predicate_requirement(predicates, &branch_captures),
                    ])
                })
                .collect();
            Requirement::any(branches)
        }
        Item::Node {
            children,
            captures: own,
            literal,
            ..
        } => {
            // A capture on an identifier node or an anonymous token holds a whole token.
            let token = literal.is_some()
                || matches!(children.first(), Some(Item::Node { kind: Some(k), .. }) if k.ends_with("identifier"));
            captures.extend(own.iter().map(|c| (c.clone(), token)));
            let mut parts = Vec::new();
            if let Some(lit) = literal {
                parts.push(Requirement::Literal(Box::new(Literal::new(lit, true))));
            }
            for child in children {
                parts.push(walk(child, predicates, captures));
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
        /// The text of a bare word (a node kind such as `identifier`).
        kind: Option<String>,
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
    Word(String),
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
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '-' || n == '.' {
                        word.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if c != ':' && c != '.' && c != '!' {
                    // `name:` is a field name, not a node kind
                    let is_field = chars.peek() == Some(&':');
                    tokens.push(Token::Word(if is_field { String::new() } else { word }));
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
        Token::Word(word) => Item::Node {
            children: Vec::new(),
            alternation: false,
            optional: false,
            captures: Vec::new(),
            literal: None,
            kind: (!word.is_empty()).then_some(word),
        },
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
        kind: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Requirement {
        Requirement::Literal(Box::new(Literal::new(s, true)))
    }

    #[test]
    fn anchors_are_the_rarest_literal_or_all_choices() {
        let req = requirement_of_query(
            r#"((call (sel (identifier) @p (field) @f)) (#eq? @p "os") (#eq? @f "Open"))"#,
        );
        let text = b"os os os Open os";
        assert_eq!(req.anchors(text), Some(vec![(9, 13)]));
        let req = requirement_of_query(r#"[(a "x") (b "y")]"#);
        assert_eq!(req.anchors(b"y x"), Some(vec![(0, 1), (2, 3)]));
        let req = requirement_of_query(r#"[(a "x") (b)]"#);
        assert_eq!(req.anchors(b"y x"), None);
    }

    #[test]
    fn only_single_rooted_patterns_can_be_anchored() {
        assert!(is_anchorable(
            r#"((call_expression function: (identifier) @f) @m (#eq? @f "x"))"#
        ));
        assert!(is_anchorable(r#"([(a "x") (b (c))] @m (#eq? @m "y"))"#));
        assert!(is_anchorable(
            r#"(unsafe_block "unsafe") @m (identifier) @i"#
        ));
        assert!(!is_anchorable(
            r#"((line_comment) @c . (function_item) @f (#eq? @c "x"))"#
        ));
        assert!(!is_anchorable(r#"[(a) ((b) (c))]"#));
        assert!(!is_anchorable("(a"));
    }

    #[test]
    fn a_query_is_rooted_at_a_kind_only_when_every_pattern_starts_there() {
        let rooted = |q: &str| is_rooted_at(q, "source_file");
        assert!(rooted("(source_file (line_comment) @c)"));
        assert!(rooted(
            r#"(source_file (a) @x (#match? @x "y")) (source_file . (b))"#
        ));
        assert!(rooted(r#"((source_file (a) @x) (#eq? @x "y"))"#));
        // another root, a wildcard, an alternation, a quantifier, a sibling group
        assert!(!rooted("(source_file (a)) (block (a))"));
        assert!(!rooted("(_ (a))"));
        assert!(!rooted("[(source_file (a)) (source_file (b))]"));
        assert!(!rooted("(source_file (a))?"));
        assert!(!rooted("((source_file) (a))"));
        assert!(!rooted("(source_file_x (a))"));
        assert!(!rooted("(source_file"));
        assert!(!rooted(""));
    }

    #[test]
    fn identifier_literals_must_stand_alone() {
        let req = requirement_of_query(r#"((call function: (identifier) @f) (#eq? @f "panic"))"#);
        assert!(req.holds(b"panic(1)"));
        assert!(req.holds(b"x panics; then panic(1)"));
        assert!(!req.holds(b"// this panics"));
        assert!(!req.holds(b"nopanic()"));
        // a capture on any node may be part of a longer word
        let req = requirement_of_query(r#"((call function: (_) @f) (#eq? @f "panic"))"#);
        assert!(req.holds(b"panics"));
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
    fn a_plain_match_regex_is_a_literal_in_any_case() {
        let req = requirement_of_query(r#"((line_comment) @c (#match? @c "(?i)safety:"))"#);
        // `s` also matches `ſ` under Unicode case folding: only `afety:` is required.
        assert_eq!(
            req,
            Requirement::Literal(Box::new(Literal::caseless("afety:")))
        );
        for text in [
            "// SAFETY: ok",
            "x// Safety:",
            "// ſAFETY: odd",
            "//safety:",
        ] {
            assert!(req.holds(text.as_bytes()), "{text}");
        }
        assert!(!req.holds(b"// # Safety\n// safety without colon"));
        assert_eq!(
            req.anchors(b"a SAFETY: b safety:"),
            Some(vec![(3, 9), (13, 19)])
        );
        let req = requirement_of_query(r#"((identifier) @c (#match? @c "Lock"))"#);
        assert!(req.holds(b"mutexLocker") && !req.holds(b"lock"));
    }

    #[test]
    fn other_regexes_and_negations_require_nothing() {
        for query in [
            r#"((identifier) @c (#match? @c "^err$"))"#,
            r#"((identifier) @c (#match? @c "(?i)dump|debug"))"#,
            r#"((identifier) @c (#not-match? @c "(?i)safety:"))"#,
            r#"((identifier) @c (#match? @c "(?i)sk"))"#,
            r#"((identifier)? @c (#match? @c "(?i)safety:"))"#,
        ] {
            assert_eq!(requirement_of_query(query), Requirement::Always, "{query}");
        }
    }

    #[test]
    fn a_match_regex_literal_never_rejects_text_the_query_matches() {
        let grammar = crate::lang::Language::Rust.grammar();
        let source = r#"((line_comment) @c (#match? @c "(?i)safety:"))"#;
        let query = tree_sitter::Query::new(&grammar, source).unwrap();
        let req = requirement_of_query(source);
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&grammar).unwrap();
        for comment in [
            "SAFETY:", "Safety:", "ſafety:", "ſAFETY:", "SAFETY", "afety:", "safety",
        ] {
            let text = format!("fn f() {{\n    // {comment} x\n}}\n");
            let tree = parser.parse(&text, None).unwrap();
            use tree_sitter::StreamingIterator;
            let mut cursor = tree_sitter::QueryCursor::new();
            let mut matches = cursor.matches(&query, tree.root_node(), text.as_bytes());
            let matched = matches.next().is_some();
            if matched {
                assert!(req.holds(text.as_bytes()), "{comment}");
                assert!(
                    !req.anchors(text.as_bytes()).unwrap().is_empty(),
                    "{comment}"
                );
            }
        }
    }

    #[test]
    fn a_choice_repeated_by_several_patterns_counts_its_places_once() {
        let req = requirement_of_query(
            r#"((a) @f (#any-of? @f "x" "y")) ((b) @f (#any-of? @f "x" "y"))"#,
        );
        assert_eq!(req.anchors(b"x y"), Some(vec![(0, 1), (2, 3)]));
        let req = requirement_of_query(r#"(a "x") (b "x")"#);
        assert_eq!(req, lit("x"));
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
    fn captures_shared_by_all_branches_are_mandatory() {
        let req = requirement_of_query(
            r#"([(a (identifier) @p) (b (identifier) @p (identifier) @q)] @m (#eq? @p "os") (#eq? @q "zz"))"#,
        );
        assert!(req.holds(b"os") && !req.holds(b"zz") && !req.holds(b"o s"));
    }

    #[test]
    fn predicates_in_branches_require_their_branch_literals() {
        let req = requirement_of_query(
            r#"([((call (identifier) @a) (#eq? @a "alpha")) ((lit (type) @b) (#eq? @b "Beta"))] @m)"#,
        );
        assert!(req.holds(b"alpha()") && req.holds(b"x := Beta{}"));
        assert!(!req.holds(b"gamma"));
        // a capture only in one branch: the other branch needs nothing
        let req =
            requirement_of_query(r#"([(call (identifier) @a) (other)] @m (#eq? @a "alpha"))"#);
        assert_eq!(req, Requirement::Always);
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
