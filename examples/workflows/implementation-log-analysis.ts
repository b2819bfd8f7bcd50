/**
 * The plan's appendix workflow 2, "Implementation Log Analysis", as a program:
 * the `spec-workflow-analyzer` skill reads a spec's implementation logs and
 * tasks.md through the spec-workflow server and this returns its findings and
 * recommendations as a few lines of text, instead of the logs themselves.
 *
 * Fixed against the plan: the skill's export is `specWorkflowAnalyzer` (the
 * plan's `analyzeImplementationLogs` does not exist); the logs are found
 * through the spec-workflow server's own folder, not a path written into the
 * program; what the analysis recommends is returned too.
 *
 * Run it on the example project (the seed config's spec-workflow is a
 * read-only stand-in over its `.spec-workflow/`):
 *
 *   MCP_CODE_RUNTIME_ROOT=$PWD target/debug/mcp-code-runtime run \
 *     examples/workflows/implementation-log-analysis.ts --config config/seed-servers.json
 *
 * or pass this file's text as `execute_code`'s `code`. Change SPEC to analyze
 * another spec.
 */
import { specWorkflowAnalyzer } from "skills/spec-workflow-analyzer";

const SPEC = "contact-form-enhancement";

const analysis = await specWorkflowAnalyzer({
  specName: SPEC,
  analysis: {
    findDuplicateAPIs: true,
    componentUsage: true,
    integrationPatterns: true,
    taskStatistics: true,
  },
});

return [
  `Implementation logs of ${SPEC}:`,
  ...analysis.findings.map((finding: string) => `- ${finding}`),
  ...(analysis.recommendations.length > 0 ? ["Recommendations:"] : []),
  ...analysis.recommendations.map((recommendation: string) => `- ${recommendation}`),
].join("\n");
