//! BERT's uncased WordPiece tokenizer, enough for the sentence-embedding model
//! (`embedder`): text to token ids with `vocab.txt`. It owns splitting and
//! vocabulary look-up only; it knows nothing about tensors or tools.
//!
//! As BERT's `BasicTokenizer` with `do_lower_case`: control characters are
//! dropped, CJK ideographs and punctuation become words of their own, words
//! are lower-cased, then each is cut greedily into the longest pieces of the
//! vocabulary (`##` marks a piece that continues a word); a word that cannot
//! be cut, or is over [`MAX_WORD_CHARS`], is `[UNK]`. Accents are not
//! stripped (that needs Unicode decomposition): an accented word becomes
//! other pieces than BERT's, which tool descriptions in English rarely have.

use std::collections::HashMap;

/// Words longer than this are `[UNK]`, as in BERT.
const MAX_WORD_CHARS: usize = 100;

/// A WordPiece vocabulary.
#[derive(Debug)]
pub struct WordPiece {
    ids: HashMap<String, u32>,
    unknown: u32,
    pub classify: u32,
    pub separator: u32,
}

/// Why a vocabulary cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the vocabulary has no {0} token")]
pub struct MissingToken(&'static str);

impl WordPiece {
    /// The vocabulary of `vocab.txt`'s text: one piece a line, its id its line number.
    pub fn new(vocabulary: &str) -> Result<Self, MissingToken> {
        let ids: HashMap<String, u32> = vocabulary.lines().enumerate().map(|(id, piece)| (piece.to_owned(), id as u32)).collect();
        let id = |token: &'static str| ids.get(token).copied().ok_or(MissingToken(token));
        Ok(WordPiece { unknown: id("[UNK]")?, classify: id("[CLS]")?, separator: id("[SEP]")?, ids })
    }

    /// The ids of `text`'s pieces, at most `limit` (the rest is cut), without
    /// `[CLS]` and `[SEP]`.
    pub fn encode(&self, text: &str, limit: usize) -> Vec<u32> {
        let mut ids = Vec::new();
        for word in words(text) {
            if ids.len() >= limit {
                break;
            }
            self.pieces(&word, &mut ids);
        }
        ids.truncate(limit);
        ids
    }

    /// Appends `word`'s pieces, longest first, or `[UNK]`.
    fn pieces(&self, word: &str, ids: &mut Vec<u32>) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD_CHARS {
            ids.push(self.unknown);
            return;
        }
        let mut found = Vec::new();
        let mut start = 0;
        let mut candidate = String::new();
        while start < chars.len() {
            let piece = (start + 1..=chars.len()).rev().find_map(|end| {
                candidate.clear();
                if start > 0 {
                    candidate.push_str("##");
                }
                candidate.extend(&chars[start..end]);
                self.ids.get(&candidate).map(|id| (*id, end))
            });
            let Some((id, end)) = piece else {
                ids.push(self.unknown);
                return;
            };
            found.push(id);
            start = end;
        }
        ids.extend(found);
    }
}

/// `text`'s words as BERT's basic tokenizer splits them, lower-cased.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() || c == '\u{fffd}' {
            words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
        } else if is_punctuation(c) || is_ideograph(c) {
            words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            words.push(c.to_lowercase().collect());
        } else {
            word.extend(c.to_lowercase());
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

/// ASCII symbols count as punctuation in BERT, as do other non-alphanumerics.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
}

fn is_ideograph(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> WordPiece {
        WordPiece::new("[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##aff\n##able\nrun\n##ning\n,\nhello\n").expect("a vocabulary")
    }

    #[test]
    fn words_are_cut_into_the_longest_pieces_and_punctuation_stands_alone() {
        assert_eq!(vocabulary().encode("Unaffable, running HELLO", 64), vec![4, 5, 6, 9, 7, 8, 10]);
    }

    #[test]
    fn a_word_without_pieces_is_unknown_and_the_limit_cuts() {
        let vocabulary = vocabulary();
        assert_eq!(vocabulary.encode("runx hello", 64), vec![1, 10]);
        assert_eq!(vocabulary.encode("unaffable hello", 2), vec![4, 5]);
    }
}
