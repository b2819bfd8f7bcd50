/**
 * The IDE's diagnostics as task-master tasks: one task per file with problems
 * of the chosen severity, its problems listed in the task's details, created
 * with task-master's manual `add_task` (title and description, no API key).
 * A file that already has an open task of the same title is skipped, so a
 * second run adds nothing. Only tasks task-master really created are counted.
 */
export const meta = {
  name: "diagnostics-to-tasks",
  title: "Diagnostics to tasks",
  description:
    "Turn the ide server's diagnostics into task-master tasks, one per file, skipping files with an open task of the same title. Uses add_task with title and description only (no API key; add_task with a prompt needs one).",
  servers: ["ide", "task-master"],
  input: {
    type: "object",
    properties: {
      projectRoot: { type: "string", description: "Absolute project path; default: the ide's workspace" },
      severity: { enum: ["error", "warning", "all"], default: "error", description: "Lowest severity to include" },
      maxTasks: { type: "integer", minimum: 1, maximum: 100, default: 10 },
    },
  },
  output: {
    type: "object",
    properties: {
      tasksCreated: { type: "integer" },
      created: { type: "array", items: { type: "object" } },
      failed: { type: "array", items: { type: "object" } },
      skipped: { type: "array", items: { type: "string" } },
      summary: { type: "string" },
    },
    required: ["tasksCreated", "created", "failed", "skipped", "summary"],
  },
  tokenReduction: "~95% for 10 files (one call instead of a diagnostics read and 10 add_task calls)",
  examples: [`diagnosticsToTasks({ severity: "warning", maxTasks: 5 })`],
} as const;

interface Diagnostic {
  message: string;
  severity: "Error" | "Warning" | "Info" | "Hint";
  range: { start: { line: number; character: number } };
  code?: string | number;
}

const INCLUDED: Record<string, string[]> = {
  error: ["Error"],
  warning: ["Error", "Warning"],
  all: ["Error", "Warning", "Info", "Hint"],
};
/** Most problems listed in one task's details. */
const MAX_LISTED = 20;

function problemLine(diagnostic: Diagnostic): string {
  const code = diagnostic.code === undefined ? "" : ` (${diagnostic.code})`;
  return `line ${diagnostic.range.start.line + 1}: ${diagnostic.severity}${code}: ${diagnostic.message}`;
}

export default async function diagnosticsToTasks(input: { projectRoot?: string; severity?: string; maxTasks?: number }) {
  const included = INCLUDED[input.severity ?? "error"] ?? INCLUDED.error;
  const maxTasks = input.maxTasks ?? 10;
  const projectRoot = input.projectRoot ?? (await mcp.call("ide", "getWorkspaceFolders", {})).rootPath;
  const files: { uri: string; diagnostics: Diagnostic[] }[] = await mcp.call("ide", "getDiagnostics", {});
  const existing = (await mcp.call("task-master", "get_tasks", { projectRoot })).data.tasks;
  const openTitles = new Set(
    existing.filter((task: any) => task.status !== "done" && task.status !== "cancelled").map((task: any) => task.title),
  );
  const prefix = `file://${projectRoot.replace(/\/$/, "")}/`;
  const withProblems = files
    .map((file) => ({
      path: file.uri.startsWith(prefix) ? file.uri.slice(prefix.length) : file.uri,
      problems: file.diagnostics.filter((diagnostic) => included.includes(diagnostic.severity)),
    }))
    .filter((file) => file.problems.length > 0);
  const created: { id: string; title: string }[] = [];
  const failed: { title: string; error: string }[] = [];
  const skipped: string[] = [];
  for (const file of withProblems) {
    const title = `Fix diagnostics in ${file.path}`;
    if (openTitles.has(title)) {
      skipped.push(title);
      continue;
    }
    if (created.length + failed.length >= maxTasks) break;
    const errors = file.problems.filter((problem) => problem.severity === "Error").length;
    try {
      const added = await mcp.call("task-master", "add_task", {
        projectRoot,
        title,
        description: `${file.problems.length} problem(s) in ${file.path}, first: ${file.problems[0].message}`,
        details: file.problems.slice(0, MAX_LISTED).map(problemLine).join("\n"),
        priority: errors > 0 ? "high" : "medium",
      });
      created.push({ id: String(added.data.taskId), title });
    } catch (error: any) {
      failed.push({ title, error: String(error?.message ?? error) });
    }
  }
  const problems = withProblems.reduce((total, file) => total + file.problems.length, 0);
  return {
    tasksCreated: created.length,
    created,
    failed,
    skipped,
    summary: `Created ${created.length} task(s) from ${problems} diagnostic(s) in ${withProblems.length} file(s); ${skipped.length} skipped, ${failed.length} failed`,
  };
}

export { diagnosticsToTasks };
