//! The search evaluation shared by the integration test `search_quality` and
//! `make bench`: natural questions (`fixtures/search-eval.json`), each with
//! the tools that answer it, asked of one index holding every recorded
//! `tools/list` (`fixtures/tools/` and `fixtures/search/`) at once, ranked as
//! the host ranks them: BM25 fused with the sentence-embedding model that
//! `make setup` installs (whose absence fails the evaluation). It owns
//! loading those files and scoring top-1 and top-3; it ranks nothing itself
//! (that is `mcp_code_runtime::search`).

use std::fs;
use std::path::{Path, PathBuf};

use mcp_code_runtime::config::Config;
use mcp_code_runtime::search::{Query, ToolIndex, semantic};
use mcp_code_runtime::typegen::ToolInfo;
use serde::Deserialize;
use serde_json::json;

/// The folders of recorded `tools/list` snapshots, each file `<server>.tools.json`.
const TOOL_FOLDERS: [&str; 2] = ["fixtures/tools", "fixtures/search"];
const QUESTIONS: &str = "fixtures/search-eval.json";

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Every recorded tool, as (server, tool), in file order.
pub fn fixture_tools() -> Vec<(String, ToolInfo)> {
    let mut files: Vec<PathBuf> = TOOL_FOLDERS
        .iter()
        .flat_map(|folder| fs::read_dir(tests_dir().join(folder)).expect("a fixtures folder"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".tools.json"))
        .collect();
    files.sort();
    let mut tools = Vec::new();
    for path in files {
        let file_name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let server = file_name.trim_end_matches(".tools.json").to_owned();
        let list: Vec<ToolInfo> = serde_json::from_str(&fs::read_to_string(&path).expect("readable")).expect("a tools list");
        tools.extend(list.into_iter().map(|tool| (server.clone(), tool)));
    }
    tools
}

/// One question and the tools (`server.tool`) that answer it.
#[derive(Debug, Deserialize)]
pub struct Question {
    pub question: String,
    pub tools: Vec<String>,
    pub split: Split,
}

/// Whether a question was looked at while the ranking was tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Tuning,
    HeldOut,
}

#[derive(Deserialize)]
struct EvalFile {
    questions: Vec<Question>,
}

pub fn questions() -> Vec<Question> {
    let text = fs::read_to_string(tests_dir().join(QUESTIONS)).expect("the evaluation set");
    serde_json::from_str::<EvalFile>(&text).expect("a valid evaluation set").questions
}

/// How many questions of one split found a right tool first, and in the top three.
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub asked: usize,
    pub top1: usize,
    pub top3: usize,
}

impl Score {
    pub fn top1_rate(&self) -> f64 {
        self.top1 as f64 / self.asked.max(1) as f64
    }

    pub fn top3_rate(&self) -> f64 {
        self.top3 as f64 / self.asked.max(1) as f64
    }
}

/// The scores of both splits and every question whose right tool was not first.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub tuning: Score,
    pub held_out: Score,
    /// `split: question → expected; got first three`.
    pub misses: Vec<String>,
}

impl Evaluation {
    pub fn all(&self) -> Score {
        Score {
            asked: self.tuning.asked + self.held_out.asked,
            top1: self.tuning.top1 + self.held_out.top1,
            top3: self.tuning.top3 + self.held_out.top3,
        }
    }
}

/// Embeds `index`'s entries now, with the model and embedding cache the host
/// would use (the default folders, or `$MCP_CODE_RUNTIME_SEARCH_MODEL`), so
/// its searches rank semantically; panics when the model is not installed.
pub fn embed(index: &ToolIndex) {
    let defaults = Config::default().runtime;
    semantic::configure(defaults.data_dir.as_deref(), &defaults.cache_dir);
    let embedded = semantic::embed(index).expect("the model runs");
    assert!(embedded, "no sentence-embedding model: run `make setup` (or set MCP_CODE_RUNTIME_SEARCH_MODEL)");
}

/// Asks every question of one index over every recorded tool.
pub fn evaluate() -> Evaluation {
    let tools = fixture_tools();
    let index = ToolIndex::new(tools.iter().map(|(server, tool)| (server.as_str(), tool)));
    embed(&index);
    let mut evaluation = Evaluation::default();
    for question in questions() {
        let query = Query::parse(&question.question).expect("a valid query");
        let hits = index.search(&query, 3, &|| false).expect("not interrupted");
        let names: Vec<String> = hits.iter().map(|hit| format!("{}.{}", hit.server, hit.tool)).collect();
        let rank = names.iter().position(|name| question.tools.contains(name));
        let score = match question.split {
            Split::Tuning => &mut evaluation.tuning,
            Split::HeldOut => &mut evaluation.held_out,
        };
        score.asked += 1;
        score.top1 += usize::from(rank == Some(0));
        score.top3 += usize::from(rank.is_some());
        if rank != Some(0) {
            evaluation
                .misses
                .push(format!("{:?}: {:?} → {:?}; got {:?}", question.split, question.question, question.tools, names));
        }
    }
    evaluation
}

/// `count` made-up tools over `servers` servers, with descriptions and
/// parameters drawn from a fixed vocabulary, for timing the ranking.
pub fn synthetic_tools(count: usize, servers: usize) -> Vec<(String, ToolInfo)> {
    const VERBS: [&str; 12] = [
        "get", "list", "create", "update", "delete", "search", "run", "open", "close", "read", "write", "move",
    ];
    const NOUNS: [&str; 16] = [
        "task", "file", "page", "issue", "branch", "entity", "relation", "message", "user", "project", "report", "image", "record", "event", "channel",
        "invoice",
    ];
    const WORDS: [&str; 16] = [
        "the", "current", "selected", "remote", "local", "project", "with", "options", "returns", "details", "matching", "optional", "filter", "by", "status",
        "name",
    ];
    let word = |seed: usize| WORDS[seed % WORDS.len()];
    (0..count)
        .map(|n| {
            let (verb, noun) = (VERBS[n % VERBS.len()], NOUNS[(n / VERBS.len()) % NOUNS.len()]);
            let description = format!("{verb} a {noun} {} {} {} {noun} {}", word(n), word(n / 3), word(n / 7), word(n / 11));
            let tool = ToolInfo {
                name: format!("{verb}_{noun}_{n}"),
                description: Some(description),
                input_schema: json!({"type": "object", "properties": {
                    format!("{noun}Id"): {"type": "string", "description": format!("The {noun} to {verb}")},
                    "limit": {"type": "number", "description": format!("How many {} to return", word(n / 5))},
                }}),
                output_schema: None,
            };
            (format!("server-{}", n % servers), tool)
        })
        .collect()
}
