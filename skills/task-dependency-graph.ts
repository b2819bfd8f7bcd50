/**
 * task-master's dependency graph without reading every task: its edges, the
 * dependencies on tasks that do not exist, the cycles, and a Mermaid flowchart
 * (each dependency points to the task that waits for it). Read-only; no API key.
 */
export const meta = {
  name: "task-dependency-graph",
  title: "Task dependency graph",
  description:
    "The dependency graph of task-master's tasks: edges [task, dependsOn], dependencies on missing tasks, cycles, and a Mermaid flowchart. Read-only, no API key needed.",
  servers: ["task-master"],
  input: {
    type: "object",
    properties: {
      projectRoot: { type: "string" },
      includeDone: { type: "boolean", default: true },
    },
    required: ["projectRoot"],
  },
  output: {
    type: "object",
    properties: {
      nodes: { type: "integer" },
      edges: { type: "array", items: { type: "array", items: { type: "string" } } },
      missing: { type: "array", items: { type: "array", items: { type: "string" } } },
      cycles: { type: "array", items: { type: "array", items: { type: "string" } } },
      mermaid: { type: "string" },
    },
    required: ["nodes", "edges", "missing", "cycles", "mermaid"],
  },
  tokenReduction: "~85% on 50 tasks (edges instead of the full task list)",
  examples: [`taskDependencyGraph({ projectRoot: "/work/app", includeDone: false })`],
} as const;

/** Longest task title shown in a Mermaid node. */
const LABEL = 40;
/** Most cycles reported. */
const MAX_CYCLES = 20;

function label(title: string): string {
  const short = title.length > LABEL ? `${title.slice(0, LABEL - 1)}…` : title;
  return short.replace(/["\n]/g, "'");
}

/** Cycles as the ids along them, each once, from one depth-first search over `deps` (every cyclic part of the graph shows at least one). */
function cycles(ids: string[], deps: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const seen = new Set<string>();
  const keys = new Set<string>();
  const visit = (id: string, path: string[]) => {
    const at = path.indexOf(id);
    if (at >= 0) {
      const cycle = path.slice(at);
      const key = [...cycle].sort().join(",");
      if (!keys.has(key) && found.length < MAX_CYCLES) {
        keys.add(key);
        found.push(cycle);
      }
      return;
    }
    if (seen.has(id)) return;
    path.push(id);
    for (const dep of deps.get(id) ?? []) visit(dep, path);
    path.pop();
    seen.add(id);
  };
  for (const id of ids) visit(id, []);
  return found;
}

export default async function taskDependencyGraph(input: { projectRoot: string; includeDone?: boolean }) {
  const listed = await mcp.call("task-master", "get_tasks", { projectRoot: input.projectRoot });
  const tasks: any[] = listed.data.tasks.filter((task: any) => input.includeDone !== false || task.status !== "done");
  const ids = tasks.map((task) => String(task.id));
  const known = new Set(ids);
  const all = new Set(listed.data.tasks.map((task: any) => String(task.id)));
  const deps = new Map(tasks.map((task) => [String(task.id), (task.dependencies ?? []).map(String) as string[]]));
  const edges: string[][] = [];
  const missing: string[][] = [];
  for (const [id, on] of deps) {
    for (const dep of on) {
      if (known.has(dep)) edges.push([id, dep]);
      else if (!all.has(dep)) missing.push([id, dep]);
    }
  }
  const mermaid = [
    "flowchart LR",
    ...tasks.map((task) => `  t${task.id}["${task.id}: ${label(task.title)}"]`),
    ...edges.map(([id, dep]) => `  t${dep} --> t${id}`),
  ].join("\n");
  return { nodes: tasks.length, edges, missing, cycles: cycles(ids, deps), mermaid };
}

export { taskDependencyGraph };
