//! Loading whole files: forms, defaults, errors and warnings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::validate::default_cache_dir;
use super::*;
use crate::policy::Decision;

const ORIGIN: &str = "config/mcp-servers.json";

fn load_with_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env = |name: &str| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    };
    load(text, Path::new(ORIGIN), &env)
}

fn load_ok(text: &str) -> Config {
    load_with_env(text, &[("HOME", "/home/u")]).expect("config should load")
}

fn load_err(text: &str) -> ConfigError {
    load_with_env(text, &[]).expect_err("config should be rejected")
}

fn names(config: &Config) -> Vec<&str> {
    config
        .servers
        .iter()
        .map(|server| server.name.as_str())
        .collect()
}

fn stdio(command: &str, args: &[&str]) -> Transport {
    Transport::Stdio {
        command: command.to_owned(),
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        env: BTreeMap::new(),
        cwd: None,
        inherit_env: false,
    }
}

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn object_form_keeps_file_order_and_all_stdio_fields() {
    let config = load_ok(
        r#"{"mcpServers": {
            "zeta": {"command": "node", "args": ["z.js", "stdio"], "env": {"A": "1"}, "cwd": "/srv"},
            "alpha": {"type": "stdio", "command": "uvx", "args": ["alpha-mcp"]},
            "mid": {"command": "mid"}
        }}"#,
    );
    assert_eq!(names(&config), ["zeta", "alpha", "mid"]);
    assert_eq!(
        config.servers[0].transport,
        Transport::Stdio {
            command: "node".to_owned(),
            args: vec!["z.js".to_owned(), "stdio".to_owned()],
            env: strings(&[("A", "1")]),
            cwd: Some(PathBuf::from("/srv")),
            inherit_env: false,
        }
    );
    assert_eq!(config.servers[1].transport, stdio("uvx", &["alpha-mcp"]));
    assert_eq!(config.servers[2].transport, stdio("mid", &[]));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert_eq!(config.source, Some(PathBuf::from(ORIGIN)));
}

#[test]
fn array_form_takes_names_from_entries() {
    let config = load_ok(
        r#"{"mcpServers": [
            {"name": "b", "command": "b-server", "args": ["--x"], "env": {"K": "v"}},
            {"name": "a", "url": "https://a.example/mcp"}
        ]}"#,
    );
    assert_eq!(names(&config), ["b", "a"]);
    assert_eq!(
        config.server("b").map(|s| &s.transport),
        Some(&Transport::Stdio {
            command: "b-server".to_owned(),
            args: vec!["--x".to_owned()],
            env: strings(&[("K", "v")]),
            cwd: None,
            inherit_env: false,
        })
    );
    assert!(config.server("c").is_none());
}

#[test]
fn array_entry_without_name_is_invalid() {
    let error = load_err(r#"{"mcpServers": [{"name": "a", "command": "x"}, {"command": "y"}]}"#);
    assert_eq!(
        error.to_string(),
        format!("{ORIGIN}: mcpServers[1] has no `name`")
    );
}

#[test]
fn http_entries_with_type_alias_or_url_only() {
    let config = load_ok(
        r#"{"mcpServers": {
            "typed": {"type": "http", "url": "https://h.example/mcp", "headers": {"Authorization": "Bearer t"}},
            "alias": {"type": "streamable-http", "url": "http://localhost:3000/mcp"},
            "bare": {"url": "https://bare.example/mcp"}
        }}"#,
    );
    assert_eq!(
        config.servers[0].transport,
        Transport::Http {
            url: "https://h.example/mcp".to_owned(),
            headers: strings(&[("Authorization", "Bearer t")]),
        }
    );
    assert_eq!(
        config.servers[1].transport,
        Transport::Http {
            url: "http://localhost:3000/mcp".to_owned(),
            headers: BTreeMap::new()
        }
    );
    assert!(matches!(
        config.servers[2].transport,
        Transport::Http { .. }
    ));
}

#[test]
fn http_entry_without_url_is_invalid() {
    let error = load_err(r#"{"mcpServers": {"h": {"type": "http", "headers": {}}}}"#);
    assert_eq!(
        error.to_string(),
        format!("{ORIGIN}: server `h` is an http server but has no `url`")
    );
}

#[test]
fn http_url_needs_an_http_scheme() {
    let error = load_err(r#"{"mcpServers": {"h": {"url": "ftp://x"}}}"#);
    assert!(matches!(error, ConfigError::Invalid { .. }));
    assert!(
        error
            .to_string()
            .contains("must start with http:// or https://"),
        "{error}"
    );
}

#[test]
fn unsupported_transport_type_is_a_parse_error() {
    let error = load_err("{\"mcpServers\": {\"s\": {\"type\": \"sse\", \"url\": \"https://x\"}}}");
    let ConfigError::Parse { line, message, .. } = &error else {
        panic!("expected a parse error, got {error:?}");
    };
    assert_eq!(*line, 1);
    assert!(message.contains("unknown variant `sse`"), "{message}");
}

#[test]
fn keys_of_the_other_transport_are_warned_about() {
    let config = load_ok(
        r#"{"mcpServers": {"s": {"type": "stdio", "command": "x", "url": "https://u"},
                           "h": {"type": "http", "url": "https://u", "args": []}}}"#,
    );
    assert_eq!(
        config.warnings,
        [
            "server `s`: `url` is ignored for a stdio server",
            "server `h`: `args` is ignored for an http server",
        ]
    );
}

#[test]
fn disabled_entries_are_skipped_even_when_incomplete() {
    let config = load_ok(
        r#"{"mcpServers": {
            "off": {"command": "x", "disabled": true},
            "broken-but-off": {"disabled": true},
            "on": {"command": "y", "disabled": false}
        }}"#,
    );
    assert_eq!(names(&config), ["on"]);
    assert!(config.server("off").is_none());
}

#[test]
fn disabled_server_does_not_clash_with_an_enabled_namesake() {
    let config = load_ok(
        r#"{"mcpServers": [{"name": "a", "command": "old", "disabled": true}, {"name": "a", "command": "new"}]}"#,
    );
    assert_eq!(
        config.servers,
        [ServerConfig {
            name: "a".to_owned(),
            transport: stdio("new", &[])
        }]
    );
}

#[test]
fn variables_expand_in_every_expandable_field() {
    let text = r#"{"mcpServers": {
        "s": {"command": "${BIN}/node", "args": ["${ROOT}/x.js", "a${ROOT}b${BIN}"],
              "env": {"TOKEN": "${TOKEN}"}, "cwd": "${ROOT}"},
        "h": {"url": "https://${HOST}/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}
    }, "codeRuntime": {"cacheDir": "${ROOT}/cache"}}"#;
    let vars = [
        ("BIN", "/usr/bin"),
        ("ROOT", "/r"),
        ("TOKEN", "t0k"),
        ("HOST", "h.example"),
    ];
    let config = load_with_env(text, &vars).expect("config should load");
    assert_eq!(
        config.servers[0].transport,
        Transport::Stdio {
            command: "/usr/bin/node".to_owned(),
            args: vec!["/r/x.js".to_owned(), "a/rb/usr/bin".to_owned()],
            env: strings(&[("TOKEN", "t0k")]),
            cwd: Some(PathBuf::from("/r")),
            inherit_env: false,
        }
    );
    assert_eq!(
        config.servers[1].transport,
        Transport::Http {
            url: "https://h.example/mcp".to_owned(),
            headers: strings(&[("Authorization", "Bearer t0k")]),
        }
    );
    assert_eq!(config.runtime.cache_dir, PathBuf::from("/r/cache"));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn defaults_apply_when_unset_or_empty() {
    let text = r#"{"mcpServers": {"s": {"command": "node",
        "args": ["${UNSET:-/tmp}", "${EMPTY:-fallback}", "${SET:-unused}", "${UNSET:-}x"]}}}"#;
    let config = load_with_env(text, &[("EMPTY", ""), ("SET", "value")]).expect("loads");
    assert_eq!(
        config.servers[0].transport,
        stdio("node", &["/tmp", "fallback", "value", "x"])
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn an_unset_variable_without_default_is_an_error_naming_it_and_its_place() {
    let cases = [
        (
            r#"{"mcpServers": {"mem": {"command": "node", "args": ["ok", "${NOPE}/a"]}}}"#,
            "mcpServers.mem.args[1]",
        ),
        (
            r#"{"mcpServers": [{"name": "a", "command": "${NOPE}"}]}"#,
            "mcpServers[0].command",
        ),
        (
            r#"{"mcpServers": {"s": {"command": "x", "env": {"TOKEN": "${NOPE}"}}}}"#,
            "mcpServers.s.env.TOKEN",
        ),
        (
            r#"{"mcpServers": {"h": {"url": "https://h/${NOPE}"}}}"#,
            "mcpServers.h.url",
        ),
        (
            r#"{"mcpServers": {"h": {"url": "https://h", "headers": {"X": "${NOPE}"}}}}"#,
            "mcpServers.h.headers.X",
        ),
        (
            r#"{"codeRuntime": {"cacheDir": "${NOPE}/c"}}"#,
            "codeRuntime.cacheDir",
        ),
        (
            r#"{"mcpServers": {"s": {"command": "x", "args": ["${A:-${NOPE}}"]}}}"#,
            "mcpServers.s.args[0]",
        ),
    ];
    for (text, at) in cases {
        let error = load_err(text);
        let ConfigError::UnsetVariable {
            at: found, name, ..
        } = &error
        else {
            panic!("{text}: expected an unset-variable error, got {error:?}");
        };
        assert_eq!((found.as_str(), name.as_str()), (at, "NOPE"), "{text}");
        let column = text.find("${NOPE").unwrap() + 1;
        assert_eq!(
            error.to_string(),
            format!(
                "{ORIGIN}:1:{column}: {at}: environment variable `NOPE` is not set and `${{NOPE}}` has no default (write `${{NOPE:-}}` to allow an empty value)"
            )
        );
    }
}

#[test]
fn a_disabled_entry_is_not_expanded() {
    let config = load_ok(r#"{"mcpServers": {"off": {"command": "${NOPE}", "disabled": true}}}"#);
    assert!(config.servers.is_empty());
}

#[test]
fn nested_defaults_expand() {
    let text =
        r#"{"mcpServers": {"s": {"command": "node", "args": ["${A:-${B}}", "${A:-${C:-x}}"]}}}"#;
    let config = load_with_env(text, &[("B", "b")]).expect("loads");
    assert_eq!(config.servers[0].transport, stdio("node", &["b", "x"]));
}

#[test]
fn an_unterminated_reference_is_invalid() {
    let error = load_err(r#"{"mcpServers": {"s": {"command": "node", "args": ["${HOME"]}}}"#);
    assert_eq!(
        error.to_string(),
        format!("{ORIGIN}: mcpServers.s.args[0]: `${{HOME` has no closing `}}`")
    );
}

#[test]
fn set_but_empty_variable_without_default_is_empty() {
    let text = r#"{"mcpServers": {"s": {"command": "node", "args": ["${EMPTY}"]}}}"#;
    let config = load_with_env(text, &[("EMPTY", "")]).expect("loads");
    assert_eq!(config.servers[0].transport, stdio("node", &[""]));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn command_that_expands_to_nothing_is_invalid() {
    let error = load_err(r#"{"mcpServers": {"s": {"command": "${EMPTY:-}"}}}"#);
    assert_eq!(
        error.to_string(),
        format!("{ORIGIN}: server `s`: `command` is empty")
    );
}

#[test]
fn inherit_env_is_read_for_stdio_and_warned_about_for_http() {
    let config = load_ok(
        r#"{"mcpServers": {"s": {"command": "x", "inheritEnv": true},
                           "h": {"url": "https://u", "inheritEnv": true}}}"#,
    );
    assert!(matches!(
        config.servers[0].transport,
        Transport::Stdio {
            inherit_env: true,
            ..
        }
    ));
    assert_eq!(
        config.warnings,
        ["server `h`: `inheritEnv` is ignored for an http server"]
    );
}

#[test]
fn unknown_keys_in_entries_and_code_runtime_are_warnings() {
    let config = load_ok(
        r#"{"otherClientSetting": true,
            "mcpServers": {"s": {"command": "x", "autoApprove": []}},
            "codeRuntime": {
                "limits": {"timeoutMs": 1000, "timeoutMS": 5},
                "servers": {"s": {"allowTools": ["*"], "denytools": ["x"]}},
                "startServer": "eager"
            }}"#,
    );
    assert_eq!(
        config.warnings,
        [
            "unknown key `mcpServers.s.autoApprove` is ignored",
            "unknown key `codeRuntime.limits.timeoutMS` is ignored",
            "unknown key `codeRuntime.servers.s.denytools` is ignored",
            "unknown key `codeRuntime.startServer` is ignored",
        ]
    );
    assert_eq!(
        config.runtime.limits.default_timeout,
        Duration::from_secs(1)
    );
}

#[test]
fn unknown_keys_in_array_entries_name_the_index() {
    let config = load_ok(r#"{"mcpServers": [{"name": "a", "command": "x", "extra": 1}]}"#);
    assert_eq!(
        config.warnings,
        ["unknown key `mcpServers[0].extra` is ignored"]
    );
}

#[test]
fn missing_mcp_servers_is_a_warning() {
    let config = load_ok(r#"{"servers": {}}"#);
    assert!(config.servers.is_empty());
    assert_eq!(
        config.warnings,
        ["there is no `mcpServers` key, so no servers are configured"]
    );
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let error = load_err("{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\",}\n  }\n}");
    let ConfigError::Parse {
        path,
        line,
        column,
        message,
    } = &error
    else {
        panic!("expected a parse error, got {error:?}");
    };
    assert_eq!(path, Path::new(ORIGIN));
    assert_eq!((*line, *column), (3, 26));
    assert!(message.starts_with("trailing comma"), "{message}");
    assert!(
        !message.contains("at line"),
        "position is not repeated: {message}"
    );
}

#[test]
fn type_errors_carry_line_column_and_the_offending_source() {
    let text = "{\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": 5\n    }\n  }\n}";
    let error = load_err(text);
    assert_eq!(
        error.to_string(),
        format!("{ORIGIN}:4:18: invalid type: integer `5`, expected a string, in `\"command\": 5`")
    );
}

#[test]
fn wrong_types_in_code_runtime_are_parse_errors() {
    let cases = [
        r#"{"codeRuntime": {"limits": {"fuel": "lots"}}}"#,
        r#"{"codeRuntime": {"limits": {"timeoutMs": 0}}}"#,
        r#"{"codeRuntime": {"limits": {"maxToolCalls": -1}}}"#,
        r#"{"codeRuntime": {"startServers": "sometimes"}}"#,
        r#"{"codeRuntime": {"servers": {"s": {"allowTools": "get_*"}}}}"#,
        r#"{"codeRuntime": 1}"#,
        r#"{"mcpServers": "none"}"#,
        r#"{"mcpServers": {"s": {"command": "x", "env": {"A": 1}}}}"#,
        "[]",
        "{} trailing",
        "",
    ];
    for text in cases {
        let error = load_err(text);
        assert!(
            matches!(error, ConfigError::Parse { line: 1, .. }),
            "{text}: {error:?}"
        );
    }
}

#[test]
fn entry_without_command_or_url_is_invalid() {
    let error = load_err(r#"{"mcpServers": {"s": {"args": ["x"]}}}"#);
    assert_eq!(
        error.to_string(),
        format!("{ORIGIN}: server `s` needs `command` (a stdio server) or `url` (an http server)")
    );
    let error = load_err(r#"{"mcpServers": {"s": {"type": "stdio", "env": {}}}}"#);
    assert_eq!(
        error.to_string(),
        format!("{ORIGIN}: server `s` is a stdio server but has no `command`")
    );
}

#[test]
fn entry_with_both_command_and_url_needs_a_type() {
    let error = load_err(r#"{"mcpServers": {"s": {"command": "x", "url": "https://u"}}}"#);
    assert!(
        error.to_string().contains("has both `command` and `url`"),
        "{error}"
    );
}

#[test]
fn duplicate_names_are_invalid_in_both_forms() {
    let object = load_err(r#"{"mcpServers": {"a": {"command": "x"}, "a": {"command": "y"}}}"#);
    let array = load_err(
        r#"{"mcpServers": [{"name": "a", "command": "x"}, {"name": "a", "url": "https://u"}]}"#,
    );
    for error in [object, array] {
        assert_eq!(
            error.to_string(),
            format!("{ORIGIN}: two servers are named `a`")
        );
    }
}

#[test]
fn empty_names_are_invalid() {
    let object = load_err(r#"{"mcpServers": {"": {"command": "x"}}}"#);
    let array = load_err(r#"{"mcpServers": [{"name": "", "command": "x"}]}"#);
    for error in [object, array] {
        assert_eq!(
            error.to_string(),
            format!("{ORIGIN}: a server in mcpServers has an empty name")
        );
    }
}

#[test]
fn a_differing_name_in_the_object_form_is_warned_about() {
    let config = load_ok(r#"{"mcpServers": {"key": {"name": "other", "command": "x"}}}"#);
    assert_eq!(names(&config), ["key"]);
    assert_eq!(
        config.warnings,
        ["mcpServers.key: `name` is ignored; the key `key` names the server"]
    );
}

#[test]
fn empty_file_object_gives_the_defaults() {
    let config = load_ok("{\"mcpServers\": {}}");
    assert!(config.servers.is_empty());
    assert!(config.warnings.is_empty());
    assert_eq!(config.runtime.limits, Limits::default());
    assert_eq!(config.runtime.start_servers, StartServers::Lazy);
    assert_eq!(config.runtime.startup_timeout, Duration::from_secs(30));
    assert_eq!(
        config.runtime.cache_dir,
        PathBuf::from("/home/u/.cache/mcp-code-runtime")
    );
    assert_eq!(config.runtime.policy, Policy::default());
}

#[test]
fn default_limits_match_the_documented_values() {
    let limits = Limits::default();
    assert_eq!(limits.default_timeout, Duration::from_secs(30));
    assert_eq!(limits.max_timeout, Duration::from_mins(5));
    assert_eq!(limits.fuel, 130_000_000_000);
    assert_eq!(limits.memory_bytes, 64 * 1024 * 1024);
    assert_eq!(
        (limits.max_code_bytes, limits.max_result_bytes),
        (1_048_576, 1_048_576)
    );
    assert_eq!(limits.max_log_bytes, 262_144);
    assert_eq!(limits.max_result_tokens, 4000);
    assert_eq!(limits.max_tool_calls, 1000);
    assert_eq!(limits.tool_call_timeout, Duration::from_mins(1));
    assert_eq!(limits.max_tool_bytes_received, 33_554_432);
    assert_eq!(limits.max_concurrent_runs, 64);
}

#[test]
fn responses_default_to_lean_stats_and_an_hour_in_a_64_mib_result_store() {
    let config = load_ok(r#"{"mcpServers": {}}"#);
    assert_eq!(config.runtime.stats_level, crate::outcome::StatsLevel::Lean);
    assert_eq!(config.runtime.result_store, ResultStoreSettings { max_bytes: 64 << 20, ttl: Duration::from_hours(1) });
    let partial = load_ok(r#"{"codeRuntime": {"resultStore": {"ttlMs": 5}}}"#);
    assert_eq!(partial.runtime.result_store, ResultStoreSettings { max_bytes: 64 << 20, ttl: Duration::from_millis(5) });
}

#[test]
fn analytics_keep_30_days_of_runs_by_default_and_read_their_bounds() {
    let defaults = load_ok(r#"{"mcpServers": {}}"#).runtime.analytics;
    let thirty_days = Duration::from_hours(30 * 24);
    assert_eq!(defaults, AnalyticsSettings { enabled: true, max_age: thirty_days, max_runs: 100_000, max_calls: 1_000_000 });
    let set = load_ok(r#"{"mcpServers": {}, "codeRuntime": {"analytics": {"enabled": false, "maxAgeDays": 2, "maxRuns": 3, "maxCalls": 4}}}"#);
    assert_eq!(set.runtime.analytics, AnalyticsSettings { enabled: false, max_age: Duration::from_hours(48), max_runs: 3, max_calls: 4 });
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let zero = load_err(r#"{"codeRuntime": {"analytics": {"maxRuns": 0}}}"#).to_string();
    assert!(zero.contains("nonzero") || zero.contains("zero"), "{zero}");
}

#[test]
fn every_setting_is_read_from_code_runtime() {
    let config = load_ok(
        r#"{"mcpServers": {"tasks": {"command": "x"}}, "codeRuntime": {
            "limits": {"timeoutMs": 1000, "maxTimeoutMs": 2000, "fuel": 5,
                       "memoryMb": 128, "maxCodeBytes": 7, "maxResultBytes": 8, "maxLogBytes": 0, "maxResultTokens": 16,
                       "maxToolCalls": 9, "toolCallTimeoutMs": 10, "maxToolBytesReceived": 11,
                       "maxToolArgumentBytes": 14, "maxToolBytesSent": 15, "maxConcurrentRuns": 12},
            "servers": {"tasks": {"allowTools": ["get_*"], "denyTools": ["get_secret"], "maxCallsPerRun": 50}},
            "startServers": "eager",
            "startupTimeoutMs": 13,
            "cacheDir": "/c",
            "statsLevel": "full",
            "resultStore": {"maxBytes": 17, "ttlMs": 18}
        }}"#,
    );
    let runtime = &config.runtime;
    assert_eq!(
        runtime.limits,
        Limits {
            default_timeout: Duration::from_secs(1),
            max_timeout: Duration::from_secs(2),
            fuel: 5,
            memory_bytes: 128 * 1024 * 1024,
            max_code_bytes: 7,
            max_result_bytes: 8,
            max_log_bytes: 0,
            max_result_tokens: 16,
            max_tool_calls: 9,
            tool_call_timeout: Duration::from_millis(10),
            approval_timeout: Duration::from_mins(5),
            max_tool_bytes_received: 11,
            max_tool_argument_bytes: 14,
            max_tool_bytes_sent: 15,
            max_concurrent_runs: 12,
        }
    );
    assert_eq!(runtime.start_servers, StartServers::Eager);
    assert_eq!(runtime.startup_timeout, Duration::from_millis(13));
    assert_eq!(runtime.cache_dir, PathBuf::from("/c"));
    assert_eq!(runtime.stats_level, crate::outcome::StatsLevel::Full);
    assert_eq!(runtime.result_store, super::ResultStoreSettings { max_bytes: 17, ttl: Duration::from_millis(18) });
    assert_eq!(runtime.policy.max_calls("tasks"), Some(50));
    assert_eq!(
        runtime.policy.check_tool("tasks", "get_task", crate::policy::ToolHints::default()),
        Decision::Allow
    );
    assert!(matches!(
        runtime.policy.check_tool("tasks", "get_secret", crate::policy::ToolHints::default()),
        Decision::Deny { .. }
    ));
    assert!(matches!(
        runtime.policy.check_tool("tasks", "add_task", crate::policy::ToolHints::default()),
        Decision::Deny { .. }
    ));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn a_lower_cap_lowers_the_built_in_default() {
    let config = load_ok(r#"{"codeRuntime": {"limits": {"maxTimeoutMs": 10000}}}"#);
    assert_eq!(
        config.runtime.limits.default_timeout,
        Duration::from_secs(10)
    );
}

#[test]
fn an_explicit_value_above_its_cap_is_invalid() {
    let error =
        load_err(r#"{"codeRuntime": {"limits": {"timeoutMs": 20000, "maxTimeoutMs": 10000}}}"#);
    assert_eq!(
        error.to_string(),
        format!(
            "{ORIGIN}: codeRuntime.limits.timeoutMs is 20000, above codeRuntime.limits.maxTimeoutMs (10000)"
        )
    );
}

#[test]
fn memory_above_the_wasm32_limit_is_invalid() {
    assert!(load_with_env(r#"{"codeRuntime": {"limits": {"memoryMb": 4096}}}"#, &[]).is_ok());
    let error = load_err(r#"{"codeRuntime": {"limits": {"memoryMb": 4097}}}"#);
    assert!(matches!(error, ConfigError::Invalid { .. }), "{error:?}");
    assert!(error.to_string().contains("memoryMb is 4097"), "{error}");
}

#[test]
fn rules_for_an_unconfigured_server_are_a_warning() {
    let config = load_ok(
        r#"{"mcpServers": {"a": {"command": "x"}, "off": {"command": "y", "disabled": true}},
            "codeRuntime": {"servers": {"a": {"maxCallsPerRun": 1}, "ghost": {}, "off": {}}}}"#,
    );
    assert_eq!(
        config.warnings,
        [
            "codeRuntime.servers.ghost: there is no enabled server `ghost` in mcpServers, so these rules apply to nothing",
            "codeRuntime.servers.off: there is no enabled server `off` in mcpServers, so these rules apply to nothing",
        ]
    );
}

#[test]
fn cache_dir_falls_back_through_the_environment() {
    let dir = |vars: &[(&str, &str)]| {
        let env = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        default_cache_dir(&env)
    };
    let all = [
        ("MCP_CODE_RUNTIME_CACHE_DIR", "/own"),
        ("XDG_CACHE_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ];
    assert_eq!(dir(&all), PathBuf::from("/own"));
    assert_eq!(dir(&all[1..]), PathBuf::from("/xdg/mcp-code-runtime"));
    assert_eq!(
        dir(&[("XDG_CACHE_HOME", ""), ("HOME", "/home/u")]),
        PathBuf::from("/home/u/.cache/mcp-code-runtime")
    );
    // Without HOME, the account's home; never a shared temporary directory.
    let fallback = dir(&[]);
    assert!(!fallback.starts_with(std::env::temp_dir()), "{}", fallback.display());
    assert!(fallback.as_os_str().is_empty() || fallback.ends_with(".cache/mcp-code-runtime"), "{}", fallback.display());
}

#[test]
fn from_path_reports_unreadable_files_by_name() {
    let path = Path::new("/nonexistent/mcp-code-runtime/servers.json");
    let error = Config::from_path(path).expect_err("missing file");
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
    assert!(
        error.to_string().starts_with(
            "/nonexistent/mcp-code-runtime/servers.json: cannot read the config file: "
        ),
        "{error}"
    );
}

#[test]
fn from_path_reads_a_file() {
    let path = std::env::temp_dir().join(format!(
        "mcp-code-runtime-config-test-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &path,
        "\u{feff}{\"mcpServers\": {\"a\": {\"command\": \"x\"}}}",
    )
    .expect("write fixture");
    let loaded = Config::from_path(&path);
    std::fs::remove_file(&path).expect("remove fixture");
    let config = loaded.expect("config should load");
    assert_eq!(names(&config), ["a"]);
    assert_eq!(config.source, Some(path));
}

#[test]
fn the_example_config_loads_cleanly() {
    let text = include_str!("../../../config/mcp-servers.json");
    let config = load_with_env(text, &[("MCP_CODE_RUNTIME_ROOT", "/repo")]).expect("loads");
    assert_eq!(names(&config), ["everything", "memory", "filesystem"]);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let Some(Transport::Stdio {
        command, args, env, ..
    }) = config.server("memory").map(|server| &server.transport)
    else {
        panic!("memory should be a stdio server");
    };
    assert_eq!(command, "node");
    assert_eq!(
        args,
        &["/repo/tests/node_modules/@modelcontextprotocol/server-memory/dist/index.js"]
    );
    assert_eq!(
        env,
        &strings(&[("MEMORY_FILE_PATH", "/tmp/mcp-code-runtime-memory.jsonl")])
    );
    assert!(matches!(
        config
            .runtime
            .policy
            .check_tool("memory", "delete_entities", crate::policy::ToolHints::default()),
        Decision::Deny { .. }
    ));
}

#[test]
fn an_unset_variable_is_placed_at_its_line_and_column() {
    let text = "{\n  \"mcpServers\": {\n    \"fs\": { \"command\": \"x\", \"args\": [\"--root\", \"${PROJECT}/\"] }\n  }\n}\n";
    let error = load_err(text);
    let ConfigError::UnsetVariable { line, column, name, .. } = &error else {
        panic!("expected an unset-variable error, got {error:?}");
    };
    assert_eq!((name.as_str(), *line, *column), ("PROJECT", 3, 49), "{error}");
}
