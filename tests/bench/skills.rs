//! Skills: what calling a skill costs beyond the skill's own work, and what
//! 20 skills add to start-up. `bench skills` runs only this.
//!
//! - As a tool: the round trip of `skill_noop` (a skill returning `{}`) minus
//!   that of `execute_code` of `return {};`, medians of [`CALLS`] calls taken
//!   in turn, so both see the same machine. The skill's own work is the same
//!   body in either; what remains is the cost of the skill path (its bytecode,
//!   its grant, its result shape).
//! - As an import: `stats.durationMs` of a program that imports `noop` and
//!   calls it, minus that of `return {};`, medians of [`CALLS`] runs: the
//!   second sandbox, its grant and the completion, measured in the host.
//! - Start-up: spawn to `initialize` answered with 20 skills in the skills
//!   folder (compiled in the cache already) minus with none, medians of
//!   [`STARTS`] starts each, taken in turn.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::child::{Connection, Paths, call, duration_ms, execute};
use crate::report::{Report, Target, median, ms};

const CALLS: usize = 1_000;
const WARMUP: usize = 100;
const STARTS: usize = 20;
const SKILLS: usize = 20;

const NOOP: &str = r#"export const meta = {
  name: "noop",
  description: "Returns an empty object.",
  servers: [],
  input: { type: "object" },
  output: { type: "object" },
  examples: ["noop({})"],
} as const;
export default async function noop(_input: object) { return {}; }
"#;

const IMPORTING: &str = "const { noop } = await import(\"skills/noop\");\nreturn await noop({});";
const INLINE: &str = "return {};";

/// A skill like the plan's: meta with schemas, a few tool calls, some logic.
fn filler(index: usize) -> String {
    format!(
        r#"export const meta = {{
  name: "filler-{index}",
  description: "Counts the entities of type {index} in the knowledge graph.",
  servers: ["memory"],
  input: {{ type: "object", properties: {{ limit: {{ type: "integer", minimum: 1 }} }} }},
  output: {{ type: "object", properties: {{ count: {{ type: "integer" }} }}, required: ["count"] }},
  examples: ["filler{index}({{ limit: 3 }})"],
}} as const;
export default async function filler{index}(input: {{ limit?: number }}) {{
  const graph = await mcp.call("memory", "read_graph", {{}});
  const matching = graph.entities.filter((entity: {{ entityType: string }}) => entity.entityType === "type-{index}");
  return {{ count: Math.min(matching.length, input.limit ?? Infinity) }};
}}
"#
    )
}

pub async fn measure(paths: &Paths, report: &mut Report) -> Result<()> {
    let folder = tempfile::tempdir()?;
    std::fs::write(folder.path().join("noop.ts"), NOOP)?;
    for index in 1..SKILLS {
        std::fs::write(folder.path().join(format!("filler-{index}.ts")), filler(index))?;
    }
    let host = Connection::host(paths, &config(Some(folder.path()))).await?;
    let peer = host.peer();
    for _ in 0..WARMUP {
        skill_call(&peer).await?;
        execute(&peer, IMPORTING).await?;
        execute(&peer, INLINE).await?;
    }
    let (mut as_tool, mut inline_trip, mut imported, mut inline_run) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..CALLS {
        as_tool.push(ms(skill_call(&peer).await?));
        let (response, elapsed) = execute(&peer, INLINE).await?;
        inline_trip.push(ms(elapsed));
        inline_run.push(duration_ms(&response)?);
        imported.push(duration_ms(&execute(&peer, IMPORTING).await?.0)?);
    }
    host.close().await?;
    report.figure("skill_tool_roundtrip_ms", median(&as_tool), "ms", "round trip of skill_noop, median");
    report.figure("skill_inline_roundtrip_ms", median(&inline_trip), "ms", "round trip of execute_code `return {};`, median");
    report.target(
        "skill_tool_overhead_ms",
        median(&as_tool) - median(&inline_trip),
        "ms",
        "a skill as a tool, beyond its own work",
        Target::AtMost(0.1),
    );
    report.target(
        "skill_import_overhead_ms",
        median(&imported) - median(&inline_run),
        "ms",
        "a skill as an import, beyond its own work",
        Target::AtMost(0.1),
    );
    startup(paths, folder.path(), report).await
}

/// Spawn to `initialize` answered, with and without the skills, in turn.
async fn startup(paths: &Paths, folder: &Path, report: &mut Report) -> Result<()> {
    let (with_skills, without) = (config(Some(folder)), config(None));
    let (mut skilled, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..STARTS {
        let host = Connection::host(paths, &with_skills).await?;
        skilled.push(ms(host.startup));
        host.close().await?;
        let host = Connection::host(paths, &without).await?;
        bare.push(ms(host.startup));
        host.close().await?;
    }
    report.figure("startup_with_20_skills_ms", median(&skilled), "ms", "spawn to initialize with 20 skills, median");
    report.target(
        "startup_20_skills_delta_ms",
        median(&skilled) - median(&bare),
        "ms",
        "what 20 skills add to start-up (warm cache)",
        Target::AtMost(10.0),
    );
    Ok(())
}

async fn skill_call(peer: &rmcp::service::Peer<rmcp::RoleClient>) -> Result<std::time::Duration> {
    let started = Instant::now();
    let (result, _) = call(peer, "skill_noop", json!({})).await?;
    if result.is_error == Some(true) {
        bail!("skill_noop failed: {result:?}");
    }
    Ok(started.elapsed())
}

fn config(skills: Option<&Path>) -> Value {
    match skills {
        Some(folder) => json!({ "mcpServers": {}, "codeRuntime": { "skills": { "directory": folder } } }),
        None => json!({ "mcpServers": {}, "codeRuntime": { "skills": { "expose": "none" } } }),
    }
}
