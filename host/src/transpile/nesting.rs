//! How deeply a program nests, measured before any parser sees it.
//!
//! swc's parser, its visitors and QuickJS's parser all recurse once per level
//! of nesting, so a short program of nested parentheses, arrays, arrow
//! functions or `if`s can overflow a thread's stack, which aborts the whole
//! host. [`estimate`] scans the source once, without recursion, and returns an
//! upper bound of that nesting: every open `(`, `[`, `{` and template `${`
//! counts one level, and so does every construct the parsers descend into
//! without a bracket (prefix operators, assignments, `?:`, `=>`, `**`, `<`,
//! and statement keywords such as `if` and `else`) until the end of its
//! statement or enclosing bracket. The bound is generous on purpose: a flat
//! program scores low whatever its length, and only nesting raises it.
//!
//! The scanner knows strings, comments, template literals and (by the usual
//! previous-token rule) regular expression literals, so brackets inside them
//! do not count. It allocates one entry per open level, and stops as soon as
//! the bound passes the caller's limit.

/// Where the nesting first went past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    /// The byte offset in the source.
    pub offset: usize,
}

/// Keywords after which a `/` starts a regular expression, not a division.
const EXPRESSION_KEYWORDS: &[&str] = &[
    "return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "yield", "await",
    "instanceof",
];

/// Keywords the parsers descend into: prefix operators and statements whose
/// body may follow without braces.
const NESTING_KEYWORDS: &[&str] = &[
    "typeof", "void", "delete", "await", "new", "yield", "throw", "if", "else", "for", "while", "do", "with",
    "extends", "keyof",
];

/// One open bracket: what closes it, and the nesting its construct added.
struct Frame {
    closer: Closer,
    /// Levels added inside this bracket by constructs without brackets.
    chain: usize,
    /// A `{` of a block (not of an object literal): its `}` ends a statement.
    block: bool,
    /// The `(` of an `if`, `for`, `while` or `with`: its statement follows.
    header: bool,
}

/// A statement may have ended: its chains close at the next token unless
/// that token continues it (`else` after a block, an operator after a line break).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PendingEnd {
    AfterBlock,
    AfterLineBreak,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Closer {
    Paren,
    Bracket,
    Brace,
    /// The `}` of a `${` in a template literal: the template text resumes.
    TemplateExpression,
}

/// What the previous significant token was, for telling a regular expression
/// from a division and a prefix `+` from an infix one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Previous {
    /// An operand ends here: a name, a literal, `)` or `]`.
    Operand,
    /// An operand may start here.
    Operator,
}

struct Scanner<'a> {
    source: &'a [u8],
    at: usize,
    frames: Vec<Frame>,
    /// Levels added at the top level by constructs without brackets.
    top_chain: usize,
    /// The sum of every open frame and every chain: the estimate so far.
    depth: usize,
    limit: usize,
    previous: Previous,
    /// True when a `{` here opens a block: after `)`, `=>`, `else`, `do`,
    /// `try`, `finally` and where a statement starts.
    block_next: bool,
    /// True right after `if`, `for`, `while` or `with`.
    header_next: bool,
    pending_end: Option<PendingEnd>,
}

/// An upper bound of the program's nesting, or where it first passes `limit`.
pub fn estimate(source: &str, limit: usize) -> Result<usize, TooDeep> {
    let mut scanner = Scanner {
        source: source.as_bytes(),
        at: 0,
        frames: Vec::new(),
        top_chain: 0,
        depth: 0,
        limit,
        previous: Previous::Operator,
        block_next: true,
        header_next: false,
        pending_end: None,
    };
    let mut deepest = 0;
    while scanner.at < scanner.source.len() {
        scanner.step()?;
        deepest = deepest.max(scanner.depth);
    }
    Ok(deepest)
}

impl Scanner<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.source.get(self.at + ahead).copied()
    }

    /// Scans one token (or a comment, string or template text).
    fn step(&mut self) -> Result<(), TooDeep> {
        let byte = self.source[self.at];
        match byte {
            b'\n' => {
                if self.previous == Previous::Operand && self.pending_end.is_none() {
                    self.pending_end = Some(PendingEnd::AfterLineBreak);
                }
                self.at += 1;
                return Ok(());
            }
            b' ' | b'\t' | b'\r' => {
                self.at += 1;
                return Ok(());
            }
            b'/' if self.peek(1) == Some(b'/') => {
                self.skip_line_comment();
                return Ok(());
            }
            b'/' if self.peek(1) == Some(b'*') => {
                self.skip_block_comment();
                return Ok(());
            }
            _ => {}
        }
        self.settle_pending_end(byte);
        let block_next = std::mem::replace(&mut self.block_next, false);
        let header_next = std::mem::replace(&mut self.header_next, false);
        match byte {
            b'/' if self.previous == Previous::Operator => self.skip_regex(),
            b'\'' | b'"' => self.skip_string(byte),
            b'`' => {
                self.at += 1;
                self.template_text()?;
            }
            b'(' => {
                self.open(Closer::Paren)?;
                if let Some(frame) = self.frames.last_mut() {
                    frame.header = header_next;
                }
            }
            b'[' => self.open(Closer::Bracket)?,
            b'{' => {
                self.open(Closer::Brace)?;
                if let Some(frame) = self.frames.last_mut() {
                    frame.block = block_next;
                }
                self.block_next = block_next;
            }
            b')' | b']' => {
                let closed = self.close();
                self.block_next = matches!(closed, Some((Closer::Paren, _)));
                // After `if (...)` a statement must follow: not an operand's end.
                let header = matches!(closed, Some((_, true)));
                self.previous = if header { Previous::Operator } else { Previous::Operand };
            }
            b'}' => self.close_brace()?,
            b';' | b',' => {
                self.end_chain();
                self.previous = Previous::Operator;
                self.block_next = byte == b';';
                self.at += 1;
            }
            _ if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80 => self.word()?,
            _ => self.punctuator()?,
        }
        Ok(())
    }

    fn skip_line_comment(&mut self) {
        while self.at < self.source.len() && self.source[self.at] != b'\n' {
            self.at += 1;
        }
    }

    fn skip_block_comment(&mut self) {
        self.at += 2;
        while self.at < self.source.len() && !(self.source[self.at] == b'*' && self.peek(1) == Some(b'/')) {
            self.at += 1;
        }
        self.at = (self.at + 2).min(self.source.len());
    }

    fn skip_string(&mut self, quote: u8) {
        self.at += 1;
        while let Some(&byte) = self.source.get(self.at) {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'\n' => break,
                _ if byte == quote => break,
                _ => {}
            }
        }
        self.previous = Previous::Operand;
    }

    fn skip_regex(&mut self) {
        self.at += 1;
        let mut in_class = false;
        while let Some(&byte) = self.source.get(self.at) {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'[' => in_class = true,
                b']' => in_class = false,
                b'/' if !in_class => break,
                b'\n' => break,
                _ => {}
            }
        }
        self.previous = Previous::Operand;
    }

    /// Template text up to its closing backquote, or up to a `${`, which
    /// opens a level scanned as code until its `}`.
    fn template_text(&mut self) -> Result<(), TooDeep> {
        while let Some(&byte) = self.source.get(self.at) {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'`' => {
                    self.previous = Previous::Operand;
                    return Ok(());
                }
                b'$' if self.peek(0) == Some(b'{') => {
                    self.at -= 1;
                    return self.open(Closer::TemplateExpression);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn open(&mut self, closer: Closer) -> Result<(), TooDeep> {
        self.at += if closer == Closer::TemplateExpression { 2 } else { 1 };
        self.frames.push(Frame { closer, chain: 0, block: false, header: false });
        self.previous = Previous::Operator;
        self.deepen(1)
    }

    /// Closes the innermost bracket, with the chains inside it; returns what
    /// it was and whether it was a statement header.
    fn close(&mut self) -> Option<(Closer, bool)> {
        self.at += 1;
        let frame = self.frames.pop()?;
        self.depth -= 1 + frame.chain;
        if frame.block {
            self.pending_end = Some(PendingEnd::AfterBlock);
        }
        Some((frame.closer, frame.header))
    }

    fn close_brace(&mut self) -> Result<(), TooDeep> {
        match self.close() {
            Some((Closer::TemplateExpression, _)) => self.template_text(),
            _ => {
                // A block or object ends; what follows may start an operand,
                // or a statement (and so a block).
                self.previous = Previous::Operator;
                self.block_next = true;
                Ok(())
            }
        }
    }

    /// Closes the chains of a statement that ended before this token, unless
    /// the token continues it: `else`, `catch`, `finally` and `while` after a
    /// block, anything but a name or literal after a line break.
    fn settle_pending_end(&mut self, byte: u8) {
        let Some(pending) = self.pending_end.take() else { return };
        let starts_word = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80;
        let continues = match pending {
            PendingEnd::AfterLineBreak => !(starts_word || byte == b'\'' || byte == b'"'),
            PendingEnd::AfterBlock => {
                !starts_word || ["else", "catch", "finally", "while"].iter().any(|word| self.word_at_is(word))
            }
        };
        if !continues {
            self.end_chain();
        }
    }

    /// True when the word starting here is `word`.
    fn word_at_is(&self, word: &str) -> bool {
        let rest = &self.source[self.at..];
        rest.starts_with(word.as_bytes())
            && !rest.get(word.len()).is_some_and(|&byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$')
    }

    /// A statement or list item ends: the chains of the current level close.
    fn end_chain(&mut self) {
        let chain = match self.frames.last_mut() {
            Some(frame) => &mut frame.chain,
            None => &mut self.top_chain,
        };
        self.depth -= *chain;
        *chain = 0;
    }

    fn deepen(&mut self, levels: usize) -> Result<(), TooDeep> {
        self.depth += levels;
        if self.depth > self.limit {
            return Err(TooDeep { offset: self.at });
        }
        Ok(())
    }

    fn chain(&mut self) -> Result<(), TooDeep> {
        match self.frames.last_mut() {
            Some(frame) => frame.chain += 1,
            None => self.top_chain += 1,
        }
        self.deepen(1)
    }

    fn word(&mut self) -> Result<(), TooDeep> {
        let start = self.at;
        while let Some(&byte) = self.source.get(self.at) {
            if !(byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80) {
                break;
            }
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.source[start..self.at]).unwrap_or("");
        let nests = NESTING_KEYWORDS.contains(&word);
        self.block_next = ["else", "do", "try", "finally"].contains(&word);
        self.header_next = ["if", "for", "while", "with"].contains(&word);
        self.previous = if EXPRESSION_KEYWORDS.contains(&word) || nests { Previous::Operator } else { Previous::Operand };
        if nests { self.chain() } else { Ok(()) }
    }

    /// An operator: the ones the parsers descend into add a level.
    fn punctuator(&mut self) -> Result<(), TooDeep> {
        let byte = self.source[self.at];
        let next = self.peek(1);
        let (length, nests) = match (byte, next) {
            (b'=', Some(b'>')) => (2, true),
            (b'=', Some(b'=')) => (if self.peek(2) == Some(b'=') { 3 } else { 2 }, false),
            (b'!', Some(b'=')) => (if self.peek(2) == Some(b'=') { 3 } else { 2 }, false),
            (b'*', Some(b'*')) => (2, true),
            (b'?', Some(b'.')) | (b'?', Some(b'?')) => (2, false),
            (b'+', Some(b'+')) | (b'-', Some(b'-')) => (2, self.previous == Previous::Operator),
            (b'+' | b'-', _) => (1, self.previous == Previous::Operator),
            (b'=' | b'?' | b'!' | b'~' | b'<' | b':', _) => (1, true),
            // compound assignments (`+=`, `>>>=`, ...) nest like `=`
            (_, Some(b'=')) => (2, true),
            _ => (1, false),
        };
        self.at += length;
        self.block_next = byte == b'=' && next == Some(b'>');
        let postfix = matches!((byte, next), (b'+', Some(b'+')) | (b'-', Some(b'-'))) && self.previous == Previous::Operand;
        if !postfix {
            self.previous = Previous::Operator;
        }
        if nests { self.chain() } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1_000;

    fn depth(source: &str) -> usize {
        estimate(source, usize::MAX).unwrap()
    }

    #[test]
    fn flat_programs_score_low_however_long() {
        let statements = "const x = { a: [1, 2, 3], b: f(a, b) }; x.a.push(4);\n".repeat(10_000);
        assert!(depth(&statements) < 10, "{}", depth(&statements));
        let sum = format!("return {};", vec!["1"; 10_000].join(" + "));
        assert!(depth(&sum) < 10);
        let calls = "await mcp.call(\"s\", \"t\", { n: i });\n".repeat(1000);
        assert!(depth(&calls) < 10);
        let no_semicolons = "x = f(1)\nif (x) { y = 2 }\nif (y) {\n  z = x ? 1 : 2\n} else {\n  z = 3\n}\n".repeat(1000);
        assert!(depth(&no_semicolons) < 10, "{}", depth(&no_semicolons));
        let blocks = "for (const x of xs) {\n  if (x) { continue; }\n  try { f(x); } catch (e) { g(e); } finally { h(); }\n}\n".repeat(1000);
        assert!(depth(&blocks) < 10, "{}", depth(&blocks));
    }

    #[test]
    fn brackets_inside_strings_comments_templates_and_regexes_do_not_count() {
        let source = r#"
const s = "((((((((((" + '[[[[[[[[' + `{{{{{{ ${ "((((" } {{{{`;
// ((((((((((((
/* [[[[[[[[[[[[ */
const r = /\(\(\(\(\(\([[(]/g.test(s) ? 1 : 2;
return s.length / 2;
"#;
        assert!(depth(source) < 8, "{}", depth(source));
    }

    #[test]
    fn nested_constructs_score_their_depth() {
        let n = 300;
        let cases = [
            format!("return {}0{};", "(".repeat(n), ")".repeat(n)),
            format!("return {}0{};", "[".repeat(n), "]".repeat(n)),
            format!("return {}{};", "{a:".repeat(n), "}".repeat(n)),
            format!("return {}0{};", "`${".repeat(n), "}`".repeat(n)),
            format!("return {}0;", "() => ".repeat(n)),
            format!("return {}0;", "x => ".repeat(n)),
            format!("{}return 1;{}", "if (x) {".repeat(n), "}".repeat(n)),
            format!("{}return 1;", "if (x) ".repeat(n)),
            format!("{}return 1;", "if (x)\n".repeat(n)),
            format!("if (x) {{}}{}", " else if (x) {}".repeat(n)),
            format!("x = 1{}", "\n= 1".repeat(n)),
            format!("return {}x;", "!".repeat(n)),
            format!("return {}x;", "- ".repeat(n)),
            format!("return {}x;", "typeof ".repeat(n)),
            format!("return {}x;", "await ".repeat(n)),
            format!("x = {}1;", "x = ".repeat(n)),
            format!("return {}0;", "a ? b : ".repeat(n)),
            format!("return {}0;", "2 ** ".repeat(n)),
            format!("let x: {}number{};", "Array<".repeat(n), ">".repeat(n)),
        ];
        for source in cases {
            let found = depth(&source);
            assert!(found >= n, "{found} < {n} for {}", &source[..60.min(source.len())]);
        }
    }

    #[test]
    fn past_the_limit_it_stops_at_the_offset() {
        let source = format!("return {}0{};", "(".repeat(5000), ")".repeat(5000));
        let error = estimate(&source, LIMIT).unwrap_err();
        assert_eq!(error.offset, "return ".len() + LIMIT + 1);
    }
}
