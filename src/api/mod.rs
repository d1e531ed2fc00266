//! HTTP API: routes, the request gate (shutdown 503s, in-flight count) and the JSON error
//! envelope for every extractor and routing failure. Handlers are thin: extract, send one
//! typed message, map the reply.

pub mod auth;
pub mod dashboard;
pub mod errors;
pub mod executions;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod schedules;
pub mod ws;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{web, ResponseError};

use crate::actors::{Actors, Services};
use crate::error::{self, ApiError};

/// Shared by every handler.
pub struct AppState {
    /// Actor addresses.
    pub actors: Actors,
    /// Pool, config, instance id.
    pub services: Services,
    /// Set at the start of flow 7; new requests get 503.
    pub shutting_down: AtomicBool,
    /// Requests being served right now (flow 7 waits for them).
    pub in_flight: AtomicUsize,
    /// For `uptimeSeconds`.
    pub started_at: Instant,
    /// Body caps and task-type policy.
    pub limits: crate::domain::validate::Limits,
}

/// Mounts every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/health").route(web::get().to(health::health)))
        .service(web::resource("/metrics").route(web::get().to(metrics::metrics)))
        .service(web::resource("/api/openapi.json").route(web::get().to(openapi::openapi_json)))
        .service(
            web::resource("/api/scheduler/schedules")
                .route(web::post().to(schedules::create))
                .route(web::get().to(schedules::list)),
        )
        .service(
            web::resource("/api/scheduler/schedules/{id}")
                .route(web::get().to(schedules::get))
                .route(web::put().to(schedules::replace))
                .route(web::delete().to(schedules::delete)),
        )
        .service(
            web::resource("/api/scheduler/schedules/{id}/pause")
                .route(web::post().to(schedules::pause)),
        )
        .service(
            web::resource("/api/scheduler/schedules/{id}/resume")
                .route(web::post().to(schedules::resume)),
        )
        .service(
            web::resource("/api/scheduler/schedules/{id}/trigger")
                .route(web::post().to(schedules::trigger)),
        )
        .service(
            web::resource("/api/scheduler/schedules/{id}/next-runs")
                .route(web::get().to(schedules::next_runs)),
        )
        .service(web::resource("/api/scheduler/preview").route(web::post().to(schedules::preview)))
        .service(web::resource("/api/stats").route(web::get().to(executions::stats)))
        .service(web::resource("/").route(web::get().to(dashboard::index)))
        .service(web::resource("/assets/{file}").route(web::get().to(dashboard::asset)))
        .service(web::resource("/api/executions").route(web::get().to(executions::list)))
        .service(web::resource("/api/executions/{id}").route(web::get().to(executions::get)))
        .service(
            web::resource("/api/executions/{id}/cancel").route(web::post().to(executions::cancel)),
        )
        .service(web::resource("/api/errors/errors").route(web::get().to(errors::list)))
        .service(web::resource("/api/errors/errors/{id}").route(web::get().to(errors::get)))
        .service(
            web::resource("/api/errors/errors/{id}/retry").route(web::post().to(errors::retry)),
        )
        .service(
            web::resource("/api/errors/errors/{id}/resolve").route(web::post().to(errors::resolve)),
        )
        .service(
            web::resource("/api/errors/errors/{id}/ignore").route(web::post().to(errors::ignore)),
        )
        .service(
            web::resource("/api/errors/errors/{id}/escalate")
                .route(web::post().to(errors::escalate)),
        )
        .service(web::resource("/ws").route(web::get().to(ws::connect)));
}

/// Extractor settings that route every extractor failure into the envelope.
pub fn extractor_configs(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .error_handler(|e, _| json_error(e).into()),
    )
    .app_data(web::PayloadConfig::new(body_limit))
    .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(e).into()))
    .app_data(web::PathConfig::default().error_handler(|e, _| path_error(e).into()));
}

fn json_error(e: JsonPayloadError) -> ApiError {
    match e {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge(format!("body: larger than the {limit}-byte limit"))
        }
        JsonPayloadError::ContentType => {
            ApiError::invalid("body", "Content-Type must be application/json")
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

/// Flow 7 gate: 503 for new requests once shutdown began (health answers for itself), and the
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
    if let Err(e) = auth::check(&req, &state.services.config.server.api_token) {
        let mut resp = e.error_response();
        resp.headers_mut().insert(
            actix_web::http::header::WWW_AUTHENTICATE,
            actix_web::http::header::HeaderValue::from_static("Bearer"),
        );
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
