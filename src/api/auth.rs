//! Bearer-token authentication (SPEC §2): with a token configured, every `/api/*` route but
//! `/api/health`, and `/ws`, need `Authorization: Bearer <token>` (`/ws` also `?token=`).

use std::collections::HashMap;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::AUTHORIZATION;
use actix_web::web;

use crate::error::ApiError;

/// True for paths that need the token.
pub fn protected(path: &str) -> bool {
    (path.starts_with("/api/") && path != "/api/health") || path == "/ws"
}

/// Ok when no token is configured, the path is open, or the request presents the token.
pub fn check(req: &ServiceRequest, token: &str) -> Result<(), ApiError> {
    if token.is_empty() || !protected(req.path()) {
        return Ok(());
    }
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(String::from);
    let presented = header.or_else(|| {
        (req.path() == "/ws")
            .then(|| web::Query::<HashMap<String, String>>::from_query(req.query_string()).ok())
            .flatten()
            .and_then(|q| q.get("token").cloned())
    });
    match presented {
        None => Err(ApiError::Unauthorized(
            "authentication required: send Authorization: Bearer <token>".into(),
        )),
        Some(p) if constant_time_eq(p.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized("invalid token".into())),
    }
}

/// Compares without an early exit, so timing does not reveal how much of the token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_exact() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret1"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn open_and_protected_paths() {
        assert!(!protected("/api/health"));
        assert!(!protected("/"));
        assert!(!protected("/metrics"));
        assert!(protected("/api/executions"));
        assert!(protected("/ws"));
    }
}
