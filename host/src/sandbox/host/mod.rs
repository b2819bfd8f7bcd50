//! One `Host` implementation per WIT interface of `wit/world.wit`.

pub mod console;
pub mod events;
pub mod skills;
pub mod state;
pub mod tools;

use super::bindings::mcp::code_runtime::types;
use super::state::HostState;

impl types::Host for HostState {}
