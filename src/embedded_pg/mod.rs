//! The embedded default: a private PostgreSQL cluster under the data directory,
//! created on first run from the machine's server binaries and started as a child process.
//!
//! PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged OS user
//! and every binary runs as that user. The server is our child with a parent-death signal: if
//! taskforge is killed, PostgreSQL shuts down instead of lingering, and the next start finds at
//! most a stale `postmaster.pid`, which it clears.
//!
//! Only taskforge can connect: the cluster listens on no TCP port, its socket directory is
//! private, and the `postgres` role needs a random password kept in a 0600 file in the data
//! directory (SCRAM).

mod setup;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::process;

pub use setup::find_bin_dir;
use setup::*;

/// The port number only names the socket file; the cluster listens on no TCP port.
const SOCKET_PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes; leave room for `/.s.PGSQL.5432`.
const MAX_SOCKET_DIR_LEN: usize = 90;

/// How to create and start the cluster.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// The cluster directory (`<data dir>/postgres`).
    pub cluster_dir: PathBuf,
    /// Where `initdb` and `postgres` live; `None` = autodetect.
    pub bin_dir: Option<PathBuf>,
    /// OS user that runs PostgreSQL when we are root.
    pub os_user: String,
    /// How long to wait for the server to accept connections.
    pub start_timeout: Duration,
    /// Test hook (feature `testing`): no fsync, no synchronous commit. Never for a user's data.
    #[cfg(feature = "testing")]
    pub unsafe_fast: bool,
}

impl EmbeddedOptions {
    /// Durable options for the cluster in `cluster_dir`.
    pub fn new(
        cluster_dir: PathBuf,
        bin_dir: Option<PathBuf>,
        os_user: String,
        start_timeout: Duration,
    ) -> Self {
        EmbeddedOptions {
            cluster_dir,
            bin_dir,
            os_user,
            start_timeout,
            #[cfg(feature = "testing")]
            unsafe_fast: false,
        }
    }

    fn unsafe_fast(&self) -> bool {
        #[cfg(feature = "testing")]
        return self.unsafe_fast;
        #[cfg(not(feature = "testing"))]
        false
    }
}

/// Why the embedded cluster could not be used; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("PostgreSQL server binaries not found (looked in {0}): install them (Debian/Ubuntu: apt-get install postgresql) or set embedded.bin_dir, or set DATABASE_URL to use an existing server")]
    BinariesNotFound(String),
    #[error("running as root, but OS user `{0}` (embedded.os_user) does not exist: create it (apt-get install postgresql creates `postgres`) or set DATABASE_URL")]
    NoOsUser(String),
    #[error("{0} exists but is not a PostgreSQL cluster and is not empty: move it away or set TASKFORGE_DATA_DIR")]
    NotACluster(PathBuf),
    #[error("PostgreSQL is already running on {dir} (pid {pid}); is another taskforge using this data directory?")]
    AlreadyRunning { dir: PathBuf, pid: i32 },
    #[error("{action} failed: {detail}")]
    Failed { action: String, detail: String },
}

pub(crate) fn failed(action: impl Into<String>, detail: impl ToString) -> EmbeddedError {
    EmbeddedError::Failed {
        action: action.into(),
        detail: detail.to_string(),
    }
}

/// A running embedded cluster; stopped by [`EmbeddedPostgres::stop`] or on drop.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    child: Option<Child>,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    log_path: PathBuf,
    password: String,
}

impl EmbeddedPostgres {
    /// Creates the cluster on first use, clears a stale lock, starts the server and waits until
    /// it is ready. Call it from a thread that lives as long as the cluster should (the parent
    /// death signal is tied to the spawning thread).
    pub fn start(opts: &EmbeddedOptions) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bin_dir = find_bin_dir(opts.bin_dir.as_deref())?;
        let owner = run_as_user(&opts.os_user)?;
        let cluster_dir = absolute(&opts.cluster_dir)?;
        let parent = cluster_dir
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| failed("locating the data directory", "cluster dir has no parent"))?;
        fs::create_dir_all(&parent)
            .map_err(|e| failed(format!("creating {}", parent.display()), e))?;
        prepare_private_dir(&cluster_dir, owner.as_ref())?;
        let log_path = parent.join("postgres.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| failed(format!("opening {}", log_path.display()), e))?;

        let password_file = parent.join("postgres.password");
        let mut password = read_password(&password_file)?;
        if !cluster_dir.join("PG_VERSION").exists() {
            let non_empty = fs::read_dir(&cluster_dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false);
            if non_empty {
                return Err(EmbeddedError::NotACluster(cluster_dir));
            }
            let pw = match password.take() {
                Some(p) => p,
                None => new_password(&password_file)?,
            };
            init_cluster(
                &bin_dir,
                &cluster_dir,
                owner.as_ref(),
                opts.unsafe_fast(),
                &pw,
            )?;
            password = Some(pw);
        }
        let socket_dir = socket_dir_for(&parent);
        secure_socket_dir(&socket_dir, owner.as_ref())?;
        clear_stale_lock(&cluster_dir)?;
        // A cluster from before passwords (or whose password file was lost) gets a new one.
        let password = match password {
            Some(p) => p,
            None => {
                let pw = new_password(&password_file)?;
                set_password_offline(&bin_dir, &cluster_dir, owner.as_ref(), &pw)?;
                pw
            }
        };
        write_hba(&cluster_dir, owner.as_ref())?;

        let mut cmd = Command::new(bin_dir.join("postgres"));
        cmd.arg("-D")
            .arg(&cluster_dir)
            .arg("-k")
            .arg(&socket_dir)
            .arg("-p")
            .arg(SOCKET_PORT.to_string())
            .args(["-c", "listen_addresses="]);
        if opts.unsafe_fast() {
            cmd.args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off", "-c", "max_connections=300"]);
        }
        let log_err = log
            .try_clone()
            .map_err(|e| failed("opening the PostgreSQL log", e))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        as_cluster_owner(&mut cmd, owner.as_ref(), &cluster_dir);
        // Own process group: a terminal's Ctrl-C reaches taskforge, which then stops PostgreSQL
        // in order, instead of reaching both at once.
        cmd.process_group(0);
        die_with_parent(&mut cmd);
        let log_start = fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        let child = cmd.spawn().map_err(|e| {
            failed(
                format!("starting {}", bin_dir.join("postgres").display()),
                e,
            )
        })?;
        log::info!(
            "embedded PostgreSQL starting: pid={} dir={} socket_dir={}",
            child.id(),
            cluster_dir.display(),
            socket_dir.display()
        );
        let mut pg = EmbeddedPostgres {
            child: Some(child),
            cluster_dir,
            socket_dir,
            log_path,
            password,
        };
        pg.wait_ready(opts.start_timeout, log_start)?;
        Ok(pg)
    }

    /// A connection URL for `database` on this cluster (Unix socket, user `postgres`, with the
    /// password: log it only through `redact_url`).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{}@localhost/{database}?host={}&port={SOCKET_PORT}",
            self.password,
            percent_encode(&self.socket_dir.to_string_lossy())
        )
    }

    /// The cluster directory.
    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Fast shutdown (SIGINT: roll back open transactions, checkpoint) and wait for it to exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        let steps = [
            (Signal::SIGINT, Duration::from_secs(60)),
            (Signal::SIGQUIT, Duration::from_secs(10)),
            (Signal::SIGKILL, Duration::from_secs(10)),
        ];
        if process::stop_escalating(pid, &steps, |wait| process::wait_exit(&mut child, wait))
            .is_some()
        {
            log::info!(
                "embedded PostgreSQL stopped: pid={pid} dir={}",
                self.cluster_dir.display()
            );
        }
    }

    fn wait_ready(&mut self, timeout: Duration, log_start: u64) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + timeout;
        let pid_file = self.cluster_dir.join("postmaster.pid");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(failed(
                        "starting PostgreSQL",
                        format!(
                            "server exited ({status}); its log says: {}",
                            log_tail(&self.log_path, log_start)
                        ),
                    ));
                }
            }
            // Line 8 of postmaster.pid is the postmaster status; "ready" once it takes connections.
            let ready = fs::read_to_string(&pid_file)
                .map(|s| s.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
                .unwrap_or(false);
            if ready {
                log::info!(
                    "embedded PostgreSQL ready: pid={} dir={}",
                    self.pid().unwrap_or(0),
                    self.cluster_dir.display()
                );
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(failed(
                    "starting PostgreSQL",
                    format!(
                        "not ready after {}s (embedded.start_timeout_secs); its log says: {}",
                        timeout.as_secs(),
                        log_tail(&self.log_path, log_start)
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn log_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        if f.seek(SeekFrom::Start(from)).is_ok() {
            let _ = f.read_to_string(&mut text);
        }
    }
    last_lines(&text, 3)
}

pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join(" | ")
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_data_dirs_get_a_short_socket_dir() {
        let short = socket_dir_for(Path::new("/srv/tf"));
        assert_eq!(short, PathBuf::from("/srv/tf/run"));
        let long_path = format!("/{}", "x".repeat(120));
        let long = socket_dir_for(Path::new(&long_path));
        assert!(long.as_os_str().len() < MAX_SOCKET_DIR_LEN);
        assert_ne!(long, socket_dir_for(Path::new(&format!("{long_path}y"))));
    }

    #[test]
    fn configured_bin_dir_without_server_is_reported() {
        match find_bin_dir(Some(Path::new("/nonexistent/bin"))) {
            Err(EmbeddedError::BinariesNotFound(m)) => assert!(m.contains("embedded.bin_dir")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn socket_paths_are_url_encoded() {
        assert_eq!(percent_encode("/a b/c"), "/a%20b/c");
    }
}
