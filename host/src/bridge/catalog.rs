//! Progressive disclosure of tools: a [`Catalog`] is the allowed tools of a
//! set of servers, to search with a chosen level of detail and to describe as
//! TypeScript declarations. A model browses or searches first, then reads only
//! the declarations it needs.
//!
//! Tools are named `server.tool` here. A catalog is a snapshot: gathering one
//! starts the servers that have not started, so their tools can be listed.

use std::sync::Arc;

use rmcp::model::Tool;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::downstream::Downstream;
use crate::policy::{Decision, Policy};
use crate::search::ToolIndex;
use crate::typegen::{self, ToolInfo};

/// How much a search result says about each tool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Detail {
    /// `server.tool` only.
    Name,
    /// The name and a one-line description.
    #[default]
    Summary,
    /// The name and the tool's TypeScript declaration.
    Full,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    /// `server.tool`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declaration: Option<String>,
}

/// The allowed tools of some servers, with the servers that could not be listed.
pub struct Catalog {
    servers: Vec<(String, Vec<ToolInfo>)>,
    /// Servers whose tools could not be listed, with the reason.
    pub unavailable: Vec<(String, String)>,
}

impl Catalog {
    /// Lists the allowed tools of `servers`, concurrently.
    pub(super) async fn gather(servers: &[Arc<Downstream>], policy: &Arc<Policy>) -> Catalog {
        let listings: Vec<_> = servers
            .iter()
            .map(|server| {
                let server = Arc::clone(server);
                let policy = Arc::clone(policy);
                tokio::spawn(async move {
                    let listed = server
                        .tools()
                        .await
                        .map(|tools| allowed_tools(&policy, server.name(), &tools).map(tool_info).collect::<Vec<_>>());
                    (server.name().to_owned(), listed.map_err(|error| error.to_string()))
                })
            })
            .collect();
        let mut catalog = Catalog { servers: Vec::new(), unavailable: Vec::new() };
        for listing in listings {
            match listing.await {
                Ok((name, Ok(tools))) => catalog.servers.push((name, tools)),
                Ok((name, Err(reason))) => catalog.unavailable.push((name, reason)),
                Err(_) => {}
            }
        }
        catalog
    }

    /// The server names, with their tools.
    pub fn servers(&self) -> impl Iterator<Item = (&str, &[ToolInfo])> {
        self.servers.iter().map(|(name, tools)| (name.as_str(), tools.as_slice()))
    }

    /// The allowed tools of one server; `None` when it could not be listed.
    pub fn tools_of(&self, server: &str) -> Option<&[ToolInfo]> {
        self.servers().find(|(name, _)| *name == server).map(|(_, tools)| tools)
    }

    /// The best `limit` tools for `query`, best first.
    pub fn search(&self, query: &str, detail: Detail, limit: usize) -> Vec<Found> {
        let index = ToolIndex::new(self.servers.iter().flat_map(|(server, tools)| tools.iter().map(move |tool| (server.as_str(), tool))));
        index
            .search(query, limit)
            .into_iter()
            .filter_map(|hit| self.tool(&hit.server, &hit.tool).map(|tool| found(&hit.server, tool, detail)))
            .collect()
    }

    /// The declarations of the named tools (`server.tool`) or whole servers
    /// (`server`), and the names that matched nothing.
    pub fn describe(&self, names: &[String]) -> (String, Vec<String>) {
        let mut declarations = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            match self.declaration(name) {
                Some(declaration) => declarations.push(declaration),
                None => unknown.push(name.clone()),
            }
        }
        (declarations.join("\n"), unknown)
    }

    /// The whole `.d.ts` of one server.
    pub fn server_declarations(&self, server: &str) -> Option<String> {
        Some(typegen::server_declarations(server, self.tools_of(server)?))
    }

    fn declaration(&self, name: &str) -> Option<String> {
        if let Some(whole) = self.server_declarations(name) {
            return Some(whole);
        }
        let (server, tool) = self.split_name(name)?;
        let tool = self.tool(server, tool)?;
        Some(typegen::tool_declaration(server, tool))
    }

    /// `server.tool` split at the longest server name that prefixes it.
    fn split_name<'a>(&self, name: &'a str) -> Option<(&'a str, &'a str)> {
        self.servers
            .iter()
            .filter_map(|(server, _)| {
                let tool = name.strip_prefix(server.as_str())?.strip_prefix('.')?;
                Some((&name[..server.len()], tool))
            })
            .max_by_key(|(server, _)| server.len())
    }

    fn tool(&self, server: &str, tool: &str) -> Option<&ToolInfo> {
        self.tools_of(server)?.iter().find(|info| info.name == tool || typegen::camel_case(&info.name) == tool)
    }
}

fn found(server: &str, tool: &ToolInfo, detail: Detail) -> Found {
    Found {
        name: format!("{server}.{}", tool.name),
        summary: (detail == Detail::Summary).then(|| typegen::one_line_summary(tool.description.as_deref())),
        declaration: (detail == Detail::Full).then(|| typegen::tool_declaration(server, tool)),
    }
}

/// The tools of `server` its policy allows.
pub(super) fn allowed_tools<'a>(policy: &'a Policy, server: &'a str, tools: &'a [Tool]) -> impl Iterator<Item = &'a Tool> {
    tools.iter().filter(move |tool| matches!(policy.check_tool(server, &tool.name), Decision::Allow))
}

/// An MCP tool as the type generator reads it.
pub fn tool_info(tool: &Tool) -> ToolInfo {
    ToolInfo {
        name: tool.name.to_string(),
        description: tool.description.as_deref().map(str::to_owned),
        input_schema: Value::Object((*tool.input_schema).clone()),
        output_schema: tool.output_schema.as_deref().map(|schema| Value::Object(schema.clone())),
    }
}
