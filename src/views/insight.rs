//! Views of how schedules run: previews' details, a schedule's stats, the runs coming up.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schedule_health::{Health, WindowStats};
use crate::domain::states::{DstMark, ExecutionStatus};

/// One previewed run: its instant, the wall-clock time in the schedule's zone, and whether a
/// DST change touches it (`gap`: a local time before it did not exist and was skipped;
/// `overlap`: it falls in a repeated hour).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunDetail {
    pub at: DateTime<Utc>,
    /// RFC 3339 with the zone's offset.
    pub local: String,
    pub dst: Option<DstMark>,
}

/// Skipped slots by reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkippedCounts {
    pub overlap: i64,
    pub misfire: i64,
    pub start_deadline: i64,
    pub backlog: i64,
}

/// `GET /api/scheduler/schedules/{id}/stats`: executions created in [since, until).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatsView {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Slots the schedule's rule had in the window (up to now).
    pub expected: i64,
    pub completed: i64,
    pub failed: i64,
    pub skipped: SkippedCounts,
    pub cancelled: i64,
    /// completed / (completed + failed); null without either.
    pub success_rate: Option<f64>,
    pub last_status: Option<ExecutionStatus>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i64,
    /// Start minus slot of fires.
    pub lag_p50_ms: Option<f64>,
    pub lag_p99_ms: Option<f64>,
    pub duration_p50_ms: Option<f64>,
    pub duration_p99_ms: Option<f64>,
}

impl ScheduleStatsView {
    pub fn of(
        (since, until): (DateTime<Utc>, DateTime<Utc>),
        expected: i64,
        w: &WindowStats,
        h: &Health,
    ) -> ScheduleStatsView {
        let decided = w.completed + w.failed;
        ScheduleStatsView {
            since,
            until,
            expected,
            completed: w.completed,
            failed: w.failed,
            skipped: SkippedCounts {
                overlap: w.overlap,
                misfire: w.misfire,
                start_deadline: w.start_deadline,
                backlog: w.backlog,
            },
            cancelled: w.cancelled,
            success_rate: (decided > 0).then(|| w.completed as f64 / decided as f64),
            last_status: h.last_status,
            last_success_at: h.last_success_at,
            consecutive_failures: h.consecutive_failures,
            lag_p50_ms: w.lag_p50_ms,
            lag_p99_ms: w.lag_p99_ms,
            duration_p50_ms: w.duration_p50_ms,
            duration_p99_ms: w.duration_p99_ms,
        }
    }
}

/// One run coming up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpcomingItem {
    pub schedule_id: Uuid,
    pub name: String,
    pub at: DateTime<Utc>,
}

/// `GET /api/scheduler/upcoming`: runs of enabled schedules in time order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpcomingView {
    pub items: Vec<UpcomingItem>,
}

/// The details of `runs` (fires after `from`, in order) of a schedule with rule `spec`.
pub fn run_details(
    spec: &crate::domain::schedule::ScheduleSpec,
    from: DateTime<Utc>,
    runs: &[DateTime<Utc>],
) -> Vec<RunDetail> {
    let zone = spec.zone();
    let mut prev = from;
    runs.iter()
        .map(|at| {
            let d = RunDetail {
                at: *at,
                local: at
                    .with_timezone(&zone)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                dst: spec.dst_mark(prev, *at),
            };
            prev = *at;
            d
        })
        .collect()
}

/// `POST …/backfill`: the slots that run (or would, for a dry run), in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackfillView {
    pub runs: Vec<DateTime<Utc>>,
    pub count: usize,
    /// Slots in the range that already ran; not repeated.
    pub already_run: usize,
}
