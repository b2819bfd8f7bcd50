"""The Python `mcp` SDK checks execute_code's results against the outputSchema
the host declares. Run by tests/all/adoption.rs as
`python output_schema.py <mcp-code-runtime> <cache-dir> <test-server>`; prints
one JSON line naming each result shape that was validated, and exits non-zero
when a result does not match the schema.

The SDK validates the structuredContent of successful results itself (it
raises when they do not match); failed results are validated here with
jsonschema, against the same schema."""

import asyncio
import json
import sys
import tempfile

import jsonschema
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

PROGRAMS = {
    "ok": "const f = await import('mcp://faults'); console.warn('w'); return await f.echo({ message: 'hi' });",
    "runtime_error": "throw new TypeError('nope');",
    "syntax_error": "return (;",
    "tool_error": "const f = await import('mcp://faults'); return await f.fail({ message: 'boom' });",
    "timeout": "await new Promise((resolve) => setTimeout(resolve, 60000));",
}


async def main(binary: str, cache_dir: str, test_server: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as config:
        json.dump({"mcpServers": {"faults": {"command": test_server}}}, config)
    params = StdioServerParameters(
        command=binary, args=["serve", "--cache-dir", cache_dir, "--config", config.name], env={"RUST_LOG": "warn"}
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            schema = tools["execute_code"].output_schema
            if not schema:
                raise SystemExit("execute_code declares no outputSchema")
            validated = []
            for expected, code in PROGRAMS.items():
                arguments = {"code": code, "timeout": 1000} if expected == "timeout" else {"code": code}
                result = await session.call_tool("execute_code", arguments)
                structured = result.structured_content
                jsonschema.validate(structured, schema)
                kind = "ok" if structured["ok"] else structured["error"]["kind"]
                if kind != expected or bool(result.is_error) == structured["ok"]:
                    raise SystemExit(f"expected {expected}, got {json.dumps(structured)}")
                validated.append(kind)
            print(json.dumps({"validated": validated}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
