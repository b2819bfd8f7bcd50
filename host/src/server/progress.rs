//! Progress of a run as the client sees it while it goes: nothing yet (the
//! client contract issue adds `notifications/progress` and log messages).

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::RequestContext;

use crate::sandbox::RunObserver;

/// The observer that reports a run to the client of `context`, when the
/// client asked for reports.
pub fn observer(_context: &RequestContext<RoleServer>) -> Option<Arc<dyn RunObserver>> {
    None
}
