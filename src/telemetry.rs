//! Prometheus metrics through the `metrics` crate: one process-wide recorder, rendered at
//! `GET /metrics`. Names are listed here so the set is easy to review.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Executions finished, by `task_type` and `status`.
pub const EXECUTIONS: &str = "taskforge_executions_total";
/// Execution run time, by `task_type`.
pub const EXECUTION_DURATION: &str = "taskforge_execution_duration_seconds";
/// startedAt − scheduledFor of scheduled fires.
pub const FIRING_LATENESS: &str = "taskforge_firing_lateness_seconds";
/// Fires created by the scheduler, and fires skipped by `reason` (forbid, misfire).
pub const FIRES: &str = "taskforge_fires_total";
pub const FIRES_SKIPPED: &str = "taskforge_fires_skipped_total";
/// Error records, by `status` and `severity` (read from PostgreSQL at scrape time).
pub const ERROR_RECORDS: &str = "taskforge_error_records";
/// Retry executions started, and escalations (automatic and manual).
pub const RETRIES: &str = "taskforge_retries_total";
pub const ESCALATIONS: &str = "taskforge_escalations_total";
/// WebSocket sessions registered on this instance, and slow clients dropped.
pub const WS_SESSIONS: &str = "taskforge_ws_sessions";
pub const WS_DROPPED: &str = "taskforge_ws_dropped_clients_total";
/// Pool connections, by `state` (size, available, waiting).
pub const POOL: &str = "taskforge_db_pool_connections";
/// Connections asked for while every connection was in use and the pool was at its maximum.
pub const POOL_EXHAUSTED: &str = "taskforge_db_pool_exhausted_total";
/// Supervisor restarts, by `actor`.
pub const ACTOR_RESTARTS: &str = "taskforge_actor_restarts_total";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process; later calls return the same handle.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(FIRING_LATENESS.into()),
                    &[
                        0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(EXECUTION_DURATION.into()),
                        &[0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0],
                    )
                });
            match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => Some(h),
                Err(e) => {
                    log::warn!("metrics recorder not installed: {e}");
                    None
                }
            }
        })
        .as_ref()
}
