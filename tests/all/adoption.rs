//! Adoption: `migrate` on recorded Claude configurations, `doctor` on healthy
//! and broken setups, `types` in ordinary TypeScript projects, the model's
//! `initialize` instructions, tool annotations and outputSchema, `--version`,
//! completions and `run` output when piped.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::util::{Host, HostOptions, host_binary, shared_cache_dir, test_server_binary, tests_dir};

/// A fake user: HOME with Claude's files, and a project folder.
struct User {
    dir: TempDir,
}

impl User {
    fn new() -> Result<User> {
        let user = User { dir: tempfile::tempdir()? };
        std::fs::create_dir_all(user.project())?;
        std::fs::create_dir_all(user.home())?;
        Ok(user)
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    fn claude_json(&self) -> PathBuf {
        self.home().join(".claude.json")
    }

    fn desktop_json(&self) -> PathBuf {
        self.home().join(".config/Claude/claude_desktop_config.json")
    }

    /// Puts every recorded kind of config in place.
    fn with_recorded_configs(self) -> Result<User> {
        let fixtures = tests_dir().join("fixtures/migrate");
        std::fs::copy(fixtures.join("project.mcp.json"), self.project().join(".mcp.json"))?;
        let project = std::fs::canonicalize(self.project())?;
        let claude = std::fs::read_to_string(fixtures.join("claude.json"))?.replace("@PROJECT@", project.to_str().context("utf-8")?);
        std::fs::write(self.claude_json(), claude)?;
        std::fs::create_dir_all(self.desktop_json().parent().context("parent")?)?;
        std::fs::copy(fixtures.join("claude_desktop_config.json"), self.desktop_json())?;
        Ok(self)
    }

    /// The host binary run as this user from the project folder.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(host_binary());
        command
            .args(args)
            .current_dir(self.project())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("RUST_LOG", "warn");
        command
    }

    fn migrate(&self, args: &[&str]) -> Result<Output> {
        let mut all = vec!["migrate"];
        all.extend_from_slice(args);
        Ok(self.command(&all).output()?)
    }

    /// Every file under the user's folder with its contents.
    fn snapshot(&self) -> Result<Vec<(PathBuf, Vec<u8>)>> {
        let mut files = Vec::new();
        let mut pending = vec![self.dir.path().to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.is_dir() { pending.push(path) } else { files.push((path.clone(), std::fs::read(&path)?)) }
            }
        }
        files.sort();
        Ok(files)
    }
}

fn read_json(path: &Path) -> Result<Value> {
    serde_json::from_slice(&std::fs::read(path).with_context(|| format!("read {}", path.display()))?).with_context(|| format!("parse {}", path.display()))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_success(output: &Output) {
    assert!(output.status.success(), "failed: {}\n{}", stdout(output), String::from_utf8_lossy(&output.stderr));
}

fn backups_of(path: &Path) -> Result<Vec<PathBuf>> {
    let name = path.file_name().context("file name")?.to_string_lossy().into_owned();
    let mut backups: Vec<PathBuf> = std::fs::read_dir(path.parent().context("parent")?)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    backups.retain(|backup| backup.file_name().is_some_and(|file| file.to_string_lossy().starts_with(&format!("{name}.bak-"))));
    Ok(backups)
}

#[test]
fn migrate_gathers_every_kind_of_claude_config_and_registers_code_runtime() -> Result<()> {
    let user = User::new()?.with_recorded_configs()?;
    let original_project = std::fs::read(user.project().join(".mcp.json"))?;
    let output = user.migrate(&[])?;
    assert_success(&output);

    let runtime = read_json(&user.project().join(".mcp-code-runtime.json"))?;
    let servers = runtime["mcpServers"].as_object().context("mcpServers")?;
    let names: Vec<&str> = servers.keys().map(String::as_str).collect();
    // Local scope first, then project, user and Desktop; a name seen first wins.
    assert_eq!(names, ["git", "filesystem", "issues", "memory", "time", "weather"], "{runtime:#}");
    assert_eq!(servers["filesystem"]["args"][2], json!("${PROJECT_ROOT:-.}"), "the project's entry wins and keeps its reference");
    assert_eq!(servers["issues"], json!({"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${ISSUES_TOKEN}"}}));
    assert_eq!(servers["memory"]["env"], json!({"MEMORY_FILE_PATH": "${HOME}/memory.json"}), "never expanded");
    assert_eq!(servers["git"]["args"][2], json!("${PWD}"));
    assert_eq!(servers["weather"], json!({"command": "node", "args": ["/opt/weather/index.js"], "env": {"WEATHER_API_KEY": "${WEATHER_API_KEY}"}}), "unknown keys dropped");
    let report = stdout(&output);
    assert!(report.contains("`legacy`") && report.contains("`sse` is not supported"), "{report}");
    assert!(report.contains("`code-runtime`") && report.contains("must not be in its own server list"), "{report}");
    assert!(report.contains("alwaysAllow"), "{report}");

    let registered = read_json(&user.project().join(".mcp.json"))?;
    let entry = &registered["mcpServers"]["code-runtime"];
    assert_eq!(entry["command"], json!(host_binary()));
    assert_eq!(entry["args"], json!(["serve", "--config", std::fs::canonicalize(user.project())?.join(".mcp-code-runtime.json")]));
    assert!(registered["mcpServers"]["filesystem"].is_object() && registered["mcpServers"]["issues"].is_object(), "direct servers stay as the fallback");
    let backups = backups_of(&user.project().join(".mcp.json"))?;
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(std::fs::read(&backups[0])?, original_project, "the backup holds the file as it was");
    let mode = std::fs::metadata(user.project().join(".mcp-code-runtime.json"))?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a new file may hold credentials");
    Ok(())
}

#[test]
fn migrate_dry_run_prints_the_diff_and_writes_nothing() -> Result<()> {
    let user = User::new()?.with_recorded_configs()?;
    let before = user.snapshot()?;
    let output = user.migrate(&["--dry-run"])?;
    assert_success(&output);
    let report = stdout(&output);
    assert!(report.contains("+++ ") && report.contains("/.mcp-code-runtime.json"), "{report}");
    assert!(report.contains(r#"+    "code-runtime": {"#), "{report}");
    assert!(report.contains(r#"+      "url": "https://mcp.example.com/mcp","#), "{report}");
    assert!(report.contains("dry run: nothing was written"), "{report}");
    assert_eq!(user.snapshot()?, before, "a dry run changes no file");
    Ok(())
}

#[test]
fn migrate_twice_changes_nothing_the_second_time() -> Result<()> {
    for scope in ["project", "user"] {
        let user = User::new()?.with_recorded_configs()?;
        assert_success(&user.migrate(&["--scope", scope])?);
        let after_first = user.snapshot()?;
        let second = user.migrate(&["--scope", scope])?;
        assert_success(&second);
        assert_eq!(stdout(&second).matches("unchanged: ").count(), 2, "{}", stdout(&second));
        assert_eq!(user.snapshot()?, after_first, "the second run ({scope} scope) wrote something");
    }
    Ok(())
}

#[test]
fn migrate_user_scope_with_replace_cuts_over_and_keeps_the_rest_of_claude_json() -> Result<()> {
    let user = User::new()?.with_recorded_configs()?;
    assert_success(&user.migrate(&["--scope", "user", "--replace"])?);
    let claude = read_json(&user.claude_json())?;
    let runtime_config = user.home().join(".config/mcp-code-runtime/servers.json");
    assert_eq!(claude["mcpServers"], json!({"code-runtime": {"type": "stdio", "command": host_binary(), "args": ["serve", "--config", runtime_config]}}));
    let project = std::fs::canonicalize(user.project())?;
    let local = &claude["projects"][project.to_str().context("utf-8")?];
    assert_eq!(local["mcpServers"], json!({}), "the project's local servers moved too");
    assert_eq!(local["hasTrustDialogAccepted"], json!(true));
    assert_eq!(claude["projects"]["/some/other/project"]["mcpServers"]["other"]["command"], json!("other-server"), "other projects are left alone");
    assert_eq!((claude["numStartups"].clone(), claude["theme"].clone()), (json!(12), json!("dark")));
    assert_eq!(read_json(&runtime_config)?["mcpServers"].as_object().context("servers")?.len(), 6);
    // Servers of other files stay direct, and the user is told.
    assert!(read_json(&user.project().join(".mcp.json"))?["mcpServers"]["issues"].is_object());
    // Run again: the runtime config keeps the servers though Claude's files no longer list them.
    let again = user.migrate(&["--scope", "user", "--replace"])?;
    assert_success(&again);
    assert_eq!(read_json(&runtime_config)?["mcpServers"].as_object().context("servers")?.len(), 6);
    Ok(())
}

#[test]
fn migrate_refuses_a_broken_file_and_changes_nothing() -> Result<()> {
    let user = User::new()?.with_recorded_configs()?;
    std::fs::copy(tests_dir().join("fixtures/migrate/broken.mcp.json"), user.project().join(".mcp.json"))?;
    let before = user.snapshot()?;
    let output = user.migrate(&["--scope", "user"])?;
    assert!(!output.status.success(), "{}", stdout(&output));
    let error = String::from_utf8_lossy(&output.stderr);
    let path = std::fs::canonicalize(user.project().join(".mcp.json"))?;
    assert!(error.contains(&format!("{}:4:5:", path.display())), "names file, line and column: {error}");
    assert_eq!(user.snapshot()?, before, "no file is written when one does not parse");
    Ok(())
}

#[test]
fn migrate_from_a_file_never_lists_code_runtime_in_its_own_servers() -> Result<()> {
    let user = User::new()?;
    let from = user.dir.path().join("servers.json");
    std::fs::write(&from, serde_json::to_vec(&json!({"mcpServers": {
        "code-runtime": {"command": host_binary(), "args": ["serve"]},
        "renamed-me": {"command": "/opt/bin/mcp-code-runtime", "args": ["serve"]},
        "time": {"command": "uvx", "args": ["mcp-server-time"]},
    }}))?)?;
    let config = user.dir.path().join("runtime.json");
    std::fs::write(&config, serde_json::to_vec(&json!({"mcpServers": {"code-runtime": {"command": "mcp-code-runtime"}}, "codeRuntime": {"limits": {"timeoutMs": 5000}}}))?)?;
    let output = user.migrate(&["--from", from.to_str().context("utf-8")?, "--config", config.to_str().context("utf-8")?])?;
    assert_success(&output);
    let runtime = read_json(&config)?;
    assert_eq!(runtime["mcpServers"], json!({"time": {"command": "uvx", "args": ["mcp-server-time"]}}));
    assert_eq!(runtime["codeRuntime"], json!({"limits": {"timeoutMs": 5000}}), "the runtime's own settings are kept");
    Ok(())
}

#[tokio::test]
async fn the_migrated_setup_works_end_to_end() -> Result<()> {
    let user = User::new()?;
    let from = user.dir.path().join("desktop.json");
    std::fs::write(&from, serde_json::to_vec(&json!({"mcpServers": {"faults": {"command": test_server_binary(), "args": ["--name", "faults"]}}}))?)?;
    assert_success(&user.migrate(&["--from", from.to_str().context("utf-8")?])?);
    // Start `code-runtime` exactly as Claude Code would from the project's .mcp.json.
    let entry = read_json(&user.project().join(".mcp.json"))?["mcpServers"]["code-runtime"].clone();
    let mut command = tokio::process::Command::new(entry["command"].as_str().context("command")?);
    for arg in entry["args"].as_array().context("args")? {
        command.arg(arg.as_str().context("arg")?);
    }
    command.arg("--cache-dir").arg(shared_cache_dir()).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("HOME", user.home()).env("RUST_LOG", "warn");
    let (transport, _) = TokioChildProcess::builder(command).spawn()?;
    let client = ().serve(transport).await?;
    let code = r#"const faults = await import("mcp://faults"); return await faults.echo({ message: "world" });"#;
    let arguments = json!({"code": code, "stats": "full"});
    let request = CallToolRequestParams::new("execute_code").with_arguments(arguments.as_object().context("object")?.clone());
    let result = client.call_tool(request).await?;
    let structured = result.structured_content.context("structured content")?;
    assert_eq!(structured["result"], json!({"message": "world"}), "{structured:#}");
    assert_eq!(structured["stats"]["toolCalls"]["faults"]["calls"], json!(1));
    client.cancel().await?;
    Ok(())
}

/// A runtime config with `servers`, in a fresh folder.
fn doctor_config(servers: Value, runtime: Value) -> Result<(TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("servers.json");
    let mut config = json!({"mcpServers": servers});
    if !runtime.is_null() {
        config["codeRuntime"] = runtime;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&config)?)?;
    Ok((dir, path))
}

/// `doctor --json` with `config`, the shared cache unless told, a data dir in `dir`.
fn doctor(dir: &Path, config: &Path, extra: &[&str]) -> Result<(bool, Value)> {
    let mut command = Command::new(host_binary());
    command
        .args(["doctor", "--json", "--config"])
        .arg(config)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir);
    if !extra.contains(&"--cache-dir") {
        command.arg("--cache-dir").arg(shared_cache_dir());
    }
    let output = command.args(extra).output()?;
    let report: Value = serde_json::from_slice(&output.stdout).with_context(|| format!("doctor prints JSON: {}{}", stdout(&output), String::from_utf8_lossy(&output.stderr)))?;
    assert_eq!(report["ok"], json!(output.status.success()), "exit code follows ok: {report:#}");
    Ok((output.status.success(), report))
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().and_then(|checks| checks.iter().find(|check| check["check"] == json!(name))).unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

#[test]
fn doctor_passes_a_healthy_setup_and_counts_tokens() -> Result<()> {
    let (dir, config) = doctor_config(json!({"faults": {"command": test_server_binary()}}), Value::Null)?;
    let (ok, report) = doctor(dir.path(), &config, &[])?;
    assert!(ok, "{report:#}");
    for name in ["config", "server faults", "data dir", "cache", "guest"] {
        assert_eq!(check(&report, name)["verdict"], json!("ok"), "{name}: {report:#}");
    }
    // One small server costs a model less directly than code mode's own tools: a warning, not a failure.
    assert_eq!(check(&report, "code mode")["verdict"], json!("warn"), "{report:#}");
    let server = check(&report, "server faults");
    assert!(server["data"]["tools"].as_u64().context("tools")? >= 5, "{server}");
    let tokens = server["data"]["tokens"].as_u64().context("tokens")?;
    let code_mode = &check(&report, "code mode")["data"];
    assert_eq!(code_mode["directTokens"], json!(tokens));
    assert_eq!(code_mode["savedTokens"].as_i64(), Some(tokens as i64 - code_mode["codeRuntimeTokens"].as_i64().context("own")?));
    assert!(dir.path().join(".local/share/mcp-code-runtime").is_dir(), "the default data dir is under HOME");
    Ok(())
}

#[test]
fn doctor_shows_why_a_server_does_not_start_with_its_stderr() -> Result<()> {
    let (dir, config) = doctor_config(json!({"crashes": {"command": test_server_binary(), "args": ["--exit-at-start"]}}), Value::Null)?;
    let (ok, report) = doctor(dir.path(), &config, &[])?;
    assert!(!ok, "{report:#}");
    let server = check(&report, "server crashes");
    assert_eq!(server["verdict"], json!("fail"));
    let stderr = server["data"]["stderr"].as_array().context("stderr lines")?;
    assert!(stderr.iter().any(|line| line.as_str().is_some_and(|line| line.contains("exiting at start"))), "{server:#}");
    assert_eq!(check(&report, "guest")["verdict"], json!("ok"), "other checks still run");
    Ok(())
}

#[test]
fn doctor_reports_a_server_that_hangs_at_initialize() -> Result<()> {
    let servers = json!({"hangs": {"command": test_server_binary(), "args": ["--sleep-forever"]}, "fine": {"command": test_server_binary()}});
    let (dir, config) = doctor_config(servers, json!({"startupTimeoutMs": 3000}))?;
    let (ok, report) = doctor(dir.path(), &config, &[])?;
    assert!(!ok, "{report:#}");
    let hangs = check(&report, "server hangs");
    assert_eq!(hangs["verdict"], json!("fail"));
    assert!(hangs["detail"].as_str().context("detail")?.contains("within 3000 ms"), "{hangs:#}");
    assert_eq!(check(&report, "server fine")["verdict"], json!("ok"));
    Ok(())
}

#[test]
fn doctor_fails_a_cache_others_can_write() -> Result<()> {
    let (dir, config) = doctor_config(json!({}), Value::Null)?;
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache)?;
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777))?;
    let (ok, report) = doctor(dir.path(), &config, &["--cache-dir", cache.to_str().context("utf-8")?])?;
    assert!(!ok, "{report:#}");
    let cache_check = check(&report, "cache");
    assert_eq!(cache_check["verdict"], json!("fail"));
    assert!(cache_check["detail"].as_str().context("detail")?.contains("chmod go-w"), "{cache_check:#}");
    assert_eq!(check(&report, "guest")["verdict"], json!("ok"), "the guest still runs, compiled in memory");
    Ok(())
}

#[test]
fn doctor_fails_an_unwritable_data_dir_and_a_broken_config() -> Result<()> {
    let (dir, _) = doctor_config(json!({}), Value::Null)?;
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder")?;
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\n  \"mcpServers\": {,\n}")?;
    let (ok, report) = doctor(dir.path(), &broken, &["--data-dir", file.join("data").to_str().context("utf-8")?])?;
    assert!(!ok, "{report:#}");
    assert_eq!(check(&report, "data dir")["verdict"], json!("fail"), "{report:#}");
    let config = check(&report, "config");
    assert_eq!(config["verdict"], json!("fail"));
    assert!(config["detail"].as_str().context("detail")?.contains("broken.json:2:"), "{config:#}");
    Ok(())
}

fn tsc(project: &Path) -> Output {
    Command::new(tests_dir().join("node_modules/.bin/tsc")).arg("-p").arg(project).output().expect("run tsc (make setup installs it)")
}

#[test]
fn types_check_with_the_written_tsconfig_and_with_the_default_libs() -> Result<()> {
    let (dir, config) = doctor_config(json!({"faults": {"command": test_server_binary()}}), Value::Null)?;
    let types = dir.path().join("types");
    let output = Command::new(host_binary())
        .args(["types", "--out", types.to_str().context("utf-8")?, "--config", config.to_str().context("utf-8")?])
        .output()?;
    assert_success(&output);
    assert!(types.join("tsconfig.json").is_file() && types.join("faults.d.ts").is_file());
    // A program as a model writes it, using the globals the DOM lib also declares.
    std::fs::write(types.join("program.ts"), r#"
import { knowledgeGraphReport } from "skills/knowledge-graph-report";
import summarize from "skills/directory-summary";
const report = await knowledgeGraphReport({ top: 3 });
const entities: number = report.entities + (await summarize({ path: "/tmp" })).files;
// @ts-expect-error: skills.d.ts types a skill's input, so a wrong one does not check
await knowledgeGraphReport({ top: "three" });
const faults = await import("mcp://faults");
const echoed = await faults.echo({ message: "hi" });
const bytes: Uint8Array = new TextEncoder().encode(JSON.stringify(echoed));
const text: string = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
const started: number = performance.now();
const timer = setTimeout((label: string) => console.info(label, text, started), 10, "done");
clearTimeout(timer);
console.log(entities);
try { await mcp.call("faults", "fail", {}); } catch (error) { if (error instanceof McpError) console.warn(error.kind); }
"#)?;
    let es2022 = tsc(&types);
    assert!(es2022.status.success(), "lib es2022: {}", stdout(&es2022));
    // An ordinary project: default libs (DOM included), the declarations and the program.
    let project = dir.path().join("project");
    std::fs::create_dir(&project)?;
    std::fs::write(project.join("tsconfig.json"), r#"{ "compilerOptions": { "strict": true, "noEmit": true, "target": "es2022", "module": "esnext", "moduleDetection": "force", "types": [] }, "include": ["../types/**/*.ts"] }"#)?;
    let dom = tsc(&project);
    assert!(dom.status.success(), "default libs with DOM: {}", stdout(&dom));
    Ok(())
}

#[tokio::test]
async fn initialize_tells_the_model_when_code_mode_pays_in_few_tokens() -> Result<()> {
    let host = Host::start_with(HostOptions::default()).await?;
    let info = host.client.peer_info().context("initialize result")?;
    let instructions = info.instructions.clone().context("instructions")?;
    let tokens = tiktoken_rs::cl100k_base()?.encode_with_special_tokens(&instructions).len();
    assert!(tokens < 400, "the instructions are {tokens} tokens:\n{instructions}");
    for needed in ["several tool calls", "directly", "search_tools", "describe_tools", "import(\"mcp://", "import * as", "mcp.call("] {
        assert!(instructions.contains(needed), "missing {needed:?}:\n{instructions}");
    }
    let tools = host.client.list_all_tools().await?;
    for tool in &tools {
        let annotations = tool.annotations.clone().with_context(|| format!("{} has annotations", tool.name))?;
        assert!(tool.title.is_some(), "{} has a title", tool.name);
        let (read_only, open_world) = (annotations.read_only_hint, annotations.open_world_hint);
        if tool.name == "execute_code" {
            assert_eq!((read_only, open_world), (Some(false), Some(true)));
            let schema = tool.output_schema.clone().context("execute_code declares an outputSchema")?;
            assert_eq!(schema["type"], json!("object"));
            assert!(schema["properties"]["stats"].is_object() && schema["properties"]["error"].is_object(), "{schema:?}");
        } else if tool.name == "save_skill" || tool.name == "delete_skill" {
            assert_eq!((read_only, open_world), (Some(false), Some(false)), "{} writes only the data folder", tool.name);
        } else if tool.name.starts_with("skill_") {
            assert_eq!((read_only, open_world), (Some(false), Some(true)), "{} calls servers", tool.name);
        } else {
            assert_eq!((read_only, open_world), (Some(true), Some(false)), "{}", tool.name);
        }
    }
    Ok(())
}

#[test]
fn the_python_sdk_checks_execute_code_results_against_its_output_schema() -> Result<()> {
    let python = tests_dir().join(".venv/bin/python");
    let output = Command::new(&python)
        .arg(tests_dir().join("python/output_schema.py"))
        .arg(host_binary())
        .arg(shared_cache_dir())
        .arg(test_server_binary())
        .output()
        .with_context(|| format!("run {} (make setup installs it)", python.display()))?;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let seen: Value = serde_json::from_slice(&output.stdout)?;
    // Every shape of result was validated: a value with logs and tool stats, and each failure.
    assert_eq!(seen["validated"], json!(["ok", "runtime_error", "syntax_error", "tool_error", "timeout"]), "{seen}");
    Ok(())
}

#[test]
fn version_names_the_guest_and_wasmtime_and_completions_come_from_clap() -> Result<()> {
    let version = Command::new(host_binary()).arg("--version").output()?;
    let text = stdout(&version);
    assert!(text.contains("guest: ") && text.contains("wasmtime: 48."), "{text}");
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef mcp-code-runtime"), ("fish", "complete -c mcp-code-runtime")] {
        let output = Command::new(host_binary()).args(["completions", shell]).output()?;
        assert_success(&output);
        let script = stdout(&output);
        assert!(script.contains(marker) && script.contains("migrate") && script.contains("doctor"), "{shell}: {script}");
    }
    Ok(())
}

#[test]
fn run_output_is_plain_when_piped() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let program = dir.path().join("slow.ts");
    std::fs::write(&program, "await new Promise((resolve) => setTimeout(resolve, 1500));\nconsole.log('after');\nreturn 1;")?;
    let output = Command::new(host_binary())
        .args(["run", program.to_str().context("utf-8")?, "--cache-dir"])
        .arg(shared_cache_dir())
        .env("RUST_LOG", "info")
        .output()?;
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains('\x1b') && !stderr.contains('⠋'), "no spinner or colour when piped: {stderr:?}");
    let outcome: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(outcome["logs"], json!([{"level": "log", "message": "after"}]));
    Ok(())
}

/// `run` under a pseudo-terminal (util-linux `script`), with everything it wrote.
fn run_on_a_terminal(program: &Path) -> Result<String> {
    let command = format!("{} run {} --cache-dir {}", host_binary().display(), program.display(), shared_cache_dir().display());
    let output = Command::new("script").args(["-qec", &command, "/dev/null"]).output().context("run `script` (util-linux)")?;
    assert_success(&output);
    Ok(stdout(&output))
}

#[test]
fn run_on_a_terminal_shows_a_spinner_with_the_elapsed_time_and_clears_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let slow = dir.path().join("slow.ts");
    std::fs::write(&slow, "await new Promise((resolve) => setTimeout(resolve, 1500));\nreturn 'slow';")?;
    let shown = run_on_a_terminal(&slow)?;
    assert!(shown.contains("⠋ running ") && shown.contains(" s, 0 tool calls\r\x1b[2K"), "a spinner with the elapsed time: {shown:?}");
    assert!(shown.contains("\r\x1b[2K{"), "the spinner's line is cleared before the response: {shown:?}");
    assert!(shown.contains("\"slow\""), "{shown:?}");
    Ok(())
}

#[test]
fn run_on_a_terminal_streams_console_lines_as_they_happen_and_counts_tool_calls() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let program = dir.path().join("chatty.ts");
    std::fs::write(
        &program,
        "console.log('first line');\nawait new Promise((resolve) => setTimeout(resolve, 1300));\nconsole.warn('second line');\nreturn 'done';",
    )?;
    let shown = run_on_a_terminal(&program)?;
    let first = shown.find("[log] first line").context(format!("the first line is streamed: {shown:?}"))?;
    let spinner = shown.find("⠋ running ").context(format!("the spinner shows: {shown:?}"))?;
    let second = shown.find("[warn] second line").context(format!("the second line is streamed: {shown:?}"))?;
    let response = shown.find("\"done\"").context("the response")?;
    assert!(first < spinner && spinner < second && second < response, "lines come as they happen: {shown:?}");
    assert!(shown.contains(", 0 tool calls"), "the spinner counts tool calls: {shown:?}");
    Ok(())
}
