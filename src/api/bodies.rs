//! Request bodies and the error envelope, as the OpenAPI description shows them. The validators
//! read raw JSON (to name every bad field), so these types only describe what they accept; the
//! error envelope is what [`crate::api::error::ApiError`] writes.

use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::ToSchema;

/// `{"error": {...}}`: every error response.
#[derive(ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(ToSchema)]
pub struct ErrorDetail {
    /// Stable code: validation_failed, unauthorized, not_found, method_not_allowed, conflict,
    /// payload_too_large, service_unavailable, internal_error.
    pub code: String,
    /// Human-readable; for validation errors it starts with the field name.
    pub message: String,
    /// For validation errors: one entry per invalid field.
    pub details: Option<Vec<FieldProblem>>,
}

/// One invalid field.
#[derive(ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// Retry policy of a schedule.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RetryPolicyDoc {
    pub max_attempts: Option<i64>,
    pub backoff_base_ms: Option<i64>,
    pub backoff_max_ms: Option<i64>,
    /// When set, only failures matching it retry on their own.
    pub retry_on: Option<crate::domain::retry_rules::ErrorMatch>,
    /// Failures matching it never retry and escalate at once.
    pub abort_on: Option<crate::domain::retry_rules::ErrorMatch>,
    /// Wait at least a 429/503's `Retry-After` before retrying (default true).
    pub honor_retry_after: Option<bool>,
}

/// Create/replace body of a schedule. `taskConfig` and `scheduleConfig` depend on the types.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ScheduleInputDoc {
    pub name: String,
    pub description: Option<String>,
    /// shell | http | conductor
    pub task_type: String,
    pub task_config: Object,
    /// cron | interval | once
    pub schedule_type: String,
    pub schedule_config: Object,
    pub enabled: Option<bool>,
    pub retry_policy: Option<RetryPolicyDoc>,
    /// low | medium | high | critical
    pub severity: Option<String>,
    /// allow | forbid | queue | replace
    pub concurrency_policy: Option<String>,
    /// run_once | skip | run_all
    pub misfire_policy: Option<String>,
    pub tags: Option<Vec<String>>,
    /// run_all: most missed slots run (default 100)
    pub catchup_max: Option<i64>,
    /// run_all: only slots newer than this run (default 86400)
    pub catchup_window_seconds: Option<i64>,
    /// 0..=3600, less than an interval: a deterministic delay per (name, slot)
    pub jitter_seconds: Option<i64>,
    pub active_from: Option<DateTime<Utc>>,
    pub active_until: Option<DateTime<Utc>>,
    pub max_runs: Option<i64>,
    pub start_deadline_seconds: Option<i64>,
    /// allow: at most this many runs at once (1..=10000); excess fires wait
    pub max_concurrent: Option<i64>,
    /// 1..=10000: pause after this many consecutive failed run chains (unset: the server's
    /// `scheduler.auto_pause_after_failures`)
    pub auto_pause_after_failures: Option<i64>,
    /// Up to 50 schedule ids run once (trigger `chained`) after a run of this one completes;
    /// a list that would make a loop is a 400.
    pub on_success: Option<Vec<uuid::Uuid>>,
    /// The same, after a run fails with no retry left.
    pub on_failure: Option<Vec<uuid::Uuid>>,
    /// `{"enabled": true}` gives the schedule a webhook URL and secret (see `webhookUrl`).
    #[schema(value_type = Option<Object>)]
    pub webhook: Option<serde_json::Value>,
    /// Names the `taskforge apply` file that manages the schedule (1..=200 characters).
    pub managed_by: Option<String>,
}

/// Any JSON object.
#[derive(ToSchema)]
#[schema(as = Object)]
pub struct Object(pub std::collections::HashMap<String, Value>);

/// Body of `POST /api/scheduler/preview`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PreviewDoc {
    pub schedule_type: String,
    pub schedule_config: Object,
    pub count: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    /// The jitter is a function of (name, slot).
    pub name: Option<String>,
    pub jitter_seconds: Option<i64>,
    pub active_from: Option<DateTime<Utc>>,
    pub active_until: Option<DateTime<Utc>>,
    pub max_runs: Option<i64>,
    /// Also answer local times and DST marks.
    pub detail: Option<bool>,
}

/// Body of `POST …/backfill`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct BackfillDoc {
    /// Slots in [from, to) that did not run are run.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Only answer the plan.
    pub dry_run: Option<bool>,
    /// 1..=10000, default 1000: more slots to run is a 400.
    pub max_runs: Option<i64>,
    /// asc (default) | desc
    pub order: Option<String>,
}

/// Optional body of error actions.
#[derive(ToSchema)]
pub struct NoteDoc {
    pub note: Option<String>,
}

/// Body of `POST /api/errors/bulk`.
#[derive(ToSchema)]
pub struct BulkDoc {
    /// resolve, ignore, retry or escalate.
    pub action: String,
    pub filter: BulkFilterDoc,
    pub note: Option<String>,
}

/// Which records a bulk action is for (at least one field).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct BulkFilterDoc {
    pub schedule_id: Option<uuid::Uuid>,
    pub fingerprint: Option<String>,
    /// A status, a comma list or an array of statuses.
    pub recovery_status: Option<String>,
}

/// Body of `POST /api/scheduler/apply` (what `taskforge apply -f FILE` sends).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ApplyDoc {
    /// Stored on every schedule the apply writes; `prune` deletes by it.
    pub managed_by: Option<String>,
    /// Create bodies, keyed by `name` (unique in the file); at most 5,000.
    pub schedules: Vec<ScheduleInputDoc>,
    /// Also delete the schedules with this `managedBy` that the file lacks.
    pub prune: Option<bool>,
    /// Answer the plan and change nothing.
    pub dry_run: Option<bool>,
}

/// Optional body of `POST .../pause`.
#[derive(ToSchema)]
pub struct PauseDoc {
    /// Shown with the schedule while it is paused.
    pub reason: Option<String>,
    /// RFC 3339, in the future: the schedule resumes by itself then.
    #[schema(format = DateTime)]
    pub until: Option<String>,
}

/// Optional body of `POST .../trigger`.
#[derive(ToSchema)]
pub struct TriggerDoc {
    /// Any JSON (at most `limits.payload_max_bytes` as text): stored on the execution, given to
    /// shell tasks as `TASKFORGE_PAYLOAD` and put into `{{payload…}}` placeholders.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
}

/// Body of `POST /api/tokens`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TokenInputDoc {
    pub name: String,
    /// viewer | operator | admin
    pub role: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Body of `POST /api/secrets`.
#[derive(ToSchema)]
pub struct SecretInputDoc {
    /// Letters, digits, `_`, `-`, `.`; referenced as `{"$secret": "<name>"}`.
    pub name: String,
    pub value: String,
}

/// Body of `PUT /api/secrets/{name}`.
#[derive(ToSchema)]
pub struct SecretValueDoc {
    pub value: String,
}
