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
async fn call_skill(seed: &Seed, name: &str, arguments: Value) -> Result<Value> {
    let result = seed.host.call(&format!("skill_{name}"), arguments).await?;
    assert_eq!(result.is_error, Some(false), "skill_{name} failed: {}", text_of(&result));
    result.structured_content.context("structured content")
}

fn text_of(result: &CallToolResult) -> String {
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
