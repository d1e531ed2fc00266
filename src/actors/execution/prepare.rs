//! A task as it runs: what it is told about its run, its placeholders filled and its secrets
//! opened, all when it starts.

use crate::db::executions::ExecutionRow;
use crate::domain::task::TaskSpec;
use crate::executors::context::ExecContext;
use crate::executors::{ErrorType, Outcome};

/// What a task is told about its run.
pub(super) fn context_of(row: &ExecutionRow) -> ExecContext {
    ExecContext {
        execution_id: row.id,
        schedule_id: row.schedule_id,
        schedule_name: row.schedule_name.clone(),
        scheduled_for: row.scheduled_for,
        attempt: row.attempt,
        trigger: row.trigger,
        payload: row.payload.clone(),
        idempotency_key: row.slot_key(),
    }
}

/// The task as it runs: the run's values put into its placeholders, then its secret
/// references opened; with the opened values (to mask them in everything stored). A
/// placeholder without a value, or a missing or unreadable secret, is a `spawn` failure
/// naming it.
pub(super) async fn prepared(
    task: &TaskSpec,
    row: &ExecutionRow,
    pool: &crate::db::DbPool,
    keyring: &crate::db::secrets::Keyring,
) -> Result<(TaskSpec, Vec<String>), Outcome> {
    let rendered;
    let task = if task.has_placeholders() {
        let (at, id) = (
            crate::domain::slot::time_text(row.scheduled_for),
            row.id.to_string(),
        );
        let vars = crate::domain::template::Vars {
            payload: row.payload.as_ref(),
            scheduled_for: &at,
            execution_id: &id,
        };
        rendered = task
            .rendered(&vars)
            .map_err(|e| Outcome::failed(ErrorType::Spawn, e))?;
        &rendered
    } else {
        task
    };
    let refs = task.secret_refs();
    if refs.is_empty() {
        return Ok((task.clone(), vec![]));
    }
    let names: Vec<String> = refs.iter().map(|(_, n)| n.clone()).collect();
    let values = crate::db::secrets::open_all(pool, keyring, &names)
        .await
        .map_err(|e| Outcome::failed(ErrorType::Spawn, e))?;
    let masked = values.iter().map(|(_, v)| v.clone()).collect();
    Ok((task.resolved(&values), masked))
}
