//! The test harness: starts the real `mcp-code-runtime` binary with a scrubbed
//! environment and speaks MCP to it with rmcp's client.
//!
//! Every host in a test run shares one compiled-artifact cache, warmed once
//! before the first host starts, so no test pays for compiling the guest.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::Command;

/// The workspace's `target/<profile>` directory, where cargo put the binaries.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.parent().and_then(Path::parent).expect("tests run from target/<profile>/deps").to_path_buf()
}

/// The host binary cargo built, or `MCP_CODE_RUNTIME_BIN` when set (`make otel-test`).
pub fn host_binary() -> PathBuf {
    let binary = std::env::var_os("MCP_CODE_RUNTIME_BIN").map_or_else(|| target_dir().join("mcp-code-runtime"), PathBuf::from);
    assert!(binary.exists(), "{} is missing: run `make test` (it builds the binaries first)", binary.display());
    binary
}

pub fn test_server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_test-server"))
}

/// `tests/`, where the npm packages and fixtures are.
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The entry file of an npm MCP server installed by `scripts/setup.sh`.
pub fn npm_server(package: &str, entry: &str) -> String {
    let path = tests_dir().join("node_modules").join(package).join(entry);
    assert!(path.exists(), "{} is missing: run `make setup`", path.display());
    path.display().to_string()
}

/// The artifact cache every test host shares.
pub fn shared_cache_dir() -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = target_dir().join("test-artifact-cache");
        let output = std::process::Command::new(host_binary())
            .args(["run", "/dev/stdin", "--cache-dir"])
            .arg(&dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(std::fs::File::open(write_temp("return 1;")).expect("warm-up program"))
            .output()
            .expect("run the host to warm the artifact cache");
        assert!(output.status.success(), "warming the cache failed: {}", String::from_utf8_lossy(&output.stderr));
        dir
    })
}

fn write_temp(contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mcr-warmup-{}.ts", std::process::id()));
    std::fs::write(&path, contents).expect("write a temporary program");
    path
}

/// A running host and the MCP client connected to it; `H` answers the host's
/// requests and notifications (elicitation, progress...), `()` ignores them.
pub struct Host<H: ClientHandler = ()> {
    pub client: RunningService<RoleClient, H>,
    pub pid: u32,
    /// The host's config file and HOME; removed when the host is dropped.
    _home: TempDir,
}

/// How to start a host.
#[derive(Default)]
pub struct HostOptions {
    /// The `mcpServers` object of the configuration file.
    pub servers: Value,
    /// The `codeRuntime` section of the configuration file.
    pub runtime: Value,
    /// Extra command-line arguments after `serve`.
    pub args: Vec<String>,
    /// A cache directory other than the shared one.
    pub cache_dir: Option<PathBuf>,
    /// Extra environment variables of the host process.
    pub env: Vec<(String, String)>,
}

impl Host {
    /// A host with no downstream servers.
    pub async fn start() -> Result<Host> {
        Host::start_with(HostOptions::default()).await
    }

    pub async fn start_with(options: HostOptions) -> Result<Host> {
        Host::start_with_client(options, ()).await
    }
}

impl<H: ClientHandler> Host<H> {
    /// A host whose client is `handler`.
    pub async fn start_with_client(options: HostOptions, handler: H) -> Result<Host<H>> {
        let dir = tempfile::tempdir()?;
        let config_path = dir.path().join("mcp.json");
        let servers = if options.servers.is_null() { json!({}) } else { options.servers };
        let mut config = json!({ "mcpServers": servers });
        if !options.runtime.is_null() {
            config["codeRuntime"] = options.runtime;
        }
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
        let cache_dir = match options.cache_dir {
            Some(dir) => dir,
            None => shared_cache_dir().to_path_buf(),
        };
        let mut command = Command::new(host_binary());
        command
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .arg("--cache-dir")
            .arg(&cache_dir)
            .args(&options.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("RUST_LOG", "warn")
            .envs(options.env);
        let (transport, _) = TokioChildProcess::builder(command).stderr(Stdio::inherit()).spawn()?;
        let pid = transport.id().context("the host has a pid")?;
        let client = handler.serve(transport).await.context("MCP initialize with the host")?;
        Ok(Host { client, pid, _home: dir })
    }

    /// Calls one of the host's tools.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<CallToolResult> {
        let Value::Object(arguments) = arguments else { bail!("tool arguments must be an object") };
        let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        Ok(self.client.call_tool(request).await?)
    }

    /// Starts `execute_code` with `arguments` as a request the test can cancel.
    pub async fn start_cancellable_run(&self, arguments: Value) -> Result<rmcp::service::RequestHandle<RoleClient>> {
        let Value::Object(arguments) = arguments else { bail!("tool arguments must be an object") };
        let request = CallToolRequestParams::new("execute_code").with_arguments(arguments);
        Ok(self
            .client
            .send_cancellable_request(
                rmcp::model::ClientRequest::CallToolRequest(rmcp::model::Request::new(request)),
                rmcp::service::PeerRequestOptions::no_options(),
            )
            .await?)
    }

    /// Runs `code` and returns the structured response.
    pub async fn execute(&self, code: &str) -> Result<Value> {
        self.execute_with(json!({ "code": code })).await
    }

    pub async fn execute_with(&self, arguments: Value) -> Result<Value> {
        let result = self.call("execute_code", arguments).await?;
        let structured = result.structured_content.clone().context("execute_code returns structured content")?;
        let ok = structured["ok"].as_bool().context("`ok` is a boolean")?;
        assert_eq!(result.is_error.unwrap_or(false), !ok, "isError mirrors ok: {structured}");
        Ok(structured)
    }
}

/// The `result` of a successful run, failing the test with the error otherwise.
pub fn expect_result(response: &Value) -> &Value {
    assert_eq!(response["ok"], json!(true), "the run failed: {response:#}");
    &response["result"]
}

/// The `error` of a failed run, checking its kind.
pub fn expect_error<'a>(response: &'a Value, kind: &str) -> &'a Value {
    assert_eq!(response["ok"], json!(false), "the run succeeded: {response:#}");
    assert_eq!(response["error"]["kind"], json!(kind), "wrong error kind: {response:#}");
    &response["error"]
}

/// Runs `mcp-code-runtime types` with the config file `config` into `out`,
/// with the shared artifact cache, and checks that it succeeded.
pub fn write_types(config: &Path, out: &Path) -> Result<()> {
    let status = std::process::Command::new(host_binary())
        .arg("types")
        .arg("--config")
        .arg(config)
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .arg("--out")
        .arg(out)
        .env("RUST_LOG", "warn")
        .status()?;
    anyhow::ensure!(status.success(), "`types` failed: {status}");
    Ok(())
}

/// Waits until `pid` no longer exists, up to `limit`.
pub async fn wait_for_exit(pid: u32, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if !process_exists(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !process_exists(pid)
}

/// True while `pid` names a live (not zombie) process.
pub fn process_exists(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}
