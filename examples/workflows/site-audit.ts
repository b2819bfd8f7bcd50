/**
 * The plan's appendix workflow 1, "Comprehensive Site Audit", as a program:
 * test a page with the `web-testing` skill, open one task-master task per
 * critical issue it finds, turn the project's type errors into tasks with the
 * `diagnostics-to-tasks` skill, and return a small report. A model reads the
 * report, not the console, network, trace and diagnostics behind it.
 *
 * Fixed against the plan: the skill is `webTesting` (the plan's `runWebTest`
 * does not exist) and creates no tasks itself, so this program creates them
 * (title and description only: `add_task` with a `prompt` needs an API key);
 * `diagnosticsToTasks` takes `severity`, not `severityFilter`; only tasks
 * task-master really created are counted; an issue that already has an open
 * task is not filed twice, so running the audit again adds nothing; the
 * project is the ide server's workspace, not a path written into the program.
 * The page's report comes from the host's cache when it was tested in the
 * last 5 minutes (`testedAt` says when), as the plan's caching layer does.
 *
 * Run it on the example project (serve its page first):
 *
 *   cp -r examples/seed-project /tmp/seed-project
 *   python3 -m http.server 8080 -b 127.0.0.1 -d /tmp/seed-project/site &
 *   SEED_PROJECT=/tmp/seed-project MCP_CODE_RUNTIME_ROOT=$PWD target/debug/mcp-code-runtime run \
 *     examples/workflows/site-audit.ts --config config/seed-servers.json --timeout-ms 240000
 *
 * or pass this file's text as `execute_code`'s `code`. Change SITE to test
 * another page.
 */
import { webTesting } from "skills/web-testing";
import { diagnosticsToTasks } from "skills/diagnostics-to-tasks";

const SITE = "http://127.0.0.1:8080/index.html";
/** What web-testing reports per issue, and what task-master answers (it declares no output schemas). */
interface Issue {
  type: string;
  severity: string;
  message: string;
}
interface Tasks {
  data: { tasks: { title: string; status: string }[] };
}
interface Added {
  data: { taskId: number | string };
}
/** Most tasks opened for the page's issues, and for the project's diagnostics. */
const MAX_TASKS = 10;
/** Longest issue text in a task title. */
const MAX_TITLE_ISSUE = 120;

const ide = await import("mcp://ide");
const taskmaster = await import("mcp://task-master");
const { rootPath: projectRoot } = await ide.getWorkspaceFolders({});

// 1. Test the page: console errors, failed requests, accessibility, LCP/CLS.
const page = await webTesting({ url: SITE, maxIssues: 100 });
const critical = (page.issues as unknown as Issue[]).filter((issue) => issue.severity === "critical");

// 2. One task per distinct critical issue that has no open task yet.
const { data } = (await taskmaster.getTasks({ projectRoot })) as Tasks;
const open = new Set(data.tasks.filter((task) => !["done", "cancelled"].includes(task.status)).map((task) => task.title));
const path = SITE.replace(/^[a-z]+:\/\/[^/]*/, "") || "/"; // the sandbox has no URL class
const siteTasks = { created: [] as string[], skipped: 0, failed: [] as string[] };
const titles = new Map<string, Issue>();
for (const issue of critical) {
  const text = issue.message.length > MAX_TITLE_ISSUE ? `${issue.message.slice(0, MAX_TITLE_ISSUE)}…` : issue.message;
  titles.set(`Fix ${issue.type} error on ${path}: ${text}`, issue);
}
for (const [title, issue] of titles) {
  if (open.has(title)) {
    siteTasks.skipped += 1;
    continue;
  }
  if (siteTasks.created.length + siteTasks.failed.length >= MAX_TASKS) break;
  try {
    const added = (await taskmaster.addTask({
      projectRoot,
      title,
      description: `web-testing found a critical ${issue.type} issue on ${SITE}`,
      details: issue.message,
      priority: "high",
    })) as Added;
    siteTasks.created.push(String(added.data.taskId));
  } catch (error) {
    siteTasks.failed.push(`${title}: ${(error as Error).message}`);
  }
}

// 3. The project's type errors as tasks.
const development = await diagnosticsToTasks({ projectRoot, maxTasks: MAX_TASKS, severity: "error" });

// 4. The report.
return {
  production: {
    url: SITE,
    passed: page.passed,
    criticalIssues: critical.length,
    counts: page.counts,
    performance: page.performance,
    testedAt: page.testedAt,
    tasksCreated: siteTasks.created.length,
    taskIds: siteTasks.created,
    alreadyFiled: siteTasks.skipped,
    failed: siteTasks.failed,
  },
  development: {
    tasksCreated: development.tasksCreated,
    taskIds: development.created.map((task) => task.id),
    alreadyFiled: development.skipped.length,
    failed: development.failed,
  },
  totalTasksCreated: siteTasks.created.length + development.tasksCreated,
};
