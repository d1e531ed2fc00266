//! `/api/errors/errors`: the error dashboard's API.

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use super::params::{self, Query};
use super::AppState;
use crate::actors::recovery::messages::{ApplyAction, BulkAction, GetError, ListErrors};
use crate::api::error::ApiError;
use crate::db::error_records::bulk::BulkFilter;
use crate::db::error_records::{ActionError, By, ListFilter};
use crate::domain::access::Principal;
use crate::domain::recovery::Action;
use crate::domain::states::RecoveryStatus;
use crate::views::{BulkView, ErrorRecordDetailView, ErrorRecordView, ExecutionIdView, PageView};

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
    let (rec, attempts, history) = state
        .actors
        .recovery
        .send(GetError(id))
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("error record {id} not found")))?;
    Ok(HttpResponse::Ok().json(ErrorRecordDetailView::of(&rec, &attempts, &history)))
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

/// The caller's name, for the record's history.
fn actor(req: &HttpRequest) -> String {
    req.extensions()
        .get::<Principal>()
        .map_or_else(|| Principal::anonymous().actor, |p| p.actor.clone())
}

async fn act(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
    action: Action,
    body: &web::Bytes,
) -> Result<crate::actors::recovery::messages::ActionOutcome, ApiError> {
    let id = params::path_id(id)?;
    let note = note(body, state.limits.note_max_chars)?;
    let by = By {
        actor: actor(req),
        note,
    };
    Ok(state
        .actors
        .recovery
        .send(ApplyAction { id, action, by })
        .await??)
}

/// POST /api/errors/errors/{id}/retry → 202 {"executionId"}
#[utoipa::path(post, path = "/api/errors/errors/{id}/retry", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::NoteDoc>), responses((status = 202, body = ExecutionIdView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn retry(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let out = act(&req, &state, &id, Action::Retry, &body).await?;
    Ok(HttpResponse::Accepted().json(ExecutionIdView {
        execution_id: out.execution.map(|e| e.id),
    }))
}

/// POST /api/errors/errors/{id}/resolve
#[utoipa::path(post, path = "/api/errors/errors/{id}/resolve", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::NoteDoc>), responses((status = 200, body = ErrorRecordView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn resolve(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let out = act(&req, &state, &id, Action::Resolve, &body).await?;
    Ok(HttpResponse::Ok().json(ErrorRecordView::from(&out.record)))
}

/// POST /api/errors/errors/{id}/ignore
#[utoipa::path(post, path = "/api/errors/errors/{id}/ignore", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::NoteDoc>), responses((status = 200, body = ErrorRecordView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn ignore(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let out = act(&req, &state, &id, Action::Ignore, &body).await?;
    Ok(HttpResponse::Ok().json(ErrorRecordView::from(&out.record)))
}

/// POST /api/errors/errors/{id}/escalate
#[utoipa::path(post, path = "/api/errors/errors/{id}/escalate", tag = "errors", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body(content = Option<crate::api::bodies::NoteDoc>), responses((status = 200, body = ErrorRecordView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn escalate(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let out = act(&req, &state, &id, Action::Escalate, &body).await?;
    Ok(HttpResponse::Ok().json(ErrorRecordView::from(&out.record)))
}

/// POST /api/errors/bulk {"action", "filter": {"scheduleId"?, "fingerprint"?, "recoveryStatus"?},
/// "note"?} → {"affected", "skipped"}
#[utoipa::path(post, path = "/api/errors/bulk", tag = "errors", request_body = crate::api::bodies::BulkDoc, responses((status = 200, body = BulkView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 403, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn bulk(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let max_note = state.limits.note_max_chars;
    let parsed = params::optional_body(&body, |o, e| {
        o.only(&["action", "filter", "note"], e);
        let action = o
            .opt_enum("action", &["resolve", "ignore", "retry", "escalate"], e)
            .map(|a| match a.as_str() {
                "resolve" => Action::Resolve,
                "ignore" => Action::Ignore,
                "retry" => Action::Retry,
                _ => Action::Escalate,
            });
        if action.is_none() && o.get("action").is_none() {
            e.add("action", "required: resolve, ignore, retry or escalate");
        }
        let note = o.opt_str("note", e);
        if note.as_ref().is_some_and(|n| n.chars().count() > max_note) {
            e.add("note", format!("must be at most {max_note} characters"));
        }
        let filter = match o.get("filter") {
            None => {
                e.add(
                    "filter",
                    "required: scheduleId, fingerprint and/or recoveryStatus",
                );
                None
            }
            Some(v) => crate::domain::validate::Obj::new(v, "filter", e).map(|f| {
                f.only(&["scheduleId", "fingerprint", "recoveryStatus"], e);
                let schedule_id = f.opt_str("scheduleId", e).and_then(|s| {
                    uuid::Uuid::parse_str(&s)
                        .map_err(|_| e.add("filter.scheduleId", "must be a UUID"))
                        .ok()
                });
                let fingerprint = f.opt_str("fingerprint", e);
                let recovery_status = statuses(f.get("recoveryStatus"), e);
                let filter = BulkFilter {
                    schedule_id,
                    fingerprint,
                    recovery_status,
                };
                if filter.schedule_id.is_none()
                    && filter.fingerprint.is_none()
                    && filter.recovery_status.is_empty()
                {
                    e.add(
                        "filter",
                        "name at least one of scheduleId, fingerprint, recoveryStatus",
                    );
                }
                filter
            }),
        };
        (action, filter, note)
    })?;
    let Some((Some(action), Some(filter), note)) = parsed else {
        return Err(ApiError::invalid("action", "required: a JSON object body"));
    };
    let by = By {
        actor: actor(&req),
        note,
    };
    let out = state
        .actors
        .recovery
        .send(BulkAction { action, filter, by })
        .await??;
    Ok(HttpResponse::Ok().json(BulkView {
        affected: out.affected,
        skipped: out.skipped,
    }))
}

/// `recoveryStatus` of a bulk filter: a status, a comma list, or an array of them.
fn statuses(
    v: Option<&serde_json::Value>,
    e: &mut crate::domain::validate::FieldErrors,
) -> Vec<RecoveryStatus> {
    let names: Vec<String> = match v {
        None | Some(serde_json::Value::Null) => return Vec::new(),
        Some(serde_json::Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().unwrap_or("").to_string())
            .collect(),
        Some(_) => {
            e.add(
                "filter.recoveryStatus",
                "must be a status, a comma list or an array",
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for n in names {
        match RecoveryStatus::parse(&n) {
            Some(st) => out.push(st),
            None => e.add(
                "filter.recoveryStatus",
                format!(
                    "unknown status `{n}`: one of {}",
                    RecoveryStatus::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    out
}
