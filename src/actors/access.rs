//! AccessActor: API tokens and the audit log's reader. Revoking a token also closes
//! the WebSocket sessions opened with it, on this instance at once and on the others through
//! the event bridge.

use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::actors::lifecycle::impl_lifecycle_handlers;
use crate::actors::supervisor::RestartTracker;
use crate::actors::ws::hub::WsHub;
use crate::actors::ws::messages::CloseTokenSessions;
use crate::actors::Services;
use crate::db::api_tokens::{self, TokenWriteError};
use crate::db::audit::{self, AuditRow, ListFilter};
use crate::db::pagination::{Cursor, Page};
use crate::db::secrets::{self, SecretView, SecretWriteError};
use crate::db::DbError;
use crate::domain::access::{token_from_bytes, token_hash, Role};
use crate::views::TokenView;

/// Name in logs.
pub const NAME: &str = "access";

/// Why an access request failed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<SecretWriteError> for AccessError {
    fn from(e: SecretWriteError) -> Self {
        match e {
            SecretWriteError::Exists(_) => AccessError::Conflict(e.to_string()),
            SecretWriteError::NotFound(_) => AccessError::NotFound(e.to_string()),
            SecretWriteError::Key(m) => AccessError::Unavailable(format!("secret store: {m}")),
            SecretWriteError::Db(db) => AccessError::Db(db),
        }
    }
}

impl From<TokenWriteError> for AccessError {
    fn from(e: TokenWriteError) -> Self {
        match e {
            TokenWriteError::DuplicateName(_) => AccessError::Conflict(e.to_string()),
            TokenWriteError::Db(db) => AccessError::Db(db),
        }
    }
}

/// Creates a token; the answer carries the token itself, the only time it is shown.
#[derive(Message)]
#[rtype(result = "Result<TokenView, AccessError>")]
pub struct CreateToken {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Active tokens, without secrets.
#[derive(Message)]
#[rtype(result = "Result<Vec<TokenView>, AccessError>")]
pub struct ListTokens;

/// Revokes a token and closes its WebSocket sessions.
#[derive(Message)]
#[rtype(result = "Result<TokenView, AccessError>")]
pub struct RevokeToken(pub Uuid);

/// Stores a new secret (sealed); the answer never carries the value.
#[derive(Message)]
#[rtype(result = "Result<SecretView, AccessError>")]
pub struct CreateSecret {
    pub name: String,
    pub value: String,
}

/// Replaces a secret's value.
#[derive(Message)]
#[rtype(result = "Result<SecretView, AccessError>")]
pub struct UpdateSecret {
    pub name: String,
    pub value: String,
}

/// Deletes a secret (tasks still referring to it fail as `spawn` when they start).
#[derive(Message)]
#[rtype(result = "Result<(), AccessError>")]
pub struct DeleteSecret(pub String);

/// Every secret's name and times.
#[derive(Message)]
#[rtype(result = "Result<Vec<SecretView>, AccessError>")]
pub struct ListSecrets;

/// A page of the audit log.
#[derive(Message)]
#[rtype(result = "Result<Page<AuditRow>, DbError>")]
pub struct ListAudit {
    pub filter: ListFilter,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

/// See the module docs.
pub struct AccessActor {
    services: Services,
    hub: Addr<WsHub>,
    tracker: RestartTracker,
    running: bool,
}

impl AccessActor {
    /// The actor for this instance.
    pub fn new(services: Services, hub: Addr<WsHub>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        AccessActor {
            services,
            hub,
            tracker,
            running: false,
        }
    }
}

/// A new random token and the hash stored for it.
pub fn new_token() -> Result<(String, String), String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a token: {e}"))?;
    let token = token_from_bytes(&bytes);
    let hash = token_hash(&token);
    Ok((token, hash))
}

impl Actor for AccessActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.running = true;
    }
}

impl Supervised for AccessActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(AccessActor);

impl Handler<CreateToken> for AccessActor {
    type Result = ResponseFuture<Result<TokenView, AccessError>>;

    fn handle(&mut self, msg: CreateToken, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            let (token, hash) = new_token().map_err(AccessError::Unavailable)?;
            let row = api_tokens::insert(&pool, &msg.name, msg.role, &hash, msg.expires_at).await?;
            log::info!(
                "api token created: token={} name={} role={}",
                row.id,
                row.name,
                row.role
            );
            Ok(TokenView {
                token: Some(token),
                ..TokenView::from(&row)
            })
        })
    }
}

impl Handler<ListTokens> for AccessActor {
    type Result = ResponseFuture<Result<Vec<TokenView>, AccessError>>;

    fn handle(&mut self, _: ListTokens, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            let rows = api_tokens::list_active(&pool).await?;
            Ok(rows.iter().map(TokenView::from).collect())
        })
    }
}

impl Handler<RevokeToken> for AccessActor {
    type Result = ResponseFuture<Result<TokenView, AccessError>>;

    fn handle(&mut self, msg: RevokeToken, _: &mut Context<Self>) -> Self::Result {
        let (pool, hub) = (self.services.pool.clone(), self.hub.clone());
        Box::pin(async move {
            let row = api_tokens::revoke(&pool, msg.0)
                .await?
                .ok_or_else(|| AccessError::NotFound(format!("no active token {}", msg.0)))?;
            log::info!("api token revoked: token={} name={}", row.id, row.name);
            hub.do_send(CloseTokenSessions(row.id));
            Ok(TokenView::from(&row))
        })
    }
}

impl Handler<ListAudit> for AccessActor {
    type Result = ResponseFuture<Result<Page<AuditRow>, DbError>>;

    fn handle(&mut self, msg: ListAudit, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { audit::list(&pool, &msg.filter, msg.limit, msg.cursor).await })
    }
}

impl Handler<CreateSecret> for AccessActor {
    type Result = ResponseFuture<Result<SecretView, AccessError>>;

    fn handle(&mut self, msg: CreateSecret, _: &mut Context<Self>) -> Self::Result {
        let (pool, keyring) = (self.services.pool.clone(), self.services.keyring.clone());
        Box::pin(async move {
            let v = secrets::create(&pool, &keyring, &msg.name, &msg.value).await?;
            log::info!("secret created: name={}", v.name);
            Ok(v)
        })
    }
}

impl Handler<UpdateSecret> for AccessActor {
    type Result = ResponseFuture<Result<SecretView, AccessError>>;

    fn handle(&mut self, msg: UpdateSecret, _: &mut Context<Self>) -> Self::Result {
        let (pool, keyring) = (self.services.pool.clone(), self.services.keyring.clone());
        Box::pin(async move {
            let v = secrets::update(&pool, &keyring, &msg.name, &msg.value).await?;
            log::info!("secret updated: name={}", v.name);
            Ok(v)
        })
    }
}

impl Handler<DeleteSecret> for AccessActor {
    type Result = ResponseFuture<Result<(), AccessError>>;

    fn handle(&mut self, msg: DeleteSecret, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            if !secrets::delete(&pool, &msg.0).await? {
                return Err(AccessError::NotFound(format!(
                    "no secret named `{}`",
                    msg.0
                )));
            }
            log::info!("secret deleted: name={}", msg.0);
            Ok(())
        })
    }
}

impl Handler<ListSecrets> for AccessActor {
    type Result = ResponseFuture<Result<Vec<SecretView>, AccessError>>;

    fn handle(&mut self, _: ListSecrets, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { Ok(secrets::list(&pool).await?) })
    }
}
