// Declarations of the sandbox's own API: the globals every program sees.
// Hand-written; the modules of the connected servers ("mcp://<server>") are
// declared in generated files next to this one.
//
// How a program runs
// ------------------
// The program is TypeScript; its types are stripped and the rest becomes the
// body of an async function, so:
// - `await` works at the top level;
// - `return <value>` ends the program with that result (no `return` gives `null`);
// - a server's tools are functions of the module "mcp://<server>":
//       const tm = await import("mcp://task-master-ai");
//       const tasks = await tm.getTasks({ projectRoot: "/work" });
//   or `import * as tm from "mcp://task-master-ai"`, or `mcp.call(server, tool, args)`.
//   Each tool is exported under its exact name and under a camelCase alias
//   (`get_tasks` -> `getTasks`, `get-time-zone` -> `getTimeZone`); an exact name
//   that is not an identifier is reached as `tm["get-time-zone"](args)`.
//   Only servers this program may use can be imported.
//
// The result is sent back as JSON, converted like JSON.stringify does, except:
// - `undefined` (and a function) as the whole result becomes `null`;
// - a Map becomes an object of its entries, a Set an array of its values;
// - an Error becomes `{ name, message }`;
// - a BigInt, or a value that contains itself (a cycle), is an error.
//
// There is no DOM, no Node.js API, no `fetch` and no file system: the world is
// reached only through the tools of the connected servers.

/** Console output goes to the run's log, one line per call. */
interface Console {
  debug(...data: unknown[]): void;
  info(...data: unknown[]): void;
  log(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  /** Same as `console.debug`. */
  trace(...data: unknown[]): void;
}

declare var console: Console;

/**
 * Reports how far the program has got, for a client that shows progress
 * (MCP `notifications/progress`): `current` out of `total` when it is known,
 * with a short message, e.g. `progress(i + 1, files.length, file)`. Reports
 * are rate-limited (the latest wins) and cost next to nothing, so call it as
 * often as you like. A `current` or `total` that is not a finite number is
 * ignored; one that is not a number at all is a TypeError.
 */
declare function progress(current: number, total?: number, message?: string): void;

/** Calls `callback(...args)` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;
/** Calls `callback(...args)` every `ms` milliseconds; returns a handle for `clearInterval`. */
declare function setInterval<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;
declare function clearTimeout(handle: number | undefined): void;
declare function clearInterval(handle: number | undefined): void;
declare function queueMicrotask(callback: () => void): void;

// The globals below are written so that they merge with the same globals of
// TypeScript's standard libraries (the DOM lib a default tsconfig includes,
// or only "es2022"): interfaces that merge, and `var`s whose types are
// identical to the DOM lib's. So a program type-checks in an ordinary project.

/** UTF-8 only. */
interface TextEncoder {
  readonly encoding: string;
  encode(input?: string): Uint8Array;
}

declare var TextEncoder: {
  prototype: TextEncoder;
  new(): TextEncoder;
};

interface TextDecoderOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}

/** UTF-8 only (`encoding` is always `"utf-8"`), and without streaming. */
interface TextDecoder {
  readonly encoding: string;
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}

declare var TextDecoder: {
  prototype: TextDecoder;
  new(label?: string, options?: TextDecoderOptions): TextDecoder;
};

interface Performance {
  /** A monotonic clock, in milliseconds. */
  now(): number;
}

declare var performance: Performance;

/** The connected MCP servers and their tools. */
declare namespace mcp {
  /** A server this program may use. */
  interface Server {
    name: string;
    /** `"running"`, `"not started"` (it starts on first use) or `"failed: <reason>"`. */
    state: string;
  }

  /** A tool as its server lists it (`tools/list`). */
  interface Tool {
    name: string;
    description?: string;
    /** JSON Schema of the arguments. */
    inputSchema: unknown;
    /** JSON Schema of the result, when the server declares one. */
    outputSchema?: unknown;
  }

  /** One search result. */
  interface Found {
    /** `server.tool`: what `describe` takes. */
    name: string;
    /** One line about the tool, with `detail: "summary"`. */
    summary?: string;
    /** The tool's TypeScript declaration, with `detail: "full"`. */
    declaration?: string;
  }

  interface SearchOptions {
    /** How much of each tool to return: its name, a one-line summary, or its full TypeScript declaration. */
    detail?: "name" | "summary" | "full";
    /** The most tools to return. */
    limit?: number;
  }

  /**
   * Calls `tool` of `server` with an arguments object (`{}` when left out) and
   * resolves to its result. Rejects with an `McpError`.
   */
  function call(server: string, tool: string, args?: Record<string, unknown>): Promise<unknown>;
  /** The servers this program may use. */
  function servers(): Promise<Server[]>;
  /** The tools of one server. */
  function tools(server: string): Promise<Tool[]>;
  /** The tools that best match `query` (words of what you want to do), best first. */
  function search(query: string, opts?: SearchOptions): Promise<Found[]>;
  /**
   * The TypeScript declarations of tools (`"server.tool"`, as `search` names
   * them) or whole servers (`"server"`). Rejects with an `McpError` of kind
   * `not_found` naming what matched nothing.
   */
  function describe(names: string | string[]): Promise<string>;
}

/** The seed's name for `mcp.servers()`. */
declare function listMCPServers(): Promise<mcp.Server[]>;

/** What an `McpError` is about. */
type McpErrorKind =
  | "tool_error"
  | "transport_error"
  | "timeout"
  | "capability_denied"
  | "tool_limit"
  | "not_found"
  | "invalid_arguments"
  | "approval_denied";

/**
 * The error a tool call (or another host operation) rejects with. Its `name`
 * tells the kind apart as well, e.g. `"McpToolError"`, `"McpTimeoutError"`.
 */
declare class McpError extends Error {
  /** Errors are created by the runtime only. */
  private constructor();
  readonly kind: McpErrorKind;
  /** The server the failed operation addressed. */
  readonly server: string;
  /** The tool the failed operation addressed. */
  readonly tool: string;
}

// State that outlives a run
// -------------------------
// `cache`, `session` and `sessions` are synchronous: each call returns its
// value (`await cache.get(k)` works too, since awaiting a value gives the
// value). Values are kept as JSON (converted like a result: a Map becomes an
// object, a Set an array; a BigInt, a cycle or `undefined` is a TypeError),
// and what is read back is a fresh copy. A refused call throws: a TypeError
// for what is not allowed (an empty key, a value that is not an object where
// one is needed), a RangeError for what is too large.

/** Counters of the host's cache (see `cache.stats()`). */
interface CacheStats {
  entries: number;
  /** Bytes of keys and values kept. */
  bytes: number;
  maxEntries: number;
  maxBytes: number;
  hits: number;
  misses: number;
  /** Entries dropped to make room (least recently used first). */
  evictions: number;
  /** Entries dropped because their time was up. */
  expirations: number;
}

/**
 * A cache shared by every run (and skill) of this host, in memory, bounded in
 * entries and bytes (the least recently used entries go first). Keys are
 * strings of 1 to 1024 bytes; each entry lives `ttlMs` milliseconds (default
 * 60 000, at most 30 days).
 */
declare namespace cache {
  /** The value kept under `key`, or null when there is none (or it expired). */
  function get<T = unknown>(key: string): T | null;
  /** Keeps `value` under `key` for `ttlMs` milliseconds (default 60 000), replacing what was there. */
  function set(key: string, value: unknown, ttlMs?: number): void;
  /**
   * Drops the entries whose keys match `pattern`, where `*` matches any
   * characters (`"user:*"`); a pattern without `*` is one key. Without a
   * pattern, drops everything. Returns how many entries it dropped.
   */
  function invalidate(pattern?: string): number;
  function stats(): CacheStats;
}

/**
 * This run's session: the object kept under the `sessionId` passed to
 * `execute_code` (a run without one has none, and these throw). The run reads
 * it when it starts and works on its own copy; when it ends without error its
 * changes are saved, key by key: for a top-level key two concurrent runs both
 * change, the run that ends last wins, and keys changed by only one run keep
 * that run's value. A failed run saves nothing. A session not used for an
 * hour (by default) is deleted.
 */
declare namespace session {
  /** The session's data (a copy), or null while it holds nothing (a new or expired session). */
  function get<T extends Record<string, unknown> = Record<string, unknown>>(): T | null;
  /** Replaces the session's data with `data`. */
  function set(data: Record<string, unknown>): void;
  /** Sets the top-level keys of `partial` in the session's data; to remove a key, `set` the data without it. */
  function update(partial: Record<string, unknown>): void;
}

/** A stored session, as `sessions.get` returns it. */
interface SessionInfo<T = Record<string, unknown>> {
  id: string;
  /** What the session is for, as `sessions.create` was told (`"custom"` for one made by `sessionId`). */
  type: string;
  data: T;
  /** Unix milliseconds. */
  createdAt: number;
  lastAccessed: number;
}

/**
 * Any session by id, read and written at once (not at the end of the run).
 * Ids are 1 to 128 characters of `A-Z a-z 0-9 _ . : -`.
 */
declare namespace sessions {
  /** Creates a session of `type` holding `data` (default `{}`); returns its id, a random UUID to pass as `sessionId`. */
  function create(type: string, data?: Record<string, unknown>): string;
  /** Session `id`, or null when there is none (or it expired); notes its use. */
  function get<T = Record<string, unknown>>(id: string): SessionInfo<T> | null;
  /** Deletes session `id`; whether there was one. */
  function destroy(id: string): boolean;
}
