//! Views of the service itself: health and the dashboard's figures.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::db::execution_stats::{MinuteStat, Stats};
use crate::domain::states::{ComponentState, HealthStatus, Reachability};

/// `GET /api/health`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthView {
    pub status: HealthStatus,
    pub database: Reachability,
    pub scheduler: ComponentState,
    pub error_recovery: ComponentState,
    pub conductor: Reachability,
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub instance_id: Uuid,
    /// The failing parts (`database`, `shutdown`); empty when healthy.
    pub failing: Vec<&'static str>,
}
