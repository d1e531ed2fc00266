//! `error_groups`: one row per fingerprint with its counts and its notification state. A new
//! record counts itself into its group in the transaction that inserts it; the decisions about
//! notifying ("first of the incident", "held back", "the group ended") are taken under the
//! group's row lock, so several instances notify each incident once in total.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::error_records::ErrorRecordRow;
use super::pagination::{page, Cursor, Page};
use super::schema::error_groups::{self, dsl as g};
use super::{conn, DbError, DbPool};
use crate::domain::incident::{on_escalation, Incident, Notice};
use crate::domain::states::{ErrorType, RecoveryStatus};

/// A stored group.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = error_groups)]
pub struct ErrorGroupRow {
    pub fingerprint: String,
    pub schedule_id: Uuid,
    pub error_type: ErrorType,
    pub sample_message: String,
    pub count: i64,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub last_error_id: Uuid,
    pub incident_open: bool,
    pub notified_at: Option<DateTime<Utc>>,
    pub suppressed: i64,
}

/// Counts a new record into its group (created with it).
pub async fn count_in(
    c: &mut AsyncPgConnection,
    rec: &ErrorRecordRow,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(g::error_groups)
        .values((
            g::fingerprint.eq(&rec.fingerprint),
            g::schedule_id.eq(rec.schedule_id),
            g::error_type.eq(rec.error_type),
            g::sample_message.eq(&rec.message),
            g::count.eq(1),
            g::first_seen_at.eq(rec.created_at),
            g::last_seen_at.eq(rec.created_at),
            g::last_error_id.eq(rec.id),
        ))
        .on_conflict(g::fingerprint)
        .do_update()
        .set((
            g::count.eq(g::count + 1),
            g::sample_message.eq(&rec.message),
            g::last_seen_at.eq(diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
                "GREATEST(error_groups.last_seen_at, excluded.last_seen_at)",
            )),
            g::last_error_id.eq(rec.id),
        ))
        .execute(c)
        .await?;
    Ok(())
}

/// A group as listed: the row and how many of its records are still open.
#[derive(Debug, Clone)]
pub struct GroupListed {
    pub row: ErrorGroupRow,
    /// Records not resolved or ignored.
    pub open_count: i64,
    /// The schedule's name as its newest record stored it (the schedule may be gone since);
    /// None once retention has deleted that record.
    pub schedule_name: Option<String>,
    /// Records created in each of the last [`HOURS`] hours before the list was read, oldest
    /// first.
    pub hourly: Vec<i64>,
}

/// Hours of occurrences a listed group carries.
pub const HOURS: u8 = 24;

/// A page of groups, most recently seen first; `open_only` keeps groups with open records.
pub async fn list(
    pool: &DbPool,
    open_only: bool,
    schedule_id: Option<Uuid>,
    limit: i64,
    cursor: Option<Cursor>,
) -> Result<Page<GroupListed>, DbError> {
    let mut c = conn(pool).await?;
    let open = open_filter();
    // The schedule's name rides along from the group's newest record (a primary-key lookup;
    // NULL once retention deleted it).
    let mut q = g::error_groups
        .select((
            ErrorGroupRow::as_select(),
            diesel::dsl::sql::<diesel::sql_types::Nullable<Text>>(
                "(SELECT r.schedule_name FROM error_records r WHERE r.id = error_groups.last_error_id)",
            ),
        ))
        .into_boxed();
    if let Some(id) = schedule_id {
        q = q.filter(g::schedule_id.eq(id));
    }
    if open_only {
        q = q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM error_records r WHERE r.fingerprint = error_groups.fingerprint AND {open})"
        )));
    }
    if let Some(cur) = cursor {
        let fp = cur.id.simple().to_string();
        q = q.filter(
            g::last_seen_at.lt(cur.created_at).or(g::last_seen_at
                .eq(cur.created_at)
                .and(g::fingerprint.lt(fp))),
        );
    }
    let rows: Vec<(ErrorGroupRow, Option<String>)> = q
        .order((g::last_seen_at.desc(), g::fingerprint.desc()))
        .limit(limit + 1)
        .load(&mut c)
        .await?;
    let fps: Vec<&str> = rows.iter().map(|(r, _)| r.fingerprint.as_str()).collect();
    #[derive(QueryableByName)]
    struct Open {
        #[diesel(sql_type = Text)]
        fingerprint: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let counts: Vec<Open> = diesel::sql_query(format!(
        "SELECT fingerprint, count(*) AS n FROM error_records r \
         WHERE fingerprint = ANY($1) AND {open} GROUP BY fingerprint"
    ))
    .bind::<diesel::sql_types::Array<Text>, _>(&fps)
    .load(&mut c)
    .await?;
    let mut hours = hourly(&mut c, &fps, crate::domain::clock::now()).await?;
    let listed = rows
        .into_iter()
        .map(|(row, schedule_name)| GroupListed {
            open_count: counts
                .iter()
                .find(|o| o.fingerprint == row.fingerprint)
                .map_or(0, |o| o.n),
            hourly: hours
                .remove(&row.fingerprint)
                .unwrap_or_else(|| vec![0; usize::from(HOURS)]),
            schedule_name,
            row,
        })
        .collect();
    Ok(page(listed, limit, |l: &GroupListed| Cursor {
        created_at: l.row.last_seen_at,
        id: Uuid::parse_str(&l.row.fingerprint).unwrap_or_default(),
    }))
}

/// Per fingerprint with records in the last [`HOURS`] hours before `now`: its records in each
/// of those hours, oldest first, over the (fingerprint, created_at) index.
async fn hourly(
    c: &mut AsyncPgConnection,
    fps: &[&str],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<i64>>, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Hour {
        #[diesel(sql_type = Text)]
        fingerprint: String,
        #[diesel(sql_type = BigInt)]
        ago: i64,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Hour> = diesel::sql_query(
        "SELECT fingerprint, floor(extract(epoch FROM ($2 - created_at)) / 3600)::bigint AS ago, \
                count(*) AS n \
         FROM error_records WHERE fingerprint = ANY($1) \
           AND created_at > $2 - make_interval(hours => $3) AND created_at <= $2 \
         GROUP BY 1, 2",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(fps)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<diesel::sql_types::Integer, _>(i32::from(HOURS))
    .load(c)
    .await?;
    let mut by_group: HashMap<String, Vec<i64>> = HashMap::new();
    for h in rows {
        // `ago` is 0..HOURS by the WHERE clause; anything else is dropped, never indexed.
        let Some(ago) = usize::try_from(h.ago)
            .ok()
            .filter(|a| *a < usize::from(HOURS))
        else {
            continue;
        };
        let buckets = by_group
            .entry(h.fingerprint)
            .or_insert_with(|| vec![0; usize::from(HOURS)]);
        buckets[usize::from(HOURS) - 1 - ago] = h.n;
    }
    Ok(by_group)
}

/// `r.recovery_status` is neither resolved nor ignored.
fn open_filter() -> String {
    format!(
        "r.recovery_status NOT IN ('{}', '{}')",
        RecoveryStatus::Resolved,
        RecoveryStatus::Ignored
    )
}

/// Decides whether an escalation of `fingerprint` is notified (see `domain::incident`).
pub async fn escalated(
    pool: &DbPool,
    fingerprint: &str,
    now: DateTime<Utc>,
    repeat_after: Duration,
) -> Result<Notice, DbError> {
    let mut c = conn(pool).await?;
    let fp = fingerprint.to_string();
    c.transaction::<_, DbError, _>(async |c| {
        let Some((open, notified_at, suppressed)) = g::error_groups
            .find(&fp)
            .for_update()
            .select((g::incident_open, g::notified_at, g::suppressed))
            .first::<(bool, Option<DateTime<Utc>>, i64)>(c)
            .await
            .optional()?
        else {
            // No group (a record from before groups were counted): notify as before.
            return Ok(Notice::Send { suppressed: 0 });
        };
        let state = Incident {
            open,
            notified_at,
            suppressed,
        };
        let (notice, next) = on_escalation(state, now, repeat_after);
        diesel::update(g::error_groups.find(&fp))
            .set((
                g::incident_open.eq(next.open),
                g::notified_at.eq(next.notified_at),
                g::suppressed.eq(next.suppressed),
            ))
            .execute(c)
            .await?;
        Ok(notice)
    })
    .await
}

/// Ends the incident of `fingerprint` when it was notified and none of its records is open any
/// more; answers the group then (once, on one instance), for `error_group_resolved`.
pub async fn end_if_resolved(
    pool: &DbPool,
    fingerprint: &str,
) -> Result<Option<ErrorGroupRow>, DbError> {
    let mut c = conn(pool).await?;
    let open = open_filter();
    Ok(diesel::update(
        g::error_groups
            .find(fingerprint)
            .filter(g::incident_open.eq(true))
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "NOT EXISTS (SELECT 1 FROM error_records r WHERE r.fingerprint = error_groups.fingerprint AND {open})"
            ))),
    )
    .set((
        g::incident_open.eq(false),
        g::notified_at.eq(None::<DateTime<Utc>>),
        g::suppressed.eq(0),
    ))
    .returning(ErrorGroupRow::as_returning())
    .get_result(&mut c)
    .await
    .optional()?)
}
