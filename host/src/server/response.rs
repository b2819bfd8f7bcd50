//! A run's outcome as the `execute_code` tool result the client passes to
//! the model: structured content and its text rendering, which carry the
//! same things, since Claude Code passes the model only the structured
//! content and other clients only the text.
//!
//! The response carries what a model needs and no more: the stats of the
//! level asked for (lean by default), and a result and console within the
//! token budget ([`budget`]). What is over the budget is cut to a preview, or
//! to its first and last console lines, kept whole in the runtime's result
//! store and linked as a resource (`resource_link`) that the response tells
//! how to read page by page.

mod budget;

use rmcp::model::{CallToolResult, ContentBlock, Resource};
use serde_json::Value;

use super::resources::{PAGE_BYTES, result_uri};
use crate::outcome::{LogLevel, LogLine, RunOutcome, StatsLevel, Truncated};
use crate::runtime::Runtime;
use crate::runtime::results::{Part, ResultStore};
use budget::Count;

/// A run as a tool result, with `stats` (or the configured level) and
/// within the configured token budget.
pub fn run_result(mut outcome: RunOutcome, stats: Option<StatsLevel>, runtime: &Runtime) -> CallToolResult {
    let settings = &runtime.config().runtime;
    outcome.stats = outcome.stats.at_level(stats.unwrap_or(settings.stats_level));
    let links = fit(&mut outcome, settings.limits.max_result_tokens, runtime.results());
    let mut content = vec![ContentBlock::text(outcome.to_text())];
    content.extend(links);
    let mut result = if outcome.ok { CallToolResult::success(content) } else { CallToolResult::error(content) };
    result.structured_content = serde_json::to_value(&outcome).ok();
    result
}

/// Cuts the result and the console of `outcome` to `budget` tokens,
/// keeping what is cut in `store`; returns the links to what was kept.
pub(super) fn fit(outcome: &mut RunOutcome, budget: usize, store: &ResultStore) -> Vec<ContentBlock> {
    let result = outcome.result.to_string();
    let logs_json = serde_json::to_string(&outcome.logs).unwrap_or_default();
    let Some(shares) = budget::shares(&result, &logs_json, budget) else { return Vec::new() };
    let preview = shares.result.map(|tokens| budget::preview(&result, tokens));
    let kept_lines = shares.logs.map(|tokens| budget::kept_lines(&outcome.logs, tokens));
    let result_bytes = result.len();
    let logs = kept_lines.map(|_| budget::console_text(&outcome.logs));
    let log_bytes = logs.as_ref().map_or(0, String::len);
    let id = store.keep(preview.is_some().then_some(result), logs);
    let uri = |part| id.as_deref().map(|id| result_uri(id, part));
    let mut links = Vec::new();
    if let Some(preview) = preview {
        let uri = uri(Part::Result);
        let tokens = shares.result_tokens;
        let about = if matches!(tokens, Count::Over { .. }) { "about " } else { "" };
        let size = format!(
            "The result is {result_bytes} bytes of JSON, {about}{} tokens, over the {budget}-token budget: preview is its head and tail.",
            tokens.tokens()
        );
        let hint = format!("{} Or return less: filter or aggregate in the program.", hint(&size, uri.as_deref()));
        links.extend(uri.as_deref().map(|uri| link(uri, "result", "application/json", result_bytes)));
        outcome.result = Value::Null;
        outcome.truncated = Some(Truncated { preview, bytes: result_bytes as u64, tokens: tokens.tokens(), uri, hint });
    }
    if let Some((head, tail)) = kept_lines {
        let uri = uri(Part::Logs);
        let end = outcome.logs.len() - tail;
        let size = format!("{} console lines ({log_bytes} bytes) cut here to keep within the {budget}-token budget.", end - head);
        links.extend(uri.as_deref().map(|uri| link(uri, "console", "text/plain", log_bytes)));
        let marker = LogLine { level: LogLevel::Info, message: format!("… {}", hint(&size, uri.as_deref())) };
        outcome.logs.splice(head..end, [marker]);
    }
    links
}

/// What was cut (`size`) and how to read all of it from `uri`, or why it cannot be.
fn hint(size: &str, uri: Option<&str>) -> String {
    match uri {
        Some(uri) => format!(
            "{size} Read all of it from {uri} with resources/read, in pages: {uri}?offset=0&limit={PAGE_BYTES} (each page names the next)."
        ),
        None => format!("{size} It is too large to keep for reading (codeRuntime.resultStore.maxBytes)."),
    }
}

fn link(uri: &str, name: &str, mime_type: &str, bytes: usize) -> ContentBlock {
    let resource = Resource::new(uri, name)
        .with_description("All of it, in pages: ?offset=<bytes>&limit=<bytes>")
        .with_mime_type(mime_type)
        .with_size(bytes as u64);
    ContentBlock::resource_link(resource)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::ResultStoreSettings;
    use crate::outcome::{ErrorKind, RunError, RunStats, ServerUsage};

    fn stats() -> RunStats {
        let mut stats = RunStats { duration_ms: 1.25, fuel_used: 5, memory_peak_bytes: 6, ..RunStats::default() };
        stats.tool_calls.insert("s".into(), ServerUsage { calls: 2, ..ServerUsage::default() });
        stats
    }

    fn lines(count: usize) -> Vec<LogLine> {
        (0..count).map(|i| LogLine { level: LogLevel::Log, message: format!("line {i}") }).collect()
    }

    fn check_against_the_output_schema(outcome: &RunOutcome) {
        let schema = rmcp::handler::server::common::schema_for_output::<RunOutcome>();
        let validator = jsonschema::validator_for(&Value::Object(schema.as_ref().clone())).unwrap();
        let value = serde_json::to_value(outcome).unwrap();
        assert!(validator.validate(&value).is_ok(), "{:?}: {value}", validator.validate(&value).err().map(|error| error.to_string()));
    }

    #[test]
    fn every_shape_of_response_matches_the_output_schema() {
        let store = ResultStore::new(ResultStoreSettings::default());
        for level in [StatsLevel::Lean, StatsLevel::Full] {
            check_against_the_output_schema(&RunOutcome::success(json!({"a": 1}), lines(2), stats().at_level(level)));
            let failed = RunOutcome::failure(RunError::new(ErrorKind::ToolError, "boom").at(1, 2), lines(1), stats().at_level(level));
            check_against_the_output_schema(&failed);
        }
        let mut cut = RunOutcome::success(json!(vec!["x".repeat(100); 1000]), lines(2000), stats());
        let links = fit(&mut cut, 400, &store);
        assert_eq!(links.len(), 2, "the result and the console are both cut and linked");
        assert!(cut.truncated.as_ref().is_some_and(|truncated| truncated.uri.is_some()) && cut.result.is_null());
        check_against_the_output_schema(&cut);
    }

    #[test]
    fn what_is_cut_is_kept_whole_and_what_fits_is_left_alone() {
        let store = ResultStore::new(ResultStoreSettings::default());
        let mut small = RunOutcome::success(json!([1, 2, 3]), lines(3), stats());
        assert!(fit(&mut small, 400, &store).is_empty());
        assert_eq!((small.result, small.logs.len(), small.truncated), (json!([1, 2, 3]), 3, None));

        let mut noisy = RunOutcome::success(json!("done"), lines(2000), stats());
        let links = fit(&mut noisy, 400, &store);
        assert_eq!(noisy.result, json!("done"), "a small result stays whole beside a long console");
        let (first, last) = (&noisy.logs[0], &noisy.logs[noisy.logs.len() - 1]);
        assert_eq!((first.message.as_str(), last.message.as_str()), ("line 0", "line 1999"));
        let marker = noisy.logs.iter().find(|line| line.message.starts_with('…')).unwrap();
        let uri = links[0].as_resource_link().unwrap().uri.clone();
        assert!(marker.message.contains(&uri) && uri.ends_with("/logs"), "{}", marker.message);
        let id = uri.trim_start_matches("mcp-code-runtime://results/").trim_end_matches("/logs");
        let page = store.page(id, Part::Logs, 0, 1 << 20).unwrap();
        assert_eq!(page.text, budget::console_text(&lines(2000)));
    }

    #[test]
    fn a_result_too_large_to_keep_says_so() {
        let store = ResultStore::new(ResultStoreSettings { max_bytes: 1000, ..ResultStoreSettings::default() });
        let mut big = RunOutcome::success(json!("y".repeat(5000)), Vec::new(), stats());
        assert!(fit(&mut big, 400, &store).is_empty(), "nothing to link");
        let truncated = big.truncated.unwrap();
        assert_eq!((truncated.uri, truncated.bytes), (None, 5002));
        assert!(truncated.hint.contains("codeRuntime.resultStore.maxBytes"), "{}", truncated.hint);
    }
}
