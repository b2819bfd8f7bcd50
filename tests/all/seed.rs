//! The seed plan's example programs, run unchanged against the real servers
//! they name where those install here (task-master-ai from npm). Only the
//! seed's hard-coded project path is replaced by a temporary project.

use anyhow::Result;
use serde_json::json;

use crate::util::{Host, HostOptions, expect_result, tests_dir};

#[tokio::test]
async fn the_seed_test_programs_run_unchanged() -> Result<()> {
    let home = tempfile::tempdir()?;
    let project = tempfile::tempdir()?;
    let server = tests_dir().join("seed/node_modules/task-master-ai/dist/mcp-server.js");
    assert!(server.exists(), "{} is missing: run `make setup`", server.display());
    let servers = json!({
        "task-master": { "command": "node", "args": [server], "env": { "TASK_MASTER_TOOLS": "all", "HOME": home.path(), "SHELL": "/bin/sh" } }
    });
    let host = Host::start_with(HostOptions { servers, ..Default::default() }).await?;
    let root = project.path().display().to_string();

    // "Simple arithmetic execution"
    assert_eq!(expect_result(&host.execute("return 2 + 2;").await?), &json!(4));

    // "MCP server access - list servers"
    let listed = host.execute("\n      const servers = await listMCPServers();\n      return servers.length > 0;\n    ").await?;
    assert_eq!(expect_result(&listed), &json!(true));

    // Prepare a project as a user would, with the seed's own style of calls.
    let setup = format!(
        "const taskmaster = await import(\"mcp://task-master\");\nawait taskmaster.initializeProject({{ projectRoot: {root:?}, skipInstall: true, addAliases: false, initGit: false, storeTasksInGit: false, yes: true }});\nawait taskmaster.addTask({{ projectRoot: {root:?}, title: \"Fix the build\", description: \"The build fails\", priority: \"high\" }});\nreturn true;"
    );
    assert_eq!(expect_result(&host.execute(&setup).await?), &json!(true));

    // "Task Master integration", with mcpServers: ["task-master"] as in the seed.
    let seed_program = "\n      const tasks = await taskmaster.getTasks({\n        projectRoot: \"/home/headon/projects/headon\"\n      });\n      return tasks.length;\n    ".replace("/home/headon/projects/headon", &root);
    let response = host.execute_with(json!({ "code": seed_program, "timeout": 15000, "mcpServers": ["task-master"] })).await?;
    // task-master-ai 0.43 answers `{data: {tasks}}`, not the array the seed assumed, so `length` is undefined.
    assert_eq!(expect_result(&response), &json!(null));
    let counted = host
        .execute_with(json!({ "code": format!("const tasks = await taskmaster.getTasks({{ projectRoot: {root:?} }});\nreturn tasks.data.tasks.map((t: any) => t.title);"), "mcpServers": ["task-master"] }))
        .await?;
    assert_eq!(expect_result(&counted), &json!(["Fix the build"]));
    Ok(())
}
