#!/usr/bin/env node
// @ts-check
/**
 * The plan's own design, as `bench alternatives` measures it: an MCP server
 * that writes each program to a file and runs it in a fresh `deno run`
 * subprocess with no permissions granted (no files, network, environment or
 * subprocesses; `--no-prompt` so a request for one fails instead of asking).
 * The deadline kills the subprocess. Deno is the npm package `deno`, pinned
 * in package.json; its transpile cache is one directory per server.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { failed, serve } from "./serve.mjs";

const DENO = fileURLToPath(new URL("./node_modules/deno/deno", import.meta.url));
/** What the server reads of a subprocess's stdout or stderr at most. */
const MAX_OUTPUT_BYTES = 64 << 20;
const DENO_DIR = await mkdtemp(join(tmpdir(), "deno-dir-"));

/**
 * The program as a module: console captured, the body run as an async
 * function, and one JSON response written to stdout.
 * @param {string} code
 */
function wrap(code) {
  return `const __logs: string[] = [];
for (const level of ["log", "info", "warn", "error", "debug"] as const) {
  console[level] = (...args: unknown[]) => void __logs.push(args.map(String).join(" "));
}
let __response: unknown;
try {
  const result = await (async () => {
${code}
  })();
  __response = { ok: true, result: result === undefined ? null : result, logs: __logs };
} catch (error) {
  const e = error as { name?: string; message?: string };
  __response = { ok: false, error: { kind: e?.name ?? "Error", message: e?.message ?? String(error) }, logs: __logs };
}
const __bytes = new TextEncoder().encode(JSON.stringify(__response));
for (let written = 0; written < __bytes.length; ) written += Deno.stdout.writeSync(__bytes.subarray(written));
`;
}

/** @type {import("./serve.mjs").Runner} */
async function run(code, timeoutMs) {
  const dir = await mkdtemp(join(tmpdir(), "deno-run-"));
  try {
    const file = join(dir, "main.ts");
    await writeFile(file, wrap(code));
    const { stdout, stderr, status, timedOut } = await spawnDeno(file, dir, timeoutMs);
    if (timedOut) {
      return { ok: false, error: { kind: "Timeout", message: `killed after ${timeoutMs} ms` }, logs: [] };
    }
    try {
      return JSON.parse(stdout);
    } catch {
      return failed(new Error(`deno exited with ${status}: ${stderr.slice(-2000)}`), []);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `deno run` on `file` with no permissions, killed after `timeoutMs`.
 * @param {string} file
 * @param {string} home
 * @param {number} timeoutMs
 * @returns {Promise<{ stdout: string, stderr: string, status: string, timedOut: boolean }>}
 */
function spawnDeno(file, home, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(DENO, ["run", "--quiet", "--no-prompt", "--no-config", "--no-lock", "--no-remote", "--no-npm", file], {
      env: { PATH: process.env.PATH ?? "", HOME: home, DENO_DIR, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    /** @type {Record<"stdout" | "stderr", Buffer[]>} */
    const output = { stdout: [], stderr: [] };
    let bytes = 0;
    for (const stream of /** @type {const} */ (["stdout", "stderr"])) {
      child[stream].on("data", (/** @type {Buffer} */ chunk) => {
        bytes += chunk.length;
        if (bytes > MAX_OUTPUT_BYTES) child.kill("SIGKILL");
        else output[stream].push(chunk);
      });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const text = (/** @type {Buffer[]} */ chunks) => Buffer.concat(chunks).toString("utf8");
      resolve({ stdout: text(output.stdout), stderr: text(output.stderr), status: signal ?? String(code), timedOut });
    });
  });
}

// The transpile cache goes with the server, however it is stopped.
process.on("exit", () => rmSync(DENO_DIR, { recursive: true, force: true }));
process.on("SIGTERM", () => process.exit(0));

serve("deno-subprocess", "Runs TypeScript in a fresh `deno run` subprocess with no permissions.", run);
