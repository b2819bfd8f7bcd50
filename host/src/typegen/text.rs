//! Text that goes into TypeScript source: string literals, comments that can
//! never be closed early, JSDoc blocks, and one-line summaries of descriptions.

/// Longest [`one_line_summary`], in characters (not counting the `…`).
const SUMMARY_MAX_CHARS: usize = 120;

/// Words that end in a `.` without ending a sentence.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "cf", "approx", "incl", "no", "eg", "ie",
];

/// `text` as a double-quoted TypeScript string literal.
pub(super) fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` made safe inside a `/* */` comment on one line: `*/` cannot end the
/// comment and line breaks become spaces.
pub(super) fn inline_comment_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .replace("*/", "*\\/")
}

/// A JSDoc block at `indent` (in spaces) for `lines`, ending with a newline;
/// `/** one line */` when there is one line, nothing when there are none.
/// Lines may contain anything: `*/` is escaped and breaks start new lines.
pub(super) fn jsdoc(lines: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let lines: Vec<String> = lines
        .iter()
        .flat_map(|line| line.lines())
        .map(inline_comment_text)
        .collect();
    match lines.as_slice() {
        [] => String::new(),
        [line] => format!("{pad}/** {} */\n", line.trim()),
        lines => {
            let mut out = format!("{pad}/**\n");
            for line in lines {
                let line = line.trim_end();
                if line.is_empty() {
                    out.push_str(&format!("{pad} *\n"));
                } else {
                    out.push_str(&format!("{pad} * {line}\n"));
                }
            }
            out.push_str(&format!("{pad} */\n"));
            out
        }
    }
}

/// The lines of a description, without blank lines at either end or
/// trailing spaces; empty for a missing or blank description.
pub(super) fn description_lines(description: Option<&str>) -> Vec<String> {
    let lines: Vec<&str> = description
        .unwrap_or("")
        .lines()
        .map(str::trim_end)
        .collect();
    let first = lines.iter().position(|line| !line.trim().is_empty());
    let last = lines.iter().rposition(|line| !line.trim().is_empty());
    match (first, last) {
        (Some(first), Some(last)) => lines[first..=last]
            .iter()
            .map(|line| (*line).to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// The first sentence (or, if shorter, the first line) of a description,
/// cut at a word boundary to about 120 characters with `…` appended. Empty
/// for a missing or blank description.
///
/// A sentence ends at `.`, `!` or `?` followed by whitespace, except after
/// common abbreviations such as `e.g.`.
pub fn one_line_summary(description: Option<&str>) -> String {
    let text = description.unwrap_or("").trim();
    let line = text.lines().next().unwrap_or("").trim();
    truncate(first_sentence(line))
}

fn first_sentence(line: &str) -> &str {
    let mut chars = line.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        let at_break = chars.peek().is_some_and(|(_, next)| next.is_whitespace());
        if matches!(c, '.' | '!' | '?') && at_break && !ends_with_abbreviation(&line[..index]) {
            return &line[..index + c.len_utf8()];
        }
    }
    line
}

fn ends_with_abbreviation(before_dot: &str) -> bool {
    let word = before_dot
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    ABBREVIATIONS.contains(&word.to_ascii_lowercase().as_str())
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= SUMMARY_MAX_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(SUMMARY_MAX_CHARS).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(space) if space > SUMMARY_MAX_CHARS / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!(
        "{}…",
        at_word.trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ';')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_what_would_end_or_break_them() {
        assert_eq!(string_literal("task-master"), r#""task-master""#);
        assert_eq!(string_literal("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(string_literal("x\u{2028}y\u{0}"), r#""x\u{2028}y\u{0}""#);
    }

    #[test]
    fn comments_cannot_be_closed_early() {
        assert_eq!(inline_comment_text("a */ b\nc"), "a *\\/ b c");
        assert_eq!(
            jsdoc(&["ends here */".to_owned()], 2),
            "  /** ends here *\\/ */\n"
        );
        assert_eq!(jsdoc(&[], 2), "");
        assert_eq!(
            jsdoc(&["first\n\nthird".to_owned(), "@default 3".to_owned()], 0),
            "/**\n * first\n *\n * third\n * @default 3\n */\n"
        );
    }

    #[test]
    fn description_lines_drop_blank_edges() {
        assert_eq!(
            description_lines(Some("\n  a \n\n b\n\n")),
            ["  a", "", " b"]
        );
        assert!(description_lines(Some(" \n ")).is_empty());
        assert!(description_lines(None).is_empty());
    }

    #[test]
    fn summaries_take_the_first_sentence() {
        let cases = [
            (
                Some("Get current time in a specific timezone"),
                "Get current time in a specific timezone",
            ),
            (
                Some("Fetches a URL from the internet.  Although originally you did not"),
                "Fetches a URL from the internet.",
            ),
            (
                Some("Use a zone (e.g. UTC) here. More."),
                "Use a zone (e.g. UTC) here.",
            ),
            (Some("Version 1.2 is out! Yes"), "Version 1.2 is out!"),
            (Some("\n First line\nsecond line"), "First line"),
            (Some("   "), ""),
            (None, ""),
        ];
        for (description, summary) in cases {
            assert_eq!(one_line_summary(description), summary, "{description:?}");
        }
    }

    #[test]
    fn long_summaries_are_cut_at_a_word() {
        let long = "word ".repeat(60);
        let summary = one_line_summary(Some(&long));
        assert!(summary.ends_with("word…"), "{summary}");
        assert!(summary.chars().count() <= SUMMARY_MAX_CHARS + 1);
        let unbroken = "x".repeat(200);
        assert_eq!(
            one_line_summary(Some(&unbroken)).chars().count(),
            SUMMARY_MAX_CHARS + 1
        );
    }
}
