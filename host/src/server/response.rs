//! A run's outcome as the `execute_code` tool result the client passes to
//! the model: structured content and its text rendering.

use rmcp::model::{CallToolResult, ContentBlock};

use crate::outcome::RunOutcome;

/// A run as a tool result: structured content plus its text rendering.
pub fn run_result(outcome: &RunOutcome) -> CallToolResult {
    let content = vec![ContentBlock::text(outcome.to_text())];
    let mut result = if outcome.ok { CallToolResult::success(content) } else { CallToolResult::error(content) };
    result.structured_content = serde_json::to_value(outcome).ok();
    result
}
