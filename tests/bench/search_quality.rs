//! Search: the quality of `search_tools` / `mcp.search` ranking on the
//! evaluation set (`fixtures/search-eval.json`, exact top-1 and top-3), and the
//! time one search takes over 5,000 synthetic tools: with the index cached
//! (tools unchanged since the last search: ranking only), for a query asked
//! before and a new one (which the model embeds first), and after the tools
//! changed (building the index, their embeddings read from the disk cache,
//! then ranking), medians of [`REPEATS`] searches, in-process through the
//! library. The first run embeds the 5,000 tools (minutes); later runs read
//! them from the cache.

#[path = "../search_eval.rs"]
pub mod search_eval;

use std::time::Instant;

use mcp_code_runtime::search::{IndexCache, Query, ToolIndex};

use crate::report::{Report, Target, median, ms};

const SYNTHETIC_TOOLS: usize = 5_000;
const SYNTHETIC_SERVERS: usize = 50;
const REPEATS: usize = 30;
const QUERIES: [&str; 3] = ["mark a task as done", "list the files of a project", "delete the selected user record by name"];

pub fn measure(report: &mut Report) {
    let evaluation = search_eval::evaluate();
    for (key, label, score) in [
        ("tuning", "tuning questions", evaluation.tuning),
        ("held_out", "held-out questions", evaluation.held_out),
        ("all", "all questions", evaluation.all()),
    ] {
        report.note(&format!("search_{key}_questions"), score.asked.into());
        report.target(
            &format!("search_{key}_top1"),
            score.top1_rate(),
            "share",
            &format!("search {label} ({}): right tool first", score.asked),
            Target::AtLeast(0.75),
        );
        report.target(
            &format!("search_{key}_top3"),
            score.top3_rate(),
            "share",
            &format!("search {label} ({}): right tool in top 3", score.asked),
            Target::AtLeast(0.9),
        );
    }

    let tools = search_eval::synthetic_tools(SYNTHETIC_TOOLS, SYNTHETIC_SERVERS);
    let entries = || tools.iter().map(|(server, tool)| (server.as_str(), tool));
    // The tools' embeddings: computed once (minutes), then read from the cache.
    let started = Instant::now();
    search_eval::embed(&ToolIndex::new(entries()));
    report.figure("search_5000_embed_s", started.elapsed().as_secs_f64(), "s", "search 5,000 tools: embed them (0 s-ish when cached on disk)");
    let queries: Vec<Query> = QUERIES.iter().map(|text| Query::parse(text).expect("a valid query")).collect();
    let (mut builds, mut ranks, mut searches) = (Vec::new(), Vec::new(), Vec::new());
    for repeat in 0..REPEATS {
        let started = Instant::now();
        let index = ToolIndex::new(entries());
        search_eval::embed(&index);
        let built = started.elapsed();
        let hits = index.search(&queries[repeat % queries.len()], 10, &|| false).expect("not interrupted");
        let total = started.elapsed();
        assert!(!hits.is_empty(), "the synthetic tools match the queries");
        builds.push(ms(built));
        ranks.push(ms(total - built));
        searches.push(ms(total));
    }
    report.figure("search_5000_index_ms", median(&builds), "ms", "search 5,000 tools: build the index, embeddings from the disk cache (median)");
    report.figure("search_5000_rank_ms", median(&ranks), "ms", "search 5,000 tools: rank one query (median)");
    report.figure("search_5000_uncached_ms", median(&searches), "ms", "search 5,000 tools after they changed: index + rank");
    // What every search of unchanged tools costs: the index comes from the cache.
    let cache = IndexCache::default();
    cache.get_or_build(1, Vec::new(), || {
        let index = ToolIndex::new(entries());
        search_eval::embed(&index);
        index
    });
    let search = |text: &str| {
        let query = Query::parse(text).expect("a valid query");
        let started = Instant::now();
        let index = cache.get_or_build(1, Vec::new(), || unreachable!("the index is cached"));
        let hits = index.search(&query, 10, &|| false).expect("not interrupted");
        assert!(!hits.is_empty());
        ms(started.elapsed())
    };
    let repeated: Vec<f64> = (0..REPEATS).map(|repeat| search(QUERIES[repeat % QUERIES.len()])).collect();
    report.target(
        "search_5000_ms",
        median(&repeated),
        "ms",
        "search 5,000 tools: one search, index and query embedding cached (median)",
        Target::AtMost(5.0),
    );
    // A query not asked before is embedded first: a cost of its own, whatever the number of tools.
    let fresh: Vec<f64> = (0..REPEATS).map(|repeat| search(&format!("which tool tells me about record {repeat}"))).collect();
    report.figure("search_5000_new_query_ms", median(&fresh), "ms", "search 5,000 tools: one search of a new query (embedding it included, median)");
}
