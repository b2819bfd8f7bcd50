//! Golden tests: every recorded `tools/list` snapshot in
//! `tests/fixtures/tools/` plus the hand-written edge cases below must
//! generate exactly `tests/fixtures/expected/<name>.d.ts`.
//!
//! After reviewing a change in the output, rewrite the goldens with
//! `UPDATE_GOLDEN=1 cargo test typegen`. `tests/typecheck` then checks
//! with `tsc` that they compile.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;

const FIXTURE_SUFFIX: &str = ".tools.json";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Every `tools/list` snapshot, named after its file: `time.tools.json` is
/// the server `time`.
fn fixture_servers() -> Vec<(String, Vec<ToolInfo>)> {
    let dir = fixtures_dir().join("tools");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.to_string_lossy().ends_with(FIXTURE_SUFFIX))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let name = path.file_name().expect("a file name").to_string_lossy();
            let server = name.trim_end_matches(FIXTURE_SUFFIX).to_owned();
            let text = fs::read_to_string(path).expect("a readable fixture");
            let tools = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (server, tools)
        })
        .collect()
}

fn tool(value: Value) -> ToolInfo {
    serde_json::from_value(value).expect("a valid tool")
}

/// Names and schemas no recorded server has, but some server will.
fn edge_case_tools() -> Vec<ToolInfo> {
    let empty = json!({"type": "object", "properties": {}});
    vec![
        tool(
            json!({"name": "delete", "description": "A reserved word. Ends a comment: */ here.", "inputSchema": {
                "type": "object",
                "properties": {"id": {"type": "integer", "minimum": 1}},
                "required": ["id"],
                "additionalProperties": false
            }}),
        ),
        tool(json!({"name": "new", "inputSchema": empty})),
        tool(json!({"name": "default", "inputSchema": empty})),
        tool(
            json!({"name": "get-time-zone", "description": "Hyphens.", "inputSchema": {
                "type": "object",
                "properties": {"zone": {"type": ["string", "null"], "description": "IANA name"}}
            }}),
        ),
        tool(json!({"name": "tz.convert", "inputSchema": true})),
        tool(json!({"name": "1st_place", "inputSchema": {}})),
        tool(
            json!({"name": "list_items", "inputSchema": {"type": "object", "properties": {}, "additionalProperties": false}}),
        ),
        tool(
            json!({"name": "list-items", "description": "Its alias `listItems` is taken by `list_items`.", "inputSchema": empty}),
        ),
        tool(json!({"name": "Promise", "inputSchema": empty})),
        tool(
            json!({"name": "tree", "description": "Recursive and shared definitions.", "inputSchema": {
                "type": "object",
                "properties": {
                    "root": {"$ref": "#/$defs/Node"},
                    "legacy": {"$ref": "#/definitions/legacy-node"},
                    "self": {"$ref": "#", "description": "This whole argument object, again."},
                    "elsewhere": {"$ref": "https://example.com/schema.json"}
                },
                "required": ["root"],
                "$defs": {"Node": {
                    "description": "A node and its children.",
                    "type": "object",
                    "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                    "required": ["label"]
                }},
                "definitions": {"legacy-node": {"type": "string", "pattern": "^[a-z*/]+$"}}
            }, "outputSchema": {
                "type": "object",
                "properties": {"node": {"$ref": "#/$defs/Node"}, "Promise": {"$ref": "#/$defs/Promise"}},
                "$defs": {
                    "Node": {
                        "description": "A node and its children.",
                        "type": "object",
                        "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                        "required": ["label"]
                    },
                    "Promise": {"type": "boolean"}
                }
            }}),
        ),
        tool(json!({"name": "shapes", "inputSchema": {
            "type": "object",
            "properties": {
                "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "minItems": 2, "items": false},
                "legacyTuple": {"type": "array", "items": [{"type": "string"}, {"type": "boolean"}], "minItems": 1},
                "matrix": {"type": "array", "items": {"type": "array", "items": {"type": ["number", "null"]}}},
                "mode": {"enum": ["fast", "safe", 3, true, null], "default": "fast"},
                "kind": {"const": "shape"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}, "description": "A map."},
                "counts": {
                    "type": "object",
                    "properties": {"total": {"type": "integer"}},
                    "additionalProperties": {"type": "number"}
                },
                "headers": {"type": "object", "patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": false},
                "style": {"oneOf": [
                    {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]},
                    {"type": "string", "enum": ["none"]}
                ]},
                "both": {"allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}},
                    {"type": "object", "properties": {"b": {"type": "number"}}}
                ]},
                "maybe": {"type": "string", "nullable": true, "format": "date-time"},
                "not-an-identifier": {"type": "boolean", "deprecated": true},
                "class": {"type": "string"},
                "negated": {"not": {"type": "null"}},
                "conditional": {"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}},
                "nothing": false,
                "anything": true,
                "weird": {"type": "date"}
            },
            "required": ["point", "undeclared"]
        }})),
    ]
}

/// All golden cases: the fixtures, then the edge cases as server `edge-cases`.
fn golden_cases() -> Vec<(String, Vec<ToolInfo>)> {
    let mut cases = fixture_servers();
    cases.push(("edge-cases".to_owned(), edge_case_tools()));
    cases
}

#[test]
fn serde_json_keeps_schema_order() {
    let map: serde_json::Map<String, Value> =
        serde_json::from_str(r#"{"b": 1, "a": 2}"#).expect("valid JSON");
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["b", "a"],
        "host/Cargo.toml must enable serde_json's `preserve_order` feature"
    );
}

#[test]
fn output_matches_the_goldens() {
    let expected_dir = fixtures_dir().join("expected");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|value| value == "1");
    let cases = golden_cases();
    assert!(
        cases.len() >= 11,
        "fixtures are missing: {} cases",
        cases.len()
    );

    let mut mismatches = Vec::new();
    for (server, tools) in &cases {
        let path = expected_dir.join(format!("{server}.d.ts"));
        let actual = server_declarations(server, tools);
        if update {
            fs::write(&path, &actual)
                .unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
            continue;
        }
        let Ok(expected) = fs::read_to_string(&path) else {
            mismatches.push(format!("{}: missing", path.display()));
            continue;
        };
        if actual != expected {
            let line = actual
                .lines()
                .zip(expected.lines())
                .position(|(a, e)| a != e);
            let line = line.map_or_else(
                || "at the end".to_owned(),
                |line| format!("at line {}", line + 1),
            );
            mismatches.push(format!("{}: first difference {line}", path.display()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "generated declarations differ from the goldens (rerun with UPDATE_GOLDEN=1 after reviewing):\n{}",
        mismatches.join("\n")
    );

    let cases: BTreeSet<String> = cases
        .into_iter()
        .map(|(server, _)| format!("{server}.d.ts"))
        .collect();
    let goldens: BTreeSet<String> = fs::read_dir(&expected_dir)
        .expect("the expected folder")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        goldens, cases,
        "every golden has a case and every case a golden"
    );
}

#[test]
fn fixtures_load_as_tool_infos() {
    let servers = fixture_servers();
    let time = &servers
        .iter()
        .find(|(server, _)| server == "time")
        .expect("the time fixture")
        .1;
    assert_eq!(time.len(), 2);
    assert_eq!(time[0].name, "get_current_time");
    assert_eq!(
        time[0].description.as_deref(),
        Some("Get current time in a specific timezone")
    );
    assert!(time[0].output_schema.is_some());
    let round_trip: ToolInfo =
        serde_json::from_value(serde_json::to_value(&time[1]).expect("serializable"))
            .expect("deserializable");
    assert_eq!(round_trip, time[1]);
}

#[test]
fn a_tool_declaration_is_the_module_with_only_that_tool() {
    let servers = fixture_servers();
    let (server, tools) = servers
        .iter()
        .find(|(server, _)| server == "task-master-ai")
        .expect("the task-master fixture");
    let one = tool_declaration(server, &tools[0]);
    assert!(
        one.starts_with("declare module \"mcp://task-master-ai\" {\n"),
        "{one}"
    );
    assert!(
        one.contains("export function initializeProject(args: InitializeProjectArgs)"),
        "{one}"
    );
    assert!(!one.contains("getTasks"), "{one}");
    let full = server_declarations(server, tools);
    let body = one.strip_suffix("}\n").expect("a closed module");
    assert!(
        full.contains(body),
        "the first tool is declared the same way in the full module"
    );
}

#[test]
fn index_references_runtime_skills_and_servers() {
    assert_eq!(
        index_declarations(&["time", "task-master", "a/b"]),
        "// Generated by mcp-code-runtime. Do not edit.\n\
         /// <reference path=\"./runtime.d.ts\" />\n\
         /// <reference path=\"./skills.d.ts\" />\n\
         /// <reference path=\"./time.d.ts\" />\n\
         /// <reference path=\"./task-master.d.ts\" />\n\
         /// <reference path=\"./a_b.612f62.d.ts\" />\n"
    );
}

#[test]
fn colliding_server_names_get_distinct_files() {
    let servers = ["runtime", "index", "skills", "a.b", "a_b", "a/b", "A_B", "Runtime", "", "task-master"];
    let files: Vec<String> = servers.iter().map(|server| declaration_file_name(server)).collect();
    let mut distinct: Vec<String> = files.iter().map(|file| file.to_lowercase()).collect();
    distinct.extend([RUNTIME_FILE_NAME, SKILLS_FILE_NAME, INDEX_FILE_NAME].map(str::to_owned));
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), servers.len() + 3, "{files:?}");
    assert_eq!(declaration_file_name("a_b"), "a_b.d.ts");
    assert_eq!(declaration_file_name("a.b"), "a_b.612e62.d.ts");
    assert_eq!(declaration_file_name("runtime"), "runtime.72756e74696d65.d.ts");
    assert_eq!(declaration_file_name("task-master"), "task-master.d.ts");
    assert!(files.iter().all(|file| file.ends_with(".d.ts") && !file.contains('/')), "{files:?}");
}

#[test]
fn a_skill_is_a_module_with_its_function_as_default_and_camel_case_name() {
    let skill = ToolInfo {
        name: "task-triage".into(),
        description: Some("Sorts tasks.".into()),
        input_schema: json!({"type": "object", "properties": {"limit": {"type": "number"}}}),
        output_schema: Some(json!({"type": "object", "properties": {"count": {"type": "number"}}, "required": ["count"]})),
    };
    let text = skill_declaration("task-triage", &skill);
    assert!(text.starts_with("declare module \"skills/task-triage\" {"), "{text}");
    assert!(text.contains("export function taskTriage(args?: TaskTriageArgs): Promise<TaskTriageResult>;"), "{text}");
    assert!(text.contains("as default }"), "{text}");
    assert!(text.contains("count: number;"), "{text}");
}

#[test]
fn server_names_are_escaped_in_the_header_and_specifier() {
    let text = server_declarations("odd\"name\n", &[]);
    assert_eq!(
        text,
        "// Generated by mcp-code-runtime from the tools/list of server \"odd\\\"name\\n\". Do not edit.\n\
         declare module \"mcp://odd\\\"name\\n\" {\n}\n"
    );
}
