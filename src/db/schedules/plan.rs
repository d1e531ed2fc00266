//! The plan of an apply, from what is stored now: which entries exist (by name) and what they
//! would change, and which schedules the file's owner manages.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{changes, ScheduleRow};
use crate::db::schema::task_schedules::dsl as s;
use crate::db::{conn, DbError, DbPool};
use crate::domain::apply::{self, ApplyRequest, Step, Stored};

/// See the module docs; one read of the schedules named in the file, and (only when pruning,
/// the one case that deletes by owner) of those its owner manages.
pub async fn plan(pool: &DbPool, req: &ApplyRequest) -> Result<Vec<Step>, DbError> {
    let names: Vec<&str> = req.inputs.iter().map(|i| i.name.as_str()).collect();
    let mut c = conn(pool).await?;
    // NULL never equals anything, so without an owner to prune by this adds no row.
    let owner = req.managed_by.as_deref().filter(|_| req.prune);
    let rows: Vec<ScheduleRow> = s::task_schedules
        .filter(s::name.eq_any(&names).or(s::managed_by.eq(owner)))
        .select(ScheduleRow::as_select())
        .load(&mut c)
        .await?;
    let by_name: HashMap<&str, &ScheduleRow> = rows.iter().map(|r| (r.name.as_str(), r)).collect();
    let matched = req
        .inputs
        .iter()
        .map(|input| {
            by_name
                .get(input.name.as_str())
                .map(|r| (r.id, changes(input, r)))
        })
        .collect();
    let stored: Vec<Stored> = rows
        .iter()
        .map(|r| Stored {
            id: r.id,
            name: r.name.clone(),
            managed_by: r.managed_by.clone(),
        })
        .collect();
    Ok(apply::plan(
        &names,
        matched,
        &stored,
        req.managed_by.as_deref(),
        req.prune,
    ))
}
