//! The cost of fuel metering alone: the guest component the host embeds, run
//! by two engines of this benchmark's own that differ only in fuel (both with
//! epoch interruption, as the sandbox's engine has it; neither ever reaches
//! an epoch deadline). The sandbox's engine always consumes fuel, so this is
//! the only way to see what metering costs without changing the host.
//!
//! Each run instantiates the guest afresh, initializes its runtime (untimed:
//! the host's artifact has that snapshotted) and times the guest's `run`
//! export. The guest's own imports that a CPU-bound program never calls trap;
//! console calls are ignored and `events.wait-next` answers that nothing is
//! pending. WASI is linked with an empty context, as the host links it.
//!
//! It owns only this measurement; it reads the guest from the host build's
//! output (found by [`GUEST_HASH`]) and touches nothing of the host.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mcp_code_runtime::sandbox::GUEST_HASH;
use serde_json::Value;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceTable, Val};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Fuel no program of the suite comes near.
const UNLIMITED_FUEL: u64 = u64::MAX / 2;
/// Epoch ticks no run reaches: no ticker runs here.
const NO_EPOCH_DEADLINE: u64 = 1 << 40;

/// The guest compiled by one engine, ready to instantiate.
pub struct Harness {
    engine: Engine,
    linker: Linker<GuestState>,
    component: Component,
    fuel: bool,
}

pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl Harness {
    /// Compiles the guest for an engine with (`fuel`) or without fuel metering.
    pub fn new(guest: &[u8], fuel: bool) -> Result<Harness> {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).consume_fuel(fuel).epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let component = Component::new(&engine, guest).map_err(|error| anyhow::anyhow!("compiling the guest: {error}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        link_guest_imports(&engine, &component, &mut linker)?;
        Ok(Harness { engine, linker, component, fuel })
    }

    /// Runs `code` (JavaScript, the body of an async function) in a fresh
    /// instance: its result as JSON and how long the guest's `run` took.
    pub async fn run(&self, code: &str) -> Result<(Value, Duration)> {
        let wasi = WasiCtx::builder().allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false).build();
        let mut store = Store::new(&self.engine, GuestState { wasi, table: ResourceTable::new() });
        if self.fuel {
            store.set_fuel(UNLIMITED_FUEL)?;
        }
        store.set_epoch_deadline(NO_EPOCH_DEADLINE);
        let instance = self.linker.instantiate_async(&mut store, &self.component).await?;
        let initialize = instance.get_func(&mut store, "initialize-runtime").context("the guest exports initialize-runtime")?;
        initialize.call_async(&mut store, &[], &mut []).await?;
        let run = instance.get_func(&mut store, "run").context("the guest exports run")?;
        let arguments = [Val::String(code.to_owned()), Val::List(Vec::new()), Val::List(Vec::new())];
        let mut result = [Val::Bool(false)];
        let started = Instant::now();
        run.call_async(&mut store, &arguments, &mut result).await?;
        let elapsed = started.elapsed();
        match &result[0] {
            Val::Result(Ok(Some(json))) => match json.as_ref() {
                Val::String(json) => Ok((serde_json::from_str(json)?, elapsed)),
                other => bail!("the guest's run returned {other:?}"),
            },
            other => bail!("the program failed in the guest: {other:?}"),
        }
    }
}

/// The host interfaces of the guest's world: `events.wait-next` answers that
/// nothing is pending, console calls are ignored, every other function traps.
fn link_guest_imports(engine: &Engine, component: &Component, linker: &mut Linker<GuestState>) -> Result<()> {
    let component_type = component.component_type();
    for (interface, import) in component_type.imports(engine) {
        let ComponentItem::ComponentInstance(instance) = import.ty else { continue };
        if !interface.starts_with("mcp:code-runtime/") {
            continue;
        }
        let mut linked = linker.instance(interface)?;
        for (function, export) in instance.exports(engine) {
            if !matches!(export.ty, ComponentItem::ComponentFunc(_)) {
                continue;
            }
            match function {
                "wait-next" => linked.func_new(function, |_, _, _, results| {
                    results[0] = Val::Option(None);
                    Ok(())
                })?,
                "emit" | "report-progress" => linked.func_new(function, |_, _, _, _| Ok(()))?,
                _ => {
                    let name = format!("{interface}#{function}");
                    linked.func_new(function, move |_, _, _, _| Err(wasmtime::Error::msg(format!("{name} is not linked in the benchmark"))))?
                }
            }
        }
    }
    Ok(())
}

/// The guest component the host embeds: `guest.wasm` of the host build
/// whose `guest.hash` is [`GUEST_HASH`], under `<target>/release/build/`.
pub fn guest_component(release_dir: &Path) -> Result<Vec<u8>> {
    let build = release_dir.join("build");
    let out_dirs: Vec<PathBuf> = std::fs::read_dir(&build)
        .with_context(|| format!("reading {}", build.display()))?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("mcp-code-runtime-"))
        .map(|entry| entry.path().join("out"))
        .collect();
    let out = out_dirs
        .iter()
        .find(|out| std::fs::read_to_string(out.join("guest.hash")).is_ok_and(|hash| hash == GUEST_HASH))
        .with_context(|| format!("no host build under {} has the guest {GUEST_HASH}", build.display()))?;
    Ok(std::fs::read(out.join("guest.wasm"))?)
}
