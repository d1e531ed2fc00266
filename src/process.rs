//! Child processes, started and stopped one way: shell tasks, the managed conductor process and
//! the embedded PostgreSQL server all run in their own process group (a terminal's Ctrl-C
//! reaches taskforge only, which then stops them in order), and are stopped by signalling that
//! group or process with escalation until it is gone.

use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

/// `/bin/sh -c command` in its own process group, stdin closed, stdout and stderr piped,
/// killed if its handle is dropped.
pub fn shell(command: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// The process group a child leads (its pid is the group id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group(Pid);

impl Group {
    /// The group of the child with process id `pid` (None once the child is reaped).
    pub fn of(pid: Option<u32>) -> Option<Group> {
        pid.and_then(|p| i32::try_from(p).ok())
            .map(|p| Group(Pid::from_raw(p)))
    }

    /// The group id, for logs.
    pub fn id(self) -> i32 {
        self.0.as_raw()
    }

    /// SIGKILL to every process left in the group; a group already gone is the normal case.
    pub fn kill(self) {
        let _ = killpg(self.0, Signal::SIGKILL);
    }

    /// Whether any process of the group is left (signal 0 still reaches it).
    pub fn alive(self) -> bool {
        killpg(self.0, None).is_ok()
    }

    /// SIGTERM, up to `grace` to leave, then SIGKILL.
    pub async fn stop(self, grace: Duration) {
        let _ = killpg(self.0, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while self.alive() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if self.alive() {
            self.kill();
        }
    }
}

/// Signals `pid` with each step's signal in turn until `exited(wait)` reports it gone within
/// that step's wait; answers the signal that ended it (None: still running after the last).
pub fn stop_escalating(
    pid: u32,
    steps: &[(Signal, Duration)],
    mut exited: impl FnMut(Duration) -> bool,
) -> Option<Signal> {
    let pid = Pid::from_raw(i32::try_from(pid).ok()?);
    for &(signal, wait) in steps {
        if let Err(e) = kill(pid, signal) {
            log::debug!("process pid={pid}: {signal} not delivered: {e}");
        }
        if exited(wait) {
            return Some(signal);
        }
        log::warn!("process pid={pid} did not stop after {signal}; escalating");
    }
    None
}

/// Polls `child` until it exits or `timeout` passes; true once it is gone.
pub fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_group_is_stopped_with_its_detached_children() {
        // A child that ignores SIGTERM, with a grandchild in the same group.
        let mut child = match shell("trap '' TERM; sleep 30 & sleep 30").spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start /bin/sh: {e}"),
        };
        let group = Group::of(child.id()).map(|g| (g, g.alive()));
        let Some((group, true)) = group else {
            panic!("no live group: {group:?}")
        };
        group.stop(Duration::from_millis(300)).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        // A killed grandchild stays a zombie until init reaps it; signal 0 still reaches that.
        let deadline = Instant::now() + Duration::from_secs(10);
        while group.alive() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!group.alive(), "group {} still alive", group.id());
    }

    #[test]
    fn escalation_stops_at_the_signal_that_worked() {
        let mut child = match std::process::Command::new("sleep").arg("30").spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start sleep: {e}"),
        };
        let steps = [
            (Signal::SIGINT, Duration::from_secs(10)),
            (Signal::SIGKILL, Duration::from_secs(10)),
        ];
        let by = stop_escalating(child.id(), &steps, |w| wait_exit(&mut child, w));
        assert_eq!(by, Some(Signal::SIGINT));
    }
}
