/**
 * A web test of one page through chrome-devtools: navigate, then collect the
 * console errors, the failed requests, accessibility issues found in the DOM
 * (images without alt text, form fields without a label, unnamed buttons) and
 * a performance trace's LCP and CLS. A model doing this itself reads every
 * console line, request, snapshot and the trace's long text; this returns the
 * issues. The plan's `runWebTest`, fixed: chrome-devtools 1.x answers in text
 * (`msgid=1 [error] ...`, `reqid=4 GET url [404]`), not arrays of objects; a
 * page that cannot be opened is an error, not an empty report; the trace runs
 * last, because it reloads the page. Uses page 1; run one at a time.
 *
 * As the plan's caching layer does, a page's report is kept in the host's
 * `cache` for 5 minutes (per URL and checks, shared by every run of the
 * host): a second test of the same page within `maxAgeMs` is answered from it
 * without opening the page (`cached: true`, `testedAt` says when it was
 * measured). `maxAgeMs: 0` always tests afresh.
 */
export const meta = {
  name: "web-testing",
  title: "Web testing",
  description:
    "Open a URL in headless Chromium and report its console errors, failed requests, accessibility issues (images without alt, unlabeled fields) and LCP/CLS.",
  servers: ["chrome-devtools"],
  input: {
    type: "object",
    properties: {
      url: { type: "string" },
      checks: {
        type: "array",
        items: { enum: ["console", "network", "accessibility", "performance"] },
        description: "Default: all",
      },
      maxIssues: { type: "integer", minimum: 1, maximum: 100, default: 20 },
      maxAgeMs: { type: "integer", description: "Reuse a report this recent (default: 5 min); 0: never" },
    },
    required: ["url"],
  },
  output: {
    type: "object",
    properties: {
      url: { type: "string" },
      passed: { type: "boolean", description: "No critical issue" },
      counts: { type: "object", additionalProperties: { type: "integer" } },
      performance: { type: "object", description: "{lcpMs, cls} or {unavailable}" },
      issues: { type: "array", items: { type: "object", description: "{type, severity, message}" } },
      testedAt: { type: "string" },
      cached: { type: "boolean" },
    },
    required: ["url", "passed", "counts", "issues", "cached"],
  },
  tokenReduction: "~95% on a page with 50 requests and a trace",
  examples: [`webTesting({ url: "http://127.0.0.1:8080/contact.html" })`],
} as const;

type Check = "console" | "network" | "accessibility" | "performance";
type Severity = "critical" | "warning" | "info";
interface Issue {
  type: string;
  severity: Severity;
  message: string;
}

const ALL_CHECKS: Check[] = ["console", "network", "accessibility", "performance"];
const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
/** Longest message kept per issue. */
const MAX_MESSAGE = 300;
/** Most issues kept in a report (the most `maxIssues` asks for). */
const MAX_ISSUES = 100;
/** How long a report stays in the cache: the plan's 5 minutes. */
const CACHE_TTL_MS = 5 * 60_000;
/** Longest URL whose report is cached (a cache key is at most 1,024 bytes). */
const MAX_CACHED_URL = 200;

/** Runs in the page: images without alt, fields without a label, buttons without a name, a missing lang. */
const ACCESSIBILITY_SCRIPT = `() => {
  const found = [];
  const describe = (el) => el.id ? "#" + el.id : el.getAttribute("name") ? el.tagName.toLowerCase() + "[name=" + el.getAttribute("name") + "]" : el.tagName.toLowerCase();
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) found.push("image without alt text: " + img.src);
  }
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button", "reset", "image"].includes(field.type)) continue;
    const named = field.labels?.length || field.getAttribute("aria-label") || field.getAttribute("aria-labelledby") || field.title;
    if (!named) found.push("form field without a label: " + describe(field));
  }
  for (const button of document.querySelectorAll("button, [role=button]")) {
    if (!button.textContent.trim() && !button.getAttribute("aria-label")) found.push("button without a name: " + describe(button));
  }
  if (!document.documentElement.lang) found.push("page without a lang attribute");
  return found;
}`;

function text(result: unknown): string {
  return typeof result === "string" ? result : JSON.stringify(result);
}

function issue(type: string, severity: Severity, message: string): Issue {
  return { type, severity, message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message };
}

/** `msgid=1 [error] text (1 args)` lines: errors are critical, warnings are warnings. */
function consoleIssues(listing: string): Issue[] {
  const issues = [];
  for (const line of listing.split("\n")) {
    const match = /^msgid=\S+ \[(error|warn|warning)\] (.*?)(?: \(\d+ args\))?$/.exec(line.trim());
    if (match) issues.push(issue("console", match[1] === "error" ? "critical" : "warning", match[2]));
  }
  return issues;
}

/** `reqid=4 GET url [404]` lines: 5xx and network failures are critical, 4xx warnings. */
function networkIssues(listing: string): Issue[] {
  const issues = [];
  for (const line of listing.split("\n")) {
    const match = /^reqid=\S+ (\S+) (\S+) \[([^\]]+)\]/.exec(line.trim());
    if (!match || match[3] === "pending") continue;
    const status = Number(match[3]);
    if (Number.isInteger(status) && status < 400) continue;
    const severity = Number.isInteger(status) && status < 500 ? "warning" : "critical";
    issues.push(issue("network", severity, `${match[1]} ${match[2]} ${match[3]}`));
  }
  return issues;
}

/** The JSON between the fences of evaluate_script's answer. */
function scriptValue(answer: string): unknown {
  const match = /```json\n([\s\S]*?)\n```/.exec(answer);
  if (!match) throw new Error(`web-testing: unexpected evaluate_script answer: ${answer.slice(0, 200)}`);
  return JSON.parse(match[1]);
}

/** LCP and CLS from the trace summary, or why there are none. */
async function performance(chrome: any): Promise<{ summary: Record<string, unknown>; issues: Issue[] }> {
  let trace: string;
  try {
    trace = text(await chrome.performanceStartTrace({ pageId: 1, reload: true, autoStop: true }));
  } catch (error) {
    return { summary: { unavailable: `performance trace failed: ${(error as Error).message}` }, issues: [] };
  }
  const lcp = /LCP: ([\d.]+) (ms|s)\b/.exec(trace);
  const cls = /CLS: ([\d.]+)/.exec(trace);
  if (!lcp && !cls) return { summary: { unavailable: `no LCP or CLS in the trace: ${trace.slice(0, 200)}` }, issues: [] };
  const summary: { lcpMs?: number; cls?: number } = {};
  if (lcp) summary.lcpMs = Number(lcp[1]) * (lcp[2] === "s" ? 1000 : 1);
  if (cls) summary.cls = Number(cls[1]);
  const issues = [];
  if (summary.lcpMs !== undefined && summary.lcpMs > 2500) issues.push(issue("performance", "warning", `LCP ${summary.lcpMs} ms (over 2500 ms)`));
  if (summary.cls !== undefined && summary.cls > 0.1) issues.push(issue("performance", "warning", `CLS ${summary.cls} (over 0.1)`));
  return { summary, issues };
}

interface Report {
  url: string;
  passed: boolean;
  counts: Record<string, number>;
  performance?: Record<string, unknown>;
  issues: Issue[];
  testedAt: string;
}

/** Opens the page and runs `checks`: the report with at most MAX_ISSUES issues, worst first. */
async function test(url: string, checks: Set<Check>): Promise<Report> {
  const chrome = await import("mcp://chrome-devtools");
  const navigated = text(await chrome.navigatePage({ pageId: 1, type: "url", url }));
  if (!navigated.startsWith("Successfully navigated")) {
    throw new Error(`web-testing: cannot open ${url}: ${navigated.split("\n")[0]}`);
  }
  const issues: Issue[] = [];
  if (checks.has("console")) issues.push(...consoleIssues(text(await chrome.listConsoleMessages({ pageId: 1, pageSize: 500 }))));
  if (checks.has("network")) issues.push(...networkIssues(text(await chrome.listNetworkRequests({ pageId: 1, pageSize: 500 }))));
  if (checks.has("accessibility")) {
    const found = scriptValue(text(await chrome.evaluateScript({ pageId: 1, function: ACCESSIBILITY_SCRIPT })));
    for (const message of found as string[]) issues.push(issue("accessibility", "warning", message));
  }
  let performanceSummary: Record<string, unknown> | undefined;
  if (checks.has("performance")) {
    const measured = await performance(chrome);
    performanceSummary = measured.summary;
    issues.push(...measured.issues);
  }
  const counts: Record<string, number> = {};
  for (const check of checks) if (check !== "performance") counts[check] = 0;
  for (const found of issues) counts[found.type] = (counts[found.type] ?? 0) + 1;
  issues.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return {
    url,
    passed: !issues.some((found) => found.severity === "critical"),
    counts,
    ...(performanceSummary ? { performance: performanceSummary } : {}),
    issues: issues.slice(0, MAX_ISSUES),
    testedAt: new Date().toISOString(),
  };
}

export default async function webTesting(input: { url: string; checks?: Check[]; maxIssues?: number; maxAgeMs?: number }) {
  const checks = new Set(input.checks ?? ALL_CHECKS);
  const maxAgeMs = Math.min(input.maxAgeMs ?? CACHE_TTL_MS, CACHE_TTL_MS);
  const key = input.url.length <= MAX_CACHED_URL ? `web-testing:${ALL_CHECKS.filter((check) => checks.has(check)).join(",")}:${input.url}` : undefined;
  const kept = key && maxAgeMs > 0 ? cache.get<Report>(key) : null;
  const fresh = kept !== null && Date.now() - Date.parse(kept.testedAt) <= maxAgeMs;
  const report = fresh ? kept : await test(input.url, checks);
  if (key && !fresh) cache.set(key, report, CACHE_TTL_MS);
  return { ...report, issues: report.issues.slice(0, input.maxIssues ?? 20), cached: fresh };
}

export { webTesting };
