//! At the process level: the real binary, its embedded PostgreSQL, signals, bad input
//! at start-up.

use std::path::Path;
use std::time::Duration;

use awc::http::StatusCode;
use nix::sys::signal::Signal;

use crate::app::send;
use crate::cluster::open_dir;
use crate::process::{postgres_processes_for, run_to_exit, services_for, Service};

fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("tf-data-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    open_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn embedded_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("TASKFORGE_DATA_DIR", dir.to_string_lossy().to_string()),
        ("TASKFORGE_BIND", "127.0.0.1:0".to_string()),
        ("TASKFORGE_SHUTDOWN_GRACE_SECS", "5".to_string()),
    ]
}

fn start(dir: &Path, log_name: &str) -> Service {
    let env = embedded_env(dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Service::start(&env, dir.join(log_name))
}

async fn assert_healthy(base: &str) {
    let (status, body) = send(base, "GET", "/api/health", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["database"], "ok");
}

#[actix_web::test]
async fn embedded_default_persists_across_restarts_and_stops_cleanly() {
    let dir = data_dir();
    let mut first = start(dir.path(), "first.log");
    assert_healthy(&first.base).await;
    let first_instance = instance_id(&first.base).await;

    first.signal(Signal::SIGTERM);
    let status = first
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no exit after SIGTERM: {}", first.log_text()));
    assert!(status.success(), "exit {status}: {}", first.log_text());
    assert!(first.log_text().contains("embedded PostgreSQL stopped"));
    assert!(
        postgres_processes_for(dir.path()).is_empty(),
        "postgres left running"
    );

    // Same data directory: the cluster is reused and the first run's rows are still there.
    let mut second = start(dir.path(), "second.log");
    let log = second.log_text();
    assert!(
        !log.contains("creating cluster"),
        "cluster re-created: {log}"
    );
    let url = embedded_url(dir.path());
    let rows = count_instances(&url, &first_instance).await;
    assert_eq!(rows, 1, "first instance's system_state row lost");
    second.signal(Signal::SIGINT);
    let status = second.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "{}", second.log_text());
    assert!(postgres_processes_for(dir.path()).is_empty());
}

/// The embedded cluster's URL, with the password from its 0600 file.
fn embedded_url(dir: &Path) -> String {
    let password = std::fs::read_to_string(dir.join("postgres.password")).unwrap_or_default();
    format!(
        "postgres://postgres:{}@localhost/taskforge?host={}/run&port=5432",
        password.trim(),
        dir.display()
    )
}

#[actix_web::test]
async fn only_taskforge_can_connect_to_its_embedded_cluster() {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    use std::os::unix::fs::PermissionsExt;
    let dir = data_dir();
    let mut first = start(dir.path(), "first.log");
    assert_healthy(&first.base).await;
    let pw_file = dir.path().join("postgres.password");
    let mode = std::fs::metadata(&pw_file)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    assert_eq!(mode, 0o600);
    let password = std::fs::read_to_string(&pw_file)
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(password.len() >= 32, "weak password");
    assert!(!first.log_text().contains(&password), "password in the log");
    // Without the password the socket answers nothing; there is no TCP listener at all.
    let no_pw = format!(
        "postgres://postgres@localhost/taskforge?host={}/run&port=5432",
        dir.path().display()
    );
    assert!(
        AsyncPgConnection::establish(&no_pw).await.is_err(),
        "connected without a password"
    );
    let wrong = no_pw.replace("postgres@", "postgres:wrong@");
    let err = AsyncPgConnection::establish(&wrong)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("password authentication failed"),
        "wrong password: {err}"
    );
    assert!(AsyncPgConnection::establish(&embedded_url(dir.path()))
        .await
        .is_ok());
    let hba = std::fs::read_to_string(dir.path().join("postgres/pg_hba.conf")).unwrap_or_default();
    assert!(
        !hba.contains("trust") && !hba.lines().any(|l| l.starts_with("host")),
        "{hba}"
    );
    first.signal(Signal::SIGTERM);
    assert!(first
        .wait_exit(Duration::from_secs(30))
        .is_some_and(|s| s.success()));

    // A lost password file: a new password is set with the server stopped, data kept.
    std::fs::remove_file(&pw_file).unwrap_or_else(|e| panic!("{e}"));
    let mut second = start(dir.path(), "second.log");
    assert_healthy(&second.base).await;
    let renewed = std::fs::read_to_string(&pw_file).unwrap_or_default();
    assert!(!renewed.trim().is_empty() && renewed.trim() != password);
    second.signal(Signal::SIGTERM);
    assert!(second
        .wait_exit(Duration::from_secs(30))
        .is_some_and(|s| s.success()));

    // A socket directory swapped for a symlink is refused with one clear line.
    let run = dir.path().join("run");
    std::fs::remove_dir_all(&run).unwrap_or_else(|e| panic!("{e}"));
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(elsewhere.path(), &run).unwrap_or_else(|e| panic!("{e}"));
    let env = embedded_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, stderr) = run_to_exit(&env, &[], Duration::from_secs(60));
    assert!(!status.success());
    assert!(stderr.contains("symlink"), "{stderr}");
    assert!(postgres_processes_for(dir.path()).is_empty());
}

async fn instance_id(base: &str) -> String {
    let (_, body) = send(base, "GET", "/api/health", None).await;
    body["instanceId"].as_str().unwrap_or_default().to_string()
}

async fn count_instances(url: &str, instance: &str) -> i64 {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let rows: Vec<N> = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM system_state WHERE instance_id = '{instance}' AND stopped_at IS NOT NULL"
    ))
    .load(&mut c)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    rows.iter().map(|r| r.n).next().unwrap_or(0)
}

#[actix_web::test]
async fn sigkill_then_restart_starts_cleanly() {
    let dir = data_dir();
    let mut first = start(dir.path(), "first.log");
    assert_healthy(&first.base).await;
    first.signal(Signal::SIGKILL);
    first.wait_exit(Duration::from_secs(10));

    // The server dies with its parent; the restart clears whatever lock it left.
    let mut second = start(dir.path(), "second.log");
    assert_healthy(&second.base).await;
    second.signal(Signal::SIGTERM);
    assert!(second
        .wait_exit(Duration::from_secs(30))
        .is_some_and(|s| s.success()));
    assert!(postgres_processes_for(dir.path()).is_empty());
}

fn assert_one_clear_line(stderr: &str, needles: &[&str]) {
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "backtrace hint: {stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "expected one error line: {stderr}");
    for n in needles {
        assert!(errors[0].contains(n), "`{n}` missing from: {}", errors[0]);
    }
}

#[test]
fn invalid_config_exits_naming_the_key() {
    let (status, stderr) = run_to_exit(
        &[("TASKFORGE_SHUTDOWN_GRACE_SECS", "soon")],
        &[],
        Duration::from_secs(30),
    );
    assert!(!status.success());
    assert_one_clear_line(
        &stderr,
        &[
            "server.shutdown_grace_secs",
            "TASKFORGE_SHUTDOWN_GRACE_SECS",
        ],
    );

    let dir = data_dir();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nworkers = \"many\"\n").unwrap_or_else(|e| panic!("{e}"));
    let (status, stderr) = run_to_exit(
        &[],
        &["--config", &file.to_string_lossy()],
        Duration::from_secs(30),
    );
    assert!(!status.success());
    assert_one_clear_line(&stderr, &["server.workers"]);

    let (status, stderr) = run_to_exit(&[], &["--bogus"], Duration::from_secs(30));
    assert!(!status.success());
    assert_one_clear_line(&stderr, &["--bogus"]);
}

#[test]
fn missing_postgres_binaries_say_what_to_install() {
    let dir = data_dir();
    let (status, stderr) = run_to_exit(
        &[
            ("TASKFORGE_DATA_DIR", &dir.path().to_string_lossy()),
            (
                "TASKFORGE__EMBEDDED__BIN_DIR",
                "/nonexistent/postgresql/bin",
            ),
        ],
        &[],
        Duration::from_secs(30),
    );
    assert!(!status.success());
    assert_one_clear_line(&stderr, &["install", "DATABASE_URL"]);
}

#[test]
fn unreachable_database_url_fails_clearly() {
    let (status, stderr) = run_to_exit(
        &[
            ("DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/none"),
            ("TASKFORGE__DATABASE__CONNECT_TIMEOUT_SECS", "1"),
        ],
        &[],
        Duration::from_secs(60),
    );
    assert!(!status.success());
    assert_one_clear_line(&stderr, &["cannot connect to the database"]);
    assert!(!stderr.contains("secret"), "password logged: {stderr}");
}

#[actix_web::test]
async fn a_service_started_under_a_wrapper_leaves_no_process_behind() {
    let dir = data_dir();
    let env = embedded_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // `sh -c` forks the binary instead of becoming it, as faketime does.
    let svc = Service::start_under(
        &["sh", "-c", "\"$0\" \"$@\"; true"],
        &env,
        dir.path().join("wrapped.log"),
    );
    assert_healthy(&svc.base).await;
    assert!(
        services_for(dir.path()).len() >= 2,
        "wrapper and service both run"
    );
    drop(svc);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !services_for(dir.path()).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(services_for(dir.path()), Vec::<i32>::new(), "left running");
}
