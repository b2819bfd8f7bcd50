//! Approvals through elicitation (issue 14): a tool the policy asks about is
//! called only once the human behind the client allows it, through the real
//! binary, with an rmcp client that answers `elicitation/create` and the
//! memory server, whose file shows what was really written.

use std::collections::VecDeque;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use rmcp::model::{ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction, Implementation};
use rmcp::service::RequestContext;
use rmcp::{ClientHandler, ErrorData, RoleClient};
use serde_json::{Value, json};

use crate::util::{Host, HostOptions, expect_error, expect_result, npm_server};

/// A human at the client: answers each elicitation with the next scripted
/// answer (after its delay), and remembers the questions.
#[derive(Clone, Default)]
struct Human {
    answers: Arc<Mutex<VecDeque<(Duration, Option<&'static str>)>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Human {
    /// `Some(choice)` accepts with that choice; `None` declines.
    fn answering(answers: &[(u64, Option<&'static str>)]) -> Self {
        let human = Human::default();
        human.answers.lock().unwrap().extend(answers.iter().map(|(ms, choice)| (Duration::from_millis(*ms), *choice)));
        human
    }

    fn questions(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl ClientHandler for Human {
    fn get_info(&self) -> ClientConfig {
        let capabilities = ClientCapabilities::builder().enable_elicitation().build();
        ClientConfig::new(capabilities, Implementation::new("approvals-test", "1"))
    }

    fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> impl Future<Output = Result<ElicitResult, ErrorData>> + Send + '_ {
        async move {
            let message = match &request {
                ElicitRequestParams::FormElicitationParams { message, .. } => message.clone(),
                other => format!("{other:?}"),
            };
            self.asked.lock().unwrap().push(message);
            let (delay, choice) = self.answers.lock().unwrap().pop_front().unwrap_or((Duration::ZERO, None));
            tokio::time::sleep(delay).await;
            Ok(match choice {
                Some(choice) => ElicitResult::new(ElicitationAction::Accept).with_content(json!({ "decision": choice })),
                None => ElicitResult::new(ElicitationAction::Decline),
            })
        }
    }
}

fn options(memory_file: &Path, rules: Value, extra: Value) -> HostOptions {
    let memory = json!({
        "command": "node",
        "args": [npm_server("@modelcontextprotocol/server-memory", "dist/index.js")],
        "env": { "MEMORY_FILE_PATH": memory_file }
    });
    let mut runtime = json!({ "servers": { "memory": rules } });
    if let (Value::Object(runtime), Value::Object(extra)) = (&mut runtime, extra) {
        runtime.extend(extra);
    }
    HostOptions { servers: json!({ "memory": memory }), runtime, ..Default::default() }
}

/// The entity names the memory server's file holds.
fn stored(memory_file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(memory_file).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["type"] == "entity")
        .filter_map(|record| record["name"].as_str().map(str::to_owned))
        .collect()
}

const CREATE_TWO: &str = r#"
const make = (name) => mcp.call("memory", "create_entities", { entities: [{ name, entityType: "t", observations: [] }] });
const outcome = [];
for (const name of ["first", "second"]) {
  try { await make(name); outcome.push("ok"); } catch (error) { outcome.push(error.kind); }
}
return outcome;
"#;

#[tokio::test]
async fn allow_once_asks_for_every_call_and_names_the_tool_and_arguments() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("memory.jsonl");
    let human = Human::answering(&[(0, Some("allow_once")), (0, Some("deny"))]);
    let host = Host::start_with_client(options(&file, json!({ "askTools": ["create_*"] }), json!({})), human.clone()).await?;
    let response = host.execute_with(json!({ "code": CREATE_TWO, "stats": "full" })).await?;
    assert_eq!(expect_result(&response), &json!(["ok", "approval_denied"]), "{response:#}");
    assert_eq!(stored(&file), ["first"], "only the approved call reached the server");
    let questions = human.questions();
    assert_eq!(questions.len(), 2);
    assert!(questions[0].contains("create_entities") && questions[0].contains("memory") && questions[0].contains("\"first\""), "{}", questions[0]);
    let decisions: Vec<&Value> = response["stats"]["approvals"].as_array().map(|all| all.iter().map(|record| &record["decision"]).collect()).unwrap_or_default();
    assert_eq!(decisions, [&json!("allow_once"), &json!("denied")], "{response:#}");
    Ok(())
}

#[tokio::test]
async fn allow_for_run_covers_later_calls_and_a_new_run_asks_again() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("memory.jsonl");
    let human = Human::answering(&[(0, Some("allow_for_run")), (0, None)]);
    let host = Host::start_with_client(options(&file, json!({ "askTools": ["create_entities"] }), json!({})), human.clone()).await?;
    assert_eq!(expect_result(&host.execute(CREATE_TWO).await?), &json!(["ok", "ok"]));
    assert_eq!(human.questions().len(), 1, "one answer for the run");
    let again = host.execute("await mcp.call('memory', 'create_entities', { entities: [{ name: 'third', entityType: 't', observations: [] }] });").await?;
    let error = expect_error(&again, "approval_denied");
    assert!(error["message"].as_str().unwrap_or_default().contains("declined"), "{again:#}");
    assert_eq!(stored(&file), ["first", "second"]);
    Ok(())
}

#[tokio::test]
async fn destructive_tools_are_asked_about_when_the_config_says_so() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("memory.jsonl");
    let human = Human::answering(&[(0, None)]);
    let host = Host::start_with_client(options(&file, json!({}), json!({ "askDestructive": true })), human.clone()).await?;
    let code = r#"
await mcp.call("memory", "create_entities", { entities: [{ name: "keep", entityType: "t", observations: [] }] });
try { await mcp.call("memory", "delete_entities", { entityNames: ["keep"] }); } catch (error) { return error.kind; }
return "deleted";
"#;
    assert_eq!(expect_result(&host.execute(code).await?), &json!("approval_denied"));
    assert_eq!(stored(&file), ["keep"], "the declined delete never reached the server");
    assert_eq!(human.questions().len(), 1, "create_entities is not destructive: not asked");
    Ok(())
}

#[tokio::test]
async fn waiting_for_a_human_does_not_count_against_the_deadline_but_the_approval_timeout_does() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("memory.jsonl");
    let human = Human::answering(&[(1_500, Some("allow_once")), (5_000, Some("allow_once"))]);
    let extra = json!({ "limits": { "approvalTimeoutMs": 2_000 } });
    let host = Host::start_with_client(options(&file, json!({ "askTools": ["create_entities"] }), extra), human).await?;
    let code = "await mcp.call('memory', 'create_entities', { entities: [{ name: 'slow', entityType: 't', observations: [] }] }); return 'done';";
    let answered = host.execute_with(json!({ "code": code, "timeout": 1_000 })).await?;
    assert_eq!(expect_result(&answered), &json!("done"), "1.5 s of waiting for a human is not the program's 1 s: {answered:#}");
    let started = Instant::now();
    let timed_out = host.execute_with(json!({ "code": code, "timeout": 60_000 })).await?;
    let error = expect_error(&timed_out, "approval_denied");
    assert!(error["message"].as_str().unwrap_or_default().contains("within 2 s"), "{timed_out:#}");
    assert!(started.elapsed() < Duration::from_secs(30), "the approval timeout ended the wait");
    assert_eq!(stored(&file), ["slow"]);
    Ok(())
}

#[tokio::test]
async fn a_client_that_cannot_ask_gets_a_denial_that_says_how_to_allow_the_tool() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("memory.jsonl");
    let host = Host::start_with(options(&file, json!({ "askTools": ["create_entities"] }), json!({}))).await?;
    let response = host.execute(CREATE_TWO).await?;
    assert_eq!(expect_result(&response), &json!(["approval_denied", "approval_denied"]));
    let message = host.execute("await mcp.call('memory', 'create_entities', { entities: [] });").await?;
    let text = expect_error(&message, "approval_denied")["message"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains("elicitation") && text.contains("askTools"), "{text}");
    assert!(stored(&file).is_empty());
    Ok(())
}
