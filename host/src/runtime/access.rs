//! The edge between the bridge and the sandbox: a run's [`RunGrant`] as the
//! sandbox's [`ToolAccess`], with every [`BridgeError`] mapped to the WIT
//! [`Failure`] the program sees. This is the only place that knows both.
//! It also starts the run's skill calls, each with the grant the run's grant
//! gives the skill and the run's [`RunContext`], and notes every tool call
//! and skill in the run's log (the audit log and analytics, see
//! `crate::analytics::capture`); each tool call runs in a `tool_call`
//! tracing span that notes how it ended (`ok`, `error.kind`).
//!
//! The grant is revoked when the run ends, even when the run's future is
//! dropped (a cancelled request), so host work still running for it stops.

use std::sync::{Arc, Weak};

use tracing::field::Empty;
use tracing::{Instrument, Span};

use super::{Runtime, note_outcome};
use super::skill_runs::{MAX_SKILL_DEPTH, RunContext, completion};
use crate::bridge::{BridgeError, DiscoveryError, DownstreamError, RunGrant};
use crate::policy::CapabilityError;
use crate::sandbox::{Failure, FailureKind, NoState, StateAccess, ToolAccess, ToolFuture};

/// A run's grant, seen by the sandbox.
pub struct GrantAccess {
    grant: Arc<RunGrant>,
    /// The runtime that runs the run's skill calls.
    runtime: Weak<Runtime>,
    context: RunContext,
}

impl GrantAccess {
    pub fn new(grant: Arc<RunGrant>, runtime: Weak<Runtime>, context: RunContext) -> Self {
        GrantAccess { grant, runtime, context }
    }
}

/// Stops a skill's task when the program no longer waits for it.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Revokes the grant when the run is over, however it ends.
pub struct RevokeOnDrop(pub Arc<RunGrant>);

impl Drop for RevokeOnDrop {
    fn drop(&mut self) {
        self.0.revoke();
    }
}

impl GrantAccess {
    /// The skills, as discovery describes them.
    fn skill_infos(&self) -> Vec<crate::typegen::ToolInfo> {
        self.runtime.upgrade().map(|runtime| runtime.skill_infos()).unwrap_or_default()
    }
}

impl ToolAccess for GrantAccess {
    fn server_names(&self) -> Vec<String> {
        self.grant.configured_names().to_vec()
    }

    fn skill_names(&self) -> Vec<String> {
        self.runtime.upgrade().map(|runtime| runtime.skills().current().names()).unwrap_or_default()
    }

    fn call_skill(&self, name: &str, input: &str) -> Result<ToolFuture, Failure> {
        let tool = format!("{}{name}", conventions::SKILLS_DIR);
        let refuse = |kind, message: String| Failure::new(kind, message, "", &tool);
        let runtime = self.runtime.upgrade().ok_or_else(|| refuse(FailureKind::TransportError, "the runtime is shutting down".into()))?;
        let skill = runtime.skills().current().get(name).cloned().ok_or_else(|| refuse(FailureKind::NotFound, format!("no skill is named `{name}`")))?;
        let context = self
            .context
            .for_skill()
            .ok_or_else(|| refuse(FailureKind::ToolLimit, format!("skills call skills more than {MAX_SKILL_DEPTH} deep")))?;
        // Measured before it is parsed: the guest sets its size.
        self.grant.check_skill_input(input.len()).map_err(|error| failure(&error, "", &tool))?;
        let input = serde_json::from_str(input).map_err(|error| refuse(FailureKind::InvalidArguments, format!("the input is not JSON: {error}")))?;
        let grant = Arc::new(self.grant.for_skill(&skill.meta.servers));
        context.log.skill(name);
        let name = name.to_owned();
        // A skill runs a sandbox of its own: on a task of its own, not on
        // the task of the run that polls its tool calls.
        let running = tokio::spawn(async move { completion(&name, runtime.run_skill(&skill, input, grant, context).await) });
        let stop = AbortOnDrop(running.abort_handle());
        Ok(Box::pin(async move {
            let _stop = stop;
            running.await.unwrap_or_else(|failed| {
                Err(Failure::new(FailureKind::TransportError, format!("the host failed while running the skill: {failed}"), "", &tool))
            })
        }))
    }

    fn call_tool(&self, server: &str, tool: &str, arguments: &str) -> Result<ToolFuture, Failure> {
        let span = tracing::debug_span!("tool_call", server, tool, ok = Empty, error.kind = Empty);
        let pending = self.context.log.call_started(server, tool, arguments);
        let call = match self.grant.call_tool(server, tool, arguments.to_owned()) {
            Ok(call) => completing(call, server, tool),
            Err(error) => {
                let refused = failure(&error, server, tool);
                note_outcome(&span, false, Some(kind_name(refused.kind)));
                if let Some(pending) = pending {
                    pending.end(Err(kind_name(refused.kind)));
                }
                return Err(refused);
            }
        };
        let noted = async move {
            let completed = call.await;
            let ended = completed.as_deref().map_err(|failed| kind_name(failed.kind));
            note_outcome(&Span::current(), ended.is_ok(), ended.err());
            if let Some(pending) = pending {
                pending.end(ended);
            }
            completed
        };
        Ok(Box::pin(noted.instrument(span)))
    }

    fn list_servers(&self) -> ToolFuture {
        let listing = self.grant.list_servers();
        Box::pin(async move { Ok(listing.await) })
    }

    fn list_tools(&self, server: &str) -> Result<ToolFuture, Failure> {
        let listing = self.grant.list_tools(server).map_err(|error| failure(&error, server, ""))?;
        Ok(completing(listing, server, ""))
    }

    fn search_tools(&self, query: &str, detail: &str, limit: u32) -> ToolFuture {
        completing(self.grant.search_tools(query, detail, limit, self.skill_infos()), "", "")
    }

    fn describe_tools(&self, names: Vec<String>) -> ToolFuture {
        completing(self.grant.describe_tools(names, self.skill_infos()), "", "")
    }

    fn state(&self) -> &dyn StateAccess {
        match &self.context.state {
            Some(state) => state.as_ref(),
            None => &NoState,
        }
    }
}

/// `work` as an operation whose error is a [`Failure`] about `server` and `tool`.
fn completing(work: impl Future<Output = Result<String, BridgeError>> + Send + 'static, server: &str, tool: &str) -> ToolFuture {
    let (server, tool) = (server.to_owned(), tool.to_owned());
    Box::pin(async move { work.await.map_err(|error| failure(&error, &server, &tool)) })
}

/// A failure kind's name as programs see it (`tool_error`).
fn kind_name(kind: FailureKind) -> &'static str {
    conventions::failure_kind(kind as usize).kind
}

fn failure(error: &BridgeError, server: &str, tool: &str) -> Failure {
    Failure::new(failure_kind(error), error.to_string(), server, tool)
}

fn failure_kind(error: &BridgeError) -> FailureKind {
    match error {
        BridgeError::Capability(refused) => capability_kind(refused),
        BridgeError::NoSuchTool { .. } | BridgeError::NotDescribed(_) => FailureKind::NotFound,
        BridgeError::InvalidArguments(_) => FailureKind::InvalidArguments,
        BridgeError::ToolFailed(_) => FailureKind::ToolError,
        BridgeError::TooLarge(_) => FailureKind::ToolLimit,
        BridgeError::Downstream(failed) => downstream_kind(failed),
        BridgeError::Discovery(failed) => discovery_kind(failed),
    }
}

fn capability_kind(error: &CapabilityError) -> FailureKind {
    match error {
        CapabilityError::ServerNotGranted { .. } | CapabilityError::ToolDenied { .. } | CapabilityError::Revoked => {
            FailureKind::CapabilityDenied
        }
        CapabilityError::NoSuchServer { .. } => FailureKind::NotFound,
        CapabilityError::ApprovalDenied { .. } => FailureKind::ApprovalDenied,
        CapabilityError::RunCalls { .. }
        | CapabilityError::ServerCalls { .. }
        | CapabilityError::ArgumentsTooLarge { .. }
        | CapabilityError::BytesSent { .. }
        | CapabilityError::BytesReceived { .. }
        | CapabilityError::ResultTooLarge { .. } => FailureKind::ToolLimit,
    }
}

fn downstream_kind(error: &DownstreamError) -> FailureKind {
    match error {
        DownstreamError::TimedOut { .. } => FailureKind::Timeout,
        DownstreamError::Rejected { .. } => FailureKind::ToolError,
        DownstreamError::Unavailable { .. } | DownstreamError::Broken { .. } => FailureKind::TransportError,
    }
}

fn discovery_kind(error: &DiscoveryError) -> FailureKind {
    match error {
        DiscoveryError::Query(_) | DiscoveryError::Detail(_) | DiscoveryError::TooManyNames { .. } => FailureKind::InvalidArguments,
        DiscoveryError::TooLarge { .. } => FailureKind::ToolLimit,
        DiscoveryError::Interrupted => FailureKind::Timeout,
        DiscoveryError::Crashed => FailureKind::TransportError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::Detail;

    #[test]
    fn refusals_keep_their_kinds_at_the_edge() {
        let cases = [
            (BridgeError::Capability(CapabilityError::ServerNotGranted { server: "a".into(), visible: "b".into() }), FailureKind::CapabilityDenied),
            (BridgeError::Capability(CapabilityError::NoSuchServer { server: "a".into(), visible: "b".into() }), FailureKind::NotFound),
            (BridgeError::Capability(CapabilityError::ArgumentsTooLarge { bytes: 2, max: 1 }), FailureKind::ToolLimit),
            (BridgeError::Capability(CapabilityError::BytesReceived { max: 1 }), FailureKind::ToolLimit),
            (BridgeError::Discovery("lots".parse::<Detail>().unwrap_err()), FailureKind::InvalidArguments),
            (BridgeError::Discovery(DiscoveryError::TooManyNames { count: 300 }), FailureKind::InvalidArguments),
            (BridgeError::NotDescribed(vec!["x".into()]), FailureKind::NotFound),
        ];
        for (error, kind) in cases {
            let failure = failure(&error, "s", "t");
            assert_eq!(failure.kind, kind, "{error}");
            assert_eq!((failure.message, failure.server.as_str(), failure.tool.as_str()), (error.to_string(), "s", "t"));
        }
    }
}
