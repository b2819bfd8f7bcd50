//! Approvals as MCP elicitations: when the policy asks about a tool call, the
//! human behind the client answers through `elicitation/create`, choosing
//! to allow the call once, allow the tool for the rest of the run, or deny.
//! A client that did not declare the elicitation capability gets no
//! approver, so such calls are denied with a message saying how to allow
//! them in config.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::{ElicitationMode, Peer, RequestContext};
use serde_json::{Value, json};

use crate::policy::{ApprovalDecision, ApprovalRequest, Approver};

/// The choices the client shows, as the elicitation's one field.
const DECISION: &str = "decision";
const CHOICES: [&str; 3] = ["allow_once", "allow_for_run", "deny"];

/// The answer form: one required choice.
fn answer_form() -> ElicitationSchema {
    let schema = json!({
        "type": "object",
        "properties": {
            DECISION: {
                "type": "string",
                "title": "Decision",
                "description": "allow_once: this call only; allow_for_run: this tool for the rest of the run; deny",
                "enum": CHOICES,
            }
        },
        "required": [DECISION],
    });
    let Value::Object(schema) = schema else { unreachable!("an object literal") };
    ElicitationSchema::from_json_schema(schema).expect("the answer form is a valid elicitation schema")
}

/// The approver of the request's client, when it can ask its human.
pub fn approver(context: &RequestContext<RoleServer>) -> Option<Arc<dyn Approver>> {
    let peer = context.peer.clone();
    let can_ask = peer.supported_elicitation_modes().contains(&ElicitationMode::Form);
    can_ask.then(|| Arc::new(ElicitingApprover { peer }) as Arc<dyn Approver>)
}

struct ElicitingApprover {
    peer: Peer<RoleServer>,
}

impl Approver for ElicitingApprover {
    fn ask(&self, request: ApprovalRequest) -> Pin<Box<dyn Future<Output = ApprovalDecision> + Send>> {
        let peer = self.peer.clone();
        Box::pin(async move {
            let message = format!(
                "A program run by mcp-code-runtime wants to call `{}` of MCP server `{}` (asked because of {}).\nArguments: {}",
                request.tool, request.server, request.reason, request.arguments
            );
            let params = ElicitRequestParams::FormElicitationParams { meta: None, message, requested_schema: answer_form() };
            let deny = |reason: String| ApprovalDecision::Deny { reason };
            match peer.create_elicitation_with_timeout(params, None).await {
                Ok(answer) => match answer.action {
                    ElicitationAction::Accept => decision(answer.content.as_ref()),
                    ElicitationAction::Decline => deny("the user declined".into()),
                    _ => deny("the user cancelled the request".into()),
                },
                Err(error) => deny(format!("the client could not ask: {error}")),
            }
        })
    }
}

/// The choice in an accepted answer; anything else is a denial.
fn decision(content: Option<&Value>) -> ApprovalDecision {
    match content.and_then(|content| content.get(DECISION)).and_then(Value::as_str) {
        Some("allow_once") => ApprovalDecision::AllowOnce,
        Some("allow_for_run") => ApprovalDecision::AllowForRun,
        Some("deny") => ApprovalDecision::Deny { reason: "the user denied it".into() },
        other => ApprovalDecision::Deny { reason: format!("the client answered {other:?}, not one of {CHOICES:?}") },
    }
}
