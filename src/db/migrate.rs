//! Embedded diesel migrations, run at startup, and the schema check that follows.

use diesel::migration::MigrationVersion;
use diesel::pg::Pg;
use diesel::query_dsl::QueryDsl;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::schema::{
    api_tokens, audit_log, error_records, event_outbox, secrets, system_state, task_executions,
    task_schedules, websocket_sessions,
};
use super::{conn, DbError, DbPool};

/// Every migration under `./migrations`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

type SyncConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// Applies pending migrations; returns the versions applied.
///
/// Runs on a plain thread with its own runtime: diesel's migration harness is synchronous, and
/// blocking on the actix (current-thread) runtime would panic.
pub async fn run_pending(url: &str) -> Result<Vec<String>, String> {
    on_own_thread(url, |c| {
        c.run_pending_migrations(MIGRATIONS)
            .map(|v| versions(&v))
            .map_err(|e| e.to_string())
    })
    .await
}

/// Reverts every applied migration, newest first (used to prove each `down.sql` works).
pub async fn revert_all(url: &str) -> Result<Vec<String>, String> {
    on_own_thread(url, |c| {
        c.revert_all_migrations(MIGRATIONS)
            .map(|v| versions(&v))
            .map_err(|e| e.to_string())
    })
    .await
}

fn versions(v: &[MigrationVersion<'_>]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

async fn on_own_thread<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut SyncConn) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    use diesel::Connection;
    let url = url.to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("migrations".into())
        .spawn(move || {
            let result = SyncConn::establish(&url)
                .map_err(|e| e.to_string())
                .and_then(|mut c| f(&mut c));
            let _ = tx.send(result);
        })
        .map_err(|e| e.to_string())?;
    rx.await
        .map_err(|_| "migration thread ended without an answer".to_string())?
}

/// Checks that every table and column `schema.rs` names exists, by running each table's
/// full-column select with `LIMIT 0`: the code and the database cannot silently disagree.
pub async fn verify_schema(pool: &DbPool) -> Result<(), DbError> {
    let queries = [
        diesel::debug_query::<Pg, _>(
            &task_schedules::table
                .select(task_schedules::all_columns)
                .limit(0),
        )
        .to_string(),
        diesel::debug_query::<Pg, _>(
            &task_executions::table
                .select(task_executions::all_columns)
                .limit(0),
        )
        .to_string(),
        diesel::debug_query::<Pg, _>(
            &error_records::table
                .select(error_records::all_columns)
                .limit(0),
        )
        .to_string(),
        diesel::debug_query::<Pg, _>(
            &websocket_sessions::table
                .select(websocket_sessions::all_columns)
                .limit(0),
        )
        .to_string(),
        diesel::debug_query::<Pg, _>(
            &event_outbox::table
                .select(event_outbox::all_columns)
                .limit(0),
        )
        .to_string(),
        diesel::debug_query::<Pg, _>(
            &system_state::table
                .select(system_state::all_columns)
                .limit(0),
        )
        .to_string(),
        diesel::debug_query::<Pg, _>(&api_tokens::table.select(api_tokens::all_columns).limit(0))
            .to_string(),
        diesel::debug_query::<Pg, _>(&secrets::table.select(secrets::all_columns).limit(0))
            .to_string(),
        diesel::debug_query::<Pg, _>(&audit_log::table.select(audit_log::all_columns).limit(0))
            .to_string(),
    ];
    let mut c = conn(pool).await?;
    for q in queries {
        // debug_query renders binds as a trailing comment: "... LIMIT $1 -- binds: [0]".
        let sql = q.split(" -- binds").next().unwrap_or(&q).replace("$1", "0");
        diesel::sql_query(sql).execute(&mut c).await?;
    }
    Ok(())
}
