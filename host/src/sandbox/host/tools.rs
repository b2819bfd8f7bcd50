//! `tools`: the program's requests to downstream MCP servers. The sandbox only
//! forwards them to the run's [`ToolAccess`], which decides what is granted,
//! and runs the granted calls as operations so that many proceed at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::state::{NoState, StateAccess};
use crate::sandbox::bindings::Failure;
use crate::sandbox::bindings::mcp::code_runtime::tools::Host;
use crate::sandbox::operations::OperationResult;
use crate::sandbox::state::HostState;
use crate::sandbox::RunObserver;

/// A granted request, to be run as an operation.
pub type ToolFuture = Pin<Box<dyn Future<Output = OperationResult> + Send>>;

/// The downstream servers, tools and skills one run may reach. Each method
/// checks the run's capabilities and limits at once and either refuses with a
/// [`Failure`] or returns the work to run.
pub trait ToolAccess: Send + Sync {
    /// The servers the program sees as globals: every configured one, so that
    /// a call of one outside the run's grant is refused by the host, by name.
    fn server_names(&self) -> Vec<String>;
    /// The skills the program may import.
    fn skill_names(&self) -> Vec<String>;
    /// A call of skill `name`; `input` is a JSON object. The skill runs in a
    /// sandbox of its own, under a grant no wider than this run's.
    fn call_skill(&self, name: &str, input: &str) -> Result<ToolFuture, Failure>;
    /// A call of `tool` on `server`; `arguments` is a JSON object.
    fn call_tool(&self, server: &str, tool: &str, arguments: &str) -> Result<ToolFuture, Failure>;
    /// The servers visible to the run, as a JSON array.
    fn list_servers(&self) -> ToolFuture;
    /// The tools of one visible server, as a JSON array.
    fn list_tools(&self, server: &str) -> Result<ToolFuture, Failure>;
    /// A ranked search of the visible servers' tools, as a JSON array.
    fn search_tools(&self, query: &str, detail: &str, limit: u32) -> ToolFuture;
    /// The TypeScript declarations of the named tools or servers, as a JSON string.
    fn describe_tools(&self, names: Vec<String>) -> ToolFuture;
    /// The cache and sessions the run may use; none by default.
    fn state(&self) -> &dyn StateAccess {
        &NoState
    }
}

impl HostState {
    /// Starts a granted request as an operation; a refusal goes back to the program.
    pub(super) fn start_granted(&mut self, granted: Result<ToolFuture, Failure>) -> wasmtime::Result<Result<u32, Failure>> {
        match granted {
            Ok(work) => Ok(Ok(self.operations.start(work)?)),
            Err(refused) => Ok(Err(refused)),
        }
    }
}

/// `work`, telling `observer` when it ends.
fn observed(work: ToolFuture, observer: Arc<dyn RunObserver>, server: String, tool: String) -> ToolFuture {
    Box::pin(async move {
        let result = work.await;
        observer.tool_call_finished(&server, &tool, result.is_ok());
        result
    })
}

impl Host for HostState {
    fn call_tool(&mut self, server: String, tool: String, arguments: String) -> wasmtime::Result<Result<u32, Failure>> {
        let call = self.tools.call_tool(&server, &tool, &arguments);
        let call = match (call, &self.observer) {
            (Ok(work), Some(observer)) => {
                observer.tool_call_started(&server, &tool);
                Ok(observed(work, Arc::clone(observer), server, tool))
            }
            (call, _) => call,
        };
        self.start_granted(call)
    }

    fn list_servers(&mut self) -> wasmtime::Result<u32> {
        let listing = self.tools.list_servers();
        Ok(self.operations.start(listing)?)
    }

    fn list_tools(&mut self, server: String) -> wasmtime::Result<Result<u32, Failure>> {
        let listing = self.tools.list_tools(&server);
        self.start_granted(listing)
    }

    fn search_tools(&mut self, query: String, detail: String, limit: u32) -> wasmtime::Result<u32> {
        let search = self.tools.search_tools(&query, &detail, limit);
        Ok(self.operations.start(search)?)
    }

    fn describe_tools(&mut self, names: Vec<String>) -> wasmtime::Result<u32> {
        let description = self.tools.describe_tools(names);
        Ok(self.operations.start(description)?)
    }
}
