//! Skills through the real binary: the fixture skills of `tests/fixtures/skills`
//! (the config's skills folder) and the built-in ones, called as tools
//! (`skill_<name>`) and imported by programs in every form; skills saved,
//! replaced and deleted with `save_skill`/`delete_skill`, kept across a
//! restart, and refused cleanly; a skill's grant (what it declares, narrowed
//! by its caller) enforced by every access path; the caller's tool-call
//! limit, deadline and fuel applied to the skills it calls; discovery, the
//! `skills` command and the token cost of the tool list.
//!
//! Where a skill reaches a downstream server, the server's own state is
//! checked: the memory server's file, or the fault server's `counter`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rmcp::model::{CallToolResult, Tool};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};
use serde_json::{Value, json};

use crate::util::{Host, HostOptions, expect_error, expect_result, host_binary, npm_server, shared_cache_dir, test_server_binary, tests_dir};

// ---- helpers ------------------------------------------------------------------

/// The fixture skills: the config's skills folder in these tests.
fn fixtures() -> PathBuf {
    tests_dir().join("fixtures/skills")
}

/// `codeRuntime` with the fixture skills, exposed as `expose` says, and `limits`.
fn runtime(expose: Value, limits: Value) -> Value {
    let mut runtime = json!({ "skills": { "directory": fixtures(), "expose": expose } });
    if !limits.is_null() {
        runtime["limits"] = limits;
    }
    runtime
}

fn test_server() -> Value {
    json!({ "command": test_server_binary() })
}

/// The fault server as `test` (declared by the fixtures) and again as
/// `secret-store` (declared by none).
fn test_servers() -> Value {
    json!({ "test": test_server(), "secret-store": test_server() })
}

fn memory_server(file: &Path) -> Value {
    json!({ "command": "node", "args": [npm_server("@modelcontextprotocol/server-memory", "dist/index.js")], "env": { "MEMORY_FILE_PATH": file } })
}

async fn start_host(servers: Value, runtime: Value, data_dir: Option<&Path>) -> Result<Host> {
    let args = data_dir.map(|dir| vec!["--data-dir".to_owned(), dir.display().to_string()]).unwrap_or_default();
    Host::start_with(HostOptions { servers, runtime, args, ..Default::default() }).await
}

/// A host with the two fault servers and every fixture skill exposed.
async fn host_with_test_servers(limits: Value) -> Result<Host> {
    start_host(test_servers(), runtime(json!("all"), limits), None).await
}

fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|block| block.as_text()).map(|text| text.text.clone()).collect::<Vec<_>>().join("\n")
}

/// The first text block of a successful result, as JSON.
fn value_of(result: &CallToolResult) -> Result<Value> {
    assert_eq!(result.is_error, Some(false), "the call failed: {}", text_of(result));
    let first = result.content.first().and_then(|block| block.as_text()).context("a text block")?;
    Ok(serde_json::from_str(&first.text)?)
}

async fn tools(host: &Host) -> Result<Vec<Tool>> {
    Ok(host.client.list_all_tools().await?)
}

async fn skill_tool_names(host: &Host) -> Result<Vec<String>> {
    let mut names: Vec<String> =
        tools(host).await?.into_iter().map(|tool| tool.name.to_string()).filter(|name| name.starts_with("skill_")).collect();
    names.sort();
    Ok(names)
}

/// Calls `counter` of `server` (the fault server) from a program: how many
/// calls reached that server process so far, this one included.
async fn count_on(host: &Host, server: &str) -> Result<Value> {
    let response = host.execute(&format!("return (await mcp.call({server:?}, 'counter', {{}})).count;")).await?;
    Ok(expect_result(&response).clone())
}

/// Every file in the saved-skills folder: skills and any leftovers.
fn saved_files(data_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("skills")) else { return Vec::new() };
    let mut names: Vec<String> = entries.filter_map(Result::ok).map(|entry| entry.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// A `save_skill` refusal: its structured error, checked to be of `kind`.
fn refusal<'a>(result: &'a CallToolResult, kind: &str) -> &'a Value {
    assert_eq!(result.is_error, Some(true), "not refused: {}", text_of(result));
    let structured = result.structured_content.as_ref().expect("a refusal has structured content");
    assert_eq!(structured["ok"], json!(false), "{structured}");
    assert_eq!(structured["error"]["kind"], json!(kind), "{structured}");
    &structured["error"]
}

/// Runs the host's CLI with `args` and the shared artifact cache.
fn cli(args: &[&str], home: &Path) -> Result<Output> {
    Ok(Command::new(host_binary())
        .args(args)
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("RUST_LOG", "warn")
        .output()?)
}

fn write_config(dir: &Path, skills_dir: &Path) -> Result<PathBuf> {
    let config = dir.join("mcp.json");
    std::fs::write(&config, serde_json::to_vec(&json!({ "mcpServers": {}, "codeRuntime": { "skills": { "directory": skills_dir } } }))?)?;
    Ok(config)
}

/// A save_skill argument set for a program body `code`.
fn body(name: &str, code: &str) -> Value {
    json!({"name": name, "code": code, "description": "x", "inputSchema": {"type": "object"}, "servers": []})
}

const ADD_ONE_INPUT: &str = r#"{"type":"object","properties":{"n":{"type":"number","description":"The number to add one to"}},"required":["n"]}"#;
const ADD_ONE_OUTPUT: &str = r#"{"type":"object","properties":{"value":{"type":"number"}},"required":["value"]}"#;

// ---- skills as tools ------------------------------------------------------------

#[tokio::test]
async fn skills_are_tools_with_their_meta_schemas() -> Result<()> {
    let host = host_with_test_servers(Value::Null).await?;
    let names = skill_tool_names(&host).await?;
    for expected in ["skill_add-one", "skill_add-two", "skill_count-up", "skill_knowledge-graph-report", "skill_directory-summary"] {
        assert!(names.contains(&expected.to_owned()), "{expected} missing from {names:?}");
    }
    let listed = tools(&host).await?;
    let add_one = listed.iter().find(|tool| tool.name == "skill_add-one").context("skill_add-one")?;
    assert_eq!(Value::Object((*add_one.input_schema).clone()), serde_json::from_str::<Value>(ADD_ONE_INPUT)?);
    assert_eq!(add_one.output_schema.as_ref().map(|schema| Value::Object((**schema).clone())), Some(serde_json::from_str(ADD_ONE_OUTPUT)?));
    assert!(add_one.description.as_deref().unwrap_or("").starts_with("Adds one to a number."), "{add_one:?}");
    assert_eq!(add_one.title.as_deref(), Some("Add one"));
    let spin = listed.iter().find(|tool| tool.name == "skill_spin").context("skill_spin")?;
    assert!(spin.output_schema.is_none(), "no output schema declared, none listed");

    let result = host.call("skill_add-one", json!({"n": 41})).await?;
    assert_eq!(value_of(&result)?, json!({"value": 42}));
    assert_eq!(result.structured_content, Some(json!({"value": 42})), "structured content when an output schema is declared");
    let untyped = host.call("skill_spin", json!({"rounds": 3})).await?;
    assert_eq!(value_of(&untyped)?, json!(3));
    assert_eq!(untyped.structured_content, None);

    let missing = host.call("skill_add-one", json!({})).await?;
    assert_eq!(missing.is_error, Some(true), "{}", text_of(&missing));
    assert!(text_of(&missing).contains("invalid_arguments") && text_of(&missing).contains("\"n\""), "{}", text_of(&missing));
    Ok(())
}

#[tokio::test]
async fn a_skill_tool_writes_to_the_memory_server() -> Result<()> {
    let files = tempfile::tempdir()?;
    let memory_file = files.path().join("memory.jsonl");
    let host = start_host(json!({ "memory": memory_server(&memory_file) }), runtime(json!("all"), Value::Null), None).await?;
    let result = host.call("skill_remember-people", json!({"names": ["Grace", "Ada"]})).await?;
    assert_eq!(value_of(&result)?, json!({"stored": ["Ada", "Grace"]}));
    assert_eq!(result.structured_content, Some(json!({"stored": ["Ada", "Grace"]})));
    let stored = std::fs::read_to_string(&memory_file)?;
    for expected in [r#""name":"Ada""#, r#""name":"Grace""#, "Ada was remembered by a skill", "Grace was remembered by a skill"] {
        assert!(stored.contains(expected), "{expected} not in the memory file:\n{stored}");
    }
    Ok(())
}

#[tokio::test]
async fn expose_lists_only_the_named_skills_and_the_others_stay_importable() -> Result<()> {
    let host = start_host(Value::Null, runtime(json!(["add-one"]), Value::Null), None).await?;
    assert_eq!(skill_tool_names(&host).await?, ["skill_add-one"]);
    let hidden = host.call("skill_add-two", json!({"n": 1})).await;
    assert!(hidden.is_err() || hidden.as_ref().is_ok_and(|result| result.is_error == Some(true)), "a hidden skill is no tool: {hidden:?}");
    let response = host.execute("import addTwo from 'skills/add-two'; return await addTwo({ n: 40 });").await?;
    assert_eq!(expect_result(&response), &json!({"value": 42}));

    let none = start_host(Value::Null, runtime(json!("none"), Value::Null), None).await?;
    assert_eq!(skill_tool_names(&none).await?, Vec::<String>::new());
    let response = none.execute("const { addOne } = await import('skills/add-one'); return await addOne({ n: 1 });").await?;
    assert_eq!(expect_result(&response), &json!({"value": 2}));
    Ok(())
}

// ---- imports ----------------------------------------------------------------------

#[tokio::test]
async fn skills_are_imported_statically_and_dynamically_by_default_and_camel_case_name() -> Result<()> {
    let host = start_host(Value::Null, runtime(json!("all"), Value::Null), None).await?;
    let code = r#"
import addOne from "skills/add-one";
import { addOne as named } from "skills/add-one";
import planForm from "./skills/add-one.ts";
import { addTwo } from "skills/add-two";
const dynamic = await import("skills/add-one");
const dynamicPlan = await import("./skills/add-two.ts");
return [
  (await addOne({ n: 1 })).value,
  (await named({ n: 2 })).value,
  (await planForm({ n: 3 })).value,
  (await dynamic.default({ n: 4 })).value,
  (await dynamic.addOne({ n: 5 })).value,
  (await addTwo({ n: 6 })).value,
  (await dynamicPlan.addTwo({ n: 7 })).value,
];
"#;
    let response = host.execute(code).await?;
    assert_eq!(expect_result(&response), &json!([2, 3, 4, 5, 6, 8, 9]));
    let nested = host.call("skill_add-two", json!({"n": 40})).await?;
    assert_eq!(value_of(&nested)?, json!({"value": 42}), "a skill importing a skill, called as a tool");
    Ok(())
}

#[tokio::test]
async fn importing_a_skill_that_does_not_exist_fails_clearly() -> Result<()> {
    let host = start_host(Value::Null, runtime(json!("all"), Value::Null), None).await?;
    let direct = host.execute("import x from 'skills/no-such-skill'; return await x({});").await?;
    let error = &direct["error"];
    assert_eq!(direct["ok"], json!(false), "{direct:#}");
    assert!(error["message"].as_str().unwrap_or("").contains("no skill named \"no-such-skill\""), "{direct:#}");

    let as_tool = host.call("skill_import-missing", json!({})).await?;
    assert_eq!(as_tool.is_error, Some(true), "{}", text_of(&as_tool));
    assert!(text_of(&as_tool).contains("no-such-skill"), "{}", text_of(&as_tool));

    let code = "import { importMissing } from 'skills/import-missing'; try { await importMissing({}); return 'ran'; } catch (e) { return { name: e.name, kind: e.kind, tool: e.tool, message: e.message }; }";
    let response = host.execute(code).await?;
    let caught = expect_result(&response);
    assert_eq!(caught["tool"], json!("skills/import-missing"), "{caught}");
    assert!(caught["message"].as_str().unwrap_or("").contains("no-such-skill"), "{caught}");
    Ok(())
}

/// A skill that throws on line 11 of its file.
const THROWS: &str = "export const meta = {\n  name: \"throws\",\n  description: \"Throws.\",\n  servers: [],\n  input: { type: \"object\" },\n  examples: [\"await throws({})\"],\n} as const;\n\nexport default async function throws(): Promise<never> {\n  const x = 1;\n  throw new Error(\"boom \" + x);\n}\n";

#[tokio::test]
async fn a_failing_skill_reports_its_file_and_line() -> Result<()> {
    let folder = tempfile::tempdir()?;
    std::fs::write(folder.path().join("throws.ts"), THROWS)?;
    let host = start_host(Value::Null, json!({ "skills": { "directory": folder.path() } }), None).await?;
    let imported = host.execute("import throws from 'skills/throws';\nawait throws({});").await?;
    let message = imported["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("skills/throws.ts:11:"), "the caller learns where the skill failed: {imported:#}");
    let as_tool = host.call("skill_throws", json!({})).await?;
    let text: String = as_tool.content.iter().filter_map(|block| block.as_text()).map(|text| text.text.clone()).collect();
    assert!(text.contains("skills/throws.ts:11:"), "the tool's error names the line: {text}");
    Ok(())
}

// ---- save_skill and delete_skill ----------------------------------------------------

/// A program body that works in execute_code, saved as `double-count`.
fn double_count(replace: Option<bool>) -> Value {
    let mut arguments = json!({
        "name": "double-count",
        "code": "import { addOne } from \"skills/add-one\";\nconst counted = await mcp.call(\"test\", \"counter\", {});\nconst plus = await addOne({ n: input.n * 2 });\nreturn { doubled: plus.value - 1, count: counted.count };",
        "description": "Doubles n, and counts once on the test server.",
        "inputSchema": {"type": "object", "properties": {"n": {"type": "number"}}, "required": ["n"]},
        "outputSchema": {"type": "object", "properties": {"doubled": {"type": "number"}, "count": {"type": "integer"}}, "required": ["doubled", "count"]},
        "servers": ["test"],
    });
    if let Some(replace) = replace {
        arguments["replace"] = json!(replace);
    }
    arguments
}

#[tokio::test]
async fn a_saved_program_is_a_tool_and_a_module_at_once_and_after_a_restart() -> Result<()> {
    let data = tempfile::tempdir()?;
    let first = start_host(test_servers(), runtime(json!("all"), Value::Null), Some(data.path())).await?;
    assert!(!skill_tool_names(&first).await?.contains(&"skill_double-count".to_owned()));
    let saved = first.call("save_skill", double_count(None)).await?;
    assert_eq!(saved.is_error, Some(false), "{}", text_of(&saved));
    let file = data.path().join("skills/double-count.ts");
    assert_eq!(
        saved.structured_content,
        Some(json!({"ok": true, "name": "double-count", "tool": "skill_double-count", "file": file}))
    );
    let source = std::fs::read_to_string(&file)?;
    assert!(source.contains("const counted = await mcp.call") && source.contains("export const meta"), "{source}");

    let listed = tools(&first).await?;
    let tool = listed.iter().find(|tool| tool.name == "skill_double-count").context("listed at once")?;
    assert_eq!(Value::Object((*tool.input_schema).clone()), double_count(None)["inputSchema"]);
    let called = first.call("skill_double-count", json!({"n": 5})).await?;
    assert_eq!(called.structured_content, Some(json!({"doubled": 10, "count": 1})), "{}", text_of(&called));
    let imported = first.execute("import doubleCount from 'skills/double-count'; return await doubleCount({ n: 7 });").await?;
    assert_eq!(expect_result(&imported), &json!({"doubled": 14, "count": 2}));
    assert_eq!(count_on(&first, "test").await?, json!(3), "both calls reached the test server");
    first.client.cancel().await?;

    let second = start_host(test_servers(), runtime(json!("all"), Value::Null), Some(data.path())).await?;
    assert!(skill_tool_names(&second).await?.contains(&"skill_double-count".to_owned()), "still a tool after a restart");
    let called = second.call("skill_double-count", json!({"n": 1})).await?;
    assert_eq!(called.structured_content, Some(json!({"doubled": 2, "count": 1})), "{}", text_of(&called));
    let imported = second.execute("const { doubleCount } = await import('skills/double-count'); return await doubleCount({ n: 2 });").await?;
    assert_eq!(expect_result(&imported), &json!({"doubled": 4, "count": 2}));
    Ok(())
}

/// A client that counts `notifications/tools/list_changed`.
#[derive(Clone, Default)]
struct ListChanges(Arc<AtomicUsize>);

impl ClientHandler for ListChanges {
    fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) -> impl Future<Output = ()> + Send + '_ {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::future::ready(())
    }
}

impl ListChanges {
    /// Waits (generously) until `count` notifications have arrived.
    async fn reach(&self, count: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.0.load(Ordering::SeqCst) < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.0.load(Ordering::SeqCst)
    }
}

/// A host whose client records list changes: the fault server as `test`,
/// the fixture skills, `data_dir`.
async fn recording_host(data_dir: &Path) -> Result<(Host<ListChanges>, ListChanges)> {
    let options = HostOptions {
        servers: json!({ "test": test_server() }),
        runtime: runtime(json!("all"), Value::Null),
        args: vec!["--data-dir".into(), data_dir.display().to_string()],
        ..Default::default()
    };
    let changes = ListChanges::default();
    Ok((Host::start_with_client(options, changes.clone()).await?, changes))
}

#[tokio::test]
async fn saving_replacing_and_deleting_notify_the_client_and_change_the_tool_list() -> Result<()> {
    let data = tempfile::tempdir()?;
    let (host, changes) = recording_host(data.path()).await?;
    let client = &host.client;
    let greeting = |body: &str, replace: bool| {
        json!({"name": "greeting", "code": body, "description": "Greets.", "inputSchema": {"type": "object"}, "servers": [], "replace": replace})
    };
    let listed = |tools: Vec<Tool>| tools.iter().any(|tool| tool.name == "skill_greeting");

    let saved = host.call("save_skill", greeting("return 'v1';", false)).await?;
    assert_eq!(saved.is_error, Some(false), "{}", text_of(&saved));
    assert_eq!(changes.reach(1).await, 1, "save_skill sends notifications/tools/list_changed");
    assert!(listed(client.list_all_tools().await?));
    assert_eq!(value_of(&host.call("skill_greeting", json!({})).await?)?, json!("v1"));

    let file = data.path().join("skills/greeting.ts");
    let refused = host.call("save_skill", greeting("return 'v2';", false)).await?;
    let error = refusal(&refused, "invalid_input");
    assert!(error["message"].as_str().unwrap_or("").contains("replace"), "{error}");
    assert!(std::fs::read_to_string(&file)?.contains("'v1'"), "a refused save leaves the old file");
    assert_eq!(value_of(&host.call("skill_greeting", json!({})).await?)?, json!("v1"));

    let replaced = host.call("save_skill", greeting("return 'v2';", true)).await?;
    assert_eq!(replaced.is_error, Some(false), "{}", text_of(&replaced));
    assert_eq!(changes.reach(2).await, 2, "replacing notifies too");
    assert_eq!(value_of(&host.call("skill_greeting", json!({})).await?)?, json!("v2"), "the new code runs at once");
    assert!(std::fs::read_to_string(&file)?.contains("'v2'"));

    let deleted = host.call("delete_skill", json!({"name": "greeting"})).await?;
    assert_eq!(deleted.structured_content, Some(json!({"ok": true, "name": "greeting"})), "{}", text_of(&deleted));
    assert_eq!(changes.reach(3).await, 3, "deleting notifies too");
    assert!(!listed(client.list_all_tools().await?), "the tool is gone");
    assert!(!file.exists(), "the file is gone");
    assert_eq!(saved_files(data.path()), Vec::<String>::new(), "no leftovers");
    let gone = host.call("skill_greeting", json!({})).await;
    assert!(gone.is_err() || gone.as_ref().is_ok_and(|result| result.is_error == Some(true)), "{gone:?}");
    let code = json!({"code": "try { await import('skills/greeting'); return 'imported'; } catch (e) { return e.message; }"});
    let imported = host.call("execute_code", code).await?;
    let message = imported.structured_content.clone().context("structured")?["result"].clone();
    assert!(message.as_str().unwrap_or("").contains("no skill named \"greeting\""), "{message}");
    refusal(&host.call("delete_skill", json!({"name": "greeting"})).await?, "not_found");
    assert_eq!(changes.reach(4).await, 3, "a refused delete notifies nothing");
    Ok(())
}

#[tokio::test]
async fn built_in_and_folder_skills_cannot_be_replaced_or_deleted_through_tools() -> Result<()> {
    let folder = tempfile::tempdir()?;
    std::fs::copy(fixtures().join("add-one.ts"), folder.path().join("add-one.ts"))?;
    let data = tempfile::tempdir()?;
    let runtime = json!({ "skills": { "directory": folder.path() } });
    let host = start_host(Value::Null, runtime, Some(data.path())).await?;
    for name in ["knowledge-graph-report", "add-one"] {
        let deleted = host.call("delete_skill", json!({"name": name})).await?;
        assert!(text_of(&deleted).contains("cannot be replaced or deleted"), "{}", text_of(&deleted));
        refusal(&deleted, "invalid_input");
        let replaced = host
            .call(
                "save_skill",
                json!({"name": name, "code": "return 1;", "description": "x", "inputSchema": {"type": "object"}, "servers": [], "replace": true}),
            )
            .await?;
        refusal(&replaced, "invalid_input");
        assert!(skill_tool_names(&host).await?.contains(&format!("skill_{name}")), "{name} is still offered");
    }
    assert!(folder.path().join("add-one.ts").exists(), "the folder's skill file is untouched");
    assert_eq!(value_of(&host.call("skill_add-one", json!({"n": 1})).await?)?, json!({"value": 2}));
    assert_eq!(saved_files(data.path()), Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn bad_skills_are_refused_with_structured_errors_and_nothing_is_saved() -> Result<()> {
    let data = tempfile::tempdir()?;
    let host = start_host(test_servers(), runtime(json!("all"), Value::Null), Some(data.path())).await?;
    let before = skill_tool_names(&host).await?;
    let base = json!({"name": "bad-one", "code": "return 1;", "description": "A bad skill.", "inputSchema": {"type": "object"}, "servers": []});
    let with = |changes: Value| {
        let mut arguments = base.clone();
        for (key, value) in changes.as_object().expect("changes are an object") {
            arguments[key] = value.clone();
        }
        arguments
    };
    let module_with_meta = |description: &str| {
        format!(
            "export const meta = {{ name: \"bad-one\", description: {description:?}, servers: [], input: {{ type: \"object\" }}, examples: [\"badOne({{}})\"] }};\nexport default async function badOne() {{ return 1; }}\n"
        )
    };
    let cases = [
        ("an invalid name", with(json!({"name": "Bad_Name"})), "invalid_input", "not a skill name"),
        ("a name that is too long", with(json!({"name": "a".repeat(65)})), "invalid_input", "not a skill name"),
        ("an unknown server", with(json!({"servers": ["test", "nowhere"]})), "invalid_input", "nowhere"),
        ("code over the size limit", with(json!({"code": format!("// {}\nreturn 1;", "x".repeat(300 << 10))})), "invalid_input", "limit"),
        ("meta disagreeing with the arguments", with(json!({"code": module_with_meta("Something else.")})), "invalid_input", "description"),
        ("a syntax error", with(json!({"code": "const a = 1;\nconst b = ;\nreturn a + b;"})), "syntax_error", ""),
        ("a redeclared binding", with(json!({"code": "let a = 1;\nlet a = 2;\nreturn a;"})), "syntax_error", ""),
        (
            "meta without a default export",
            with(json!({"code": "export const meta = { name: \"bad-one\", description: \"A bad skill.\", servers: [], input: { type: \"object\" }, examples: [\"badOne({})\"] };\nexport async function badOne() { return 1; }\n"})),
            "invalid_input",
            "no default export",
        ),
    ];
    for (what, arguments, kind, needle) in cases {
        let result = host.call("save_skill", arguments).await?;
        assert_eq!(result.is_error, Some(true), "{what}: {}", text_of(&result));
        let error = refusal(&result, kind);
        assert!(error["message"].as_str().unwrap_or("").contains(needle), "{what}: {error}");
        assert_eq!(saved_files(data.path()), Vec::<String>::new(), "{what}: nothing is saved");
        assert_eq!(skill_tool_names(&host).await?, before, "{what}: the tool list is unchanged");
    }
    let syntax = host.call("save_skill", with(json!({"code": "const a = 1;\nconst b = ;\nreturn a + b;"}))).await?;
    let error = refusal(&syntax, "syntax_error");
    assert_eq!((error["line"].clone(), error["column"].clone()), (json!(2), json!(11)), "the position in the code given: {error}");
    Ok(())
}

#[tokio::test]
async fn a_syntax_error_on_the_first_line_of_a_program_body_has_the_codes_column() -> Result<()> {
    let data = tempfile::tempdir()?;
    let host = start_host(Value::Null, Value::Null, Some(data.path())).await?;
    let code = "return 1 +;";
    let result = host.call("save_skill", body("first-line", code)).await?;
    let error = refusal(&result, "syntax_error");
    assert_eq!(error["line"], json!(1), "{error}");
    assert_eq!(error["column"], json!(11), "the column of `;` in the code given, not in the file it becomes: {error}");
    Ok(())
}

#[tokio::test]
async fn an_error_only_the_compiler_finds_has_its_line() -> Result<()> {
    let data = tempfile::tempdir()?;
    let host = start_host(Value::Null, Value::Null, Some(data.path())).await?;
    let result = host.call("save_skill", body("redeclared", "let a = 1;\nlet a = 2;\nreturn a;")).await?;
    let error = refusal(&result, "syntax_error");
    assert_eq!(error["line"], json!(2), "the line of the second `let a`: {error}");
    Ok(())
}

// ---- isolation and capabilities ------------------------------------------------------

#[tokio::test]
async fn each_call_runs_in_a_fresh_instance_that_sees_nothing_of_its_caller() -> Result<()> {
    let host = start_host(Value::Null, runtime(json!("all"), Value::Null), None).await?;
    let code = "(globalThis as any).callerSecret = 1; const { freshInstance } = await import('skills/fresh-instance'); return [await freshInstance({}), await freshInstance({})];";
    let response = host.execute(code).await?;
    let fresh = json!({"calls": 1, "callerGlobal": "undefined"});
    assert_eq!(expect_result(&response), &json!([fresh, fresh]));
    for _ in 0..2 {
        assert_eq!(value_of(&host.call("skill_fresh-instance", json!({})).await?)?, fresh);
    }
    Ok(())
}

#[tokio::test]
async fn skills_calling_skills_nest_a_bounded_depth() -> Result<()> {
    let host = start_host(Value::Null, runtime(json!("all"), Value::Null), None).await?;
    let response = host.execute("import recurse from 'skills/recurse'; return await recurse({ depth: 1 });").await?;
    assert_eq!(expect_result(&response), &json!({"deepest": 8, "kind": "tool_limit", "tool": "skills/recurse"}), "8 levels below the program");
    let as_tool = host.call("skill_recurse", json!({"depth": 0})).await?;
    assert_eq!(value_of(&as_tool)?, json!({"deepest": 8, "kind": "tool_limit", "tool": "skills/recurse"}), "the tool's run and 8 levels below it");
    Ok(())
}

/// What probe-secret reports when no way reaches `secret-store`.
fn all_denied(servers: Value, declared: &str) -> Value {
    json!({
        "exact": "capability_denied", "camelCase": "capability_denied", "compact": "capability_denied",
        "global": "capability_denied", "compactGlobal": "capability_denied", "dynamicImport": "capability_denied",
        "tools": "capability_denied", "servers": servers, "declared": declared,
    })
}

#[tokio::test]
async fn an_undeclared_server_is_denied_by_every_access_path_as_a_tool_and_imported() -> Result<()> {
    let host = host_with_test_servers(Value::Null).await?;
    let as_tool = host.call("skill_probe-secret", json!({})).await?;
    assert_eq!(value_of(&as_tool)?, all_denied(json!(["test"]), "reached"));
    let imported = host.execute("import probeSecret from 'skills/probe-secret'; return await probeSecret({});").await?;
    assert_eq!(expect_result(&imported), &all_denied(json!(["test"]), "reached"), "the caller's grant of secret-store is not lent");

    let static_tool = host.call("skill_import-secret", json!({})).await?;
    assert_eq!(static_tool.is_error, Some(true), "{}", text_of(&static_tool));
    assert!(text_of(&static_tool).contains("capability_denied"), "{}", text_of(&static_tool));
    let code = "import { importSecret } from 'skills/import-secret'; try { return await importSecret({}); } catch (e) { return [e.kind, e.tool]; }";
    let static_imported = host.execute(code).await?;
    assert_eq!(expect_result(&static_imported), &json!(["capability_denied", "skills/import-secret"]));

    assert_eq!(count_on(&host, "secret-store").await?, json!(1), "no call reached secret-store before this one");
    Ok(())
}

#[tokio::test]
async fn a_narrower_caller_narrows_the_skill() -> Result<()> {
    let host = host_with_test_servers(Value::Null).await?;
    let code = "import { countUp } from 'skills/count-up'; try { return await countUp({ times: 1 }); } catch (e) { return [e.kind, e.tool]; }";
    let narrowed = host.execute_with(json!({"code": code, "mcpServers": ["secret-store"]})).await?;
    assert_eq!(expect_result(&narrowed), &json!(["capability_denied", "skills/count-up"]), "{narrowed:#}");
    let probe = "import probeSecret from 'skills/probe-secret'; return await probeSecret({});";
    let probed = host.execute_with(json!({"code": probe, "mcpServers": ["secret-store"]})).await?;
    assert_eq!(expect_result(&probed), &all_denied(json!([]), "capability_denied"), "the skill sees neither server");

    let code = "const own = (await mcp.call('test', 'counter', {})).count; const { countUp } = await import('skills/count-up'); return [own, (await countUp({ times: 2 })).count];";
    let granted = host.execute_with(json!({"code": code, "mcpServers": ["test"], "stats": "full"})).await?;
    assert_eq!(expect_result(&granted), &json!([1, 3]), "nothing reached test before; the skill's calls did after");
    assert_eq!(granted["stats"]["toolCalls"]["test"]["calls"], json!(3), "the skill's calls are in the caller's stats: {granted:#}");
    assert_eq!(count_on(&host, "secret-store").await?, json!(1));
    Ok(())
}

#[tokio::test]
async fn the_configured_tool_policy_narrows_a_skill() -> Result<()> {
    let mut settings = runtime(json!("all"), Value::Null);
    settings["servers"] = json!({ "test": { "denyTools": ["counter"] } });
    let host = start_host(test_servers(), settings, None).await?;
    let as_tool = host.call("skill_count-up", json!({"times": 1})).await?;
    assert_eq!(as_tool.is_error, Some(true), "{}", text_of(&as_tool));
    assert!(text_of(&as_tool).contains("capability_denied"), "{}", text_of(&as_tool));
    let code = "import { countUp } from 'skills/count-up'; try { return await countUp({ times: 1 }); } catch (e) { return [e.kind, e.tool]; }";
    let imported = host.execute(code).await?;
    assert_eq!(expect_result(&imported), &json!(["capability_denied", "skills/count-up"]));
    Ok(())
}

#[tokio::test]
async fn the_callers_tool_call_limit_covers_the_skills_calls() -> Result<()> {
    let host = host_with_test_servers(json!({"maxToolCalls": 5})).await?;
    let code = r#"
import { countUp } from "skills/count-up";
for (let i = 0; i < 3; i++) await mcp.call("test", "counter", {});
try {
  await countUp({ times: 3 });
  return "not limited";
} catch (e) {
  return [e.kind, e.tool];
}
"#;
    let response = host.execute(code).await?;
    assert_eq!(expect_result(&response), &json!(["tool_limit", "skills/count-up"]), "{response:#}");
    assert_eq!(count_on(&host, "test").await?, json!(6), "3 calls of the program and 2 of the skill reached the server, then this one");
    Ok(())
}

#[tokio::test]
async fn the_callers_deadline_ends_a_skill_that_sleeps_or_spins() -> Result<()> {
    let host = start_host(Value::Null, runtime(json!("all"), Value::Null), None).await?;
    for code in [
        "import sleepForever from 'skills/sleep-forever'; return await sleepForever({});",
        "import { spin } from 'skills/spin'; return await spin({ rounds: 1e15 });",
    ] {
        let started = Instant::now();
        let response = host.execute_with(json!({"code": code, "timeout": 2000})).await?;
        expect_error(&response, "timeout");
        assert!(started.elapsed() < Duration::from_secs(30), "{code}: the run took {:?}", started.elapsed());
    }
    let after = host.execute("import addOne from 'skills/add-one'; return await addOne({ n: 1 });").await?;
    assert_eq!(expect_result(&after), &json!({"value": 2}), "the host is fine afterwards");
    Ok(())
}

/// Rounds of the spin loop that burn well under half of [`SMALL_FUEL`], and
/// more than half of it with the program's own loop of as many rounds.
const SPIN_ROUNDS: u64 = 2_000_000;
const SMALL_FUEL: u64 = 3_000_000_000;

#[tokio::test]
async fn a_skills_fuel_is_drawn_from_its_callers_budget() -> Result<()> {
    let host = start_host(Value::Null, runtime(json!("all"), json!({"fuel": SMALL_FUEL})), None).await?;
    let own_loop = format!("let sum = 0; for (let i = 0; i < {SPIN_ROUNDS}; i++) sum = (sum + i) % 1000003;");
    let full = |code: String| json!({ "code": code, "stats": "full" });
    let alone = host.execute_with(full(format!("{own_loop} return sum;"))).await?;
    expect_result(&alone);
    let skill_alone = host.execute_with(full(format!("import {{ spin }} from 'skills/spin'; return await spin({{ rounds: {SPIN_ROUNDS} }});"))).await?;
    expect_result(&skill_alone);
    let (program_fuel, skill_fuel) = (alone["stats"]["fuelUsed"].as_u64().context("fuelUsed")?, skill_alone["stats"]["fuelUsed"].as_u64().context("fuelUsed")?);
    println!("fuel: program's own loop {program_fuel}, the skill's loop through an import {skill_fuel}, budget {SMALL_FUEL}");
    assert!(skill_fuel > program_fuel / 2, "the skill's fuel counts in its caller's: {skill_fuel} vs a program's own loop {program_fuel}");
    assert!(program_fuel + skill_fuel > SMALL_FUEL, "calibration: {program_fuel} + {skill_fuel} must overrun {SMALL_FUEL}");

    let both = host.execute(&format!("import {{ spin }} from 'skills/spin'; {own_loop} return [sum, await spin({{ rounds: {SPIN_ROUNDS} }})];")).await?;
    assert_eq!(both["ok"], json!(false), "together they overrun the caller's budget: {both:#}");
    let kind = both["error"]["kind"].as_str().unwrap_or("");
    assert!(["fuel_exhausted", "tool_limit"].contains(&kind), "{both:#}");
    Ok(())
}

// ---- discovery, the CLI and token budgets ----------------------------------------------

#[tokio::test]
async fn search_and_describe_find_skills_beside_tools() -> Result<()> {
    let host = start_host(json!({ "test": test_server() }), runtime(json!("all"), Value::Null), None).await?;
    let found = host.call("search_tools", json!({"query": "add one to a number", "detail": "name", "limit": 5})).await?;
    let names: Vec<Value> = found.structured_content.clone().context("structured")?["tools"].as_array().context("tools")?.iter().map(|tool| tool["name"].clone()).collect();
    assert_eq!(names.first(), Some(&json!("skills/add-one")), "{names:?}");
    let described = host.call("describe_tools", json!({"names": ["skills/add-one", "test.echo"]})).await?;
    let text = text_of(&described);
    assert!(text.contains("declare module \"skills/add-one\"") && text.contains("declare module \"mcp://test\""), "{text}");

    let code = r#"
const found = await mcp.search("busy loop rounds checksum", { detail: "name", limit: 3 });
const declaration = await mcp.describe("skills/spin");
return { first: found[0].name, declared: declaration.includes('declare module "skills/spin"') };
"#;
    let response = host.execute(code).await?;
    assert_eq!(expect_result(&response), &json!({"first": "skills/spin", "declared": true}));
    Ok(())
}

#[test]
fn skills_docs_list_name_description_servers_parameters_and_example() -> Result<()> {
    let home = tempfile::tempdir()?;
    let config = write_config(home.path(), &fixtures())?;
    let output = cli(&["skills", "docs", "--config", config.to_str().context("utf-8")?], home.path())?;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let docs = String::from_utf8(output.stdout)?;
    for expected in [
        "## Add one",
        "`add-one` — tool `skill_add-one`, import `skills/add-one`",
        "**Description:** Adds one to a number.",
        "**Token Reduction:** none: a test fixture",
        "**Required MCP Servers:** (none)",
        "- `n`: number (required) — The number to add one to",
        "await addOne({ n: 41 }) // { value: 42 }",
        "**Description:** Stores people as entities of type person",
        "**Required MCP Servers:** memory",
        "- `names`: array (required)",
        "knowledge-graph-report",
    ] {
        assert!(docs.contains(expected), "{expected:?} missing from:\n{docs}");
    }
    let listed = cli(&["skills", "list", "--config", config.to_str().context("utf-8")?], home.path())?;
    let listed = String::from_utf8(listed.stdout)?;
    assert!(listed.lines().any(|line| line.starts_with("count-up\t") && line.contains("test")), "{listed}");
    let shown = cli(&["skills", "show", "add-two", "--config", config.to_str().context("utf-8")?], home.path())?;
    let shown = String::from_utf8(shown.stdout)?;
    assert!(shown.contains("declare module \"skills/add-two\"") && shown.contains("import addOne from \"./add-one.ts\""), "{shown}");
    Ok(())
}

#[test]
fn skills_build_fails_on_a_broken_skill_with_its_file_and_line() -> Result<()> {
    let home = tempfile::tempdir()?;
    let folder = tempfile::tempdir()?;
    std::fs::copy(fixtures().join("add-one.ts"), folder.path().join("add-one.ts"))?;
    let broken = folder.path().join("broken.ts");
    std::fs::write(
        &broken,
        "export const meta = {\n  name: \"broken\",\n  description: \"Does not parse.\",\n  servers: [],\n  input: { type: \"object\" },\n  examples: [],\n};\nexport default async function broken() {\n  return 1 +;\n}\n",
    )?;
    let config = write_config(home.path(), folder.path())?;
    let output = cli(&["skills", "build", "--config", config.to_str().context("utf-8")?], home.path())?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a broken skill fails the build: {stderr}");
    let line = stderr.lines().find(|line| line.starts_with("error: ")).unwrap_or_default();
    assert!(line.contains(&format!("{}:", broken.display())) && line.contains("line 9"), "{stderr}");

    std::fs::remove_file(&broken)?;
    let output = cli(&["skills", "build", "--config", config.to_str().context("utf-8")?], home.path())?;
    assert!(output.status.success(), "without it the build passes: {}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

#[tokio::test]
async fn core_tools_and_each_skill_tool_stay_within_their_token_budgets() -> Result<()> {
    let host = start_host(Value::Null, runtime(json!("all"), Value::Null), None).await?;
    let listed = tools(&host).await?;
    let tokenizer = tiktoken_rs::cl100k_base()?;
    let count = |value: &Value| -> Result<usize> { Ok(tokenizer.encode_with_special_tokens(&serde_json::to_string(value)?).len()) };
    let (skills, core): (Vec<&Tool>, Vec<&Tool>) = listed.iter().partition(|tool| tool.name.starts_with("skill_"));
    let mut core_names: Vec<&str> = core.iter().map(|tool| tool.name.as_ref()).collect();
    core_names.sort_unstable();
    assert_eq!(core_names, ["delete_skill", "describe_tools", "execute_code", "list_mcp_servers", "runtime_stats", "save_skill", "search_tools"]);
    let core_tokens = count(&json!({ "tools": core }))?;
    println!("core tools: {core_tokens} tokens");
    for tool in &core {
        println!("  {}: {} tokens", tool.name, count(&serde_json::to_value(tool)?)?);
    }
    assert!(core_tokens < 1500, "the core tools are {core_tokens} tokens");
    let fixtures = std::fs::read_dir(fixtures())?.count();
    assert!(skills.len() > fixtures, "every fixture skill and the built-in ones are listed: {}", skills.len());
    for tool in skills {
        let tokens = count(&serde_json::to_value(tool)?)?;
        println!("{}: {tokens} tokens", tool.name);
        assert!(tokens <= 300, "{} is {tokens} tokens", tool.name);
    }
    Ok(())
}

#[tokio::test]
async fn a_skill_without_an_output_schema_is_held_to_the_token_budget() -> Result<()> {
    let folder = tempfile::tempdir()?;
    let big = "export const meta = { name: \"big\", description: \"Returns a lot.\", servers: [], input: { type: \"object\" }, examples: [\"big({})\"] } as const;\n\
               export default async function big() { return Array.from({ length: 20000 }, (_, i) => `line ${i}`); }\n";
    std::fs::write(folder.path().join("big.ts"), big)?;
    let host = start_host(Value::Null, json!({ "skills": { "directory": folder.path() } }), None).await?;
    let result = host.call("skill_big", json!({})).await?;
    assert_eq!(result.is_error, Some(false), "{}", text_of(&result));
    let text = text_of(&result);
    assert!(text.contains("line 0") && text.contains("line 19999") && text.len() < 40_000, "a head-and-tail preview: {} bytes", text.len());
    let link = result.content.iter().find_map(|block| block.as_resource_link()).context("a resource_link to the whole result")?;
    assert!(link.uri.starts_with("mcp-code-runtime://results/"), "{}", link.uri);
    Ok(())
}

#[tokio::test]
async fn a_skills_input_is_held_to_the_argument_limit_before_the_host_parses_it() -> Result<()> {
    let host = host_with_test_servers(json!({ "maxToolArgumentBytes": 1000 })).await?;
    let code = r#"
import { addOne } from "skills/add-one";
const small = await addOne({ n: 1 });
try { await addOne({ n: 1, padding: "x".repeat(5000) }); return "accepted"; } catch (e) { return [small.value, e.kind, e.message]; }
"#;
    let response = host.execute(code).await?;
    let result = expect_result(&response);
    assert_eq!((&result[0], &result[1]), (&json!(2), &json!("tool_limit")), "{response:#}");
    assert!(result[2].as_str().unwrap_or_default().contains("over the limit of 1000 bytes"), "{response:#}");
    Ok(())
}
