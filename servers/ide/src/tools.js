// @ts-check
/**
 * The MCP tools of the server: their names, schemas and descriptions, each
 * answered by the `Project`. Tool names and result shapes follow Claude Code's
 * IDE integration (`getDiagnostics`, `getWorkspaceFolders`) and LSP (locations,
 * zero-based positions). Owns no compiler state; a `ProjectError` (or any other
 * failure) becomes an MCP tool error carrying its message.
 */
import { z } from "zod";

/** @typedef {import("@modelcontextprotocol/sdk/server/mcp.js").McpServer} McpServer */
/** @typedef {import("./project.js").Project} Project */

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

const fileArgument = z
  .string()
  .min(1)
  .describe("The file: a file:// URI, an absolute path, or a path relative to the project folder");

const positionArguments = {
  uri: fileArgument,
  line: z.number().int().min(0).describe("Zero-based line"),
  character: z.number().int().min(0).describe("Zero-based character in the line (UTF-16 code units, as in LSP)"),
};

const position = z.object({ line: z.number().int(), character: z.number().int() });
const range = z.object({ start: position, end: position });
const location = z.object({ uri: z.string(), range });

/**
 * @param {McpServer} server
 * @param {Project} project
 */
export function registerTools(server, project) {
  server.registerTool(
    "getDiagnostics",
    {
      title: "Diagnostics",
      description:
        "Type errors and other problems the TypeScript compiler reports for the project, as an editor shows them. " +
        "Returns a JSON array with one entry per file: {uri, diagnostics: [{message, severity: \"Error\"|\"Warning\"|\"Info\"|\"Hint\", " +
        "range: {start: {line, character}, end: {line, character}}, source: \"ts\", code}]}; lines and characters count from 0. " +
        "Without `uri`: every file that has diagnostics; problems of the tsconfig itself are under its own uri. " +
        "With `uri`: that file only (the tsconfig's uri: its problems), with an empty list when it has none.",
      inputSchema: { uri: fileArgument.optional() },
      annotations: READ_ONLY,
    },
    ({ uri }) => json(project.diagnostics(uri)),
  );

  server.registerTool(
    "getWorkspaceFolders",
    {
      title: "Workspace folders",
      description: "The project folder this server serves, and its tsconfig file.",
      outputSchema: {
        success: z.boolean(),
        folders: z.array(z.object({ name: z.string(), uri: z.string(), path: z.string() })),
        rootPath: z.string(),
        tsconfig: z.string(),
      },
      annotations: READ_ONLY,
    },
    () => structured({ success: true, folders: [project.workspaceFolder()], rootPath: project.root, tsconfig: project.configFile }),
  );

  server.registerTool(
    "getProjectFiles",
    {
      title: "Project files",
      description: "The source files of the project, as its tsconfig selects them (\"files\", \"include\", \"exclude\"), with their language ids.",
      outputSchema: {
        files: z.array(z.object({ uri: z.string(), path: z.string().describe("relative to the project folder"), languageId: z.string() })),
      },
      annotations: READ_ONLY,
    },
    () => structured({ files: project.files() }),
  );

  server.registerTool(
    "getDefinition",
    {
      title: "Go to definition",
      description: "Where the symbol at a position is defined (declarations in the compiler's own lib files included).",
      inputSchema: positionArguments,
      outputSchema: { definitions: z.array(location) },
      annotations: READ_ONLY,
    },
    ({ uri, line, character }) => structured({ definitions: project.definition(uri, { line, character }) }),
  );

  server.registerTool(
    "findReferences",
    {
      title: "Find references",
      description: "Every reference to the symbol at a position across the project, its declaration included.",
      inputSchema: positionArguments,
      outputSchema: { references: z.array(location) },
      annotations: READ_ONLY,
    },
    ({ uri, line, character }) => structured({ references: project.references(uri, { line, character }) }),
  );

  server.registerTool(
    "getHover",
    {
      title: "Hover",
      description: "What an editor shows when hovering a position: the symbol's kind and type, and its documentation. `hover` is null where there is nothing to show.",
      inputSchema: positionArguments,
      outputSchema: {
        hover: z.object({ contents: z.string(), documentation: z.string(), range }).nullable(),
      },
      annotations: READ_ONLY,
    },
    ({ uri, line, character }) => structured({ hover: project.hover(uri, { line, character }) }),
  );
}

/**
 * A result whose text is `value` as JSON, the form Claude Code's IDE tools answer in.
 * @param {unknown} value
 */
function json(value) {
  return { content: [{ type: /** @type {const} */ ("text"), text: JSON.stringify(value) }] };
}

/**
 * A result with structured content and the same JSON as text, for clients that read only text.
 * @param {Record<string, unknown>} value
 */
function structured(value) {
  return { ...json(value), structuredContent: value };
}
