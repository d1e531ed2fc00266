//! Authentication: who the caller is. With auth on (`TASKFORGE_API_TOKEN` set, or any
//! token ever created in `api_tokens`) every request needs a valid token unless the route it is
//! routed to is open. The decision is made on the path the router matches — percent-decoded,
//! `//` merged — never on the raw request line. What a caller may do is decided per route
//! (`routes::authorize`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    HeaderValue, AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL, WWW_AUTHENTICATE,
};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use uuid::Uuid;

use super::AppState;
use crate::api::error::ApiError;
use crate::db::{api_tokens, DbPool};
use crate::domain::access::{constant_time_eq, token_hash, Principal};
use crate::domain::clock;

/// A token's `lastUsedAt` is written at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// How often an instance with auth off checks whether a token was created elsewhere (CLI,
/// another instance).
const ENABLE_CHECK_EVERY: Duration = Duration::from_secs(2);

/// The subprotocol prefix a browser uses to send its token on the WebSocket upgrade.
pub const WS_BEARER_PREFIX: &str = "bearer.";

/// Token verification and whether auth is on.
pub struct Auth {
    env_token: String,
    /// Set once a token exists in `api_tokens`; never cleared (revoking the last token must
    /// not open the gate).
    tokens_exist: AtomicBool,
    touched: Mutex<HashMap<Uuid, Instant>>,
}

impl Auth {
    /// `env_token` is `server.api_token`; `tokens_exist` whether `api_tokens` has rows.
    pub fn new(env_token: String, tokens_exist: bool) -> Auth {
        Auth {
            env_token,
            tokens_exist: AtomicBool::new(tokens_exist),
            touched: Mutex::new(HashMap::new()),
        }
    }

    /// True when requests need a token.
    pub fn enabled(&self) -> bool {
        !self.env_token.is_empty() || self.tokens_exist.load(Ordering::SeqCst)
    }

    /// A token was created: auth is on from now on.
    pub fn token_created(&self) {
        if !self.tokens_exist.swap(true, Ordering::SeqCst) {
            log::warn!("authentication is now required: an API token exists");
        }
    }

    /// Watches for tokens created by the CLI or another instance while auth is off.
    pub fn watch(self: std::sync::Arc<Self>, pool: DbPool) {
        actix::spawn(async move {
            while !self.enabled() {
                tokio::time::sleep(ENABLE_CHECK_EVERY).await;
                if let Ok(true) = api_tokens::any_exist(&pool).await {
                    self.token_created();
                }
            }
        });
    }

    /// The caller a presented token stands for.
    pub async fn verify(&self, presented: &str, pool: &DbPool) -> Result<Principal, ApiError> {
        if !self.env_token.is_empty()
            && constant_time_eq(presented.as_bytes(), self.env_token.as_bytes())
        {
            return Ok(Principal::env_token());
        }
        let row = api_tokens::find_by_hash(pool, &token_hash(presented))
            .await?
            .ok_or_else(|| ApiError::Unauthorized("invalid token".into()))?;
        if row.revoked_at.is_some() {
            return Err(ApiError::Unauthorized("token revoked".into()));
        }
        if row.expires_at.is_some_and(|at| at <= clock::now()) {
            return Err(ApiError::Unauthorized("token expired".into()));
        }
        self.touch(row.id, pool);
        Ok(Principal {
            actor: row.name.clone(),
            role: row.role(),
            token_id: Some(row.id),
            expires_at: row.expires_at,
        })
    }

    fn touch(&self, id: Uuid, pool: &DbPool) {
        let now = Instant::now();
        let due = match self.touched.lock() {
            Ok(mut seen) => {
                let due = seen.get(&id).is_none_or(|at| now - *at >= TOUCH_EVERY);
                if due {
                    seen.insert(id, now);
                }
                due
            }
            Err(_) => false,
        };
        if due {
            let pool = pool.clone();
            actix::spawn(async move {
                if let Err(e) = api_tokens::touch(&pool, id).await {
                    log::debug!("token lastUsedAt not written: token={id} {e}");
                }
            });
        }
    }
}

/// The token a request presents: `Authorization: Bearer`, or on `/ws` a `bearer.<token>`
/// subprotocol or `?token=`.
fn presented(req: &ServiceRequest, routed_path: &str) -> Option<String> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_string());
    if header.is_some() || routed_path != "/ws" {
        return header;
    }
    let protocol = req
        .headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(WS_BEARER_PREFIX).map(str::to_string));
    protocol.or_else(|| {
        web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("token").cloned())
    })
}

/// Middleware: attaches the caller's [`Principal`] to the request, or answers 401 when the
/// routed path needs one and none (or a bad one) is presented.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if !state.auth.enabled() {
        req.extensions_mut().insert(Principal::anonymous());
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // The path as the router will match it (decoded; NormalizePath merged `//` before this).
    let routed = req.match_info().as_str().to_string();
    let metrics_open = !state.services.config.server.metrics_require_token;
    let open = super::routes::is_open(req.method().as_str(), &routed, metrics_open);
    let outcome = match presented(&req, &routed) {
        None => Err(ApiError::Unauthorized(
            "authentication required: send Authorization: Bearer <token>".into(),
        )),
        Some(token) => state.auth.verify(&token, &state.services.pool).await,
    };
    match outcome {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
        }
        Err(_) if open => {}
        Err(e) => {
            let mut resp = e.error_response();
            if matches!(e, ApiError::Unauthorized(_)) {
                resp.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            return Ok(req.into_response(resp));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
