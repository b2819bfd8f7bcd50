// One program, three MCP servers: only the summary it returns reaches the model.
// Run it with `make demo` (or: mcp-code-runtime run examples/quickstart.ts --config config/mcp-servers.json).

import * as everything from "mcp://everything";

interface Entity { name: string; entityType: string; observations: string[] }

// Tools by camelCase alias, or by exact name through mcp.call.
const sum = await everything.getSum({ a: 19, b: 23 });
const echo = await mcp.call("everything", "echo", { message: "hello from the sandbox" });

// Calls started together run concurrently.
const fs = await import("mcp://filesystem");
const [allowed, tree] = await Promise.all([
  fs.listAllowedDirectories(),
  mcp.call("everything", "get-structured-content", { location: "Chicago" }),
]);

// Data stays in the sandbox: write to the knowledge graph, read it back, keep a count.
const memory = await import("mcp://memory");
await memory.createEntities({
  entities: [{ name: "mcp-code-runtime", entityType: "project", observations: ["runs TypeScript in Wasm"] }],
});
await memory.addObservations({ observations: [{ entityName: "mcp-code-runtime", contents: [`demo at ${new Date().toISOString()}`] }] });
const graph = (await memory.readGraph()) as { entities: Entity[] };
const project = graph.entities.find((entity) => entity.name === "mcp-code-runtime");

// A failing call throws an McpError that the program can handle.
let denied = "";
try {
  await mcp.call("memory", "delete_entities", { entityNames: ["mcp-code-runtime"] });
} catch (error) {
  denied = `${(error as McpError).name}: ${(error as McpError).kind}`;
}

console.log("servers:", (await mcp.servers()).map((server) => `${server.name} (${server.state})`).join(", "));
return {
  sum,
  echo,
  allowedDirectories: allowed,
  weather: tree,
  projectObservations: project?.observations.length ?? 0,
  deleteWasDenied: denied,
};
