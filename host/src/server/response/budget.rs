//! The token budget of a response: how many cl100k tokens the result's JSON
//! and the console take, and what to keep of each when together they are
//! over the budget (a head-and-tail preview of the result, the first and last
//! console lines).
//!
//! What is counted is the dearer of the two forms a model may read: the
//! structured content as JSON text (what Claude Code passes on), where a
//! console line is a `{"level", "message"}` object and a preview is a JSON
//! string with its quotes escaped. The text content costs less.
//!
//! Counting is cheap whatever the size: text no longer in bytes than the
//! budget needs no tokenizer (a token is at least one byte), and longer text
//! is tokenized in chunks only until the count passes what is asked about, so
//! a 1 MiB result costs the tokenizing of a few budgets' worth of text. The
//! size of what is cut is then estimated from the part that was counted.
//!
//! Pure: nothing here keeps, sends or reads results.

use tiktoken_rs::{CoreBPE, cl100k_base_singleton};

use crate::outcome::LogLine;

/// Text is tokenized in chunks of about this many bytes.
const CHUNK_BYTES: usize = 16 * 1024;
/// The bytes a token's worth of text is looked for in, when cutting a head or
/// a tail (a cl100k token of ordinary text is about 4 bytes).
const BYTES_PER_TOKEN_WINDOW: usize = 8;
/// The tokens of the line between a preview's head and tail, and of a token
/// or two more where head and tail were cut.
const PREVIEW_SEPARATOR_TOKENS: usize = 16;

/// The tokens of some text, counted up to a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// All of it: this many tokens, at most the limit.
    Within(usize),
    /// More than the limit; estimated from the part counted.
    Over { estimate: u64 },
}

impl Count {
    /// The number of tokens, exact or estimated.
    pub fn tokens(self) -> u64 {
        match self {
            Count::Within(tokens) => tokens as u64,
            Count::Over { estimate } => estimate,
        }
    }

    fn within(self) -> Option<usize> {
        match self {
            Count::Within(tokens) => Some(tokens),
            Count::Over { .. } => None,
        }
    }
}

fn encoder() -> &'static CoreBPE {
    cl100k_base_singleton()
}

fn tokens_of(text: &str) -> usize {
    encoder().encode_with_special_tokens(text).len()
}

/// The tokens of `text`, counted no further than `limit`.
pub fn count(text: &str, limit: usize) -> Count {
    counted(text, limit).0
}

/// [`count`], and how many bytes of `text` it tokenized.
fn counted(text: &str, limit: usize) -> (Count, usize) {
    if text.len() <= limit {
        return (Count::Within(tokens_of(text)), text.len());
    }
    let (mut counted, mut start) = (0, 0);
    while start < text.len() {
        let end = text.floor_char_boundary(start + CHUNK_BYTES).max(text.ceil_char_boundary(start + 1));
        counted += tokens_of(&text[start..end]);
        start = end;
        if counted > limit {
            let estimate = counted as u64 * text.len() as u64 / start as u64;
            return (Count::Over { estimate }, start);
        }
    }
    (Count::Within(counted), start)
}

/// How many tokens each part may keep, and how many it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shares {
    /// The tokens the result may keep; `None`: all of it.
    pub result: Option<usize>,
    /// The tokens the console may keep; `None`: all of it.
    pub logs: Option<usize>,
    pub result_tokens: Count,
    pub log_tokens: Count,
}

/// What to cut when `result` and `logs` (JSON texts) are together over
/// `budget` tokens, or `None` when they fit. A part within
/// half the budget is kept whole and the other gets the rest; otherwise each
/// gets half.
pub fn shares(result: &str, logs: &str, budget: usize) -> Option<Shares> {
    if result.len() + logs.len() <= budget {
        return None;
    }
    let (result_tokens, log_tokens) = (count(result, budget), count(logs, budget));
    let half = budget / 2;
    let (result_share, log_share) = match (result_tokens.within(), log_tokens.within()) {
        (Some(result), Some(logs)) if result + logs <= budget => return None,
        (Some(result), _) if result <= half => (None, Some(budget - result)),
        (_, Some(logs)) if logs <= half => (Some(budget - logs), None),
        _ => (Some(half), Some(budget - half)),
    };
    Some(Shares { result: result_share, logs: log_share, result_tokens, log_tokens })
}

/// The head and the tail of `text` around a line saying how many bytes are
/// left out between them, within `tokens` tokens as a JSON string too (where
/// escaped quotes cost more: the target shrinks until it fits, at most a few
/// times).
pub fn preview(text: &str, tokens: usize) -> String {
    let mut target = tokens;
    loop {
        let preview = head_and_tail(text, target);
        let escaped = tokens_of(&serde_json::to_string(&preview).unwrap_or_default());
        if escaped <= tokens || target <= PREVIEW_SEPARATOR_TOKENS {
            return preview;
        }
        target = (target * tokens / escaped).min(target - 1);
    }
}

fn head_and_tail(text: &str, tokens: usize) -> String {
    let half = tokens.saturating_sub(PREVIEW_SEPARATOR_TOKENS) / 2;
    let head = head(text, half);
    let tail = tail(&text[head.len()..], half);
    let cut = text.len() - head.len() - tail.len();
    format!("{head}\n[… {cut} bytes cut …]\n{tail}")
}

/// The longest start of `text` within `tokens` tokens (about).
fn head(text: &str, tokens: usize) -> &str {
    let window = &text[..text.floor_char_boundary(tokens * BYTES_PER_TOKEN_WINDOW + 64)];
    let encoded = encoder().encode_with_special_tokens(window);
    if encoded.len() <= tokens {
        return window;
    }
    let bytes = encoder().decode_bytes(&encoded[..tokens]).map_or(0, |bytes| bytes.len());
    &window[..window.floor_char_boundary(bytes)]
}

/// The longest end of `text` within `tokens` tokens (about).
fn tail(text: &str, tokens: usize) -> &str {
    let window = &text[text.ceil_char_boundary(text.len().saturating_sub(tokens * BYTES_PER_TOKEN_WINDOW + 64))..];
    let encoded = encoder().encode_with_special_tokens(window);
    if encoded.len() <= tokens {
        return window;
    }
    let bytes = encoder().decode_bytes(&encoded[encoded.len() - tokens..]).map_or(0, |bytes| bytes.len());
    &window[window.ceil_char_boundary(window.len() - bytes)..]
}

/// Which console lines to keep within `tokens` tokens as JSON: how many
/// from the start and how many from the end (half the tokens each; a line too
/// long for its half is not kept).
pub fn kept_lines(lines: &[LogLine], tokens: usize) -> (usize, usize) {
    let half = tokens / 2;
    let fitting = |lines: &mut dyn Iterator<Item = &LogLine>| {
        let mut left = half;
        lines
            .take_while(|line| match count(&serde_json::to_string(line).unwrap_or_default(), left) {
                Count::Within(cost) if cost < left => {
                    left -= cost + 1;
                    true
                }
                _ => false,
            })
            .count()
    };
    let head = fitting(&mut lines.iter());
    let tail = fitting(&mut lines[head..].iter().rev());
    (head, tail)
}

/// The console as text: `[level] message` lines.
pub fn console_text(lines: &[LogLine]) -> String {
    lines.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}



#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::LogLevel;

    fn rows(count: usize) -> String {
        let rows: Vec<serde_json::Value> =
            (0..count).map(|i| serde_json::json!({ "id": i, "name": format!("row {i} é"), "tags": ["😀", "x".repeat(i % 7)] })).collect();
        serde_json::to_string(&rows).unwrap()
    }

    #[test]
    fn counts_are_exact_within_the_limit_and_estimated_past_it() {
        let text = rows(2000);
        let exact = tokens_of(&text);
        let Count::Within(chunked) = count(&text, 2 * exact) else { panic!("within the limit") };
        let chunks = text.len() / CHUNK_BYTES + 1;
        assert!((exact..=exact + chunks).contains(&chunked), "{chunked} tokens counted in chunks, {exact} at once");
        let short = &text[..1000];
        assert_eq!(count(short, 1000), Count::Within(tokens_of(short)));
        let Count::Over { estimate } = count(&text, 1000) else { panic!("over the limit") };
        let error = (estimate as f64 - exact as f64).abs() / exact as f64;
        assert!(error < 0.1, "estimate {estimate} for {exact} tokens");
        assert_eq!(count("", 0), Count::Within(0));
    }

    #[test]
    fn counting_a_mebibyte_tokenizes_only_what_the_limit_needs() {
        let text = rows(20_000);
        assert!(text.len() > 1 << 20);
        let started = std::time::Instant::now();
        let (limited, tokenized) = counted(&text, 4000);
        let limited_time = started.elapsed();
        let started = std::time::Instant::now();
        let all = tokens_of(&text);
        println!("{} bytes: up to 4000 tokens in {limited_time:?} ({tokenized} bytes tokenized); all {all} tokens in {:?}", text.len(), started.elapsed());
        assert!(matches!(limited, Count::Over { .. }));
        assert!(tokenized <= 4000 * BYTES_PER_TOKEN_WINDOW + CHUNK_BYTES, "{tokenized} bytes tokenized");
    }

    #[test]
    fn shares_keep_the_small_part_whole() {
        let big = rows(2000);
        let small = "[log] hi";
        let share = |result: &str, logs: &str| shares(result, logs, 4000).map(|shares| (shares.result, shares.logs));
        assert_eq!(share("1", small), None);
        assert_eq!(share(&big, small), Some((Some(4000 - tokens_of(small)), None)));
        assert_eq!(share("1", &big), Some((None, Some(3999))));
        assert_eq!(share(&big, &big), Some((Some(2000), Some(2000))));
        let counted = shares(&big, small, 4000).unwrap();
        assert!(matches!(counted.result_tokens, Count::Over { .. }) && counted.log_tokens == Count::Within(tokens_of(small)));
    }

    #[test]
    fn a_preview_is_the_head_and_tail_within_its_tokens_on_character_boundaries() {
        let text = rows(3000);
        for tokens in [101, 1000, 4000, 7999] {
            let preview = preview(&text, tokens);
            let (head, rest) = preview.split_once("\n[… ").unwrap();
            let tail = rest.split_once(" bytes cut …]\n").unwrap().1;
            assert!(text.starts_with(head) && text.ends_with(tail), "{tokens}");
            let escaped = tokens_of(&serde_json::to_string(&preview).unwrap());
            assert!(tokens_of(&preview) <= escaped && escaped <= tokens.max(PREVIEW_SEPARATOR_TOKENS), "{tokens}: {escaped}");
            assert!(escaped * 10 >= tokens * 8, "the preview uses most of its tokens: {escaped} of {tokens}");
            assert!(preview.contains(&format!("[… {} bytes cut …]", text.len() - head.len() - tail.len())));
        }
        let emoji = "😀".repeat(10_000);
        let preview = preview(&emoji, 100);
        assert!(preview.starts_with('😀') && preview.ends_with('😀'));
    }

    #[test]
    fn kept_lines_fit_their_tokens_from_both_ends() {
        let lines: Vec<LogLine> = (0..1000).map(|i| LogLine { level: LogLevel::Log, message: format!("line {i}") }).collect();
        let (head, tail) = kept_lines(&lines, 400);
        assert!(head > 10 && tail > 10 && head + tail < 1000, "{head} + {tail}");
        let kept: Vec<LogLine> = lines[..head].iter().chain(&lines[1000 - tail..]).cloned().collect();
        let json = serde_json::to_string(&kept).unwrap();
        assert!(tokens_of(&json) <= 400 && tokens_of(&json) > 300, "{}", tokens_of(&json));
        let huge = vec![LogLine { level: LogLevel::Log, message: "x ".repeat(100_000) }];
        assert_eq!(kept_lines(&huge, 400), (0, 0), "a line longer than its share is left out");
    }
}
