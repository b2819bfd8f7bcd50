/**
 * The plan's `analyzeImplementationLogs`, against what spec-workflow really
 * writes. spec-workflow 2.2.7 has no tool that reads implementation logs back
 * (`log-implementation` only writes one Markdown file per entry under
 * `.spec-workflow/specs/<spec>/Implementation Logs/`), so this reads those
 * files and each spec's `tasks.md` through the `spec-workflow` server of the
 * seed config, a read-only filesystem server over `.spec-workflow/`, parses
 * them here, and returns findings instead of the logs.
 *
 * Fixed from the plan: the logs are Markdown files, not a `getImplementationLogs`
 * result; an endpoint counts as duplicated when different tasks log it (one
 * task's follow-up entry does not), and whether its locations share a file tells
 * a changed endpoint from a second implementation; `totalTasks` counts tasks, not
 * entries; no division by zero and no empty "most reused" finding on a project
 * without logs. Added: exported functions and classes logged by different tasks
 * in different files, integrations to endpoints no task logged, and tasks.md
 * checked against the logs (tasks marked done without a log, logged tasks not
 * marked done). A log file is written once and never changed (its name carries
 * its log id), so each parsed file is kept in the runtime's `cache` for 10
 * minutes and only new files are read again.
 */
export const meta = {
  name: "spec-workflow-analyzer",
  title: "Spec workflow analyzer",
  description:
    "Analyze spec-workflow implementation logs: endpoints and exports logged by several tasks, component reuse, integrations, task statistics vs tasks.md.",
  servers: ["spec-workflow"],
  input: {
    type: "object",
    properties: {
      projectRoot: { type: "string", description: "Holds .spec-workflow; default: the server's folder" },
      specName: { type: "string", description: "Default: every spec" },
      analysis: {
        type: "object",
        description: "Default: all",
        properties: {
          findDuplicateAPIs: { type: "boolean" },
          componentUsage: { type: "boolean" },
          integrationPatterns: { type: "boolean" },
          taskStatistics: { type: "boolean" },
        },
      },
      maxItems: { type: "integer", minimum: 1, maximum: 100, default: 20 },
    },
  },
  output: {
    type: "object",
    properties: {
      specs: { type: "array", items: { type: "string" } },
      findings: { type: "array", items: { type: "string" } },
      recommendations: { type: "array", items: { type: "string" } },
      statistics: {
        type: "object",
        description: "duplicateAPIs, duplicateEndpoints, topComponents, integrations, taskStats, ...",
      },
    },
    required: ["specs", "findings", "recommendations", "statistics"],
  },
  tokenReduction: "~95% on 15 logs (findings instead of the log files)",
  examples: [
    `specWorkflowAnalyzer({ specName: "contact-form-enhancement", analysis: { findDuplicateAPIs: true, taskStatistics: true } })`,
  ],
} as const;

/** One `#### heading` of an artifact section with its `- **Key:** value` lines. */
interface Artifact {
  heading: string;
  fields: Record<string, string>;
}

/** One implementation log file, parsed. */
interface LogEntry {
  spec: string;
  taskId: string;
  timestamp: string;
  linesAdded: number;
  linesRemoved: number;
  files: string[];
  artifacts: Record<string, Artifact[]>;
}

type TaskState = "done" | "in-progress" | "pending";

const ALL_ANALYSES = { findDuplicateAPIs: true, componentUsage: true, integrationPatterns: true, taskStatistics: true };
const LOGS_DIR = "Implementation Logs";
/** How long a parsed log file is kept: files are written once, so this only bounds memory. */
const CACHE_TTL_MS = 10 * 60_000;
/** Files read per `read_multiple_files` call. */
const READ_BATCH = 25;
const CHECKBOX: Record<string, TaskState> = { x: "done", "-": "in-progress", " ": "pending" };

function text(result: any): string {
  return typeof result === "string" ? result : String(result?.content ?? "");
}

/** `[DIR] a` / `[FILE] b` lines of `list_directory`, as names of one kind. */
function entries(listing: string, kind: "DIR" | "FILE"): string[] {
  const prefix = `[${kind}] `;
  return listing
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length))
    .sort();
}

async function listDirectory(path: string): Promise<string | null> {
  try {
    return text(await mcp.call("spec-workflow", "list_directory", { path }));
  } catch (error: any) {
    if (String(error?.message ?? error).includes("ENOENT")) return null;
    throw error;
  }
}

/**
 * The files' contents (or why one could not be read) from
 * `read_multiple_files`, whose answer joins `path:\ncontent\n` or
 * `path: Error - why` with `\n---\n`. A log has `---` lines itself, so each
 * part ends where the next path, which is known, begins.
 */
async function readFiles(paths: string[]): Promise<({ content: string } | { error: string })[]> {
  const read: ({ content: string } | { error: string })[] = [];
  for (let start = 0; start < paths.length; start += READ_BATCH) {
    const batch = paths.slice(start, start + READ_BATCH);
    const answer = text(await mcp.call("spec-workflow", "read_multiple_files", { paths: batch }));
    let at = 0;
    batch.forEach((path, index) => {
      const next = index + 1 < batch.length ? answer.indexOf(`\n---\n${batch[index + 1]}:`, at + path.length) : -1;
      const part = answer.slice(at, next < 0 ? answer.length : next);
      if (part.startsWith(`${path}:\n`)) read.push({ content: part.slice(path.length + 2, part.endsWith("\n") ? -1 : undefined) });
      else read.push({ error: part.startsWith(`${path}: Error - `) ? part.slice(path.length + 10) : `unexpected answer for ${path}` });
      at = next + 5;
    });
  }
  return read;
}

/** Parses one log file as spec-workflow 2.2.7 writes it (see the fixture's README). */
function parseLog(spec: string, source: string): LogEntry {
  const entry: LogEntry = { spec, taskId: "", timestamp: "", linesAdded: 0, linesRemoved: 0, files: [], artifacts: {} };
  let section = "";
  let kind = "";
  let artifact: Artifact | null = null;
  for (const line of source.split("\n")) {
    const field = /^(?:- )?\*\*([^*]+):\*\* ?(.*)$/.exec(line);
    if (line.startsWith("# Implementation Log: Task ")) entry.taskId = line.slice(27).trim();
    else if (line.startsWith("## ")) [section, kind, artifact] = [line.slice(3).trim(), "", null];
    else if (line.startsWith("### ")) [kind, artifact] = [line.slice(4).trim(), null];
    else if (line.startsWith("#### ") && kind) {
      artifact = { heading: line.slice(5).trim(), fields: {} };
      (entry.artifacts[kind] ??= []).push(artifact);
    } else if (field && artifact) artifact.fields[field[1]] = field[2].trim();
    else if (field && field[1] === "Timestamp") entry.timestamp = field[2].trim();
    else if (field && field[1] === "Lines Added") entry.linesAdded = Number.parseInt(field[2].replace("+", ""), 10) || 0;
    else if (field && field[1] === "Lines Removed") entry.linesRemoved = Math.abs(Number.parseInt(field[2], 10) || 0);
    else if ((section === "Files Modified" || section === "Files Created") && line.startsWith("- ")) entry.files.push(line.slice(2).trim());
  }
  if (!entry.taskId) throw new Error(`not an implementation log of spec ${spec}: no "# Implementation Log: Task" line`);
  return entry;
}

/** `- [x] 1.2 Title` lines of a tasks.md: task id to state. */
function parseTasks(source: string): Map<string, TaskState> {
  const tasks = new Map<string, TaskState>();
  for (const line of source.split("\n")) {
    const task = /^\s*- \[([ x-])\] (\d+(?:\.\d+)*)\.? /.exec(line);
    if (task) tasks.set(task[2], CHECKBOX[task[1]]);
  }
  return tasks;
}

/** The `.spec-workflow` folder: under `projectRoot`, else the server's own folder. */
async function workflowRoot(projectRoot?: string): Promise<string> {
  if (projectRoot) return `${projectRoot.replace(/\/$/, "")}/.spec-workflow`;
  const allowed = text(await mcp.call("spec-workflow", "list_allowed_directories", {})).split("\n").slice(1);
  const root = allowed.find((dir) => dir.trim()) ?? "";
  if (!root) throw new Error("the spec-workflow server names no folder: pass projectRoot");
  return root.endsWith("/.spec-workflow") ? root : `${root.replace(/\/$/, "")}/.spec-workflow`;
}

/** Every log of `specs`, oldest first, from the cache where possible; and how many came from it. */
async function readLogs(root: string, specs: string[]) {
  const wanted: { spec: string; path: string }[] = [];
  for (const spec of specs) {
    const dir = `${root}/specs/${spec}/${LOGS_DIR}`;
    const listing = await listDirectory(dir);
    for (const name of entries(listing ?? "", "FILE").filter((file) => file.endsWith(".md"))) wanted.push({ spec, path: `${dir}/${name}` });
  }
  const logs: LogEntry[] = [];
  const missing: { spec: string; path: string }[] = [];
  for (const file of wanted) {
    const cached = cache.get(`spec-workflow-analyzer:${file.path}`);
    if (cached) logs.push(cached);
    else missing.push(file);
  }
  const cachedLogs = logs.length;
  const contents = missing.length > 0 ? await readFiles(missing.map((file) => file.path)) : [];
  missing.forEach((file, index) => {
    const read = contents[index];
    if ("error" in read) throw new Error(`spec-workflow could not read ${file.path}: ${read.error}`);
    const entry = parseLog(file.spec, read.content);
    cache.set(`spec-workflow-analyzer:${file.path}`, entry, CACHE_TTL_MS);
    logs.push(entry);
  });
  logs.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  return { logs, logFiles: wanted.length, cachedLogs };
}

/** A map from key to the distinct tasks (and locations) that logged it. */
function byKey(logs: LogEntry[], kind: string, key: (artifact: Artifact) => string | null, task: (log: LogEntry) => string) {
  const found = new Map<string, { tasks: string[]; locations: string[] }>();
  for (const log of logs) {
    for (const artifact of log.artifacts[kind] ?? []) {
      const name = key(artifact);
      if (!name) continue;
      const seen = found.get(name) ?? { tasks: [], locations: [] };
      if (!seen.tasks.includes(task(log))) seen.tasks.push(task(log));
      const location = artifact.fields.Location;
      if (location && !seen.locations.includes(location)) seen.locations.push(location);
      found.set(name, seen);
    }
  }
  return found;
}

/** The file of a `path:line` location. */
function fileOf(location: string): string {
  return location.replace(/:\d+$/, "");
}

function distinctFiles(locations: string[]): string[] {
  return Array.from(new Set(locations.map(fileOf)));
}

export default async function specWorkflowAnalyzer(input: {
  projectRoot?: string;
  specName?: string;
  analysis?: { findDuplicateAPIs?: boolean; componentUsage?: boolean; integrationPatterns?: boolean; taskStatistics?: boolean };
  maxItems?: number;
}) {
  const analysis = input.analysis ?? ALL_ANALYSES;
  const maxItems = input.maxItems ?? 20;
  const root = await workflowRoot(input.projectRoot);
  const known = entries((await listDirectory(`${root}/specs`)) ?? "", "DIR");
  if (input.specName !== undefined && !known.includes(input.specName)) {
    throw new Error(`no spec named ${JSON.stringify(input.specName)} in ${root}/specs (specs: ${known.join(", ") || "none"})`);
  }
  const specs = input.specName !== undefined ? [input.specName] : known;
  const { logs, logFiles, cachedLogs } = await readLogs(root, specs);
  const task = (log: LogEntry) => (specs.length === 1 ? log.taskId : `${log.spec}/${log.taskId}`);
  const findings: string[] = [];
  const recommendations: string[] = [];
  const statistics: Record<string, any> = { logEntries: logs.length, logFiles, cachedLogs };
  if (logs.length === 0) findings.push(`No implementation logs in ${specs.length} spec(s)`);

  if (analysis.findDuplicateAPIs) {
    const endpoints = byKey(logs, "API Endpoints", (artifact) => artifact.heading.replace(/\s+/g, " "), task);
    const duplicateEndpoints = Array.from(endpoints, ([endpoint, seen]) => ({ endpoint, ...seen })).filter((seen) => seen.tasks.length > 1);
    for (const duplicate of duplicateEndpoints) {
      const files = distinctFiles(duplicate.locations);
      if (files.length > 1) {
        findings.push(`Duplicate API: ${duplicate.endpoint} implemented in tasks ${duplicate.tasks.join(", ")} in ${files.join(", ")}`);
        recommendations.push(`Consolidate ${duplicate.endpoint} into one handler (now in ${files.join(" and ")})`);
      } else {
        findings.push(`API ${duplicate.endpoint} changed by tasks ${duplicate.tasks.join(", ")} (${files[0] ?? "no location logged"})`);
        recommendations.push(`Check that the tests of ${duplicate.endpoint} cover what tasks ${duplicate.tasks.join(", ")} each added`);
      }
    }
    const exported = (artifact: Artifact) => (artifact.fields.Exported === "No" ? null : artifact.heading);
    const functions = new Map([...byKey(logs, "Functions", exported, task), ...byKey(logs, "Classes", exported, task)]);
    const duplicateFunctions = Array.from(functions, ([name, seen]) => ({ name, ...seen })).filter(
      (seen) => seen.tasks.length > 1 && distinctFiles(seen.locations).length > 1,
    );
    for (const duplicate of duplicateFunctions) {
      findings.push(`Duplicate export: ${duplicate.name} logged by tasks ${duplicate.tasks.join(", ")} in ${distinctFiles(duplicate.locations).join(", ")}`);
      recommendations.push(`Keep one ${duplicate.name} and import it elsewhere`);
    }
    statistics.totalAPIs = endpoints.size;
    statistics.duplicateAPIs = duplicateEndpoints.length;
    statistics.duplicateEndpoints = duplicateEndpoints.slice(0, maxItems);
    statistics.duplicateFunctions = duplicateFunctions.slice(0, maxItems);
  }

  if (analysis.componentUsage) {
    const components = byKey(logs, "Components", (artifact) => artifact.heading, task);
    const ranked = Array.from(components, ([name, seen]) => [name, seen.tasks.length] as [string, number]).sort(
      (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
    );
    const reused = ranked.filter(([, tasks]) => tasks > 1).slice(0, 5);
    if (reused.length > 0) findings.push(`Most reused components: ${reused.map(([name, tasks]) => `${name} (${tasks} tasks)`).join(", ")}`);
    statistics.totalComponents = components.size;
    statistics.topComponents = Object.fromEntries(ranked.slice(0, Math.min(5, maxItems)));
  }

  if (analysis.integrationPatterns) {
    const patterns = new Map<string, { frontend: string; backend: string; count: number }>();
    for (const log of logs) {
      for (const integration of log.artifacts.Integrations ?? []) {
        const frontend = integration.fields["Frontend Component"] ?? "?";
        const backend = (integration.fields["Backend Endpoint"] ?? "?").replace(/\s+/g, " ");
        const pattern = `${frontend} → ${backend}`;
        const seen = patterns.get(pattern) ?? { frontend, backend, count: 0 };
        seen.count += 1;
        patterns.set(pattern, seen);
      }
    }
    const logged = new Set(logs.flatMap((log) => (log.artifacts["API Endpoints"] ?? []).map((artifact) => artifact.heading.replace(/\s+/g, " "))));
    const unloggedBackends = Array.from(new Set(Array.from(patterns.values(), (seen) => seen.backend))).filter((backend) => !logged.has(backend));
    if (patterns.size > 0) findings.push(`Identified ${patterns.size} unique integration pattern(s)`);
    for (const backend of unloggedBackends) {
      findings.push(`Integration calls ${backend}, which no analyzed task logged as an API endpoint`);
      recommendations.push(`Log or implement ${backend}`);
    }
    statistics.integrationPatterns = patterns.size;
    statistics.integrations = Array.from(patterns, ([pattern, seen]) => ({ pattern, count: seen.count }))
      .sort((a, b) => b.count - a.count || a.pattern.localeCompare(b.pattern))
      .slice(0, maxItems);
    statistics.unloggedBackends = unloggedBackends.slice(0, maxItems);
  }

  if (analysis.taskStatistics) {
    const documents = await readTaskDocuments(root, specs);
    const loggedTasks = new Set(logs.map(task));
    const states = Array.from(documents, ([id, state]) => ({ id, state }));
    const totalLinesAdded = logs.reduce((sum, log) => sum + log.linesAdded, 0);
    const taskStats = {
      totalTasks: loggedTasks.size,
      totalFiles: new Set(logs.flatMap((log) => log.files)).size,
      totalLinesAdded,
      totalLinesRemoved: logs.reduce((sum, log) => sum + log.linesRemoved, 0),
      avgLinesPerTask: loggedTasks.size > 0 ? Math.round(totalLinesAdded / loggedTasks.size) : 0,
      tasksInDocuments: states.length,
      done: states.filter((task) => task.state === "done").length,
      inProgress: states.filter((task) => task.state === "in-progress").length,
      pending: states.filter((task) => task.state === "pending").length,
      doneWithoutLog: states.filter((task) => task.state === "done" && !loggedTasks.has(task.id)).map((task) => task.id),
      loggedNotDone: Array.from(loggedTasks).filter((id) => documents.has(id) && documents.get(id) !== "done"),
    };
    findings.push(
      `${taskStats.totalTasks} task(s) logged in ${logs.length} entries, ${taskStats.totalFiles} files changed, +${taskStats.totalLinesAdded}/-${taskStats.totalLinesRemoved} lines; tasks.md: ${taskStats.done} of ${taskStats.tasksInDocuments} done`,
    );
    if (taskStats.doneWithoutLog.length > 0) {
      findings.push(`Marked done without an implementation log: ${taskStats.doneWithoutLog.join(", ")}`);
      recommendations.push(`Log the implementation of ${taskStats.doneWithoutLog.join(", ")} (log-implementation)`);
    }
    if (taskStats.loggedNotDone.length > 0) {
      findings.push(`Logged but not marked done in tasks.md: ${taskStats.loggedNotDone.join(", ")}`);
      recommendations.push(`Finish or mark done ${taskStats.loggedNotDone.join(", ")}`);
    }
    taskStats.doneWithoutLog = taskStats.doneWithoutLog.slice(0, maxItems);
    taskStats.loggedNotDone = taskStats.loggedNotDone.slice(0, maxItems);
    statistics.taskStats = taskStats;
  }

  return { specs, findings, recommendations, statistics };
}

/** The task states of every spec's tasks.md (absent: none), keyed like the logs' tasks. */
async function readTaskDocuments(root: string, specs: string[]): Promise<Map<string, TaskState>> {
  const tasks = new Map<string, TaskState>();
  if (specs.length === 0) return tasks;
  const documents = await readFiles(specs.map((spec) => `${root}/specs/${spec}/tasks.md`));
  specs.forEach((spec, index) => {
    const read = documents[index];
    if ("error" in read) {
      if (read.error.includes("ENOENT")) return;
      throw new Error(`spec-workflow could not read ${root}/specs/${spec}/tasks.md: ${read.error}`);
    }
    for (const [id, state] of parseTasks(read.content)) tasks.set(specs.length === 1 ? id : `${spec}/${id}`, state);
  });
  return tasks;
}

export { specWorkflowAnalyzer };
