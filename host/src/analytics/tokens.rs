//! Counting the tokens kept out of a model's context, bounded: a [`Sample`]
//! holds at most a cap of the text (the first bytes) and the size of all of
//! it. The writer thread tokenizes the sample with cl100k (the tokenizer of
//! the response budget) and scales the count to the whole size; text never
//! sampled (none at all was kept) counts as one token per 4 bytes.

use std::io::Write;

use serde::Serialize;
use tiktoken_rs::CoreBPE;

/// Bytes per token where there is no sample to learn the ratio from.
const BYTES_PER_TOKEN: u64 = 4;

/// The head of some text, and its whole size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    head: String,
    bytes: u64,
}

impl Sample {
    /// Adds `text`: all of it to the size, what `cap` leaves of it to the head.
    pub fn add(&mut self, text: &str, cap: usize) {
        self.bytes += text.len() as u64;
        let room = cap.saturating_sub(self.head.len()).min(text.len());
        self.head.push_str(&text[..text.floor_char_boundary(room)]);
    }

    /// Adds the JSON text of `value`, serialized once without keeping more
    /// than `cap` allows.
    pub fn add_json(&mut self, value: &impl Serialize, cap: usize) {
        let mut writer = CappedWriter { kept: Vec::new(), room: cap.saturating_sub(self.head.len()), bytes: 0 };
        if serde_json::to_writer(&mut writer, value).is_err() {
            return;
        }
        self.bytes += writer.bytes;
        let kept = match String::from_utf8(writer.kept) {
            Ok(kept) => kept,
            Err(cut) => {
                let valid = cut.utf8_error().valid_up_to();
                let mut bytes = cut.into_bytes();
                bytes.truncate(valid);
                String::from_utf8(bytes).unwrap_or_default()
            }
        };
        self.head.push_str(&kept);
    }

    /// The size of all the text added.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The tokens of all the text as `tokenizer` (cl100k) counts them: the
    /// head's, scaled to the whole size.
    pub fn tokens(&self, tokenizer: &CoreBPE) -> u64 {
        if self.head.is_empty() {
            return self.bytes.div_ceil(BYTES_PER_TOKEN);
        }
        let counted = tokenizer.encode_with_special_tokens(&self.head).len() as u64;
        let head = self.head.len() as u64;
        if head == self.bytes { counted } else { (u128::from(counted) * u128::from(self.bytes)).div_ceil(u128::from(head)) as u64 }
    }
}

/// Keeps the first `room` bytes written and counts them all.
struct CappedWriter {
    kept: Vec<u8>,
    room: usize,
    bytes: u64,
}

impl Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let take = self.room.saturating_sub(self.kept.len()).min(buf.len());
        self.kept.extend_from_slice(&buf[..take]);
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tiktoken_rs::cl100k_base_singleton;

    use super::*;

    fn exact(text: &str) -> u64 {
        cl100k_base_singleton().encode_with_special_tokens(text).len() as u64
    }

    #[test]
    fn small_text_is_counted_exactly() {
        let mut sample = Sample::default();
        sample.add("hello world, ", 1024);
        sample.add_json(&serde_json::json!({"a": [1, 2, 3]}), 1024);
        assert_eq!(sample.bytes(), 13 + 13);
        assert_eq!(sample.tokens(cl100k_base_singleton()), exact(r#"hello world, {"a":[1,2,3]}"#));
    }

    #[test]
    fn text_past_the_cap_is_scaled_from_its_head() {
        let text = "word ".repeat(10_000);
        let mut sample = Sample::default();
        sample.add(&text, 1000);
        sample.add_json(&text, 1000);
        assert_eq!(sample.bytes(), 2 * 50_000 + 2);
        let estimate = sample.tokens(cl100k_base_singleton()) as f64;
        let truth = (exact(&text) * 2) as f64;
        assert!((estimate - truth).abs() / truth < 0.02, "{estimate} vs {truth}");
    }

    #[test]
    fn text_never_sampled_is_four_bytes_a_token_and_cuts_keep_whole_characters() {
        let mut sample = Sample::default();
        sample.add("éééé", 3);
        assert_eq!(sample.head, "é");
        let mut unsampled = Sample::default();
        unsampled.add("abcdefghi", 0);
        assert_eq!(unsampled.tokens(cl100k_base_singleton()), 3);
        let mut json = Sample::default();
        json.add_json(&"éé", 2);
        assert_eq!((json.head.as_str(), json.bytes()), ("\"", 6));
    }
}
