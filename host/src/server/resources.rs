//! MCP resources: the TypeScript declarations a model (or its user) can read
//! before writing code: one `.d.ts` per server, and the sandbox's own API.

use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};

use crate::bridge::Bridge;
use crate::typegen::RUNTIME_DECLARATIONS;

const PREFIX: &str = "mcp-code-runtime://types/";
const RUNTIME_NAME: &str = "runtime";
const MIME_TYPE: &str = "application/typescript";

fn uri(name: &str) -> String {
    format!("{PREFIX}{name}.d.ts")
}

/// The runtime API first, then one resource per configured server.
pub fn list(servers: &[String]) -> Vec<Resource> {
    let runtime = Resource::new(uri(RUNTIME_NAME), "runtime.d.ts")
        .with_description("The sandbox API: mcp.call/servers/tools/search/describe, console, timers, McpError")
        .with_mime_type(MIME_TYPE);
    let servers = servers.iter().map(|server| {
        Resource::new(uri(server), format!("{server}.d.ts"))
            .with_description(format!("TypeScript declarations of the tools of MCP server `{server}` (import \"mcp://{server}\")"))
            .with_mime_type(MIME_TYPE)
    });
    std::iter::once(runtime).chain(servers).collect()
}

/// The declarations behind `uri`; reading a server's starts it if needed.
pub async fn read(bridge: &Bridge, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let name = uri
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(".d.ts"))
        .ok_or_else(|| ErrorData::resource_not_found(format!("no resource {uri}"), None))?;
    let text = if name == RUNTIME_NAME {
        RUNTIME_DECLARATIONS.to_owned()
    } else {
        let catalog = bridge.catalog().await;
        match catalog.server_declarations(name) {
            Some(declarations) => declarations,
            None => {
                let reason = catalog.unavailable.iter().find(|(server, _)| server == name).map(|(_, reason)| reason.clone());
                let message = reason.unwrap_or_else(|| format!("no MCP server is named `{name}`"));
                return Err(ErrorData::resource_not_found(message, None));
            }
        }
    };
    Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type(MIME_TYPE)]))
}
