//! One integration binary: the real `mcp-code-runtime` driven over MCP.

mod adoption;
mod adversarial;
mod analytics;
mod approvals;
mod bridge;
mod cache;
mod client_contract_output;
mod client_contract_progress;
mod discovery;
mod downstream_faults;
mod fuzz_regressions;
mod host_bounds;
mod interop;
mod otel;
mod sandbox;
mod search_quality;
mod seed;
mod seed_failures;
mod seed_servers;
#[path = "../seed_site.rs"]
mod seed_site;
mod seed_skills_spec;
mod seed_skills_tasks;
mod seed_skills_web;
mod seed_workflows;
mod skills;
mod state;
mod util;
