#!/usr/bin/env node
// @ts-check
/**
 * mcp-ide-server: starts the MCP server over stdio for the TypeScript project
 * named by `--project`. Owns the command line and the process; what the tools
 * answer is in tools.js and project.js. stdout is the MCP channel: messages
 * for people go to stderr.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import ts from "typescript";
import { Project, ProjectError } from "./project.js";
import { registerTools } from "./tools.js";

const USAGE = `usage: mcp-ide-server --project <dir or tsconfig.json>

Serves the diagnostics, definitions, references and hover text of one
TypeScript project over MCP (stdio), answered by the TypeScript compiler.`;

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

function main() {
  /** @type {ReturnType<typeof parseArgs>["values"]} */
  let options;
  try {
    ({ values: options } = parseArgs({
      options: { project: { type: "string", short: "p" }, help: { type: "boolean", short: "h" }, version: { type: "boolean" } },
      strict: true,
    }));
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : error}\n${USAGE}`);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (options.version) {
    process.stdout.write(`mcp-ide-server ${version} (TypeScript ${ts.version})\n`);
    return;
  }
  if (typeof options.project !== "string") {
    return fail(`--project is required\n${USAGE}`);
  }
  let project;
  try {
    project = new Project(options.project);
  } catch (error) {
    if (error instanceof ProjectError) {
      return fail(error.message);
    }
    throw error;
  }
  const server = new McpServer({ name: "ide", title: "IDE (TypeScript compiler)", version });
  registerTools(server, project);
  server.connect(new StdioServerTransport()).catch((error) => fail(`stdio: ${error}`));
}

/** @param {string} message */
function fail(message) {
  process.stderr.write(`mcp-ide-server: ${message}\n`);
  process.exitCode = 2;
}

main();
