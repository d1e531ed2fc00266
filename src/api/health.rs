//! `GET /api/health` (SPEC §3): database, actors and conductor, 503 naming what fails.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::actors::lifecycle::GetStatus;
use crate::db;
use crate::domain::states::ComponentState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the probes found (kept for a second: a busy health check costs one probe a second).
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    database: &'static str,
    scheduler: &'static str,
    recovery: &'static str,
    conductor: &'static str,
}

async fn probe(state: &AppState) -> Probe {
    let database = match tokio::time::timeout(PROBE_TIMEOUT, db::ping(&state.services.pool)).await {
        Ok(Ok(())) => "ok",
        _ => "unreachable",
    };
    Probe {
        database,
        scheduler: actor_state(state.actors.scheduler.send(GetStatus)).await,
        recovery: actor_state(state.actors.recovery.send(GetStatus)).await,
        conductor: conductor_state(&state.services.config.conductor.base_url).await,
    }
}

/// Answers 200 when the database is reachable and the service is not shutting down.
#[utoipa::path(get, path = "/api/health", tag = "operations", security(()), responses((status = 200, body = crate::api::openapi::HealthDoc), (status = 503, body = crate::api::openapi::HealthDoc, description = "database unreachable or shutting down")))]
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
    if database != "ok" {
        failing.push("database");
    }
    let status = if failing.is_empty() {
        "ok"
    } else if shutting_down {
        "shutting_down"
    } else {
        "unavailable"
    };
    let body = json!({
        "status": status,
        "database": database,
        "scheduler": scheduler,
        "errorRecovery": recovery,
        "conductor": conductor,
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": state.started_at.elapsed().as_secs(),
        "instanceId": state.services.instance_id,
        "failing": failing,
    });
    if failing.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn actor_state<A>(req: actix::prelude::Request<A, GetStatus>) -> &'static str
where
    A: actix::Handler<GetStatus>,
    A::Context: actix::dev::ToEnvelope<A, GetStatus>,
{
    let state = match tokio::time::timeout(PROBE_TIMEOUT, req).await {
        Ok(Ok(s)) if s.running => ComponentState::Running,
        Ok(Ok(_)) => ComponentState::Stopped,
        _ => ComponentState::Restarting,
    };
    state.as_str()
}

async fn conductor_state(base_url: &str) -> &'static str {
    let client = awc::Client::builder()
        .timeout(Duration::from_millis(800))
        .finish();
    match client.get(base_url).send().await {
        Ok(_) => "ok",
        Err(_) => "unreachable",
    }
}
