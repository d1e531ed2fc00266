//! `task_schedules`: the stored row and its writes; reads are in [`read`].

mod chains;
mod delete;
mod diff;
mod pause;
mod plan;
mod read;
mod webhook;
mod write_error;

pub use delete::{delete, Deleted};
pub use diff::changes;
pub use pause::{pause_if_failing, resume_due, set_enabled, Toggle};
pub use plan::plan;
pub use read::{due_first, earliest_due, get, list, ListFilter, Upcoming};
pub use webhook::{secret_of, WebhookCreds};
use write_error::map_unique;
pub use write_error::{check_secrets, WriteError};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::{json, Value};
use uuid::Uuid;

use super::schema::task_schedules::{self, dsl as s};
use super::secrets::Keyring;
use super::{conn, DbError, DbPool};
use crate::domain::retry::RetryPolicy;
use crate::domain::rules::{FireRules, Timing};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::schedule_input::ScheduleInput;
use crate::domain::states::{ConcurrencyPolicy, MisfirePolicy, ScheduleType, Severity, TaskType};
use crate::domain::task::TaskSpec;
use crate::domain::validate::FieldErrors;

/// A stored schedule.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = task_schedules)]
pub struct ScheduleRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub task_type: TaskType,
    pub task_config: Value,
    pub schedule_type: ScheduleType,
    pub schedule_config: Value,
    pub enabled: bool,
    pub retry_policy: Value,
    pub severity: Option<Severity>,
    pub concurrency_policy: ConcurrencyPolicy,
    pub misfire_policy: MisfirePolicy,
    pub tags: Vec<String>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_execution_id: Option<Uuid>,
    pub anchor_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_reason: Option<String>,
    pub paused_until: Option<DateTime<Utc>>,
    pub fire_rules: Value,
    pub run_count: i64,
    pub on_success: Vec<Uuid>,
    pub on_failure: Vec<Uuid>,
    /// The webhook's key (`/api/hooks/<key>`) and its secret, sealed; None without one.
    pub webhook_key: Option<String>,
    pub webhook_secret_nonce: Option<Vec<u8>>,
    pub webhook_secret_sealed: Option<Vec<u8>>,
    /// The `managedBy` of the `taskforge apply` file that wrote it last.
    pub managed_by: Option<String>,
}

impl ScheduleRow {
    /// The schedule's fire rule, as stored.
    pub fn spec(&self) -> Result<ScheduleSpec, String> {
        let mut e = FieldErrors::default();
        ScheduleSpec::from_json(
            self.schedule_type,
            &self.schedule_config,
            self.anchor_at,
            &mut e,
        )
        .ok_or_else(|| format!("stored scheduleConfig is invalid: {}", e.summary()))
    }

    /// Up to `count` fires after `from`, as the scheduler will fire them.
    pub fn next_runs(
        &self,
        from: DateTime<Utc>,
        count: usize,
    ) -> Result<(Vec<DateTime<Utc>>, ScheduleSpec), String> {
        let spec = self.spec()?;
        let rules = self.rules();
        let runs = Timing {
            spec: &spec,
            name: &self.name,
            rules: &rules,
        }
        .next_runs(from, count, self.run_count);
        Ok((runs, spec))
    }

    /// Jitter, window, run limit, start deadline, catch-up limits, as stored.
    pub fn rules(&self) -> FireRules {
        FireRules::from_stored(&self.fire_rules)
    }

    /// The task, as stored.
    pub fn task(&self) -> Result<TaskSpec, String> {
        TaskSpec::from_stored(self.task_type, &self.task_config)
    }

    /// `nextRunAt` once resumed at `now`: computed from now (paused time is not made up for);
    /// a one-time schedule that has not run yet still runs, one that ran never does.
    fn resumed_next(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let spec = self.spec().ok()?;
        let rules = self.rules();
        let timing = Timing {
            spec: &spec,
            name: &self.name,
            rules: &rules,
        };
        match spec {
            ScheduleSpec::Once { .. } if self.last_run_at.is_some() => None,
            _ => timing.first_run(now, self.run_count),
        }
    }

    /// The retry policy, as stored (defaults when unreadable).
    pub fn retry(&self) -> RetryPolicy {
        serde_json::from_value(self.retry_policy.clone()).unwrap_or_default()
    }
}

/// The editable fields of a schedule as written by create and replace.
#[derive(Insertable, AsChangeset)]
// None is NULL, never DEFAULT: a statement with DEFAULT in it is one diesel will not keep
// prepared, so every create would be parsed and planned again.
#[diesel(
    table_name = task_schedules,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
struct Editable<'a> {
    name: &'a str,
    description: Option<&'a str>,
    task_type: TaskType,
    task_config: Value,
    schedule_type: ScheduleType,
    schedule_config: Value,
    enabled: bool,
    retry_policy: Value,
    severity: Option<Severity>,
    concurrency_policy: ConcurrencyPolicy,
    misfire_policy: MisfirePolicy,
    tags: &'a [String],
    next_run_at: Option<DateTime<Utc>>,
    anchor_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    paused_at: Option<DateTime<Utc>>,
    paused_reason: Option<&'a str>,
    paused_until: Option<DateTime<Utc>>,
    fire_rules: Value,
    on_success: &'a [Uuid],
    on_failure: &'a [Uuid],
    webhook_key: Option<&'a str>,
    webhook_secret_nonce: Option<&'a [u8]>,
    webhook_secret_sealed: Option<&'a [u8]>,
    managed_by: Option<&'a str>,
}

impl<'a> Editable<'a> {
    fn of(
        input: &'a ScheduleInput,
        webhook: Option<&'a WebhookCreds>,
        next_run_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        Editable {
            name: &input.name,
            description: input.description.as_deref(),
            task_type: input.task.task_type(),
            task_config: input.task.to_json(),
            schedule_type: input.schedule_type,
            schedule_config: input.spec.to_json(),
            enabled: input.enabled,
            retry_policy: json!(input.retry_policy),
            severity: input.severity,
            concurrency_policy: input.concurrency_policy,
            misfire_policy: input.misfire_policy,
            tags: &input.tags,
            next_run_at,
            // Intervals without startAt count from the latest create/replace.
            anchor_at: now,
            updated_at: now,
            // Created (or edited into) paused: paused now, for no stated reason.
            paused_at: (!input.enabled).then_some(now),
            paused_reason: None,
            paused_until: None,
            fire_rules: input.rules.to_json(),
            on_success: &input.chain.on_success,
            on_failure: &input.chain.on_failure,
            webhook_key: webhook.map(|w| w.key.as_str()),
            webhook_secret_nonce: webhook.map(|w| w.nonce.as_slice()),
            webhook_secret_sealed: webhook.map(|w| w.sealed.as_slice()),
            managed_by: input.managed_by.as_deref(),
        }
    }
}

/// Inserts a new schedule.
pub async fn insert(
    pool: &DbPool,
    keyring: &Keyring,
    id: Uuid,
    input: &ScheduleInput,
    now: DateTime<Utc>,
) -> Result<ScheduleRow, WriteError> {
    let webhook = input
        .webhook
        .then(|| WebhookCreds::fresh(keyring, id))
        .transpose()
        .map_err(DbError::Unavailable)?;
    let mut c = conn(pool).await?;
    let insert = diesel::insert_into(s::task_schedules).values((
        s::id.eq(id),
        s::created_at.eq(now),
        Editable::of(input, webhook.as_ref(), input.first_run(now, now, 0), now),
    ));
    if input.chain.is_empty() {
        return insert
            .returning(ScheduleRow::as_returning())
            .get_result(&mut c)
            .await
            .map_err(map_unique(&input.name));
    }
    // A chain is checked and written under one lock, so no two writes close a loop.
    c.transaction::<_, WriteError, _>(async |c| {
        chains::check(c, id, &input.chain).await?;
        insert
            .returning(ScheduleRow::as_returning())
            .get_result(c)
            .await
            .map_err(map_unique(&input.name))
    })
    .await
}

/// What a replace did.
#[derive(Debug, Clone)]
pub struct Replaced {
    pub row: ScheduleRow,
    /// False when the body equalled what was stored: nothing was written.
    pub changed: bool,
}

/// Replaces the editable fields. A body equal to what is stored changes nothing (not even
/// `updatedAt`), so a schedule read from the API and sent back unchanged stays byte for byte
/// the same. `nextRunAt` (and the anchor of an interval without `startAt`) is recomputed only
/// when the fire rule changed; a one-time schedule that already ran stays done unless its
/// `runAt` moved.
pub async fn replace(
    pool: &DbPool,
    keyring: &Keyring,
    id: Uuid,
    input: &ScheduleInput,
    now: DateTime<Utc>,
) -> Result<Option<Replaced>, WriteError> {
    let mut c = conn(pool).await?;
    let name = input.name.clone();
    let result = c
        .transaction::<_, WriteError, _>(async |c| {
            let Some(old) = lock(c, id).await? else {
                return Ok(None);
            };
            chains::check(c, id, &input.chain).await?;
            let kept = old.webhook_key.as_ref().map(|key| WebhookCreds {
                key: key.clone(),
                nonce: old.webhook_secret_nonce.clone().unwrap_or_default(),
                sealed: old.webhook_secret_sealed.clone().unwrap_or_default(),
            });
            // A webhook already on keeps its key; one turned on by this write gets a new one.
            let webhook = match (input.webhook, kept) {
                (false, _) => None,
                (true, Some(kept)) => Some(kept),
                (true, None) => {
                    Some(WebhookCreds::fresh(keyring, id).map_err(DbError::Unavailable)?)
                }
            };
            let new = Editable::of(input, webhook.as_ref(), None, now);
            // The name moves the jitter and the rules cut the fires: any of them changes when.
            let same_rule = old.schedule_type == new.schedule_type
                && old.schedule_config == new.schedule_config
                && old.name == new.name
                && old.fire_rules == new.fire_rules;
            if changes(input, &old).is_empty() {
                return Ok(Some(Replaced {
                    row: old,
                    changed: false,
                }));
            }
            // A fire claimed ahead under the old definition must not run after the edit.
            super::leads::take_back(c, id, now).await?;
            let old = s::task_schedules
                .find(id)
                .select(ScheduleRow::as_select())
                .first(c)
                .await?;
            let (next, anchor) = match &input.spec {
                _ if same_rule => (old.next_run_at, old.anchor_at),
                ScheduleSpec::Once { .. } => {
                    let same = old.schedule_type == ScheduleType::Once
                        && old.schedule_config == input.spec.to_json();
                    if same && old.next_run_at.is_none() && old.last_run_at.is_some() {
                        (None, now)
                    } else {
                        (input.first_run(now, now, old.run_count), now)
                    }
                }
                _ => (input.first_run(now, now, old.run_count), now),
            };
            let mut edit = Editable::of(input, webhook.as_ref(), next, now);
            edit.anchor_at = anchor;
            if !input.enabled && !old.enabled {
                // Still paused: the pause keeps its start, reason and end.
                edit.paused_at = old.paused_at;
                edit.paused_reason = old.paused_reason.as_deref();
                edit.paused_until = old.paused_until;
            }
            let row = diesel::update(s::task_schedules.find(id))
                .set(edit)
                .returning(ScheduleRow::as_returning())
                .get_result(c)
                .await?;
            Ok(Some(Replaced { row, changed: true }))
        })
        .await;
    match result {
        Err(WriteError::Db(DbError::Query(e))) => Err(map_unique(&name)(e)),
        other => other,
    }
}

/// Locks one schedule row for the rest of the transaction; None when it does not exist.
async fn lock(
    c: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
) -> Result<Option<ScheduleRow>, diesel::result::Error> {
    s::task_schedules
        .find(id)
        .for_update()
        .select(ScheduleRow::as_select())
        .first(c)
        .await
        .optional()
}

/// Records a manual run as the schedule's latest run.
pub async fn record_run(
    pool: &DbPool,
    id: Uuid,
    execution_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(s::task_schedules.find(id))
        .set((
            s::last_run_at.eq(Some(at)),
            s::last_execution_id.eq(Some(execution_id)),
        ))
        .execute(&mut c)
        .await?;
    Ok(())
}
