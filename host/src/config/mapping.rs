//! From the file as written ([`super::raw`]) to the types the rest of the
//! host reads ([`super::Config`]): expands `${VAR}`s in the expandable strings
//! (naming each string by its JSON path when a variable is unset), applies
//! defaults and checks ([`super::validate`]), builds the tool [`Policy`], and
//! collects warnings.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use super::expand::{ExpandError, expand};
use super::raw::{ExposureKeyword, RawExposure, RawFile, RawRuntime, RawServer, RawServerRules, RawSkills, TransportKind};
use super::validate::{self, DEFAULT_STARTUP_TIMEOUT_MS, Entry, millis};
use super::{Config, ConfigError, EnvLookup, RuntimeSettings, ServerConfig, SkillExposure, SkillSettings, Transport};
use crate::policy::{Pattern, Policy, ServerRules};

/// Mapping state: where errors point, how variables expand, what to warn about.
pub(super) struct Loader<'a> {
    origin: &'a Path,
    /// The file's text, to point errors at a line and column.
    text: &'a str,
    env: EnvLookup<'a>,
    warnings: Vec<String>,
}

impl<'a> Loader<'a> {
    pub(super) fn new(origin: &'a Path, text: &'a str, env: EnvLookup<'a>, warnings: Vec<String>) -> Self {
        Loader {
            origin,
            text,
            env,
            warnings,
        }
    }

    pub(super) fn config(mut self, raw: RawFile) -> Result<Config, ConfigError> {
        if raw.mcp_servers.is_none() {
            self.warn("there is no `mcpServers` key, so no servers are configured".to_owned());
        }
        let (entries, warnings) = validate::entries(raw.mcp_servers.unwrap_or_default())
            .map_err(|message| self.invalid(message))?;
        warnings.into_iter().for_each(|warning| self.warn(warning));
        let servers = entries
            .into_iter()
            .map(|entry| self.server(entry))
            .collect::<Result<Vec<_>, _>>()?;
        let runtime = self.runtime(raw.code_runtime.unwrap_or_default(), &servers)?;
        Ok(Config {
            servers,
            runtime,
            warnings: self.warnings,
            source: Some(self.origin.to_path_buf()),
        })
    }

    fn invalid(&self, message: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.origin.to_path_buf(),
            message,
        }
    }

    fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// `text` with its `${VAR}`s expanded; `at` is its JSON path, for errors.
    fn expand(&self, text: &str, at: &str) -> Result<String, ConfigError> {
        expand(text, self.env).map_err(|error| match error {
            ExpandError::Unset(name) => {
                let (line, column) = self.position_of(text, &name);
                ConfigError::UnsetVariable {
                    path: self.origin.to_path_buf(),
                    line,
                    column,
                    at: at.to_owned(),
                    name,
                }
            }
            other => self.invalid(format!("{at}: {other}")),
        })
    }

    /// The 1-based line and column of `${name` inside the string `value` as
    /// the file writes it (JSON-escaped), else of the first `${name` anywhere.
    fn position_of(&self, value: &str, name: &str) -> (usize, usize) {
        let reference = format!("${{{name}");
        let written = serde_json::to_string(value).unwrap_or_default();
        let offset = self
            .text
            .find(&written)
            .and_then(|start| written.find(&reference).map(|within| start + within))
            .or_else(|| self.text.find(&reference))
            .unwrap_or(0);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
        (line, column)
    }

    /// Expands `value` (at `at`, the key `key` of `context`), which must not end up empty.
    fn required(
        &self,
        value: &str,
        at: &str,
        context: &str,
        key: &str,
    ) -> Result<String, ConfigError> {
        let expanded = self.expand(value, at)?;
        if expanded.is_empty() {
            return Err(self.invalid(format!("{context}: `{key}` is empty")));
        }
        Ok(expanded)
    }

    /// Expands every value of a map (`env`, `headers`) found at `at`.
    fn expand_values(
        &self,
        values: Option<BTreeMap<String, String>>,
        at: &str,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        values
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| Ok((key.clone(), self.expand(&value, &format!("{at}.{key}"))?)))
            .collect()
    }

    fn server(&mut self, entry: Entry) -> Result<ServerConfig, ConfigError> {
        let Entry { name, at, raw } = entry;
        let kind =
            validate::transport_kind(&name, &raw).map_err(|message| self.invalid(message))?;
        let transport = match kind {
            TransportKind::Stdio => self.stdio(&name, &at, raw)?,
            TransportKind::Http => self.http(&name, &at, raw)?,
        };
        Ok(ServerConfig { name, transport })
    }

    fn stdio(&mut self, name: &str, at: &str, raw: RawServer) -> Result<Transport, ConfigError> {
        let context = format!("server `{name}`");
        let unused = [
            ("url", raw.url.is_some()),
            ("headers", raw.headers.is_some()),
        ];
        validate::unused_keys(&context, "a stdio server", &unused)
            .into_iter()
            .for_each(|warning| self.warn(warning));
        let Some(command) = raw.command else {
            return Err(self.invalid(format!("{context} is a stdio server but has no `command`")));
        };
        let command = self.required(&command, &format!("{at}.command"), &context, "command")?;
        let args = raw
            .args
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(index, arg)| self.expand(arg, &format!("{at}.args[{index}]")))
            .collect::<Result<_, _>>()?;
        let env = self.expand_values(raw.env, &format!("{at}.env"))?;
        let cwd = match raw.cwd {
            Some(cwd) => Some(PathBuf::from(self.required(
                &cwd,
                &format!("{at}.cwd"),
                &context,
                "cwd",
            )?)),
            None => None,
        };
        Ok(Transport::Stdio {
            command,
            args,
            env,
            cwd,
            inherit_env: raw.inherit_env.unwrap_or(false),
        })
    }

    fn http(&mut self, name: &str, at: &str, raw: RawServer) -> Result<Transport, ConfigError> {
        let context = format!("server `{name}`");
        let unused = [
            ("command", raw.command.is_some()),
            ("args", raw.args.is_some()),
            ("env", raw.env.is_some()),
            ("cwd", raw.cwd.is_some()),
            ("inheritEnv", raw.inherit_env.is_some()),
        ];
        validate::unused_keys(&context, "an http server", &unused)
            .into_iter()
            .for_each(|warning| self.warn(warning));
        let Some(url) = raw.url else {
            return Err(self.invalid(format!("{context} is an http server but has no `url`")));
        };
        let url = self.required(&url, &format!("{at}.url"), &context, "url")?;
        validate::http_url(&context, &url).map_err(|message| self.invalid(message))?;
        let headers = self.expand_values(raw.headers, &format!("{at}.headers"))?;
        Ok(Transport::Http { url, headers })
    }

    fn runtime(
        &mut self,
        raw: RawRuntime,
        servers: &[ServerConfig],
    ) -> Result<RuntimeSettings, ConfigError> {
        let cache_dir = match raw.cache_dir {
            Some(dir) => PathBuf::from(self.required(
                &dir,
                "codeRuntime.cacheDir",
                "codeRuntime.cacheDir",
                "cacheDir",
            )?),
            None => validate::default_cache_dir(self.env),
        };
        let cache = super::state::cache(&raw.cache, &raw.servers).map_err(|message| self.invalid(message))?;
        Ok(RuntimeSettings {
            limits: validate::limits(&raw.limits).map_err(|message| self.invalid(message))?,
            policy: self.policy(raw.servers, servers).asking_destructive(raw.ask_destructive),
            start_servers: raw.start_servers,
            startup_timeout: millis(
                raw.startup_timeout_ms
                    .map_or(DEFAULT_STARTUP_TIMEOUT_MS, NonZeroU64::get),
            ),
            cache_dir,
            skills: self.skills(raw.skills)?,
            data_dir: validate::default_data_dir(self.env),
            stats_level: raw.stats_level,
            result_store: validate::result_store(&raw.result_store),
            analytics: validate::analytics(&raw.analytics),
            cache,
            sessions: super::state::sessions(&raw.sessions),
        })
    }

    fn skills(&mut self, raw: RawSkills) -> Result<SkillSettings, ConfigError> {
        let expose = match raw.expose {
            None | Some(RawExposure::Keyword(ExposureKeyword::All)) => SkillExposure::All,
            Some(RawExposure::Keyword(ExposureKeyword::None)) => SkillExposure::None,
            Some(RawExposure::Names(names)) => SkillExposure::Only(names),
        };
        let directory = match raw.directory {
            Some(dir) => {
                let expanded = self.required(&dir, "codeRuntime.skills.directory", "codeRuntime.skills.directory", "directory")?;
                let folder = self.origin.parent().unwrap_or(Path::new("."));
                Some(folder.join(expanded))
            }
            None => None,
        };
        Ok(SkillSettings { expose, directory })
    }

    fn policy(
        &mut self,
        raw: BTreeMap<String, RawServerRules>,
        servers: &[ServerConfig],
    ) -> Policy {
        let configured: BTreeSet<&str> =
            servers.iter().map(|server| server.name.as_str()).collect();
        let mut rules = BTreeMap::new();
        for (name, raw_rules) in raw {
            if !configured.contains(name.as_str()) {
                self.warn(format!(
                    "codeRuntime.servers.{name}: there is no enabled server `{name}` \
                     in mcpServers, so these rules apply to nothing"
                ));
            }
            rules.insert(name, server_rules(raw_rules));
        }
        Policy::new(rules)
    }
}

fn server_rules(raw: RawServerRules) -> ServerRules {
    let patterns = |texts: Vec<String>| texts.into_iter().map(Pattern::new).collect();
    ServerRules {
        allow_tools: patterns(raw.allow_tools),
        deny_tools: patterns(raw.deny_tools),
        ask_tools: patterns(raw.ask_tools),
        ask_destructive: raw.ask_destructive,
        max_calls_per_run: raw.max_calls_per_run,
    }
}
