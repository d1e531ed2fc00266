//! `/api/errors/errors`: the error dashboard's API.

use actix_web::{web, HttpResponse};

use super::params::{self, Query};
use super::AppState;
use crate::actors::recovery::messages::{ApplyAction, GetError, ListErrors};
use crate::api::error::ApiError;
use crate::db::error_records::{ActionError, ListFilter};
use crate::domain::recovery::Action;
use crate::views::{ErrorRecordDetailView, ErrorRecordView, ExecutionIdView, PageView};

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ActionError::Conflict(m) => ApiError::Conflict(m),
            ActionError::Db(db) => db.into(),
        }
    }
}

/// GET /api/errors/errors
#[utoipa::path(get, path = "/api/errors/errors", tag = "errors", params(("limit" = Option<i64>, Query, description = "1..=500, default 50"), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page"), ("recoveryStatus" = Option<String>, Query, description = "one status or a comma list, e.g. unresolved,escalated"), ("severity" = Option<String>, Query,), ("scheduleId" = Option<String>, Query,)), responses((status = 200, body = PageView<ErrorRecordView>), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = params::paging(&q)?;
    let filter = ListFilter {
        recovery_status: params::state_list(&q, "recoveryStatus")?,
        severity: params::opt_state(&q, "severity")?,
        schedule_id: params::opt_uuid(&q, "scheduleId")?,
    };
    let page = state
        .actors
        .recovery
        .send(ListErrors {
            filter,
            limit,
            cursor,
        })
        .await??;
    Ok(HttpResponse::Ok().json(PageView::of(&page, ErrorRecordView::from)))
}

/// GET /api/errors/errors/{id}: the record with its chain's executions (`executions`).
#[utoipa::path(get, path = "/api/errors/errors/{id}", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 200, body = ErrorRecordDetailView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let (rec, attempts) = state
        .actors
        .recovery
        .send(GetError(id))
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("error record {id} not found")))?;
    Ok(HttpResponse::Ok().json(ErrorRecordDetailView::of(&rec, &attempts)))
}

/// The optional `{"note": "..."}` of an action body (an empty body is fine).
fn note(body: &web::Bytes, max: usize) -> Result<Option<String>, ApiError> {
    let note = params::optional_body(body, |o, e| {
        o.only(&["note"], e);
        let note = o.opt_str("note", e);
        if note.as_ref().is_some_and(|n| n.chars().count() > max) {
            e.add("note", format!("must be at most {max} characters"));
        }
        note
    })?;
    Ok(note.flatten())
}

async fn act(
    state: &AppState,
    id: &str,
    action: Action,
    body: &web::Bytes,
) -> Result<crate::actors::recovery::messages::ActionOutcome, ApiError> {
    let id = params::path_id(id)?;
    let note = note(body, state.limits.note_max_chars)?;
    Ok(state
        .actors
        .recovery
        .send(ApplyAction { id, action, note })
        .await??)
}

/// POST /api/errors/errors/{id}/retry → 202 {"executionId"}
#[utoipa::path(post, path = "/api/errors/errors/{id}/retry", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::NoteDoc>), responses((status = 202, body = ExecutionIdView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn retry(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let out = act(&state, &id, Action::Retry, &body).await?;
    Ok(HttpResponse::Accepted().json(ExecutionIdView {
        execution_id: out.execution.map(|e| e.id),
    }))
}

/// POST /api/errors/errors/{id}/resolve
#[utoipa::path(post, path = "/api/errors/errors/{id}/resolve", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::NoteDoc>), responses((status = 200, body = ErrorRecordView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn resolve(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let out = act(&state, &id, Action::Resolve, &body).await?;
    Ok(HttpResponse::Ok().json(ErrorRecordView::from(&out.record)))
}

/// POST /api/errors/errors/{id}/ignore
#[utoipa::path(post, path = "/api/errors/errors/{id}/ignore", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::NoteDoc>), responses((status = 200, body = ErrorRecordView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn ignore(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let out = act(&state, &id, Action::Ignore, &body).await?;
    Ok(HttpResponse::Ok().json(ErrorRecordView::from(&out.record)))
}

/// POST /api/errors/errors/{id}/escalate
#[utoipa::path(post, path = "/api/errors/errors/{id}/escalate", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::NoteDoc>), responses((status = 200, body = ErrorRecordView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn escalate(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let out = act(&state, &id, Action::Escalate, &body).await?;
    Ok(HttpResponse::Ok().json(ErrorRecordView::from(&out.record)))
}
