//! Shell tasks: `/bin/sh -c` in its own process group, output captured with a cap. Timeout and
//! cancel kill the whole group; so does a normal exit, so no background child outlives its run
//! or holds its output pipes open.

use std::process::ExitStatus;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde_json::json;
use tokio::sync::oneshot;

use super::capture::{read_into, LiveOutput};
use crate::domain::live_output::OutputStream;
use crate::process::Group;

/// After the process group is gone, its output readers get this long to see the end of the
/// pipes; a process that left the group (setsid) and keeps them open is not waited for.
const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(1);
use super::{ErrorType, Outcome, RunContext};
use crate::domain::task::ShellTask;

enum End {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
    WaitFailed(std::io::Error),
}

/// Runs the command to its end, timeout or cancellation.
pub async fn run(t: &ShellTask, ctx: &RunContext, mut cancel: oneshot::Receiver<()>) -> Outcome {
    if let Some(dir) = &t.working_dir {
        if !std::path::Path::new(dir).is_dir() {
            return Outcome::failed(
                ErrorType::Spawn,
                format!("working directory {dir} does not exist"),
            );
        }
    }
    let mut cmd = crate::process::shell(&t.command);
    // A clean start: never taskforge's own environment (its token, its database URL).
    cmd.env_clear()
        .envs(ctx.context.env(&ctx.passthrough_env))
        .envs(
            t.env
                .iter()
                .filter_map(|(k, v)| v.plain().map(|v| (k.as_str(), v))),
        );
    if let Some(dir) = &t.working_dir {
        cmd.current_dir(dir);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::failed(ErrorType::Spawn, format!("cannot start /bin/sh: {e}")),
    };
    let group = Group::of(child.id());
    // Read into the run's shared capture (seen live by the API), or a private one.
    let live = ctx
        .live
        .clone()
        .unwrap_or_else(|| LiveOutput::new(ctx.output_cap));
    let (stop_out, stop_out_rx) = oneshot::channel();
    let (stop_err, stop_err_rx) = oneshot::channel();
    let stdout = child.stdout.take().map(|o| {
        tokio::spawn(read_into(
            o,
            live.clone(),
            OutputStream::Stdout,
            stop_out_rx,
        ))
    });
    let stderr = child.stderr.take().map(|e| {
        tokio::spawn(read_into(
            e,
            live.clone(),
            OutputStream::Stderr,
            stop_err_rx,
        ))
    });

    let end = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => End::Exited(s),
            Err(e) => End::WaitFailed(e),
        },
        _ = tokio::time::sleep(ctx.timeout) => End::TimedOut,
        Ok(()) = &mut cancel => End::Cancelled,
    };
    if let Some(group) = group {
        group.kill();
    }
    if !matches!(end, End::Exited(_)) {
        let _ = child.wait().await;
    }
    tokio::join!(join(stdout, stop_out), join(stderr, stop_err));
    let (out, err) = (
        live.captured(OutputStream::Stdout),
        live.captured(OutputStream::Stderr),
    );
    let result = |code: Option<i32>| {
        json!({
            "exitCode": code,
            "stdout": out.text,
            "stderr": err.text,
            "truncated": out.truncated || err.truncated,
        })
    };
    match end {
        End::Exited(status) => match status.code() {
            Some(0) => Outcome::Completed {
                result: result(Some(0)),
                conductor: None,
            },
            Some(code) => Outcome::Failed {
                error_type: ErrorType::ExitCode,
                message: format!("exit code {code}{}", tail(&err.text)),
                result: Some(result(Some(code))),
                conductor: None,
            },
            None => {
                use std::os::unix::process::ExitStatusExt;
                let sig = status.signal().unwrap_or(0);
                Outcome::Failed {
                    error_type: ErrorType::ExitCode,
                    message: format!("killed by signal {sig}"),
                    result: Some(result(None)),
                    conductor: None,
                }
            }
        },
        End::TimedOut => Outcome::Failed {
            error_type: ErrorType::Timeout,
            message: format!(
                "timed out after {} ms; process group killed",
                ctx.timeout.as_millis()
            ),
            result: Some(result(None)),
            conductor: None,
        },
        End::Cancelled => Outcome::Cancelled {
            result: Some(result(None)),
        },
        End::WaitFailed(e) => Outcome::failed(
            ErrorType::Internal,
            format!("waiting for the process failed: {e}"),
        ),
    }
}

/// Waits for a reader to see its end of stream, or stops it [`DRAIN_GRACE`] from now.
async fn join(h: Option<tokio::task::JoinHandle<()>>, stop: oneshot::Sender<()>) {
    let Some(mut h) = h else {
        return;
    };
    tokio::select! {
        _ = &mut h => {}
        () = tokio::time::sleep(DRAIN_GRACE) => {
            let _ = stop.send(());
            let _ = h.await;
        }
    }
}

/// `: <last line of stderr>` for the error message, when there is one.
fn tail(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.chars().take(300).collect::<String>()))
        .unwrap_or_default()
}

/// Kills every process on this host that belongs to one of `executions`: task processes carry
/// `TASKFORGE_EXECUTION_ID` in their environment, children that left the process group
/// (`setsid`) included. Used when the instance that ran them died. Answers how many were killed.
pub fn kill_leftovers(executions: &[uuid::Uuid]) -> usize {
    if executions.is_empty() {
        return 0;
    }
    // A set: a dead instance may leave thousands of unfinished rows behind.
    let ids: std::collections::HashSet<Vec<u8>> = executions
        .iter()
        .map(|id| id.to_string().into_bytes())
        .collect();
    const MARKER: &[u8] = b"TASKFORGE_EXECUTION_ID=";
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for pid in entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
    {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let ours = environ
            .split(|b| *b == 0)
            .any(|var| var.strip_prefix(MARKER).is_some_and(|id| ids.contains(id)));
        if ours && nix::sys::signal::kill(Pid::from_raw(pid as i32), Signal::SIGKILL).is_ok() {
            log::warn!("killed a task process left behind: pid={pid}");
            killed += 1;
        }
    }
    killed
}
