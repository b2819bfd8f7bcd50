/**
 * The plan's appendix workflow 1, the comprehensive site audit, over several
 * pages: `web-testing` on each URL in turn, then per URL the issue counts and
 * whether it passed, and the worst issues across the site (critical first,
 * each message once, with the pages it was seen on). A page that cannot be
 * opened is reported with its error and does not stop the audit; no URLs is
 * an empty audit that passes. Pages tested within `maxAgeMs` come from
 * `web-testing`'s cache (`cached: true`). The plan's task creation and local
 * diagnostics are in `examples/workflows/site-audit.ts`.
 */
import webTesting from "./web-testing.ts";

export const meta = {
  name: "site-audit",
  title: "Site audit",
  description:
    "Audit several pages with web-testing: per URL pass/fail, issue counts, LCP/CLS or its error; the worst issues across the site, de-duplicated.",
  servers: ["chrome-devtools"],
  input: {
    type: "object",
    properties: {
      urls: { type: "array", items: { type: "string" }, maxItems: 20 },
      worst: { type: "integer", minimum: 1, maximum: 50, default: 10 },
      maxAgeMs: { type: "integer", minimum: 0, maximum: 300000, default: 300000, description: "web-testing's: reuse reports this young; 0: test every page afresh" },
    },
    required: ["urls"],
  },
  output: {
    type: "object",
    properties: {
      passed: { type: "boolean" },
      pages: { type: "array", items: { type: "object", description: "{url, passed, counts, critical, performance, cached} or {url, passed: false, error}" } },
      worst: { type: "array", items: { type: "object", description: "{type, severity, message, urls}" } },
    },
    required: ["passed", "pages", "worst"],
  },
  tokenReduction: "~97% on 5 pages",
  examples: [`siteAudit({ urls: ["http://127.0.0.1:8080/", "http://127.0.0.1:8080/contact.html"] })`],
} as const;

const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

export default async function siteAudit(input: { urls: string[]; worst?: number; maxAgeMs?: number }) {
  const pages = [];
  const seen = new Map<string, { type: string; severity: string; message: string; urls: string[] }>();
  for (const url of input.urls) {
    try {
      const report = await webTesting({ url, maxIssues: 100, ...(input.maxAgeMs === undefined ? {} : { maxAgeMs: input.maxAgeMs }) });
      pages.push({
        url,
        passed: report.passed,
        counts: report.counts,
        critical: report.issues.filter((found: any) => found.severity === "critical").length,
        ...(report.performance ? { performance: report.performance } : {}),
        cached: report.cached,
      });
      for (const found of report.issues) {
        const key = `${found.type}\u0000${found.message}`;
        const entry = seen.get(key) ?? { ...found, urls: [] };
        entry.urls.push(url);
        seen.set(key, entry);
      }
    } catch (error) {
      pages.push({ url, passed: false, error: (error as Error).message });
    }
  }
  const worst = Array.from(seen.values())
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.urls.length - a.urls.length)
    .slice(0, input.worst ?? 10);
  return { passed: pages.every((page) => page.passed), pages, worst };
}

export { siteAudit };
