//! Inbound webhooks: `POST /api/hooks/{key}` runs the schedule whose webhook key it is, when
//! the body is signed with its secret; `POST .../webhook/rotate` gives it a new key and secret.
//! No bearer token: the key finds the schedule and the signature proves the caller.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};

use super::params;
use super::AppState;
use crate::actors::scheduler::messages::{DeliverWebhook, RotateWebhook};
use crate::api::error::ApiError;
use crate::db::webhooks;
use crate::domain::webhook::{self, Bucket, IDEMPOTENCY_KEY_MAX, SIGNATURE_HEADER};
use crate::views::{ExecutionIdView, ScheduleView};

/// Each webhook key's token bucket on this instance (only keys that exist get one).
#[derive(Default)]
pub struct HookLimits(Mutex<HashMap<String, Bucket>>);

impl HookLimits {
    fn take(&self, key: &str, per_sec: f64, burst: u32) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = map
            .entry(key.to_string())
            .or_insert_with(|| Bucket::full(burst, now));
        bucket.take(per_sec, burst, now).map_err(|wait| {
            ApiError::RateLimited(
                format!("too many calls to this webhook: at most {per_sec} per second"),
                wait.as_secs().max(1),
            )
        })
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Result<Option<&'a str>, ApiError> {
    req.headers()
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::invalid(name, "must be visible ASCII"))
        })
        .transpose()
}

/// POST /api/hooks/{key}
#[utoipa::path(post, path = "/api/hooks/{key}", tag = "webhooks", params(("key" = String, Path, description = "the schedule's webhook key"), ("X-Taskforge-Signature" = String, Header, description = "sha256=<hex of HMAC-SHA256 of the body under the webhook secret>"), ("Idempotency-Key" = Option<String>, Header, description = "a repeat within 24 h answers the first run")), request_body(content = Option<Object>, description = "any JSON: the run's payload"), responses((status = 202, body = ExecutionIdView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 429, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn deliver(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let unknown = || ApiError::NotFound("no webhook with this key".into());
    let key = key.into_inner();
    if key.len() > 200 {
        return Err(unknown());
    }
    let schedule = webhooks::by_key(&state.services.pool, &key)
        .await?
        .ok_or_else(unknown)?;
    let cfg = &state.services.config.limits;
    state
        .hooks
        .take(&key, cfg.webhook_rate_per_sec, cfg.webhook_burst)?;
    let max = state.limits.payload_max_bytes;
    if body.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "body: must be at most {max} bytes, got {}",
            body.len()
        )));
    }
    let secret = crate::db::schedules::secret_of(&state.services.keyring, &schedule)
        .map_err(ApiError::Unavailable)?;
    if let Some(secret) = secret {
        if !webhook::verify(&secret, &body, header(&req, SIGNATURE_HEADER)?) {
            log::warn!(
                "webhook call refused, bad or missing signature: schedule={}",
                schedule.id
            );
            return Err(ApiError::Unauthorized(format!(
                "{SIGNATURE_HEADER}: missing, or not sha256=<hex HMAC-SHA256 of the body> under this webhook's secret"
            )));
        }
    }
    if !schedule.enabled {
        return Err(ApiError::Conflict(format!(
            "schedule {} is paused: resume it to accept webhook calls",
            schedule.id
        )));
    }
    let payload = params::optional_json(&body, "body", max)?;
    let idempotency_key = header(&req, "Idempotency-Key")?
        .map(str::to_string)
        .filter(|k| !k.is_empty());
    if idempotency_key
        .as_ref()
        .is_some_and(|k| k.len() > IDEMPOTENCY_KEY_MAX)
    {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            format!("must be at most {IDEMPOTENCY_KEY_MAX} characters"),
        ));
    }
    let d = state
        .actors
        .scheduler
        .send(DeliverWebhook {
            schedule,
            idempotency_key,
            payload,
        })
        .await??;
    Ok(HttpResponse::Accepted().json(ExecutionIdView {
        execution_id: Some(d.execution.id),
    }))
}

/// POST /api/scheduler/schedules/{id}/webhook/rotate
#[utoipa::path(post, path = "/api/scheduler/schedules/{id}/webhook/rotate", tag = "webhooks", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 200, body = ScheduleView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 403, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn rotate(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let row = state.actors.scheduler.send(RotateWebhook(id)).await??;
    let view = super::schedules::view_of(&state, &row).await?;
    Ok(HttpResponse::Ok().json(view.revealed(&row, &state.services.keyring)))
}
