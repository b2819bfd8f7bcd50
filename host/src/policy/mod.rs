//! Capability scoping: which downstream servers a run may see, which of their
//! tools it may call, and how much.
//!
//! [`Policy`] holds the configured rules and decides about one tool; it is
//! pure: no I/O, no clock, no environment, no logging. The rules come from
//! `codeRuntime.servers` in the config file (parsed by `config`).
//! [`capability`] applies them to one run: the servers it sees, its budget of
//! calls and bytes, and the typed [`CapabilityError`] every refusal is. The
//! bridge asks it before reaching a downstream server; nothing else decides.
//!
//! Tool patterns are matched against the exact tool name; `*` matches any run
//! of characters (including none) and every other character matches itself.
//! Deny patterns win over ask patterns, and ask over allow; a non-empty allow
//! list admits only the tools it matches; a server without rules admits every
//! tool. A tool that must be asked for ([`Decision::Ask`]: `askTools`, or
//! `askDestructive` and a tool annotated destructive and not read-only) is
//! called only once a human approves it ([`approval`]).

pub mod approval;
mod capability;

use std::collections::BTreeMap;
use std::fmt;

pub use approval::{ApprovalDecision, ApprovalRecord, ApprovalRequest, Approver, PauseGuard, PausedTime};
pub use capability::{Budget, Capabilities, CapabilityError, Clearance, UnknownServers};

/// A tool-name pattern where `*` matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        let mut literals = self.text.split('*');
        let prefix = literals.next().unwrap_or_default();
        let Some(mut rest) = name.strip_prefix(prefix) else {
            return false;
        };
        let mut literals: Vec<&str> = literals.collect();
        let Some(suffix) = literals.pop() else {
            return rest.is_empty(); // no `*`: exact match
        };
        for literal in literals {
            // The leftmost occurrence leaves the most room for what follows.
            match rest.find(literal) {
                Some(at) => rest = &rest[at + literal.len()..],
                None => return false,
            }
        }
        rest.ends_with(suffix)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The rules for one downstream server (`codeRuntime.servers.<name>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerRules {
    /// When non-empty, a tool must match one of these.
    pub allow_tools: Vec<Pattern>,
    /// A tool matching any of these is denied, whatever `allow_tools` says.
    pub deny_tools: Vec<Pattern>,
    /// A tool matching any of these needs a human's approval for each call.
    pub ask_tools: Vec<Pattern>,
    /// Whether tools annotated destructive (and not read-only) need approval;
    /// `None` follows [`Policy`]'s default for all servers.
    pub ask_destructive: Option<bool>,
    /// Calls to this server allowed in one run; `None` means no per-server cap.
    pub max_calls_per_run: Option<u32>,
}

/// What a tool says of itself in its MCP annotations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolHints {
    /// `destructiveHint: true`.
    pub destructive: bool,
    /// `readOnlyHint: true`.
    pub read_only: bool,
}

/// The outcome of [`Policy::check_tool`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Allowed once a human approves; `reason` names the config key.
    Ask {
        reason: String,
    },
    /// `reason` is written for the model that asked: it names the tool, the
    /// server and the config key responsible.
    Deny {
        reason: String,
    },
}

impl Decision {
    /// Whether the tool may be called at all (perhaps after an approval).
    pub fn is_callable(&self) -> bool {
        !matches!(self, Decision::Deny { .. })
    }
}

/// Per-server rules, keyed by server name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    servers: BTreeMap<String, ServerRules>,
    /// `codeRuntime.askDestructive`: the default of every server's `askDestructive`.
    ask_destructive: bool,
}

impl Policy {
    pub fn new(servers: BTreeMap<String, ServerRules>) -> Self {
        Self { servers, ask_destructive: false }
    }

    /// The policy, asking for destructive tools of servers that do not say.
    pub fn asking_destructive(mut self, ask: bool) -> Self {
        self.ask_destructive = ask;
        self
    }

    pub fn rules(&self, server: &str) -> Option<&ServerRules> {
        self.servers.get(server)
    }

    /// Whether a run may call `tool` of `server`, whose annotations say `hints`.
    pub fn check_tool(&self, server: &str, tool: &str, hints: ToolHints) -> Decision {
        let Some(rules) = self.rules(server) else {
            return self.ask_if_destructive(server, tool, hints, self.ask_destructive);
        };
        if let Some(pattern) = rules.deny_tools.iter().find(|p| p.matches(tool)) {
            return Decision::Deny {
                reason: format!(
                    "tool `{tool}` of server `{server}` is denied by the pattern `{pattern}` \
                     in codeRuntime.servers.{server}.denyTools"
                ),
            };
        }
        if !rules.allow_tools.is_empty() && !rules.allow_tools.iter().any(|p| p.matches(tool)) {
            return Decision::Deny {
                reason: format!(
                    "tool `{tool}` of server `{server}` is not allowed: it matches none of the patterns \
                     {} in codeRuntime.servers.{server}.allowTools",
                    quoted_list(rules.allow_tools.iter().map(Pattern::as_str))
                ),
            };
        }
        if let Some(pattern) = rules.ask_tools.iter().find(|p| p.matches(tool)) {
            return Decision::Ask {
                reason: format!("the pattern `{pattern}` in codeRuntime.servers.{server}.askTools"),
            };
        }
        self.ask_if_destructive(server, tool, hints, rules.ask_destructive.unwrap_or(self.ask_destructive))
    }

    fn ask_if_destructive(&self, server: &str, tool: &str, hints: ToolHints, ask: bool) -> Decision {
        if ask && hints.destructive && !hints.read_only {
            let key = if self.rules(server).and_then(|rules| rules.ask_destructive).is_some() {
                format!("codeRuntime.servers.{server}.askDestructive")
            } else {
                "codeRuntime.askDestructive".to_owned()
            };
            return Decision::Ask { reason: format!("`{tool}` is annotated destructive, and {key} is true") };
        }
        Decision::Allow
    }

    /// The per-run call cap for `server`, if one is configured.
    pub fn max_calls(&self, server: &str) -> Option<u32> {
        self.rules(server)?.max_calls_per_run
    }
}

/// "`a`, `b`, `c`"
fn quoted_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(texts: &[&str]) -> Vec<Pattern> {
        texts.iter().map(|text| Pattern::new(*text)).collect()
    }

    fn policy_for(server: &str, allow: &[&str], deny: &[&str], max_calls: Option<u32>) -> Policy {
        let rules = ServerRules {
            allow_tools: patterns(allow),
            deny_tools: patterns(deny),
            max_calls_per_run: max_calls,
            ..ServerRules::default()
        };
        Policy::new(BTreeMap::from([(server.to_owned(), rules)]))
    }

    #[test]
    fn pattern_without_star_matches_exactly() {
        let pattern = Pattern::new("get_task");
        assert!(pattern.matches("get_task"));
        assert!(!pattern.matches("get_tasks"));
        assert!(!pattern.matches("xget_task"));
        assert!(!pattern.matches(""));
    }

    #[test]
    fn star_matches_any_run_including_empty() {
        let cases = [
            ("get_*", "get_", true),
            ("get_*", "get_task", true),
            ("get_*", "list_task", false),
            ("*_task", "get_task", true),
            ("*_task", "get_tasks", false),
            ("*", "", true),
            ("*", "anything", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false), // prefix and suffix must not overlap
            ("a*a", "aa", true),
            ("**x", "x", true),
            ("*task*", "subtasks", true),
            ("é*ü", "éaü", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(
                Pattern::new(pattern).matches(name),
                expected,
                "pattern {pattern:?} against {name:?}"
            );
        }
    }

    #[test]
    fn server_without_rules_allows_everything() {
        let policy = policy_for("tasks", &[], &["*"], None);
        assert_eq!(policy.check_tool("other", "remove_all", ToolHints::default()), Decision::Allow);
        assert_eq!(Policy::default().check_tool("tasks", "x", ToolHints::default()), Decision::Allow);
    }

    #[test]
    fn empty_allow_list_allows_all_but_denied() {
        let policy = policy_for("tasks", &[], &["remove_*"], None);
        assert_eq!(policy.check_tool("tasks", "get_task", ToolHints::default()), Decision::Allow);
        assert!(matches!(
            policy.check_tool("tasks", "remove_task", ToolHints::default()),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn allow_list_admits_only_matching_tools() {
        let policy = policy_for("tasks", &["get_*", "list_*"], &[], None);
        assert_eq!(policy.check_tool("tasks", "get_task", ToolHints::default()), Decision::Allow);
        assert_eq!(policy.check_tool("tasks", "list_tasks", ToolHints::default()), Decision::Allow);
        assert_eq!(
            policy.check_tool("tasks", "add_task", ToolHints::default()),
            Decision::Deny {
                reason: "tool `add_task` of server `tasks` is not allowed: it matches none of the \
                         patterns `get_*`, `list_*` in codeRuntime.servers.tasks.allowTools"
                    .to_owned()
            }
        );
    }

    #[test]
    fn deny_wins_over_allow_and_names_the_pattern() {
        let policy = policy_for(
            "task-master",
            &["*_task"],
            &["get_secret*", "remove_*"],
            None,
        );
        assert_eq!(
            policy.check_tool("task-master", "add_task", ToolHints::default()),
            Decision::Allow
        );
        assert_eq!(
            policy.check_tool("task-master", "remove_task", ToolHints::default()),
            Decision::Deny {
                reason: "tool `remove_task` of server `task-master` is denied by the pattern \
                         `remove_*` in codeRuntime.servers.task-master.denyTools"
                    .to_owned()
            }
        );
    }

    #[test]
    fn max_calls_comes_from_the_server_rules() {
        let policy = policy_for("tasks", &[], &[], Some(50));
        assert_eq!(policy.max_calls("tasks"), Some(50));
        assert_eq!(policy.max_calls("other"), None);
        assert_eq!(policy_for("tasks", &[], &[], None).max_calls("tasks"), None);
    }

    #[test]
    fn rules_are_looked_up_by_server_name() {
        let policy = policy_for("tasks", &["get_*"], &[], Some(3));
        assert_eq!(
            policy.rules("tasks").map(|r| r.allow_tools.clone()),
            Some(patterns(&["get_*"]))
        );
        assert!(policy.rules("other").is_none());
    }

    #[test]
    fn deny_wins_over_ask_and_ask_over_allow() {
        let rules = ServerRules {
            allow_tools: patterns(&["*_task"]),
            deny_tools: patterns(&["remove_*"]),
            ask_tools: patterns(&["*_task"]),
            ..ServerRules::default()
        };
        let policy = Policy::new(BTreeMap::from([("tasks".to_owned(), rules)]));
        let plain = ToolHints::default();
        assert!(matches!(policy.check_tool("tasks", "remove_task", plain), Decision::Deny { .. }));
        assert_eq!(
            policy.check_tool("tasks", "add_task", plain),
            Decision::Ask { reason: "the pattern `*_task` in codeRuntime.servers.tasks.askTools".into() }
        );
        assert!(matches!(policy.check_tool("tasks", "list", plain), Decision::Deny { .. }), "allowTools still limits");
    }

    #[test]
    fn ask_destructive_follows_the_annotations_per_server_or_for_all() {
        let destructive = ToolHints { destructive: true, read_only: false };
        let contradictory = ToolHints { destructive: true, read_only: true };
        let quiet = ServerRules { ask_destructive: Some(false), ..ServerRules::default() };
        let loud = ServerRules { ask_destructive: Some(true), ..ServerRules::default() };
        let policy = Policy::new(BTreeMap::from([("quiet".to_owned(), quiet), ("loud".to_owned(), loud)]));
        assert!(matches!(policy.check_tool("loud", "wipe", destructive), Decision::Ask { .. }));
        assert_eq!(policy.check_tool("loud", "peek", contradictory), Decision::Allow, "read-only wins");
        assert_eq!(policy.check_tool("other", "wipe", destructive), Decision::Allow, "no approvals by default");
        let everywhere = policy.asking_destructive(true);
        assert!(matches!(everywhere.check_tool("other", "wipe", destructive), Decision::Ask { reason } if reason.contains("codeRuntime.askDestructive")));
        assert_eq!(everywhere.check_tool("quiet", "wipe", destructive), Decision::Allow, "a server's own setting wins");
        assert!(Decision::Ask { reason: String::new() }.is_callable() && !Decision::Deny { reason: String::new() }.is_callable());
    }
}
