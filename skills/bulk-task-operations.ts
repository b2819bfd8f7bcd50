/**
 * One operation over many task-master tasks: set their status, add or remove
 * one dependency, or remove them, chosen by ids or by a status and text
 * filter. Unknown ids fail the whole call before anything is written; a
 * dependency that task-master would refuse (self, unknown, or a cycle, on which
 * task-master 0.43 exits) is reported as failed without being sent. Removing
 * tasks also removes the other tasks' dependencies on them, which task-master's
 * `remove_task` leaves behind.
 */
export const meta = {
  name: "bulk-task-operations",
  title: "Bulk task operations",
  description:
    "Set the status of, add or remove a dependency (dependsOn) of, or remove task-master tasks chosen by ids or a status/search filter. Returns per-task results. No API key needed.",
  servers: ["task-master"],
  input: {
    type: "object",
    properties: {
      projectRoot: { type: "string" },
      operation: { enum: ["set-status", "add-dependency", "remove-dependency", "remove"] },
      ids: { type: "array", items: { type: "string" } },
      filter: { type: "object", properties: { status: { type: "string" }, search: { type: "string" } } },
      status: { type: "string" },
      dependsOn: { type: "string" },
      limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
    },
    required: ["projectRoot", "operation"],
  },
  output: {
    type: "object",
    properties: {
      operation: { type: "string" },
      matched: { type: "integer" },
      succeeded: { type: "array", items: { type: "string" } },
      skipped: { type: "array", items: { type: "string" } },
      failed: { type: "array", items: { type: "object" } },
    },
    required: ["operation", "matched", "succeeded", "skipped", "failed"],
  },
  tokenReduction: "~90% on 20 tasks (one call instead of a listing and 20 writes)",
  examples: [`bulkTaskOperations({ projectRoot: "/work/app", operation: "set-status", filter: { status: "review" }, status: "done" })`],
} as const;

interface Task {
  id: string;
  title: string;
  description?: string;
  status: string;
  dependencies: string[];
}
interface Input {
  projectRoot: string;
  operation: "set-status" | "add-dependency" | "remove-dependency" | "remove";
  ids?: string[];
  filter?: { status?: string; search?: string };
  status?: string;
  dependsOn?: string;
  limit?: number;
}

function select(tasks: Task[], input: Input): Task[] {
  let chosen = tasks;
  if (input.ids) {
    const byId = new Map(tasks.map((task) => [task.id, task]));
    const unknown = input.ids.filter((id) => !byId.has(String(id)));
    if (unknown.length > 0) throw new Error(`no such task: ${unknown.join(", ")}; nothing was changed`);
    chosen = input.ids.map((id) => byId.get(String(id))!);
  }
  const { status, search } = input.filter ?? {};
  if (status) chosen = chosen.filter((task) => task.status === status);
  if (search) {
    const needle = search.toLowerCase();
    chosen = chosen.filter((task) => `${task.title}\n${task.description ?? ""}`.toLowerCase().includes(needle));
  }
  return chosen.slice(0, input.limit ?? 50);
}

/** Whether `from` reaches `to` by following dependencies. */
function reaches(tasks: Map<string, Task>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(tasks.get(id)?.dependencies ?? []));
  }
  return false;
}

/** Why adding `task -> dependsOn` must not be sent, or undefined. */
function refusal(tasks: Map<string, Task>, task: Task, dependsOn: string): string | undefined {
  if (!tasks.has(dependsOn)) return `no such task: ${dependsOn}`;
  if (task.id === dependsOn) return "a task cannot depend on itself";
  if (reaches(tasks, dependsOn, task.id)) return `would make a cycle: ${dependsOn} already depends on ${task.id}`;
  return undefined;
}

export default async function bulkTaskOperations(input: Input) {
  const { projectRoot, operation } = input;
  if (operation === "set-status" && !input.status) throw new Error("set-status needs `status`");
  if (operation.endsWith("-dependency") && !input.dependsOn) throw new Error(`${operation} needs \`dependsOn\``);
  if (!input.ids && !input.filter) throw new Error("choose tasks by `ids` or `filter`");
  const listed = await mcp.call("task-master", "get_tasks", { projectRoot });
  const tasks: Task[] = listed.data.tasks.map((task: any) => ({
    ...task,
    id: String(task.id),
    dependencies: (task.dependencies ?? []).map(String),
  }));
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const chosen = select(tasks, input);
  const dependsOn = String(input.dependsOn ?? "");
  const succeeded: string[] = [];
  const skipped: string[] = [];
  const failed: { id: string; error: string }[] = [];
  for (const task of chosen) {
    if (operation === "remove-dependency" && !task.dependencies.includes(dependsOn)) {
      skipped.push(task.id);
      continue;
    }
    const refused = operation === "add-dependency" ? refusal(byId, task, dependsOn) : undefined;
    if (refused) {
      failed.push({ id: task.id, error: refused });
      continue;
    }
    if (operation === "add-dependency" && task.dependencies.includes(dependsOn)) {
      skipped.push(task.id);
      continue;
    }
    try {
      if (operation === "set-status") await mcp.call("task-master", "set_task_status", { projectRoot, id: task.id, status: input.status });
      if (operation === "add-dependency") await mcp.call("task-master", "add_dependency", { projectRoot, id: task.id, dependsOn });
      if (operation === "remove-dependency") await mcp.call("task-master", "remove_dependency", { projectRoot, id: task.id, dependsOn });
      if (operation === "remove") await mcp.call("task-master", "remove_task", { projectRoot, id: task.id, confirm: true });
      if (operation === "add-dependency") task.dependencies.push(dependsOn);
      succeeded.push(task.id);
    } catch (error: any) {
      failed.push({ id: task.id, error: String(error?.message ?? error) });
    }
  }
  if (operation === "remove") failed.push(...(await dropDependenciesOn(projectRoot, tasks, new Set(succeeded))));
  return { operation, matched: chosen.length, succeeded, skipped, failed };
}

/** Removes the remaining tasks' dependencies on `removed`; the failures. */
async function dropDependenciesOn(projectRoot: string, tasks: Task[], removed: Set<string>) {
  const failed: { id: string; error: string }[] = [];
  for (const task of tasks.filter((task) => !removed.has(task.id))) {
    for (const dependsOn of task.dependencies.filter((id) => removed.has(id))) {
      try {
        await mcp.call("task-master", "remove_dependency", { projectRoot, id: task.id, dependsOn });
      } catch (error: any) {
        failed.push({ id: task.id, error: `its dependency on removed task ${dependsOn} is left: ${error?.message ?? error}` });
      }
    }
  }
  return failed;
}

export { bulkTaskOperations };
