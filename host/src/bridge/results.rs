//! A downstream `CallToolResult` as the value a program receives:
//! `structuredContent` when present; otherwise the content blocks, where text
//! that parses as JSON is parsed, one block is the value itself and several
//! are an array; images and audio are `{type, mimeType, data}` and resources
//! `{type, uri, mimeType, text|data}`. `isError: true` is a tool failure
//! carrying the server's message.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value};

/// The result's value, or the server's error message when `isError` is set.
pub fn tool_value(result: CallToolResult) -> Result<Value, String> {
    if result.is_error == Some(true) {
        return Err(error_message(&result.content));
    }
    if let Some(structured) = result.structured_content {
        return Ok(structured);
    }
    let mut values: Vec<Value> = result.content.iter().map(block_value).collect();
    Ok(match values.len() {
        0 => Value::Null,
        1 => values.remove(0),
        _ => Value::Array(values),
    })
}

fn error_message(content: &[ContentBlock]) -> String {
    let texts: Vec<&str> = content.iter().filter_map(|block| block.as_text()).map(|text| text.text.as_str()).collect();
    if texts.is_empty() { "the tool reported an error without a message".into() } else { texts.join("\n") }
}

fn block_value(block: &ContentBlock) -> Value {
    if let Some(text) = block.as_text() {
        return serde_json::from_str(&text.text).unwrap_or_else(|_| Value::String(text.text.clone()));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(content: Vec<ContentBlock>) -> CallToolResult {
        CallToolResult::success(content)
    }

    #[test]
    fn json_text_is_parsed_and_plain_text_kept() {
        assert_eq!(tool_value(result(vec![ContentBlock::text("{\"a\":1}")])).unwrap(), json!({"a": 1}));
        assert_eq!(tool_value(result(vec![ContentBlock::text("hello")])).unwrap(), json!("hello"));
    }

    #[test]
    fn several_blocks_are_an_array_and_none_is_null() {
        let value = tool_value(result(vec![ContentBlock::text("1"), ContentBlock::text("two")])).unwrap();
        assert_eq!(value, json!([1, "two"]));
        assert_eq!(tool_value(result(vec![])).unwrap(), Value::Null);
    }

    #[test]
    fn structured_content_wins() {
        let mut with_structure = result(vec![ContentBlock::text("ignored")]);
        with_structure.structured_content = Some(json!({"x": 2}));
        assert_eq!(tool_value(with_structure).unwrap(), json!({"x": 2}));
    }

    #[test]
    fn is_error_carries_the_message() {
        let failed = CallToolResult::error(vec![ContentBlock::text("no such task")]);
        assert_eq!(tool_value(failed).unwrap_err(), "no such task");
    }

    #[test]
    fn images_keep_type_mime_type_and_data() {
        let value = tool_value(result(vec![ContentBlock::image("aGk=", "image/png")])).unwrap();
        assert_eq!(value, json!({"type": "image", "mimeType": "image/png", "data": "aGk="}));
    }
}
