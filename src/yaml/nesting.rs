//! How deep flow collections (`[` and `{`) nest in a YAML text, found by one
//! linear pass before the text reaches libyaml, whose scanner costs
//! O(tokens × flow depth): 200 KB of `[` takes tens of seconds.
//!
//! The pass follows libyaml's own scanner (`unsafe-libyaml`'s `scanner.rs`)
//! token by token, so brackets inside quoted, plain and block scalars, tags
//! and comments are read exactly as the parser will read them: a bracket it
//! counts is one that opens a collection there. Only the block indentation
//! (which decides where plain and block scalars end) is tracked the way
//! libyaml's indentation stack does, from `-`, `?` and simple keys. Where the
//! text has a token libyaml refuses, the pass stops: the parser stops there
//! too, with its own error.

/// The first place where flow nesting goes deeper than `limit`: 1-based line
/// and column of the bracket that opens one level too many.
pub fn too_deep(text: &str, limit: usize) -> Option<(usize, usize)> {
    let mut scanner = Scanner {
        b: text.as_bytes(),
        i: 0,
        line: 1,
        col: 0,
        depth: 0,
        indent: -1,
        indents: Vec::new(),
        key_allowed: true,
        key: None,
    };
    scanner.run(limit)
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
    /// 0-based column in bytes (only indentation, which is ASCII, is compared).
    col: usize,
    depth: usize,
    /// libyaml's block indentation level and the stack of the outer ones.
    indent: isize,
    indents: Vec<isize>,
    /// Whether a simple key (`key: value` without `?`) may start here.
    key_allowed: bool,
    /// (line, column) of the possible simple key in block context.
    key: Option<(usize, usize)>,
}

/// The token kinds the scanner stops at when libyaml would report an error.
struct Refused;

impl Scanner<'_> {
    fn at(&self, offset: usize) -> u8 {
        self.b.get(self.i + offset).copied().unwrap_or(0)
    }

    fn blankz(&self, offset: usize) -> bool {
        matches!(self.at(offset), 0 | b' ' | b'\t' | b'\r' | b'\n')
    }

    fn is_break(&self) -> bool {
        matches!(self.at(0), b'\r' | b'\n')
    }

    fn eof(&self) -> bool {
        self.i >= self.b.len()
    }

    /// Steps over one character (a line break moves to the next line).
    fn skip(&mut self) {
        match self.at(0) {
            b'\r' if self.at(1) == b'\n' => {
                self.i += 2;
                self.newline();
            }
            b'\r' | b'\n' => {
                self.i += 1;
                self.newline();
            }
            _ => {
                self.i += 1;
                self.col += 1;
            }
        }
    }

    fn newline(&mut self) {
        self.line += 1;
        self.col = 0;
    }

    fn skip_line(&mut self) {
        while !self.eof() && !self.is_break() {
            self.skip();
        }
    }

    fn alpha(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
    }

    fn document_marker(&self) -> bool {
        self.col == 0
            && (self.b[self.i..].starts_with(b"---") || self.b[self.i..].starts_with(b"..."))
            && self.blankz(3)
    }

    fn roll(&mut self, column: usize) {
        if self.depth == 0 && self.indent < column as isize {
            self.indents.push(self.indent);
            self.indent = column as isize;
        }
    }

    fn unroll(&mut self, column: isize) {
        if self.depth != 0 {
            return;
        }
        while self.indent > column {
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    fn save_key(&mut self) {
        if self.key_allowed && self.depth == 0 {
            self.key = Some((self.line, self.col));
        }
    }

    /// libyaml forgets the possible simple key of the current flow level at
    /// these tokens; only the block level's key (depth 0) is tracked.
    fn drop_key(&mut self) {
        if self.depth == 0 {
            self.key = None;
        }
    }

    fn run(&mut self, limit: usize) -> Option<(usize, usize)> {
        loop {
            self.skip_to_next_token();
            if self.eof() {
                return None;
            }
            if self.key.is_some_and(|(line, _)| line != self.line) {
                self.key = None;
            }
            self.unroll(self.col as isize);
            match self.token() {
                Ok(Some(position)) if self.depth > limit => return Some(position),
                Ok(_) => {}
                Err(Refused) => return None,
            }
        }
    }

    /// Skips blanks, line breaks and comments up to the next token.
    fn skip_to_next_token(&mut self) {
        loop {
            while self.at(0) == b' '
                || (self.at(0) == b'\t' && (self.depth > 0 || !self.key_allowed))
            {
                self.skip();
            }
            if self.at(0) == b'#' {
                self.skip_line();
            }
            if !self.is_break() {
                return;
            }
            self.skip();
            if self.depth == 0 {
                self.key_allowed = true;
            }
        }
    }

    /// Reads one token; returns the position of a flow collection start.
    fn token(&mut self) -> Result<Option<(usize, usize)>, Refused> {
        let c = self.at(0);
        if self.col == 0 && c == b'%' {
            self.skip_line();
            return Ok(None);
        }
        if self.document_marker() {
            self.unroll(-1);
            self.key = None;
            self.key_allowed = false;
            self.i += 3;
            self.col += 3;
            return Ok(None);
        }
        match c {
            b'[' | b'{' => {
                let position = (self.line, self.col + 1);
                self.save_key();
                self.depth += 1;
                self.key_allowed = true;
                self.skip();
                return Ok(Some(position));
            }
            b']' | b'}' => {
                self.drop_key();
                self.depth = self.depth.saturating_sub(1);
                self.key_allowed = false;
                self.skip();
            }
            b',' => {
                self.drop_key();
                self.key_allowed = true;
                self.skip();
            }
            b'-' if self.blankz(1) => {
                self.drop_key();
                self.roll(self.col);
                self.key_allowed = true;
                self.skip();
            }
            b'?' if self.depth > 0 || self.blankz(1) => {
                self.drop_key();
                self.roll(self.col);
                self.key_allowed = self.depth == 0;
                self.skip();
            }
            b':' if self.depth > 0 || self.blankz(1) => {
                // After a simple key's value no other key may start on the line.
                // Inside a flow collection the key is that level's, not the block's.
                let key = if self.depth == 0 {
                    self.key.take()
                } else {
                    None
                };
                self.key_allowed = match key {
                    Some((_, column)) => {
                        self.roll(column);
                        false
                    }
                    None => {
                        self.roll(self.col);
                        self.depth == 0
                    }
                };
                self.skip();
            }
            b'*' | b'&' => {
                self.save_key();
                self.skip();
                self.anchor()?;
                self.key_allowed = false;
            }
            b'!' => {
                self.save_key();
                self.tag()?;
                self.key_allowed = false;
            }
            b'|' | b'>' if self.depth == 0 => {
                self.drop_key();
                self.block_scalar()?;
                self.key_allowed = true;
            }
            b'\'' | b'"' => {
                self.save_key();
                self.quoted(c)?;
                self.key_allowed = false;
            }
            _ if self.plain_can_start() => {
                self.save_key();
                self.key_allowed = self.plain()?;
            }
            _ => return Err(Refused),
        }
        Ok(None)
    }

    fn anchor(&mut self) -> Result<(), Refused> {
        let start = self.i;
        while Self::alpha(self.at(0)) {
            self.skip();
        }
        let ends = self.blankz(0) || b"?:,]}%@`".contains(&self.at(0));
        if self.i == start || !ends {
            return Err(Refused);
        }
        Ok(())
    }

    fn tag(&mut self) -> Result<(), Refused> {
        let uri = |c: u8, verbatim: bool| {
            Self::alpha(c) || b";/?:@&=+$.%!~*'()".contains(&c) || (verbatim && b",[]".contains(&c))
        };
        self.skip(); // `!`
        if self.at(0) == b'<' {
            self.skip();
            while uri(self.at(0), true) {
                self.skip();
            }
            if self.at(0) != b'>' {
                return Err(Refused);
            }
            self.skip();
        } else {
            while uri(self.at(0), false) {
                self.skip();
            }
        }
        if self.blankz(0) || (self.depth > 0 && self.at(0) == b',') {
            Ok(())
        } else {
            Err(Refused)
        }
    }

    /// A single- or double-quoted scalar, over as many lines as it takes.
    fn quoted(&mut self, quote: u8) -> Result<(), Refused> {
        self.skip();
        loop {
            if self.eof() || self.document_marker() {
                return Err(Refused);
            }
            match self.at(0) {
                b'\'' if quote == b'\'' && self.at(1) == b'\'' => {
                    self.skip();
                    self.skip();
                }
                b'\\' if quote == b'"' => {
                    self.skip();
                    if self.eof() {
                        return Err(Refused);
                    }
                    self.skip();
                }
                c if c == quote => {
                    self.skip();
                    return Ok(());
                }
                _ => self.skip(),
            }
        }
    }

    fn plain_can_start(&self) -> bool {
        let c = self.at(0);
        let indicator = self.blankz(0) || b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !indicator
            || (c == b'-' && !matches!(self.at(1), b' ' | b'\t'))
            || (self.depth == 0 && matches!(c, b'?' | b':') && !self.blankz(1))
    }

    /// A plain scalar, continued over lines as libyaml does. Returns whether
    /// it ended after a line break (a simple key may then follow).
    fn plain(&mut self) -> Result<bool, Refused> {
        let indent = self.indent + 1;
        let mut leading_blanks = false;
        loop {
            if self.document_marker() || self.at(0) == b'#' {
                break;
            }
            while !self.blankz(0) {
                let c = self.at(0);
                let next = self.at(1);
                if self.depth > 0 && c == b':' && b",?[]{}".contains(&next) && next != 0 {
                    return Err(Refused);
                }
                if (c == b':' && self.blankz(1)) || (self.depth > 0 && b",[]{}".contains(&c)) {
                    return Ok(leading_blanks);
                }
                leading_blanks = false;
                self.skip();
            }
            if !(matches!(self.at(0), b' ' | b'\t') || self.is_break()) {
                break;
            }
            while matches!(self.at(0), b' ' | b'\t') || self.is_break() {
                if self.at(0) == b'\t' && leading_blanks && (self.col as isize) < indent {
                    return Err(Refused);
                }
                if self.is_break() {
                    leading_blanks = true;
                }
                self.skip();
            }
            if self.depth == 0 && (self.col as isize) < indent {
                break;
            }
        }
        Ok(leading_blanks)
    }

    /// A `|` or `>` scalar: its header, then every line indented at least as
    /// far as its content (found from the first non-empty line).
    fn block_scalar(&mut self) -> Result<(), Refused> {
        self.skip();
        let mut increment = 0usize;
        for _ in 0..2 {
            match self.at(0) {
                b'+' | b'-' => self.skip(),
                c @ b'1'..=b'9' if increment == 0 => {
                    increment = usize::from(c - b'0');
                    self.skip();
                }
                b'0' => return Err(Refused),
                _ => {}
            }
        }
        while matches!(self.at(0), b' ' | b'\t') {
            self.skip();
        }
        if self.at(0) == b'#' {
            self.skip_line();
        }
        if !self.eof() && !self.is_break() {
            return Err(Refused);
        }
        let mut indent: isize = 0;
        if increment > 0 {
            indent = if self.indent >= 0 {
                self.indent + increment as isize
            } else {
                increment as isize
            };
        }
        self.skip(); // the line break
        let detect = indent == 0;
        self.block_breaks(&mut indent, detect)?;
        while self.col as isize == indent && !self.eof() {
            self.skip_line();
            if self.eof() {
                break;
            }
            self.skip();
            self.block_breaks(&mut indent, false)?;
        }
        Ok(())
    }

    /// Empty lines of a block scalar (libyaml's `scan_block_scalar_breaks`);
    /// with `detect`, sets the indentation from them and the first content line.
    fn block_breaks(&mut self, indent: &mut isize, detect: bool) -> Result<(), Refused> {
        let mut max_indent = 0isize;
        loop {
            while (*indent == 0 || (self.col as isize) < *indent) && self.at(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(self.col as isize);
            if (*indent == 0 || (self.col as isize) < *indent) && self.at(0) == b'\t' {
                return Err(Refused);
            }
            if !self.is_break() {
                break;
            }
            self.skip();
        }
        if detect {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::too_deep;

    fn depth_ok(text: &str, limit: usize) -> bool {
        too_deep(text, limit).is_none()
    }

    #[test]
    fn counts_flow_collections() {
        assert!(depth_ok("a: [[1], {b: [2]}]\n", 3));
        assert_eq!(too_deep("a: [[1], {b: [2]}]\n", 2), Some((1, 14)));
        assert_eq!(too_deep(&"[".repeat(100), 64), Some((1, 65)));
        assert_eq!(
            too_deep("x: 1\ny:\n  - {a: {b: {c: 1}}}\n", 2),
            Some((3, 13))
        );
    }

    #[test]
    fn brackets_in_scalars_and_comments_do_not_count() {
        let quoted = format!("a: \"{0}\"\nb: '{0}'\n", "[".repeat(100));
        assert!(depth_ok(&quoted, 2));
        let plain = format!("a: x{0}\nb: text {0}\n  more {0}\n", "[".repeat(100));
        assert!(depth_ok(&plain, 2));
        let comment = format!("# {0}\na: 1 # {0}\n", "[".repeat(100));
        assert!(depth_ok(&comment, 2));
        let block = format!("a: |\n  {0}\n\n  {0}\nb: >-\n  {0}\n", "[".repeat(100));
        assert!(depth_ok(&block, 2));
        let tag = format!("a: !t{0} x\n", "(".repeat(10));
        assert!(depth_ok(&tag, 2));
    }

    #[test]
    fn closers_hidden_in_scalars_do_not_hide_real_openers() {
        // Each `"]]]"` is a string: the real nesting keeps growing.
        let text = format!("a: {}", "[\"]]]]\", ".repeat(100));
        assert!(too_deep(&text, 64).is_some());
        let text = format!("a: {}", "[']]]]', ".repeat(100));
        assert!(too_deep(&text, 64).is_some());
        let text = format!("a: {}", "[x]]]] #\n".repeat(100));
        assert!(
            too_deep(&text, 64).is_none(),
            "`]` ends plain scalars in flow"
        );
    }

    #[test]
    fn scalars_end_where_libyaml_ends_them() {
        // A quote inside a plain scalar is text: it must not hide what follows.
        let text = format!("a: it's\nb: {}", "[".repeat(100));
        assert!(too_deep(&text, 64).is_some());
        let text = format!("a: x\n  'y\nb: {}", "[".repeat(100));
        assert!(too_deep(&text, 64).is_some());
        let text = format!("a: [x\n'y, {}", "[".repeat(100));
        assert!(too_deep(&text, 64).is_some());
        // A block scalar ends at the first less-indented line.
        let text = format!("a: |\n  'unterminated\nb: {}", "[".repeat(100));
        assert!(too_deep(&text, 64).is_some());
        let text = format!("- a: |\n    x\n  b: {}", "[".repeat(100));
        assert!(too_deep(&text, 64).is_some());
        // A `#` inside a quoted string is no comment.
        let text = format!("a: {{k: !t \"x #\", b: {}", "[".repeat(100));
        assert!(too_deep(&text, 64).is_some());
    }

    /// The deepest flow level libyaml's scanner reaches on `text` before the
    /// end or its first error: what the pre-check must never underestimate.
    fn libyaml_depth(text: &str) -> usize {
        use std::mem::MaybeUninit;
        use unsafe_libyaml::*;
        // SAFETY: the parser and tokens are initialised by libyaml before use,
        // the input outlives the parser, and both are freed here.
        unsafe {
            let mut parser = MaybeUninit::<yaml_parser_t>::uninit();
            assert!(yaml_parser_initialize(parser.as_mut_ptr()).ok);
            let parser = parser.as_mut_ptr();
            yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as u64);
            let (mut depth, mut deepest) = (0usize, 0usize);
            loop {
                let mut token = MaybeUninit::<yaml_token_t>::uninit();
                if !yaml_parser_scan(parser, token.as_mut_ptr()).ok {
                    break;
                }
                let kind = (*token.as_ptr()).type_;
                yaml_token_delete(token.as_mut_ptr());
                match kind {
                    YAML_FLOW_SEQUENCE_START_TOKEN | YAML_FLOW_MAPPING_START_TOKEN => depth += 1,
                    YAML_FLOW_SEQUENCE_END_TOKEN | YAML_FLOW_MAPPING_END_TOKEN => {
                        depth = depth.saturating_sub(1)
                    }
                    YAML_STREAM_END_TOKEN | YAML_NO_TOKEN => break,
                    _ => {}
                }
                deepest = deepest.max(depth);
            }
            yaml_parser_delete(parser);
            deepest
        }
    }

    /// Random texts of YAML's significant pieces, checked against libyaml's
    /// own scanner (1.5 million cases passed when this was written; a few
    /// tens of thousands run on every test).
    #[test]
    fn never_below_what_libyaml_reaches_on_random_yaml() {
        const PIECES: [&str; 48] = [
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            " ",
            "\n",
            "  ",
            "- ",
            "? ",
            "#",
            "'",
            "\"",
            "\\",
            "|",
            ">",
            "!t ",
            "&a ",
            "*a ",
            "x",
            "ab",
            "--- ",
            "...",
            "\t",
            "%",
            "''",
            "+",
            "2",
            ": ",
            "!<x> ",
            "\n  ",
            "\n    ",
            "k: ",
            "\n- ",
            "\n  - ",
            "k: |\n",
            "k: >-\n",
            "\n  a: ",
            "'x'",
            "\"y\"",
            "# c\n",
            "[a, b]",
            "{a: b}",
            "|2\n",
            "\r\n",
            "---\n",
            "? x\n: y\n",
        ];
        let mut seed = 0xDEAD_BEEF_0BAD_F00Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..40_000 {
            let len = 1 + next() % 80;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let real = libyaml_depth(&text);
            for limit in 0..real {
                assert!(
                    too_deep(&text, limit).is_some(),
                    "limit {limit}, libyaml {real}: {text:?}"
                );
            }
        }
    }

    #[test]
    fn real_files_pass() {
        for (_, text) in crate::rules::library::EMBEDDED {
            for doc in super::super::documents(text) {
                assert!(depth_ok(doc.text, 8), "{}", doc.text);
            }
        }
    }
}
