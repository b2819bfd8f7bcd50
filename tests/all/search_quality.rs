//! Search quality: the evaluation set (`fixtures/search-eval.json`) asked of
//! the ranking over every recorded `tools/list`, with floors, so a change that
//! makes discovery worse fails here. It needs the sentence-embedding model
//! (`make setup` installs it). No timing: `make bench` measures speed.

#[path = "../search_eval.rs"]
mod search_eval;

use search_eval::{Score, Split, evaluate, questions};

/// The least share of questions whose right tool is first. The goal (issue
/// 11) is 0.75; BM25 fused with the sentence-embedding model reaches 0.78
/// (tuning) and 0.80 (all) (lexical alone: 0.55 and 0.57).
const TOP1_FLOOR: f64 = 0.74;
/// The least share of questions whose right tool is in the first three. The
/// goal is 0.90; the fused ranking reaches 0.96 (lexical alone: 0.79 and 0.81).
const TOP3_FLOOR: f64 = 0.92;

#[test]
fn the_evaluation_set_is_large_and_broad() {
    let questions = questions();
    assert!(questions.len() >= 60, "{} questions", questions.len());
    let servers: std::collections::BTreeSet<&str> = questions
        .iter()
        .flat_map(|question| &question.tools)
        .filter_map(|tool| tool.split_once('.').map(|(server, _)| server))
        .collect();
    assert!(servers.len() >= 6, "{servers:?}");
    assert!(questions.iter().any(|question| question.split == Split::HeldOut));
    let known: std::collections::HashSet<String> = search_eval::fixture_tools()
        .into_iter()
        .map(|(server, tool)| format!("{server}.{}", tool.name))
        .collect();
    for question in &questions {
        assert!(!question.tools.is_empty(), "{question:?}");
        for tool in &question.tools {
            assert!(known.contains(tool), "{:?} names an unknown tool {tool}", question.question);
        }
    }
}

#[test]
fn natural_questions_find_the_right_tool() {
    let evaluation = evaluate();
    let report = |name: &str, score: Score| {
        format!(
            "{name}: top-1 {}/{} ({:.3}), top-3 {}/{} ({:.3})",
            score.top1,
            score.asked,
            score.top1_rate(),
            score.top3,
            score.asked,
            score.top3_rate()
        )
    };
    let lines = [
        report("tuning", evaluation.tuning),
        report("held out", evaluation.held_out),
        report("all", evaluation.all()),
    ];
    eprintln!("{}\nnot first:\n{}", lines.join("\n"), evaluation.misses.join("\n"));
    for (name, score) in [("tuning", evaluation.tuning), ("all", evaluation.all())] {
        assert!(
            score.top1_rate() >= TOP1_FLOOR && score.top3_rate() >= TOP3_FLOOR,
            "{name} is under the floors (top-1 {TOP1_FLOOR}, top-3 {TOP3_FLOOR}):\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn a_search_over_five_thousand_tools_returns_at_most_its_limit_best_first() {
    use mcp_code_runtime::search::{Query, ToolIndex};
    let tools = search_eval::synthetic_tools(5_000, 50);
    let index = ToolIndex::new(tools.iter().map(|(server, tool)| (server.as_str(), tool)));
    let query = Query::parse("create a new task").expect("a valid query");
    let hits = index.search(&query, 10, &|| false).expect("not interrupted");
    assert!(!hits.is_empty() && hits.len() <= 10, "{} hits", hits.len());
    assert!(hits.windows(2).all(|pair| pair[0].score >= pair[1].score), "best first");
}

/// The real binary with the model `MCP_CODE_RUNTIME_SEARCH_MODEL` names: a
/// question that shares no word with any of memory's tools finds them once
/// the background thread has embedded them; with a folder that holds no
/// model, the same question finds nothing (the lexical ranking alone).
#[tokio::test]
async fn the_host_ranks_by_meaning_with_the_model_and_by_words_without() -> anyhow::Result<()> {
    use mcp_code_runtime::config::Config;
    use mcp_code_runtime::search::semantic::{MODEL_FOLDER, MODEL_VARIABLE};
    use serde_json::json;
    use std::time::{Duration, Instant};

    use crate::util::{Host, HostOptions, npm_server};

    let files = tempfile::tempdir()?;
    let servers = json!({
        "memory": { "command": "node", "args": [npm_server("@modelcontextprotocol/server-memory", "dist/index.js")], "env": { "MEMORY_FILE_PATH": files.path().join("memory.jsonl") } },
    });
    async fn ask(host: &Host) -> anyhow::Result<serde_json::Value> {
        let question = json!({"query": "remember that Alice works at Acme", "limit": 3, "detail": "name"});
        Ok(host.call("search_tools", question).await?.structured_content.unwrap_or_default()["tools"].clone())
    }
    let with_model = |folder: std::path::PathBuf| HostOptions {
        servers: servers.clone(),
        env: vec![(MODEL_VARIABLE.to_owned(), folder.to_string_lossy().into_owned())],
        ..Default::default()
    };

    let host = Host::start_with(with_model(files.path().join("no-model"))).await?;
    assert_eq!(ask(&host).await?, json!([]), "no memory tool shares a word with the question");
    drop(host);

    let model = std::env::var_os(MODEL_VARIABLE)
        .map(std::path::PathBuf::from)
        .or_else(|| Config::default().runtime.data_dir.map(|dir| dir.join(MODEL_FOLDER)))
        .expect("a data folder");
    let host = Host::start_with(with_model(model)).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let tools = ask(&host).await?;
        let first = tools[0]["name"].as_str().unwrap_or_default().to_owned();
        if ["memory.create_entities", "memory.add_observations", "memory.create_relations"].contains(&first.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "the model never ranked memory's tools first: {tools}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
