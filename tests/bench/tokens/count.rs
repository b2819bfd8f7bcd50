//! What a model reads and writes in one workflow, as the text a client puts
//! into its context, and that text's tokens in cl100k_base and o200k_base.
//!
//! - A server's tools: its `initialize` instructions, then each tool as the
//!   Anthropic API takes it (`{name: "mcp__<server>__<tool>", description,
//!   input_schema}`, as Claude Code names MCP tools), as JSON.
//! - A call the model writes: `{name, input}` as JSON.
//! - A result it reads: `JSON.stringify(structuredContent)` when present, else
//!   the text blocks (other blocks as their JSON), as Claude Code passes them.
//!
//! This module only counts; it makes no calls.

use std::ops::{Add, AddAssign};

use rmcp::model::{CallToolResult, Tool};
use serde_json::{Value, json};

/// One text's tokens in both tokenizers.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Tokens {
    pub cl100k: usize,
    pub o200k: usize,
}

impl Tokens {
    pub fn of(text: &str) -> Tokens {
        Tokens {
            cl100k: tiktoken_rs::cl100k_base_singleton().encode_with_special_tokens(text).len(),
            o200k: tiktoken_rs::o200k_base_singleton().encode_with_special_tokens(text).len(),
        }
    }
}

impl Add for Tokens {
    type Output = Tokens;
    fn add(self, other: Tokens) -> Tokens {
        Tokens { cl100k: self.cl100k + other.cl100k, o200k: self.o200k + other.o200k }
    }
}

impl AddAssign for Tokens {
    fn add_assign(&mut self, other: Tokens) {
        *self = *self + other;
    }
}

/// A workflow's tokens by part: the tool definitions in context, what the
/// model wrote (arguments, programs) and what it read (results), with the
/// number of tool calls it made.
#[derive(Clone, Copy, Default, Debug)]
pub struct Tally {
    pub listing: Tokens,
    pub written: Tokens,
    pub read: Tokens,
    pub calls: usize,
    /// The context as it stood at each turn that wrote a call, summed.
    earlier_turns: Tokens,
}

impl Tally {
    pub fn total(&self) -> Tokens {
        self.listing + self.written + self.read
    }

    /// Without the tool definitions: what the workflow itself costs.
    pub fn work(&self) -> Tokens {
        self.written + self.read
    }

    /// The input of every model turn summed: each call is written in a turn that
    /// reads the whole context so far, and a last turn reads the last result.
    /// What an API bills as input without prompt caching.
    pub fn turn_inputs(&self) -> Tokens {
        self.earlier_turns + self.total()
    }

    /// A server's `tools/list` and instructions entering the context.
    pub fn listing(&mut self, server: &str, instructions: Option<&str>, tools: &[Tool]) {
        self.listing += Tokens::of(instructions.unwrap_or_default()) + Tokens::of(&definitions(server, tools));
    }

    /// One tool call the model writes, and the result it reads.
    pub fn call(&mut self, server: &str, tool: &str, arguments: &Value, result: &CallToolResult) {
        self.earlier_turns += self.total();
        self.written += Tokens::of(&json!({ "name": qualified(server, tool), "input": arguments }).to_string());
        self.read += Tokens::of(&client_text(result));
        self.calls += 1;
    }
}

/// The percentage of `direct` that `code` saves.
pub fn reduction(direct: usize, code: usize) -> f64 {
    (1.0 - code as f64 / direct as f64) * 100.0
}

fn qualified(server: &str, tool: &str) -> String {
    format!("mcp__{server}__{tool}")
}

/// The tools as a client hands them to the model, as JSON.
fn definitions(server: &str, tools: &[Tool]) -> String {
    let tools: Vec<Value> = tools
        .iter()
        .map(|tool| json!({ "name": qualified(server, &tool.name), "description": tool.description, "input_schema": tool.input_schema }))
        .collect();
    Value::Array(tools).to_string()
}

/// What the model reads of a result (see the module doc).
pub fn client_text(result: &CallToolResult) -> String {
    if let Some(structured) = &result.structured_content {
        return structured.to_string();
    }
    result
        .content
        .iter()
        .map(|block| match block.as_text() {
            Some(text) => text.text.clone(),
            None => serde_json::to_string(block).unwrap_or_default(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A result's value: its structured content, or its text parsed as JSON, or the text.
pub fn value_of(result: &CallToolResult) -> Value {
    if let Some(structured) = &result.structured_content {
        return structured.clone();
    }
    let text = client_text(result);
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}
