//! Bench plumbing: a durable PostgreSQL of its own, the release binary as a child process, a
//! fast local HTTP stub, SQL helpers and percentiles.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use taskforge::embedded_pg::{EmbeddedOptions, EmbeddedPostgres};

/// The cluster, held by a thread that lives until the process exits.
pub(crate) struct Pg {
    pub(crate) admin_url: String,
    pub(crate) dir: PathBuf,
}

impl Pg {
    pub(crate) fn start() -> Pg {
        let dir = PathBuf::from(format!("/tmp/taskforge-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        // Durable settings: figures are for a real deployment, not a test cluster.
        let opts = EmbeddedOptions::new(
            dir.join("postgres"),
            None,
            "postgres".into(),
            Duration::from_secs(60),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || match EmbeddedPostgres::start(&opts) {
            Ok(pg) => {
                let _ = tx.send(Ok(pg.url("postgres")));
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
            }
        });
        let admin_url = rx
            .recv()
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        Pg { admin_url, dir }
    }

    /// A fresh, empty database; its URL.
    pub(crate) async fn database(&self, name: &str) -> String {
        exec(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await;
        exec(&self.admin_url, &format!("CREATE DATABASE {name}")).await;
        let (base, query) = self
            .admin_url
            .split_once('?')
            .unwrap_or((&self.admin_url, ""));
        let base = base.trim_end_matches("/postgres");
        format!("{base}/{name}?{query}")
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) async fn conn(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

pub(crate) async fn exec(url: &str, sql: &str) {
    let mut c = conn(url).await;
    diesel::sql_query(sql)
        .execute(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[derive(diesel::QueryableByName)]
struct F {
    #[diesel(sql_type = diesel::sql_types::Double)]
    v: f64,
}

/// A query returning one float8 column `v`.
pub(crate) async fn floats(url: &str, sql: &str) -> Vec<f64> {
    let mut c = conn(url).await;
    let rows: Vec<F> = diesel::sql_query(sql)
        .load(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|r| r.v).collect()
}

/// A query returning one float8 column `v`, on an open connection.
pub(crate) async fn float_on(c: &mut AsyncPgConnection, sql: &str) -> f64 {
    let rows: Vec<F> = diesel::sql_query(sql)
        .load(c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|r| r.v).next().unwrap_or(0.0)
}

pub(crate) async fn float(url: &str, sql: &str) -> f64 {
    floats(url, sql).await.into_iter().next().unwrap_or(0.0)
}

/// The release binary as a child process.
pub(crate) struct Service {
    child: Child,
    pub(crate) base: String,
    log: PathBuf,
}

impl Service {
    pub(crate) fn start(
        db_url: &str,
        log_dir: &Path,
        name: &str,
        extra: &[(&str, &str)],
    ) -> Service {
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_taskforge"));
        cmd.env("DATABASE_URL", db_url)
            .env("TASKFORGE_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn,taskforge::app=info")
            .envs(extra.iter().copied())
            .envs(
                std::env::var("BENCH_RUST_LOG")
                    .ok()
                    .map(|v| ("RUST_LOG", v)),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(addr) = text
                .split("listening on ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
            {
                return Service {
                    child,
                    base: addr.to_string(),
                    log,
                };
            }
            if Instant::now() >= deadline || matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("service did not start: {text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (user+system CPU seconds, RSS bytes) of the service process.
    pub(crate) fn usage(&self) -> (f64, u64) {
        let cpu = cpu_of(&format!("/proc/{}/stat", self.pid()));
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let rss_kb: u64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        (cpu, rss_kb * 1024)
    }

    pub(crate) fn stop(mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        eprintln!("service did not stop in time; log: {}", self.log.display());
    }
}

/// User + system CPU seconds of the process whose `stat` file is `path`.
fn cpu_of(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = (11..13)
        .filter_map(|i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

/// CPU seconds used so far by this harness process: the load generator's share (and the
/// stub's, which answers the tasks' requests).
pub(crate) fn harness_cpu() -> f64 {
    cpu_of("/proc/self/stat")
}

/// A local HTTP target answering 200 `{}` at once; its URL.
pub(crate) fn stub() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sys = actix_web::rt::System::new();
        sys.block_on(async move {
            let server = HttpServer::new(|| {
                App::new().default_service(web::to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({}))
                }))
            })
            .workers(1)
            .disable_signals()
            .backlog(4096)
            .bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("{e}"));
            let _ = tx.send(server.addrs()[0]);
            let _ = server.run().await;
        });
    });
    let addr = rx.recv().unwrap_or_else(|e| panic!("{e}"));
    format!("http://{addr}/ok")
}

/// p-th percentile (0–100) of `v` (sorted in place).
pub(crate) fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[idx.min(v.len() - 1)]
}

/// `p50 / p99 / max` in ms.
pub(crate) fn summary(v: &mut [f64]) -> String {
    format!(
        "p50={:.2}ms p99={:.2}ms max={:.2}ms (n={})",
        pct(v, 50.0),
        pct(v, 99.0),
        pct(v, 100.0),
        v.len()
    )
}

/// CPU seconds used so far by this cluster's processes (the postmaster, including its reaped
/// children, and its live backends): the database's share of a scenario.
pub(crate) fn postgres_cpu(pg: &Pg) -> f64 {
    let pid_file = std::fs::read_to_string(pg.dir.join("postgres").join("postmaster.pid"));
    let Some(master) = pid_file
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    else {
        return 0.0;
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let mut ticks = 0.0;
    for e in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let pid = e.file_name().to_string_lossy().parse::<u32>().unwrap_or(0);
        let Some((_, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = tail.split_whitespace().collect();
        let ppid = f.get(1).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        if pid != master && ppid != master {
            continue;
        }
        ticks += (11..15)
            .filter_map(|i| f.get(i).and_then(|v| v.parse::<f64>().ok()))
            .sum::<f64>();
    }
    ticks / 100.0
}
