//! One throwaway PostgreSQL per test process, and a fresh database per test cloned from a
//! migrated template. With `TASKFORGE_TEST_DATABASE_URL` set, an existing server is used instead.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use taskforge::db::migrate;
use taskforge::embedded_pg::{EmbeddedOptions, EmbeddedPostgres};

const TEMPLATE: &str = "tf_template";

/// The shared server.
pub(crate) struct Cluster {
    admin_url: String,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The process-wide cluster, started on first use.
pub(crate) fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start_cluster) {
        Ok(c) => c,
        Err(e) => panic!("test PostgreSQL could not start: {e}"),
    }
}

fn start_cluster() -> Result<Cluster, String> {
    let admin_url = match std::env::var("TASKFORGE_TEST_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => start_embedded()?,
    };
    let url = admin_url.clone();
    on_runtime(async move {
        let mut c = connect(&url).await?;
        exec(
            &mut c,
            &format!("DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"),
        )
        .await?;
        exec(&mut c, &format!("CREATE DATABASE {TEMPLATE}")).await?;
        migrate::run_pending(&with_database(&url, TEMPLATE)).await?;
        Ok(())
    })?;
    Ok(Cluster { admin_url })
}

/// Starts the cluster on a thread that never ends: the server's parent-death signal fires
/// when the test process exits, however it exits, so no postgres outlives the tests.
fn start_embedded() -> Result<String, String> {
    remove_stale_dirs();
    let base = PathBuf::from(format!("/tmp/taskforge-test-{}", std::process::id()));
    std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
    open_dir(&base)?;
    let opts = EmbeddedOptions {
        unsafe_fast: true,
        ..EmbeddedOptions::new(
            base.join("postgres"),
            None,
            "postgres".into(),
            Duration::from_secs(60),
        )
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("test-postgres".into())
        .spawn(move || match EmbeddedPostgres::start(&opts) {
            Ok(pg) => {
                let _ = tx.send(Ok(pg.url("postgres")));
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
            }
        })
        .map_err(|e| e.to_string())?;
    rx.recv_timeout(Duration::from_secs(120))
        .map_err(|e| format!("cluster start: {e}"))?
}

/// Leftovers of earlier test processes that no longer run.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir("/tmp") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.strip_prefix("taskforge-test-") {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Makes a directory traversable by the unprivileged PostgreSQL user.
pub(crate) fn open_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())
}

/// Runs a future on a private runtime on its own thread (usable from sync code and from
/// inside another runtime).
pub(crate) fn on_runtime<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(fut)
    })
    .join()
    .map_err(|_| "runtime thread panicked".to_string())?
}

pub(crate) async fn connect(url: &str) -> Result<AsyncPgConnection, String> {
    AsyncPgConnection::establish(url)
        .await
        .map_err(|e| e.to_string())
}

pub(crate) async fn exec(c: &mut AsyncPgConnection, sql: &str) -> Result<(), String> {
    diesel::sql_query(sql)
        .execute(c)
        .await
        .map(|_| ())
        .map_err(|e| format!("{sql}: {e}"))
}

/// `url` with its database name replaced.
pub(crate) fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host_part = path_start.map(|i| &base[..i]).unwrap_or(base);
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// A fresh database for one test, dropped with it.
pub(crate) struct TestDb {
    name: String,
    url: String,
    /// False for a database this harness does not own (never dropped).
    owned: bool,
}

impl TestDb {
    /// Clones the migrated template.
    pub(crate) fn new() -> TestDb {
        let cluster = cluster();
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = cluster.admin_url.clone();
        let n = name.clone();
        let created = on_runtime(async move {
            let mut c = connect(&admin).await?;
            let mut last = String::new();
            // Concurrent clones of one template can collide; retry briefly.
            for _ in 0..50 {
                let sql = format!("CREATE DATABASE {n} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY");
                match exec(&mut c, &sql).await {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(last)
        });
        if let Err(e) = created {
            panic!("creating test database {name}: {e}");
        }
        TestDb {
            url: with_database(&cluster.admin_url, &name),
            name,
            owned: true,
        }
    }

    /// A database on another server, used as is and never dropped.
    pub(crate) fn external(url: &str) -> TestDb {
        TestDb {
            name: String::new(),
            url: url.to_string(),
            owned: false,
        }
    }

    /// Connection URL of this database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// An empty database (not from the template), for migration tests.
    pub(crate) fn empty() -> TestDb {
        let cluster = cluster();
        let name = format!("e_{}", uuid::Uuid::new_v4().simple());
        let admin = cluster.admin_url.clone();
        let n = name.clone();
        if let Err(e) = on_runtime(async move {
            let mut c = connect(&admin).await?;
            exec(&mut c, &format!("CREATE DATABASE {n}")).await
        }) {
            panic!("creating empty database {name}: {e}");
        }
        TestDb {
            url: with_database(&cluster.admin_url, &name),
            name,
            owned: true,
        }
    }
}

/// Every test database is dropped when its test ends (connections closed by force), by one
/// background thread so a test does not wait for the checkpoint a drop takes. Whatever is
/// still queued when the run ends goes with the private cluster.
impl Drop for TestDb {
    fn drop(&mut self) {
        if self.owned {
            if let Ok(tx) = dropper().lock() {
                let _ = tx.send(self.name.clone());
            }
        }
    }
}

fn dropper() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<String>> {
    static DROPPER: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<String>>> = OnceLock::new();
    DROPPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let admin = cluster().admin_url.clone();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            while let Ok(name) = rx.recv() {
                let _ = rt.block_on(force_drop(&admin, &name));
            }
        });
        std::sync::Mutex::new(tx)
    })
}

/// `DROP DATABASE ... WITH (FORCE)`: closes every connection to it.
async fn force_drop(admin: &str, name: &str) -> Result<(), String> {
    let mut c = connect(admin).await?;
    exec(
        &mut c,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await
}

impl TestDb {
    /// Drops the database now, closing every connection to it (simulates losing it).
    pub(crate) fn drop_now(&self) {
        if !self.owned {
            return;
        }
        let admin = cluster().admin_url.clone();
        let name = self.name.clone();
        let _ = on_runtime(async move { force_drop(&admin, &name).await });
    }
}

/// Runs a query returning one bigint (`SELECT count(*) ... AS n`).
pub(crate) async fn query_i64(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = connect(url).await.unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<N> = diesel::sql_query(sql)
        .load(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter().map(|r| r.n).next().unwrap_or(0)
}

/// Runs a query returning one text column named `s` (`SELECT ... AS s`).
pub(crate) async fn query_strings(url: &str, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
    }
    let mut c = connect(url).await.unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<S> = diesel::sql_query(sql)
        .load(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|r| r.s).collect()
}

impl TestDb {
    /// [`query_strings`] on this database.
    pub(crate) async fn query_strings(&self, sql: &str) -> Vec<String> {
        query_strings(&self.url, sql).await
    }
}

/// Makes PostgreSQL refuse, as data, every execution update whose result holds `word` (a
/// stand-in for any row the database will not store).
pub(crate) async fn refuse_results_containing(url: &str, word: &str) {
    execute(
        url,
        &format!(
            "CREATE FUNCTION refuse_word() RETURNS trigger AS $$ BEGIN \
               IF NEW.result::text LIKE '%{word}%' THEN RAISE EXCEPTION 'refused for the test'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql"
        ),
    )
    .await;
    execute(
        url,
        "CREATE TRIGGER refuse_word BEFORE UPDATE ON task_executions FOR EACH ROW EXECUTE FUNCTION refuse_word()",
    )
    .await;
}

/// Runs a statement.
pub(crate) async fn execute(url: &str, sql: &str) {
    let mut c = connect(url).await.unwrap_or_else(|e| panic!("{e}"));
    exec(&mut c, sql).await.unwrap_or_else(|e| panic!("{e}"));
}
