//! `GET /ws`: upgrades to a WsSessionActor.

use std::time::Duration;

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use super::AppState;
use crate::actors::ws::session::{SessionLimits, SessionSlot, WsSession};
use crate::api::error::ApiError;
use crate::domain::access::Principal;
use std::sync::atomic::Ordering;

/// Starts one session actor for the connection.
#[utoipa::path(get, path = "/ws", tag = "operations", params(("token" = Option<String>, Query, description = "alternative to the Authorization header; browsers send the subprotocol `bearer.<token>` instead")), responses((status = 101, description = "WebSocket upgrade (the live event protocol)"), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
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
        max_frames_per_sec: cfg.max_frames_per_sec,
    };
    // At most websocket.max_sessions at once; the slot is given back when the session ends.
    if state.ws_sessions.fetch_add(1, Ordering::SeqCst) >= cfg.max_sessions {
        state.ws_sessions.fetch_sub(1, Ordering::SeqCst);
        log::warn!(
            "ws connection refused: {} sessions open (websocket.max_sessions)",
            cfg.max_sessions
        );
        return Err(ApiError::Unavailable(format!(
            "too many WebSocket sessions (websocket.max_sessions = {})",
            cfg.max_sessions
        ))
        .into());
    }
    let slot = SessionSlot(state.ws_sessions.clone());
    let mut session = WsSession::new(
        state.actors.hub.clone(),
        state.services.pool.clone(),
        state.ws_rows.clone(),
        state.services.instance_id,
        limits,
        slot,
    );
    let token = req
        .extensions()
        .get::<Principal>()
        .and_then(|p| p.token_id.map(|id| (id, p.expires_at)));
    if let Some((id, expires_at)) = token {
        session = session.with_token(id, expires_at);
    }
    session.start(&req, stream)
}
