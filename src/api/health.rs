//! `GET /api/health`: database, actors and conductor, 503 naming what fails.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::AppState;
use crate::actors::lifecycle::GetStatus;
use crate::db;
use crate::domain::states::{ComponentState, HealthStatus, Reachability};
use crate::views::HealthView;
use actix_web::{web, HttpResponse};

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the probes found (kept for a second: a busy health check costs one probe a second).
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    database: Reachability,
    scheduler: ComponentState,
    recovery: ComponentState,
    conductor: Reachability,
}

async fn probe(state: &AppState) -> Probe {
    let database = match tokio::time::timeout(PROBE_TIMEOUT, db::ping(&state.services.pool)).await {
        Ok(Ok(())) => Reachability::Ok,
        _ => Reachability::Unreachable,
    };
    Probe {
        database,
        scheduler: actor_state(state.actors.scheduler.send(GetStatus)).await,
        recovery: actor_state(state.actors.recovery.send(GetStatus)).await,
        conductor: conductor_state(&state.services.config.conductor.base_url).await,
    }
}

/// Answers 200 when the database is reachable and the service is not shutting down.
#[utoipa::path(get, path = "/api/health", tag = "operations", security(()), responses((status = 200, body = crate::views::HealthView), (status = 503, body = crate::views::HealthView, description = "database unreachable or shutting down")))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let shutting_down = state.shutting_down.load(Ordering::SeqCst);
    let Probe {
        database,
        scheduler,
        recovery,
        conductor,
    } = state.health.get(|| probe(&state)).await;

    let mut failing = Vec::new();
    if shutting_down {
        failing.push("shutdown");
    }
    if database != Reachability::Ok {
        failing.push("database");
    }
    let status = if failing.is_empty() {
        HealthStatus::Ok
    } else if shutting_down {
        HealthStatus::ShuttingDown
    } else {
        HealthStatus::Unavailable
    };
    let healthy = failing.is_empty();
    let body = HealthView {
        status,
        database,
        scheduler,
        error_recovery: recovery,
        conductor,
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started_at.elapsed().as_secs(),
        instance_id: state.services.instance_id,
        failing,
    };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn actor_state<A>(req: actix::prelude::Request<A, GetStatus>) -> ComponentState
where
    A: actix::Handler<GetStatus>,
    A::Context: actix::dev::ToEnvelope<A, GetStatus>,
{
    match tokio::time::timeout(PROBE_TIMEOUT, req).await {
        Ok(Ok(s)) if s.running => ComponentState::Running,
        Ok(Ok(_)) => ComponentState::Stopped,
        _ => ComponentState::Restarting,
    }
}

async fn conductor_state(base_url: &str) -> Reachability {
    let client = awc::Client::builder()
        .timeout(Duration::from_millis(800))
        .finish();
    match client.get(base_url).send().await {
        Ok(_) => Reachability::Ok,
        Err(_) => Reachability::Unreachable,
    }
}
