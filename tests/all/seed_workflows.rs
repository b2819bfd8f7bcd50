//! The plan's appendix workflows as the programs in `examples/workflows/`, run
//! as a user would (`mcp-code-runtime run <file> --config config/seed-servers.json`)
//! and through `execute_code`, against the real servers of the seed config on a
//! scratch copy of the example project, checked against what the downstream
//! side holds afterwards (the tasks in task-master's task file, the pages the
//! site served, the spec files read); and the cache the plan's caching layer
//! puts in front of web tests (a second test of a page opens nothing).
//! Nothing here contacts anything but loopback.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use crate::seed_servers::{Seed, Site};
use crate::util::{expect_result, host_binary, shared_cache_dir, tests_dir};

/// A run's time limit: the first call of a server starts it (task-master takes about 3 s, Chromium more).
const RUN_TIMEOUT_MS: u64 = 240_000;

/// The repository checkout.
fn repository_root() -> PathBuf {
    tests_dir().parent().expect("tests/ is in the repository").to_path_buf()
}

/// `examples/workflows/<name>` as shipped.
fn workflow(name: &str) -> Result<String> {
    let path = repository_root().join("examples/workflows").join(name);
    std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))
}

/// The site-audit workflow pointed at `url` instead of its `http://127.0.0.1:8080/index.html`.
pub(crate) fn site_audit_for(url: &str) -> Result<String> {
    let program = workflow("site-audit.ts")?;
    let setting = "const SITE = \"http://127.0.0.1:8080/index.html\";";
    ensure!(program.matches(setting).count() == 1, "site-audit.ts sets SITE once: {setting}");
    Ok(program.replace(setting, &format!("const SITE = {url:?};")))
}

/// Runs `program` with `mcp-code-runtime run` and the seed config as shipped, on the seed's project; its JSON response.
pub(crate) async fn run_cli(seed: &Seed, program: &str) -> Result<Value> {
    let scratch = seed.project.parent().context("the project is in the scratch folder")?;
    let file = scratch.join(format!("program-{}.ts", std::process::id()));
    std::fs::write(&file, program)?;
    let output = tokio::process::Command::new(host_binary())
        .arg("run")
        .arg(&file)
        .arg("--config")
        .arg(repository_root().join("config/seed-servers.json"))
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .arg("--timeout-ms")
        .arg(RUN_TIMEOUT_MS.to_string())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", scratch.join("cli-home"))
        .env("RUST_LOG", "warn")
        .env("MCP_CODE_RUNTIME_ROOT", repository_root())
        .env("SEED_PROJECT", &seed.project)
        .env("SEED_HOME", scratch.join("home"))
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).with_context(|| format!("`run` prints its JSON response: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

/// Runs `program` through `execute_code` with full stats; the whole response.
async fn execute(seed: &Seed, program: &str) -> Result<Value> {
    seed.host.execute_with(json!({ "code": program, "timeout": RUN_TIMEOUT_MS, "stats": "full" })).await
}

/// `(id, title, status, priority)` of every task in the project's task file (ids as text: task-master writes either).
pub(crate) fn tasks_on_disk(project: &Path) -> Result<Vec<(String, String, String, String)>> {
    let file: Value = serde_json::from_slice(&std::fs::read(project.join(".taskmaster/tasks/tasks.json"))?)?;
    let text = |value: &Value| value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
    Ok(file["master"]["tasks"]
        .as_array()
        .context("master.tasks")?
        .iter()
        .map(|task| (text(&task["id"]), text(&task["title"]), text(&task["status"]), text(&task["priority"])))
        .collect())
}

/// How often the site was asked for `path`.
fn requests(site: &Site, path: &str) -> usize {
    site.requested.lock().unwrap().iter().filter(|seen| *seen == path).count()
}

#[tokio::test]
async fn the_site_audit_workflow_files_the_pages_errors_and_the_type_errors_once_and_reuses_the_page_test() -> Result<()> {
    let seed = Seed::start().await?;
    let site = Site::serve(seed.project.join("site")).await?;
    let program = site_audit_for(&format!("http://127.0.0.1:{}/index.html", site.port))?;

    // As a user runs it: `mcp-code-runtime run` with the seed config.
    let first = run_cli(&seed, &program).await?;
    let report = expect_result(&first);
    assert_eq!(report["production"]["passed"], json!(false), "{report:#}");
    assert_eq!(report["development"]["tasksCreated"], json!(2), "two files with type errors: {report:#}");
    let site_tasks = report["production"]["tasksCreated"].as_u64().context("production.tasksCreated")?;
    assert!(site_tasks >= 2, "at least the page's two console errors: {report:#}");
    assert_eq!(report["totalTasksCreated"], json!(site_tasks + 2));
    assert!(site.wait_for("/api/contact/topics").await, "the browser ran the page: {:?}", site.requested.lock().unwrap());

    // task-master holds exactly the tasks reported, open and high priority, after the example's five.
    let tasks = tasks_on_disk(&seed.project)?;
    assert_eq!(tasks.len() as u64, 5 + site_tasks + 2, "{tasks:#?}");
    let created: Vec<&(String, String, String, String)> = tasks[5..].iter().collect();
    let reported: Vec<Value> = [&report["production"]["taskIds"], &report["development"]["taskIds"]]
        .iter()
        .flat_map(|ids| ids.as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(created.iter().map(|task| json!(task.0)).collect::<Vec<_>>(), reported, "{report:#}");
    assert!(created.iter().all(|task| task.2 == "pending" && task.3 == "high"), "{created:#?}");
    let titles: Vec<&str> = created.iter().map(|task| task.1.as_str()).collect();
    for title in [
        "Fix console error on /index.html: Contact form: no topics to choose from",
        "Fix console error on /index.html: Contact form: loading the topics failed (HTTP 404)",
        "Fix diagnostics in src/api/contact.ts",
        "Fix diagnostics in src/contact/validate.ts",
    ] {
        assert!(titles.contains(&title), "{title:?} not in {titles:#?}");
    }

    // Through execute_code: the same audit files nothing twice.
    let second = execute(&seed, &program).await?;
    let again = expect_result(&second);
    assert_eq!(again["totalTasksCreated"], json!(0), "{again:#}");
    assert_eq!(again["production"]["alreadyFiled"], json!(site_tasks), "{again:#}");
    assert_eq!(again["development"]["alreadyFiled"], json!(2), "{again:#}");
    assert_eq!(tasks_on_disk(&seed.project)?, tasks, "the task file is as the first run left it");
    assert!(second["stats"]["toolCalls"]["chrome-devtools"]["calls"].as_u64().is_some_and(|calls| calls >= 4), "{second:#}");

    // Once more in the same host: the page's report comes from the cache, the browser opens nothing.
    let pages_before = requests(&site, "/index.html");
    let third = execute(&seed, &program).await?;
    let cached = expect_result(&third);
    assert!(third["stats"]["toolCalls"].get("chrome-devtools").is_none(), "no call of chrome-devtools: {third:#}");
    assert_eq!(cached["production"]["testedAt"], again["production"]["testedAt"], "{cached:#}");
    assert_eq!(cached["production"]["counts"], again["production"]["counts"]);
    assert_eq!(cached["totalTasksCreated"], json!(0));
    assert_eq!(requests(&site, "/index.html"), pages_before, "the page was not loaded again");
    Ok(())
}

#[tokio::test]
async fn web_testing_answers_a_second_test_of_a_page_from_the_cache_until_told_not_to() -> Result<()> {
    let seed = Seed::start().await?;
    let site = Site::serve(seed.project.join("site")).await?;
    let url = format!("http://127.0.0.1:{}/index.html", site.port);
    let test = |arguments: Value| {
        let host = &seed.host;
        async move {
            let result = host.call("skill_web-testing", arguments).await?;
            assert_eq!(result.is_error, Some(false), "{result:?}");
            result.structured_content.context("structured content")
        }
    };
    let first = test(json!({ "url": url, "checks": ["console", "accessibility"] })).await?;
    assert_eq!(first["cached"], json!(false), "{first:#}");
    assert_eq!(requests(&site, "/index.html"), 1);

    // The same page and checks: from the cache, the browser is not asked, the report is the same.
    let second = test(json!({ "url": url, "checks": ["accessibility", "console"], "maxIssues": 1 })).await?;
    assert_eq!(second["cached"], json!(true), "{second:#}");
    assert_eq!((&second["testedAt"], &second["counts"]), (&first["testedAt"], &first["counts"]));
    assert_eq!(second["issues"], json!([first["issues"][0]]), "maxIssues applies to the cached report");
    assert_eq!(requests(&site, "/index.html"), 1, "the page was not opened again");

    // Other checks, or maxAgeMs 0, test the page again.
    let other = test(json!({ "url": url, "checks": ["console"] })).await?;
    assert_eq!(other["cached"], json!(false), "{other:#}");
    let fresh = test(json!({ "url": url, "checks": ["console", "accessibility"], "maxAgeMs": 0 })).await?;
    assert_eq!(fresh["cached"], json!(false), "{fresh:#}");
    assert_ne!(fresh["testedAt"], first["testedAt"]);
    assert_eq!(requests(&site, "/index.html"), 3, "{:?}", site.requested.lock().unwrap());

    // The host's cache holds them (one entry per URL and checks).
    let stats = seed.run("return cache.stats();").await?;
    assert!(stats["hits"].as_u64().is_some_and(|hits| hits >= 1), "{stats:#}");
    assert!(stats["entries"].as_u64().is_some_and(|entries| entries >= 2), "{stats:#}");
    Ok(())
}

#[tokio::test]
async fn the_implementation_log_analysis_workflow_reports_what_the_spec_files_hold() -> Result<()> {
    let seed = Seed::start().await?;
    let program = workflow("implementation-log-analysis.ts")?;
    let first = run_cli(&seed, &program).await?;
    let text = expect_result(&first).as_str().context("the workflow returns text")?.to_owned();
    assert!(text.starts_with("Implementation logs of contact-form-enhancement:\n"), "{text}");
    for line in [
        "- API POST /api/contact changed by tasks 1.3, 3.1 (src/server/contact/contactRouter.ts)",
        "- Marked done without an implementation log: 2.5",
        "- Logged but not marked done in tasks.md: 3.2",
        "Recommendations:",
        "- Finish or mark done 3.2",
    ] {
        assert!(text.lines().any(|seen| seen == line), "{line:?} missing from:\n{text}");
    }
    assert!(text.contains("tasks.md: 10 of 13 done"), "{text}");
    assert!(text.len() < 2_000, "a few lines, not the logs: {} bytes", text.len());

    // Task 3.2 marked done in the spec's tasks.md: the analysis through execute_code follows the file.
    let tasks_md = seed.project.join(".spec-workflow/specs/contact-form-enhancement/tasks.md");
    let document = std::fs::read_to_string(&tasks_md)?;
    ensure!(document.contains("- [-] 3.2 "), "task 3.2 is in progress in the example");
    std::fs::write(&tasks_md, document.replace("- [-] 3.2 ", "- [x] 3.2 "))?;
    let after = execute(&seed, &program).await?;
    let text = expect_result(&after).as_str().context("text")?;
    assert!(!text.contains("Logged but not marked done"), "{text}");
    assert!(text.contains("tasks.md: 11 of 13 done"), "{text}");
    assert!(after["stats"]["toolCalls"]["spec-workflow"]["calls"].as_u64().is_some_and(|calls| calls >= 1), "{after:#}");
    Ok(())
}
