//! Messages the SchedulerActor answers.

use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::executions::ExecutionRow;
use crate::db::pagination::{Cursor, Page};
use crate::db::schedules::{ListFilter, ScheduleRow};
use crate::db::DbError;
use crate::domain::schedule_input::ScheduleInput;

/// Why a schedule request failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule {0} not found")]
    NotFound(Uuid),
    #[error("a schedule named `{0}` already exists")]
    DuplicateName(String),
    /// Valid JSON that refers to something that does not exist (a secret): a 400 on `field`.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Several problems, each naming its field (`<schedule>:<field>` in an apply).
    #[error("{}", .0.summary())]
    Fields(crate::domain::validate::FieldErrors),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Creates a schedule.
#[derive(Message)]
#[rtype(result = "Result<ScheduleRow, ScheduleError>")]
pub struct CreateSchedule(pub ScheduleInput);

/// Replaces a schedule's editable fields.
#[derive(Message)]
#[rtype(result = "Result<ScheduleRow, ScheduleError>")]
pub struct ReplaceSchedule {
    pub id: Uuid,
    pub input: ScheduleInput,
}

/// Checks an apply's entries against what they refer to (secrets) and plans it from what is
/// stored; changes nothing.
#[derive(Message)]
#[rtype(result = "Result<Vec<crate::domain::apply::Step>, ScheduleError>")]
pub struct PlanApply(pub std::sync::Arc<crate::domain::apply::ApplyRequest>);

/// Deletes a schedule (history stays).
#[derive(Message)]
#[rtype(result = "Result<(), ScheduleError>")]
pub struct DeleteSchedule(pub Uuid);

/// Pauses (with its reason and end) or resumes a schedule.
#[derive(Message)]
#[rtype(result = "Result<ScheduleRow, ScheduleError>")]
pub struct SetEnabled {
    pub id: Uuid,
    pub toggle: crate::db::schedules::Toggle,
}

/// Reads one schedule.
#[derive(Message)]
#[rtype(result = "Result<ScheduleRow, ScheduleError>")]
pub struct GetSchedule(pub Uuid);

/// Reads a page of schedules.
#[derive(Message)]
#[rtype(result = "Result<Page<ScheduleRow>, DbError>")]
pub struct ListSchedules {
    pub filter: ListFilter,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

/// Runs a schedule now (`trigger: manual`), given `payload`; answers the pending execution.
#[derive(Message)]
#[rtype(result = "Result<ExecutionRow, ScheduleError>")]
pub struct TriggerNow {
    pub id: Uuid,
    pub payload: Option<serde_json::Value>,
}

/// The next `count` fires of a stored schedule strictly after `from`, with their details.
#[derive(Message)]
#[rtype(result = "Result<crate::views::RunsView, ScheduleError>")]
pub struct NextRuns {
    pub id: Uuid,
    pub from: DateTime<Utc>,
    pub count: usize,
}

/// How the runs of these schedules went (latest status, failures in a row).
#[derive(Message)]
#[rtype(
    result = "Result<std::collections::HashMap<Uuid, crate::db::schedule_health::Health>, DbError>"
)]
pub struct HealthOf(pub Vec<Uuid>);

/// A schedule's figures over [since, until).
#[derive(Message)]
#[rtype(result = "Result<crate::views::ScheduleStatsView, ScheduleError>")]
pub struct ScheduleStats {
    pub id: Uuid,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Runs of enabled schedules in [from, until), in time order, at most `limit`.
#[derive(Message)]
#[rtype(result = "Result<crate::views::UpcomingView, DbError>")]
pub struct UpcomingRuns {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub limit: usize,
}

/// Runs the past slots of a schedule in [from, to) that did not run, one at a time.
#[derive(Message)]
#[rtype(result = "Result<crate::views::BackfillView, ScheduleError>")]
pub struct Backfill {
    pub id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub dry_run: bool,
    pub max_runs: usize,
    pub newest_first: bool,
}

/// Test hook (feature `testing`): fire counters since start.
#[cfg(feature = "testing")]
#[derive(Message)]
#[rtype(result = "FireStats")]
pub struct GetFireStats;

/// Counters of the firing loop.
#[derive(Debug, Clone, Copy, Default)]
pub struct FireStats {
    pub fired: u64,
    pub skipped_running: u64,
    pub skipped_misfire: u64,
}

impl std::ops::AddAssign for FireStats {
    fn add_assign(&mut self, o: FireStats) {
        self.fired += o.fired;
        self.skipped_running += o.skipped_running;
        self.skipped_misfire += o.skipped_misfire;
    }
}

/// A run completed and its schedule had an `onSuccess` chain when the run was created: start it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChainCompleted(pub ExecutionRow);

/// Gives a schedule's webhook a new key and secret; answers the row (NotFound when the
/// schedule does not exist, Invalid `webhook` when it has no webhook).
#[derive(Message)]
#[rtype(result = "Result<ScheduleRow, ScheduleError>")]
pub struct RotateWebhook(pub Uuid);

/// A verified webhook delivery: runs `schedule` given `payload`, once per `idempotency_key`
/// within 24 hours; answers the run and whether it is new.
#[derive(Message)]
#[rtype(result = "Result<crate::db::webhooks::Delivered, ScheduleError>")]
pub struct DeliverWebhook {
    pub schedule: ScheduleRow,
    pub idempotency_key: Option<String>,
    pub payload: Option<serde_json::Value>,
}
