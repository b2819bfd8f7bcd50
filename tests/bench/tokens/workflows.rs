//! The benchmark's workflows: for each, how its project is prepared, the calls a
//! model makes doing it directly (the same calls, with the same arguments, that
//! the skill or program makes, in the same order; the model writes every
//! argument and reads every result), what it asks the host first and the
//! program it writes in code mode, and what both paths must have left behind.
//!
//! Where a skill decides from a result (which files have errors, which tasks
//! match, which issues are critical), the direct path decides the same way here,
//! as the model would from what it read.

use std::collections::HashSet;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use super::count::{client_text, value_of};
use super::seed::{Project, Site, repository_root};
use super::session::Direct;

/// Tasks the diagnostics workflow creates: one per file with type errors.
const DIAGNOSTIC_TASKS: usize = 10;
/// Tasks the bulk workflow completes.
const BULK_TASKS: usize = 20;
/// Most problems listed in one task's details (as `diagnostics-to-tasks`).
const MAX_LISTED: usize = 20;
/// Most tasks the site audit opens for a page's issues (as `examples/workflows/site-audit.ts`).
const SITE_AUDIT_MAX_TASKS: usize = 10;
/// Longest issue text in a site-audit task title.
const MAX_TITLE_ISSUE: usize = 120;
/// The spec `examples/workflows/implementation-log-analysis.ts` analyzes, and its logs.
const SPEC: &str = "contact-form-enhancement";
const LOGS: &str = ".spec-workflow/specs/contact-form-enhancement/Implementation Logs";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Workflow {
    DiagnosticsToTasks,
    WebTest,
    BulkTasks,
    /// The bulk workflow done directly with one `set_task_status` of all ids, comma-separated.
    BulkTasksOneCall,
    SiteAudit,
    LogAnalysis,
    SingleLookup,
}

/// Where a path runs: its project and the project's site on loopback.
pub struct Place<'a> {
    pub project: &'a Project,
    pub site: &'a Site,
}

impl Place<'_> {
    fn root(&self) -> String {
        self.project.root_text()
    }

    fn page(&self) -> String {
        format!("{}/index.html", self.site.origin())
    }
}

impl Workflow {
    pub const ALL: [Workflow; 7] = [
        Workflow::DiagnosticsToTasks,
        Workflow::WebTest,
        Workflow::BulkTasks,
        Workflow::BulkTasksOneCall,
        Workflow::SiteAudit,
        Workflow::LogAnalysis,
        Workflow::SingleLookup,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Workflow::DiagnosticsToTasks => "diagnostics_to_tasks",
            Workflow::WebTest => "web_test",
            Workflow::BulkTasks => "bulk_tasks",
            Workflow::BulkTasksOneCall => "bulk_tasks_one_call",
            Workflow::SiteAudit => "site_audit",
            Workflow::LogAnalysis => "log_analysis",
            Workflow::SingleLookup => "single_lookup",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Workflow::DiagnosticsToTasks => "Diagnostics to tasks (10 tasks)",
            Workflow::WebTest => "Web test (full suite)",
            Workflow::BulkTasks => "Bulk task operation (20 tasks)",
            Workflow::BulkTasksOneCall => "Bulk task operation (20 tasks), direct as one comma-separated call",
            Workflow::SiteAudit => "Comprehensive site audit (appendix B 1)",
            Workflow::LogAnalysis => "Implementation log analysis (appendix B 2)",
            Workflow::SingleLookup => "Single task lookup (decision matrix: direct)",
        }
    }

    /// The plan's estimated reduction (section 2.3), where it gave one.
    pub fn plan_estimate(self) -> Option<f64> {
        match self {
            Workflow::DiagnosticsToTasks => Some(95.0),
            Workflow::WebTest => Some(96.0),
            Workflow::BulkTasks | Workflow::BulkTasksOneCall => Some(93.3),
            _ => None,
        }
    }

    /// The servers the workflow uses: the direct path's tool definitions.
    pub fn servers(self) -> &'static [&'static str] {
        match self {
            Workflow::DiagnosticsToTasks => &["ide", "task-master"],
            Workflow::WebTest => &["chrome-devtools"],
            Workflow::BulkTasks | Workflow::BulkTasksOneCall | Workflow::SingleLookup => &["task-master"],
            Workflow::SiteAudit => &["chrome-devtools", "task-master", "ide"],
            Workflow::LogAnalysis => &["spec-workflow"],
        }
    }

    /// Why the workflow cannot run in this checkout, if it cannot.
    pub fn missing(self) -> Option<String> {
        let needed: &[&str] = match self {
            Workflow::DiagnosticsToTasks => &["skills/diagnostics-to-tasks.ts"],
            Workflow::WebTest => &["skills/web-testing.ts"],
            Workflow::BulkTasks | Workflow::BulkTasksOneCall => &["skills/bulk-task-operations.ts"],
            Workflow::SiteAudit => &["examples/workflows/site-audit.ts", "skills/web-testing.ts", "skills/diagnostics-to-tasks.ts"],
            Workflow::LogAnalysis => &["examples/workflows/implementation-log-analysis.ts", "skills/spec-workflow-analyzer.ts"],
            Workflow::SingleLookup => &[],
        };
        let absent: Vec<&str> = needed.iter().copied().filter(|path| !repository_root().join(path).is_file()).collect();
        (!absent.is_empty()).then(|| format!("not in this checkout: {}", absent.join(", ")))
    }

    /// Makes the project what the workflow needs (the same for both paths).
    pub fn prepare(self, project: &Project) -> Result<()> {
        match self {
            Workflow::DiagnosticsToTasks => add_broken_files(project),
            Workflow::BulkTasks | Workflow::BulkTasksOneCall => project.add_tasks(lint_tasks()),
            _ => Ok(()),
        }
    }

    /// What the model asks `search_tools` before writing its program.
    pub fn query(self) -> &'static str {
        match self {
            Workflow::DiagnosticsToTasks => "create tasks from diagnostics",
            Workflow::WebTest => "test a web page for errors",
            Workflow::BulkTasks | Workflow::BulkTasksOneCall => "set the status of many tasks",
            Workflow::SiteAudit => "audit a site and create tasks",
            Workflow::LogAnalysis => "analyze implementation logs",
            Workflow::SingleLookup => "get a task by id",
        }
    }

    /// The program the model writes in code mode.
    pub fn program(self, place: &Place<'_>) -> Result<String> {
        let root = json!(place.root());
        Ok(match self {
            Workflow::DiagnosticsToTasks => format!(
                "import {{ diagnosticsToTasks }} from \"skills/diagnostics-to-tasks\";\nreturn await diagnosticsToTasks({{ projectRoot: {root}, maxTasks: {DIAGNOSTIC_TASKS} }});"
            ),
            Workflow::WebTest => {
                format!("import {{ webTesting }} from \"skills/web-testing\";\nreturn await webTesting({{ url: {} }});", json!(place.page()))
            }
            Workflow::BulkTasks | Workflow::BulkTasksOneCall => format!(
                "import {{ bulkTaskOperations }} from \"skills/bulk-task-operations\";\nreturn await bulkTaskOperations({{ projectRoot: {root}, operation: \"set-status\", filter: {{ status: \"pending\", search: \"lint\" }}, status: \"done\" }});"
            ),
            Workflow::SiteAudit => {
                let program = example_program("examples/workflows/site-audit.ts")?;
                let site = "\"http://127.0.0.1:8080/index.html\"";
                ensure!(program.contains(site), "examples/workflows/site-audit.ts no longer sets SITE to {site}");
                program.replace(site, &json!(place.page()).to_string())
            }
            Workflow::LogAnalysis => example_program("examples/workflows/implementation-log-analysis.ts")?,
            Workflow::SingleLookup => format!(
                "const taskmaster = await import(\"mcp://task-master\");\nreturn await taskmaster.getTask({{ projectRoot: {root}, id: \"3\" }});"
            ),
        })
    }

    /// The skill tool that does the whole workflow, and its arguments, where one does:
    /// code mode at its cheapest (no discovery, no program).
    pub fn skill_call(self, place: &Place<'_>) -> Option<(&'static str, Value)> {
        let root = place.root();
        match self {
            Workflow::DiagnosticsToTasks => Some(("skill_diagnostics-to-tasks", json!({ "projectRoot": root, "maxTasks": DIAGNOSTIC_TASKS }))),
            Workflow::WebTest => Some(("skill_web-testing", json!({ "url": place.page() }))),
            Workflow::BulkTasks => Some((
                "skill_bulk-task-operations",
                json!({ "projectRoot": root, "operation": "set-status", "filter": { "status": "pending", "search": "lint" }, "status": "done" }),
            )),
            _ => None,
        }
    }

    /// The direct path's calls; returns what the check compares.
    pub async fn direct(self, direct: &mut Direct, place: &Place<'_>) -> Result<Value> {
        match self {
            Workflow::DiagnosticsToTasks => {
                let root = place.root();
                let open = open_titles(direct, &root).await?;
                let created = diagnostics_direct(direct, &root, &open, DIAGNOSTIC_TASKS).await?;
                Ok(json!(created))
            }
            Workflow::WebTest => web_direct(direct, &place.page()).await,
            Workflow::BulkTasks | Workflow::BulkTasksOneCall => bulk_direct(direct, &place.root(), self == Workflow::BulkTasksOneCall).await,
            Workflow::SiteAudit => site_audit_direct(direct, place).await,
            Workflow::LogAnalysis => logs_direct(direct).await,
            Workflow::SingleLookup => {
                let result = direct.call("task-master", "get_task", json!({ "projectRoot": place.root(), "id": "3" })).await?;
                Ok(value_of(&result))
            }
        }
    }

    /// Both paths did the same work and left the same state.
    pub fn check(self, direct: (&Place<'_>, &Value), code: (&Place<'_>, &Value)) -> Result<()> {
        // Each path has its own site: its origin is read as the direct path's.
        let (code_origin, direct_origin) = (code.0.site.origin(), direct.0.site.origin());
        let origins = (code_origin.as_str(), direct_origin.as_str());
        let tasks = |place: &Place<'_>| -> Result<Vec<Value>> { Ok(place.project.tasks()?.iter().map(|task| comparable(task, origins)).collect()) };
        let (direct_tasks, code_tasks) = (tasks(direct.0)?, tasks(code.0)?);
        ensure!(direct_tasks == code_tasks, "{}: the task files differ:\ndirect {direct_tasks:#?}\ncode {code_tasks:#?}", self.key());
        ensure!(direct.0.site.paths() == code.0.site.paths(), "{}: the pages asked for differ", self.key());
        let (found, result) = (direct.1, code.1);
        match self {
            Workflow::DiagnosticsToTasks => {
                ensure!(result["tasksCreated"] == json!(DIAGNOSTIC_TASKS) && found == &json!(DIAGNOSTIC_TASKS), "diagnostics: {result} vs {found}");
                ensure!(code_tasks.len() == 5 + DIAGNOSTIC_TASKS, "diagnostics: {} tasks", code_tasks.len());
            }
            Workflow::WebTest => web_check(found, result, origins)?,
            Workflow::BulkTasks | Workflow::BulkTasksOneCall => {
                let done = code_tasks.iter().filter(|task| task["status"] == json!("done")).count();
                ensure!(result["succeeded"].as_array().map(Vec::len) == Some(BULK_TASKS), "bulk: {result}");
                ensure!(found == &json!(BULK_TASKS) && done == 1 + BULK_TASKS, "bulk: {done} done, direct set {found}");
            }
            Workflow::SiteAudit => {
                let created = result["totalTasksCreated"].as_u64().context("totalTasksCreated")?;
                ensure!(found == &json!(created) && created > 0, "site audit: code created {created}, direct {found}");
                ensure!(code_tasks.len() == 5 + created as usize, "site audit: {} tasks", code_tasks.len());
            }
            Workflow::LogAnalysis => {
                let logs = std::fs::read_dir(code.0.project.root.join(LOGS))?.count();
                ensure!(found == &json!(logs) && logs > 0, "log analysis: {logs} logs on disk, the direct path read {found}");
                let text = result.as_str().context("the log analysis returns text")?;
                ensure!(text.starts_with(&format!("Implementation logs of {SPEC}:")) && text.lines().count() > 1, "log analysis: {text}");
            }
            Workflow::SingleLookup => {
                let title = |value: &Value| value.pointer("/data/title").or_else(|| value.pointer("/data/task/title")).cloned();
                ensure!(title(found).is_some() && title(found) == title(result), "lookup: {found} vs {result}");
            }
        }
        Ok(())
    }
}

/// An example program as a model would write it: without its leading doc comment.
fn example_program(path: &str) -> Result<String> {
    let text = std::fs::read_to_string(repository_root().join(path))?;
    let body = match text.trim_start().strip_prefix("/**") {
        Some(rest) => rest.split_once("*/").map_or(text.as_str(), |(_, after)| after),
        None => text.as_str(),
    };
    Ok(body.trim_start().to_owned())
}

/// Eight more files with two type errors each: with the example's two, ten files to file tasks for.
fn add_broken_files(project: &Project) -> Result<()> {
    let folder = project.root.join("src/features");
    std::fs::create_dir_all(&folder)?;
    let features = ["billing", "calendar", "comments", "dashboard", "export", "profile", "search", "uploads"];
    for feature in features {
        let module = format!(
            "export interface {name}Item {{\n  id: number;\n  label: string;\n}}\n\n\
             const PAGE_SIZE: number = \"20\";\n\n\
             /** The {feature} items of one page, by label. */\n\
             export function {feature}Labels(items: {name}Item[], page: number): string[] {{\n  \
             return items.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map((item) => item.lable);\n}}\n",
            name = feature[..1].to_uppercase() + &feature[1..],
        );
        std::fs::write(folder.join(format!("{feature}.ts")), module)?;
    }
    Ok(())
}

/// Twenty pending lint tasks, the bulk workflow's subject.
fn lint_tasks() -> Vec<Value> {
    let rules = ["no-unused-vars", "eqeqeq", "prefer-const", "no-console", "curly"];
    let files = ["src/api/contact.ts", "src/contact/model.ts", "src/contact/validate.ts", "src/index.ts"];
    (0..BULK_TASKS)
        .map(|index| {
            let (rule, file) = (rules[index % rules.len()], files[index / rules.len()]);
            json!({
                "id": (6 + index).to_string(),
                "title": format!("Lint: fix {rule} in {file}"),
                "description": format!("ESLint reports {rule} in {file}; fix it and run the linter again"),
                "details": "",
                "testStrategy": "",
                "status": "pending",
                "dependencies": [],
                "priority": "low",
                "subtasks": [],
            })
        })
        .collect()
}

/// `get_tasks`, and the titles of the tasks not done or cancelled.
async fn open_titles(direct: &mut Direct, root: &str) -> Result<HashSet<String>> {
    let listed = value_of(&direct.call("task-master", "get_tasks", json!({ "projectRoot": root })).await?);
    Ok(listed["data"]["tasks"]
        .as_array()
        .context("get_tasks answers data.tasks")?
        .iter()
        .filter(|task| !matches!(task["status"].as_str(), Some("done" | "cancelled")))
        .filter_map(|task| task["title"].as_str().map(str::to_owned))
        .collect())
}

/// `diagnostics-to-tasks` done by hand: read the diagnostics, then one `add_task`
/// per file with errors that has no open task, at most `max`; the number created.
async fn diagnostics_direct(direct: &mut Direct, root: &str, open: &HashSet<String>, max: usize) -> Result<usize> {
    let files = value_of(&direct.call("ide", "getDiagnostics", json!({})).await?);
    let prefix = format!("file://{}/", root.trim_end_matches('/'));
    let mut created = 0;
    for file in files.as_array().context("getDiagnostics answers an array")? {
        let uri = file["uri"].as_str().context("uri")?;
        let problems: Vec<&Value> = file["diagnostics"].as_array().into_iter().flatten().filter(|d| d["severity"] == json!("Error")).collect();
        if problems.is_empty() {
            continue;
        }
        let path = uri.strip_prefix(&prefix).unwrap_or(uri);
        let title = format!("Fix diagnostics in {path}");
        if open.contains(&title) {
            continue;
        }
        if created >= max {
            break;
        }
        let first = problems[0]["message"].as_str().unwrap_or_default();
        let details: Vec<String> = problems.iter().take(MAX_LISTED).map(|problem| problem_line(problem)).collect();
        let arguments = json!({
            "projectRoot": root,
            "title": title,
            "description": format!("{} problem(s) in {path}, first: {first}", problems.len()),
            "details": details.join("\n"),
            "priority": "high",
        });
        direct.call("task-master", "add_task", arguments).await?;
        created += 1;
    }
    Ok(created)
}

/// `line N: Severity (code): message`, as `diagnostics-to-tasks` lists a problem.
fn problem_line(problem: &Value) -> String {
    let code = match &problem["code"] {
        Value::Null => String::new(),
        Value::String(code) => format!(" ({code})"),
        other => format!(" ({other})"),
    };
    let line = problem["range"]["start"]["line"].as_u64().unwrap_or_default() + 1;
    format!("line {line}: {}{code}: {}", problem["severity"].as_str().unwrap_or_default(), problem["message"].as_str().unwrap_or_default())
}

/// The calls of `web-testing`, in its order; their texts, for the check.
async fn web_direct(direct: &mut Direct, url: &str) -> Result<Value> {
    let navigated = client_text(&direct.call("chrome-devtools", "navigate_page", json!({ "pageId": 1, "type": "url", "url": url })).await?);
    ensure!(navigated.starts_with("Successfully navigated"), "cannot open {url}: {navigated}");
    let console = client_text(&direct.call("chrome-devtools", "list_console_messages", json!({ "pageId": 1, "pageSize": 500 })).await?);
    let network = client_text(&direct.call("chrome-devtools", "list_network_requests", json!({ "pageId": 1, "pageSize": 500 })).await?);
    let script = accessibility_script()?;
    let accessibility = client_text(&direct.call("chrome-devtools", "evaluate_script", json!({ "pageId": 1, "function": script })).await?);
    let trace = client_text(
        &direct.call("chrome-devtools", "performance_start_trace", json!({ "pageId": 1, "reload": true, "autoStop": true })).await?,
    );
    Ok(json!({ "console": console, "network": network, "accessibility": accessibility, "trace": trace }))
}

/// The accessibility check `web-testing` runs in the page, which the model would write too.
fn accessibility_script() -> Result<String> {
    let skill = std::fs::read_to_string(repository_root().join("skills/web-testing.ts"))?;
    let start = "const ACCESSIBILITY_SCRIPT = `";
    let after = &skill[skill.find(start).context("web-testing.ts has ACCESSIBILITY_SCRIPT")? + start.len()..];
    Ok(after[..after.find("`;").context("ACCESSIBILITY_SCRIPT ends")?].to_owned())
}

/// Every issue `web-testing` reported was in what the direct path read (its
/// site's origin, `origins.0`, read as the direct path's, `origins.1`).
fn web_check(found: &Value, report: &Value, origins: (&str, &str)) -> Result<()> {
    let issues = report["issues"].as_array().context("issues")?;
    ensure!(!issues.is_empty() && report["performance"]["lcpMs"].is_number(), "web test: {report}");
    for issue in issues {
        let message = issue["message"].as_str().context("message")?.replace(origins.0, origins.1);
        let message = console_text(&message);
        let message = message.as_str();
        let seen = match issue["type"].as_str() {
            Some("console") => found["console"].as_str().is_some_and(|text| console_text(text).contains(message)),
            Some("network") => {
                let url = message.split_whitespace().nth(1).unwrap_or(message);
                found["network"].as_str().is_some_and(|text| text.contains(url))
            }
            Some("accessibility") => found["accessibility"].as_str().is_some_and(|text| text.contains(message)),
            _ => found["trace"].as_str().is_some(),
        };
        ensure!(seen, "web test: the direct path did not read {issue} in {found:#}");
    }
    Ok(())
}

/// The pending tasks matching "lint", then their status set, one call each or one call for all.
async fn bulk_direct(direct: &mut Direct, root: &str, one_call: bool) -> Result<Value> {
    let listed = value_of(&direct.call("task-master", "get_tasks", json!({ "projectRoot": root, "status": "pending" })).await?);
    let ids: Vec<String> = listed["data"]["tasks"]
        .as_array()
        .context("get_tasks answers data.tasks")?
        .iter()
        .filter(|task| task["status"] == json!("pending"))
        .filter(|task| {
            let text = format!("{}\n{}", task["title"].as_str().unwrap_or_default(), task["description"].as_str().unwrap_or_default());
            text.to_lowercase().contains("lint")
        })
        .filter_map(|task| task["id"].as_str().map(str::to_owned).or_else(|| task["id"].as_u64().map(|id| id.to_string())))
        .collect();
    if one_call {
        direct.call("task-master", "set_task_status", json!({ "projectRoot": root, "id": ids.join(","), "status": "done" })).await?;
    } else {
        for id in &ids {
            direct.call("task-master", "set_task_status", json!({ "projectRoot": root, "id": id, "status": "done" })).await?;
        }
    }
    Ok(json!(ids.len()))
}

/// `examples/workflows/site-audit.ts` done by hand: the project root, the page's
/// web test, one task per critical issue, then the diagnostics as tasks; the tasks created.
async fn site_audit_direct(direct: &mut Direct, place: &Place<'_>) -> Result<Value> {
    let folders = value_of(&direct.call("ide", "getWorkspaceFolders", json!({})).await?);
    let root = folders["rootPath"].as_str().context("getWorkspaceFolders answers rootPath")?.to_owned();
    let page = place.page();
    let read = web_direct(direct, &page).await?;
    let mut open = open_titles(direct, &root).await?;
    let path = page.splitn(4, '/').nth(3).map_or("/".to_owned(), |path| format!("/{path}"));
    let mut created = 0;
    for (kind, message) in critical_issues(&read) {
        let text = match message.char_indices().nth(MAX_TITLE_ISSUE) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message.clone(),
        };
        let title = format!("Fix {kind} error on {path}: {text}");
        if open.contains(&title) {
            continue;
        }
        if created >= SITE_AUDIT_MAX_TASKS {
            break;
        }
        let arguments = json!({
            "projectRoot": root,
            "title": title,
            "description": format!("web-testing found a critical {kind} issue on {page}"),
            "details": message,
            "priority": "high",
        });
        direct.call("task-master", "add_task", arguments).await?;
        open.insert(title);
        created += 1;
    }
    created += diagnostics_direct(direct, &root, &open, SITE_AUDIT_MAX_TASKS).await?;
    Ok(json!(created))
}

/// The critical issues `web-testing` would report, in its order: console errors, then
/// failed requests with no status or a 5xx one.
fn critical_issues(read: &Value) -> Vec<(&'static str, String)> {
    let mut issues = Vec::new();
    for line in read["console"].as_str().unwrap_or_default().lines() {
        let Some(rest) = line.trim().strip_prefix("msgid=") else { continue };
        let Some((_, message)) = rest.split_once(" [error] ") else { continue };
        issues.push(("console", strip_args(message).to_owned()));
    }
    for line in read["network"].as_str().unwrap_or_default().lines() {
        let Some(rest) = line.trim().strip_prefix("reqid=") else { continue };
        let mut parts = rest.splitn(4, ' ');
        let (_, method, url, status) = (parts.next(), parts.next(), parts.next(), parts.next());
        let (Some(method), Some(url), Some(status)) = (method, url, status.and_then(|s| s.strip_prefix('['))) else { continue };
        let status = status.split(']').next().unwrap_or_default();
        let critical = status != "pending" && status.parse::<u16>().ok().is_none_or(|code| code >= 500);
        if critical {
            issues.push(("network", format!("{method} {url} {status}")));
        }
    }
    issues
}

/// A console message without chrome-devtools' ` (N args)` suffix.
fn strip_args(message: &str) -> &str {
    match message.rsplit_once(" (") {
        Some((text, suffix)) if suffix.ends_with(" args)") && suffix.trim_end_matches(" args)").parse::<u32>().is_ok() => text,
        _ => message,
    }
}

/// The text the filesystem server answers: its structured `{content}`, as the skill reads it.
fn file_text(result: &rmcp::model::CallToolResult) -> String {
    match value_of(result) {
        Value::Object(object) => object.get("content").and_then(Value::as_str).unwrap_or_default().to_owned(),
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// The reads of `spec-workflow-analyzer` for one spec, in its order: the server's
/// folder, the specs, the spec's logs, the logs in one batch, its tasks.md; the logs read.
async fn logs_direct(direct: &mut Direct) -> Result<Value> {
    let allowed = file_text(&direct.call("spec-workflow", "list_allowed_directories", json!({})).await?);
    let folder = allowed.lines().skip(1).find(|line| !line.trim().is_empty()).context("an allowed directory")?;
    let root = match folder.ends_with("/.spec-workflow") {
        true => folder.to_owned(),
        false => format!("{}/.spec-workflow", folder.trim_end_matches('/')),
    };
    let specs = file_text(&direct.call("spec-workflow", "list_directory", json!({ "path": format!("{root}/specs") })).await?);
    ensure!(specs.lines().any(|line| line == format!("[DIR] {SPEC}")), "no spec {SPEC}: {specs}");
    let dir = format!("{root}/specs/{SPEC}/Implementation Logs");
    let listing = file_text(&direct.call("spec-workflow", "list_directory", json!({ "path": dir })).await?);
    let mut names: Vec<&str> = listing.lines().filter_map(|line| line.strip_prefix("[FILE] ")).filter(|name| name.ends_with(".md")).collect();
    names.sort_unstable();
    let paths: Vec<String> = names.iter().map(|name| format!("{dir}/{name}")).collect();
    ensure!(paths.len() <= 25, "the skill reads more than 25 logs in batches of 25: {}", paths.len());
    let logs = file_text(&direct.call("spec-workflow", "read_multiple_files", json!({ "paths": paths })).await?);
    direct.call("spec-workflow", "read_multiple_files", json!({ "paths": [format!("{root}/specs/{SPEC}/tasks.md")] })).await?;
    Ok(json!(logs.matches("# Implementation Log: Task ").count()))
}

/// A task with chrome-devtools' repeat counts taken out of its texts (see
/// [`console_text`]) and the site origin `origins.0` read as `origins.1`.
fn comparable(task: &Value, origins: (&str, &str)) -> Value {
    let mut task = task.clone();
    for key in ["title", "description", "details"] {
        if let Some(text) = task[key].as_str() {
            task[key] = json!(console_text(&text.replace(origins.0, origins.1)));
        }
    }
    task
}

/// `text` without chrome-devtools' ` (N args)` and ` [N times]`: it lists a message
/// repeated before the listing once with a count, otherwise once per time, so
/// the two paths may read the same console in either form.
fn console_text(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find([' ']) {
        kept.push_str(&rest[..at]);
        let after = &rest[at..];
        let skip = [(" (", " args)"), (" [", " times]")].iter().find_map(|(open, close)| {
            let inner = after.strip_prefix(open)?;
            let end = inner.find(close)?;
            let digits = &inner[..end];
            (!digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())).then_some(open.len() + end + close.len())
        });
        match skip {
            Some(length) => rest = &after[length..],
            None => {
                kept.push(' ');
                rest = &after[1..];
            }
        }
    }
    kept.push_str(rest);
    kept
}
