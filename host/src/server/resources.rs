//! MCP resources: the TypeScript declarations a model (or its user) can read
//! before writing code: one `.d.ts` per server, the sandbox's own API and
//! the skills' modules; the skill library's documentation; and the results
//! and consoles that responses cut to the token budget.
//!
//! A resource's URI ends with the file name the `types` command writes
//! (`typegen::declaration_file_name`), so every server has its own URI, apart
//! from `runtime.d.ts`, whatever the server is named.
//!
//! A kept result is `mcp-code-runtime://results/<id>` (its JSON) and
//! `…/<id>/logs` (its console), read in pages with `?offset=<bytes>&limit=<bytes>`
//! (default 0 and [`PAGE_BYTES`]). A page's `_meta` has its `offset`, the
//! `nextOffset` and the `totalBytes`; a second text content names the next
//! page's URI. These are not listed: responses link them.

use rmcp::ErrorData;
use rmcp::model::{MetaObject, ReadResourceResult, Resource, ResourceContents};
use serde_json::json;

use crate::runtime::Runtime;
use crate::runtime::results::{Part, ResultStore, StoreError};
use crate::skills;
use crate::typegen::{RUNTIME_DECLARATIONS, RUNTIME_FILE_NAME, SKILLS_FILE_NAME, declaration_file_name};

const PREFIX: &str = "mcp-code-runtime://types/";
const MIME_TYPE: &str = "application/typescript";
/// The skill library as Markdown (`mcp-code-runtime skills docs`).
const SKILL_DOCS_URI: &str = "mcp-code-runtime://skills/docs.md";
const RESULTS_PREFIX: &str = "mcp-code-runtime://results/";
/// The size of a page of a kept result when the URI gives no `limit`.
pub const PAGE_BYTES: usize = 16 * 1024;

/// The URI of `part` of the kept run `id`.
pub fn result_uri(id: &str, part: Part) -> String {
    match part {
        Part::Result => format!("{RESULTS_PREFIX}{id}"),
        Part::Logs => format!("{RESULTS_PREFIX}{id}/logs"),
    }
}

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
    if let Some(kept) = uri.strip_prefix(RESULTS_PREFIX) {
        return read_kept(runtime.results(), uri, kept);
    }
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

/// A page of a kept result: `kept` is `<id>[/logs][?offset=N&limit=N]`.
fn read_kept(store: &ResultStore, uri: &str, kept: &str) -> Result<ReadResourceResult, ErrorData> {
    let (path, query) = kept.split_once('?').unwrap_or((kept, ""));
    let (id, part) = match path.strip_suffix("/logs") {
        Some(id) => (id, Part::Logs),
        None => (path, Part::Result),
    };
    let (offset, limit) = paging(uri, query)?;
    let whole = result_uri(id, part);
    let page = store.page(id, part, offset, limit).map_err(|error| match error {
        StoreError::Gone { .. } => ErrorData::resource_not_found(format!("{whole}: {error}; run the program again"), None),
        StoreError::PastTheEnd { .. } => ErrorData::invalid_params(format!("{uri}: {error}"), None),
    })?;
    let mime_type = match part {
        Part::Result => "application/json",
        Part::Logs => "text/plain",
    };
    let mut meta = json!({ "offset": page.offset, "totalBytes": page.total });
    if let Some(next) = page.next {
        meta["nextOffset"] = json!(next);
    }
    let serde_json::Value::Object(meta) = meta else { unreachable!("a JSON object literal") };
    let mut contents = vec![ResourceContents::text(page.text, uri).with_mime_type(mime_type).with_meta(MetaObject(meta))];
    if let Some(next) = page.next {
        let next_uri = format!("{whole}?offset={next}&limit={limit}");
        let note = format!("Bytes {}–{next} of {}; the next page is {next_uri}", page.offset, page.total);
        contents.push(ResourceContents::text(note, next_uri));
    }
    Ok(ReadResourceResult::new(contents))
}

/// `offset` and `limit` of a kept result's URI query.
fn paging(uri: &str, query: &str) -> Result<(usize, usize), ErrorData> {
    let (mut offset, mut limit) = (0, PAGE_BYTES);
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = value.parse::<usize>().ok();
        match (key, number) {
            ("offset", Some(number)) => offset = number,
            ("limit", Some(number)) if number > 0 => limit = number,
            _ => {
                let message = format!("{uri}: `{pair}` is not understood; pages are ?offset=<bytes>&limit=<bytes> (limit at least 1)");
                return Err(ErrorData::invalid_params(message, None));
            }
        }
    }
    Ok((offset, limit))
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

    #[test]
    fn pages_are_read_from_the_query_and_each_names_the_next() {
        let store = ResultStore::new(crate::config::ResultStoreSettings::default());
        let id = store.keep(Some("abcdef".into()), None).unwrap();
        let uri = format!("{}?offset=2&limit=3", result_uri(&id, Part::Result));
        let read = read_kept(&store, &uri, uri.strip_prefix(RESULTS_PREFIX).unwrap()).unwrap();
        let ResourceContents::TextResourceContents { text, meta, .. } = &read.contents[0] else { panic!("text") };
        assert_eq!(text, "cde");
        assert_eq!(serde_json::to_value(meta).unwrap(), json!({ "offset": 2, "totalBytes": 6, "nextOffset": 5 }));
        let ResourceContents::TextResourceContents { uri: next, .. } = &read.contents[1] else { panic!("text") };
        assert_eq!(next, &format!("{}?offset=5&limit=3", result_uri(&id, Part::Result)));
        for bad in ["offset=x", "limit=0", "page=2"] {
            let error = paging("u", bad).unwrap_err();
            assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS, "{bad}");
        }
        let logs = result_uri(&id, Part::Logs);
        let error = read_kept(&store, &logs, logs.strip_prefix(RESULTS_PREFIX).unwrap()).unwrap_err();
        assert_eq!(error.code, rmcp::model::ErrorCode::RESOURCE_NOT_FOUND);
        assert!(error.message.contains("run the program again"), "{}", error.message);
    }
}
