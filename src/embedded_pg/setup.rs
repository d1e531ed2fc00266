//! Preparing the embedded cluster's files: finding the server binaries, private directories,
//! `initdb`, the password and `pg_hba.conf`, the socket directory, a stale lock.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::{chown, geteuid, User};

use super::{failed, last_lines, EmbeddedError, MAX_SOCKET_DIR_LEN};

/// Only local (Unix socket) connections, and only with the password: no other user on the
/// machine can reach the cluster through its socket.
const PG_HBA: &str = "# Written by taskforge: Unix socket only, password (SCRAM) required.\nlocal all all scram-sha-256\n";

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
pub(super) fn run_as_user(name: &str) -> Result<Option<User>, EmbeddedError> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    match User::from_name(name) {
        Ok(Some(user)) => Ok(Some(user)),
        _ => Err(EmbeddedError::NoOsUser(name.to_string())),
    }
}

pub(super) fn absolute(path: &Path) -> Result<PathBuf, EmbeddedError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|e| failed("resolving the data directory", e))
}

/// Creates `dir` (mode 0700, owned by the cluster owner) as PostgreSQL requires.
pub(super) fn prepare_private_dir(dir: &Path, owner: Option<&User>) -> Result<(), EmbeddedError> {
    fs::create_dir_all(dir).map_err(|e| failed(format!("creating {}", dir.display()), e))?;
    if let Some(user) = owner {
        chown(dir, Some(user.uid), Some(user.gid))
            .map_err(|e| failed(format!("chown {} to {}", dir.display(), user.name), e))?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| failed(format!("chmod 0700 {}", dir.display()), e))
}

/// Creates the cluster with password authentication from the start; the password file is
/// handed to initdb through a file only the cluster owner can read, removed right after.
pub(super) fn init_cluster(
    bin_dir: &Path,
    cluster_dir: &Path,
    owner: Option<&User>,
    unsafe_fast: bool,
    password: &str,
) -> Result<(), EmbeddedError> {
    log::info!(
        "embedded PostgreSQL: creating cluster in {}",
        cluster_dir.display()
    );
    let parent = cluster_dir.parent().unwrap_or(cluster_dir);
    let pwfile = parent.join(".initdb-pw");
    let _ = fs::remove_file(&pwfile);
    write_private(&pwfile, password, owner)?;
    let mut cmd = Command::new(bin_dir.join("initdb"));
    cmd.arg("-D").arg(cluster_dir).args([
        "-U",
        "postgres",
        "--auth=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
    ]);
    cmd.arg(format!("--pwfile={}", pwfile.display()));
    if unsafe_fast {
        cmd.arg("--no-sync");
    }
    as_cluster_owner(&mut cmd, owner, cluster_dir);
    let out = cmd.output();
    let _ = fs::remove_file(&pwfile);
    let out =
        out.map_err(|e| failed(format!("running {}", bin_dir.join("initdb").display()), e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(failed(
            "initdb",
            format!("{}: {}", out.status, last_lines(&stderr, 3)),
        ));
    }
    Ok(())
}

/// Writes `text` to a new file with mode 0600, owned by `owner` when given.
fn write_private(path: &Path, text: &str, owner: Option<&User>) -> Result<(), EmbeddedError> {
    let shown = path.display();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| failed(format!("creating {shown}"), e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| failed(format!("writing {shown}"), e))?;
    if let Some(user) = owner {
        chown(path, Some(user.uid), Some(user.gid))
            .map_err(|e| failed(format!("chown {shown}"), e))?;
    }
    Ok(())
}

/// The cluster password, kept in `<data dir>/postgres.password` (mode 0600, readable by
/// taskforge only). `None` when there is no file yet.
pub(super) fn read_password(file: &Path) -> Result<Option<String>, EmbeddedError> {
    let shown = file.display();
    match fs::read_to_string(file) {
        Ok(text) => {
            let mode = fs::metadata(file)
                .map_err(|e| failed(format!("reading {shown}"), e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(failed(
                    format!("reading {shown}"),
                    format!(
                        "it is readable by others (mode {:o}): chmod 600 it",
                        mode & 0o777
                    ),
                ));
            }
            Ok(Some(text.trim().to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(failed(format!("reading {shown}"), e)),
    }
}

/// A new random password, stored in `file` (0600) before anything uses it.
pub(super) fn new_password(file: &Path) -> Result<String, EmbeddedError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| failed("generating the cluster password", e))?;
    let password = crate::domain::access::hex(&bytes);
    write_private(file, &password, None)?;
    Ok(password)
}

/// Sets the `postgres` role's password with the server stopped (single-user mode): how a
/// cluster created before passwords were used gets one.
pub(super) fn set_password_offline(
    bin_dir: &Path,
    cluster_dir: &Path,
    owner: Option<&User>,
    password: &str,
) -> Result<(), EmbeddedError> {
    let mut cmd = Command::new(bin_dir.join("postgres"));
    cmd.args(["--single", "-D"])
        .arg(cluster_dir)
        .arg("postgres")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    as_cluster_owner(&mut cmd, owner, cluster_dir);
    let mut child = cmd
        .spawn()
        .map_err(|e| failed("starting PostgreSQL in single-user mode", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        let sql = format!("ALTER ROLE postgres PASSWORD '{password}';\n");
        stdin
            .write_all(sql.as_bytes())
            .map_err(|e| failed("setting the cluster password", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed("setting the cluster password", e))?;
    if !out.status.success() {
        return Err(failed(
            "setting the cluster password",
            last_lines(&String::from_utf8_lossy(&out.stderr), 3),
        ));
    }
    log::info!("embedded PostgreSQL: password authentication enabled for an existing cluster");
    Ok(())
}

/// Makes `pg_hba.conf` exactly [`PG_HBA`].
pub(super) fn write_hba(cluster_dir: &Path, owner: Option<&User>) -> Result<(), EmbeddedError> {
    let path = cluster_dir.join("pg_hba.conf");
    if fs::read_to_string(&path).is_ok_and(|t| t == PG_HBA) {
        return Ok(());
    }
    let _ = fs::remove_file(&path);
    write_private(&path, PG_HBA, owner)
}

/// The socket directory, created exclusively: an existing one must be a real directory (not a
/// symlink) owned by the cluster owner, or it is refused — another local user must not be able
/// to put the socket where they control it.
pub(super) fn secure_socket_dir(dir: &Path, owner: Option<&User>) -> Result<(), EmbeddedError> {
    let shown = dir.display();
    let want_uid = owner
        .map(|u| u.uid.as_raw())
        .unwrap_or_else(|| geteuid().as_raw());
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(dir)
                .map_err(|e| failed(format!("creating socket dir {shown}"), e))?;
            if let Some(user) = owner {
                chown(dir, Some(user.uid), Some(user.gid))
                    .map_err(|e| failed(format!("chown {shown}"), e))?;
            }
        }
        Err(e) => return Err(failed(format!("checking socket dir {shown}"), e)),
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
            return Err(failed(
                format!("using socket dir {shown}"),
                "it is a symlink or not a directory; remove it",
            ))
        }
        Ok(m) if m.uid() != want_uid => {
            return Err(failed(
                format!("using socket dir {shown}"),
                format!("it belongs to uid {}, not {want_uid}; remove it", m.uid()),
            ))
        }
        Ok(_) => {}
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| failed(format!("chmod 0700 {shown}"), e))
}

/// Runs the command as the cluster owner, from a directory that user can read.
pub(super) fn as_cluster_owner(cmd: &mut Command, owner: Option<&User>, cwd: &Path) {
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
pub(super) fn die_with_parent(cmd: &mut Command) {
    // SAFETY: runs in the forked child before exec and only calls prctl(2).
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(std::io::Error::from)
        });
    }
}

/// `<data dir>/run` unless that path is too long for a Unix socket; then a short path in /tmp
/// derived from the data directory, so two data directories never share one.
pub(super) fn socket_dir_for(data_dir: &Path) -> PathBuf {
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
pub(super) fn clear_stale_lock(cluster_dir: &Path) -> Result<(), EmbeddedError> {
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
