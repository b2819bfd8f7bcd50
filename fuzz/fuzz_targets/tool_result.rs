//! Tool-result conversion: a downstream `CallToolResult` (arbitrary JSON that
//! deserializes into one) becomes the completion a program receives, or the
//! server's error message, without a panic, and as `bridge::results` promises:
//! a completion is JSON of at most `max_bytes`, a message from the server is
//! cut to `max_bytes`. Each input is converted with a generous and a tight limit.
#![no_main]

mod worker_stack;

use libfuzzer_sys::fuzz_target;
use mcp_code_runtime::bridge::{self as results, ResultError};
use rmcp::model::CallToolResult;
use serde::de::IgnoredAny;

const GENEROUS_MAX_BYTES: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok(result) = serde_json::from_slice::<CallToolResult>(data) else { return };
    let tight = data.len() / 2;
    worker_stack::on_worker_stack(move || {
        let _ = results::content_bytes(&result);
        for max_bytes in [GENEROUS_MAX_BYTES, tight] {
            check(&result, max_bytes);
        }
    });
});

fn check(result: &CallToolResult, max_bytes: usize) {
    match results::completion(result, max_bytes) {
        Ok(json) => {
            assert!(json.len() <= max_bytes, "a completion of {} bytes, over {max_bytes}", json.len());
            let mut parser = serde_json::Deserializer::from_str(&json);
            parser.disable_recursion_limit();
            assert!(serde::Deserialize::deserialize(&mut parser).map(|_: IgnoredAny| ()).is_ok(), "not JSON: {json}");
        }
        Err(ResultError::ToolFailed(message)) => {
            let from_server = result.content.iter().any(|block| block.as_text().is_some());
            assert!(!from_server || message.len() <= max_bytes, "a message of {} bytes, over {max_bytes}", message.len());
        }
        Err(ResultError::TooLarge { .. }) => {}
    }
}
