//! `GET /ws`: upgrades to a WsSessionActor (flow 3).

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};

use super::AppState;
use crate::actors::ws::session::{SessionLimits, WsSession};

/// Starts one session actor for the connection.
#[utoipa::path(get, path = "/ws", tag = "operations", params(("token" = Option<String>, Query, description = "alternative to the Authorization header")), responses((status = 101, description = "WebSocket upgrade (SPEC §4 protocol)"), (status = 400, body = crate::api::openapi::ErrorBody), (status = 401, body = crate::api::openapi::ErrorBody), (status = 503, body = crate::api::openapi::ErrorBody)))]
pub async fn connect(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let cfg = &state.services.config.websocket;
    let limits = SessionLimits {
        heartbeat: Duration::from_secs(cfg.heartbeat_interval_secs),
        client_timeout: Duration::from_secs(cfg.client_timeout_secs),
        queue: cfg.session_queue,
    };
    WsSession::new(
        state.actors.hub.clone(),
        state.services.pool.clone(),
        state.services.instance_id,
        limits,
    )
    .start(&req, stream)
}
