//! A run's capabilities: the one place that decides what a run may reach and
//! how much of it, and that counts what the run has used.
//!
//! [`Capabilities`] start as everything the configuration offers and can only
//! be narrowed: [`Capabilities::narrow`] intersects the visible servers with a
//! request (`execute_code`'s `mcpServers`), and [`Capabilities::for_skill`]
//! gives a skill the servers it declares that its caller may see, never more;
//! the skill's calls count in its caller's budget, and end when the caller's
//! run ends. A server is matched by its exact name: a name that is only an
//! alias of a configured server (`taskMaster` for `task-master`) is refused
//! as not granted when that server is not visible. Every check made before a
//! downstream server is reached is a method here, refusing with a
//! [`CapabilityError`]:
//! - the server must be visible to the run ([`Capabilities::check_server`]);
//! - the tool must be allowed by the server's [`Policy`]
//!   ([`Capabilities::check_tool`], where an approval step belongs);
//! - a call must fit the run's [`Budget`] when it is admitted
//!   ([`Capabilities::admit_call`]): calls per run and per server, the size
//!   of its arguments, the run's total of argument bytes sent, and a budget of
//!   bytes received that is not yet spent;
//! - a result must fit what is left of the bytes-received budget
//!   ([`Capabilities::receive`]), checked on its size before it is converted.
//!
//! When the run ends its capabilities are revoked ([`Capabilities::revoke`]):
//! later requests are refused, and host work done for the run (ranking a
//! search, rendering declarations) stops at its next check of
//! [`Capabilities::is_revoked`].
//!
//! It does no I/O and knows nothing of MCP, the sandbox or WIT: callers map a
//! [`CapabilityError`] to their own error types at their edge.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::approval::{ApprovalDecision, ApprovalRecord, PausedTime};
use super::{Decision, Policy, ToolHints, quoted_list};

/// Most approval decisions one run keeps for its stats.
const MAX_APPROVAL_RECORDS: usize = 1_000;

/// The per-run caps on tool use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Tool calls per run, over all servers (`limits.maxToolCalls`).
    pub max_calls: u32,
    /// Bytes of JSON arguments of one call (`limits.maxToolArgumentBytes`).
    pub max_argument_bytes: u64,
    /// Bytes of JSON arguments per run, counted at admission (`limits.maxToolBytesSent`).
    pub max_bytes_sent: u64,
    /// Bytes of tool results per run (`limits.maxToolBytesReceived`).
    pub max_bytes_received: u64,
}

/// Why a request of a run is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    #[error("server `{server}` is not available to this run; it may use: {visible}")]
    ServerNotGranted { server: String, visible: String },
    #[error("no MCP server is named `{server}`; known servers: {visible}")]
    NoSuchServer { server: String, visible: String },
    /// `reason` names the tool, the server and the config key responsible.
    #[error("{reason}")]
    ToolDenied { reason: String },
    #[error("the run reached its limit of {max} tool calls")]
    RunCalls { max: u32 },
    #[error("the run reached its limit of {max} calls to server `{server}`")]
    ServerCalls { server: String, max: u32 },
    #[error("the tool arguments are {bytes} bytes of JSON, over the limit of {max} bytes per call")]
    ArgumentsTooLarge { bytes: u64, max: u64 },
    #[error("the run would send more than its limit of {max} bytes of tool arguments")]
    BytesSent { max: u64 },
    #[error("the run received more than its limit of {max} bytes from tools")]
    BytesReceived { max: u64 },
    #[error("the tool result is {bytes} bytes, more than the {remaining} bytes left of the run's limit of {max} bytes received from tools")]
    ResultTooLarge { bytes: u64, remaining: u64, max: u64 },
    #[error("the run has ended")]
    Revoked,
    /// A human (or the lack of one) did not approve the call.
    #[error("calling `{tool}` of server `{server}` was not approved: {reason}")]
    ApprovalDenied { server: String, tool: String, reason: String },
}

/// Whether a tool call may go ahead now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clearance {
    Granted,
    /// A human must approve it first; `reason` names the config key.
    NeedsApproval { reason: String },
}

/// A run asked for servers that are not configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_unknown(unknown, known))]
pub struct UnknownServers {
    /// The requested names that are not configured, in request order.
    pub unknown: Vec<String>,
    /// Every configured server name.
    pub known: Vec<String>,
}

/// What one run has used so far.
#[derive(Debug, Default)]
struct Ledger {
    calls: u32,
    calls_by_server: HashMap<String, u32>,
    bytes_sent: u64,
    bytes_received: u64,
    /// Tools a human allowed for the rest of the run: (server, tool).
    allowed_for_run: HashSet<(String, String)>,
    approvals: Vec<ApprovalRecord>,
}

/// What one run may reach, and how much of it it has used.
#[derive(Debug)]
pub struct Capabilities {
    configured: Vec<String>,
    visible: Vec<String>,
    policy: Arc<Policy>,
    budget: Budget,
    /// Shared by a run and the skills it calls.
    ledger: Arc<Mutex<Ledger>>,
    /// This run's flag, then its callers' (a skill ends with its caller).
    revoked: Vec<Arc<AtomicBool>>,
    /// Time spent waiting for approvals, shared with the skills it calls.
    paused: Arc<PausedTime>,
}

impl Capabilities {
    /// Every configured server, under `policy` and `budget`.
    pub fn new(configured: Vec<String>, policy: Arc<Policy>, budget: Budget) -> Self {
        let visible = configured.clone();
        let revoked = vec![Arc::new(AtomicBool::new(false))];
        Capabilities { configured, visible, policy, budget, ledger: Arc::default(), revoked, paused: Arc::default() }
    }

    /// The capabilities of a skill this run calls: the servers it `declared`
    /// that this run may see, under the same policy, counting in this run's
    /// budget and revoked when this run's are.
    pub fn for_skill(&self, declared: &[String]) -> Self {
        let mut visible = self.visible.clone();
        visible.retain(|name| declared.contains(name));
        let mut revoked = vec![Arc::new(AtomicBool::new(false))];
        revoked.extend(self.revoked.iter().cloned());
        Capabilities {
            configured: self.configured.clone(),
            visible,
            policy: Arc::clone(&self.policy),
            budget: self.budget,
            ledger: Arc::clone(&self.ledger),
            revoked,
            paused: Arc::clone(&self.paused),
        }
    }

    /// The time this run (and its skills) waited for approvals.
    pub fn paused(&self) -> &Arc<PausedTime> {
        &self.paused
    }

    /// Every configured server, visible to the run or not.
    pub fn configured(&self) -> &[String] {
        &self.configured
    }

    /// Keeps only the visible servers `requested` names, in configured order.
    /// An empty request leaves none.
    ///
    /// # Errors
    ///
    /// [`UnknownServers`] when a requested name is not configured.
    pub fn narrow(mut self, requested: &[String]) -> Result<Self, UnknownServers> {
        let unknown: Vec<String> = requested.iter().filter(|name| !self.configured.contains(name)).cloned().collect();
        if !unknown.is_empty() {
            return Err(UnknownServers { unknown, known: self.configured });
        }
        self.visible.retain(|name| requested.contains(name));
        Ok(self)
    }

    /// The servers the run may see, in configured order.
    pub fn visible(&self) -> &[String] {
        &self.visible
    }

    /// Whether the run may see `server`.
    pub fn check_server(&self, server: &str) -> Result<(), CapabilityError> {
        self.check_live()?;
        if self.visible.iter().any(|name| name == server) {
            return Ok(());
        }
        let visible = if self.visible.is_empty() { "(none)".to_owned() } else { self.visible.join(", ") };
        match self.configured_name(server) {
            Some(configured) if !self.visible.contains(configured) => {
                Err(CapabilityError::ServerNotGranted { server: configured.clone(), visible })
            }
            _ => Err(CapabilityError::NoSuchServer { server: server.to_owned(), visible }),
        }
    }

    /// The configured server `name` names: exactly, or by an alias a program
    /// sees it under (camelCase, or its letters, digits and `_` only).
    fn configured_name(&self, name: &str) -> Option<&String> {
        let compact = |server: &str| server.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
        let exact = self.configured.iter().find(|server| *server == name);
        exact.or_else(|| {
            self.configured.iter().find(|server| conventions::camel_case(server) == name || compact(server) == name)
        })
    }

    /// Whether the run may call `tool` (its exact name) of `server`, whose
    /// annotations say `hints`: at once, after an approval, or not at all. A
    /// tool a human allowed for the run needs no second approval.
    pub fn check_tool(&self, server: &str, tool: &str, hints: ToolHints) -> Result<Clearance, CapabilityError> {
        self.check_server(server)?;
        match self.policy.check_tool(server, tool, hints) {
            Decision::Allow => Ok(Clearance::Granted),
            Decision::Deny { reason } => Err(CapabilityError::ToolDenied { reason }),
            Decision::Ask { reason } => {
                let ledger = self.ledger.lock().expect("ledger lock");
                if ledger.allowed_for_run.contains(&(server.to_owned(), tool.to_owned())) {
                    Ok(Clearance::Granted)
                } else {
                    Ok(Clearance::NeedsApproval { reason })
                }
            }
        }
    }

    /// Records a human's answer about a call of `tool` of `server`, and
    /// refuses the call when it was not approved.
    pub fn record_approval(&self, server: &str, tool: &str, decision: ApprovalDecision) -> Result<(), CapabilityError> {
        let mut ledger = self.ledger.lock().expect("ledger lock");
        let (label, refusal) = match decision {
            ApprovalDecision::AllowOnce => ("allow_once", None),
            ApprovalDecision::AllowForRun => {
                ledger.allowed_for_run.insert((server.to_owned(), tool.to_owned()));
                ("allow_for_run", None)
            }
            ApprovalDecision::Deny { reason } => ("denied", Some(reason)),
        };
        if ledger.approvals.len() < MAX_APPROVAL_RECORDS {
            ledger.approvals.push(ApprovalRecord {
                server: server.to_owned(),
                tool: tool.to_owned(),
                decision: label.to_owned(),
                reason: refusal.clone(),
            });
        }
        match refusal {
            None => Ok(()),
            Some(reason) => Err(CapabilityError::ApprovalDenied { server: server.to_owned(), tool: tool.to_owned(), reason }),
        }
    }

    /// The approval decisions of the run so far.
    pub fn approvals(&self) -> Vec<ApprovalRecord> {
        self.ledger.lock().expect("ledger lock").approvals.clone()
    }

    /// Admits one call to `server` with `argument_bytes` of JSON arguments,
    /// counting it, or refuses it without counting anything.
    pub fn admit_call(&self, server: &str, argument_bytes: usize) -> Result<(), CapabilityError> {
        self.check_server(server)?;
        self.check_argument_size(argument_bytes)?;
        let budget = &self.budget;
        let bytes = argument_bytes as u64;
        let mut ledger = self.ledger.lock().expect("ledger lock");
        if ledger.bytes_received >= budget.max_bytes_received {
            return Err(CapabilityError::BytesReceived { max: budget.max_bytes_received });
        }
        if ledger.calls >= budget.max_calls {
            return Err(CapabilityError::RunCalls { max: budget.max_calls });
        }
        let server_calls = ledger.calls_by_server.get(server).copied().unwrap_or(0);
        if let Some(max) = self.policy.max_calls(server).filter(|max| server_calls >= *max) {
            return Err(CapabilityError::ServerCalls { server: server.to_owned(), max });
        }
        if ledger.bytes_sent.saturating_add(bytes) > budget.max_bytes_sent {
            return Err(CapabilityError::BytesSent { max: budget.max_bytes_sent });
        }
        ledger.calls += 1;
        *ledger.calls_by_server.entry(server.to_owned()).or_default() += 1;
        ledger.bytes_sent += bytes;
        Ok(())
    }

    /// Whether `bytes` of JSON arguments (of a tool call, or a skill's
    /// input) fit the per-call limit; checked before they are parsed.
    pub fn check_argument_size(&self, bytes: usize) -> Result<(), CapabilityError> {
        let (bytes, max) = (bytes as u64, self.budget.max_argument_bytes);
        if bytes > max { Err(CapabilityError::ArgumentsTooLarge { bytes, max }) } else { Ok(()) }
    }

    /// Counts `bytes` of one result as received; refuses the result when it is
    /// more than what was left of the budget (the bytes still count, so the
    /// budget is then spent).
    pub fn receive(&self, bytes: u64) -> Result<(), CapabilityError> {
        let max = self.budget.max_bytes_received;
        let mut ledger = self.ledger.lock().expect("ledger lock");
        let remaining = max.saturating_sub(ledger.bytes_received);
        ledger.bytes_received = ledger.bytes_received.saturating_add(bytes);
        if bytes > remaining {
            return Err(CapabilityError::ResultTooLarge { bytes, remaining, max });
        }
        Ok(())
    }

    /// Ends the run's capabilities (and those of the skills it called):
    /// every later request is refused.
    pub fn revoke(&self) {
        self.revoked[0].store(true, Ordering::Release);
    }

    /// Whether the run (or a run that called it) has ended; long host work
    /// for the run checks this.
    pub fn is_revoked(&self) -> bool {
        self.revoked.iter().any(|revoked| revoked.load(Ordering::Acquire))
    }

    fn check_live(&self) -> Result<(), CapabilityError> {
        if self.is_revoked() { Err(CapabilityError::Revoked) } else { Ok(()) }
    }
}

fn describe_unknown(unknown: &[String], known: &[String]) -> String {
    let noun = if unknown.len() == 1 { "server" } else { "servers" };
    let unknown = quoted_list(unknown.iter().map(String::as_str));
    if known.is_empty() {
        format!("unknown {noun} {unknown}: no servers are configured")
    } else {
        let known = quoted_list(known.iter().map(String::as_str));
        format!("unknown {noun} {unknown}; the configured servers are {known}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::policy::{Pattern, ServerRules};

    const BUDGET: Budget = Budget { max_calls: 3, max_argument_bytes: 100, max_bytes_sent: 250, max_bytes_received: 1000 };

    fn names(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    fn capabilities(configured: &[&str]) -> Capabilities {
        let rules = ServerRules {
            deny_tools: vec![Pattern::new("remove_*")],
            ask_tools: vec![Pattern::new("wipe")],
            max_calls_per_run: Some(2),
            ..ServerRules::default()
        };
        let policy = Policy::new(BTreeMap::from([("b".to_owned(), rules)]));
        Capabilities::new(names(configured), Arc::new(policy), BUDGET)
    }

    #[test]
    fn all_configured_servers_are_visible_until_narrowed() {
        assert_eq!(capabilities(&["b", "a"]).visible(), names(&["b", "a"]));
    }

    #[test]
    fn narrowing_intersects_in_configured_order_and_never_widens() {
        let narrowed = capabilities(&["a", "b", "c"]).narrow(&names(&["c", "a", "c"])).unwrap();
        assert_eq!(narrowed.visible(), names(&["a", "c"]));
        let again = narrowed.narrow(&names(&["b", "c"])).unwrap();
        assert_eq!(again.visible(), names(&["c"]), "a second narrowing (a skill) cannot add `b` back");
        assert!(capabilities(&["a"]).narrow(&[]).unwrap().visible().is_empty());
    }

    #[test]
    fn narrowing_to_unknown_servers_names_them_and_the_known_ones() {
        let error = capabilities(&["a", "b"]).narrow(&names(&["a", "nope", "gone"])).unwrap_err();
        assert_eq!(error.unknown, names(&["nope", "gone"]));
        assert_eq!(error.to_string(), "unknown servers `nope`, `gone`; the configured servers are `a`, `b`");
        let nothing = capabilities(&[]).narrow(&names(&["a"])).unwrap_err();
        assert_eq!(nothing.to_string(), "unknown server `a`: no servers are configured");
    }

    #[test]
    fn servers_outside_the_grant_are_denied_and_unknown_ones_not_found() {
        let run = capabilities(&["a", "b"]).narrow(&names(&["a"])).unwrap();
        assert_eq!(run.check_server("a"), Ok(()));
        assert!(matches!(run.check_server("b"), Err(CapabilityError::ServerNotGranted { .. })));
        assert!(matches!(run.check_server("zzz"), Err(CapabilityError::NoSuchServer { .. })));
        assert!(matches!(run.admit_call("b", 2), Err(CapabilityError::ServerNotGranted { .. })));
    }

    #[test]
    fn tools_follow_the_policy() {
        let run = capabilities(&["a", "b"]);
        assert_eq!(run.check_tool("b", "get", ToolHints::default()), Ok(Clearance::Granted));
        let denied = run.check_tool("b", "remove_all", ToolHints::default()).unwrap_err();
        assert!(denied.to_string().contains("denyTools"), "{denied}");
    }

    #[test]
    fn calls_are_capped_per_server_and_per_run() {
        let run = capabilities(&["a", "b"]);
        run.admit_call("b", 2).unwrap();
        run.admit_call("b", 2).unwrap();
        assert_eq!(run.admit_call("b", 2), Err(CapabilityError::ServerCalls { server: "b".into(), max: 2 }));
        run.admit_call("a", 2).unwrap();
        assert_eq!(run.admit_call("a", 2), Err(CapabilityError::RunCalls { max: 3 }));
    }

    #[test]
    fn argument_bytes_are_capped_per_call_and_per_run_before_counting() {
        let run = capabilities(&["a"]);
        assert_eq!(run.admit_call("a", 101), Err(CapabilityError::ArgumentsTooLarge { bytes: 101, max: 100 }));
        run.admit_call("a", 100).unwrap();
        run.admit_call("a", 100).unwrap();
        assert_eq!(run.admit_call("a", 51), Err(CapabilityError::BytesSent { max: 250 }));
        run.admit_call("a", 50).unwrap();
    }

    #[test]
    fn a_spent_receive_budget_refuses_further_calls() {
        let run = capabilities(&["a"]);
        run.admit_call("a", 2).unwrap();
        run.receive(600).unwrap();
        assert_eq!(run.receive(500), Err(CapabilityError::ResultTooLarge { bytes: 500, remaining: 400, max: 1000 }));
        assert_eq!(run.admit_call("a", 2), Err(CapabilityError::BytesReceived { max: 1000 }));
    }

    #[test]
    fn a_revoked_grant_refuses_everything() {
        let run = capabilities(&["a"]);
        assert!(!run.is_revoked());
        run.revoke();
        assert!(run.is_revoked());
        assert_eq!(run.check_server("a"), Err(CapabilityError::Revoked));
        assert_eq!(run.admit_call("a", 2), Err(CapabilityError::Revoked));
    }

    #[test]
    fn a_skill_sees_what_it_declared_and_its_caller_may_see_and_spends_the_callers_budget() {
        let caller = capabilities(&["a", "b", "task-master"]).narrow(&names(&["a", "b"])).unwrap();
        let skill = caller.for_skill(&names(&["b", "task-master", "nowhere"]));
        assert_eq!(skill.visible(), names(&["b"]));
        assert!(matches!(skill.check_server("a"), Err(CapabilityError::ServerNotGranted { .. })), "not declared");
        assert!(matches!(skill.check_server("task-master"), Err(CapabilityError::ServerNotGranted { .. })), "not the caller's");
        for alias in ["taskMaster", "taskmaster"] {
            assert_eq!(
                skill.check_server(alias),
                Err(CapabilityError::ServerNotGranted { server: "task-master".into(), visible: "b".into() }),
                "an alias names the server it stands for"
            );
        }
        skill.admit_call("b", 1).unwrap();
        skill.admit_call("b", 1).unwrap();
        assert_eq!(caller.admit_call("b", 1), Err(CapabilityError::ServerCalls { server: "b".into(), max: 2 }), "one ledger");
        let nested = skill.for_skill(&names(&["b"]));
        skill.revoke();
        assert!(!caller.is_revoked(), "a skill ending leaves its caller running");
        assert!(nested.is_revoked(), "a skill's own skills end with it");
        let other = caller.for_skill(&names(&["a"]));
        caller.revoke();
        assert!(other.is_revoked(), "skills end with their caller");
    }

    #[test]
    fn approvals_are_recorded_and_one_for_the_run_covers_its_skills() {
        let run = capabilities(&["b"]);
        let plain = ToolHints::default();
        assert!(matches!(run.check_tool("b", "wipe", plain), Ok(Clearance::NeedsApproval { .. })));
        run.record_approval("b", "wipe", ApprovalDecision::AllowOnce).unwrap();
        assert!(matches!(run.check_tool("b", "wipe", plain), Ok(Clearance::NeedsApproval { .. })), "once is once");
        let denied = run.record_approval("b", "wipe", ApprovalDecision::Deny { reason: "declined".into() });
        assert!(matches!(denied, Err(CapabilityError::ApprovalDenied { .. })));
        let skill = run.for_skill(&names(&["b"]));
        skill.record_approval("b", "wipe", ApprovalDecision::AllowForRun).unwrap();
        assert_eq!(run.check_tool("b", "wipe", plain), Ok(Clearance::Granted), "allowed for the run, the skill's included");
        let decisions: Vec<String> = run.approvals().into_iter().map(|record| record.decision).collect();
        assert_eq!(decisions, ["allow_once", "denied", "allow_for_run"]);
        let waiting = skill.paused().begin();
        assert!(run.paused().is_waiting(), "waiting in a skill pauses its caller");
        drop(waiting);
    }
}
