//! The guest runtime: a Javy plugin (QuickJS) built as a WASI component.
//!
//! It owns the JavaScript side of a run: compiling the program, driving its
//! event loop, and turning results and errors into WIT values. It exports its
//! own `run` rather than javy's `invoke`, which aborts the instance on a
//! JavaScript error, so that every failure reaches the host as a value.
//!
//! The host snapshots the instance right after `initialize-runtime`, so the
//! prelude (`prelude.js`) is evaluated once per build, never per run.
//!
//! It must not touch WASI stdio: console output goes through the `console`
//! import, and everything else the program reaches is a WIT import the host
//! checks.

wit_bindgen::generate!({ path: "../wit", world: "sandbox" });

mod host_api;
mod positions;

use std::cell::RefCell;

use javy_plugin_api::Config;
use javy_plugin_api::javy::Runtime;
use javy_plugin_api::javy::quickjs::context::EvalOptions;
use javy_plugin_api::javy::quickjs::module::WriteOptions;
use javy_plugin_api::javy::quickjs::{Context, Ctx, Function, Module, Object, Persistent, Value};

use mcp::code_runtime::events;
use mcp::code_runtime::types::FailureKind;

use conventions::PROGRAM_FILE;
/// The program becomes the body of this function; its one parameter is the
/// hook that the host's rewritten `import` forms call.
const WRAPPER_OPEN: &str = "(async function (__mcr_import) {\n";
const WRAPPER_CLOSE: &str = "\n})";
/// QuickJS collects cycles once this many bytes were allocated since the last
/// collection. Without it javy never collects, and garbage fills the memory cap.
const GC_THRESHOLD_BYTES: usize = 2 << 20;

/// The runtime built by `initialize-runtime`.
struct Initialized {
    context: Context,
    hooks: Persistent<Object<'static>>,
}

thread_local! {
    static GUEST: RefCell<Option<Initialized>> = const { RefCell::new(None) };
}

fn config() -> Config {
    let mut config = Config::default();
    config
        .text_encoding(true)
        .performance(true)
        .gc_threshold(GC_THRESHOLD_BYTES);
    config
}

fn modify_runtime(runtime: Runtime) -> Runtime {
    let hooks = runtime
        .context()
        .with(|ctx| {
            let host = host_api::install(&ctx)?;
            let prelude: Function = ctx.eval(include_str!("prelude.js"))?;
            let hooks: Object = prelude.call((host,))?;
            Ok::<_, javy_plugin_api::javy::quickjs::Error>(Persistent::save(&ctx, hooks))
        })
        .expect("the prelude evaluates");
    runtime
        .context()
        .runtime()
        .set_host_promise_rejection_tracker(Some(Box::new(track_rejection)));
    GUEST.with(|guest| {
        *guest.borrow_mut() = Some(Initialized {
            context: runtime.context().clone(),
            hooks,
        })
    });
    runtime
}

/// QuickJS reports each promise rejected with no handler (`handled` false)
/// and each handler attached later (`handled` true); the prelude keeps the
/// ones still unhandled and reports them in the console when the run ends.
fn track_rejection<'js>(ctx: Ctx<'js>, promise: Value<'js>, reason: Value<'js>, handled: bool) {
    GUEST.with(|guest| {
        let Ok(guest) = guest.try_borrow() else { return };
        let Some(guest) = guest.as_ref() else { return };
        let Ok(hooks) = guest.hooks.clone().restore(&ctx) else { return };
        if let Ok(hook) = hooks.get::<_, Function>("rejection") {
            let _ = hook.call::<_, ()>((promise, reason, handled));
        }
    });
}

struct Component;

impl Guest for Component {
    fn initialize_runtime() {
        javy_plugin_api::initialize_runtime(config, modify_runtime)
            .expect("the JavaScript runtime initializes");
    }

    fn run(source: String, servers: Vec<String>, skills: Vec<String>) -> Result<String, ScriptError> {
        with_runtime(|ctx, hooks| {
            let main = compile(ctx, &source).map_err(|exception| compile_error(ctx, hooks, exception))?;
            call_hook(ctx, hooks, "prepare", (servers, skills))?;
            call_hook(ctx, hooks, "start", (main,))?;
            event_loop(ctx, hooks)
        })
    }

    fn compile_module(name: String, source: String) -> Result<Vec<u8>, ScriptError> {
        with_runtime(|ctx, hooks| {
            Module::declare(ctx.clone(), name, source)
                .and_then(|module| module.write(WriteOptions::default()))
                .map_err(|_| compile_error(ctx, hooks, ctx.catch()))
        })
    }

    fn run_module(bytecode: Vec<u8>, input_json: String, servers: Vec<String>, skills: Vec<String>) -> Result<String, ScriptError> {
        with_runtime(|ctx, hooks| {
            // SAFETY: the host passes only bytecode that `compile_module` of
            // this same guest build wrote (its cache is keyed by the build).
            let module = unsafe { Module::load(ctx.clone(), &bytecode) }.map_err(|_| describe(ctx, hooks, ctx.catch()))?;
            call_hook(ctx, hooks, "prepare", (servers, skills))?;
            let (module, evaluation) = module.eval().map_err(|_| describe(ctx, hooks, ctx.catch()))?;
            let namespace = module.namespace().map_err(|_| describe(ctx, hooks, ctx.catch()))?;
            call_hook(ctx, hooks, "startModule", (evaluation, namespace, input_json))?;
            event_loop(ctx, hooks)
        })
    }
}

/// Runs `work` in the context built by `initialize-runtime`, with its hooks.
fn with_runtime<T>(work: impl for<'js> FnOnce(&Ctx<'js>, &Object<'js>) -> Result<T, ScriptError>) -> Result<T, ScriptError> {
    GUEST.with(|guest| {
        let guest = guest.borrow();
        let guest = guest.as_ref().ok_or_else(|| internal_error("runtime not initialized"))?;
        guest.context.with(|ctx| {
            let hooks = guest.hooks.clone().restore(&ctx).map_err(|e| internal_error(&e.to_string()))?;
            work(&ctx, &hooks)
        })
    })
}

/// Whatever stops the compiler (a syntax error, or nesting past its stack)
/// is a problem of the source, except running out of memory.
fn compile_error<'js>(ctx: &Ctx<'js>, hooks: &Object<'js>, exception: Value<'js>) -> ScriptError {
    let mut error = describe(ctx, hooks, exception);
    error.is_syntax_error = !conventions::is_out_of_memory(&error.name, &error.message);
    error
}

/// Runs the started program's event loop until it settles.
fn event_loop<'js>(ctx: &Ctx<'js>, hooks: &Object<'js>) -> Result<String, ScriptError> {
    loop {
        while ctx.execute_pending_job() {}
        if let Some(outcome) = outcome(ctx, hooks)? {
            return outcome;
        }
        let Some(completion) = events::wait_next() else {
            return Err(stalled_error());
        };
        deliver(ctx, hooks, completion)?;
    }
}

fn compile<'js>(ctx: &Ctx<'js>, source: &str) -> Result<Function<'js>, Value<'js>> {
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(PROGRAM_FILE.to_string());
    let wrapped = format!("{WRAPPER_OPEN}{source}{WRAPPER_CLOSE}");
    ctx.eval_with_options(wrapped, options).map_err(|_| ctx.catch())
}

fn deliver<'js>(ctx: &Ctx<'js>, hooks: &Object<'js>, completion: events::Completion) -> Result<(), ScriptError> {
    let (ok, payload) = match completion.outcome {
        Ok(json) => (true, json_value(ctx, json)?),
        Err(failure) => (false, host_api::failure_object(ctx, &failure).map_err(js_error)?.into_value()),
    };
    call_hook(ctx, hooks, "complete", (completion.id, ok, payload))
}

fn json_value<'js>(ctx: &Ctx<'js>, json: String) -> Result<Value<'js>, ScriptError> {
    javy_plugin_api::javy::quickjs::String::from_str(ctx.clone(), &json)
        .map(|s| s.into_value())
        .map_err(js_error)
}

/// The program's result or error once it settled; `None` while it runs.
fn outcome<'js>(ctx: &Ctx<'js>, hooks: &Object<'js>) -> Result<Option<Result<String, ScriptError>>, ScriptError> {
    let outcome: Function = hooks.get("outcome").map_err(js_error)?;
    let state: Option<Object> = outcome.call(()).map_err(|_| describe(ctx, hooks, ctx.catch()))?;
    let Some(state) = state else { return Ok(None) };
    if let Some(result) = state.get::<_, Option<String>>("result").map_err(js_error)? {
        return Ok(Some(Ok(result)));
    }
    let error: Object = state.get("error").map_err(js_error)?;
    Ok(Some(Err(script_error(&error))))
}

fn call_hook<'js, A>(ctx: &Ctx<'js>, hooks: &Object<'js>, name: &str, args: A) -> Result<(), ScriptError>
where
    A: javy_plugin_api::javy::quickjs::function::IntoArgs<'js>,
{
    let hook: Function = hooks.get(name).map_err(js_error)?;
    hook.call::<_, ()>(args).map_err(|_| describe(ctx, hooks, ctx.catch()))
}

/// Describes an exception value through the prelude, which knows JS errors.
fn describe<'js>(ctx: &Ctx<'js>, hooks: &Object<'js>, exception: Value<'js>) -> ScriptError {
    let described = hooks
        .get::<_, Function>("describe")
        .and_then(|describe| describe.call::<_, Object>((exception,)));
    match described {
        Ok(error) => script_error(&error),
        Err(_) => internal_error(&format!("an error could not be described: {:?}", ctx.catch())),
    }
}

fn script_error(error: &Object<'_>) -> ScriptError {
    let text = |key: &str| error.get::<_, Option<String>>(key).ok().flatten();
    ScriptError {
        name: text("name").unwrap_or_else(|| "Error".into()),
        message: positions::unwrap_lines(&text("message").unwrap_or_default()),
        stack: text("stack").map(|stack| positions::program_stack(&stack)).filter(|stack| !stack.is_empty()),
        is_syntax_error: false,
        failure: error.get::<_, Option<u32>>("failure").ok().flatten().and_then(failure_kind),
    }
}

/// Every WIT failure kind, by discriminant (the order of `wit/world.wit`).
const FAILURE_KINDS: [FailureKind; 8] = [
    FailureKind::ToolError,
    FailureKind::TransportError,
    FailureKind::Timeout,
    FailureKind::CapabilityDenied,
    FailureKind::ToolLimit,
    FailureKind::NotFound,
    FailureKind::InvalidArguments,
    FailureKind::ApprovalDenied,
];

/// The failure kind the prelude recorded, by discriminant, for an error the
/// host created; the program cannot set it.
fn failure_kind(index: u32) -> Option<FailureKind> {
    FAILURE_KINDS.get(index as usize).copied().filter(|kind| *kind as u32 == index)
}

fn stalled_error() -> ScriptError {
    ScriptError {
        name: "Error".into(),
        message: "the program can never finish: it awaits a promise that no timer or tool call will settle".into(),
        stack: None,
        is_syntax_error: false,
        failure: None,
    }
}

fn js_error(error: javy_plugin_api::javy::quickjs::Error) -> ScriptError {
    internal_error(&error.to_string())
}

fn internal_error(message: &str) -> ScriptError {
    ScriptError {
        name: "InternalError".into(),
        message: format!("guest runtime: {message}"),
        stack: None,
        is_syntax_error: false,
        failure: None,
    }
}

export!(Component);
