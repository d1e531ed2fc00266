//! `/api/errors/groups`: error records grouped by fingerprint, one row per problem.

use actix_web::{web, HttpResponse};

use super::params::{self, Query};
use super::AppState;
use crate::actors::recovery::messages::ListErrorGroups;
use crate::api::error::ApiError;
use crate::views::{ErrorGroupView, PageView};

/// GET /api/errors/groups
#[utoipa::path(get, path = "/api/errors/groups", tag = "errors", params(("status" = Option<String>, Query, description = "open (default: groups with records not resolved or ignored) or all"), ("scheduleId" = Option<String>, Query,), ("limit" = Option<i64>, Query, description = "1..=500, default 50"), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page")), responses((status = 200, body = PageView<ErrorGroupView>), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = params::paging(&q)?;
    let open_only = params::opt_choice(&q, "status", &["open", "all"])?.is_none_or(|s| s == "open");
    let page = state
        .actors
        .recovery
        .send(ListErrorGroups {
            open_only,
            schedule_id: params::opt_uuid(&q, "scheduleId")?,
            limit,
            cursor,
        })
        .await??;
    Ok(HttpResponse::Ok().json(PageView::of(&page, ErrorGroupView::from)))
}
