//! MCP resources: the TypeScript declarations a model (or its user) can read
//! before writing code: one `.d.ts` per server, the sandbox's own API and
//! the skills' modules; and the skill library's documentation.
//!
//! A resource's URI ends with the file name the `types` command writes
//! (`typegen::declaration_file_name`), so every server has its own URI, apart
//! from `runtime.d.ts`, whatever the server is named.

use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};

use crate::runtime::Runtime;
use crate::skills;
use crate::typegen::{RUNTIME_DECLARATIONS, RUNTIME_FILE_NAME, SKILLS_FILE_NAME, declaration_file_name};

const PREFIX: &str = "mcp-code-runtime://types/";
const MIME_TYPE: &str = "application/typescript";
/// The skill library as Markdown (`mcp-code-runtime skills docs`).
const SKILL_DOCS_URI: &str = "mcp-code-runtime://skills/docs.md";

fn uri(file: &str) -> String {
    format!("{PREFIX}{file}")
}

/// The runtime API first, then one resource per configured server.
pub fn list(servers: &[String]) -> Vec<Resource> {
    let runtime = Resource::new(uri(RUNTIME_FILE_NAME), RUNTIME_FILE_NAME)
        .with_description("The sandbox API: mcp.call/servers/tools/search/describe, console, timers, McpError")
        .with_mime_type(MIME_TYPE);
    let skills = Resource::new(uri(SKILLS_FILE_NAME), SKILLS_FILE_NAME)
        .with_description("TypeScript declarations of the skills (import \"skills/<name>\")")
        .with_mime_type(MIME_TYPE);
    let docs = Resource::new(SKILL_DOCS_URI, "skills.md")
        .with_description("The skill library: what each skill does, its servers, parameters and an example")
        .with_mime_type("text/markdown");
    let servers = servers.iter().map(|server| {
        let file = declaration_file_name(server);
        Resource::new(uri(&file), file)
            .with_description(format!("TypeScript declarations of the tools of MCP server `{server}` (import \"mcp://{server}\")"))
            .with_mime_type(MIME_TYPE)
    });
    [runtime, skills, docs].into_iter().chain(servers).collect()
}

/// The text behind `uri`; reading a server's declarations starts it if needed.
pub async fn read(runtime: &Runtime, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if uri == SKILL_DOCS_URI {
        let docs = skills::markdown(&runtime.skills().current());
        return Ok(ReadResourceResult::new(vec![ResourceContents::text(docs, uri).with_mime_type("text/markdown")]));
    }
    let not_found = || ErrorData::resource_not_found(format!("no resource {uri}"), None);
    let file = uri.strip_prefix(PREFIX).ok_or_else(not_found)?;
    let bridge = runtime.bridge();
    let text = if file == RUNTIME_FILE_NAME {
        RUNTIME_DECLARATIONS.to_owned()
    } else if file == SKILLS_FILE_NAME {
        skills::declarations_file(&runtime.skills().current())
    } else {
        let names = bridge.server_names();
        let server = server_of_file(&names, file).ok_or_else(not_found)?;
        let catalog = bridge.catalog().await;
        match catalog.server_declarations(server) {
            Some(declarations) => declarations,
            None => {
                let reason = catalog.unavailable.iter().find(|(name, _)| name == server).map(|(_, reason)| reason.clone());
                let message = reason.unwrap_or_else(|| format!("no MCP server is named `{server}`"));
                return Err(ErrorData::resource_not_found(message, None));
            }
        }
    };
    Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type(MIME_TYPE)]))
}

/// The server whose declarations `file` holds.
fn server_of_file<'a>(servers: &'a [String], file: &str) -> Option<&'a str> {
    servers.iter().map(String::as_str).find(|server| declaration_file_name(server) == file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_names_get_distinct_uris_that_lead_back_to_their_server() {
        let servers: Vec<String> = ["runtime", "a.b", "a_b"].map(str::to_owned).to_vec();
        let uris: Vec<String> = list(&servers).iter().map(|resource| resource.uri.clone()).collect();
        let mut distinct = uris.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 6, "{uris:?}");
        assert_eq!(uris[0], "mcp-code-runtime://types/runtime.d.ts");
        assert_eq!(uris[1], "mcp-code-runtime://types/skills.d.ts");
        for (server, uri) in servers.iter().zip(&uris[3..]) {
            assert_eq!(server_of_file(&servers, uri.strip_prefix(PREFIX).unwrap()), Some(server.as_str()), "{uri}");
        }
        assert_eq!(server_of_file(&servers, "runtime.d.ts"), None);
        assert_eq!(server_of_file(&servers, "a_b.d.ts"), Some("a_b"));
    }
}
