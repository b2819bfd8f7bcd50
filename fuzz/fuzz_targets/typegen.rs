//! JSON Schema → TypeScript: the declarations of tools whose schemas are
//! arbitrary JSON must be generated without a panic or a stack overflow.
//!
//! The input is JSON: a `tools/list` result (`{"tools": [...]}`), an array of
//! tools, one tool, or else any value, taken as the input schema of one tool.
#![no_main]

mod worker_stack;

use libfuzzer_sys::fuzz_target;
use mcp_code_runtime::typegen::{self, ToolInfo};
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    worker_stack::on_worker_stack(move || {
        let tools = tools_of(value);
        let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_str()).collect();
        let _ = typegen::server_declarations("fuzz", &tools);
        let _ = typegen::index_declarations(&names);
        for tool in &tools {
            let _ = typegen::tool_declaration(&tool.name, tool);
            let _ = typegen::declaration_file_name(&tool.name);
        }
    });
});

fn tools_of(value: Value) -> Vec<ToolInfo> {
    let listed = value.get("tools").cloned().unwrap_or_else(|| value.clone());
    if let Ok(tools) = serde_json::from_value::<Vec<ToolInfo>>(listed.clone()) {
        return tools;
    }
    if let Ok(tool) = serde_json::from_value::<ToolInfo>(listed) {
        return vec![tool];
    }
    vec![ToolInfo { name: "fuzz_tool".into(), description: None, input_schema: value, output_schema: Some(json!({})) }]
}
