/**
 * Where a task-master project stands, in a few lines: open tasks by status and
 * priority, the open tasks blocked by unfinished dependencies (and on what),
 * and the task to do next. Read-only; no API key needed.
 */
export const meta = {
  name: "task-triage-report",
  title: "Task triage report",
  description:
    "Summarize task-master's open tasks: counts by status and priority, blocked tasks with the dependencies they wait on, and the next task. Read-only, no API key needed.",
  servers: ["task-master"],
  input: {
    type: "object",
    properties: {
      projectRoot: { type: "string" },
      maxBlocked: { type: "integer", minimum: 0, maximum: 100, default: 10 },
    },
    required: ["projectRoot"],
  },
  output: {
    type: "object",
    properties: {
      total: { type: "integer" },
      open: { type: "integer" },
      byStatus: { type: "object", additionalProperties: { type: "integer" } },
      byPriority: { type: "object", additionalProperties: { type: "integer" } },
      blocked: { type: "array", items: { type: "object" } },
      next: { type: ["object", "null"] },
    },
    required: ["total", "open", "byStatus", "byPriority", "blocked", "next"],
  },
  tokenReduction: "~90% on 50 tasks (a few counts instead of the full task list)",
  examples: [`taskTriageReport({ projectRoot: "/work/app" })`],
} as const;

const CLOSED = ["done", "cancelled"];

export default async function taskTriageReport(input: { projectRoot: string; maxBlocked?: number }) {
  const { projectRoot } = input;
  const tasks: any[] = (await mcp.call("task-master", "get_tasks", { projectRoot })).data.tasks;
  const status = new Map(tasks.map((task) => [String(task.id), task.status]));
  const open = tasks.filter((task) => !CLOSED.includes(task.status));
  // next_task fails on a project without tasks ("No valid tasks found").
  const next = open.length > 0 ? await mcp.call("task-master", "next_task", { projectRoot }) : {};
  const byStatus: Record<string, number> = {};
  for (const task of tasks) byStatus[task.status] = (byStatus[task.status] ?? 0) + 1;
  const byPriority: Record<string, number> = {};
  for (const task of open) byPriority[task.priority ?? "none"] = (byPriority[task.priority ?? "none"] ?? 0) + 1;
  const blocked = open
    .map((task) => ({
      id: String(task.id),
      title: task.title,
      waitingOn: (task.dependencies ?? []).map(String).filter((id: string) => status.get(id) !== "done"),
    }))
    .filter((task) => task.waitingOn.length > 0);
  const nextTask = next.data?.nextTask;
  return {
    total: tasks.length,
    open: open.length,
    byStatus,
    byPriority,
    blocked: blocked.slice(0, input.maxBlocked ?? 10),
    next: nextTask ? { id: String(nextTask.id), title: nextTask.title, priority: nextTask.priority } : null,
  };
}

export { taskTriageReport };
