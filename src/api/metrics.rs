//! `GET /metrics`: Prometheus text format. Gauges that live in PostgreSQL (error records) and in
//! the pool are refreshed at scrape time; counters and histograms are recorded where they happen.

use actix_web::{web, HttpResponse};

use super::AppState;
use crate::actors::recovery::messages::ErrorCounts;
use crate::api::error::ApiError;
use crate::domain::states::{RecoveryStatus, Severity};
use crate::telemetry;

/// Renders every series.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()), responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let handle = telemetry::handle()
        .ok_or_else(|| ApiError::Unavailable("metrics recorder not installed".into()))?;
    let pool = state.services.pool.status();
    metrics::gauge!(telemetry::POOL, "state" => "size").set(pool.size as f64);
    metrics::gauge!(telemetry::POOL, "state" => "available").set(pool.available as f64);
    metrics::gauge!(telemetry::POOL, "state" => "waiting").set(pool.waiting as f64);
    metrics::gauge!(telemetry::POOL, "state" => "max").set(pool.max_size as f64);
    // Listed from the start, 0 until the pool first runs dry.
    metrics::counter!(telemetry::POOL_EXHAUSTED).increment(0);
    // A database outage must not take /metrics down: the error gauges then keep their values.
    let counts = state
        .error_counts
        .get(|| async {
            state
                .actors
                .recovery
                .send(ErrorCounts)
                .await
                .ok()
                .and_then(Result::ok)
        })
        .await;
    if let Some(counts) = counts {
        for status in RecoveryStatus::ALL {
            for severity in Severity::ALL {
                let n = counts
                    .iter()
                    .find(|(s, v, _)| s == status && v == severity)
                    .map(|c| c.2)
                    .unwrap_or(0);
                metrics::gauge!(telemetry::ERROR_RECORDS, "status" => status.as_str(), "severity" => severity.as_str()).set(n as f64);
            }
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render()))
}
