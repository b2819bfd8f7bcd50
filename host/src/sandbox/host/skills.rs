//! `skills`: the program's calls of skills. The sandbox only forwards them to
//! the run's [`ToolAccess`], which decides what a skill may reach and runs it
//! in a sandbox of its own; the call completes like any other operation.

use crate::sandbox::bindings::Failure;
use crate::sandbox::bindings::mcp::code_runtime::skills::Host;
use crate::sandbox::state::HostState;

impl Host for HostState {
    fn call_skill(&mut self, name: String, input: String) -> wasmtime::Result<Result<u32, Failure>> {
        let call = self.tools.call_skill(&name, &input);
        self.start_granted(call)
    }
}
