// A program as a model would write it for the sandbox, checked against the
// declarations generated from the fixture servers and runtime.d.ts. The
// sandbox runs a program as the body of an async function; here that body is
// `main`, so that `return` is valid TypeScript.
//
// Each `@ts-expect-error` line is a call the declarations must reject: if a
// type degraded to `any`, tsc would fail with "Unused '@ts-expect-error'".

import * as git from "mcp://git";
import type { TimeResult } from "mcp://time";

async function main() {
  // A module by dynamic import, its functions by camelCase alias and by exact name.
  const tm = await import("mcp://task-master-ai");
  const tasks = await tm.getTasks({ projectRoot: "/work", status: "pending", withSubtasks: true });
  await tm.get_tasks({ projectRoot: "/work" });
  // An exact name that is not an identifier, and an optional field that is not one either.
  await tm["response-language"]({ projectRoot: "/work", language: "English" });
  await tm.models({ projectRoot: "/work", "openai-compatible": true });

  // A declared output schema gives a typed result, including a `$ref`d type.
  const time = await import("mcp://time");
  const now = await time.getCurrentTime({ timezone: "Europe/Paris" });
  const isDst: boolean = now.is_dst;
  const converted = await time.convertTime({ source_timezone: "UTC", time: "12:00", target_timezone: "Asia/Tokyo" });
  const tokyo: TimeResult = converted.target;

  // Union results narrow by their literal `type`.
  const fs = await import("mcp://filesystem");
  const media = await fs.readMediaFile({ path: "/work/logo.png" });
  const kinds = media.content.map((block) => (block.type === "resource" ? block.resource.uri : block.mimeType));

  // Tools without arguments may be called without them; enums are literal unions.
  const everything = await import("mcp://everything");
  await everything.getEnv();
  await everything["get-env"]({});
  const sum = await everything.getSum({ a: 1, b: 2 });
  await everything.getStructuredContent({ location: "Chicago" });

  // Names that are reserved words or not identifiers (the hand-written edge cases).
  const edge = await import("mcp://edge-cases");
  await edge.delete({ id: 1 });
  await edge["get-time-zone"]({ zone: null });
  await edge.getTimeZone();
  await edge["1stPlace"]();
  const tree = await edge.tree({ root: { label: "a", children: [{ label: "b" }] } });
  const label: string | undefined = tree.node?.label;
  // @ts-expect-error -- `list_items` takes no arguments at all
  await edge.listItems({ extra: 1 });
  // @ts-expect-error -- a tuple of two numbers
  await edge.shapes({ point: [1], undeclared: 0 });

  // A static import works too.
  await git.gitCommit({ repo_path: "/work", message: "Record the sample" });

  // @ts-expect-error -- projectRoot is a string
  await tm.getTasks({ projectRoot: 42 });
  // @ts-expect-error -- projectRoot is required
  await tm.getTasks({ status: "done" });
  // @ts-expect-error -- not one of the enum's cities
  await everything.getStructuredContent({ location: "Paris" });
  // @ts-expect-error -- chrome-devtools' click allows no other properties
  await (await import("mcp://chrome-devtools")).click({ pageId: 1, uid: "a", button: "left" });
  // @ts-expect-error -- the result has no such field
  now.timestamp;
  // @ts-expect-error -- the exact name's helper is not exported
  tm.__response_language;

  // The runtime API.
  const servers = await mcp.servers();
  const running = servers.filter((server) => server.state === "running").map((server) => server.name);
  const listed = await mcp.tools("memory");
  const found = (await mcp.search("create a task", { detail: "summary", limit: 3 })).map((tool) => tool.summary ?? tool.name);
  const declaration: string = await mcp.describe("task-master-ai.add_task");
  const raw = await mcp.call("time", "get_current_time", { timezone: "UTC" });
  // @ts-expect-error -- detail is "name", "summary" or "full"
  await mcp.search("x", { detail: "everything" });

  try {
    await mcp.call("git", "git_status", { repo_path: "/nowhere" });
  } catch (error) {
    if (error instanceof McpError && error.kind === "tool_error") {
      console.warn(`${error.server}.${error.tool} failed: ${error.message}`);
    }
  }

  const timer = setTimeout((label: string) => console.log(label), 10, "tick");
  clearTimeout(timer);
  // @ts-expect-error -- the extra timer arguments must match the callback
  setTimeout((label: string) => console.log(label), 10, 1);
  queueMicrotask(() => console.debug("microtask"));
  const bytes = new TextEncoder().encode("héllo");
  const elapsed = performance.now();

  cache.set("tasks", tasks, 60_000);
  const cached: { id: number }[] | null = cache.get<{ id: number }[]>("tasks");
  const dropped: number = cache.invalidate("task*");
  const hits: number = cache.stats().hits;
  // @ts-expect-error -- ttlMs is a number
  cache.set("k", 1, "soon");
  const step = session.get<{ step: number }>()?.step ?? 0;
  session.update({ step: step + 1 });
  const chrome = sessions.create("chrome", { pageIndex: 0 });
  const stored = sessions.get<{ pageIndex: number }>(chrome);
  const page: number | undefined = stored?.data.pageIndex;
  const destroyed: boolean = sessions.destroy(chrome);
  // @ts-expect-error -- session data is an object
  session.set([1, 2]);

  return {
    tasks, isDst, tokyo, kinds, sum, label, running, listed, found, declaration, raw,
    text: new TextDecoder().decode(bytes), elapsed, cached, dropped, hits, page, destroyed,
  };
}

// @ts-expect-error -- unknown servers have no module
import("mcp://no-such-server");

main();
