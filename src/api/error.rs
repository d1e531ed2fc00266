//! The one API error type: stable codes, one status table, one JSON envelope
//! `{"error": {"code", "message", "details"}}` for every failure the API reports.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

use crate::db::DbError;

/// Everything an API call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the input is malformed or invalid; the message names the field.
    #[error("{message}")]
    Validation {
        message: String,
        details: Option<Value>,
    },
    /// 401: missing, wrong, expired or revoked token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a valid token whose role is too small, or a foreign Host/Origin.
    #[error("{0}")]
    Forbidden(String),
    /// 404: unknown id or route.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: the current state does not allow this (duplicate name, finished execution...).
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is over the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: a body that is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many calls; try again after this many seconds.
    #[error("{0}")]
    RateLimited(String, u64),
    /// 503: shutting down, database or an actor unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected database answer; logged, never caused by input.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming `field`.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> ApiError {
        ApiError::Validation {
            message: format!("{field}: {problem}"),
            details: Some(json!([{ "field": field, "message": problem.to_string() }])),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "validation_failed",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RateLimited(..) => "rate_limited",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The JSON envelope.
    pub fn body(&self) -> Value {
        let details = match self {
            ApiError::Validation { details, .. } => details.clone().unwrap_or(Value::Null),
            _ => Value::Null,
        };
        json!({ "error": { "code": self.code(), "message": self.to_string(), "details": details } })
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            // The detail (often the database's own text) is logged, never sent.
            ApiError::Internal(m) => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                log::error!("internal error: ref={id} {m}");
                let body = json!({ "error": { "code": self.code(),
                    "message": format!("internal error (logged as ref {id})"), "details": null } });
                return resp.json(body);
            }
            ApiError::Unavailable(_) => {
                resp.insert_header((actix_web::http::header::RETRY_AFTER, "5"));
            }
            ApiError::RateLimited(_, secs) => {
                resp.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
            }
            _ => {}
        }
        resp.json(self.body())
    }
}

impl From<DbError> for ApiError {
    /// PostgreSQL's own text goes to the log only; the client learns the class.
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            log::warn!("database unavailable for a request: {e}");
            ApiError::Unavailable("database unavailable; try again shortly".into())
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(e: actix::MailboxError) -> Self {
        // An actor that is restarting or stopped: temporary, so 503 rather than 500.
        ApiError::Unavailable(format!("service component unavailable: {e}"))
    }
}

/// The envelope for a bare status produced outside our handlers (unknown route, wrong method).
pub fn for_status(status: StatusCode, path: &str, method: &str) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound(format!("no route for {method} {path}")),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::MethodNotAllowed(format!("method {method} is not allowed on {path}"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge("request body is over the size limit".into())
        }
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized("authentication required".into()),
        StatusCode::FORBIDDEN => ApiError::Forbidden(format!("{method} {path} is not allowed")),
        s if s.is_server_error() => ApiError::Internal(format!("{s} on {method} {path}")),
        s => ApiError::Validation {
            message: s.canonical_reason().unwrap_or("bad request").to_lowercase(),
            details: None,
        },
    }
}
