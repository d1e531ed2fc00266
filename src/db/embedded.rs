//! The embedded default (SPEC §2): a private PostgreSQL cluster under the data directory,
//! created on first run from the machine's server binaries and started as a child process.
//!
//! PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged OS user
//! and every binary runs as that user. The server is our child with a parent-death signal: if
//! taskforge is killed, PostgreSQL shuts down instead of lingering, and the next start finds at
//! most a stale `postmaster.pid`, which it clears.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{chown, geteuid, Pid, User};

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
    /// Tests only: no fsync, no synchronous commit. Never for a user's data.
    pub unsafe_fast: bool,
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

fn failed(action: impl Into<String>, detail: impl ToString) -> EmbeddedError {
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

        if !cluster_dir.join("PG_VERSION").exists() {
            let non_empty = fs::read_dir(&cluster_dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false);
            if non_empty {
                return Err(EmbeddedError::NotACluster(cluster_dir));
            }
            init_cluster(&bin_dir, &cluster_dir, owner.as_ref(), opts.unsafe_fast)?;
        }

        let socket_dir = socket_dir_for(&parent);
        prepare_private_dir(&socket_dir, owner.as_ref())?;
        clear_stale_lock(&cluster_dir)?;

        let mut cmd = Command::new(bin_dir.join("postgres"));
        cmd.arg("-D")
            .arg(&cluster_dir)
            .arg("-k")
            .arg(&socket_dir)
            .arg("-p")
            .arg(SOCKET_PORT.to_string())
            .args(["-c", "listen_addresses="]);
        if opts.unsafe_fast {
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
        };
        pg.wait_ready(opts.start_timeout, log_start)?;
        Ok(pg)
    }

    /// A connection URL for `database` on this cluster (Unix socket, user `postgres`).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}&port={SOCKET_PORT}",
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
        let pid = Pid::from_raw(child.id() as i32);
        for (signal, wait) in [
            (Signal::SIGINT, Duration::from_secs(60)),
            (Signal::SIGQUIT, Duration::from_secs(10)),
            (Signal::SIGKILL, Duration::from_secs(10)),
        ] {
            if let Err(e) = kill(pid, signal) {
                log::debug!("embedded PostgreSQL pid={pid}: {signal} not delivered: {e}");
            }
            if wait_exit(&mut child, wait) {
                log::info!(
                    "embedded PostgreSQL stopped: pid={pid} dir={}",
                    self.cluster_dir.display()
                );
                return;
            }
            log::warn!("embedded PostgreSQL pid={pid} did not stop after {signal}; escalating");
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

/// Finds a directory holding both `initdb` and `postgres`.
pub fn find_bin_dir(configured: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    let has_server = |d: &Path| d.join("postgres").is_file() && d.join("initdb").is_file();
    if let Some(dir) = configured {
        return if has_server(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(EmbeddedError::BinariesNotFound(format!(
                "{} (embedded.bin_dir)",
                dir.display()
            )))
        };
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            candidates.push(PathBuf::from(
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            ));
        }
    }
    // Debian layout, newest major version first.
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                Some((v, e.path().join("bin")))
            })
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        candidates.extend(versions.into_iter().map(|(_, p)| p));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .iter()
        .find(|d| has_server(d))
        .cloned()
        .ok_or_else(|| {
            EmbeddedError::BinariesNotFound(
                "pg_config --bindir, /usr/lib/postgresql/*/bin, PATH".to_string(),
            )
        })
}

/// The unprivileged user to run PostgreSQL as, when we are root.
fn run_as_user(name: &str) -> Result<Option<User>, EmbeddedError> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    match User::from_name(name) {
        Ok(Some(user)) => Ok(Some(user)),
        _ => Err(EmbeddedError::NoOsUser(name.to_string())),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, EmbeddedError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|e| failed("resolving the data directory", e))
}

/// Creates `dir` (mode 0700, owned by the cluster owner) as PostgreSQL requires.
fn prepare_private_dir(dir: &Path, owner: Option<&User>) -> Result<(), EmbeddedError> {
    fs::create_dir_all(dir).map_err(|e| failed(format!("creating {}", dir.display()), e))?;
    if let Some(user) = owner {
        chown(dir, Some(user.uid), Some(user.gid))
            .map_err(|e| failed(format!("chown {} to {}", dir.display(), user.name), e))?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| failed(format!("chmod 0700 {}", dir.display()), e))
}

fn init_cluster(
    bin_dir: &Path,
    cluster_dir: &Path,
    owner: Option<&User>,
    unsafe_fast: bool,
) -> Result<(), EmbeddedError> {
    log::info!(
        "embedded PostgreSQL: creating cluster in {}",
        cluster_dir.display()
    );
    let mut cmd = Command::new(bin_dir.join("initdb"));
    cmd.arg("-D").arg(cluster_dir).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
    ]);
    if unsafe_fast {
        cmd.arg("--no-sync");
    }
    as_cluster_owner(&mut cmd, owner, cluster_dir);
    let out = cmd
        .output()
        .map_err(|e| failed(format!("running {}", bin_dir.join("initdb").display()), e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(failed(
            "initdb",
            format!("{}: {}", out.status, last_lines(&stderr, 3)),
        ));
    }
    Ok(())
}

/// Runs the command as the cluster owner, from a directory that user can read.
fn as_cluster_owner(cmd: &mut Command, owner: Option<&User>, cwd: &Path) {
    cmd.current_dir(cwd);
    for var in ["PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"] {
        cmd.env_remove(var);
    }
    if let Some(user) = owner {
        cmd.uid(user.uid.as_raw())
            .gid(user.gid.as_raw())
            .env("HOME", &user.dir)
            .env("USER", &user.name);
    }
}

/// The server gets SIGINT (fast shutdown) when the thread that spawned it dies, so a killed
/// taskforge never leaves a server holding the data directory.
#[expect(
    unsafe_code,
    reason = "pre_exec is unsafe; the closure only calls prctl, which is async-signal-safe"
)]
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: runs in the forked child before exec and only calls prctl(2).
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(std::io::Error::from)
        });
    }
}

/// `<data dir>/run` unless that path is too long for a Unix socket; then a short path in /tmp
/// derived from the data directory, so two data directories never share one.
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    if preferred.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
        return preferred;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data_dir.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    PathBuf::from(format!("/tmp/taskforge-{hash:016x}"))
}

/// A `postmaster.pid` left by a server that no longer runs is removed; one whose server still
/// runs (a previous taskforge killed moments ago is still shutting its server down) is waited for.
fn clear_stale_lock(cluster_dir: &Path) -> Result<(), EmbeddedError> {
    let pid_file = cluster_dir.join("postmaster.pid");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let Ok(text) = fs::read_to_string(&pid_file) else {
            return Ok(());
        };
        let pid = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<i32>().ok());
        let alive_postgres = pid.is_some_and(|p| {
            fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains("postgres"))
                .unwrap_or(false)
        });
        match pid {
            Some(p) if alive_postgres => {
                if Instant::now() >= deadline {
                    return Err(EmbeddedError::AlreadyRunning {
                        dir: cluster_dir.to_path_buf(),
                        pid: p,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            _ => {
                log::warn!(
                    "embedded PostgreSQL: removing stale lock file {} (pid {:?} is not running)",
                    pid_file.display(),
                    pid
                );
                return fs::remove_file(&pid_file)
                    .map_err(|e| failed(format!("removing {}", pid_file.display()), e));
            }
        }
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
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

fn last_lines(text: &str, n: usize) -> String {
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
