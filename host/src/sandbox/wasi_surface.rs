//! Tests at the WASI level: small components, written here in the WebAssembly
//! text format, try what a sandboxed program must never reach, through the
//! sandbox's own linker and the store state of a run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wasmtime::component::{Component, Linker, TypedFunc};
use wasmtime::{Engine, Store};

use super::artifact::NoTools;
use super::state::HostState;
use super::{engine_config, linker};
use crate::config::Limits;

fn sandbox_linker() -> (Engine, Linker<HostState>) {
    let engine = Engine::new(&engine_config(&Limits::default())).expect("the engine builds");
    let linker = linker(&engine).expect("the linker builds");
    (engine, linker)
}

/// A store with the state, fuel and epoch deadline of a run.
fn run_store(engine: &Engine) -> Store<HostState> {
    let deadline = super::limits::Deadline::new(Instant::now() + Duration::from_secs(10), Arc::default());
    let state = HostState::new(16 << 20, 4096, deadline, CancellationToken::new(), Arc::new(NoTools), super::fuel::FuelPool::new(1_000_000_000));
    let mut store = Store::new(engine, state);
    store.set_fuel(1_000_000_000).expect("fuel is enabled");
    store.set_epoch_deadline(1 << 30);
    store
}

/// A component whose only import is `instance` (an instance type): whether
/// it instantiates shows whether the linker offers that import.
fn importer(instance: &str) -> String {
    format!("(component (import {instance}))")
}

#[tokio::test]
async fn no_filesystem_socket_or_name_lookup_interface_is_even_linked() {
    let (engine, linker) = sandbox_linker();
    let imports = [
        r#""wasi:filesystem/types@0.2.6" (instance (export "descriptor" (type (sub resource))))"#,
        r#""wasi:filesystem/preopens@0.2.6" (instance (export "get-directories" (func)))"#,
        r#""wasi:sockets/tcp@0.2.6" (instance (export "tcp-socket" (type (sub resource))))"#,
        r#""wasi:sockets/udp@0.2.6" (instance (export "udp-socket" (type (sub resource))))"#,
        r#""wasi:sockets/network@0.2.6" (instance (export "network" (type (sub resource))))"#,
        r#""wasi:sockets/instance-network@0.2.6" (instance (export "instance-network" (func)))"#,
        r#""wasi:sockets/ip-name-lookup@0.2.6" (instance (export "resolve-addresses" (func)))"#,
        r#""wasi:http/outgoing-handler@0.2.6" (instance (export "handle" (func)))"#,
    ];
    for import in imports {
        let component = Component::new(&engine, importer(import)).expect("the test component compiles");
        let mut store = run_store(&engine);
        let Err(refused) = linker.instantiate_async(&mut store, &component).await else {
            panic!("the sandbox linker offers {import}");
        };
        // Missing, not merely of another type than the test declares.
        assert!(format!("{refused:#}").contains("not found"), "{import}: {refused:#}");
    }
}

/// Imports `wasi:cli/environment` and exports `count`: how many environment
/// variables the sandbox hands the guest.
const ENVIRONMENT_PROBE: &str = r#"
(component
  (import "wasi:cli/environment@0.2.6" (instance $env
    (export "get-environment" (func (result (list (tuple string string)))))
    (export "get-arguments" (func (result (list string))))))
  (core module $memory
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (global.get $next))
      (global.set $next (i32.add (global.get $next) (local.get 3)))
      (local.get $at)))
  (core instance $m (instantiate $memory))
  (core func $get_environment (canon lower (func $env "get-environment") (memory (core memory $m "memory")) (realloc (core func $m "realloc"))))
  (core func $get_arguments (canon lower (func $env "get-arguments") (memory (core memory $m "memory")) (realloc (core func $m "realloc"))))
  (core module $probe
    (import "env" "get-environment" (func $get_environment (param i32)))
    (import "env" "get-arguments" (func $get_arguments (param i32)))
    (import "mem" "memory" (memory 1))
    (func (export "count") (result i32)
      (call $get_environment (i32.const 16))
      (call $get_arguments (i32.const 32))
      (i32.add (i32.load (i32.const 20)) (i32.load (i32.const 36)))))
  (core instance $p (instantiate $probe
    (with "env" (instance (export "get-environment" (func $get_environment)) (export "get-arguments" (func $get_arguments))))
    (with "mem" (instance $m))))
  (func (export "count") (result u32) (canon lift (core func $p "count"))))
"#;

#[tokio::test]
async fn the_environment_and_arguments_are_empty() {
    assert!(std::env::vars_os().count() > 0, "the test needs a host environment to hide");
    let (engine, linker) = sandbox_linker();
    let component = Component::new(&engine, ENVIRONMENT_PROBE).expect("the probe compiles");
    let mut store = run_store(&engine);
    let instance = linker.instantiate_async(&mut store, &component).await.expect("environment is linked");
    let count: TypedFunc<(), (u32,)> = instance.get_typed_func(&mut store, "count").expect("count is exported");
    let (found,) = count.call_async(&mut store, ()).await.expect("count runs");
    assert_eq!(found, 0, "the guest sees environment variables or arguments");
}

/// Imports `wasi:cli/exit` and exports `leave`, which calls `exit(err)`.
const EXIT_PROBE: &str = r#"
(component
  (import "wasi:cli/exit@0.2.6" (instance $exit (export "exit" (func (param "status" (result))))))
  (core func $exit (canon lower (func $exit "exit")))
  (core module $probe
    (import "wasi" "exit" (func $exit (param i32)))
    (func (export "leave") (call $exit (i32.const 1))))
  (core instance $p (instantiate $probe (with "wasi" (instance (export "exit" (func $exit))))))
  (func (export "leave") (canon lift (core func $p "leave"))))
"#;

#[tokio::test]
async fn exit_ends_the_instance_never_the_host() {
    let (engine, linker) = sandbox_linker();
    let component = Component::new(&engine, EXIT_PROBE).expect("the probe compiles");
    let mut store = run_store(&engine);
    let instance = linker.instantiate_async(&mut store, &component).await.expect("exit is linked");
    let leave: TypedFunc<(), ()> = instance.get_typed_func(&mut store, "leave").expect("leave is exported");
    let trapped = leave.call_async(&mut store, ()).await;
    assert!(trapped.is_err(), "exit returned normally");
    // Still here: the process did not exit.
}
