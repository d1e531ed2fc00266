//! The chain lists of schedules: checked when written (every schedule named exists, none is
//! the schedule itself, no loop) and cleaned when a schedule they name is deleted.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{ScheduleRow, WriteError};
use crate::db::schema::task_schedules::dsl as s;
use crate::domain::chain::{cycle_through, Chain};

/// Held by every write that sets a chain until it commits, so two writes cannot close a loop
/// between them (each sees the other's lists).
const LOCK_KEY: i64 = 0x0074_6663_6861_696e;

fn invalid(field: String, message: String) -> WriteError {
    WriteError::Invalid { field, message }
}

/// Refuses `chain` for schedule `id` when it names a schedule that does not exist, the
/// schedule itself, or closes a loop; the field named is the list entry at fault.
pub(super) async fn check(
    c: &mut AsyncPgConnection,
    id: Uuid,
    chain: &Chain,
) -> Result<(), WriteError> {
    if chain.is_empty() {
        return Ok(());
    }
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
        .execute(c)
        .await?;
    let targets = chain.targets();
    let found: Vec<Uuid> = s::task_schedules
        .filter(s::id.eq_any(&targets))
        .select(s::id)
        .load(c)
        .await?;
    let lists = [
        ("onSuccess", &chain.on_success),
        ("onFailure", &chain.on_failure),
    ];
    for (field, list) in lists {
        for (i, t) in list.iter().enumerate() {
            if *t == id {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    "a schedule cannot start itself".into(),
                ));
            }
            if !found.contains(t) {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    format!("no schedule with id {t}"),
                ));
            }
        }
    }
    let none: Vec<Uuid> = vec![];
    let rows: Vec<(Uuid, Vec<Uuid>, Vec<Uuid>)> = s::task_schedules
        .filter(s::on_success.ne(&none).or(s::on_failure.ne(&none)))
        .filter(s::id.ne(id))
        .select((s::id, s::on_success, s::on_failure))
        .load(c)
        .await?;
    let mut edges: HashMap<Uuid, Vec<Uuid>> = rows
        .into_iter()
        .map(|(from, a, b)| (from, a.into_iter().chain(b).collect()))
        .collect();
    edges.insert(id, targets);
    let Some(path) = cycle_through(&edges, id) else {
        return Ok(());
    };
    // The entry of this schedule's lists where the loop leaves it.
    let first = path.get(1).copied().unwrap_or(id);
    let field = lists
        .iter()
        .find_map(|(f, l)| {
            l.iter()
                .position(|t| *t == first)
                .map(|i| format!("{f}[{i}]"))
        })
        .unwrap_or_else(|| "onSuccess".into());
    let shown: Vec<String> = path.iter().map(Uuid::to_string).collect();
    Err(invalid(
        field,
        format!("would make a loop: {}", shown.join(" → ")),
    ))
}

/// Removes `id` from every schedule's lists (it was deleted); answers the schedules whose
/// lists changed, as they are now.
pub(super) async fn forget(
    c: &mut AsyncPgConnection,
    id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<ScheduleRow>, diesel::result::Error> {
    let named: Vec<Uuid> = s::task_schedules
        .filter(
            s::on_success
                .contains(vec![id])
                .or(s::on_failure.contains(vec![id])),
        )
        .select(s::id)
        .for_update()
        .load(c)
        .await?;
    if named.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "UPDATE task_schedules SET on_success = array_remove(on_success, $1), \
             on_failure = array_remove(on_failure, $1), updated_at = $3 \
         WHERE id = ANY($2)",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&named)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(c)
    .await?;
    s::task_schedules
        .filter(s::id.eq_any(&named))
        .select(ScheduleRow::as_select())
        .load(c)
        .await
}
