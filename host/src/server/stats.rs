//! `runtime_stats`: the analytics' report of a window, as a table (text)
//! and as JSON (structured content).

use rmcp::model::{CallToolResult, ContentBlock};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::analytics::Window;
use crate::runtime::Runtime;

/// The tool's description says what `window` is, to keep the tool list small.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RuntimeStatsParams {
    pub window: Option<String>,
}

/// The report of the window asked for, or why there is none.
pub async fn report(runtime: &Runtime, params: RuntimeStatsParams) -> CallToolResult {
    let window = match params.window.as_deref().map(str::parse::<Window>).transpose() {
        Ok(window) => window.unwrap_or(Window::ALL),
        Err(error) => return refused(error.to_string()),
    };
    let Some(analytics) = runtime.analytics() else {
        return refused("runs are not recorded: codeRuntime.analytics.enabled is false, or there is no data folder".into());
    };
    match analytics.report(window).await {
        Ok(report) => {
            let mut result = CallToolResult::success(vec![ContentBlock::text(report.table())]);
            result.structured_content = serde_json::to_value(&report).ok();
            result
        }
        Err(error) => refused(error.to_string()),
    }
}

fn refused(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}
