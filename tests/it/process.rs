//! Runs the real `taskforge` binary as a child process (restart, signals, bad config).

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A child `taskforge` process with its log file; killed on drop.
pub(crate) struct Service {
    child: Option<Child>,
    pub(crate) log: PathBuf,
    pub(crate) base: String,
}

/// Runs the binary to completion (for start-up failures); returns exit status and stderr.
pub(crate) fn run_to_exit(
    env: &[(&str, &str)],
    args: &[&str],
    timeout: Duration,
) -> (ExitStatus, String) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let log = dir.path().join("stderr.log");
    let mut child = spawn(env, args, &log);
    let status = wait(&mut child, timeout).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("taskforge did not exit within {timeout:?}: {}", read(&log))
    });
    (status, read(&log))
}

/// Runs the binary to completion; returns exit status, stdout and stderr.
pub(crate) fn run_output(
    env: &[(&str, &str)],
    args: &[&str],
    timeout: Duration,
) -> (ExitStatus, String, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (log, out) = (dir.path().join("stderr.log"), dir.path().join("stdout.txt"));
    let mut child = spawn_to(env, args, &log, Some(&out));
    let status = wait(&mut child, timeout).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("taskforge did not exit within {timeout:?}: {}", read(&log))
    });
    (status, read(&out), read(&log))
}

fn spawn(env: &[(&str, &str)], args: &[&str], log: &Path) -> Child {
    spawn_to(env, args, log, None)
}

fn spawn_to(env: &[(&str, &str)], args: &[&str], log: &Path, stdout: Option<&Path>) -> Child {
    spawn_under(&[], env, args, log, stdout)
}

/// Spawns the binary behind `prefix` (e.g. `faketime -f -30s`), when given.
fn spawn_under(
    prefix: &[&str],
    env: &[(&str, &str)],
    args: &[&str],
    log: &Path,
    stdout: Option<&Path>,
) -> Child {
    let file = match std::fs::File::create(log) {
        Ok(f) => f,
        Err(e) => panic!("log file: {e}"),
    };
    let vars: HashMap<&str, &str> = env.iter().copied().collect();
    let bin = env!("CARGO_BIN_EXE_taskforge");
    let mut cmd = match prefix.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    // Its own process group: a wrapper (faketime) and the service behind it are signalled and
    // killed together, so nothing outlives the test.
    cmd.process_group(0)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("TASKFORGE_API_TOKEN")
        .env("RUST_LOG", "info")
        .envs(vars)
        .stdin(Stdio::null())
        .stdout(match stdout.map(std::fs::File::create) {
            Some(Ok(f)) => Stdio::from(f),
            _ => Stdio::null(),
        });
    match file.try_clone() {
        Ok(f) => cmd.stderr(f),
        Err(e) => panic!("log file: {e}"),
    };
    match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("spawning taskforge: {e}"),
    }
}

fn wait(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Service {
    /// Starts the binary and waits for its "ready" line (which carries the bound address).
    pub(crate) fn start(env: &[(&str, &str)], log: PathBuf) -> Service {
        Self::start_under(&[], env, log)
    }

    /// [`Service::start`] behind a wrapper command (`faketime -f -30s`).
    pub(crate) fn start_under(prefix: &[&str], env: &[(&str, &str)], log: PathBuf) -> Service {
        let mut child = spawn_under(prefix, env, &[], &log, None);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let text = read(&log);
            if let Some(addr) = text
                .lines()
                .find_map(|l| l.split("taskforge ready: listening on ").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
            {
                return Service {
                    child: Some(child),
                    base: addr.to_string(),
                    log,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("taskforge exited early ({status}): {text}");
            }
            if Instant::now() >= deadline {
                let group = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                panic!("taskforge not ready in 90s: {text}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Process id.
    pub(crate) fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    /// Sends a signal to the service (and to its wrapper, when started under one).
    pub(crate) fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.pid()), sig);
    }

    /// Waits for exit; None on timeout.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = wait(child, timeout);
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// The log so far.
    pub(crate) fn log_text(&self) -> String {
        read(&self.log)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let group = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = c.wait();
        }
    }
}

/// PostgreSQL processes whose command line names `dir` (leftovers of a data directory).
pub(crate) fn postgres_processes_for(dir: &Path) -> Vec<i32> {
    let needle = dir.to_string_lossy().to_string();
    proc_pids(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                let s = String::from_utf8_lossy(&c).replace('\0', " ");
                s.contains("postgres") && s.contains(&needle)
            })
            .unwrap_or(false)
    })
}

/// Processes whose environment names `dir` as their data directory: a service, its wrapper,
/// its embedded PostgreSQL.
pub(crate) fn services_for(dir: &Path) -> Vec<i32> {
    let var = format!("TASKFORGE_DATA_DIR={}", dir.display());
    proc_pids(|pid| environ_has(pid, |v| v == var.as_bytes()))
}

/// Processes whose command line is exactly `cmdline` (arguments joined by spaces).
pub(crate) fn processes_running(cmdline: &str) -> Vec<i32> {
    proc_pids(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == cmdline)
            .unwrap_or(false)
    })
}

/// Processes started as a taskforge task: their environment carries TASKFORGE_EXECUTION_ID.
pub(crate) fn task_processes() -> Vec<i32> {
    proc_pids(|pid| environ_has(pid, |v| v.starts_with(b"TASKFORGE_EXECUTION_ID=")))
}

/// Kills the processes of [`processes_running`] (a test cleans up what it started).
pub(crate) fn kill_running(cmdline: &str) {
    for pid in processes_running(cmdline) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Whether one `NAME=value` of `pid`'s environment matches `is`.
fn environ_has(pid: i32, is: impl Fn(&[u8]) -> bool) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(is))
        .unwrap_or(false)
}

fn proc_pids(keep: impl Fn(i32) -> bool) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| keep(*pid))
        .collect()
}
