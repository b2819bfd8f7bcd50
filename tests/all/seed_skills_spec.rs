//! The skills `spec-workflow-analyzer` and `code-quality-check` against the
//! real servers of the seed config (the filesystem stand-in of spec-workflow,
//! the ide server, task-master), on a scratch copy of the example project:
//! each called as a tool and imported by a program. The analyzer's findings
//! are checked against the log files as this test reads them itself; the
//! quality check's counts against the ide's raw diagnostics, and the tasks it
//! files against the task file on disk. Empty projects and a server that
//! cannot start too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::seed_servers::Seed;
use crate::seed_skills_tasks::{call_skill, text_of};

const CONTACT_SPEC: &str = "contact-form-enhancement";

/// One implementation log file as spec-workflow 2.2.7 writes it, read here without the skill.
#[derive(Debug, Default)]
struct LogFile {
    task: String,
    endpoints: Vec<(String, String)>,
    components: Vec<String>,
    integrations: Vec<String>,
    lines: (u64, u64),
    files: Vec<String>,
}

fn read_log(source: &str) -> LogFile {
    let mut log = LogFile::default();
    let (mut section, mut kind, mut heading) = (String::new(), String::new(), String::new());
    let mut frontend = String::new();
    for line in source.lines() {
        let field = |name: &str| line.strip_prefix(&format!("- **{name}:** ")).map(str::trim).map(str::to_owned);
        if let Some(task) = line.strip_prefix("# Implementation Log: Task ") {
            log.task = task.trim().to_owned();
        } else if let Some(name) = line.strip_prefix("## ") {
            (section, kind) = (name.to_owned(), String::new());
        } else if let Some(name) = line.strip_prefix("### ") {
            kind = name.to_owned();
        } else if let Some(name) = line.strip_prefix("#### ") {
            heading = name.to_owned();
            if kind == "Components" {
                log.components.push(heading.clone());
            }
        } else if let (Some(location), "API Endpoints") = (field("Location"), kind.as_str()) {
            log.endpoints.push((heading.clone(), location));
        } else if let Some(name) = field("Frontend Component") {
            frontend = name;
        } else if let Some(backend) = field("Backend Endpoint") {
            log.integrations.push(format!("{frontend} → {backend}"));
        } else if let Some(added) = field("Lines Added") {
            log.lines.0 = added.trim_start_matches('+').parse().unwrap();
        } else if let Some(removed) = field("Lines Removed") {
            log.lines.1 = removed.trim_start_matches('-').parse().unwrap();
        } else if (section == "Files Modified" || section == "Files Created") && line.starts_with("- ") {
            log.files.push(line[2..].to_owned());
        }
    }
    log
}

/// The logs of `specs` on disk, each task named `task` for one spec and `spec/task` for several.
fn logs_on_disk(project: &Path, specs: &[&str]) -> Result<Vec<LogFile>> {
    let mut logs = Vec::new();
    for spec in specs {
        for entry in std::fs::read_dir(project.join(".spec-workflow/specs").join(spec).join("Implementation Logs"))? {
            let mut log = read_log(&std::fs::read_to_string(entry?.path())?);
            if specs.len() > 1 {
                log.task = format!("{spec}/{}", log.task);
            }
            logs.push(log);
        }
    }
    Ok(logs)
}

/// What the analyzer should find in `logs`, computed here (components and endpoints counted by distinct tasks).
fn expected_statistics(logs: &[LogFile]) -> Value {
    let mut endpoints: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut components: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for log in logs {
        for (endpoint, _) in &log.endpoints {
            endpoints.entry(endpoint).or_default().insert(&log.task);
        }
        for component in &log.components {
            components.entry(component).or_default().insert(&log.task);
        }
    }
    // The five used by the most tasks, ties by name.
    let mut ranked: Vec<(&str, usize)> = components.iter().map(|(name, tasks)| (*name, tasks.len())).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let top_components: BTreeMap<&str, usize> = ranked.into_iter().take(5).collect();
    let duplicates: BTreeMap<&str, &BTreeSet<&str>> = endpoints.iter().filter(|(_, tasks)| tasks.len() > 1).map(|(k, v)| (*k, v)).collect();
    let tasks: BTreeSet<&str> = logs.iter().map(|log| log.task.as_str()).collect();
    let files: BTreeSet<&str> = logs.iter().flat_map(|log| log.files.iter().map(String::as_str)).collect();
    let patterns: BTreeSet<&str> = logs.iter().flat_map(|log| log.integrations.iter().map(String::as_str)).collect();
    json!({
        "totalAPIs": endpoints.len(),
        "duplicates": duplicates,
        "totalComponents": components.len(),
        "topComponents": top_components,
        "integrationPatterns": patterns.len(),
        "entries": logs.len(),
        "tasks": tasks.len(),
        "files": files.len(),
        "added": logs.iter().map(|log| log.lines.0).sum::<u64>(),
        "removed": logs.iter().map(|log| log.lines.1).sum::<u64>(),
    })
}

/// The same figures, from the analyzer's answer.
fn reported_statistics(answer: &Value) -> Value {
    let statistics = &answer["statistics"];
    let duplicates: BTreeMap<String, BTreeSet<String>> = statistics["duplicateEndpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|duplicate| {
            let tasks = duplicate["tasks"].as_array().unwrap().iter().map(|task| task.as_str().unwrap().to_owned()).collect();
            (duplicate["endpoint"].as_str().unwrap().to_owned(), tasks)
        })
        .collect();
    let stats = &statistics["taskStats"];
    json!({
        "totalAPIs": statistics["totalAPIs"],
        "duplicates": duplicates,
        "totalComponents": statistics["totalComponents"],
        "topComponents": statistics["topComponents"],
        "integrationPatterns": statistics["integrationPatterns"],
        "entries": statistics["logEntries"],
        "tasks": stats["totalTasks"],
        "files": stats["totalFiles"],
        "added": stats["totalLinesAdded"],
        "removed": stats["totalLinesRemoved"],
    })
}

/// The ids of `tasks.md` marked done, read here.
fn done_in_tasks_md(project: &Path, spec: &str) -> Result<BTreeSet<String>> {
    let source = std::fs::read_to_string(project.join(".spec-workflow/specs").join(spec).join("tasks.md"))?;
    Ok(source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("- [x] "))
        .map(|rest| rest.split_whitespace().next().unwrap().trim_end_matches('.').to_owned())
        .collect())
}

#[tokio::test]
async fn spec_workflow_analyzer_finds_what_the_implementation_logs_hold() -> Result<()> {
    let seed = Seed::start().await?;
    let project = seed.project.display().to_string();
    let answer = call_skill(&seed, "spec-workflow-analyzer", json!({ "projectRoot": project, "specName": CONTACT_SPEC })).await?;
    let logs = logs_on_disk(&seed.project, &[CONTACT_SPEC])?;
    let expected = expected_statistics(&logs);
    // The fixture's README: 11 entries for 10 tasks, POST /api/contact logged by 1.3 and 3.1.
    assert_eq!((&expected["entries"], &expected["tasks"]), (&json!(11), &json!(10)));
    assert_eq!(expected["duplicates"], json!({ "POST /api/contact": ["1.3", "3.1"] }));
    assert_eq!(reported_statistics(&answer), expected, "{answer:#}");
    assert_eq!(answer["statistics"]["duplicateAPIs"], json!(1));
    assert_eq!(answer["statistics"]["duplicateFunctions"], json!([]), "one task's follow-up is not a duplicate: {answer:#}");

    // tasks.md against the logs: 2.5 is done without a log, 3.2 logged but not done.
    let logged: BTreeSet<String> = logs.iter().map(|log| log.task.clone()).collect();
    let done_without_log: Vec<String> = done_in_tasks_md(&seed.project, CONTACT_SPEC)?.difference(&logged).cloned().collect();
    assert_eq!(done_without_log, ["2.5"]);
    let stats = &answer["statistics"]["taskStats"];
    assert_eq!((&stats["doneWithoutLog"], &stats["loggedNotDone"]), (&json!(done_without_log), &json!(["3.2"])), "{answer:#}");
    assert_eq!((&stats["tasksInDocuments"], &stats["done"], &stats["inProgress"], &stats["pending"]), (&json!(13), &json!(10), &json!(1), &json!(2)));
    let findings = answer["findings"].as_array().unwrap();
    assert!(findings.contains(&json!("API POST /api/contact changed by tasks 1.3, 3.1 (src/server/contact/contactRouter.ts)")), "{answer:#}");
    assert!(findings.contains(&json!("Marked done without an implementation log: 2.5")), "{answer:#}");

    // A later task of the other spec implements POST /api/contact and formatZodErrors again, in
    // files of its own, and calls an endpoint nobody logged. The plan's workflow 2, imported, over
    // every spec: the new log is read, the others come from the cache.
    let newsletter_log = seed.project.join(".spec-workflow/specs/newsletter-signup/Implementation Logs/task-4_2026-11-25T0900_0a1b2c3d.md");
    std::fs::write(&newsletter_log, NEWSLETTER_TASK_4_LOG)?;
    let all = seed
        .run(&format!(
            "import analyzeImplementationLogs from \"./skills/spec-workflow-analyzer.ts\";
             const analysis = await analyzeImplementationLogs({{
               projectRoot: {project:?},
               analysis: {{ findDuplicateAPIs: true, componentUsage: true, integrationPatterns: true, taskStatistics: true }},
             }});
             return {{ report: analysis.findings.join(\"\\n\"), analysis }};"
        ))
        .await?;
    let analysis = &all["analysis"];
    let logs = logs_on_disk(&seed.project, &[CONTACT_SPEC, "newsletter-signup"])?;
    assert_eq!(logs.len(), 15);
    assert_eq!(reported_statistics(analysis), expected_statistics(&logs), "{analysis:#}");
    assert_eq!(analysis["specs"], json!([CONTACT_SPEC, "newsletter-signup"]));
    assert_eq!((&analysis["statistics"]["logFiles"], &analysis["statistics"]["cachedLogs"]), (&json!(15), &json!(11)), "{analysis:#}");
    let report = all["report"].as_str().unwrap();
    assert!(
        report.contains(
            "Duplicate API: POST /api/contact implemented in tasks contact-form-enhancement/1.3, contact-form-enhancement/3.1, newsletter-signup/4 in src/server/contact/contactRouter.ts, src/server/newsletter/contactProxy.ts"
        ),
        "{report}"
    );
    assert_eq!(
        analysis["statistics"]["duplicateFunctions"],
        json!([{
            "name": "formatZodErrors",
            "tasks": ["contact-form-enhancement/1.1", "newsletter-signup/4"],
            "locations": ["src/shared/validation/common.ts:41", "src/server/newsletter/formatErrors.ts:3"],
        }]),
        "{analysis:#}"
    );
    assert!(!report.contains("createRateLimiter"), "reused from its own file, not duplicated: {report}");
    assert_eq!(analysis["statistics"]["unloggedBackends"], json!(["DELETE /api/newsletter/subscriptions/:id"]), "{analysis:#}");
    assert_eq!(analysis["statistics"]["taskStats"]["loggedNotDone"], json!(["contact-form-enhancement/3.2", "newsletter-signup/4"]));
    Ok(())
}

/// A log of newsletter task 4 (pending in its tasks.md), in spec-workflow 2.2.7's format.
const NEWSLETTER_TASK_4_LOG: &str = "# Implementation Log: Task 4

**Summary:** Unsubscribe handling, with a contact proxy

**Timestamp:** 2026-11-25T09:00:12.000Z
**Log ID:** 0a1b2c3d-0000-4000-8000-000000000004

---

## Statistics

- **Lines Added:** +64
- **Lines Removed:** -3
- **Files Changed:** 3
- **Net Change:** 61

## Files Modified
- src/server/newsletter/newsletterRouter.ts

## Files Created
- src/server/newsletter/contactProxy.ts
- src/server/newsletter/formatErrors.ts

---

## Artifacts

### API Endpoints

#### POST /api/contact
- **Purpose:** Accepts contact messages sent from the newsletter footer
- **Location:** src/server/newsletter/contactProxy.ts:12

### Functions

#### formatZodErrors
- **Purpose:** Field errors for the unsubscribe form
- **Location:** src/server/newsletter/formatErrors.ts:3
- **Signature:** (error: ZodError) => Record<string, string>
- **Exported:** Yes

### Integrations

#### Integration
- **Description:** The footer form cancels a subscription
- **Frontend Component:** NewsletterSignupForm
- **Backend Endpoint:** DELETE /api/newsletter/subscriptions/:id
- **Data Flow:** Click → DELETE → confirmation
";

#[tokio::test]
async fn spec_workflow_analyzer_on_a_project_without_specs_reports_nothing_and_an_unknown_spec_is_an_error() -> Result<()> {
    let seed = Seed::start().await?;
    std::fs::remove_dir_all(seed.project.join(".spec-workflow/specs"))?;
    let answer = call_skill(&seed, "spec-workflow-analyzer", json!({})).await?;
    assert_eq!(answer["specs"], json!([]));
    assert_eq!(answer["findings"], json!(["No implementation logs in 0 spec(s)", "0 task(s) logged in 0 entries, 0 files changed, +0/-0 lines; tasks.md: 0 of 0 done"]));
    assert_eq!(answer["recommendations"], json!([]));
    let statistics = &answer["statistics"];
    assert_eq!((&statistics["totalAPIs"], &statistics["totalComponents"], &statistics["integrationPatterns"]), (&json!(0), &json!(0), &json!(0)));
    assert_eq!(statistics["taskStats"]["avgLinesPerTask"], json!(0), "no division by zero: {answer:#}");

    let unknown = seed.host.call("skill_spec-workflow-analyzer", json!({ "specName": "nowhere" })).await?;
    assert_eq!(unknown.is_error, Some(true), "{}", text_of(&unknown));
    assert!(text_of(&unknown).contains("no spec named \"nowhere\""), "{}", text_of(&unknown));
    Ok(())
}

/// `(errors, warnings, info, hints, files with diagnostics)` of the ide's raw answer.
fn counted(files: &Value) -> (usize, usize, usize, usize, usize) {
    let severities: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|file| file["diagnostics"].as_array().unwrap().iter().map(|d| d["severity"].as_str().unwrap()))
        .collect();
    let of = |severity: &str| severities.iter().filter(|s| **s == severity).count();
    let with = files.as_array().unwrap().iter().filter(|file| !file["diagnostics"].as_array().unwrap().is_empty()).count();
    (of("Error"), of("Warning"), of("Info"), of("Hint"), with)
}

fn task_file(seed: &Seed) -> Result<Value> {
    Ok(serde_json::from_slice(&std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?)?)
}

fn task_titles(seed: &Seed) -> Result<Vec<(String, String, String)>> {
    let file = task_file(seed)?;
    let text = |value: &Value| value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
    Ok(file["master"]["tasks"]
        .as_array()
        .context("master.tasks")?
        .iter()
        .map(|task| (text(&task["id"]), text(&task["title"]), text(&task["priority"])))
        .collect())
}

#[tokio::test]
async fn code_quality_check_counts_the_compilers_problems_and_files_tasks_for_errors_once() -> Result<()> {
    let seed = Seed::start().await?;
    let raw = seed.run("const ide = await import(\"mcp://ide\"); return await ide.getDiagnostics({});").await?;
    let (errors, warnings, info, hints, with) = counted(&raw);
    assert_eq!((errors, warnings, info, hints, with), (4, 0, 0, 1, 3), "the example's known problems: {raw:#}");

    let answer = call_skill(&seed, "code-quality-check", json!({ "createTasks": true, "maxTasks": 3 })).await?;
    assert_eq!(answer["passed"], json!(false));
    assert_eq!(answer["diagnostics"], json!({ "errors": errors, "warnings": warnings, "info": info, "hints": hints }), "{answer:#}");
    assert_eq!(answer["files"], json!({ "checked": 4, "clean": 1, "withProblems": with }), "src/contact/model.ts is clean: {answer:#}");
    assert_eq!(answer["unused"], json!(1), "TOPICS in src/index.ts: {answer:#}");
    assert_eq!(answer["topCodes"][0]["code"], json!("TS2322"));
    assert_eq!(answer["topCodes"][0]["count"], json!(2));
    assert_eq!(answer["tasksCreated"], json!(3), "{answer:#}");
    let titles = ["Fix TS2322 in src/api/contact.ts:4", "Fix TS2551 in src/api/contact.ts:18", "Fix TS2345 in src/contact/validate.ts:14"];
    let created: Vec<&str> = answer["tasks"]["created"].as_array().unwrap().iter().map(|task| task["title"].as_str().unwrap()).collect();
    assert_eq!(created, titles);
    let on_disk = task_titles(&seed)?;
    assert_eq!(on_disk.len(), 8, "{on_disk:#?}");
    for (task, title) in answer["tasks"]["created"].as_array().unwrap().iter().zip(titles) {
        let id = task["id"].as_str().unwrap().to_owned();
        assert!(on_disk.contains(&(id, title.to_owned(), "high".to_owned())), "{title} in the task file: {on_disk:#?}");
    }
    let file = task_file(&seed)?;
    let typo = file["master"]["tasks"].as_array().unwrap().iter().find(|task| task["title"] == json!(titles[1])).unwrap();
    assert_eq!(typo["description"], json!("Property 'mesage' does not exist on type 'ValidationError'. Did you mean 'message'?"));

    // One error fixed on disk; imported, a second run files the remaining error only and names
    // the task whose error is gone.
    let contact = seed.project.join("src/api/contact.ts");
    std::fs::write(&contact, std::fs::read_to_string(&contact)?.replace("number = \"5\"", "number = 5"))?;
    let second = seed
        .run("import { codeQualityCheck } from \"skills/code-quality-check\"; return await codeQualityCheck({ createTasks: true });")
        .await?;
    assert_eq!(second["diagnostics"]["errors"], json!(3), "{second:#}");
    assert_eq!(second["tasksCreated"], json!(1), "{second:#}");
    assert_eq!(second["tasks"]["created"][0]["title"], json!("Fix TS2322 in src/contact/validate.ts:27"));
    assert_eq!(second["tasks"]["skipped"], json!(titles[1..]));
    assert_eq!(second["tasks"]["stale"], json!([{ "id": answer["tasks"]["created"][0]["id"], "title": titles[0] }]), "{second:#}");
    assert_eq!(task_titles(&seed)?.len(), 9);
    Ok(())
}

#[tokio::test]
async fn code_quality_check_of_an_empty_project_and_of_a_clean_one() -> Result<()> {
    let seed = Seed::start().await?;
    let before = std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?;
    let src = seed.project.join("src");
    std::fs::remove_dir_all(&src)?;
    std::fs::create_dir(&src)?;
    // No sources: the compiler's own answer, as `tsc` gives it, is an error of the tsconfig.
    let empty = call_skill(&seed, "code-quality-check", json!({})).await?;
    assert_eq!(empty["files"], json!({ "checked": 0, "clean": 0, "withProblems": 1 }), "{empty:#}");
    assert_eq!(empty["diagnostics"]["errors"], json!(1));
    assert_eq!((&empty["topCodes"][0]["code"], &empty["worstFiles"][0]["path"]), (&json!("TS18003"), &json!("tsconfig.json")), "{empty:#}");

    std::fs::write(src.join("ok.ts"), "export const answer: number = 42;\n")?;
    let clean = seed
        .run("import codeQualityCheck from \"skills/code-quality-check\"; return await codeQualityCheck({ createTasks: true });")
        .await?;
    assert_eq!(clean["passed"], json!(true), "{clean:#}");
    assert_eq!(clean["diagnostics"], json!({ "errors": 0, "warnings": 0, "info": 0, "hints": 0 }));
    assert_eq!(clean["files"], json!({ "checked": 1, "clean": 1, "withProblems": 0 }));
    assert_eq!((&clean["worstFiles"], &clean["topCodes"], &clean["tasksCreated"]), (&json!([]), &json!([]), &json!(0)));
    assert_eq!(std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?, before, "no task written");
    Ok(())
}

#[tokio::test]
async fn code_quality_check_without_a_working_ide_fails_naming_it_and_files_nothing() -> Result<()> {
    let seed = Seed::start().await?;
    std::fs::remove_file(seed.project.join("tsconfig.json"))?;
    let before = std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?;
    let result = seed.host.call("skill_code-quality-check", json!({ "createTasks": true })).await?;
    assert_eq!(result.is_error, Some(true), "{}", text_of(&result));
    assert!(text_of(&result).contains("server `ide` is not available"), "{}", text_of(&result));
    assert_eq!(std::fs::read(seed.project.join(".taskmaster/tasks/tasks.json"))?, before);
    Ok(())
}
