//! The token benchmark (the plan's 2.3): the plan's workflows done for real,
//! twice, against the real servers of `config/seed-servers.json` (ide over a
//! TypeScript project, task-master's task file, Chromium through
//! chrome-devtools-mcp on pages served here on loopback, the spec-workflow
//! stand-in), and what a model sees on each path, counted. `bench tokens` runs
//! only this.
//!
//! - **direct**: the model holds the involved servers' tools and calls them
//!   itself: their `tools/list` and instructions, then every call's arguments
//!   and full result, in the order the skill makes them ([`workflows`]);
//! - **code mode**: the model holds the host's tools (the skills included) and
//!   instructions, asks `search_tools` once, writes one program and reads its
//!   response; and where one skill does the whole workflow, on a third
//!   project, that skill called as its tool `skill_<name>` (no discovery, no
//!   program: code mode at its cheapest).
//!
//! Each path runs on its own fresh copy of the example project, and both must
//! leave the same state (the task files equal, the same pages asked for) and
//! find the same things, or the benchmark fails. Tokens are counted as
//! [`count`] says, in cl100k_base and o200k_base. The wall times are of the
//! work: from `tools/list` to the last result read, with the servers (and on
//! the code path the host) already started; a model's own turns are not in
//! them. The start-up of each path is printed beside.
//!
//! Figures: `tokens_<workflow>_{direct,code}_{cl100k,o200k}`, the reductions
//! `tokens_<workflow>_reduction_{cl100k,o200k}_percent` (cl100k held to the
//! plan's estimate where it gave one), the same without the tool definitions
//! (`..._work_reduction_...`), the input of all the model's turns summed (the
//! context is read again at each turn that writes a call: what an API bills
//! without prompt caching; `..._turn_inputs_...`), and
//! `tokens_<workflow>_{direct,code}_ms`.

mod count;
mod seed;
mod session;
mod workflows;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use crate::child::Paths;
use crate::report::{Report, Target, ms};
use count::{Tally, reduction};
use seed::{Project, Site};
use session::{CodeMode, Direct};
use workflows::{Place, Workflow};

/// What one workflow cost on each path.
struct Measured {
    direct: Tally,
    code: Tally,
    direct_work: Duration,
    code_work: Duration,
    direct_startup: Duration,
    code_startup: Duration,
    /// Code mode calling the workflow's skill as its tool, where one does it all.
    skill_tool: Option<(Tally, Duration)>,
}

pub async fn measure(paths: &Paths, report: &mut Report) -> Result<()> {
    let mut rows = Vec::new();
    for workflow in Workflow::ALL {
        println!("\n-- {}", workflow.title());
        if let Some(reason) = workflow.missing() {
            println!("MISSING: {reason}");
            report.note(&format!("tokens_{}_missing", workflow.key()), json!(reason));
            continue;
        }
        let measured = run(paths, workflow).await.with_context(|| workflow.title().to_owned())?;
        record(report, workflow, &measured);
        rows.push((workflow, measured));
    }
    print_table(&rows);
    Ok(())
}

/// Both paths of `workflow`, each on its own fresh project, then the check that they agree.
async fn run(paths: &Paths, workflow: Workflow) -> Result<Measured> {
    let (direct_project, code_project) = (Project::fresh()?, Project::fresh()?);
    workflow.prepare(&direct_project)?;
    workflow.prepare(&code_project)?;
    let direct_site = Site::serve(direct_project.root.join("site")).await?;
    let code_site = Site::serve(code_project.root.join("site")).await?;
    let direct_place = Place { project: &direct_project, site: &direct_site };
    let code_place = Place { project: &code_project, site: &code_site };

    let mut direct = Direct::start(&direct_project.config()?, workflow.servers(), &direct_project.home).await?;
    let started = Instant::now();
    direct.list_tools().await?;
    let found = workflow.direct(&mut direct, &direct_place).await?;
    let direct_work = started.elapsed();
    let (direct_tally, direct_startup) = (direct.tally, direct.startup);
    direct.close().await?;

    let program = workflow.program(&code_place)?;
    let mut code = CodeMode::start(paths, &code_project.config()?, workflow.servers()).await?;
    let started = Instant::now();
    code.list_tools().await?;
    code.call("search_tools", json!({ "query": workflow.query() })).await?;
    let result = code.execute(&program).await?;
    let code_work = started.elapsed();
    let (code_tally, code_startup) = (code.tally, code.startup);
    code.close().await?;

    workflow.check((&direct_place, &found), (&code_place, &result))?;
    let skill_tool = skill_tool(paths, workflow, (&direct_place, &found)).await?;
    Ok(Measured { direct: direct_tally, code: code_tally, direct_work, code_work, direct_startup, code_startup, skill_tool })
}

/// Code mode on a third fresh project, the skill called as its tool `skill_<name>`
/// (it is in the host's tools/list, so no discovery and no program), held to the direct path's state.
async fn skill_tool(paths: &Paths, workflow: Workflow, direct: (&Place<'_>, &serde_json::Value)) -> Result<Option<(Tally, Duration)>> {
    let project = Project::fresh()?;
    workflow.prepare(&project)?;
    let site = Site::serve(project.root.join("site")).await?;
    let place = Place { project: &project, site: &site };
    let Some((tool, arguments)) = workflow.skill_call(&place) else { return Ok(None) };
    let mut code = CodeMode::start(paths, &project.config()?, workflow.servers()).await?;
    let started = Instant::now();
    code.list_tools().await?;
    let result = code.call(tool, arguments).await?;
    let work = started.elapsed();
    let tally = code.tally;
    code.close().await?;
    let output = result.structured_content.context("a skill with an output schema answers structured content")?;
    workflow.check(direct, (&place, &output))?;
    Ok(Some((tally, work)))
}

fn record(report: &mut Report, workflow: Workflow, measured: &Measured) {
    let key = |name: &str| format!("tokens_{}_{name}", workflow.key());
    let (direct, code) = (&measured.direct, &measured.code);
    println!(
        "{:<52} {:>7} + {:>6} written + {:>6} read = {:>7} cl100k ({} calls)",
        "  direct: tool definitions",
        direct.listing.cl100k,
        direct.written.cl100k,
        direct.read.cl100k,
        direct.total().cl100k,
        direct.calls
    );
    println!(
        "{:<52} {:>7} + {:>6} written + {:>6} read = {:>7} cl100k ({} calls)",
        "  code mode: tool definitions", code.listing.cl100k, code.written.cl100k, code.read.cl100k, code.total().cl100k, code.calls
    );
    for (path, tally) in [("direct", direct), ("code", code)] {
        report.figure(&key(&format!("{path}_cl100k")), tally.total().cl100k as f64, "tokens", &format!("{path}, cl100k"));
        report.figure(&key(&format!("{path}_o200k")), tally.total().o200k as f64, "tokens", &format!("{path}, o200k"));
        report.figure(&key(&format!("{path}_listing_cl100k")), tally.listing.cl100k as f64, "tokens", &format!("  {path}: of which tool definitions"));
        report.note(&key(&format!("{path}_calls")), json!(tally.calls));
    }
    let cl100k = reduction(direct.total().cl100k, code.total().cl100k);
    let label = "reduction, cl100k";
    match workflow.plan_estimate() {
        Some(plan) => report.target(&key("reduction_cl100k_percent"), cl100k, "%", &format!("{label} (plan: {plan}%)"), Target::AtLeast(plan)),
        None => report.figure(&key("reduction_cl100k_percent"), cl100k, "%", label),
    }
    report.figure(&key("reduction_o200k_percent"), reduction(direct.total().o200k, code.total().o200k), "%", "reduction, o200k");
    let work = reduction(direct.work().cl100k, code.work().cl100k);
    report.figure(&key("work_reduction_cl100k_percent"), work, "%", "reduction without tool definitions, cl100k");
    report.figure(&key("work_reduction_o200k_percent"), reduction(direct.work().o200k, code.work().o200k), "%", "reduction without tool definitions, o200k");
    let turns = reduction(direct.turn_inputs().cl100k, code.turn_inputs().cl100k);
    report.figure(&key("direct_turn_inputs_cl100k"), direct.turn_inputs().cl100k as f64, "tokens", "direct: input over all turns, cl100k");
    report.figure(&key("code_turn_inputs_cl100k"), code.turn_inputs().cl100k as f64, "tokens", "code mode: input over all turns, cl100k");
    report.figure(&key("turn_inputs_reduction_cl100k_percent"), turns, "%", "reduction of the input over all turns, cl100k");
    if let Some((skill, work)) = &measured.skill_tool {
        println!(
            "{:<52} {:>7} + {:>6} written + {:>6} read = {:>7} cl100k ({} call)",
            "  code mode, the skill as a tool: tool definitions", skill.listing.cl100k, skill.written.cl100k, skill.read.cl100k, skill.total().cl100k, skill.calls
        );
        report.figure(&key("skill_tool_cl100k"), skill.total().cl100k as f64, "tokens", "code mode, the skill as its tool, cl100k");
        report.figure(&key("skill_tool_o200k"), skill.total().o200k as f64, "tokens", "code mode, the skill as its tool, o200k");
        let label = "reduction with the skill as its tool, cl100k";
        report.figure(&key("skill_tool_reduction_cl100k_percent"), reduction(direct.total().cl100k, skill.total().cl100k), "%", label);
        let label = "  the same without tool definitions";
        report.figure(&key("skill_tool_work_reduction_cl100k_percent"), reduction(direct.work().cl100k, skill.work().cl100k), "%", label);
        report.figure(&key("skill_tool_ms"), ms(*work), "ms", "code mode, the skill as its tool: wall time of the work");
    }
    report.figure(&key("direct_ms"), ms(measured.direct_work), "ms", "direct: wall time of the work");
    report.figure(&key("code_ms"), ms(measured.code_work), "ms", "code mode: wall time of the work");
    report.figure(&key("direct_startup_ms"), ms(measured.direct_startup), "ms", "  direct: starting the servers");
    report.figure(&key("code_startup_ms"), ms(measured.code_startup), "ms", "  code mode: starting the host and the servers");
}

/// The summary: one row per workflow.
fn print_table(rows: &[(Workflow, Measured)]) {
    println!(
        "\n| workflow | direct cl100k (o200k) | code mode cl100k (o200k) | reduction cl100k (o200k) | plan | without definitions | skill as its tool: cl100k, reduction | input over all turns: direct / code | calls direct / code | direct ms | code ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (workflow, measured) in rows {
        let (direct, code) = (measured.direct.total(), measured.code.total());
        let plan = workflow.plan_estimate().map_or("–".to_owned(), |plan| format!("{plan}%"));
        let skill = measured.skill_tool.as_ref().map_or("–".to_owned(), |(skill, _)| {
            format!("{}, {:.1}%", skill.total().cl100k, reduction(direct.cl100k, skill.total().cl100k))
        });
        let turns = (measured.direct.turn_inputs().cl100k, measured.code.turn_inputs().cl100k);
        println!(
            "| {} | {} ({}) | {} ({}) | {:.1}% ({:.1}%) | {plan} | {:.1}% | {skill} | {} / {} | {} / {} | {:.0} | {:.0} |",
            workflow.title(),
            direct.cl100k,
            direct.o200k,
            code.cl100k,
            code.o200k,
            reduction(direct.cl100k, code.cl100k),
            reduction(direct.o200k, code.o200k),
            reduction(measured.direct.work().cl100k, measured.code.work().cl100k),
            turns.0,
            turns.1,
            measured.direct.calls,
            measured.code.calls,
            ms(measured.direct_work),
            ms(measured.code_work),
        );
    }
}
