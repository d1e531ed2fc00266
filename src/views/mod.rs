//! One view per resource. The JSON the REST API answers, the `data` of every WebSocket event and
//! the OpenAPI schema all come from these structs, so the three can never drift apart. Views
//! sit between the rows (`db`) and their users (`actors` publish events, `api` answers).

mod access;
mod apply;
mod errors;
mod insight;
mod ops;
mod output;

pub use access::{AuditView, SecretView, TokenView, WhoamiView};
pub use apply::{ApplySummary, ApplyView};
pub use errors::{BulkView, ErrorGroupView, ErrorRecordDetailView, ErrorRecordView, HistoryView};
pub use insight::{
    run_details, BackfillView, RunDetail, ScheduleStatsView, SkippedCounts, UpcomingItem,
    UpcomingView,
};
pub use ops::{HealthView, MinuteStat, Stats};
pub use output::{OutputFrame, OutputView};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::executions::ExecutionRow;
use crate::db::pagination::Page;
use crate::db::schedule_health::Health;
use crate::db::schedules::ScheduleRow;
use crate::domain::retry::RetryPolicy;
use crate::domain::states::{
    ConcurrencyPolicy, ErrorType, ExecutionStatus, MisfirePolicy, ScheduleType, Severity,
    SkipReason, TaskType, Trigger,
};

/// A page of a list: newest first, `nextCursor` to pass for the next page (null at the end).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> PageView<T> {
    /// The view of a page of rows.
    pub fn of<'a, R>(page: &'a Page<R>, view: impl Fn(&'a R) -> T) -> PageView<T> {
        PageView {
            items: page.items.iter().map(view).collect(),
            next_cursor: page.next_cursor.map(|c| c.encode()),
        }
    }

    /// A complete list (one page, no cursor).
    pub fn all(items: Vec<T>) -> PageView<T> {
        PageView {
            items,
            next_cursor: None,
        }
    }
}

/// A schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub task_type: TaskType,
    /// By task type: shell `{command, workingDir, env, timeoutMs}`, http `{method, url,
    /// headers, body, expectedStatus, followRedirects, timeoutMs}`, conductor `{message,
    /// threadId, timeoutMs}`. Secret references stay references.
    #[schema(value_type = Object)]
    pub task_config: Value,
    pub schedule_type: ScheduleType,
    /// cron `{expression, timezone}`, interval `{intervalSeconds, startAt}`, once `{runAt}`.
    /// Cron takes 5 fields (6 with leading seconds) or a macro; besides crontab's lists, ranges,
    /// steps and names, day-of-month takes `L`, `L-n`, `nW`, `LW` and day-of-week `d#n`, `dL`.
    #[schema(value_type = Object)]
    pub schedule_config: Value,
    pub enabled: bool,
    pub retry_policy: RetryPolicy,
    pub severity: Option<Severity>,
    pub concurrency_policy: ConcurrencyPolicy,
    pub misfire_policy: MisfirePolicy,
    pub tags: Vec<String>,
    /// Null when nothing is left to run.
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_execution_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While paused: since when, why (if given) and until when it resumes by itself (if set).
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_reason: Option<String>,
    pub paused_until: Option<DateTime<Utc>>,
    /// `run_all`: at most this many missed slots run (null: 100) ...
    pub catchup_max: Option<u32>,
    /// ... and only those newer than this (null: 86400).
    pub catchup_window_seconds: Option<u32>,
    /// Each fire is delayed by a deterministic offset in [0, jitterSeconds) of (name, slot).
    pub jitter_seconds: Option<u32>,
    /// No fire before `activeFrom` nor at or after `activeUntil`.
    pub active_from: Option<DateTime<Utc>>,
    pub active_until: Option<DateTime<Utc>>,
    /// After this many runs from fires, `nextRunAt` is null.
    pub max_runs: Option<u32>,
    /// Runs from fires (`schedule`, `catch_up`) so far.
    pub run_count: i64,
    /// A fire that cannot start within this many seconds of its time is skipped.
    pub start_deadline_seconds: Option<u32>,
    /// Under `allow`: at most this many runs at once; excess fires wait.
    pub max_concurrent: Option<u32>,
    /// Pauses itself after this many consecutive failed run chains (null: the server's default).
    pub auto_pause_after_failures: Option<u32>,
    /// Schedules run once after a run of this one completes ...
    pub on_success: Vec<Uuid>,
    /// ... or ends failed with no retry left.
    pub on_failure: Vec<Uuid>,
    /// `{"enabled": true}`: a signed `POST /api/hooks/{key}` runs the schedule.
    pub webhook: WebhookView,
    /// Shown to admins only (null otherwise): the path to POST to ...
    pub webhook_url: Option<String>,
    /// ... and the secret its body is signed with (`X-Taskforge-Signature: sha256=<hex>`).
    pub webhook_secret: Option<String>,
    /// The `managedBy` of the `taskforge apply` file that wrote it (null: not managed).
    pub managed_by: Option<String>,
    /// Status of the newest finished run (completed, failed or cancelled).
    #[schema(value_type = Option<ExecutionStatus>)]
    pub last_status: Option<ExecutionStatus>,
    /// Failed runs since the last completed one.
    #[schema(value_type = i64)]
    pub consecutive_failures: Option<i64>,
}

/// Whether a schedule has a webhook.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct WebhookView {
    pub enabled: bool,
}

impl ScheduleView {
    /// The view with its webhook's URL and secret, for an admin. A secret that cannot be
    /// opened (the server's key changed) is left out, with a warning.
    pub fn revealed(mut self, row: &ScheduleRow, keyring: &crate::db::secrets::Keyring) -> Self {
        self.webhook_url = row.webhook_key.as_ref().map(|k| format!("/api/hooks/{k}"));
        self.webhook_secret = crate::db::schedules::secret_of(keyring, row).unwrap_or_else(|e| {
            log::warn!("webhook secret unreadable: schedule={} {e}", row.id);
            None
        });
        self
    }

    /// The view with how the schedule's runs went.
    pub fn with_health(mut self, h: Option<&Health>) -> ScheduleView {
        let h = h.cloned().unwrap_or_default();
        self.last_status = h.last_status;
        self.consecutive_failures = Some(h.consecutive_failures);
        self
    }
}

impl From<&ScheduleRow> for ScheduleView {
    fn from(r: &ScheduleRow) -> Self {
        let rules = r.rules();
        ScheduleView {
            id: r.id,
            name: r.name.clone(),
            description: r.description.clone(),
            task_type: r.task_type,
            task_config: r.task_config.clone(),
            schedule_type: r.schedule_type,
            schedule_config: r.schedule_config.clone(),
            enabled: r.enabled,
            retry_policy: r.retry(),
            severity: r.severity,
            concurrency_policy: r.concurrency_policy,
            misfire_policy: r.misfire_policy,
            tags: r.tags.clone(),
            next_run_at: r.next_run_at,
            last_run_at: r.last_run_at,
            last_execution_id: r.last_execution_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            paused_at: r.paused_at,
            paused_reason: r.paused_reason.clone(),
            paused_until: r.paused_until,
            catchup_max: rules.catchup_max,
            catchup_window_seconds: rules.catchup_window_seconds,
            jitter_seconds: rules.jitter_seconds,
            active_from: rules.active_from,
            active_until: rules.active_until,
            max_runs: rules.max_runs,
            run_count: r.run_count,
            start_deadline_seconds: rules.start_deadline_seconds,
            max_concurrent: rules.max_concurrent,
            auto_pause_after_failures: rules.auto_pause_after_failures,
            on_success: r.on_success.clone(),
            on_failure: r.on_failure.clone(),
            webhook: WebhookView {
                enabled: r.webhook_key.is_some(),
            },
            webhook_url: None,
            webhook_secret: None,
            managed_by: r.managed_by.clone(),
            last_status: None,
            consecutive_failures: None,
        }
    }
}

/// An execution: one run of a schedule's task.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionView<'a> {
    pub id: Uuid,
    pub schedule_id: Uuid,
    /// The schedule's name when the run was created.
    pub schedule_name: &'a str,
    pub status: ExecutionStatus,
    pub trigger: Trigger,
    /// 1 for the first run, +1 per retry.
    pub attempt: i32,
    pub scheduled_for: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// shell `{exitCode, stdout, stderr, truncated}`, http `{status, headers, body,
    /// truncated}`, conductor: its result.
    #[schema(value_type = Option<Object>)]
    pub result: &'a Option<Value>,
    pub error: Option<&'a str>,
    pub error_type: Option<ErrorType>,
    pub task_type: TaskType,
    pub conductor_thread_id: Option<&'a str>,
    pub conductor_status: Option<&'a str>,
    pub error_record_id: Option<Uuid>,
    /// Why a `skipped` slot did not run; null for every other status.
    pub skip_reason: Option<SkipReason>,
    /// The JSON the run was given (`trigger`'s `payload`, a webhook's body); null for a fire.
    #[schema(value_type = Option<Object>)]
    pub payload: &'a Option<Value>,
    /// For `trigger: chained`, the run whose end started this one.
    pub chained_from: Option<Uuid>,
}

impl<'a> From<&'a ExecutionRow> for ExecutionView<'a> {
    fn from(r: &'a ExecutionRow) -> Self {
        ExecutionView {
            id: r.id,
            schedule_id: r.schedule_id,
            schedule_name: &r.schedule_name,
            status: r.status,
            trigger: r.trigger,
            attempt: r.attempt,
            scheduled_for: r.scheduled_for,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            duration_ms: r.duration_ms,
            result: &r.result,
            error: r.error.as_deref(),
            error_type: r.error_type,
            task_type: r.task_type,
            conductor_thread_id: r.conductor_thread_id.as_deref(),
            conductor_status: r.conductor_status.as_deref(),
            skip_reason: r.skip_reason,
            error_record_id: r.error_record_id,
            payload: &r.payload,
            chained_from: r.chained_from,
        }
    }
}

/// The execution a trigger or a retry started.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionIdView {
    pub execution_id: Option<Uuid>,
}

/// Fire times (`next-runs`, `preview`), with local times and DST marks when asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunsView {
    pub runs: Vec<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<RunDetail>>,
}

/// What a chained run is given: `{"from": <the execution whose end started it>}`, as the API
/// shows that execution.
pub fn chain_payload(from: &ExecutionRow) -> Value {
    serde_json::json!({ "from": ExecutionView::from(from) })
}
