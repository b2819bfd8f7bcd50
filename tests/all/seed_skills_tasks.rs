//! The task skills (`diagnostics-to-tasks`, `bulk-task-operations`,
//! `task-triage-report`, `task-dependency-graph`) against the real ide and
//! task-master servers of the seed config, on a scratch copy of the example
//! project: each called as a tool and imported by a program, checked against
//! what the task file on disk holds afterwards, with their failure paths.

use anyhow::{Context, Result};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

use crate::seed_servers::Seed;

/// The task file of the scratch project: `(id, title, status, dependencies, priority)` per task.
fn tasks_on_disk(seed: &Seed) -> Result<Vec<(String, String, String, Vec<String>, String)>> {
    let file: Value = serde_json::from_slice(&std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?)?;
    let text = |value: &Value| value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
    Ok(file["master"]["tasks"]
        .as_array()
        .context("master.tasks")?
        .iter()
        .map(|task| {
            let dependencies = task["dependencies"].as_array().map(|deps| deps.iter().map(text).collect()).unwrap_or_default();
            (text(&task["id"]), text(&task["title"]), text(&task["status"]), dependencies, text(&task["priority"]))
        })
        .collect())
}

fn task<'a>(tasks: &'a [(String, String, String, Vec<String>, String)], title: &str) -> &'a (String, String, String, Vec<String>, String) {
    tasks.iter().find(|task| task.1 == title).unwrap_or_else(|| panic!("no task {title:?} in {tasks:#?}"))
}

/// Calls skill `name` as a tool and returns its structured result, failing on a tool error.
pub(crate) async fn call_skill(seed: &Seed, name: &str, arguments: Value) -> Result<Value> {
    let result = seed.host.call(&format!("skill_{name}"), arguments).await?;
    assert_eq!(result.is_error, Some(false), "skill_{name} failed: {}", text_of(&result));
    result.structured_content.context("structured content")
}

pub(crate) fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|content| content.as_text().map(|text| text.text.clone())).collect::<Vec<_>>().join("\n")
}

fn root(seed: &Seed) -> String {
    seed.project.display().to_string()
}

#[tokio::test]
async fn diagnostics_to_tasks_creates_a_task_per_file_with_problems_and_skips_them_the_next_time() -> Result<()> {
    let seed = Seed::start().await?;
    let first = call_skill(&seed, "diagnostics-to-tasks", json!({ "maxTasks": 1 })).await?;
    assert_eq!(first["tasksCreated"], json!(1), "{first:#}");
    assert_eq!(first["created"][0]["title"], json!("Fix diagnostics in src/api/contact.ts"), "{first:#}");
    let tasks = tasks_on_disk(&seed)?;
    assert_eq!(tasks.len(), 6);
    let created = task(&tasks, "Fix diagnostics in src/api/contact.ts");
    assert_eq!((created.0.as_str(), created.2.as_str(), created.4.as_str()), (first["created"][0]["id"].as_str().unwrap(), "pending", "high"));
    let file: Value = serde_json::from_slice(&std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?)?;
    let details = file["master"]["tasks"][5]["details"].as_str().unwrap().to_owned();
    assert!(details.contains("line 4: Error (2322)") && details.contains("line 18: Error (2551): Property 'mesage'"), "{details}");

    // Imported by a program, with every severity: the other two files, the first skipped.
    let second = seed
        .run(&format!(
            "import {{ diagnosticsToTasks }} from \"skills/diagnostics-to-tasks\";
             return await diagnosticsToTasks({{ projectRoot: {:?}, severity: \"all\" }});",
            root(&seed)
        ))
        .await?;
    assert_eq!(second["tasksCreated"], json!(2), "{second:#}");
    assert_eq!(second["skipped"], json!(["Fix diagnostics in src/api/contact.ts"]));
    assert_eq!(second["failed"], json!([]));
    let tasks = tasks_on_disk(&seed)?;
    assert_eq!(tasks.len(), 8, "{tasks:#?}");
    assert_eq!(task(&tasks, "Fix diagnostics in src/contact/validate.ts").4, "high");
    assert_eq!(task(&tasks, "Fix diagnostics in src/index.ts").4, "medium", "only a hint there");
    Ok(())
}

#[tokio::test]
async fn diagnostics_to_tasks_without_a_working_ide_fails_and_writes_no_task() -> Result<()> {
    let seed = Seed::start().await?;
    // The ide server refuses to start without a TypeScript project (it starts on first use).
    std::fs::remove_file(seed.project.join("tsconfig.json"))?;
    let before = std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?;
    let result = seed.host.call("skill_diagnostics-to-tasks", json!({ "projectRoot": root(&seed) })).await?;
    assert_eq!(result.is_error, Some(true), "{}", text_of(&result));
    assert!(text_of(&result).contains("server `ide` is not available"), "the error names the server: {}", text_of(&result));
    assert_eq!(std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?, before, "nothing written");
    Ok(())
}

#[tokio::test]
async fn bulk_task_operations_change_statuses_and_dependencies_in_the_task_file() -> Result<()> {
    let seed = Seed::start().await?;
    let project = root(&seed);
    let done = call_skill(&seed, "bulk-task-operations", json!({ "projectRoot": project, "operation": "set-status", "ids": ["3", "4"], "status": "done" })).await?;
    assert_eq!(done, json!({ "operation": "set-status", "matched": 2, "succeeded": ["3", "4"], "skipped": [], "failed": [] }));
    let statuses = |tasks: &[(String, String, String, Vec<String>, String)]| tasks.iter().map(|task| (task.0.clone(), task.2.clone())).collect::<Vec<_>>();
    let status_of = |id: &str, status: &str| (id.to_owned(), status.to_owned());
    assert_eq!(
        statuses(&tasks_on_disk(&seed)?),
        [status_of("1", "done"), status_of("2", "in-progress"), status_of("3", "done"), status_of("4", "done"), status_of("5", "pending")]
    );

    // Imported: the pending task (5) gets a dependency on 4; a self-dependency and a cycle
    // (task-master would exit on either) are refused without being sent; then task 4 is removed by search.
    let result = seed
        .run(&format!(
            "import {{ bulkTaskOperations }} from \"skills/bulk-task-operations\";
             const projectRoot = {project:?};
             const added = await bulkTaskOperations({{ projectRoot, operation: \"add-dependency\", filter: {{ status: \"pending\" }}, dependsOn: \"4\" }});
             const refused = await bulkTaskOperations({{ projectRoot, operation: \"add-dependency\", ids: [\"4\", \"2\"], dependsOn: \"4\" }});
             const removedDependency = await bulkTaskOperations({{ projectRoot, operation: \"remove-dependency\", ids: [\"3\", \"4\"], dependsOn: \"2\" }});
             const removed = await bulkTaskOperations({{ projectRoot, operation: \"remove\", filter: {{ search: \"NEWSLETTER\" }} }});
             return {{ added, refused, removedDependency, removed }};"
        ))
        .await?;
    assert_eq!(result["added"]["succeeded"], json!(["5"]), "{result:#}");
    assert_eq!(
        result["refused"]["failed"],
        json!([{ "id": "4", "error": "a task cannot depend on itself" }, { "id": "2", "error": "would make a cycle: 4 already depends on 2" }])
    );
    assert_eq!(result["removedDependency"]["succeeded"], json!(["3", "4"]), "{result:#}");
    assert_eq!(result["removed"]["succeeded"], json!(["4"]), "{result:#}");
    let tasks = tasks_on_disk(&seed)?;
    let dependencies: Vec<(String, Vec<String>)> = tasks.iter().map(|task| (task.0.clone(), task.3.clone())).collect();
    let depends = |id: &str, on: &[&str]| (id.to_owned(), on.iter().map(|id| id.to_string()).collect::<Vec<_>>());
    // Removing task 4 also drops the dependency of 5 on it, which remove_task alone leaves.
    assert_eq!(dependencies, [depends("1", &[]), depends("2", &["1"]), depends("3", &[]), depends("5", &[])], "{tasks:#?}");
    Ok(())
}

#[tokio::test]
async fn bulk_task_operations_with_an_unknown_task_change_nothing() -> Result<()> {
    let seed = Seed::start().await?;
    let before = std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?;
    let result = seed
        .host
        .call("skill_bulk-task-operations", json!({ "projectRoot": root(&seed), "operation": "set-status", "ids": ["3", "99"], "status": "done" }))
        .await?;
    assert_eq!(result.is_error, Some(true), "{}", text_of(&result));
    assert!(text_of(&result).contains("no such task: 99; nothing was changed"), "{}", text_of(&result));
    assert_eq!(std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?, before, "task 3 is not set either");
    Ok(())
}

#[tokio::test]
async fn task_triage_report_and_dependency_graph_read_the_task_file_as_it_is() -> Result<()> {
    let seed = Seed::start().await?;
    let project = root(&seed);
    let report = call_skill(&seed, "task-triage-report", json!({ "projectRoot": project })).await?;
    assert_eq!(
        report,
        json!({
            "total": 5, "open": 4,
            "byStatus": { "done": 1, "in-progress": 1, "pending": 3 },
            "byPriority": { "high": 1, "medium": 2, "low": 1 },
            "blocked": [
                { "id": "3", "title": "Rate-limit POST /api/contact", "waitingOn": ["2"] },
                { "id": "4", "title": "Newsletter opt-in", "waitingOn": ["2"] },
            ],
            "next": { "id": "2.2", "title": "Topic must be a known topic", "priority": "high" },
        })
    );
    let graph = call_skill(&seed, "task-dependency-graph", json!({ "projectRoot": project })).await?;
    assert_eq!(graph["nodes"], json!(5));
    assert_eq!(graph["edges"], json!([["2", "1"], ["3", "2"], ["4", "2"]]));
    assert_eq!((&graph["missing"], &graph["cycles"]), (&json!([]), &json!([])));
    let mermaid = graph["mermaid"].as_str().unwrap();
    assert!(mermaid.starts_with("flowchart LR\n") && mermaid.contains("  t3[\"3: Rate-limit POST /api/contact\"]"), "{mermaid}");
    assert!(mermaid.contains("  t1 --> t2\n") && mermaid.contains("  t2 --> t4"), "{mermaid}");

    // Task 2 done, 1 made to depend on 3 (a cycle task-master itself would refuse) and 5 on a task that
    // does not exist, written to the file: both skills, imported, see it.
    let file = seed.project.join(".taskmaster/tasks/tasks.json");
    let mut tasks: Value = serde_json::from_slice(&std::fs::read(&file)?)?;
    tasks["master"]["tasks"][0]["dependencies"] = json!(["3"]);
    tasks["master"]["tasks"][1]["status"] = json!("done");
    tasks["master"]["tasks"][4]["dependencies"] = json!(["42"]);
    std::fs::write(&file, serde_json::to_vec_pretty(&tasks)?)?;
    let result = seed
        .run(&format!(
            "import {{ taskTriageReport }} from \"skills/task-triage-report\";
             import taskDependencyGraph from \"skills/task-dependency-graph\";
             const projectRoot = {project:?};
             return {{ report: await taskTriageReport({{ projectRoot }}), graph: await taskDependencyGraph({{ projectRoot, includeDone: false }}) }};"
        ))
        .await?;
    assert_eq!(result["report"]["blocked"], json!([{ "id": "5", "title": "Accessibility pass on the form", "waitingOn": ["42"] }]), "{result:#}");
    assert_eq!(result["graph"]["nodes"], json!(3), "tasks 1 and 2 are done: {result:#}");
    assert_eq!(result["graph"]["missing"], json!([["5", "42"]]), "{result:#}");
    let all = seed.run(&format!("import g from \"skills/task-dependency-graph\"; return await g({{ projectRoot: {project:?} }});")).await?;
    assert_eq!(all["cycles"], json!([["1", "3", "2"]]), "{all:#}");
    Ok(())
}

#[tokio::test]
async fn the_task_reports_of_a_project_without_a_task_file_are_empty() -> Result<()> {
    let seed = Seed::start().await?;
    std::fs::remove_dir_all(seed.project.join(".taskmaster/tasks"))?;
    let report = call_skill(&seed, "task-triage-report", json!({ "projectRoot": root(&seed) })).await?;
    assert_eq!(report, json!({ "total": 0, "open": 0, "byStatus": {}, "byPriority": {}, "blocked": [], "next": null }));
    let graph = call_skill(&seed, "task-dependency-graph", json!({ "projectRoot": root(&seed) })).await?;
    assert_eq!(graph, json!({ "nodes": 0, "edges": [], "missing": [], "cycles": [], "mermaid": "flowchart LR" }));
    Ok(())
}
