//! `/api/secrets` (admin only): names and times only ever leave the server, never values.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::AppState;
use crate::actors::access::{CreateSecret, DeleteSecret, ListSecrets, UpdateSecret};
use crate::api::error::ApiError;
use crate::domain::sealed::valid_name;
use crate::domain::validate::{FieldErrors, Obj};
use crate::views::{PageView, SecretView};

/// Longest secret value, in bytes.
const MAX_VALUE_BYTES: usize = 65_536;

fn invalid(e: FieldErrors) -> ApiError {
    ApiError::Validation {
        message: e.summary(),
        details: Some(e.details()),
    }
}

fn name_of(raw: &str) -> Result<String, ApiError> {
    if valid_name(raw) {
        Ok(raw.to_string())
    } else {
        Err(ApiError::invalid(
            "name",
            "must be 1 to 100 letters, digits, `_`, `-` or `.`",
        ))
    }
}

/// The `value` of a body (and, for create, its `name`).
fn read(body: &Value, with_name: bool) -> Result<(Option<String>, String), ApiError> {
    let mut e = FieldErrors::default();
    let obj = Obj::new(body, "", &mut e).ok_or_else(|| invalid(std::mem::take(&mut e)))?;
    obj.only(
        if with_name {
            &["name", "value"]
        } else {
            &["value"]
        },
        &mut e,
    );
    let name = with_name.then(|| obj.req_str("name", &mut e)).flatten();
    let value = obj.req_str("value", &mut e);
    if value
        .as_ref()
        .is_some_and(|v| v.is_empty() || v.len() > MAX_VALUE_BYTES)
    {
        e.add("value", format!("must be 1 to {MAX_VALUE_BYTES} bytes"));
    }
    match value {
        Some(v) if e.is_empty() => Ok((name, v)),
        _ => Err(invalid(e)),
    }
}

/// POST /api/secrets → 201 `{"name", "createdAt", "updatedAt"}`.
#[utoipa::path(post, path = "/api/secrets", tag = "access", request_body = crate::api::bodies::SecretInputDoc, responses((status = 201, body = SecretView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let (name, value) = read(&body, true)?;
    let name = name_of(&name.unwrap_or_default())?;
    let view = state
        .actors
        .access
        .send(CreateSecret { name, value })
        .await??;
    Ok(HttpResponse::Created().json(view))
}

/// GET /api/secrets
#[utoipa::path(get, path = "/api/secrets", tag = "access", responses((status = 200, body = PageView<SecretView>), (status = 401, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = state.actors.access.send(ListSecrets).await??;
    Ok(HttpResponse::Ok().json(PageView::all(items)))
}

/// PUT /api/secrets/{name} `{"value"}`
#[utoipa::path(put, path = "/api/secrets/{name}", tag = "access", params(("name" = String, Path, description = "secret name")), request_body = crate::api::bodies::SecretValueDoc, responses((status = 200, body = SecretView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let (_, value) = read(&body, false)?;
    let view = state
        .actors
        .access
        .send(UpdateSecret { name, value })
        .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// DELETE /api/secrets/{name}
#[utoipa::path(delete, path = "/api/secrets/{name}", tag = "access", params(("name" = String, Path, description = "secret name")), responses((status = 204, description = "Deleted"), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn delete(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    state.actors.access.send(DeleteSecret(name)).await??;
    Ok(HttpResponse::NoContent().finish())
}
