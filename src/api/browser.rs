//! Browser defences, decided before any route: a `Host` that is not this server's
//! (DNS rebinding) and a foreign `Origin` on a state change or a WebSocket upgrade (CSRF,
//! cross-site WebSocket hijacking) get 403; a body that is not JSON gets 415.

use std::net::SocketAddr;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::AppState;
use crate::api::error::ApiError;

/// The local address a connection was accepted on (set in `on_connect`).
#[derive(Debug, Clone, Copy)]
pub struct LocalAddr(pub SocketAddr);

/// Host names every instance answers to.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The host part of a `Host` header or an origin's authority: `[::1]:80` → `[::1]`.
pub fn host_name(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if a.starts_with('[') {
        return match a.find(']') {
            Some(end) => a[..=end].to_string(),
            None => a,
        };
    }
    match a.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.to_string(),
        _ => a,
    }
}

fn ip_host(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    }
}

/// True when `host` (a `Host` header) names this server.
pub fn host_allowed(host: &str, allowed: &[String], local: &[SocketAddr]) -> bool {
    let name = host_name(host);
    LOOPBACK_HOSTS.contains(&name.as_str())
        || local
            .iter()
            .any(|a| !a.ip().is_unspecified() && ip_host(a) == name)
        || allowed.iter().any(|h| h == "*" || host_name(h) == name)
}

/// True when `origin` is the request's own (same authority as `host`) or explicitly allowed.
pub fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if allowed
        .iter()
        .any(|o| o.trim().trim_end_matches('/').eq_ignore_ascii_case(&origin))
    {
        return true;
    }
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // "null" and other opaque origins
    };
    matches!(scheme, "http" | "https")
        && host.is_some_and(|h| h.trim().eq_ignore_ascii_case(authority))
}

/// True for `application/json` and `application/<something>+json`, with parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn has_body(req: &ServiceRequest) -> bool {
    let length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || req.headers().contains_key(TRANSFER_ENCODING)
}

/// The checks, in order; the first failure answers.
fn check(req: &ServiceRequest, state: &AppState) -> Result<(), ApiError> {
    let server = &state.services.config.server;
    let host = req.headers().get(HOST).and_then(|v| v.to_str().ok());
    let mut local = vec![];
    if let Some(LocalAddr(a)) = req.conn_data::<LocalAddr>() {
        local.push(*a);
    }
    if let Ok(bound) = state.services.config.bind_addr() {
        local.push(bound);
    }
    if let Some(h) = host {
        if !host_allowed(h, &server.allowed_hosts, &local) {
            return Err(ApiError::Forbidden(format!(
                "Host `{}` is not this server: add it to server.allowed_hosts",
                host_name(h)
            )));
        }
    }
    let upgrade = req
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe || upgrade {
        if let Some(origin) = req.headers().get(ORIGIN) {
            let origin = origin.to_str().unwrap_or("null");
            if !origin_allowed(origin, host, &server.allowed_origins) {
                return Err(ApiError::Forbidden(format!(
                    "Origin `{origin}` may not {} this server: add it to server.allowed_origins",
                    if upgrade {
                        "open a WebSocket on"
                    } else {
                        "change state on"
                    }
                )));
            }
        }
    }
    if has_body(req) {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(ct) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type must be application/json, got `{ct}`"
            )));
        }
    }
    Ok(())
}

/// Middleware running [`check`] on every request.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        if let Err(e) = check(&req, &state) {
            log::info!(
                "request refused: {} {} reason={e}",
                req.method(),
                req.match_info().as_str()
            );
            return Ok(req.into_response(e.error_response()));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let local: Vec<SocketAddr> = vec![
            "10.1.2.3:8080".parse().unwrap_or_else(|_| unreachable!()),
            "0.0.0.0:8080".parse().unwrap_or_else(|_| unreachable!()),
        ];
        let none: Vec<String> = vec![];
        for ok in [
            "localhost:8080",
            "127.0.0.1",
            "[::1]:1",
            "LOCALHOST",
            "10.1.2.3:8080",
        ] {
            assert!(host_allowed(ok, &none, &local), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "0.0.0.0:8080",
            "127.0.0.2",
            "localhost.evil",
        ] {
            assert!(!host_allowed(bad, &none, &local), "{bad}");
        }
        assert!(host_allowed(
            "tf.internal:443",
            &["tf.internal".into()],
            &local
        ));
        assert!(host_allowed("anything", &["*".into()], &local));
    }

    #[test]
    fn origins() {
        let none: Vec<String> = vec![];
        assert!(origin_allowed(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            &none
        ));
        assert!(origin_allowed(
            "https://tf.example",
            Some("tf.example"),
            &none
        ));
        assert!(!origin_allowed(
            "http://evil.example",
            Some("127.0.0.1:8080"),
            &none
        ));
        assert!(!origin_allowed(
            "http://127.0.0.1:9999",
            Some("127.0.0.1:8080"),
            &none
        ));
        assert!(!origin_allowed("null", Some("127.0.0.1:8080"), &none));
        assert!(!origin_allowed("file://", Some("127.0.0.1:8080"), &none));
        assert!(origin_allowed(
            "https://ops.example/",
            None,
            &["https://ops.example".into()]
        ));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json(""));
    }
}
