"""A second, independent MCP client: the Python `mcp` SDK drives the real
binary over stdio. Run by tests/all/interop.rs as
`python client_interop.py <mcp-code-runtime> <cache-dir>`; prints one JSON line
with what it saw, and exits non-zero on any protocol failure."""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main(binary: str, cache_dir: str) -> None:
    params = StdioServerParameters(command=binary, args=["serve", "--cache-dir", cache_dir], env={"RUST_LOG": "warn"})
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            initialized = await session.initialize()
            tools = await session.list_tools()
            ok = await session.call_tool("execute_code", {"code": "const xs: number[] = [1, 2, 3];\nconsole.info('sum');\nreturn xs.reduce((a, b) => a + b, 0);"})
            failed = await session.call_tool("execute_code", {"code": "throw new Error('nope');"})
            resources = await session.list_resources()
            print(json.dumps({
                "protocol": str(initialized.protocol_version),
                "server": initialized.server_info.name,
                "tools": sorted(tool.name for tool in tools.tools),
                "ok": {"isError": ok.is_error, "structured": ok.structured_content, "text": ok.content[0].text},
                "failed": {"isError": failed.is_error, "kind": (failed.structured_content or {}).get("error", {}).get("kind")},
                "resources": [str(resource.uri) for resource in resources.resources],
            }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
