//! The plan's six servers, live: the host started with `config/seed-servers.json`
//! as shipped, on a scratch copy of `examples/seed-project/` (so no test changes the
//! repository), calling each server from a program and checking what the server
//! really holds: the example's type errors at their lines, its task file on disk,
//! the console of a page served here on loopback, its implementation logs.
//! Nothing here contacts anything but loopback.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tempfile::TempDir;

pub(crate) use crate::seed_site::Site;
use crate::seed_site::copy_dir;
use crate::util::{Host, HostOptions, expect_result, tests_dir};

/// A run's time limit: the first call of a server starts it (task-master takes about 3 s, Chromium more).
const RUN_TIMEOUT_MS: u64 = 240_000;

/// The host on a scratch copy of the example project, with the seed config as shipped.
pub(crate) struct Seed {
    pub(crate) host: Host,
    /// The scratch copy of `examples/seed-project/`.
    pub(crate) project: PathBuf,
    _scratch: TempDir,
}

impl Seed {
    pub(crate) async fn start() -> Result<Seed> {
        let scratch = tempfile::tempdir()?;
        let project = scratch.path().join("seed-project");
        copy_dir(&repository_root().join("examples/seed-project"), &project)?;
        let home = scratch.path().join("home");
        let config: Value = serde_json::from_slice(&std::fs::read(repository_root().join("config/seed-servers.json"))?)?;
        let options = HostOptions {
            servers: config["mcpServers"].clone(),
            runtime: config["codeRuntime"].clone(),
            env: vec![
                ("MCP_CODE_RUNTIME_ROOT".into(), repository_root().display().to_string()),
                ("SEED_PROJECT".into(), project.display().to_string()),
                ("SEED_HOME".into(), home.display().to_string()),
            ],
            ..Default::default()
        };
        let host = Host::start_with(options).await?;
        Ok(Seed { host, project, _scratch: scratch })
    }

    /// Runs `code` with room for the servers to start, and returns its result.
    pub(crate) async fn run(&self, code: &str) -> Result<Value> {
        let response = self.host.execute_with(json!({ "code": code, "timeout": RUN_TIMEOUT_MS })).await?;
        Ok(expect_result(&response).clone())
    }

    fn tasks_on_disk(&self) -> Result<Value> {
        Ok(serde_json::from_slice(&std::fs::read(self.project.join(".taskmaster/tasks/tasks.json"))?)?)
    }
}

fn repository_root() -> PathBuf {
    tests_dir().parent().expect("tests/ is in the repository").to_path_buf()
}

#[tokio::test]
async fn the_six_servers_start_from_the_seed_config_with_their_tools() -> Result<()> {
    let seed = Seed::start().await?;
    let listing = seed.host.call("list_mcp_servers", json!({})).await?;
    let servers = listing.structured_content.clone().context("structured listing")?["servers"].clone();
    let names: Vec<&str> = servers.as_array().unwrap().iter().map(|server| server["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["task-master", "chrome-devtools", "spec-workflow", "shadcn", "sequential-thinking", "ide"]);
    let tools = |name: &str| -> BTreeSet<String> {
        let server = servers.as_array().unwrap().iter().find(|server| server["name"] == json!(name)).unwrap();
        assert_eq!(server["state"], json!("running"), "{server:#}");
        server["tools"].as_array().unwrap().iter().map(|tool| tool["name"].as_str().unwrap().to_owned()).collect()
    };
    let expect = |name: &str, wanted: &[&str], hidden: &[&str]| {
        let tools = tools(name);
        for tool in wanted {
            assert!(tools.contains(*tool), "{name} lacks {tool}: {tools:?}");
        }
        for tool in hidden {
            assert!(!tools.contains(*tool), "{name} shows {tool}, which the seed config denies: {tools:?}");
        }
    };
    expect("task-master", &["get_tasks", "set_task_status", "add_task", "add_dependency", "next_task"], &[]);
    expect("chrome-devtools", &["navigate_page", "list_console_messages", "list_network_requests", "take_snapshot", "fill_form"], &[]);
    expect("spec-workflow", &["read_text_file", "list_directory", "directory_tree", "list_allowed_directories"], &["write_file", "edit_file", "move_file"]);
    expect("shadcn", &["get_project_registries", "get_add_command_for_items", "get_audit_checklist"], &["list_items_in_registries", "view_items_in_registries"]);
    expect("sequential-thinking", &["sequentialthinking"], &[]);
    expect("ide", &["getDiagnostics", "getWorkspaceFolders", "getProjectFiles", "getDefinition", "findReferences", "getHover"], &[]);
    assert_eq!(tools("task-master").len(), 44, "TASK_MASTER_TOOLS=all");
    Ok(())
}

/// `(file relative to src/, zero-based line, code, severity)` of every diagnostic of `files`.
fn diagnostics_by_line(files: &Value, project: &Path) -> Vec<(String, u64, u64, String)> {
    let prefix = format!("file://{}/", project.display());
    let mut found = Vec::new();
    for file in files.as_array().expect("an array per file") {
        let path = file["uri"].as_str().unwrap().strip_prefix(&prefix).unwrap_or_else(|| panic!("{file}")).to_owned();
        for diagnostic in file["diagnostics"].as_array().unwrap() {
            assert_eq!(diagnostic["source"], json!("ts"), "{diagnostic}");
            assert!(diagnostic["message"].as_str().is_some_and(|message| !message.is_empty()), "{diagnostic}");
            found.push((
                path.clone(),
                diagnostic["range"]["start"]["line"].as_u64().unwrap(),
                diagnostic["code"].as_u64().unwrap(),
                diagnostic["severity"].as_str().unwrap().to_owned(),
            ));
        }
    }
    found.sort();
    found
}

fn diagnostic(path: &str, line: u64, code: u64, severity: &str) -> (String, u64, u64, String) {
    (path.to_owned(), line, code, severity.to_owned())
}

#[tokio::test]
async fn ide_serves_the_compilers_diagnostics_of_the_project_as_it_is_on_disk() -> Result<()> {
    let seed = Seed::start().await?;
    let project = seed.project.clone();
    let all = seed.run("const ide = await import(\"mcp://ide\"); return await ide.getDiagnostics({});").await?;
    // The lines `tsc` prints, less one: src/api/contact.ts(4,7), (18,61); src/contact/validate.ts(14,26), (27,19).
    assert_eq!(
        diagnostics_by_line(&all, &project),
        [
            diagnostic("src/api/contact.ts", 3, 2322, "Error"),
            diagnostic("src/api/contact.ts", 17, 2551, "Error"),
            diagnostic("src/contact/validate.ts", 13, 2345, "Error"),
            diagnostic("src/contact/validate.ts", 26, 2322, "Error"),
            diagnostic("src/index.ts", 1, 6133, "Hint"),
        ]
    );
    let typo = all.as_array().unwrap().iter().flat_map(|file| file["diagnostics"].as_array().unwrap()).find(|d| d["code"] == json!(2551)).unwrap();
    assert_eq!(typo["range"], json!({"start": {"line": 17, "character": 60}, "end": {"line": 17, "character": 66}}));
    assert_eq!(typo["message"], json!("Property 'mesage' does not exist on type 'ValidationError'. Did you mean 'message'?"));

    // One file by path: a clean one is listed with no diagnostics; a file outside the project is a tool error.
    let one = seed
        .run(
            "const ide = await import(\"mcp://ide\");
             const clean = await ide.getDiagnostics({ uri: \"src/contact/model.ts\" });
             let missing;
             try { await ide.getDiagnostics({ uri: \"src/nowhere.ts\" }); } catch (e) { missing = [e.kind, e.message]; }
             return { clean, missing };",
        )
        .await?;
    assert_eq!(one["clean"], json!([{ "uri": format!("file://{}/src/contact/model.ts", project.display()), "diagnostics": [] }]));
    assert_eq!(one["missing"][0], json!("tool_error"));
    assert!(one["missing"][1].as_str().unwrap().contains("src/nowhere.ts: no such file"), "{one}");

    // Navigation over the same program: the references of TOPICS (declared in model.ts line 3).
    let references = seed
        .run(
            "const ide = await import(\"mcp://ide\");
             const { references } = await ide.findReferences({ uri: \"src/contact/model.ts\", line: 3, character: 14 });
             const { hover } = await ide.getHover({ uri: \"src/api/contact.ts\", line: 3, character: 8 });
             return { files: references.map((r: any) => r.uri.split(\"/src/\")[1] + \":\" + r.range.start.line).sort(), hover: hover.contents };",
        )
        .await?;
    assert_eq!(references["files"], json!(["contact/model.ts:3", "contact/validate.ts:0", "contact/validate.ts:13", "index.ts:1"]));
    assert_eq!(references["hover"], json!("const MAX_MESSAGES_PER_HOUR: number"));

    // The server follows the disk: fix one error, break the tsconfig.
    let contact = project.join("src/api/contact.ts");
    let fixed = std::fs::read_to_string(&contact)?.replace("number = \"5\"", "number = 5");
    std::fs::write(&contact, fixed)?;
    let tsconfig = project.join("tsconfig.json");
    let broken = std::fs::read_to_string(&tsconfig)?.replace("\"strict\": true,", "\"strict\": true,\n    \"baseUrl\": \".\",");
    let base_url_line = broken.lines().position(|line| line.contains("baseUrl")).unwrap() as u64;
    std::fs::write(&tsconfig, broken)?;
    let after = seed.run("const ide = await import(\"mcp://ide\"); return await ide.getDiagnostics({});").await?;
    let after_lines = diagnostics_by_line(&after, &project);
    assert!(!after_lines.contains(&diagnostic("src/api/contact.ts", 3, 2322, "Error")), "{after:#}");
    assert!(after_lines.contains(&diagnostic("src/api/contact.ts", 17, 2551, "Error")), "{after:#}");
    assert!(after_lines.contains(&diagnostic("tsconfig.json", base_url_line, 5101, "Error")), "baseUrl is deprecated in TypeScript 6: {after:#}");
    let config_only = seed.run("const ide = await import(\"mcp://ide\"); return await ide.getDiagnostics({ uri: \"tsconfig.json\" });").await?;
    assert_eq!(diagnostics_by_line(&config_only, &project), [diagnostic("tsconfig.json", base_url_line, 5101, "Error")]);
    Ok(())
}

#[test]
fn the_ide_server_refuses_to_start_without_a_typescript_project() -> Result<()> {
    let missing = tempfile::tempdir()?;
    let output = std::process::Command::new("node")
        .arg(repository_root().join("servers/ide/src/main.js"))
        .arg("--project")
        .arg(missing.path())
        .output()?;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("no TypeScript project at {}", missing.path().display())), "{stderr}");
    let usage = std::process::Command::new("node").arg(repository_root().join("servers/ide/src/main.js")).output()?;
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--project is required"));
    Ok(())
}

#[tokio::test]
async fn task_master_reads_the_example_tasks_and_writes_a_status_to_the_task_file() -> Result<()> {
    let seed = Seed::start().await?;
    assert_eq!(seed.tasks_on_disk()?["master"]["tasks"][2]["status"], json!("pending"));
    let result = seed
        .run(
            "const ide = await import(\"mcp://ide\");
             const taskmaster = await import(\"mcp://task-master\");
             const { rootPath } = await ide.getWorkspaceFolders({});
             const listed = await taskmaster.getTasks({ projectRoot: rootPath });
             await taskmaster.setTaskStatus({ projectRoot: rootPath, id: \"3\", status: \"done\" });
             return listed.data.tasks.map((t: any) => [t.id, t.status, t.title]);",
        )
        .await?;
    assert_eq!(
        result,
        json!([
            ["1", "done", "Contact form model"],
            ["2", "in-progress", "Validate contact messages"],
            ["3", "pending", "Rate-limit POST /api/contact"],
            ["4", "pending", "Newsletter opt-in"],
            ["5", "pending", "Accessibility pass on the form"],
        ])
    );
    let on_disk = seed.tasks_on_disk()?;
    assert_eq!(on_disk["master"]["tasks"][2]["id"], json!("3"));
    assert_eq!(on_disk["master"]["tasks"][2]["status"], json!("done"), "{on_disk:#}");
    Ok(())
}

#[tokio::test]
async fn chrome_devtools_shows_the_console_error_of_a_page_served_on_loopback() -> Result<()> {
    let seed = Seed::start().await?;
    let site = Site::serve(seed.project.join("site")).await?;
    let url = format!("http://127.0.0.1:{}/index.html", site.port);
    let result = seed
        .run(&format!(
            "const chrome = await import(\"mcp://chrome-devtools\");
             const navigated = await chrome.navigatePage({{ pageId: 1, type: \"url\", url: {url:?} }});
             const messages: string = await chrome.listConsoleMessages({{ pageId: 1 }});
             return {{ navigated, errors: messages.split(\"\\n\").filter((line) => line.includes(\"[error]\")) }};"
        ))
        .await?;
    assert!(result["navigated"].as_str().unwrap().contains(&format!("Successfully navigated to {url}")), "{result:#}");
    let errors = result["errors"].as_array().unwrap();
    assert!(errors.iter().any(|line| line.as_str().unwrap().contains("Contact form: no topics to choose from")), "{result:#}");
    // The page's script asked this server for the missing endpoint: the browser really ran it.
    assert!(site.requested.lock().unwrap().contains(&"/app.js".to_owned()));
    assert!(site.wait_for("/api/contact/topics").await, "requested: {:?}", site.requested.lock().unwrap());
    Ok(())
}

#[tokio::test]
async fn sequential_thinking_keeps_the_thoughts_of_a_run() -> Result<()> {
    let seed = Seed::start().await?;
    let result = seed
        .run(
            "const thinking = await import(\"mcp://sequential-thinking\");
             const first = await thinking.sequentialthinking({ thought: \"List the failing checks.\", thoughtNumber: 1, totalThoughts: 2, nextThoughtNeeded: true });
             const second = await thinking.sequentialthinking({ thought: \"Fix the type errors first.\", thoughtNumber: 2, totalThoughts: 2, nextThoughtNeeded: false });
             return [first, second];",
        )
        .await?;
    assert_eq!(result[0]["thoughtHistoryLength"], json!(1), "{result:#}");
    assert_eq!(result[1]["thoughtHistoryLength"], json!(2), "{result:#}");
    assert_eq!(result[1]["nextThoughtNeeded"], json!(false), "{result:#}");
    Ok(())
}

#[tokio::test]
async fn the_spec_workflow_stand_in_reads_implementation_logs_and_writes_nothing() -> Result<()> {
    let seed = Seed::start().await?;
    let result = seed
        .run(
            "const specs = await import(\"mcp://spec-workflow\");
             const allowed = await specs.listAllowedDirectories({});
             const root = allowed.content.split(\"\\n\")[1];
             const dir = `${root}/specs/contact-form-enhancement/Implementation Logs`;
             const listing = await specs.listDirectory({ path: dir });
             const logs = listing.content.split(\"\\n\").map((line: string) => line.replace(/^\\[FILE\\] /, \"\")).filter((name: string) => name.startsWith(\"task-1-3_\"));
             const log = await specs.readTextFile({ path: `${dir}/${logs[0]}` });
             let write;
             try { await mcp.call(\"spec-workflow\", \"write_file\", { path: `${root}/x.md`, content: \"x\" }); } catch (e) { write = e.kind; }
             return { root, log: log.content, write };",
        )
        .await?;
    assert_eq!(result["root"], json!(seed.project.join(".spec-workflow").display().to_string()));
    let log = result["log"].as_str().unwrap();
    assert!(log.starts_with("# Implementation Log: Task 1.3"), "{log}");
    assert!(log.contains("#### POST /api/contact"), "{log}");
    assert_eq!(result["write"], json!("capability_denied"));
    assert!(!seed.project.join(".spec-workflow/x.md").exists());
    Ok(())
}

#[tokio::test]
async fn shadcn_answers_offline_from_the_projects_components_json() -> Result<()> {
    let seed = Seed::start().await?;
    let result = seed
        .run(
            "const shadcn = await import(\"mcp://shadcn\");
             const registries = await shadcn.getProjectRegistries({});
             const command = await shadcn.getAddCommandForItems({ items: [\"@shadcn/button\"] });
             let listing;
             try { await mcp.call(\"shadcn\", \"list_items_in_registries\", {}); } catch (e) { listing = e.kind; }
             return { registries, command, listing };",
        )
        .await?;
    assert!(result["registries"].as_str().unwrap().contains("- @shadcn"), "{result:#}");
    assert_eq!(result["command"], json!("npx shadcn@latest add @shadcn/button"));
    assert_eq!(result["listing"], json!("capability_denied"), "the registry tools are left out: {result:#}");

    // Without components.json there is no registry: the answer above came from the project.
    std::fs::remove_file(seed.project.join("components.json"))?;
    let without = seed.run("const shadcn = await import(\"mcp://shadcn\"); return await shadcn.getProjectRegistries({});").await?;
    assert!(!without.as_str().unwrap().contains("- @shadcn"), "{without:#}");
    Ok(())
}
