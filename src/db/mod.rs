//! PostgreSQL access: the pool, migrations, the embedded cluster and one module per table.

pub mod api_tokens;
pub mod audit;
pub mod backfill;
pub mod chains;
pub mod error_groups;
pub mod error_records;
pub mod execution_inserts;
pub mod execution_output;
pub mod execution_stats;
pub mod executions;
pub mod fires;
pub mod leads;
pub mod migrate;
pub mod orphans;
pub mod outbox;
pub mod pagination;
pub mod retention;
pub mod schedule_health;
pub mod schedules;
pub mod schema;
pub mod secrets;
pub mod status_batch;
pub mod system_state;
pub mod waiting;
pub mod webhooks;
pub mod ws_sessions;

use std::time::{Duration, Instant};

use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::config::DatabaseConfig;

/// The shared connection pool.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection checked out of the pool.
pub type DbConn = Object<AsyncPgConnection>;

/// A database failure, split into "could not talk to PostgreSQL" and "PostgreSQL said no".
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

impl From<PoolError> for DbError {
    fn from(e: PoolError) -> Self {
        DbError::Unavailable(e.to_string())
    }
}

/// Messages of the errors that mean "try later" whose SQLSTATE diesel does not expose as a
/// kind: deadlock (40P01), disk full (53100), out of memory (53200), lock not available
/// (55P03), statement timeout (57014), administrator or crash shutdown and start-up (57P0x).
/// The embedded cluster runs with `lc_messages=C`; an external one in another language falls
/// back to 500 for these (still never echoing the text).
const TRANSIENT_MESSAGES: [&str; 9] = [
    "deadlock detected",
    "No space left on device",
    "out of memory",
    "could not obtain lock",
    "canceling statement due to",
    "terminating connection due to administrator command",
    "terminating connection because of crash",
    "the database system is starting up",
    "the database system is shutting down",
];

impl DbError {
    /// True when the failure means "try later" rather than a bug: PostgreSQL unreachable (pool
    /// timeout, closed connection), read-only, a serialization failure or deadlock, disk full,
    /// an administrator shutdown. A 503 with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::DatabaseErrorKind as K;
        match self {
            DbError::Unavailable(_) => true,
            // diesel-async reports a connection whose socket is gone as UnableToSendCommand.
            DbError::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    K::ClosedConnection
                        | K::UnableToSendCommand
                        | K::ReadOnlyTransaction
                        | K::SerializationFailure
                ) || TRANSIENT_MESSAGES
                    .iter()
                    .any(|m| info.message().contains(m))
            }
            DbError::Query(diesel::result::Error::BrokenTransactionManager) => true,
            DbError::Query(_) => false,
        }
    }
}

/// Builds the pool with wait/create/recycle timeouts (deadpool needs the tokio runtime named,
/// or its timeouts fail with `NoRuntimeSpecified`).
pub fn build_pool(url: &str, cfg: &DatabaseConfig) -> Result<DbPool, DbError> {
    // No test query on every checkout (a round trip per request, ~10 % of a schedule create).
    // A connection whose socket closed (PostgreSQL stopped or restarted) is still dropped at
    // checkout: `is_broken` sees the closed client. One that dies in between fails its first
    // query as "unable to send", which `is_unavailable` maps to 503 like a pool timeout.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(cfg.pool_max_size)
        .wait_timeout(Some(Duration::from_millis(cfg.pool_wait_timeout_ms)))
        .create_timeout(Some(Duration::from_millis(cfg.pool_create_timeout_ms)))
        .recycle_timeout(Some(Duration::from_millis(cfg.pool_recycle_timeout_ms)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Unavailable(e.to_string()))
}

/// Checks out a connection.
pub async fn conn(pool: &DbPool) -> Result<DbConn, DbError> {
    let status = pool.status();
    // Counted, not logged: under an overload every request would log a line.
    if status.available == 0 && status.size >= status.max_size {
        metrics::counter!(crate::telemetry::POOL_EXHAUSTED).increment(1);
    }
    Ok(pool.get().await?)
}

/// Leaves the planner only nested-loop joins for the rest of the current transaction. The batch
/// statements join an `unnest` of a batch's ids to a table by its primary key; seeing a small or
/// freshly filled table, the planner would rather scan and hash the whole table, so each batch
/// would cost as much as the table is large (and a burst of N fires N² row visits). With this,
/// each row of the batch is one primary-key lookup whatever the table's size.
pub async fn index_joins_only(c: &mut AsyncPgConnection) -> Result<(), diesel::result::Error> {
    plan_settings(c, JOINS_BY_INDEX).await
}

/// The settings of [`index_joins_only`], transaction-local.
const JOINS_BY_INDEX: &str =
    "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)";

async fn plan_settings(
    c: &mut AsyncPgConnection,
    settings: &str,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query(format!("SELECT {settings}"))
        .execute(c)
        .await
        .map(|_| ())
}

/// Like [`index_joins_only`], and leaves a claim one plan: walk the due index in order and stop
/// after the batch. With a whole burst due, `ORDER BY due LIMIT n FOR UPDATE SKIP LOCKED` was
/// planned as a bitmap scan of every due row and a sort (spilling 14 MB to disk at 50k), so each
/// claim cost as much as the backlog was large: 69 ms per claim of 1,000 from 50k due, 1.9 ms
/// walking the index. For the rest of the current transaction.
pub async fn claim_plan(c: &mut AsyncPgConnection) -> Result<(), diesel::result::Error> {
    // One round trip for both sets of settings: this runs before every claim.
    plan_settings(
        c,
        &format!(
            "{JOINS_BY_INDEX}, set_config('enable_bitmapscan', 'off', true), \
             set_config('enable_sort', 'off', true)"
        ),
    )
    .await
}

/// `SELECT 1` through the pool: the health check's database probe.
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut c).await?;
    Ok(())
}

/// Connects directly (no pool), retrying until `timeout`: startup waits for a database that is
/// still coming up, and reports the last error when it never does.
pub async fn connect_with_retry(url: &str, timeout: Duration) -> Result<AsyncPgConnection, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), AsyncPgConnection::establish(url)).await
        {
            Ok(Ok(c)) => return Ok(c),
            Ok(Err(e)) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) if Instant::now() >= deadline => return Err("connection timed out".into()),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Creates `name` on the server behind `admin_url` unless it exists (embedded first run).
pub async fn ensure_database(admin_url: &str, name: &str, timeout: Duration) -> Result<(), String> {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[expect(dead_code, reason = "only whether a row came back matters")]
        one: i32,
    }
    let mut c = connect_with_retry(admin_url, timeout).await?;
    let found: Vec<Found> =
        diesel::sql_query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(name)
            .load(&mut c)
            .await
            .map_err(|e| e.to_string())?;
    if found.is_empty() {
        // The name is validated by config (letters, digits, _), so quoting it is enough.
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .map_err(|e| e.to_string())?;
        log::info!("database created: name={name}");
    }
    Ok(())
}
