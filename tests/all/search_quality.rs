//! Search quality: the evaluation set (`fixtures/search-eval.json`) asked of
//! the ranking over every recorded `tools/list`, with floors, so a change that
//! makes discovery worse fails here. No timing: `make bench` measures speed.

#[path = "../search_eval.rs"]
mod search_eval;

use search_eval::{Score, Split, evaluate, questions};

/// The least share of questions whose right tool is first. The goal (issue
/// 11) is 0.75; the lexical ranking reaches 0.55–0.57, so this floor guards
/// what it reaches rather than the goal.
const TOP1_FLOOR: f64 = 0.55;
/// The least share of questions whose right tool is in the first three. The
/// goal is 0.90; the lexical ranking reaches 0.79–0.85.
const TOP3_FLOOR: f64 = 0.78;

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
