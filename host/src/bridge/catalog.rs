//! Progressive disclosure of tools: a [`Catalog`] is the allowed tools of a
//! set of servers, to search with a chosen level of detail and to describe as
//! TypeScript declarations. A model browses or searches first, then reads only
//! the declarations it needs.
//!
//! Tools are named `server.tool` here. A catalog is a snapshot: gathering one
//! starts the servers that have not started, so their tools can be listed.
//!
//! # Bounds
//! Searching and describing are driven by the caller's input (a program's or
//! the MCP client's), so each is bounded and interruptible:
//! - a search query is bounded by [`crate::search::Query`]; at most
//!   [`MAX_SEARCH_RESULTS`] results are returned (a larger `limit` is
//!   lowered to it);
//! - one describe names at most [`MAX_DESCRIBE_NAMES`] tools or servers (more
//!   is an error); repeated names are described once;
//! - the JSON of the answer is at most [`MAX_DISCOVERY_BYTES`] (or the
//!   caller's lower cap); a larger one is an error asking for fewer names;
//! - the work runs on tokio's blocking pool through [`Workers`], a few jobs at
//!   a time, never on the async workers that carry MCP I/O, timers and other
//!   runs, and checks an interruption flag (a run's end) per tool and name.

use std::collections::HashSet;
use std::sync::Arc;

use rmcp::model::Tool;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::downstream::Downstream;
use super::results::json_len;
use crate::policy::{Policy, ToolHints};
use crate::search::{IndexCache, Query, QueryError, ToolIndex};
use crate::typegen::{self, ToolInfo};

/// The most results one search returns.
pub const MAX_SEARCH_RESULTS: usize = 100;
/// The most names one describe may ask for.
pub const MAX_DESCRIBE_NAMES: usize = 256;
/// The most bytes of JSON one search or describe answers with.
pub const MAX_DISCOVERY_BYTES: usize = 1 << 20;

/// Why a search or describe gives no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("detail must be \"name\", \"summary\" or \"full\", not {0:?}")]
    Detail(String),
    #[error("{count} names asked for, over the limit of {MAX_DESCRIBE_NAMES} per call")]
    TooManyNames { count: usize },
    #[error("the answer is more than {max} bytes: ask for fewer tools or servers, or less detail")]
    TooLarge { max: usize },
    #[error("the search or description was interrupted: the run ended")]
    Interrupted,
    #[error("the host failed while searching or describing tools")]
    Crashed,
}

/// The declarations of the names a describe asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The declarations of the names that matched, in order.
    pub declarations: String,
    /// The names that matched nothing.
    pub unknown: Vec<String>,
}

/// Runs discovery work on tokio's blocking pool, as many jobs at once as the
/// machine has cores, so it never holds an async worker; and keeps the search
/// indexes that work reuses.
#[derive(Clone)]
pub struct Workers {
    permits: Arc<Semaphore>,
    indexes: Arc<IndexCache>,
}

impl Workers {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Workers { permits: Arc::new(Semaphore::new(cores)), indexes: Arc::default() }
    }

    /// The search indexes of recent tool sets.
    pub fn indexes(&self) -> &Arc<IndexCache> {
        &self.indexes
    }

    /// Runs `work` off the async workers once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, DiscoveryError> + Send + 'static,
    ) -> Result<T, DiscoveryError> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.map_err(|_| DiscoveryError::Crashed)?;
        // The permit moves into the job: a caller that stops waiting does not
        // free the slot while the job still runs.
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        job.await.unwrap_or(Err(DiscoveryError::Crashed))
    }
}

impl Default for Workers {
    fn default() -> Self {
        Self::new()
    }
}

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

impl std::str::FromStr for Detail {
    type Err = DiscoveryError;

    fn from_str(detail: &str) -> Result<Self, DiscoveryError> {
        serde_json::from_value(Value::String(detail.to_owned())).map_err(|_| DiscoveryError::Detail(detail.to_owned()))
    }
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

/// The group skills are listed under among the servers: no server has this
/// name, since a server is named in `server.tool` and a skill `skills/<name>`.
const SKILLS_GROUP: &str = conventions::SKILLS_DIR;

/// The allowed tools of some servers, with the servers that could not be
/// listed, and the skills when discovery should find them too.
pub struct Catalog {
    servers: Vec<(String, Vec<ToolInfo>)>,
    /// Servers whose tools could not be listed, with the reason.
    pub unavailable: Vec<(String, String)>,
    /// Identifies the tool lists (and skills) this catalog was made of, to
    /// find their search index in `indexes`.
    key: u64,
    /// The servers' tool lists, which keep `key` unique while it is cached.
    sources: Vec<Arc<Vec<Tool>>>,
    indexes: Arc<IndexCache>,
}

impl Catalog {
    /// Lists the allowed tools of `servers`, concurrently; searches use
    /// (and fill) `indexes`.
    pub(super) async fn gather(servers: &[Arc<Downstream>], policy: &Arc<Policy>, indexes: &Arc<IndexCache>) -> Catalog {
        let listings: Vec<_> = servers
            .iter()
            .map(|server| {
                let server = Arc::clone(server);
                let policy = Arc::clone(policy);
                tokio::spawn(async move {
                    let listed = server.tools().await.map(|tools| {
                        let allowed = allowed_tools(&policy, server.name(), &tools).map(tool_info).collect::<Vec<_>>();
                        (allowed, tools)
                    });
                    (server.name().to_owned(), listed.map_err(|error| error.to_string()))
                })
            })
            .collect();
        let mut catalog = Catalog { servers: Vec::new(), unavailable: Vec::new(), key: 0, sources: Vec::new(), indexes: Arc::clone(indexes) };
        let mut key = xxhash_rust::xxh3::Xxh3::new();
        for listing in listings {
            match listing.await {
                Ok((name, Ok((tools, source)))) => {
                    key.update(name.as_bytes());
                    key.update(&(Arc::as_ptr(&source) as usize).to_le_bytes());
                    catalog.servers.push((name, tools));
                    catalog.sources.push(source);
                }
                Ok((name, Err(reason))) => catalog.unavailable.push((name, reason)),
                Err(_) => {}
            }
        }
        catalog.key = key.digest();
        catalog
    }

    /// The catalog with `skills` (each described as a tool named after the
    /// skill): search finds them as `skills/<name>`, describe declares them.
    pub fn with_skills(mut self, skills: Vec<ToolInfo>) -> Self {
        if !skills.is_empty() {
            let described = serde_json::to_vec(&skills).unwrap_or_default();
            self.key ^= xxhash_rust::xxh3::xxh3_64(&described).rotate_left(1);
            self.servers.push((SKILLS_GROUP.to_owned(), skills));
        }
        self
    }

    /// The server names, with their tools (and skills, when added).
    pub fn servers(&self) -> impl Iterator<Item = (&str, &[ToolInfo])> {
        self.servers.iter().map(|(name, tools)| (name.as_str(), tools.as_slice()))
    }

    /// The allowed tools of one server; `None` when it could not be listed.
    pub fn tools_of(&self, server: &str) -> Option<&[ToolInfo]> {
        self.servers().find(|(name, _)| *name == server).map(|(_, tools)| tools)
    }

    /// The best `limit` tools for `query`, best first, in at most
    /// `max_bytes` of JSON; `interrupted` is checked per tool.
    pub fn search(
        &self,
        query: &Query,
        detail: Detail,
        limit: usize,
        max_bytes: usize,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Vec<Found>, DiscoveryError> {
        let pins = self.sources.iter().map(|source| Arc::clone(source) as Arc<dyn std::any::Any + Send + Sync>).collect();
        let index = self.indexes.get_or_build(self.key, pins, || {
            ToolIndex::new(self.servers.iter().flat_map(|(server, tools)| tools.iter().map(move |tool| (server.as_str(), tool))))
        });
        let hits = index.search(query, limit.min(MAX_SEARCH_RESULTS), interrupted).ok_or(DiscoveryError::Interrupted)?;
        let mut results = Vec::with_capacity(hits.len());
        let mut bytes = 2; // `[]`
        for hit in hits {
            if interrupted() {
                return Err(DiscoveryError::Interrupted);
            }
            let Some(tool) = self.tool(&hit.server, &hit.tool) else { continue };
            let result = found(&hit.server, tool, detail);
            bytes += json_len(&result) as usize + 1;
            if bytes > max_bytes {
                return Err(DiscoveryError::TooLarge { max: max_bytes });
            }
            results.push(result);
        }
        Ok(results)
    }

    /// The declarations of the named tools (`server.tool`) or whole servers
    /// (`server`), each name once, in at most `max_bytes` of JSON text;
    /// `interrupted` is checked per name.
    pub fn describe(&self, names: &[String], max_bytes: usize, interrupted: &dyn Fn() -> bool) -> Result<Described, DiscoveryError> {
        if names.len() > MAX_DESCRIBE_NAMES {
            return Err(DiscoveryError::TooManyNames { count: names.len() });
        }
        let mut seen = HashSet::new();
        let mut described = Described { declarations: String::new(), unknown: Vec::new() };
        for name in names.iter().filter(|name| seen.insert(name.as_str())) {
            if interrupted() {
                return Err(DiscoveryError::Interrupted);
            }
            let Some(declaration) = self.declaration(name) else {
                described.unknown.push(name.clone());
                continue;
            };
            if !described.declarations.is_empty() {
                described.declarations.push('\n');
            }
            described.declarations.push_str(&declaration);
            if described.declarations.len() > max_bytes {
                return Err(DiscoveryError::TooLarge { max: max_bytes });
            }
        }
        if json_len(&described.declarations) as usize > max_bytes {
            return Err(DiscoveryError::TooLarge { max: max_bytes });
        }
        Ok(described)
    }

    /// The whole `.d.ts` of one server.
    pub fn server_declarations(&self, server: &str) -> Option<String> {
        Some(typegen::server_declarations(server, self.tools_of(server)?))
    }

    fn declaration(&self, name: &str) -> Option<String> {
        if let Some(skill) = name.strip_prefix(SKILLS_GROUP) {
            let skill = self.tools_of(SKILLS_GROUP)?.iter().find(|info| info.name == skill)?;
            return Some(typegen::skill_declaration(&skill.name, skill));
        }
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
    let skill = server == SKILLS_GROUP;
    Found {
        name: if skill { format!("{SKILLS_GROUP}{}", tool.name) } else { format!("{server}.{}", tool.name) },
        summary: (detail == Detail::Summary).then(|| typegen::one_line_summary(tool.description.as_deref())),
        declaration: (detail == Detail::Full).then(|| {
            if skill { typegen::skill_declaration(&tool.name, tool) } else { typegen::tool_declaration(server, tool) }
        }),
    }
}

/// The tools of `server` its policy allows (some perhaps only once approved).
pub(super) fn allowed_tools<'a>(policy: &'a Policy, server: &'a str, tools: &'a [Tool]) -> impl Iterator<Item = &'a Tool> {
    tools.iter().filter(move |tool| policy.check_tool(server, &tool.name, tool_hints(tool)).is_callable())
}

/// What a tool's MCP annotations say of it, for the policy.
pub(super) fn tool_hints(tool: &Tool) -> ToolHints {
    let annotations = tool.annotations.as_ref();
    ToolHints {
        destructive: annotations.and_then(|hints| hints.destructive_hint).unwrap_or(false),
        read_only: annotations.and_then(|hints| hints.read_only_hint).unwrap_or(false),
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn catalog(tools_per_server: usize) -> Catalog {
        let tool = |n: usize| ToolInfo {
            name: format!("ping_{n}"),
            description: Some("Ping a host".into()),
            input_schema: json!({"type": "object", "properties": {"host": {"type": "string"}}}),
            output_schema: None,
        };
        Catalog {
            servers: vec![("net".into(), (0..tools_per_server).map(tool).collect())],
            unavailable: vec![],
            key: tools_per_server as u64,
            sources: vec![],
            indexes: Arc::default(),
        }
    }

    fn names(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn repeated_names_are_described_once() {
        let catalog = catalog(3);
        let once = catalog.describe(&names(&["net"]), MAX_DISCOVERY_BYTES, &|| false).unwrap();
        let repeated = catalog.describe(&names(&["net", "net.ping_1", "net", "net"]), MAX_DISCOVERY_BYTES, &|| false).unwrap();
        let single_tool = catalog.describe(&names(&["net.ping_1"]), MAX_DISCOVERY_BYTES, &|| false).unwrap();
        assert_eq!(repeated.declarations, format!("{}\n{}", once.declarations, single_tool.declarations));
        let unknown = catalog.describe(&names(&["nope", "nope"]), MAX_DISCOVERY_BYTES, &|| false).unwrap();
        assert_eq!(unknown.unknown, names(&["nope"]));
    }

    #[test]
    fn describe_caps_names_and_output() {
        let catalog = catalog(3);
        let flood = vec!["net".to_owned(); MAX_DESCRIBE_NAMES + 1];
        assert_eq!(
            catalog.describe(&flood, MAX_DISCOVERY_BYTES, &|| false),
            Err(DiscoveryError::TooManyNames { count: MAX_DESCRIBE_NAMES + 1 })
        );
        assert!(catalog.describe(&flood[1..], MAX_DISCOVERY_BYTES, &|| false).is_ok());
        let whole = catalog.describe(&names(&["net"]), MAX_DISCOVERY_BYTES, &|| false).unwrap();
        let fits = json_len(&whole.declarations) as usize;
        assert!(catalog.describe(&names(&["net"]), fits, &|| false).is_ok());
        assert_eq!(catalog.describe(&names(&["net"]), fits - 1, &|| false), Err(DiscoveryError::TooLarge { max: fits - 1 }));
        assert_eq!(catalog.describe(&names(&["net"]), MAX_DISCOVERY_BYTES, &|| true), Err(DiscoveryError::Interrupted));
    }

    #[test]
    fn search_caps_results_and_output() {
        let catalog = catalog(MAX_SEARCH_RESULTS + 50);
        let query = Query::parse("ping").unwrap();
        let found = catalog.search(&query, Detail::Name, usize::MAX, MAX_DISCOVERY_BYTES, &|| false).unwrap();
        assert_eq!(found.len(), MAX_SEARCH_RESULTS);
        let full = catalog.search(&query, Detail::Full, 10, 1000, &|| false);
        assert_eq!(full, Err(DiscoveryError::TooLarge { max: 1000 }));
        assert_eq!(catalog.search(&query, Detail::Name, 10, MAX_DISCOVERY_BYTES, &|| true), Err(DiscoveryError::Interrupted));
    }

    #[test]
    fn detail_parses_from_its_name() {
        assert_eq!("full".parse::<Detail>(), Ok(Detail::Full));
        assert_eq!("lots".parse::<Detail>(), Err(DiscoveryError::Detail("lots".into())));
    }
}
