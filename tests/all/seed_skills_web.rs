//! The chrome-devtools and sequential-thinking skills (`web-testing`, `site-audit`,
//! `form-automation`, `think-through`) against the real servers of
//! `config/seed-servers.json`, set up as in `seed_servers.rs`: each called as its
//! tool `skill_<name>` and imported from a program, checked against what the
//! page served here on loopback really has (its console error, its 404, its
//! image without alt text), what that server received (the posted form), and
//! what the thinking server holds. Nothing here contacts anything but loopback.

use anyhow::{Context, Result};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

use crate::seed_servers::{Seed, Site};

/// A loopback URL nothing listens on: a port bound, then released.
async fn unreachable_url() -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(format!("http://127.0.0.1:{port}/index.html"))
}

/// The text blocks of a tool result, joined.
fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|block| block.as_text()).map(|text| text.text.as_str()).collect()
}

/// The structured content of a successful skill tool call.
fn structured(result: &CallToolResult) -> Result<Value> {
    assert_eq!(result.is_error, Some(false), "the skill failed: {}", text_of(result));
    result.structured_content.clone().context("a skill with an output schema answers structured content")
}

/// The messages of `report["issues"]` of `kind`.
fn messages(report: &Value, kind: &str) -> Vec<String> {
    let issues = report["issues"].as_array().unwrap_or_else(|| panic!("issues: {report:#}"));
    issues.iter().filter(|issue| issue["type"] == json!(kind)).map(|issue| issue["message"].as_str().unwrap().to_owned()).collect()
}

async fn seed_and_site() -> Result<(Seed, Site)> {
    let seed = Seed::start().await?;
    let site = Site::serve(seed.project.join("site")).await?;
    Ok((seed, site))
}

#[tokio::test]
async fn web_testing_finds_the_contact_pages_console_error_404_and_image_without_alt() -> Result<()> {
    let (seed, site) = seed_and_site().await?;
    let origin = format!("http://127.0.0.1:{}", site.port);
    let url = format!("{origin}/index.html");

    // Imported, only the accessibility check (this also starts Chromium under the run's long limit).
    let imported = seed
        .run(&format!("import {{ webTesting }} from \"skills/web-testing\"; return await webTesting({{ url: {url:?}, checks: [\"accessibility\"] }});"))
        .await?;
    assert_eq!(imported["counts"], json!({ "accessibility": 1 }), "{imported:#}");
    assert_eq!(messages(&imported, "accessibility"), [format!("image without alt text: {origin}/logo.svg")]);
    assert!(imported.get("performance").is_none(), "{imported:#}");

    // As a tool, every check.
    let report = structured(&seed.host.call("skill_web-testing", json!({ "url": url })).await?)?;
    assert_eq!(report["url"], json!(url));
    assert_eq!(report["passed"], json!(false), "console errors are critical: {report:#}");
    let console = messages(&report, "console");
    assert!(console.contains(&"Contact form: no topics to choose from".to_owned()), "{report:#}");
    assert!(console.contains(&"Contact form: loading the topics failed (HTTP 404)".to_owned()), "{report:#}");
    assert!(messages(&report, "network").contains(&format!("GET {origin}/api/contact/topics 404")), "{report:#}");
    assert!(messages(&report, "accessibility").contains(&format!("image without alt text: {origin}/logo.svg")), "{report:#}");
    assert!(!messages(&report, "network").iter().any(|message| message.contains("/app.js")), "app.js loaded: {report:#}");
    assert!(report["performance"]["lcpMs"].as_f64().is_some_and(|lcp| lcp > 0.0), "the trace works offline: {report:#}");
    assert!(report["performance"]["cls"].as_f64().is_some(), "{report:#}");
    let critical_first = report["issues"][0]["severity"].clone();
    assert_eq!(critical_first, json!("critical"), "{report:#}");
    // The browser really asked this server for the page's broken endpoint.
    assert!(site.wait_for("/api/contact/topics").await, "{:?}", site.requested.lock().unwrap());

    // A page that cannot be opened is an error naming it, not an empty report.
    let down = unreachable_url().await?;
    let failed = seed.host.call("skill_web-testing", json!({ "url": down })).await?;
    assert_eq!(failed.is_error, Some(true), "{}", text_of(&failed));
    assert!(text_of(&failed).contains(&format!("web-testing: cannot open {down}")), "{}", text_of(&failed));
    assert!(text_of(&failed).contains("ERR_CONNECTION_REFUSED"), "{}", text_of(&failed));
    Ok(())
}

#[tokio::test]
async fn site_audit_reports_each_page_and_the_worst_issues_and_survives_a_dead_page() -> Result<()> {
    let (seed, site) = seed_and_site().await?;
    let origin = format!("http://127.0.0.1:{}", site.port);
    let (contact, missing, down) = (format!("{origin}/index.html"), format!("{origin}/missing.html"), unreachable_url().await?);
    let audit = seed
        .run(&format!(
            "import siteAudit from \"skills/site-audit\";
             return await siteAudit({{ urls: [{contact:?}, {missing:?}, {down:?}], worst: 50 }});"
        ))
        .await?;
    assert_eq!(audit["passed"], json!(false));
    let pages = audit["pages"].as_array().context("pages")?;
    assert_eq!(pages.len(), 3, "{audit:#}");
    assert_eq!(pages[0]["url"], json!(contact));
    assert!(pages[0]["critical"].as_u64().is_some_and(|critical| critical >= 2), "{audit:#}");
    assert_eq!(pages[0]["counts"]["accessibility"], json!(1), "{audit:#}");
    assert!(pages[0]["performance"]["lcpMs"].as_f64().is_some(), "{audit:#}");
    assert!(pages[1]["counts"]["network"].as_u64().is_some_and(|count| count >= 1), "{audit:#}");
    assert_eq!(pages[2]["url"], json!(down));
    assert!(pages[2]["error"].as_str().is_some_and(|error| error.contains("cannot open")), "{audit:#}");
    let worst = audit["worst"].as_array().context("worst")?;
    assert_eq!(worst[0]["severity"], json!("critical"), "{audit:#}");
    let topics = worst.iter().find(|issue| issue["message"] == json!("Contact form: no topics to choose from")).context("the console error")?;
    assert_eq!(topics["urls"], json!([contact]));
    let page_404 = worst.iter().find(|issue| issue["message"] == json!(format!("GET {missing} 404"))).context("the missing page")?;
    assert_eq!(page_404["urls"], json!([missing]));
    assert!(site.requested.lock().unwrap().contains(&"/missing.html".to_owned()));

    let as_tool = structured(&seed.host.call("skill_site-audit", json!({ "urls": [contact], "worst": 3 })).await?)?;
    assert_eq!(as_tool["pages"].as_array().map(Vec::len), Some(1), "{as_tool:#}");
    assert_eq!(as_tool["worst"].as_array().map(Vec::len), Some(3), "{as_tool:#}");
    Ok(())
}

#[tokio::test]
async fn form_automation_posts_the_contact_form_and_reports_the_page_after() -> Result<()> {
    let (seed, site) = seed_and_site().await?;
    let url = format!("http://127.0.0.1:{}/index.html", site.port);
    let sent = seed
        .run(&format!(
            "import {{ formAutomation }} from \"skills/form-automation\";
             return await formAutomation({{ url: {url:?}, fields: {{ Name: \"Ada Lovelace\", email: \"ada@example.com\", Message: \"Hello there\" }} }});"
        ))
        .await?;
    assert_eq!(sent["submitted"], json!(true), "{sent:#}");
    assert_eq!(sent["filled"], json!(["Name", "email", "Message"]));
    assert_eq!(sent["page"]["title"], json!("Received"), "{sent:#}");
    assert_eq!(sent["page"]["url"], json!(format!("http://127.0.0.1:{}/api/contact", site.port)));
    let body = "name=Ada+Lovelace&email=ada%40example.com&body=Hello+there";
    assert_eq!(sent["page"]["text"], json!(format!("Received {} bytes", body.len())));
    assert_eq!(*site.posted.lock().unwrap(), [("/api/contact".to_owned(), body.to_owned())]);

    // An invalid email: the browser refuses to send, the skill says why.
    let invalid = structured(&seed.host.call("skill_form-automation", json!({ "url": url, "fields": { "Name": "Ada", "Email": "not-an-email" } })).await?)?;
    assert_eq!(invalid["submitted"], json!(false), "{invalid:#}");
    assert_eq!(invalid["invalid"][0]["field"], json!("email"), "{invalid:#}");
    assert!(invalid["invalid"][0]["message"].as_str().is_some_and(|message| message.contains("'@'")), "{invalid:#}");
    assert_eq!(invalid["page"]["title"], json!("Contact us"));

    // A field the form does not have is an error naming it.
    let unknown = seed.host.call("skill_form-automation", json!({ "url": url, "fields": { "Name": "Ada", "Phone": "123" } })).await?;
    assert_eq!(unknown.is_error, Some(true), "{}", text_of(&unknown));
    assert!(text_of(&unknown).contains("no field labelled or named \"Phone\""), "{}", text_of(&unknown));
    assert_eq!(site.posted.lock().unwrap().len(), 1, "nothing more was sent");
    Ok(())
}

#[tokio::test]
async fn think_through_records_the_chain_in_the_thinking_server() -> Result<()> {
    let seed = Seed::start().await?;
    let steps = json!(["Read the console errors.", "The topics endpoint is missing.", "Add GET /api/contact/topics."]);
    let first = structured(&seed.host.call("skill_think-through", json!({ "problem": "The contact form has no topics.", "steps": steps })).await?)?;
    assert_eq!(first["thoughts"], json!(4));
    assert_eq!(first["historyLength"], json!(4), "the server holds every thought: {first:#}");
    assert_eq!(first["chain"][0], json!("1. Problem: The contact form has no topics."));
    assert_eq!(first["conclusion"], json!("Add GET /api/contact/topics."));

    // Imported: the same server process keeps counting.
    let second = seed
        .run("import { thinkThrough } from \"skills/think-through\"; return await thinkThrough({ problem: \"Why 404?\", steps: [\"No route.\"] });")
        .await?;
    assert_eq!(second["thoughts"], json!(2));
    assert_eq!(second["historyLength"], json!(6), "{second:#}");

    let empty = seed.host.call("skill_think-through", json!({ "problem": "p", "steps": [] })).await?;
    assert_eq!(empty.is_error, Some(true), "at least one step: {}", text_of(&empty));
    Ok(())
}
