//! `/api/executions`: list, read, output, cancel.

use actix_web::{web, HttpResponse};

use super::params::{self, Query};
use super::AppState;
use crate::actors::execution::messages::{
    CancelError, CancelExecution, GetExecution, GetOutput, ListExecutions,
};
use crate::api::error::ApiError;
use crate::db::executions::ListFilter;
use crate::views::{ExecutionView, OutputView, PageView};

impl From<CancelError> for ApiError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound(_) => ApiError::NotFound(e.to_string()),
            CancelError::Finished { .. } => ApiError::Conflict(e.to_string()),
            CancelError::Db(db) => db.into(),
        }
    }
}

/// GET /api/executions
#[utoipa::path(get, path = "/api/executions", tag = "executions", params(("limit" = Option<i64>, Query, description = "1..=500, default 50"), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page"), ("scheduleId" = Option<String>, Query,), ("status" = Option<String>, Query,), ("trigger" = Option<String>, Query,), ("chainedFrom" = Option<String>, Query, description = "UUID of the execution whose end started them"), ("since" = Option<String>, Query, format = DateTime, description = "RFC 3339"), ("until" = Option<String>, Query, format = DateTime, description = "RFC 3339")), responses((status = 200, body = PageView<ExecutionView>), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = params::paging(&q)?;
    let filter = ListFilter {
        schedule_id: params::opt_uuid(&q, "scheduleId")?,
        status: params::opt_state(&q, "status")?,
        trigger: params::opt_state(&q, "trigger")?,
        chained_from: params::opt_uuid(&q, "chainedFrom")?,
        since: params::opt_time(&q, "since")?,
        until: params::opt_time(&q, "until")?,
    };
    let page = state
        .actors
        .execution
        .send(ListExecutions {
            filter,
            limit,
            cursor,
        })
        .await??;
    Ok(HttpResponse::Ok().json(PageView::of(&page, ExecutionView::from)))
}

/// GET /api/executions/{id}
#[utoipa::path(get, path = "/api/executions/{id}", tag = "executions", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 200, body = ExecutionView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    match state.actors.execution.send(GetExecution(id)).await?? {
        Some(row) => Ok(HttpResponse::Ok().json(ExecutionView::from(&row))),
        None => Err(ApiError::NotFound(format!("execution {id} not found"))),
    }
}

/// GET /api/executions/{id}/output
#[utoipa::path(get, path = "/api/executions/{id}/output", tag = "executions", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 200, body = crate::views::OutputView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn output(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    match state.actors.execution.send(GetOutput(id)).await?? {
        Some((out, running)) => Ok(HttpResponse::Ok().json(OutputView::of(out, running))),
        None => Err(ApiError::NotFound(format!("execution {id} not found"))),
    }
}

/// POST /api/executions/{id}/cancel
#[utoipa::path(post, path = "/api/executions/{id}/cancel", tag = "executions", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 200, body = ExecutionView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn cancel(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let row = state.actors.execution.send(CancelExecution(id)).await??;
    Ok(HttpResponse::Ok().json(ExecutionView::from(&row)))
}

/// GET /api/stats: counts and per-minute figures for the dashboard overview.
#[utoipa::path(get, path = "/api/stats", tag = "executions",
    responses((status = 200, body = crate::views::Stats), (status = 401, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stats = state
        .actors
        .execution
        .send(crate::actors::execution::messages::GetStats)
        .await??;
    Ok(HttpResponse::Ok().json(stats))
}
