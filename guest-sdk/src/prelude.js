// The JavaScript half of the guest runtime, evaluated once when the runtime is
// initialized (and so part of the snapshot). It receives the native `host`
// functions, installs the globals a program sees (console, progress, timers,
// mcp, cache, session, sessions) and returns the hooks the Rust event loop
// drives. Nothing here is reachable from user code except the globals it
// installs on purpose.
(function (host) {
  "use strict";

  const LEVELS = ["debug", "info", "log", "warn", "error"];
  /** The file name of the program's frames (the conventions crate's). */
  const PROGRAM_FILE = host.programFile + ":";
  /** Where skills' modules live: their frames are the user's code too. */
  const SKILLS_DIR = host.skillsDir;
  /** Most unhandled rejections listed one by one in the console at the end. */
  const MAX_REPORTED_REJECTIONS = 10;

  /** Operations started on the host and not completed yet, by op id. */
  const pending = new Map();
  /** Timer handles given to the program, mapped to their current op id. */
  const timers = new Map();
  /** Errors created here from host failures, with their WIT failure kind: a
   * program can construct an McpError or change `kind`, never this record. */
  const hostErrors = new WeakMap();
  /** Promises rejected with no handler yet, with their reasons. */
  const unhandledRejections = new Map();
  let nextTimerHandle = 1;
  let run = null;
  /** The skills this run may import, by name. */
  let knownSkills = new Set();

  // ---- errors -----------------------------------------------------------

  /** The error a failed host operation rejects with. Programs may construct
   * one too, but only errors made by `failureError` carry a host failure. */
  class McpError extends Error {
    constructor(failure) {
      const fields = failure !== null && typeof failure === "object" ? failure : { message: failure };
      super(fields.message === undefined ? "" : String(fields.message));
      this.name = typeof fields.name === "string" ? fields.name : "McpError";
      this.kind = fields.kind === undefined ? undefined : String(fields.kind);
      this.server = fields.server;
      this.tool = fields.tool;
    }
  }

  /** The error of a failed operation, with the stack of the call that
   * started it: the completion itself runs outside the program's frames. */
  function failureError(failure, site) {
    const error = new McpError(failure);
    hostErrors.set(error, failure.index);
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
        failure: hostErrors.get(error),
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

  /** The frames of a stack that are in the program, not in this prelude. */
  function programFrames(stack) {
    if (typeof stack !== "string") return "";
    return stack
      .split("\n")
      .filter((frame) => frame.includes(PROGRAM_FILE) || frame.includes(SKILLS_DIR))
      .join("\n");
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
      const stack = programFrames(value.stack);
      return stack ? `${value.name}: ${value.message}\n${stack}` : `${value.name}: ${value.message}`;
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

  // ---- progress ---------------------------------------------------------

  /** The most characters of a progress message sent to the host (which
   * keeps at most 1 KiB of it). */
  const MAX_PROGRESS_MESSAGE = 1000;

  /** Reports how far the program has got (`current` of `total`), for a
   * client that shows progress. Throws a TypeError only for a `current` or
   * `total` that is not a number; a value that is not finite is ignored. */
  function progress(current, total, message) {
    if (typeof current !== "number") {
      throw new TypeError("progress(current, total?, message?): current must be a number");
    }
    if (total !== undefined && total !== null && typeof total !== "number") {
      throw new TypeError("progress(current, total?, message?): total must be a number");
    }
    if (!Number.isFinite(current)) return;
    const known = Number.isFinite(total) ? total : null;
    let text = null;
    if (message !== undefined && message !== null) {
      text = typeof message === "string" ? message : formatLine([message]);
      if (text.length > MAX_PROGRESS_MESSAGE) text = text.slice(0, MAX_PROGRESS_MESSAGE);
    }
    host.reportProgress(current, known, text);
  }

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
    // An interval of 0 would fire on every turn of the event loop: like
    // Node.js, repeat no more often than every millisecond.
    const delay = repeat ? Math.max(1, timerDelay(ms)) : timerDelay(ms);
    schedule(handle, callback, delay, args, repeat);
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

  /** The camelCase alias rule, shared with the host (the `conventions` crate). */
  const camelCase = (name) => host.camelCase(name);

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

  /** Property names that conversions and inspection look up on any object
   * (`${server}`, `JSON.stringify`, `await`): never tool calls. */
  const NOT_TOOLS = new Set(["then", "toJSON", "constructor", "__proto__", ...Object.getOwnPropertyNames(Object.prototype)]);

  /** A server as a global object: each property calls the tool of that name
   * (exact or camelCase), as the seed's programs expect (`taskmaster.getTasks`).
   * Converting it to a string or primitive names the server and calls nothing;
   * such names stay reachable through `mcp.call`. */
  function serverGlobal(server) {
    const label = `[MCP server ${server}]`;
    const describe = () => label;
    return new Proxy(Object.create(null), {
      get(_target, tool) {
        if (tool === Symbol.toPrimitive || tool === "toString" || tool === "valueOf") return describe;
        if (typeof tool !== "string" || NOT_TOOLS.has(tool)) return undefined;
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

  // ---- skills -----------------------------------------------------------

  /** The skill a specifier names: `skills/<name>`, and the plan's
   * `./skills/<name>.ts` (also `./<name>.ts` from inside a skill). */
  const SKILL_SPECIFIER = /^(?:\.\/)?(?:skills\/)?([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?:\.[jt]s)?$/;

  function skillName(specifier) {
    const match = SKILL_SPECIFIER.exec(specifier);
    if (match === null || !(specifier.includes("/") || specifier.endsWith(".ts") || specifier.endsWith(".js"))) return undefined;
    return match[1];
  }

  /** Calls a skill: it runs in a sandbox of its own, under its own grant. */
  function callSkill(name, input) {
    const site = new Error();
    if (input !== undefined && (input === null || typeof input !== "object" || Array.isArray(input))) {
      return Promise.reject(new TypeError(`the input of skill ${name} must be an object`));
    }
    const started = host.callSkill(name, input === undefined ? "{}" : JSON.stringify(input));
    return startedOperation(started, site).then((done) => {
      for (const [level, message] of done.logs) host.emit(level, `[${SKILLS_DIR}${name}] ${message}`);
      return done.value;
    });
  }

  /** The module behind `import ... from "skills/<name>"`: the skill's
   * function as `default` and under its camelCase name. Nothing of the
   * skill's own code runs here. */
  function skillModule(name) {
    const call = (input) => callSkill(name, input);
    const module = Object.create(null);
    module.default = call;
    module[camelCase(name)] = call;
    return Promise.resolve(Object.freeze(module));
  }

  function importModule(specifier) {
    const text = String(specifier);
    const match = /^mcp:\/\/(.+)$/.exec(text);
    if (match) return serverModule(match[1]);
    const skill = skillName(text);
    if (skill !== undefined && knownSkills.has(skill)) return skillModule(skill);
    const known = knownSkills.size === 0 ? "none" : Array.from(knownSkills, (name) => SKILLS_DIR + name).join(", ");
    const what = skill === undefined ? "" : `: there is no skill named "${skill}" (skills: ${known})`;
    return Promise.reject(
      new TypeError(`cannot import "${text}"${what}; modules are "mcp://<server>" and "skills/<name>"`),
    );
  }

  // ---- state: cache and sessions -----------------------------------------

  /** The error class a refused state call throws, by the host's reason. */
  const STATE_ERRORS = { invalid: TypeError, out_of_range: RangeError, no_session: Error, unavailable: Error };

  /** The answer of a state call, or the error of its refusal (`what` names the call). */
  function answered(what, answer) {
    if (answer !== null && typeof answer === "object") {
      throw new (STATE_ERRORS[answer.stateError] || Error)(`${what}: ${answer.message}`);
    }
    return answer;
  }

  /** `value` as JSON text to keep; what JSON cannot hold is a TypeError. */
  function stateJson(what, value) {
    let text;
    try {
      text = JSON.stringify(value, resultReplacer);
    } catch (error) {
      throw new TypeError(`${what}: the value cannot be converted to JSON: ${error.message}`);
    }
    if (text === undefined) throw new TypeError(`${what}: ${inspect(value, 0, new WeakSet())} cannot be kept as JSON`);
    return text;
  }

  function parsed(text) {
    return text === undefined ? null : JSON.parse(text);
  }

  function stateString(what, name, value) {
    if (typeof value !== "string") throw new TypeError(`${what}: ${name} must be a string`);
    return value;
  }

  const cache = Object.freeze({
    /** The value kept under `key` (a copy), or null. */
    get(key) {
      return parsed(answered("cache.get", host.cacheGet(stateString("cache.get", "key", key))));
    },
    /** Keeps `value` (as JSON) under `key` for `ttlMs` milliseconds (default 60 000). */
    set(key, value, ttlMs) {
      const what = "cache.set";
      if (ttlMs !== undefined && ttlMs !== null && typeof ttlMs !== "number") throw new TypeError(`${what}: ttlMs must be a number`);
      answered(what, host.cacheSet(stateString(what, "key", key), stateJson(what, value), ttlMs === null ? undefined : ttlMs));
    },
    /** Drops the keys matching `pattern` (`*` matches anything), or all; returns how many. */
    invalidate(pattern) {
      const given = pattern === undefined || pattern === null ? undefined : stateString("cache.invalidate", "pattern", pattern);
      return answered("cache.invalidate", host.cacheInvalidate(given));
    },
    /** Entries, bytes, bounds, hits, misses, evictions, expirations. */
    stats() {
      return JSON.parse(host.cacheStats());
    },
  });

  const session = Object.freeze({
    /** The data of this run's session (a copy), or null while it holds nothing. */
    get() {
      return parsed(answered("session.get", host.sessionGet()));
    },
    /** Replaces the data of this run's session with `data`, an object. */
    set(data) {
      answered("session.set", host.sessionSet(stateJson("session.set", data)));
    },
    /** Sets the top-level keys of `partial`, an object, in this run's session. */
    update(partial) {
      answered("session.update", host.sessionUpdate(stateJson("session.update", partial)));
    },
  });

  const sessions = Object.freeze({
    /** Creates a session of `type` holding `data` (an object); returns its id. */
    create(type, data) {
      const what = "sessions.create";
      return answered(what, host.sessionsCreate(stateString(what, "type", type), stateJson(what, data === undefined ? {} : data)));
    },
    /** `{id, type, data, createdAt, lastAccessed}` of session `id`, or null. */
    get(id) {
      return parsed(answered("sessions.get", host.sessionsGet(stateString("sessions.get", "id", id))));
    },
    /** Deletes session `id`; whether there was one. */
    destroy(id) {
      return answered("sessions.destroy", host.sessionsDestroy(stateString("sessions.destroy", "id", id)));
    },
  });

  // ---- globals ----------------------------------------------------------

  const globals = {
    console,
    progress,
    mcp,
    McpError,
    cache,
    session,
    sessions,
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

  function reportUnhandledRejections() {
    if (unhandledRejections.size === 0) return;
    let reported = 0;
    for (const reason of unhandledRejections.values()) {
      if (reported++ === MAX_REPORTED_REJECTIONS) break;
      host.emit(4, "Uncaught (in promise) " + inspect(reason, 0, new WeakSet()));
    }
    if (unhandledRejections.size > MAX_REPORTED_REJECTIONS) {
      host.emit(4, `... and ${unhandledRejections.size - MAX_REPORTED_REJECTIONS} more unhandled promise rejections`);
    }
    unhandledRejections.clear();
  }

  function fail(error) {
    if (run.done) return;
    run.done = true;
    run.error = describeError(error);
  }

  /** Starts `main` (an async function of the import hook) as the run. */
  function startRun(main) {
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
  }

  // A skill module's rewritten `import` forms call this global hook (a
  // module has no wrapper function to receive it); it is `import()` itself.
  Object.defineProperty(globalThis, "__mcr_import", { value: importModule, writable: false, configurable: false, enumerable: false });

  return {
    /** Sets up a run before any of its code runs: `servers` are bound as
     * globals and `skills` can be imported. */
    prepare(servers, skills) {
      run = { done: false, result: undefined, error: undefined };
      knownSkills = new Set(skills);
      bindServers(servers);
    },
    /** Starts the program: `main` is the compiled async function, whose one
     * parameter is the import hook that rewritten `import` forms call. */
    start: startRun,
    /** Starts a skill: `evaluation` settles when its module has run, then its
     * default export is called with the parsed `input`. */
    startModule(evaluation, namespace, input) {
      startRun(async () => {
        await evaluation;
        const skill = namespace.default;
        if (typeof skill !== "function") {
          throw new TypeError("a skill's module must export its function as default");
        }
        return skill(JSON.parse(input));
      });
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
    /** The program's state: `undefined` while it runs. A finished run first
     * reports the promises that were rejected and never handled. */
    outcome() {
      if (!run.done) return undefined;
      reportUnhandledRejections();
      return run;
    },
    /** QuickJS's rejection tracker: `handled` is false when a promise is
     * rejected with no handler, true when a handler is attached later. */
    rejection(promise, reason, handled) {
      if (handled) unhandledRejections.delete(promise);
      else unhandledRejections.set(promise, reason);
    },
    /** Reports an error the Rust side raised (compile errors, stalls). */
    describe: describeError,
  };
});
