//! The child process of a stdio server: how it is started (command, a cleared
//! environment plus a short baseline, its own process group, death with the
//! host) and how it is stopped (its whole process group, never just the
//! direct child). Its stderr goes to [`super::stderr`].
//!
//! This module knows nothing of MCP: the transport in [`super::stdio`] gets
//! the child's stdin and stdout and owns the [`ChildProcess`].
//!
//! # Environment
//! Unless `inheritEnv` is set, a child starts from an empty environment and
//! gets only [`BASELINE_ENV`] (those set for the host) and its configured
//! `env`, so secrets in the host's environment do not reach servers that were
//! not given them.
//!
//! # Process group
//! Each child leads a new process group, so the helpers it starts (`npx` and
//! `uvx` run the real server as a grandchild) are in it too. Stopping,
//! restarting or dropping the child kills the whole group with SIGKILL, after
//! the child had its chance to exit on its own. Linux also sends the child
//! SIGTERM if the host dies (`PR_SET_PDEATHSIG`); a SIGKILLed host cannot
//! reach the grandchildren.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// What a child gets from the host's environment without `inheritEnv`: the
/// variables the official MCP SDKs pass to stdio servers (`HOME`, `LOGNAME`,
/// `PATH`, `SHELL`, `TERM`, `USER`), then the locale (so runtimes decode text
/// as the user does), the temp directory (so scratch files go where the user
/// wants them) and the time zone. None of these carries a secret.
pub const BASELINE_ENV: [&str; 11] = [
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR",
    "TZ",
];

/// How long a stopping child may take to exit after its stdin closes, and
/// again after SIGTERM, before its group is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// How to start a stdio server.
pub struct Spec<'a> {
    pub command: &'a str,
    pub args: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub cwd: Option<&'a Path>,
    pub inherit_env: bool,
}

/// A running child and its process group. Dropping it kills the group.
pub struct ChildProcess {
    child: Child,
    /// The process group to kill; `None` once it has been killed.
    group: Option<i32>,
}

/// A started child with the pipes the transport talks over.
pub struct Started {
    pub process: ChildProcess,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
}

/// Starts `spec` for server `server`; its stderr is forwarded to the log.
pub fn spawn(server: &str, spec: &Spec<'_>) -> io::Result<Started> {
    let mut command = Command::new(spec.command);
    command.args(spec.args);
    if !spec.inherit_env {
        command.env_clear();
        command.envs(baseline_env(|name| std::env::var_os(name)));
    }
    command
        .envs(spec.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    if let Some(cwd) = spec.cwd {
        command.current_dir(cwd);
    }
    die_with_parent(&mut command);
    let mut child = command.spawn()?;
    let group = child.id().and_then(|pid| i32::try_from(pid).ok());
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(io::Error::other("the child's pipes are missing"));
    };
    tokio::spawn(super::stderr::forward(server.to_owned(), stderr));
    Ok(Started {
        process: ChildProcess { child, group },
        stdin,
        stdout,
    })
}

/// The [`BASELINE_ENV`] variables that `lookup` finds.
fn baseline_env<V>(lookup: impl Fn(&str) -> Option<V>) -> Vec<(&'static str, V)> {
    BASELINE_ENV
        .iter()
        .filter_map(|name| Some((*name, lookup(name)?)))
        .collect()
}

impl ChildProcess {
    /// Stops the child whose stdin the caller has closed: waits for it to exit
    /// on its own, then sends its group SIGTERM and waits again, and finally
    /// kills the group, so no helper it started survives. How it exited, if known.
    pub async fn stop(&mut self) -> Option<ExitStatus> {
        let mut status = self.wait_for_exit().await;
        if status.is_none() {
            self.signal_group(libc::SIGTERM);
            status = self.wait_for_exit().await;
        }
        self.kill_group();
        status
    }

    async fn wait_for_exit(&mut self) -> Option<ExitStatus> {
        tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .ok()?
            .ok()
    }

    fn signal_group(&self, signal: i32) {
        if let Some(group) = self.group {
            // SAFETY: `kill` has no memory effects; a negative pid names the
            // process group this child leads.
            unsafe { libc::kill(-group, signal) };
        }
    }

    fn kill_group(&mut self) {
        self.signal_group(libc::SIGKILL);
        self.group = None;
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Asks Linux to send the child SIGTERM when the host exits, however it exits.
fn die_with_parent(command: &mut Command) {
    // SAFETY: `prctl` is async-signal-safe and touches only the calling process.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_is_what_the_host_has_of_the_listed_variables() {
        let host = [
            ("PATH", "/bin"),
            ("HOME", "/h"),
            ("AWS_SECRET_ACCESS_KEY", "k"),
            ("LANG", "C.UTF-8"),
        ];
        let lookup = |name: &str| {
            host.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| *value)
        };
        assert_eq!(
            baseline_env(lookup),
            [("HOME", "/h"), ("PATH", "/bin"), ("LANG", "C.UTF-8")]
        );
    }
}
