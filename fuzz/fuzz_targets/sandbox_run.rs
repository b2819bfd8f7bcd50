//! The guest `run` export: arbitrary source runs in one sandbox under tight
//! limits. Any outcome is fine (a value, a syntax error, a timeout, ...); a
//! panic or an abort of the process is not.
//!
//! The run goes through `Sandbox::run` on a tokio worker, as in the host. Its
//! tools echo their arguments, so programs can reach the operations path.
#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mcp_code_runtime::config::Limits;
use mcp_code_runtime::sandbox::{Failure, FailureKind, Job, Sandbox, ToolAccess, ToolFuture};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

/// Compiled once by the first start, reused by later ones.
const CACHE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/sandbox-cache");
const SERVER: &str = "echo";

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime")
});

static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| {
    let limits = Limits {
        default_timeout: Duration::from_secs(2),
        max_timeout: Duration::from_secs(2),
        fuel: 500_000_000,
        memory_bytes: 32 << 20,
        max_concurrent_runs: 1,
        ..Limits::default()
    };
    RUNTIME.block_on(Sandbox::new(limits, CACHE_DIR.as_ref())).expect("build the sandbox")
});

fuzz_target!(
    init: {
        LazyLock::force(&SANDBOX);
    },
    |data: &[u8]| {
        let Ok(source) = std::str::from_utf8(data) else { return };
        let job = Job {
            source: source.to_owned(),
            timeout: None,
            tools: Arc::new(EchoTools),
            cancel: CancellationToken::new(),
            observer: None,
        };
        let run = RUNTIME.block_on(async { tokio::spawn(SANDBOX.run(job)).await });
        if let Err(error) = run {
            std::panic::resume_unwind(error.into_panic());
        }
    }
);

/// One server whose every tool answers with its arguments; listings are refused.
struct EchoTools;

fn refusal() -> Failure {
    Failure::new(FailureKind::CapabilityDenied, "listings are not available to the fuzzer", "", "")
}

impl ToolAccess for EchoTools {
    fn server_names(&self) -> Vec<String> {
        vec![SERVER.to_owned()]
    }

    fn call_tool(&self, _: &str, _: &str, arguments: &str) -> Result<ToolFuture, Failure> {
        let arguments = arguments.to_owned();
        Ok(Box::pin(async move { Ok(arguments) }))
    }

    fn list_servers(&self) -> ToolFuture {
        Box::pin(async { Err(refusal()) })
    }

    fn list_tools(&self, _: &str) -> Result<ToolFuture, Failure> {
        Err(refusal())
    }

    fn search_tools(&self, _: &str, _: &str, _: u32) -> ToolFuture {
        Box::pin(async { Err(refusal()) })
    }

    fn describe_tools(&self, _: Vec<String>) -> ToolFuture {
        Box::pin(async { Err(refusal()) })
    }
}
