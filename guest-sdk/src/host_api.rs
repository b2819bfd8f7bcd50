//! The native functions the prelude receives as `host`: one per WIT import
//! function, converting between JavaScript values and WIT types and nothing
//! more. Policy and limits live in the host, never here.

use javy_plugin_api::javy::quickjs::prelude::Func;
use javy_plugin_api::javy::quickjs::{Ctx, IntoJs, Object, Result, Value};

use crate::mcp::code_runtime::console::{self, Level};
use crate::positions;
use crate::mcp::code_runtime::events;
use crate::mcp::code_runtime::skills;
use crate::mcp::code_runtime::state::{self, StateError, StateErrorKind};
use crate::mcp::code_runtime::tools;
use crate::mcp::code_runtime::types::Failure;

/// Builds the `host` object handed to the prelude.
pub fn install<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let host = Object::new(ctx.clone())?;
    host.set("programFile", conventions::PROGRAM_FILE)?;
    host.set("skillsDir", conventions::SKILLS_DIR)?;
    host.set("camelCase", Func::from(|name: String| conventions::camel_case(&name)))?;
    host.set(
        "emit",
        Func::from(|level: u32, message: String| console::emit(level_of(level), &positions::unwrap_lines(&message))),
    )?;
    host.set(
        "reportProgress",
        Func::from(|current: f64, total: Option<f64>, message: Option<String>| {
            console::report_progress(current, total, message.as_deref())
        }),
    )?;
    host.set("startTimer", Func::from(events::start_timer))?;
    host.set("cancel", Func::from(events::cancel))?;
    host.set(
        "callTool",
        Func::from(|ctx: Ctx<'js>, server: String, tool: String, arguments: String| {
            started(&ctx, tools::call_tool(&server, &tool, &arguments))
        }),
    )?;
    host.set("listServers", Func::from(tools::list_servers))?;
    host.set(
        "searchTools",
        Func::from(|query: String, detail: String, limit: u32| tools::search_tools(&query, &detail, limit)),
    )?;
    host.set("describeTools", Func::from(|names: Vec<String>| tools::describe_tools(&names)))?;
    host.set(
        "listTools",
        Func::from(|ctx: Ctx<'js>, server: String| started(&ctx, tools::list_tools(&server))),
    )?;
    host.set(
        "callSkill",
        Func::from(|ctx: Ctx<'js>, name: String, input: String| started(&ctx, skills::call_skill(&name, &input))),
    )?;
    install_state(&host)?;
    Ok(host)
}

/// The `state` imports: the cache and sessions, answered at once.
fn install_state<'js>(host: &Object<'js>) -> Result<()> {
    host.set("cacheGet", Func::from(|ctx: Ctx<'js>, key: String| answered(&ctx, state::cache_get(&key))))?;
    host.set(
        "cacheSet",
        Func::from(|ctx: Ctx<'js>, key: String, value: String, ttl: Option<f64>| answered(&ctx, state::cache_set(&key, &value, ttl))),
    )?;
    host.set(
        "cacheInvalidate",
        Func::from(|ctx: Ctx<'js>, pattern: Option<String>| answered(&ctx, state::cache_invalidate(pattern.as_deref()))),
    )?;
    host.set("cacheStats", Func::from(state::cache_stats))?;
    host.set("sessionGet", Func::from(|ctx: Ctx<'js>| answered(&ctx, state::session_get())))?;
    host.set("sessionSet", Func::from(|ctx: Ctx<'js>, data: String| answered(&ctx, state::session_set(&data))))?;
    host.set("sessionUpdate", Func::from(|ctx: Ctx<'js>, partial: String| answered(&ctx, state::session_update(&partial))))?;
    host.set(
        "sessionsCreate",
        Func::from(|ctx: Ctx<'js>, kind: String, data: String| answered(&ctx, state::sessions_create(&kind, &data))),
    )?;
    host.set("sessionsGet", Func::from(|ctx: Ctx<'js>, id: String| answered(&ctx, state::sessions_get(&id))))?;
    host.set("sessionsDestroy", Func::from(|ctx: Ctx<'js>, id: String| answered(&ctx, state::sessions_destroy(&id))))?;
    Ok(())
}

/// A state call's answer (`none` becomes `undefined`), or for a refusal the
/// object `{stateError, message}` the prelude turns into an error.
fn answered<'js, T: IntoJs<'js>>(ctx: &Ctx<'js>, answer: std::result::Result<T, StateError>) -> Result<Value<'js>> {
    match answer {
        Ok(value) => value.into_js(ctx),
        Err(error) => {
            let refusal = Object::new(ctx.clone())?;
            refusal.set("stateError", state_error_name(error.kind))?;
            refusal.set("message", error.message)?;
            Ok(refusal.into_value())
        }
    }
}

fn state_error_name(kind: StateErrorKind) -> &'static str {
    match kind {
        StateErrorKind::Invalid => "invalid",
        StateErrorKind::OutOfRange => "out_of_range",
        StateErrorKind::NoSession => "no_session",
        StateErrorKind::Unavailable => "unavailable",
    }
}

/// The op id of a started operation, or the failure object of a refused one.
fn started<'js>(ctx: &Ctx<'js>, started: std::result::Result<u32, Failure>) -> Result<Value<'js>> {
    match started {
        Ok(id) => id.into_js(ctx),
        Err(failure) => failure_object(ctx, &failure).map(Object::into_value),
    }
}

/// A failure as the plain object the prelude turns into an error, with the
/// `kind` and error `name` the shared conventions give its WIT kind.
pub fn failure_object<'js>(ctx: &Ctx<'js>, failure: &Failure) -> Result<Object<'js>> {
    let info = conventions::failure_kind(failure.kind as usize);
    let object = Object::new(ctx.clone())?;
    object.set("kind", info.kind)?;
    object.set("name", info.error_name)?;
    object.set("index", failure.kind as u32)?;
    object.set("message", failure.message.as_str())?;
    object.set("server", failure.server.as_str())?;
    object.set("tool", failure.tool.as_str())?;
    Ok(object)
}

fn level_of(level: u32) -> Level {
    match level {
        0 => Level::Debug,
        1 => Level::Info,
        2 => Level::Log,
        3 => Level::Warn,
        _ => Level::Error,
    }
}
