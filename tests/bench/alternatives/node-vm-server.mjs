#!/usr/bin/env node
// @ts-check
/**
 * The lower bound of `bench alternatives`: an MCP server that runs each
 * program in a fresh `node:vm` context of its own process. That is no
 * isolation at all (a program reaches the server's realm through any
 * prototype chain, shares its heap and can exhaust its memory); it shows what
 * the MCP round trip and V8 cost with nothing in between. The deadline is
 * vm's `timeout` for the synchronous part and a timer for the rest.
 */
import vm from "node:vm";
import { failed, serve } from "./serve.mjs";

/** @type {import("./serve.mjs").Runner} */
async function run(code, timeoutMs) {
  /** @type {string[]} */
  const logs = [];
  const log = (/** @type {unknown[]} */ ...args) => void logs.push(args.map(String).join(" "));
  const context = vm.createContext({ console: { log, info: log, warn: log, error: log, debug: log } });
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  try {
    const running = vm.runInContext(`(async () => {\n${code}\n})()`, context, { timeout: timeoutMs });
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { name: "Timeout" })), timeoutMs);
    });
    const result = await Promise.race([running, deadline]);
    // Through JSON, as the other servers answer: a value of the context's realm.
    return { ok: true, result: result === undefined ? null : JSON.parse(JSON.stringify(result)), logs };
  } catch (error) {
    return failed(error, logs);
  } finally {
    clearTimeout(timer);
  }
}

serve("node-vm", "Runs JavaScript in a fresh node:vm context (no isolation).", run);
