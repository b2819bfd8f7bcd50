//! Downstream results checked against the `outputSchema` their tool
//! declares, so a model learns when a server drifts from what it promises.
//!
//! [`SchemaChecks`] compiles each tool's schema once (shared by every run,
//! and compiled anew when the tool list brings another schema) and says how a
//! result does not match; [`RunDrift`] checks the results of one run and
//! keeps its warnings, at most [`MAX_WARNINGS`] of them and a count of the
//! rest, for the runtime to add to the run's logs. A mismatch never fails the
//! call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{CallToolResult, JsonObject, Tool};
use serde_json::Value;

/// The most warnings one run keeps; the rest are counted.
pub const MAX_WARNINGS: usize = 20;
/// The most tools whose compiled schemas are kept; past it the cache starts over.
const MAX_CACHED_SCHEMAS: usize = 1024;
/// The longest reason quoted in a warning, in bytes.
const MAX_REASON_BYTES: usize = 300;

/// A tool's schema and what compiling it gave.
type Compiled = (Arc<JsonObject>, Result<Arc<jsonschema::Validator>, String>);

/// Compiled output schemas, by server and tool.
#[derive(Default)]
pub struct SchemaChecks {
    compiled: Mutex<HashMap<(String, String), Compiled>>,
}

impl SchemaChecks {
    /// Why `result` of `server`'s `tool` drifts from the tool's
    /// `outputSchema`, as a warning; `None` when it matches, when the tool
    /// declares no schema, or when the call failed.
    pub fn drift(&self, server: &str, tool: &Tool, result: &CallToolResult) -> Option<String> {
        let schema = tool.output_schema.as_ref()?;
        if result.is_error == Some(true) {
            return None;
        }
        let name = format!("{server}.{}", tool.name);
        let reason = match (self.validator(server, tool.name.as_ref(), schema), &result.structured_content) {
            (Err(error), _) => format!("declares an outputSchema that does not compile ({error})"),
            (Ok(_), None) => "declares an outputSchema but returned no structuredContent".to_owned(),
            (Ok(validator), Some(content)) => {
                let error = validator.validate(content).err()?;
                format!("returned structuredContent that does not match its outputSchema: {error} at {}", location(error.instance_path()))
            }
        };
        Some(format!("{name} {}", cut(&reason)))
    }

    fn validator(&self, server: &str, tool: &str, schema: &Arc<JsonObject>) -> Result<Arc<jsonschema::Validator>, String> {
        let key = (server.to_owned(), tool.to_owned());
        let mut compiled = self.compiled.lock().expect("schema checks lock");
        if let Some((known, validator)) = compiled.get(&key) {
            if Arc::ptr_eq(known, schema) || known == schema {
                return validator.clone();
            }
        }
        let validator = jsonschema::validator_for(&Value::Object(schema.as_ref().clone())).map(Arc::new).map_err(|error| error.to_string());
        if compiled.len() >= MAX_CACHED_SCHEMAS {
            compiled.clear();
        }
        compiled.insert(key, (Arc::clone(schema), validator.clone()));
        validator
    }
}

/// `/value` for a JSON pointer, `the top level` for the empty one.
fn location(path: &impl std::fmt::Display) -> String {
    let path = path.to_string();
    if path.is_empty() { "the top level".to_owned() } else { path }
}

fn cut(reason: &str) -> String {
    if reason.len() <= MAX_REASON_BYTES {
        return reason.to_owned();
    }
    format!("{}…", &reason[..reason.floor_char_boundary(MAX_REASON_BYTES)])
}

/// The checks of one run's results, and its warnings.
pub struct RunDrift {
    checks: Arc<SchemaChecks>,
    /// The warnings kept, and how many more there were.
    state: Mutex<(Vec<String>, usize)>,
}

impl RunDrift {
    pub fn new(checks: Arc<SchemaChecks>) -> Self {
        RunDrift { checks, state: Mutex::default() }
    }

    /// The checks of another run (a skill it calls), with warnings of its own.
    pub fn for_skill(&self) -> Self {
        RunDrift::new(Arc::clone(&self.checks))
    }

    /// Checks `result` of `server`'s `tool` and keeps a warning when it drifts.
    pub fn check(&self, server: &str, tool: &Tool, result: &CallToolResult) {
        if let Some(warning) = self.checks.drift(server, tool, result) {
            self.push(warning);
        }
    }

    fn push(&self, warning: String) {
        let mut state = self.state.lock().expect("drift warnings lock");
        if state.0.len() < MAX_WARNINGS {
            state.0.push(warning);
        } else {
            state.1 += 1;
        }
    }

    /// The warnings so far, and a line counting those left out; afterwards
    /// there are none.
    pub fn take(&self) -> Vec<String> {
        let (mut warnings, more) = std::mem::take(&mut *self.state.lock().expect("drift warnings lock"));
        if more > 0 {
            warnings.push(format!("… and {more} more results that do not match their outputSchema"));
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(schema: Value) -> Tool {
        let Value::Object(schema) = schema else { panic!("an object schema") };
        let mut tool = Tool::new("typed", "t", Arc::new(JsonObject::new()));
        tool.output_schema = Some(Arc::new(schema));
        tool
    }

    fn structured(value: Value) -> CallToolResult {
        CallToolResult::structured(value)
    }

    #[test]
    fn a_mismatch_names_the_tool_the_reason_and_the_place() {
        let checks = SchemaChecks::default();
        let typed = tool(json!({ "type": "object", "properties": { "value": { "type": "integer" } }, "required": ["value"] }));
        assert_eq!(checks.drift("s", &typed, &structured(json!({ "value": 7 }))), None);
        let warning = checks.drift("s", &typed, &structured(json!({ "value": "seven" }))).unwrap();
        assert_eq!(warning, "s.typed returned structuredContent that does not match its outputSchema: \"seven\" is not of type \"integer\" at /value");
        let missing = checks.drift("s", &typed, &structured(json!({}))).unwrap();
        assert!(missing.ends_with("at the top level"), "{missing}");
        let unstructured = checks.drift("s", &typed, &CallToolResult::success(vec![])).unwrap();
        assert!(unstructured.contains("no structuredContent"), "{unstructured}");
        assert_eq!(checks.drift("s", &typed, &CallToolResult::error(vec![])), None, "failures are not checked");
        assert_eq!(checks.drift("s", &Tool::new("plain", "p", Arc::new(JsonObject::new())), &structured(json!(1))), None);
        let broken = tool(json!({ "type": 12 }));
        assert!(checks.drift("s", &broken, &structured(json!({}))).unwrap().contains("does not compile"));
    }

    #[test]
    fn a_new_schema_for_a_tool_is_compiled_anew_and_long_reasons_are_cut() {
        let checks = SchemaChecks::default();
        let strings = tool(json!({ "type": "object", "properties": { "value": { "type": "string" } } }));
        let integers = tool(json!({ "type": "object", "properties": { "value": { "type": "integer" } } }));
        let value = structured(json!({ "value": "x".repeat(10_000) }));
        assert_eq!(checks.drift("s", &strings, &value), None);
        let warning = checks.drift("s", &integers, &value).unwrap();
        assert!(warning.len() < MAX_REASON_BYTES + 20 && warning.ends_with('…'), "{warning}");
    }

    #[test]
    fn a_run_keeps_a_bounded_number_of_warnings_and_counts_the_rest() {
        let run = RunDrift::new(Arc::default());
        let typed = tool(json!({ "type": "object", "properties": { "value": { "type": "integer" } } }));
        for index in 0..MAX_WARNINGS + 5 {
            run.check("s", &typed, &structured(json!({ "value": format!("v{index}") })));
        }
        run.check("s", &typed, &structured(json!({ "value": 1 })));
        let skill = run.for_skill();
        skill.check("s", &typed, &structured(json!({ "value": "in a skill" })));
        let taken = run.take();
        assert_eq!(taken.len(), MAX_WARNINGS + 1);
        assert!(taken[0].contains("\"v0\""), "{}", taken[0]);
        assert_eq!(taken[MAX_WARNINGS], "… and 5 more results that do not match their outputSchema");
        assert!(run.take().is_empty());
        assert_eq!(skill.take().len(), 1, "a skill's warnings are its own");
    }
}
