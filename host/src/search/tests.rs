//! Unit tests of the ranking over the recorded `tools/list` snapshots, and of
//! the text steps.

use std::cmp::Ordering;
use std::fs;
use std::path::Path;

use super::text::{stem, terms, words};
use super::*;

impl ToolIndex {
    fn find(&self, query: &str, limit: usize) -> Vec<Hit> {
        self.search(&Query::parse(query).expect("a valid query"), limit, &|| false)
            .expect("not interrupted")
    }
}

#[test]
fn queries_are_bounded_and_deduplicated() {
    assert_eq!(Query::parse(&"a".repeat(MAX_QUERY_CHARS)).map(|query| query.tokens.len()), Ok(1));
    assert_eq!(Query::parse(&"é".repeat(MAX_QUERY_CHARS + 1)).unwrap_err(), QueryError::TooLong);
    let repeated = "task ".repeat(MAX_QUERY_CHARS / 5);
    assert_eq!(Query::parse(&repeated).map(|query| query.tokens.len()), Ok(1));
    let many: String = (0..100).map(|n| format!("w{n} ")).collect();
    assert!(many.len() <= MAX_QUERY_CHARS);
    assert_eq!(Query::parse(&many).unwrap_err(), QueryError::TooManyTerms { terms: 100 });
}

#[test]
fn ranking_stops_when_interrupted() {
    let index = fixture_index();
    let query = Query::parse("list files").unwrap();
    assert!(index.search(&query, 10, &|| true).is_none());
    let checks = std::cell::Cell::new(0);
    let hits = index.search(&query, 10, &|| {
        checks.set(checks.get() + 1);
        false
    });
    assert!(hits.is_some_and(|hits| !hits.is_empty()));
    assert!(checks.get() >= index.documents.len(), "checked at least once per tool");
}

/// The recorded `tools/list` snapshots, each as the server its file names.
fn fixture_tools() -> Vec<(String, ToolInfo)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tools");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("the fixtures folder")
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
    assert!(tools.len() > 100, "fixtures are missing: {} tools", tools.len());
    tools
}

fn fixture_index() -> ToolIndex {
    let tools = fixture_tools();
    ToolIndex::new(tools.iter().map(|(server, tool)| (server.as_str(), tool)))
}

fn top(index: &ToolIndex, query: &str) -> (String, String) {
    let hit = index.find(query, 1).into_iter().next().unwrap_or_else(|| panic!("no hit for {query:?}"));
    (hit.server, hit.tool)
}

#[test]
fn natural_queries_find_the_right_tool_first() {
    let index = fixture_index();
    let cases: &[(&str, &str, &[&str])] = &[
        ("create a task", "task-master-ai", &["add_task"]),
        ("take a screenshot", "chrome-devtools", &["take_screenshot"]),
        ("navigate to a url", "chrome-devtools", &["navigate_page"]),
        ("read a file", "filesystem", &["read_file", "read_text_file"]),
        ("list directory", "filesystem", &["list_directory"]),
        ("current time", "time", &["get_current_time"]),
        ("git commit", "git", &["git_commit"]),
        ("add observations to an entity", "memory", &["add_observations"]),
        ("delete a relation from the knowledge graph", "memory", &["delete_relations"]),
        ("convert a time to another timezone", "time", &["convert_time"]),
        ("run javascript in the page", "chrome-devtools", &["evaluate_script"]),
        ("make a new folder", "filesystem", &["create_directory"]),
        ("switch git branch", "git", &["git_checkout"]),
        ("edit a file", "filesystem", &["edit_file"]),
    ];
    let mut failures = Vec::new();
    for (query, server, tools) in cases {
        let (hit_server, hit_tool) = top(&index, query);
        if hit_server != *server || !tools.contains(&hit_tool.as_str()) {
            failures.push(format!("{query:?}: expected {server} {tools:?}, got {hit_server} {hit_tool}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_query_word_matches_a_tool_name_word_by_prefix() {
    let index = fixture_index();
    assert_eq!(top(&index, "nav"), ("chrome-devtools".to_owned(), "navigate_page".to_owned()));
    assert_eq!(top(&index, "heapsnap").1, "take_heapsnapshot");
    // the tools named by a word `screen` starts come first; a tool whose
    // description has such a word (`take_snapshot`: "screenshot") may follow
    let mut screen: Vec<String> = index.find("screen", 10).into_iter().map(|hit| hit.tool).collect();
    screen[..3].sort();
    assert_eq!(screen[..3], ["screencast_start", "screencast_stop", "take_screenshot"]);
    assert!(screen[3..].iter().all(|tool| tool == "take_snapshot"), "{screen:?}");
    // words match by prefix, not stems: `file` (stem `fil`) is no prefix of `fill`
    assert!(index.find("file", 200).iter().all(|hit| hit.tool != "fill"));
    assert!(index.find("na", 10).is_empty(), "two letters are too short a prefix");
}

#[test]
fn limit_order_and_determinism() {
    let tools = fixture_tools();
    let index = ToolIndex::new(tools.iter().map(|(server, tool)| (server.as_str(), tool)));
    let hits = index.find("list files in a directory", 5);
    assert_eq!(hits.len(), 5);
    assert!(hits.windows(2).all(|pair| pair[0].score >= pair[1].score), "{hits:?}");
    assert!(index.find("list files in a directory", 0).is_empty());

    let all = index.find("list", usize::MAX);
    assert!(all.len() > 5 && all.len() < tools.len(), "only matching tools: {}", all.len());
    for pair in all.windows(2) {
        let order = pair[1]
            .score
            .total_cmp(&pair[0].score)
            .then_with(|| pair[0].server.cmp(&pair[1].server))
            .then_with(|| pair[0].tool.cmp(&pair[1].tool));
        assert_eq!(order, Ordering::Less, "{pair:?}");
    }

    let reversed = ToolIndex::new(tools.iter().rev().map(|(server, tool)| (server.as_str(), tool)));
    for query in ["list files in a directory", "task", "get"] {
        assert_eq!(index.find(query, 20), reversed.find(query, 20), "{query:?}");
        assert_eq!(index.find(query, 20), index.find(query, 20), "{query:?}");
    }
}

#[test]
fn nothing_matches_nothing() {
    let index = fixture_index();
    assert!(index.find("", 10).is_empty());
    assert!(index.find("the a of", 10).is_empty());
    assert!(index.find("xylophone", 10).is_empty());
    assert!(ToolIndex::new::<Entry>([]).find("task", 10).is_empty());
}

#[test]
fn ties_break_by_server_then_tool() {
    let tool = |name: &str| ToolInfo {
        name: name.to_owned(),
        description: None,
        input_schema: Value::Null,
        output_schema: None,
    };
    let (b, a) = (tool("ping"), tool("ping"));
    let index = ToolIndex::new([("zeta", &b), ("alpha", &a)]);
    let hits = index.find("ping", 10);
    let order: Vec<&str> = hits.iter().map(|hit| hit.server.as_str()).collect();
    assert_eq!(order, ["alpha", "zeta"]);
    assert_eq!(hits[0].score, hits[1].score);
}

#[test]
fn words_split_at_case_humps_and_punctuation() {
    assert_eq!(
        words("getTasks get_tasks get-tasks a.b"),
        ["get", "Tasks", "get", "tasks", "get", "tasks", "a", "b"]
    );
    assert_eq!(words("HTTPServer baseURL base64 a11y"), ["HTTP", "Server", "base", "URL", "base64", "a11y"]);
}

#[test]
fn stemming_is_light_and_consistent() {
    let cases = [
        ("entities", "entity"),
        ("directories", "directory"),
        ("files", "fil"),
        ("file", "fil"),
        ("processes", "process"),
        ("boxes", "box"),
        ("matches", "match"),
        ("status", "status"),
        ("analysis", "analysis"),
        ("taking", "tak"),
        ("take", "tak"),
        ("created", "creat"),
        ("create", "creat"),
        ("added", "add"),
        ("uses", "use"),
        ("use", "use"),
        ("thing", "thing"),
    ];
    for (word, stemmed) in cases {
        assert_eq!(stem(word), stemmed, "stem({word:?})");
    }
    assert_eq!(terms("The files of the Project"), ["fil", "project"]);
}

fn tool(name: &str, description: &str, input_schema: Value) -> ToolInfo {
    ToolInfo {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        input_schema,
        output_schema: None,
    }
}

#[test]
fn nested_parameters_and_enum_values_are_searched_within_bounds() {
    let nested = serde_json::json!({"properties": {"items": {"type": "array", "items": {"properties": {
        "state": {"enum": ["done", "pending"], "description": "the new state"}}}}}});
    let mut deep = serde_json::json!({"properties": {"leaf": {"description": "abyssal"}}});
    for _ in 0..MAX_SCHEMA_DEPTH {
        deep = serde_json::json!({"properties": {"child": deep}});
    }
    let (a, b) = (tool("set_state", "Sets it", nested), tool("dig", "Goes down", deep));
    let index = ToolIndex::new([("s", &a), ("s", &b)]);
    assert_eq!(top(&index, "done"), ("s".to_owned(), "set_state".to_owned()));
    assert!(index.find("abyssal", 10).is_empty(), "read no deeper than MAX_SCHEMA_DEPTH");
}

#[test]
fn what_every_tool_of_a_server_shares_does_not_tell_them_apart() {
    let root = || serde_json::json!({"properties": {"projectRoot": {"description": "The project folder"}}});
    let tools = [
        tool("tm_rename_tag", "Rename a tag", root()),
        tool("tm_add_tag", "Add a tag", root()),
        tool("tm_use_tag", "Use a tag", root()),
    ];
    let file = tool("move_file", "Move or rename files", Value::Null);
    let mut entries: Vec<(&str, &ToolInfo)> = tools.iter().map(|tool| ("tasks", tool)).collect();
    entries.push(("files", &file));
    let index = ToolIndex::new(entries);
    // `projectRoot` is every `tasks` tool's parameter, so `folder` finds none of them
    assert!(index.find("folder", 10).is_empty());
    // `tm` starts every `tasks` tool's name: it names the server, not a tool, and scores as much in each
    let hits = index.find("tm", 10);
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|hit| hit.score == hits[0].score));
    // the tool matching both words wins over the one whose name has the rarer one
    assert_eq!(top(&index, "rename a file").1, "move_file");
}

#[test]
fn a_term_of_the_index_sharing_a_long_prefix_stands_for_a_query_word() {
    let (relations, relax) = (tool("create_relations", "Links entities", Value::Null), tool("relax", "Rests", Value::Null));
    let index = ToolIndex::new([("m", &relations), ("m", &relax)]);
    let hits = index.find("relationship", 10);
    assert_eq!(hits.len(), 1, "`relax` shares too short a prefix: {hits:?}");
    assert_eq!(hits[0].tool, "create_relations");
}
