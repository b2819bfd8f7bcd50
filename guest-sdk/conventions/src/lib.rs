//! The conventions the host (`host/`) and the guest runtime (`guest-sdk/`)
//! share, in one place so the two can never disagree:
//!
//! - [`FAILURE_KINDS`]: for each `failure-kind` of `wit/world.wit`, in WIT
//!   order, the `kind` a program sees on an `McpError` and the error's name.
//!   Both sides index it with the WIT enum's discriminant.
//! - [`camel_case`]: the alias under which a tool is also reachable
//!   (`get_tasks` → `getTasks`), used by the guest's server objects and by
//!   the host's tool lookup and type generator.
//! - [`PROGRAM_FILE`]: the file name the program's positions are reported under,
//!   and [`skill_file`], the one of a skill's module.
//!
//! It has no dependencies and does no I/O: it builds for the host and for
//! `wasm32-wasip2` alike.

/// The file name QuickJS reports the program's positions under (`main.ts:3:7`).
pub const PROGRAM_FILE: &str = "main.ts";

/// Where skill modules live: `skills/<name>.ts` is the file name a skill's
/// positions are reported under, and `skills/<name>` what a program imports.
pub const SKILLS_DIR: &str = "skills/";

/// The file name a skill's module is compiled under (`skills/triage.ts`).
pub fn skill_file(name: &str) -> String {
    format!("{SKILLS_DIR}{name}.ts")
}

/// Whether a stack frame is in the user's code (the program or a skill),
/// not in the runtime's prelude.
pub fn is_user_frame(frame: &str) -> bool {
    frame.contains(PROGRAM_FILE) || frame.contains(SKILLS_DIR)
}

/// What a program sees of one WIT `failure-kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureKindInfo {
    /// The name in `wit/world.wit` (`capability-denied`).
    pub wit_name: &'static str,
    /// `error.kind` in JavaScript (`capability_denied`).
    pub kind: &'static str,
    /// The run's error kind when nobody catches the error. It differs from
    /// `kind` only where the run has a kind of that name already: a tool's
    /// `timeout` is the run's `tool_timeout`, its own deadline is `timeout`.
    pub run_kind: &'static str,
    /// `error.name` in JavaScript (`CapabilityDeniedError`).
    pub error_name: &'static str,
}

const fn info(wit_name: &'static str, kind: &'static str, run_kind: &'static str, error_name: &'static str) -> FailureKindInfo {
    FailureKindInfo { wit_name, kind, run_kind, error_name }
}

/// Every `failure-kind`, in the order `wit/world.wit` declares them.
pub const FAILURE_KINDS: &[FailureKindInfo] = &[
    info("tool-error", "tool_error", "tool_error", "McpToolError"),
    info("transport-error", "transport_error", "transport_error", "McpTransportError"),
    info("timeout", "timeout", "tool_timeout", "McpTimeoutError"),
    info("capability-denied", "capability_denied", "capability_denied", "CapabilityDeniedError"),
    info("tool-limit", "tool_limit", "tool_limit", "ToolLimitError"),
    info("not-found", "not_found", "not_found", "McpNotFoundError"),
    info("invalid-arguments", "invalid_arguments", "invalid_arguments", "McpArgumentsError"),
    info("approval-denied", "approval_denied", "approval_denied", "ApprovalDeniedError"),
];

/// The entry of the failure kind whose WIT discriminant is `index`.
pub fn failure_kind(index: usize) -> &'static FailureKindInfo {
    &FAILURE_KINDS[index]
}

/// Whether a JavaScript error (by `name` and `message`, as the guest reports
/// them) is QuickJS running out of memory: `InternalError: out of memory`, or
/// a thrown `null` when even that error could not be allocated (the prelude
/// reports a thrown `null` as "Uncaught null").
pub fn is_out_of_memory(name: &str, message: &str) -> bool {
    (name == "InternalError" && message == "out of memory") || message == "Uncaught null"
}

/// The camelCase alias of a tool name: every run of `-`, `_`, `.` or
/// whitespace (what JavaScript's `\s` matches) that is followed by an ASCII
/// letter or digit is removed and that character upper-cased. A run followed
/// by anything else (or by nothing) is kept.
///
/// `get_tasks` → `getTasks`, `get-time-zone` → `getTimeZone`,
/// `_private` → `Private`, `trailing_` → `trailing_`.
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if !is_alias_separator(c) {
            out.push(c);
            continue;
        }
        let mut run = String::from(c);
        while let Some(&next) = chars.peek().filter(|&&next| is_alias_separator(next)) {
            run.push(next);
            chars.next();
        }
        match chars.peek() {
            Some(next) if next.is_ascii_alphanumeric() => {
                out.push(next.to_ascii_uppercase());
                chars.next();
            }
            _ => out.push_str(&run),
        }
    }
    out
}

/// `-`, `_`, `.` and what JavaScript's `\s` matches.
fn is_alias_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '_'
            | '.'
            | '\t'
            | '\n'
            | '\u{b}'
            | '\u{c}'
            | '\r'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_follows_the_runtime_rule() {
        let cases = [
            ("get_tasks", "getTasks"),
            ("get-time-zone", "getTimeZone"),
            ("read.file now", "readFileNow"),
            ("a__-b", "aB"),
            ("_private", "Private"),
            ("trailing_", "trailing_"),
            ("keep-/slash", "keep-/slash"),
            ("git_2fa", "git2fa"),
            ("sequentialthinking", "sequentialthinking"),
            ("x_ärger", "x_ärger"),
            ("no\u{a0}break", "noBreak"),
            ("bom\u{feff}x", "bomX"),
            ("nel\u{85}x", "nel\u{85}x"),
        ];
        for (name, alias) in cases {
            assert_eq!(camel_case(name), alias, "camel_case({name:?})");
        }
    }

    #[test]
    fn failure_kinds_follow_the_wit_enum() {
        let wit = include_str!("../../../wit/world.wit");
        let body = wit.split("enum failure-kind {").nth(1).expect("wit declares failure-kind");
        let body = &body[..body.find('}').expect("the enum closes")];
        let declared: Vec<&str> = body
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("//"))
            .map(|line| line.trim_end_matches(','))
            .collect();
        let known: Vec<&str> = FAILURE_KINDS.iter().map(|info| info.wit_name).collect();
        assert_eq!(declared, known);
    }
}
