//! The skills and workflows of the seed servers when things go wrong, against
//! the real servers of `config/seed-servers.json` on a scratch copy of the
//! example project: a server killed while a skill waits on it (the run ends
//! with a structured error, the host keeps answering and restarts the server,
//! and what the workflow did before stays done), task-master tools that need an
//! API key (a structured error naming the key, nothing written), and an empty
//! project (no tasks, no diagnostics, no pages: empty results, not errors).
//! Nothing here contacts anything but loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::seed_servers::{Seed, Site};
use crate::seed_site::{read_head, wait_for_request};
use crate::seed_skills_tasks::call_skill;
use crate::seed_workflows::{site_audit_for, tasks_on_disk};
use crate::util::expect_error;

/// A run's time limit: the first call of a server starts it (task-master takes about 3 s, Chromium more).
const RUN_TIMEOUT_MS: u64 = 240_000;
/// A page with nothing wrong: a language, no images, no favicon request.
const BLANK_PAGE: &str = "<!doctype html><html lang=\"en\"><head><title>Empty</title><link rel=\"icon\" href=\"data:,\"></head><body></body></html>";
/// A page whose image never arrives, so navigating to it waits.
const STALLED_PAGE: &str = "<!doctype html><html lang=\"en\"><head><title>Slow</title><link rel=\"icon\" href=\"data:,\"></head><body><img alt=\"\" src=\"/stall.png\"></body></html>";

/// A loopback server of `/blank.html` and `/stalled.html`, whose `/stall.png` is
/// never answered (the connection is held open); records the paths asked for.
struct Pages {
    port: u16,
    requested: Arc<Mutex<Vec<String>>>,
}

impl Pages {
    async fn serve() -> Result<Pages> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let requested = Arc::new(Mutex::new(Vec::new()));
        let log = requested.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, log.clone()));
            }
        });
        Ok(Pages { port, requested })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until `path` was asked for, up to a generous bound.
    async fn wait_for(&self, path: &str) -> bool {
        wait_for_request(&self.requested, path, Duration::from_secs(180)).await
    }
}

/// Answers one request (its head at most 16 KiB): a page, a 404, or, for `/stall.png`, nothing until the client leaves.
async fn answer(mut stream: TcpStream, log: Arc<Mutex<Vec<String>>>) {
    let Some(head) = read_head(&mut stream).await else { return };
    let path = String::from_utf8_lossy(&head).split_whitespace().nth(1).unwrap_or("/").to_owned();
    log.lock().unwrap().push(path.clone());
    let (status, body) = match path.as_str() {
        "/stall.png" => {
            // Held until the browser gives up or dies.
            let mut buffer = [0u8; 4096];
            while !matches!(stream.read(&mut buffer).await, Ok(0) | Err(_)) {}
            return;
        }
        "/blank.html" => ("200 OK", BLANK_PAGE),
        "/stalled.html" => ("200 OK", STALLED_PAGE),
        _ => ("404 Not Found", "not found"),
    };
    let reply = format!("HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// `(ppid, pgrp)` of a live process, from /proc.
fn parent_and_group(pid: u32) -> Option<(u32, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit(')').next()?.split_whitespace().skip(1);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// The process group of the downstream server under `host` whose command line names `server`
/// (the first such process below the host: its children, such as Chromium, come later).
fn server_group(host: u32, server: &str) -> Result<u32> {
    let processes: Vec<(u32, u32, u32)> = std::fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| parent_and_group(pid).map(|(ppid, pgrp)| (pid, ppid, pgrp)))
        .collect();
    let mut level = vec![host];
    while !level.is_empty() {
        let children: Vec<(u32, u32)> = processes.iter().filter(|(_, ppid, _)| level.contains(ppid)).map(|(pid, _, pgrp)| (*pid, *pgrp)).collect();
        for (pid, pgrp) in &children {
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&command).contains(server) {
                anyhow::ensure!(pgrp == pid, "the host starts {server} in a process group of its own");
                return Ok(*pgrp);
            }
        }
        level = children.into_iter().map(|(pid, _)| pid).collect();
    }
    bail!("no process of {server} under the host {host}")
}

/// The titles of the tasks in the project's task file.
fn task_titles(seed: &Seed) -> Result<Vec<String>> {
    Ok(tasks_on_disk(&seed.project)?.into_iter().map(|task| task.1).collect())
}

#[tokio::test]
async fn chrome_devtools_killed_while_a_skill_waits_ends_the_run_with_a_transport_error_and_keeps_the_tasks_filed_before() -> Result<()> {
    let seed = Seed::start().await?;
    let pages = Pages::serve().await?;
    let stalled = pages.url("/stalled.html");
    let program = format!(
        "import {{ diagnosticsToTasks }} from \"skills/diagnostics-to-tasks\";
         import {{ webTesting }} from \"skills/web-testing\";
         const development = await diagnosticsToTasks({{ maxTasks: 10 }});
         const page = await webTesting({{ url: {stalled:?} }});
         return {{ development, page }};"
    );
    let run = seed.host.execute_with(json!({ "code": program, "timeout": RUN_TIMEOUT_MS }));
    let kill = async {
        // The browser is waiting on the image: navigate_page has not answered yet.
        anyhow::ensure!(pages.wait_for("/stall.png").await, "the browser never asked for the image: {:?}", pages.requested.lock().unwrap());
        let group = server_group(seed.host.pid, "chrome-devtools-mcp")?;
        // SAFETY: kill(2) on the process group the host started for chrome-devtools (checked above); no memory is involved.
        anyhow::ensure!(unsafe { libc::kill(-(group as i32), libc::SIGKILL) } == 0, "kill: {}", std::io::Error::last_os_error());
        Ok(())
    };
    let (response, killed) = tokio::join!(run, kill);
    killed?;
    let response = response?;
    let error = expect_error(&response, "transport_error");
    let message = error["message"].as_str().context("message")?;
    assert!(message.contains("skill `web-testing` failed"), "the error names the skill: {message}");
    assert!(message.contains("server `chrome-devtools` failed during the request"), "and the server: {message}");
    assert_eq!(error["line"], json!(4), "and the program's line: {error:#}");

    // What the workflow did before is done: the two files with type errors have their tasks.
    let titles = task_titles(&seed)?;
    assert_eq!(titles.len(), 7, "{titles:#?}");
    assert!(titles.contains(&"Fix diagnostics in src/api/contact.ts".to_owned()) && titles.contains(&"Fix diagnostics in src/contact/validate.ts".to_owned()));

    // The host keeps answering, and the next use of chrome-devtools starts it again.
    let triage = call_skill(&seed, "task-triage-report", json!({ "projectRoot": seed.project.display().to_string() })).await?;
    assert_eq!((&triage["total"], &triage["open"]), (&json!(7), &json!(6)), "{triage:#}");
    let site = Site::serve(seed.project.join("site")).await?;
    let page = call_skill(&seed, "web-testing", json!({ "url": format!("http://127.0.0.1:{}/index.html", site.port), "checks": ["console"] })).await?;
    assert_eq!(page["passed"], json!(false), "the restarted browser sees the page's console errors: {page:#}");
    assert!(site.wait_for("/api/contact/topics").await);
    Ok(())
}

#[tokio::test]
async fn task_master_tools_that_need_an_api_key_fail_with_an_error_naming_the_key_and_write_nothing() -> Result<()> {
    let seed = Seed::start().await?;
    std::fs::create_dir_all(seed.project.join(".taskmaster/docs"))?;
    std::fs::write(seed.project.join(".taskmaster/docs/prd.txt"), "Add a captcha to the contact form.\n")?;
    let before = tasks_on_disk(&seed.project)?;
    let caught = seed
        .run(&format!(
            "const projectRoot = {:?};
             const calls = [
               [\"add_task\", {{ projectRoot, prompt: \"Add a captcha to the contact form\" }}],
               [\"expand_task\", {{ projectRoot, id: \"3\" }}],
               [\"parse_prd\", {{ projectRoot, input: \".taskmaster/docs/prd.txt\", force: true }}],
             ];
             const errors = [];
             for (const [tool, args] of calls) {{
               try {{ await mcp.call(\"task-master\", tool, args); errors.push(null); }}
               catch (e) {{ errors.push({{ kind: e.kind, server: e.server, tool: e.tool, message: e.message }}); }}
             }}
             return errors;",
            seed.project.display()
        ))
        .await?;
    for (error, tool) in caught.as_array().context("errors")?.iter().zip(["add_task", "expand_task", "parse_prd"]) {
        assert_eq!((&error["kind"], &error["server"], &error["tool"]), (&json!("tool_error"), &json!("task-master"), &json!(tool)), "{error:#}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains("Required API key") && message.contains("is not set"), "{tool}: {message}");
    }
    // task-master may write the file again (ids as numbers), but its tasks are as they were: parse_prd with force replaced nothing.
    assert_eq!(tasks_on_disk(&seed.project)?, before);

    // Uncaught, the run's error says the same, with the line of the call.
    let response = seed
        .host
        .execute_with(json!({
            "code": format!("const taskmaster = await import(\"mcp://task-master\");\nawait taskmaster.addTask({{ projectRoot: {:?}, prompt: \"x\" }});", seed.project.display()),
            "timeout": RUN_TIMEOUT_MS,
        }))
        .await?;
    let error = expect_error(&response, "tool_error");
    assert!(error["message"].as_str().is_some_and(|message| message.contains("Required API key")), "{error:#}");
    assert_eq!(error["line"], json!(2), "{error:#}");
    assert_eq!(tasks_on_disk(&seed.project)?, before);

    // The task skills say in their descriptions whether they need a key.
    let tools = seed.host.client.list_all_tools().await?;
    for name in ["skill_diagnostics-to-tasks", "skill_bulk-task-operations", "skill_task-triage-report", "skill_task-dependency-graph"] {
        let tool = tools.iter().find(|tool| tool.name == name).with_context(|| format!("{name} is listed"))?;
        let description = tool.description.as_deref().unwrap_or_default();
        assert!(description.contains("API key"), "{name} says whether it needs an API key: {description}");
    }
    Ok(())
}

#[tokio::test]
async fn an_empty_project_gives_empty_results_not_errors() -> Result<()> {
    let seed = Seed::start().await?;
    let project = seed.project.display().to_string();
    // No task file, and TypeScript without problems.
    std::fs::remove_dir_all(seed.project.join(".taskmaster/tasks"))?;
    std::fs::remove_dir_all(seed.project.join("src"))?;
    std::fs::create_dir(seed.project.join("src"))?;
    std::fs::write(seed.project.join("src/index.ts"), "export const answer: number = 42;\n")?;

    let diagnostics = call_skill(&seed, "diagnostics-to-tasks", json!({ "severity": "all" })).await?;
    assert_eq!(
        diagnostics,
        json!({ "tasksCreated": 0, "created": [], "failed": [], "skipped": [], "summary": "Created 0 task(s) from 0 diagnostic(s) in 0 file(s); 0 skipped, 0 failed" })
    );
    let bulk = call_skill(&seed, "bulk-task-operations", json!({ "projectRoot": project, "operation": "set-status", "filter": { "status": "pending" }, "status": "done" })).await?;
    assert_eq!(bulk, json!({ "operation": "set-status", "matched": 0, "succeeded": [], "skipped": [], "failed": [] }));

    // No pages to audit, and a page with nothing wrong.
    let audit = call_skill(&seed, "site-audit", json!({ "urls": [] })).await?;
    assert_eq!(audit, json!({ "passed": true, "pages": [], "worst": [] }));
    let pages = Pages::serve().await?;
    let blank = pages.url("/blank.html");
    let page = call_skill(&seed, "web-testing", json!({ "url": blank, "checks": ["console", "network", "accessibility"] })).await?;
    assert_eq!((&page["passed"], &page["issues"]), (&json!(true), &json!([])), "{page:#}");
    assert_eq!(page["counts"], json!({ "console": 0, "network": 0, "accessibility": 0 }));
    assert!(pages.requested.lock().unwrap().contains(&"/blank.html".to_owned()));

    // The site-audit workflow on it: nothing to file.
    let report = seed.run(&site_audit_for(&blank)?).await?;
    assert_eq!(report["production"]["passed"], json!(true), "{report:#}");
    assert_eq!((&report["production"]["criticalIssues"], &report["totalTasksCreated"]), (&json!(0), &json!(0)), "{report:#}");
    assert!(!seed.project.join(".taskmaster/tasks/tasks.json").exists(), "no task file was written");
    Ok(())
}
