//! Skills as MCP tools: `skill_<name>` for each skill the configuration
//! exposes, with the skill's input (and output) schema, and the answers of
//! `save_skill` and `delete_skill`. Only the shape of MCP lives here; the
//! runtime runs and saves skills.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, Tool, ToolAnnotations};
use serde_json::json;

use crate::config::SkillExposure;
use crate::outcome::{ErrorKind, RunOutcome};
use crate::runtime::Runtime;
use crate::skills::{Skill, SkillError, SkillSet};

/// The prefix of a skill's tool name.
pub const TOOL_PREFIX: &str = "skill_";

/// The tools of the exposed skills, by name.
pub fn tools(skills: &SkillSet, exposure: &SkillExposure) -> Vec<Tool> {
    skills.iter().filter(|skill| exposure.exposes(skill.name())).map(|skill| tool(skill)).collect()
}

/// The skill a tool name calls, when it is an exposed skill's tool.
pub fn called<'a>(tool: &str, skills: &'a SkillSet, exposure: &SkillExposure) -> Option<&'a Arc<Skill>> {
    let name = tool.strip_prefix(TOOL_PREFIX)?;
    skills.get(name).filter(|_| exposure.exposes(name))
}

fn tool(skill: &Skill) -> Tool {
    let meta = &skill.meta;
    let servers = if meta.servers.is_empty() { "none".to_owned() } else { meta.servers.join(", ") };
    let description = format!(
        "{} (Skill; servers: {servers}. In execute_code: `import {} from \"skills/{}\"`.)",
        meta.description.trim_end(),
        crate::typegen::camel_case(&meta.name),
        meta.name
    );
    let mut tool = Tool::new(format!("{TOOL_PREFIX}{}", meta.name), description, Arc::new(meta.input.clone()));
    tool.title = Some(meta.title.clone().unwrap_or_else(|| meta.name.clone()));
    tool.output_schema = meta.output.clone().map(Arc::new);
    tool.annotations = Some(ToolAnnotations::from_raw(None, Some(false), None, Some(false), Some(!meta.servers.is_empty())));
    tool
}

/// A skill's run as its tool's result: the value (as structured content
/// when the skill declares an output schema), then its console lines; a
/// failure as the run's text (structured content would have to match the
/// output schema, which describes a success). A skill without an output
/// schema is held to the token budget like `execute_code`: over it, the
/// answer is the preview and the link to the whole (a declared output is
/// typed, and so is passed whole).
pub fn result(skill: &Skill, mut outcome: RunOutcome, runtime: &Runtime) -> CallToolResult {
    if !outcome.ok {
        return CallToolResult::error(vec![ContentBlock::text(outcome.to_text())]);
    }
    if skill.meta.output.is_none() {
        let budget = runtime.config().runtime.limits.max_result_tokens;
        let links = super::response::fit(&mut outcome, budget, runtime.results());
        if let Some(truncated) = &outcome.truncated {
            let mut content = vec![ContentBlock::text(format!("{}\n{}", truncated.preview, truncated.hint))];
            content.extend(links);
            return CallToolResult::success(content);
        }
    }
    if skill.meta.output.is_some() && !outcome.result.is_object() {
        let message = format!("skill `{}` returned {}, but its output schema is an object", skill.name(), crate::skills::meta::json_kind(&outcome.result));
        return CallToolResult::error(vec![ContentBlock::text(format!("{}: {message}", ErrorKind::RuntimeError.as_str()))]);
    }
    let mut content = vec![ContentBlock::text(outcome.result.to_string())];
    if !outcome.logs.is_empty() {
        let logs: Vec<String> = outcome.logs.iter().map(|line| format!("[{}] {}", crate::outcome::level_name(line.level), line.message)).collect();
        content.push(ContentBlock::text(format!("console:\n{}", logs.join("\n"))));
    }
    let mut result = CallToolResult::success(content);
    if skill.meta.output.is_some() {
        result.structured_content = Some(outcome.result.clone());
    }
    result
}

/// `save_skill`'s answer when the skill is saved: how to use it (as a tool
/// only when the configuration exposes it).
pub fn saved(skill: &Skill, exposure: &SkillExposure) -> CallToolResult {
    let name = skill.name();
    let import = format!("`import {} from \"skills/{name}\"` in execute_code", crate::typegen::camel_case(name));
    let tool = exposure.exposes(name).then(|| format!("{TOOL_PREFIX}{name}"));
    let usage = match &tool {
        Some(tool) => format!("call the tool `{tool}`, or {import}"),
        None => format!("{import} (the config's skills.expose keeps it from being a tool)"),
    };
    let text = format!("Saved skill `{name}` ({}): {usage}.", skill.file.display());
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json!({ "ok": true, "name": name, "tool": tool, "file": skill.file }));
    result
}

/// `delete_skill`'s answer when the skill is gone.
pub fn deleted(name: &str) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(format!("Deleted skill `{name}`."))]);
    result.structured_content = Some(json!({ "ok": true, "name": name }));
    result
}

/// A refused `save_skill` or `delete_skill`, with the kind of error and,
/// for an error in the code, its line and column.
pub fn refused(skill_error: &SkillError) -> CallToolResult {
    let position = match skill_error {
        SkillError::Meta { error, .. } => Some((error.line, error.column)),
        SkillError::Syntax { error, .. } => Some((error.line, error.column)),
        SkillError::Compile { line: Some(line), column: Some(column), .. } => Some((*line, *column)),
        _ => None,
    };
    let kind = match skill_error {
        SkillError::Meta { .. } | SkillError::Syntax { .. } | SkillError::Compile { .. } => ErrorKind::SyntaxError,
        SkillError::NotFound { .. } => ErrorKind::NotFound,
        SkillError::Io { .. } | SkillError::NoDataDir => ErrorKind::RuntimeError,
        _ => ErrorKind::InvalidInput,
    };
    error(kind, skill_error.to_string(), position)
}

fn error(kind: ErrorKind, message: String, position: Option<(u32, u32)>) -> CallToolResult {
    let mut error = json!({ "kind": kind.as_str(), "message": message });
    if let Some((line, column)) = position {
        error["line"] = json!(line);
        error["column"] = json!(column);
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(format!("{}: {message}", kind.as_str()))]);
    result.structured_content = Some(json!({ "ok": false, "error": error }));
    result
}
