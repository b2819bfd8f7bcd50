//! A downstream `CallToolResult` as the JSON completion a program receives:
//! `structuredContent` when present; otherwise the content blocks, where text
//! that is JSON stands for its value, one block is the value itself and
//! several are an array; images and audio are `{type, mimeType, data}` and
//! resources `{type, uri, mimeType, text|data}`. `isError: true` is a tool
//! failure carrying the server's message.
//!
//! Text is JSON only when JavaScript reads the same value from it: it parses
//! as JSON, nests at most [`MAX_JSON_DEPTH`] levels, every number is finite
//! and no integer literal (no fraction, no exponent) is past 2^53 in
//! magnitude. Otherwise it stays a string, so `{"id": 12345678901234567890}`
//! arrives as that text rather than as a rounded number.
//!
//! # Sizes
//! [`content_bytes`] measures what the server sent (text, base64 data, the
//! JSON of everything else) without copying it, so a result can be refused
//! before it is converted. [`completion`] then writes the completion into a
//! buffer that refuses to grow past a maximum, and never parses text into a
//! `serde_json::Value`: JSON text is validated and copied as it is.

use std::io::{self, Write};

use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

/// The deepest nesting of JSON text that is passed on as JSON (serde's own limit).
pub const MAX_JSON_DEPTH: usize = 128;

/// Why a result gives no completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    /// The server's message of an `isError` result (cut to the size limit).
    #[error("{0}")]
    ToolFailed(String),
    #[error("the tool result is more than {max} bytes of JSON, more than the program could receive")]
    TooLarge { max: usize },
}

/// The bytes of content in `result`: text and the JSON of everything else.
pub fn content_bytes(result: &CallToolResult) -> u64 {
    let blocks: u64 = result
        .content
        .iter()
        .map(|block| match block {
            ContentBlock::Text(text) => text.text.len() as u64,
            other => json_len(other),
        })
        .sum();
    blocks + result.structured_content.as_ref().map_or(0, json_len)
}

/// The completion of `result`: at most `max_bytes` of JSON, or the server's error.
pub fn completion(result: &CallToolResult, max_bytes: usize) -> Result<String, ResultError> {
    if result.is_error == Some(true) {
        return Err(ResultError::ToolFailed(error_message(&result.content, max_bytes)));
    }
    let mut out = Bounded { bytes: Vec::new(), max: max_bytes };
    write_value(&mut out, result).map_err(|_| ResultError::TooLarge { max: max_bytes })?;
    Ok(String::from_utf8(out.bytes).expect("JSON text and serde_json output are UTF-8"))
}

fn write_value(out: &mut Bounded, result: &CallToolResult) -> io::Result<()> {
    if let Some(structured) = &result.structured_content {
        return write_json(out, structured);
    }
    match result.content.as_slice() {
        [] => out.write_all(b"null"),
        [single] => write_block(out, single),
        blocks => {
            out.write_all(b"[")?;
            for (index, block) in blocks.iter().enumerate() {
                if index > 0 {
                    out.write_all(b",")?;
                }
                write_block(out, block)?;
            }
            out.write_all(b"]")
        }
    }
}

fn write_block(out: &mut Bounded, block: &ContentBlock) -> io::Result<()> {
    match block {
        ContentBlock::Text(text) if is_faithful_json(&text.text) => out.write_all(text.text.as_bytes()),
        ContentBlock::Text(text) => write_json(out, &text.text),
        other => write_json(out, &block_value(other)),
    }
}

fn write_json(out: &mut Bounded, value: &(impl Serialize + ?Sized)) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(io::Error::other)
}

fn error_message(content: &[ContentBlock], max_bytes: usize) -> String {
    let texts: Vec<&str> = content.iter().filter_map(|block| block.as_text()).map(|text| text.text.as_str()).collect();
    if texts.is_empty() {
        return "the tool reported an error without a message".into();
    }
    let mut message = String::new();
    for text in texts {
        if !message.is_empty() {
            message.push('\n');
        }
        let room = max_bytes.saturating_sub(message.len());
        message.push_str(&text[..floor_char_boundary(text, room)]);
        if message.len() >= max_bytes {
            break;
        }
    }
    message
}

/// Whether `text` is JSON that JavaScript reads as the same value (see the module doc).
fn is_faithful_json(text: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(text).is_ok() && javascript_reads_it_unchanged(text)
}

/// Scans valid JSON `text` for nesting past [`MAX_JSON_DEPTH`] and for numbers
/// JavaScript would read as another value.
fn javascript_reads_it_unchanged(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'"' => index = string_end(bytes, index + 1),
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' | b'0'..=b'9' => {
                let start = index;
                while index < bytes.len() && matches!(bytes[index], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                    index += 1;
                }
                if !number_survives(&text[start..index]) {
                    return false;
                }
                continue;
            }
            _ => {}
        }
        index += 1;
    }
    true
}

/// The index of the closing quote of the string that starts at `index`.
fn string_end(bytes: &[u8], mut index: usize) -> usize {
    while index < bytes.len() && bytes[index] != b'"' {
        index += if bytes[index] == b'\\' { 2 } else { 1 };
    }
    index
}

/// Whether JavaScript reads the number `token` as the value it writes.
fn number_survives(token: &str) -> bool {
    if token.contains(['.', 'e', 'E']) {
        return token.parse::<f64>().is_ok_and(f64::is_finite);
    }
    let digits = token.trim_start_matches('-');
    digits.len() < 16 || digits.parse::<u64>().is_ok_and(|magnitude| magnitude <= 1 << 53)
}

fn block_value(block: &ContentBlock) -> Value {
    let mut value = serde_json::to_value(block).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.remove("annotations");
        fields.remove("_meta");
        if let Some(Value::Object(resource)) = fields.remove("resource") {
            flatten_resource(fields, resource);
        }
    }
    value
}

/// `{type: "resource", resource: {uri, mimeType, text|blob}}` as one flat object.
fn flatten_resource(fields: &mut Map<String, Value>, resource: Map<String, Value>) {
    for (key, value) in resource {
        let key = if key == "blob" { "data".to_owned() } else { key };
        if key != "_meta" {
            fields.insert(key, value);
        }
    }
}

/// The length of `value` as JSON, counted without building it.
pub(super) fn json_len(value: &(impl Serialize + ?Sized)) -> u64 {
    let mut counter = Counter(0);
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A buffer that refuses writes past `max` bytes.
struct Bounded {
    bytes: Vec<u8>,
    max: usize,
}

impl Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + bytes.len() > self.max {
            return Err(io::Error::other("over the size limit"));
        }
        self.bytes.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROOMY: usize = 1 << 20;

    fn result(content: Vec<ContentBlock>) -> CallToolResult {
        CallToolResult::success(content)
    }

    fn value_of(result: &CallToolResult) -> Value {
        serde_json::from_str(&completion(result, ROOMY).unwrap()).unwrap()
    }

    #[test]
    fn json_text_is_parsed_and_plain_text_kept() {
        assert_eq!(value_of(&result(vec![ContentBlock::text("{\"a\":1}")])), json!({"a": 1}));
        assert_eq!(value_of(&result(vec![ContentBlock::text("hello")])), json!("hello"));
        assert_eq!(value_of(&result(vec![ContentBlock::text("1 2")])), json!("1 2"));
    }

    #[test]
    fn several_blocks_are_an_array_and_none_is_null() {
        assert_eq!(value_of(&result(vec![ContentBlock::text("1"), ContentBlock::text("two")])), json!([1, "two"]));
        assert_eq!(value_of(&result(vec![])), Value::Null);
    }

    #[test]
    fn structured_content_wins() {
        let mut with_structure = result(vec![ContentBlock::text("ignored")]);
        with_structure.structured_content = Some(json!({"x": 2}));
        assert_eq!(value_of(&with_structure), json!({"x": 2}));
    }

    #[test]
    fn is_error_carries_the_message() {
        let failed = CallToolResult::error(vec![ContentBlock::text("no such task")]);
        assert_eq!(completion(&failed, ROOMY), Err(ResultError::ToolFailed("no such task".into())));
        let long = CallToolResult::error(vec![ContentBlock::text("é".repeat(100))]);
        assert_eq!(completion(&long, 5), Err(ResultError::ToolFailed("éé".into())));
    }

    #[test]
    fn images_keep_type_mime_type_and_data() {
        let value = value_of(&result(vec![ContentBlock::image("aGk=", "image/png")]));
        assert_eq!(value, json!({"type": "image", "mimeType": "image/png", "data": "aGk="}));
    }

    #[test]
    fn integers_javascript_would_round_stay_text() {
        for text in ["12345678901234567890", "{\"id\": 9007199254740993}", "[-9007199254740993]", "1e400"] {
            assert_eq!(value_of(&result(vec![ContentBlock::text(text)])), json!(text), "{text}");
        }
        let safe = "{\"id\": 9007199254740992, \"f\": 12345678901234567890.5, \"s\": \"12345678901234567890\"}";
        assert_eq!(
            completion(&result(vec![ContentBlock::text(safe)]), ROOMY).unwrap(),
            safe,
            "2^53, floats and digits inside strings are kept as JSON"
        );
    }

    #[test]
    fn json_nested_past_the_depth_limit_stays_text() {
        let deep = format!("{}{}", "[".repeat(MAX_JSON_DEPTH + 1), "]".repeat(MAX_JSON_DEPTH + 1));
        assert_eq!(value_of(&result(vec![ContentBlock::text(deep.clone())])), json!(deep));
        let fine = format!("{}{}", "[".repeat(MAX_JSON_DEPTH), "]".repeat(MAX_JSON_DEPTH));
        assert_eq!(completion(&result(vec![ContentBlock::text(fine.clone())]), ROOMY).unwrap(), fine);
    }

    #[test]
    fn a_completion_never_grows_past_its_maximum() {
        let big = result(vec![ContentBlock::text("x".repeat(1000))]);
        assert_eq!(completion(&big, 1001), Err(ResultError::TooLarge { max: 1001 }));
        assert_eq!(completion(&big, 1002).unwrap().len(), 1002);
    }

    #[test]
    fn content_bytes_counts_what_the_server_sent() {
        let mut sent = result(vec![ContentBlock::text("hello"), ContentBlock::image("aGk=", "image/png")]);
        let image_json = serde_json::to_string(&ContentBlock::image("aGk=", "image/png")).unwrap();
        assert_eq!(content_bytes(&sent), 5 + image_json.len() as u64);
        sent.structured_content = Some(json!({"x": 2}));
        assert_eq!(content_bytes(&sent), 5 + image_json.len() as u64 + 7);
    }
}
