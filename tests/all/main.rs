//! One integration binary: the real `mcp-code-runtime` driven over MCP.

mod sandbox;
mod util;
