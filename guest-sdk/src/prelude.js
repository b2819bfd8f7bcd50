// The JavaScript half of the guest runtime, evaluated once when the runtime is
// initialized (and so part of the snapshot). It receives the native `host`
// functions, installs the globals a program sees (console, timers, mcp) and
// returns the hooks the Rust event loop drives. Nothing here is reachable from
// user code except the globals it installs on purpose.
(function (host) {
  "use strict";

  const LEVELS = ["debug", "info", "log", "warn", "error"];
  const ERROR_NAMES = {
    "tool-error": "McpToolError",
    "transport-error": "McpTransportError",
    "timeout": "McpTimeoutError",
    "capability-denied": "CapabilityDeniedError",
    "tool-limit": "ToolLimitError",
    "not-found": "McpNotFoundError",
    "invalid-arguments": "McpArgumentsError",
  };

  /** Operations started on the host and not completed yet, by op id. */
  const pending = new Map();
  /** Timer handles given to the program, mapped to their current op id. */
  const timers = new Map();
  /** Errors created here from host failures, so a forged `kind` is never trusted. */
  const hostErrors = new WeakSet();
  let nextTimerHandle = 1;
  let run = null;

  // ---- errors -----------------------------------------------------------

  /** The error a failed host operation rejects with. */
  class McpError extends Error {
    constructor(failure) {
      super(failure.message);
      this.name = ERROR_NAMES[failure.kind] || "McpError";
      this.kind = failure.kind.replace(/-/g, "_");
      this.server = failure.server;
      this.tool = failure.tool;
      hostErrors.add(this);
    }
  }

  /** The error of a failed operation, with the stack of the call that
   * started it: the completion itself runs outside the program's frames. */
  function failureError(failure, site) {
    const error = new McpError(failure);
    if (site !== undefined) error.stack = site.stack;
    return error;
  }

  /** What the host reports of an error that ended the program. */
  function describeError(error) {
    if (error instanceof Error) {
      return {
        name: String(error.name),
        message: String(error.message),
        stack: typeof error.stack === "string" ? error.stack : undefined,
        failure: hostErrors.has(error) ? error.kind : undefined,
      };
    }
    return { name: "Error", message: "Uncaught " + inspect(error, 0, new WeakSet()) };
  }

  // ---- values -----------------------------------------------------------

  function resultReplacer(_key, value) {
    if (typeof value === "bigint") {
      throw new TypeError(
        `cannot return BigInt ${value}n as JSON: convert it with Number() or String() first`,
      );
    }
    if (value instanceof Map) return Object.fromEntries(value);
    if (value instanceof Set) return Array.from(value);
    if (value instanceof Error) return { name: value.name, message: value.message };
    return value;
  }

  /** The program's result as JSON text; `undefined` and functions become `null`. */
  function resultJson(value) {
    let text;
    try {
      text = JSON.stringify(value, resultReplacer);
    } catch (error) {
      if (error instanceof TypeError && /circular/i.test(error.message)) {
        throw new TypeError(
          "the returned value cannot be converted to JSON: it contains a circular reference",
        );
      }
      throw error;
    }
    return text === undefined ? "null" : text;
  }

  /** Renders a value for a console line, never throwing. */
  function inspect(value, depth, seen) {
    switch (typeof value) {
      case "string":
        return depth === 0 ? value : JSON.stringify(value);
      case "undefined":
        return "undefined";
      case "function":
        return `[Function: ${value.name || "anonymous"}]`;
      case "bigint":
        return `${value}n`;
      case "symbol":
        return value.toString();
      case "number":
      case "boolean":
        return String(value);
    }
    if (value === null) return "null";
    if (value instanceof Error) {
      return value.stack ? `${value.name}: ${value.message}\n${value.stack}` : `${value.name}: ${value.message}`;
    }
    if (seen.has(value)) return "[Circular]";
    if (depth > 8) return "[Object]";
    seen.add(value);
    try {
      if (Array.isArray(value)) {
        return "[" + value.map((item) => inspect(item, depth + 1, seen)).join(", ") + "]";
      }
      if (value instanceof Map) {
        const entries = Array.from(value, ([k, v]) => `${inspect(k, depth + 1, seen)} => ${inspect(v, depth + 1, seen)}`);
        return `Map(${value.size}) {${entries.join(", ")}}`;
      }
      if (value instanceof Set) {
        return `Set(${value.size}) {${Array.from(value, (v) => inspect(v, depth + 1, seen)).join(", ")}}`;
      }
      if (typeof value.then === "function") return "Promise {}";
      const fields = Object.keys(value).map((k) => `${JSON.stringify(k)}: ${inspect(value[k], depth + 1, seen)}`);
      return "{" + fields.join(", ") + "}";
    } finally {
      seen.delete(value);
    }
  }

  function formatLine(args) {
    return args.map((arg) => inspect(arg, 0, new WeakSet())).join(" ");
  }

  // ---- console ----------------------------------------------------------

  const console = {};
  LEVELS.forEach((name, level) => {
    console[name] = (...args) => host.emit(level, formatLine(args));
  });
  console.trace = console.debug;

  // ---- host operations --------------------------------------------------

  /** A promise settled by the completion of host operation `id`. */
  function operation(id, site) {
    return new Promise((resolve, reject) => {
      pending.set(id, {
        complete(ok, payload) {
          if (ok) resolve(payload === "" ? undefined : JSON.parse(payload));
          else reject(failureError(payload, site));
        },
      });
    });
  }

  /** A promise for a host operation that may have been refused at once. */
  function startedOperation(started, site) {
    return typeof started === "number" ? operation(started, site) : Promise.reject(failureError(started, site));
  }

  // ---- timers -----------------------------------------------------------

  function timerDelay(ms) {
    const delay = Number(ms);
    return Number.isFinite(delay) && delay > 0 ? Math.min(Math.floor(delay), 0x7fffffff) : 0;
  }

  function schedule(handle, callback, delay, args, repeat) {
    const id = host.startTimer(delay);
    timers.set(handle, id);
    pending.set(id, {
      complete() {
        if (repeat) schedule(handle, callback, delay, args, repeat);
        else timers.delete(handle);
        callback(...args);
      },
    });
  }

  function addTimer(callback, ms, args, repeat) {
    if (typeof callback !== "function") {
      throw new TypeError("the timer callback must be a function");
    }
    const handle = nextTimerHandle++;
    schedule(handle, callback, timerDelay(ms), args, repeat);
    return handle;
  }

  function clearTimer(handle) {
    const id = timers.get(handle);
    if (id === undefined) return;
    timers.delete(handle);
    pending.delete(id);
    host.cancel(id);
  }

  // ---- mcp --------------------------------------------------------------

  function toolArguments(args) {
    if (args === undefined) return "{}";
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      throw new TypeError("tool arguments must be an object");
    }
    return JSON.stringify(args);
  }

  const mcp = Object.freeze({
    /** Calls `tool` of `server` with an arguments object. */
    call(server, tool, args) {
      const site = new Error();
      return startedOperation(host.callTool(String(server), String(tool), toolArguments(args)), site);
    },
    /** The servers this program may use. */
    servers() {
      return operation(host.listServers());
    },
    /** The tools of one server: name, description, input schema. */
    tools(server) {
      return startedOperation(host.listTools(String(server)), new Error());
    },
    /** Tools ranked by relevance to `query`: `{detail: "name"|"summary"|"full", limit}`. */
    search(query, options) {
      const { detail = "summary", limit = 10 } = options || {};
      return operation(host.searchTools(String(query), String(detail), Math.max(1, Math.floor(Number(limit)) || 10)), new Error());
    },
    /** TypeScript declarations of tools (`"server.tool"`) or whole servers (`"server"`). */
    describe(names) {
      const list = Array.isArray(names) ? names.map(String) : [String(names)];
      return operation(host.describeTools(list), new Error());
    },
  });

  function camelCase(name) {
    return name.replace(/[-_.\s]+([a-zA-Z0-9])/g, (_, c) => c.toUpperCase());
  }

  /** The module behind `import ... from "mcp://server"`: one function per tool. */
  async function serverModule(server) {
    const tools = await mcp.tools(server);
    const module = Object.create(null);
    for (const tool of tools) {
      const call = (args) => mcp.call(server, tool.name, args);
      module[tool.name] = call;
      const alias = camelCase(tool.name);
      if (!(alias in module)) module[alias] = call;
    }
    if (!("default" in module)) module.default = module;
    return Object.freeze(module);
  }

  /** A server as a global object: each property calls the tool of that name
   * (exact or camelCase), as the seed's programs expect (`taskmaster.getTasks`). */
  function serverGlobal(server) {
    return new Proxy(Object.create(null), {
      get(_target, tool) {
        if (typeof tool !== "string" || tool === "then") return undefined;
        return (args) => mcp.call(server, tool, args);
      },
    });
  }

  /** The global names of a server: camelCase (`taskMaster`) and compact
   * (`taskmaster`), each only when it is an identifier no global already has. */
  function serverGlobalNames(server) {
    const names = [camelCase(server), server.replace(/[^A-Za-z0-9_$]/g, "")];
    return names.filter(
      (name, index) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && names.indexOf(name) === index && !(name in globalThis),
    );
  }

  function bindServers(servers) {
    for (const server of servers) {
      const binding = serverGlobal(server);
      for (const name of serverGlobalNames(server)) {
        Object.defineProperty(globalThis, name, { value: binding, writable: true, configurable: true, enumerable: false });
      }
    }
  }

  function importModule(specifier) {
    const text = String(specifier);
    const match = /^mcp:\/\/(.+)$/.exec(text);
    if (match) return serverModule(match[1]);
    return Promise.reject(
      new TypeError(`cannot import "${text}": only "mcp://<server>" modules can be imported here`),
    );
  }

  // ---- globals ----------------------------------------------------------

  const globals = {
    console,
    mcp,
    McpError,
    setTimeout: (callback, ms, ...args) => addTimer(callback, ms, args, false),
    setInterval: (callback, ms, ...args) => addTimer(callback, ms, args, true),
    clearTimeout: clearTimer,
    clearInterval: clearTimer,
    queueMicrotask: (callback) => {
      Promise.resolve().then(callback);
    },
    /** The seed's name for `mcp.servers()`. */
    listMCPServers: () => mcp.servers(),
  };
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }

  // ---- hooks for the Rust event loop ------------------------------------

  function fail(error) {
    if (run.done) return;
    run.done = true;
    run.error = describeError(error);
  }

  return {
    /** Starts the program: `main` is the compiled async function, whose one
     * parameter is the import hook that rewritten `import` forms call, and
     * `servers` the servers it may use, bound as globals. */
    start(main, servers) {
      run = { done: false, result: undefined, error: undefined };
      bindServers(servers);
      main(importModule).then(
        (value) => {
          if (run.done) return;
          try {
            run.result = resultJson(value);
            run.done = true;
          } catch (error) {
            fail(error);
          }
        },
        fail,
      );
    },
    /** Delivers the completion of host operation `id`. */
    complete(id, ok, payload) {
      const op = pending.get(id);
      if (op === undefined) return;
      pending.delete(id);
      try {
        op.complete(ok, payload);
      } catch (error) {
        fail(error);
      }
    },
    /** The program's state: `undefined` while it runs. */
    outcome() {
      return run.done ? run : undefined;
    },
    /** Reports an error the Rust side raised (compile errors, stalls). */
    describe: describeError,
  };
});
