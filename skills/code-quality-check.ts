/**
 * The plan's `runCodeQualityCheck`: a TypeScript project's problems as the
 * compiler reports them through the `ide` server, counted by severity, by
 * error code and by file, with the files the tsconfig selects as the base
 * (how many are clean) and the declarations never used; optionally one
 * task-master task per error (`add_task` with title and description, no API
 * key), skipping errors that already have an open task of the same title.
 *
 * Fixed from the plan: `getDiagnostics` answers per file (`[{uri,
 * diagnostics}]`) with VS Code's capitalized severities, not a flat list of
 * lowercase ones; hints (the compiler's suggestions, such as unused values)
 * are counted, not dropped; `add_task` with a `prompt` needs an API key, so
 * tasks are written with a title and description; only tasks task-master
 * really created are counted, and a second run does not add them again but
 * lists the open tasks it made whose error is gone (`stale`). The
 * plan's `autoFix` is left out: it fixed nothing, and the ide server offers no
 * edits. Nothing is cached: the answer must follow the files on disk (the ide
 * server itself re-parses only the files that changed).
 */
export const meta = {
  name: "code-quality-check",
  title: "Code quality check",
  description:
    "A TypeScript project's compiler problems (ide server) by severity, code and file; optionally a task-master task per error (no API key), open ones skipped.",
  servers: ["ide", "task-master"],
  input: {
    type: "object",
    properties: {
      projectRoot: { type: "string", description: "Default: the ide's workspace" },
      createTasks: { type: "boolean", default: false },
      maxTasks: { type: "integer", minimum: 1, maximum: 50, default: 10 },
      top: { type: "integer", minimum: 1, maximum: 50, default: 5 },
    },
  },
  output: {
    type: "object",
    properties: {
      passed: { type: "boolean" },
      diagnostics: { type: "object", description: "{errors, warnings, info, hints}" },
      files: { type: "object", description: "{checked, clean, withProblems}" },
      unused: { type: "integer" },
      worstFiles: { type: "array" },
      topCodes: { type: "array" },
      tasksCreated: { type: "integer" },
      tasks: { type: "object", description: "{created, skipped, failed, stale}" },
      summary: { type: "string" },
    },
    required: ["passed", "diagnostics", "files", "tasksCreated", "summary"],
  },
  tokenReduction: "~95% (counts instead of every diagnostic)",
  examples: [`codeQualityCheck({ createTasks: true, maxTasks: 5 })`],
} as const;

interface Diagnostic {
  message: string;
  severity: "Error" | "Warning" | "Info" | "Hint";
  range: { start: { line: number; character: number } };
  code?: string | number;
}

/** The compiler's "declared but never used" codes. */
const UNUSED_CODES = [6133, 6138, 6192, 6196, 6198, 6199, 6205];
const CLOSED = ["done", "cancelled"];
/** The titles of the tasks this skill creates. */
const TASK_TITLE = /^Fix TS\d+ in .+:\d+$/;

function taskTitle(path: string, diagnostic: Diagnostic): string {
  return `Fix TS${diagnostic.code} in ${path}:${diagnostic.range.start.line + 1}`;
}

async function createTasks(projectRoot: string, errors: { path: string; diagnostic: Diagnostic }[], maxTasks: number) {
  const existing: any[] = (await mcp.call("task-master", "get_tasks", { projectRoot })).data.tasks;
  const openTasks = existing.filter((task) => !CLOSED.includes(task.status));
  const open = new Set(openTasks.map((task) => task.title));
  const current = new Set(errors.map(({ path, diagnostic }) => taskTitle(path, diagnostic)));
  const stale = openTasks
    .filter((task) => TASK_TITLE.test(task.title) && !current.has(task.title))
    .map((task) => ({ id: String(task.id), title: task.title }));
  const created: { id: string; title: string }[] = [];
  const skipped: string[] = [];
  const failed: { title: string; error: string }[] = [];
  for (const { path, diagnostic } of errors) {
    const title = taskTitle(path, diagnostic);
    if (open.has(title)) {
      skipped.push(title);
      continue;
    }
    if (created.length + failed.length >= maxTasks) break;
    try {
      const added = await mcp.call("task-master", "add_task", {
        projectRoot,
        title,
        description: diagnostic.message,
        details: `${path} line ${diagnostic.range.start.line + 1}, character ${diagnostic.range.start.character + 1}: TS${diagnostic.code} ${diagnostic.message}`,
        priority: "high",
      });
      created.push({ id: String(added.data.taskId), title });
      open.add(title);
    } catch (error: any) {
      failed.push({ title, error: String(error?.message ?? error) });
    }
  }
  return { created, skipped, failed, stale };
}

export default async function codeQualityCheck(input: { projectRoot?: string; createTasks?: boolean; maxTasks?: number; top?: number }) {
  const top = input.top ?? 5;
  const projectRoot = input.projectRoot ?? (await mcp.call("ide", "getWorkspaceFolders", {})).rootPath;
  const projectFiles: string[] = (await mcp.call("ide", "getProjectFiles", {})).files.map((file: any) => file.path);
  const reported: { uri: string; diagnostics: Diagnostic[] }[] = await mcp.call("ide", "getDiagnostics", {});
  const prefix = `file://${projectRoot.replace(/\/$/, "")}/`;
  const files = reported
    .map((file) => ({ path: file.uri.startsWith(prefix) ? file.uri.slice(prefix.length) : file.uri, diagnostics: file.diagnostics }))
    .filter((file) => file.diagnostics.length > 0);
  const all = files.flatMap((file) => file.diagnostics.map((diagnostic) => ({ path: file.path, diagnostic })));
  const count = (severity: string, list: Diagnostic[]) => list.filter((diagnostic) => diagnostic.severity === severity).length;
  const everything = all.map((found) => found.diagnostic);
  const diagnostics = {
    errors: count("Error", everything),
    warnings: count("Warning", everything),
    info: count("Info", everything),
    hints: count("Hint", everything),
  };
  const worstFiles = files
    .map((file) => ({
      path: file.path,
      errors: count("Error", file.diagnostics),
      warnings: count("Warning", file.diagnostics),
      other: count("Info", file.diagnostics) + count("Hint", file.diagnostics),
    }))
    .sort((a, b) => b.errors - a.errors || b.warnings - a.warnings || b.other - a.other || a.path.localeCompare(b.path));
  const codes = new Map<string, { code: string; severity: string; count: number; example: string }>();
  for (const { path, diagnostic } of all) {
    const code = `TS${diagnostic.code}`;
    const seen = codes.get(code) ?? { code, severity: diagnostic.severity, count: 0, example: `${path}:${diagnostic.range.start.line + 1} ${diagnostic.message}` };
    seen.count += 1;
    codes.set(code, seen);
  }
  const topCodes = Array.from(codes.values()).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  const unused = everything.filter((diagnostic) => UNUSED_CODES.includes(Number(diagnostic.code))).length;
  const withProblems = new Set(files.map((file) => file.path));
  const errors = all.filter((found) => found.diagnostic.severity === "Error");
  const tasks = input.createTasks ? await createTasks(projectRoot, errors, input.maxTasks ?? 10) : undefined;
  const taskSummary = tasks ? `; ${tasks.created.length} task(s) created, ${tasks.skipped.length} skipped, ${tasks.failed.length} failed` : "";
  return {
    passed: diagnostics.errors === 0,
    diagnostics,
    files: { checked: projectFiles.length, clean: projectFiles.filter((path) => !withProblems.has(path)).length, withProblems: files.length },
    unused,
    worstFiles: worstFiles.slice(0, top),
    topCodes: topCodes.slice(0, top),
    tasksCreated: tasks?.created.length ?? 0,
    ...(tasks ? { tasks } : {}),
    summary: `${diagnostics.errors} error(s), ${diagnostics.warnings} warning(s), ${diagnostics.info + diagnostics.hints} other in ${files.length} file(s) of ${projectFiles.length}${taskSummary}`,
  };
}

export { codeQualityCheck };
