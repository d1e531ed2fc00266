//! `/api/whoami`, `/api/tokens`, `/api/audit`. Handlers validate, send one message
//! to the AccessActor, map the reply.

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::Value;

use super::params::{self, Query};
use super::AppState;
use crate::actors::access::{AccessError, CreateToken, ListAudit, ListTokens, RevokeToken};
use crate::api::error::ApiError;
use crate::db::audit::ListFilter;
use crate::domain::access::{Principal, Role};
use crate::domain::clock;
use crate::domain::validate::{FieldErrors, Obj};
use crate::views::{AuditView, PageView, TokenView, WhoamiView};

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::NotFound(m) => ApiError::NotFound(m),
            AccessError::Conflict(m) => ApiError::Conflict(m),
            AccessError::Unavailable(m) => ApiError::Unavailable(m),
            AccessError::Db(db) => db.into(),
        }
    }
}

fn invalid(e: FieldErrors) -> ApiError {
    ApiError::Validation {
        message: e.summary(),
        details: Some(e.details()),
    }
}

/// GET /api/whoami: the caller's name and role (the dashboard shows only what the role may do).
#[utoipa::path(get, path = "/api/whoami", tag = "access", responses((status = 200, body = WhoamiView), (status = 401, body = crate::api::bodies::ErrorBody)))]
pub async fn whoami(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let p = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(Principal::anonymous);
    HttpResponse::Ok().json(WhoamiView::of(&p, state.auth.enabled()))
}

/// POST /api/tokens → 201 with the token (shown only here).
#[utoipa::path(post, path = "/api/tokens", tag = "access", request_body = crate::api::bodies::TokenInputDoc, responses((status = 201, body = TokenView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 403, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn create_token(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let mut e = FieldErrors::default();
    let obj = Obj::new(&body, "", &mut e).ok_or_else(|| invalid(std::mem::take(&mut e)))?;
    obj.only(&["name", "role", "expiresAt"], &mut e);
    let name = obj.req_str("name", &mut e);
    if let Some(n) = &name {
        let chars = n.chars().count();
        if n.trim().is_empty() || chars > state.limits.name_max_chars {
            e.add(
                "name",
                format!("must be 1 to {} characters", state.limits.name_max_chars),
            );
        }
    }
    let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let role = match obj.get("role") {
        None => {
            e.add("role", "is required (viewer, operator or admin)");
            None
        }
        Some(_) => obj
            .opt_enum("role", &names, &mut e)
            .and_then(|r| Role::parse(&r)),
    };
    let expires_at = obj.opt_time("expiresAt", &mut e);
    if expires_at.is_some_and(|t| t <= clock::now()) {
        e.add("expiresAt", "must be in the future");
    }
    let (Some(name), Some(role), true) = (name, role, e.is_empty()) else {
        return Err(invalid(e));
    };
    let view = state
        .actors
        .access
        .send(CreateToken {
            name,
            role,
            expires_at,
        })
        .await??;
    state.auth.token_created();
    Ok(HttpResponse::Created().json(view))
}

/// GET /api/tokens: active tokens, never their secrets.
#[utoipa::path(get, path = "/api/tokens", tag = "access", responses((status = 200, body = PageView<TokenView>), (status = 401, body = crate::api::bodies::ErrorBody), (status = 403, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn list_tokens(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = state.actors.access.send(ListTokens).await??;
    Ok(HttpResponse::Ok().json(PageView::all(items)))
}

/// DELETE /api/tokens/{id}: revoked at once; its WebSocket sessions are closed.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "access", params(("id" = uuid::Uuid, Path, description = "UUID")), responses((status = 204, description = "Revoked"), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 403, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn revoke_token(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    state.actors.access.send(RevokeToken(id)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// GET /api/audit: who changed what, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "access", params(("limit" = Option<i64>, Query, description = "1..=500, default 50"), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page"), ("actor" = Option<String>, Query,), ("action" = Option<String>, Query,), ("resourceId" = Option<String>, Query,), ("since" = Option<String>, Query, format = DateTime, description = "RFC 3339"), ("until" = Option<String>, Query, format = DateTime, description = "RFC 3339")), responses((status = 200, body = PageView<AuditView>), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 403, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn list_audit(
    state: web::Data<AppState>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = params::paging(&q)?;
    let filter = ListFilter {
        actor: params::opt_text(&q, "actor")?,
        action: params::opt_text(&q, "action")?,
        resource_id: params::opt_text(&q, "resourceId")?,
        since: params::opt_time(&q, "since")?,
        until: params::opt_time(&q, "until")?,
    };
    let page = state
        .actors
        .access
        .send(ListAudit {
            filter,
            limit,
            cursor,
        })
        .await??;
    Ok(HttpResponse::Ok().json(PageView::of(&page, AuditView::from)))
}
