//! Views of tokens, secrets, the audit log and the caller.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::api_tokens::TokenRow;
use crate::db::audit::AuditRow;
pub use crate::db::secrets::SecretView;
use crate::domain::access::{Principal, Role};

/// The API object of a token (`GET /api/tokens`); `token` is only set in the create answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    /// viewer | operator | admin
    pub role: Role,
    /// The secret, shown once: only in the answer to `POST /api/tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&TokenRow> for TokenView {
    /// Without the secret.
    fn from(r: &TokenRow) -> Self {
        TokenView {
            id: r.id,
            name: r.name.clone(),
            role: r.role(),
            token: None,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// The API object of an entry (`GET /api/audit`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// A token's name, `env-token`, `anonymous` (auth off), `cli` or `system`.
    pub actor: String,
    pub role: String,
    /// e.g. `schedule.create`, `error.resolve`, `token.revoke`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<&AuditRow> for AuditView {
    fn from(r: &AuditRow) -> Self {
        AuditView {
            id: r.id,
            at: r.at,
            actor: r.actor.clone(),
            role: r.role.clone(),
            action: r.action.clone(),
            resource_type: r.resource_type.clone(),
            resource_id: r.resource_id.clone(),
            ip: r.ip.clone(),
            details: r.details.clone(),
        }
    }
}

/// The caller (`GET /api/whoami`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhoamiView {
    /// The token's name, `env-token`, or `anonymous` when authentication is off.
    pub actor: String,
    pub role: Role,
    pub auth_enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

impl WhoamiView {
    /// The view of `p`.
    pub fn of(p: &Principal, auth_enabled: bool) -> Self {
        WhoamiView {
            actor: p.actor.clone(),
            role: p.role,
            auth_enabled,
            expires_at: p.expires_at,
        }
    }
}
