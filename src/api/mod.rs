//! HTTP API: routes, the request gate (shutdown 503s, in-flight count) and the JSON error
//! envelope for every extractor and routing failure. Handlers are thin: extract, send one
//! typed message, map the reply.

pub mod access;
pub mod apply;
pub mod audit_trail;
pub mod auth;
pub mod bodies;
pub mod browser;
pub mod cache;
pub mod dashboard;
pub mod error;
pub mod error_groups;
pub mod errors;
pub mod executions;
pub mod health;
pub mod hooks;
pub mod insight;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod routes;
pub mod schedules;
pub mod secrets;
pub mod ws;

pub use routes::{routes, ROUTES};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{web, ResponseError};

use self::error::ApiError;
use crate::actors::{Actors, Services};

/// Shared by every handler.
pub struct AppState {
    /// Actor addresses.
    pub actors: Actors,
    /// Pool, config, instance id.
    pub services: Services,
    /// Set when shutdown starts; new requests get 503.
    pub shutting_down: AtomicBool,
    /// Requests being served right now (shutdown waits for them).
    pub in_flight: AtomicUsize,
    /// For `uptimeSeconds`.
    pub started_at: Instant,
    /// Body caps and task-type policy.
    pub limits: crate::domain::validate::Limits,
    /// Per-key rate of webhook calls.
    pub hooks: hooks::HookLimits,
    /// Token verification; whether auth is on.
    pub auth: std::sync::Arc<auth::Auth>,
    /// Where successful state changes append their audit entry.
    pub audit: crate::actors::audit::AuditWriter,
    /// WebSocket sessions open on this instance (bounded by `websocket.max_sessions`).
    pub ws_sessions: std::sync::Arc<AtomicUsize>,
    /// Writes session rows in batches.
    pub ws_rows: crate::actors::ws::rows::SessionRows,
    /// What `/api/health` found last (database, actors, conductor), for a second.
    pub health: cache::Cached<health::Probe>,
    /// Error record counts for `/metrics`, for a few seconds.
    pub error_counts: cache::Cached<
        Option<
            Vec<(
                crate::domain::states::RecoveryStatus,
                crate::domain::states::Severity,
                i64,
            )>,
        >,
    >,
}

/// Extractor settings that route every extractor failure into the envelope.
pub fn extractor_configs(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .error_handler(|e, req| json_error(e, req).into()),
    )
    .app_data(web::PayloadConfig::new(body_limit))
    .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(e).into()))
    .app_data(web::PathConfig::default().error_handler(|e, _| path_error(e).into()));
}

fn json_error(e: JsonPayloadError, req: &actix_web::HttpRequest) -> ApiError {
    let no_body = !req.headers().contains_key(CONTENT_TYPE)
        && req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .is_none_or(|v| v.as_bytes() == b"0");
    match e {
        JsonPayloadError::ContentType if no_body => {
            ApiError::invalid("body", "is required: send a JSON object")
        }
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge(format!("body: larger than the {limit}-byte limit"))
        }
        JsonPayloadError::ContentType => {
            ApiError::UnsupportedMediaType("Content-Type must be application/json".into())
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::invalid("body", e),
        JsonPayloadError::Deserialize(e) => {
            ApiError::invalid("body", format!("malformed JSON: {e}"))
        }
        other => ApiError::invalid("body", other),
    }
}

fn query_error(e: QueryPayloadError) -> ApiError {
    match e {
        QueryPayloadError::Deserialize(e) => ApiError::invalid("query", e),
        other => ApiError::invalid("query", other),
    }
}

fn path_error(e: PathError) -> ApiError {
    match e {
        PathError::Deserialize(e) => ApiError::invalid("path", e),
        other => ApiError::invalid("path", other),
    }
}

/// Shutdown gate: 503 for new requests once shutdown began (health answers for itself), and the
/// in-flight count the drain waits on.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if state.shutting_down.load(Ordering::SeqCst) && req.path() != "/api/health" {
        let resp = ApiError::Unavailable("server is shutting down".into()).error_response();
        return Ok(req.into_response(resp));
    }
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    let _done = InFlight(state.clone());
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Decrements the in-flight count however the request ends (including a dropped future).
struct InFlight(web::Data<AppState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Gives routing failures (404, 405) and any other non-JSON error response the envelope.
pub fn envelope<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, resp) = res.into_parts();
    let err = error::for_status(resp.status(), req.path(), req.method().as_str());
    let mut new = err.error_response();
    // Keep headers such as `Allow` and `WWW-Authenticate` from the original response.
    for (name, value) in resp.headers() {
        if name != CONTENT_TYPE && name != actix_web::http::header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}
