//! `/api/scheduler/*`: schedules. Handlers validate, send one message, map the reply.

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::Value;

use super::params::{self, Query};
use super::AppState;
use crate::actors::scheduler::messages::*;
use crate::api::error::ApiError;
use crate::db::schedules::{ListFilter, ScheduleRow, Toggle};
use crate::domain::clock;
use crate::domain::rules::{self, FireRules, Timing};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::schedule_input::{self, ScheduleInput};
use crate::domain::validate::{FieldErrors, Obj};
use crate::views::{ExecutionIdView, PageView, RunsView, ScheduleView};

const MAX_RUNS: i64 = 100;
const DEFAULT_RUNS: usize = 5;

/// A validated `count` (1..=MAX_RUNS), or the default.
fn run_count(n: Option<i64>) -> usize {
    n.and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_RUNS)
}

impl From<ScheduleError> for ApiError {
    fn from(e: ScheduleError) -> Self {
        match e {
            ScheduleError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ScheduleError::DuplicateName(_) => ApiError::Conflict(e.to_string()),
            ScheduleError::Invalid { field, message } => ApiError::invalid(&field, message),
            ScheduleError::Fields(e) => invalid(e),
            ScheduleError::Db(db) => db.into(),
        }
    }
}

pub(super) fn invalid(e: FieldErrors) -> ApiError {
    ApiError::Validation {
        message: e.summary(),
        details: Some(e.details()),
    }
}

/// The views of `rows` with how their runs went.
pub(super) async fn views_of(
    state: &AppState,
    rows: &[&ScheduleRow],
) -> Result<Vec<ScheduleView>, ApiError> {
    let ids = rows.iter().map(|r| r.id).collect();
    let health = state.actors.scheduler.send(HealthOf(ids)).await??;
    Ok(rows
        .iter()
        .map(|r| ScheduleView::from(*r).with_health(health.get(&r.id)))
        .collect())
}

/// The view of one schedule with how its runs went.
pub(super) async fn view_of(state: &AppState, row: &ScheduleRow) -> Result<ScheduleView, ApiError> {
    let mut v = views_of(state, &[row]).await?;
    v.pop()
        .ok_or_else(|| ApiError::from(crate::db::DbError::Unavailable("no view".into())))
}

/// The view for this caller: an admin also sees the webhook's URL and secret.
fn for_caller(
    req: &HttpRequest,
    state: &AppState,
    row: &ScheduleRow,
    view: ScheduleView,
) -> ScheduleView {
    let admin = req
        .extensions()
        .get::<crate::domain::access::Principal>()
        .is_some_and(|p| p.role == crate::domain::access::Role::Admin);
    if admin && row.webhook_key.is_some() {
        view.revealed(row, &state.services.keyring)
    } else {
        view
    }
}

fn input(state: &AppState, body: &Value) -> Result<ScheduleInput, ApiError> {
    schedule_input::validate(body, clock::now(), &state.limits).map_err(invalid)
}

/// POST /api/scheduler/schedules
#[utoipa::path(post, path = "/api/scheduler/schedules", tag = "schedules", request_body = crate::api::bodies::ScheduleInputDoc, responses((status = 201, body = ScheduleView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let input = input(&state, &body)?;
    let row = state.actors.scheduler.send(CreateSchedule(input)).await??;
    // A schedule created just now has no runs: its health is known without a query.
    let view = ScheduleView::from(&row).with_health(None);
    Ok(HttpResponse::Created().json(for_caller(&req, &state, &row, view)))
}

/// GET /api/scheduler/schedules
#[utoipa::path(get, path = "/api/scheduler/schedules", tag = "schedules", params(("limit" = Option<i64>, Query, description = "1..=500, default 50"), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page"), ("enabled" = Option<bool>, Query,), ("taskType" = Option<String>, Query, description = "shell | http | conductor"), ("tag" = Option<String>, Query,), ("q" = Option<String>, Query, description = "a substring of the name (any case), or a tag")), responses((status = 200, body = PageView<ScheduleView>), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = params::paging(&q)?;
    let filter = ListFilter {
        enabled: params::opt_bool(&q, "enabled")?,
        task_type: params::opt_state(&q, "taskType")?,
        tag: params::opt_text(&q, "tag")?,
        search: params::opt_text(&q, "q")?.filter(|s| !s.is_empty()),
    };
    let page = state
        .actors
        .scheduler
        .send(ListSchedules {
            filter,
            limit,
            cursor,
        })
        .await??;
    let rows: Vec<&ScheduleRow> = page.items.iter().collect();
    let items = views_of(&state, &rows)
        .await?
        .into_iter()
        .zip(&rows)
        .map(|(v, r)| for_caller(&req, &state, r, v))
        .collect();
    Ok(HttpResponse::Ok().json(PageView {
        items,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// GET /api/scheduler/schedules/{id}
#[utoipa::path(get, path = "/api/scheduler/schedules/{id}", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 200, body = ScheduleView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let row = state.actors.scheduler.send(GetSchedule(id)).await??;
    let view = view_of(&state, &row).await?;
    Ok(HttpResponse::Ok().json(for_caller(&req, &state, &row, view)))
}

/// PUT /api/scheduler/schedules/{id}
#[utoipa::path(put, path = "/api/scheduler/schedules/{id}", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body = crate::api::bodies::ScheduleInputDoc, responses((status = 200, body = ScheduleView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn replace(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let input = input(&state, &body)?;
    let row = state
        .actors
        .scheduler
        .send(ReplaceSchedule { id, input })
        .await??;
    let view = view_of(&state, &row).await?;
    Ok(HttpResponse::Ok().json(for_caller(&req, &state, &row, view)))
}

/// DELETE /api/scheduler/schedules/{id}
#[utoipa::path(delete, path = "/api/scheduler/schedules/{id}", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 204, description = "Deleted; its history stays"), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    state.actors.scheduler.send(DeleteSchedule(id)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// POST /api/scheduler/schedules/{id}/pause {"reason"?, "until"?}
#[utoipa::path(post, path = "/api/scheduler/schedules/{id}/pause", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::PauseDoc>), responses((status = 200, body = ScheduleView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn pause(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let max = state.limits.note_max_chars;
    let now = clock::now();
    let toggle = params::optional_body(&body, |o, e| {
        o.only(&["reason", "until"], e);
        let reason = o.opt_str("reason", e);
        if reason.as_ref().is_some_and(|r| r.chars().count() > max) {
            e.add("reason", format!("must be at most {max} characters"));
        }
        let until = o.opt_time("until", e);
        if until.is_some_and(|t| t <= now) {
            e.add("until", "must be in the future");
        }
        Toggle::Pause { reason, until }
    })?
    .unwrap_or(Toggle::Pause {
        reason: None,
        until: None,
    });
    set_enabled(state, &id, toggle).await
}

/// POST /api/scheduler/schedules/{id}/resume
#[utoipa::path(post, path = "/api/scheduler/schedules/{id}/resume", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 200, body = ScheduleView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn resume(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(state, &id, Toggle::Resume).await
}

async fn set_enabled(
    state: web::Data<AppState>,
    id: &str,
    toggle: Toggle,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(id)?;
    let row = state
        .actors
        .scheduler
        .send(SetEnabled { id, toggle })
        .await??;
    Ok(HttpResponse::Ok().json(view_of(&state, &row).await?))
}

/// POST /api/scheduler/schedules/{id}/trigger
#[utoipa::path(post, path = "/api/scheduler/schedules/{id}/trigger", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::TriggerDoc>), responses((status = 202, body = ExecutionIdView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn trigger(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let max = state.limits.payload_max_bytes;
    let payload = params::optional_body(&body, |o, e| {
        o.only(&["payload"], e);
        o.opt_payload("payload", max, e)
    })?
    .flatten();
    let exec = state
        .actors
        .scheduler
        .send(TriggerNow { id, payload })
        .await??;
    Ok(HttpResponse::Accepted().json(ExecutionIdView {
        execution_id: Some(exec.id),
    }))
}

/// GET /api/scheduler/schedules/{id}/next-runs?count=N&from=T
#[utoipa::path(get, path = "/api/scheduler/schedules/{id}/next-runs", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID"), ("count" = Option<i64>, Query, description = "1..=100, default 5"), ("from" = Option<String>, Query, format = DateTime, description = "RFC 3339, default now"), ("detail" = Option<bool>, Query, description = "also local times and DST marks")), responses((status = 200, body = RunsView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn next_runs(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let count = run_count(params::opt_int(&q, "count", 1, MAX_RUNS)?);
    let from = params::opt_time(&q, "from")?.unwrap_or_else(clock::now);
    let detail = params::opt_bool(&q, "detail")?.unwrap_or(false);
    let mut runs = state
        .actors
        .scheduler
        .send(NextRuns { id, from, count })
        .await??;
    if !detail {
        runs.details = None;
    }
    Ok(HttpResponse::Ok().json(runs))
}

/// POST /api/scheduler/preview: next runs of an unsaved `{scheduleType, scheduleConfig, count, from}`.
/// Pure computation on the domain rules the scheduler uses, so no actor is involved.
#[utoipa::path(post, path = "/api/scheduler/preview", tag = "schedules", request_body = crate::api::bodies::PreviewDoc, params(("detail" = Option<bool>, Query, description = "also local times and DST marks")), responses((status = 200, body = RunsView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn preview(
    body: web::Json<Value>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let mut e = FieldErrors::default();
    let obj = Obj::new(&body, "", &mut e).ok_or_else(|| invalid(std::mem::take(&mut e)))?;
    let mut allowed = vec![
        "scheduleType",
        "scheduleConfig",
        "count",
        "from",
        "name",
        "detail",
    ];
    allowed.extend_from_slice(&rules::PREVIEW_FIELDS);
    obj.only(&allowed, &mut e);
    let now = clock::now();
    // The jitter is a function of the name: the create form passes the one being typed.
    let name = obj.opt_str("name", &mut e).unwrap_or_default();
    let detail = obj.opt_bool("detail", &mut e).unwrap_or(false)
        || params::opt_bool(&q, "detail")?.unwrap_or(false);
    let count = run_count(obj.opt_int("count", 1, MAX_RUNS, &mut e));
    let from = obj.opt_time("from", &mut e).unwrap_or(now);
    let schedule_type = obj.req_state("scheduleType", &mut e);
    let spec = match (schedule_type, obj.get("scheduleConfig")) {
        (_, None) => {
            e.add("scheduleConfig", "is required");
            None
        }
        (Some(t), Some(cfg)) => ScheduleSpec::from_json(t, cfg, now, &mut e),
        (None, Some(_)) => None,
    };
    let rules = FireRules::from_obj(&obj, spec.as_ref(), None, &mut e);
    match spec {
        Some(spec) if e.is_empty() => {
            let timing = Timing {
                spec: &spec,
                name: name.trim(),
                rules: &rules,
            };
            // An unsaved one-time schedule with a past runAt would run at once.
            let runs = timing.next_runs(from, count, 0);
            let details = detail.then(|| crate::views::run_details(&spec, from, &runs));
            Ok(HttpResponse::Ok().json(RunsView { runs, details }))
        }
        _ => Err(invalid(e)),
    }
}
