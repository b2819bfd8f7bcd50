// @ts-check
/**
 * The MCP side both alternatives share: one `execute_code` tool, answered
 * with the same structured response mcp-code-runtime gives (`ok`, `result`,
 * `error`, `logs`), over stdio. How a program runs is each server's business
 * (deno-server.mjs, node-vm-server.mjs); this module owns only the protocol.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

/** The deadline of a run that asks for none, as mcp-code-runtime's default. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The longest deadline a run may ask for. */
const MAX_TIMEOUT_MS = 300_000;

/**
 * @typedef {{ ok: boolean, result?: unknown, error?: { kind: string, message: string }, logs: string[] }} Response
 * @typedef {(code: string, timeoutMs: number) => Promise<Response>} Runner
 */

/**
 * Serves `execute_code` on stdio, running each program with `run`.
 * @param {string} name
 * @param {string} description
 * @param {Runner} run
 */
export function serve(name, description, run) {
  const server = new Server({ name, version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      {
        name: "execute_code",
        description,
        inputSchema: {
          type: "object",
          properties: {
            code: { type: "string", description: "The body of an async function; its return value is the result." },
            timeout: { type: "number", description: `Milliseconds (default ${DEFAULT_TIMEOUT_MS}).` },
          },
          required: ["code"],
        },
      },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const { name: tool, arguments: args = {} } = request.params;
    if (tool !== "execute_code" || typeof args.code !== "string") {
      return { isError: true, content: [{ type: "text", text: `unknown tool or no code: ${tool}` }] };
    }
    const timeout = typeof args.timeout === "number" && args.timeout >= 1 ? Math.min(args.timeout, MAX_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
    const response = await run(args.code, timeout);
    return {
      isError: !response.ok,
      content: [{ type: "text", text: JSON.stringify(response) }],
      structuredContent: response,
    };
  });
  server.connect(new StdioServerTransport()).catch((error) => {
    process.stderr.write(`${name}: stdio: ${error}\n`);
    process.exit(1);
  });
}

/**
 * The error of a program, as a response.
 * @param {unknown} error
 * @param {string[]} logs
 * @returns {Response}
 */
export function failed(error, logs) {
  // Duck-typed: an error of a vm context is not an `Error` of this realm.
  const fields = /** @type {{ name?: unknown, message?: unknown }} */ (typeof error === "object" && error !== null ? error : {});
  const name = typeof fields.name === "string" ? fields.name : "Error";
  const message = typeof fields.message === "string" ? fields.message : String(error);
  return { ok: false, error: { kind: name, message }, logs };
}
