//! Who may do what: roles, the access rule of a route, the caller of a request, and
//! the API token format. Pure: hashing and comparison only, no storage.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A token's role; each one may do everything the one before it may.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every GET and `/ws`.
    Viewer,
    /// Viewer plus trigger, pause, resume, cancel, backfill and the error actions.
    Operator,
    /// Everything: schedule create/edit/delete, tokens, secrets, audit.
    Admin,
}

impl Role {
    /// Every role, smallest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The wire and SQL name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token (health, the dashboard's files, inbound webhooks).
    Open,
    /// `/metrics`: open unless `server.metrics_require_token`, then viewer.
    Metrics,
    /// A token with at least this role.
    Role(Role),
}

/// The caller of a request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// For the audit log: the token's name, `env-token`, or `anonymous` with auth off.
    pub actor: String,
    pub role: Role,
    /// The `api_tokens` row, for database tokens (revocation closes its sessions).
    pub token_id: Option<Uuid>,
    /// When the token stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Principal {
    /// A webhook call: no token, proven by its signature (the audit log's actor).
    pub fn webhook() -> Principal {
        Principal {
            actor: "webhook".into(),
            role: Role::Viewer,
            token_id: None,
            expires_at: None,
        }
    }

    /// The caller when authentication is off (no token configured): loopback admin.
    pub fn anonymous() -> Principal {
        Principal {
            actor: "anonymous".into(),
            role: Role::Admin,
            token_id: None,
            expires_at: None,
        }
    }

    /// The bootstrap token from `TASKFORGE_API_TOKEN`.
    pub fn env_token() -> Principal {
        Principal {
            actor: "env-token".into(),
            role: Role::Admin,
            token_id: None,
            expires_at: None,
        }
    }

    /// True when this caller may use a route with `access`.
    pub fn may(&self, access: Access) -> bool {
        match access {
            Access::Open | Access::Metrics => true,
            Access::Role(min) => self.role >= min,
        }
    }
}

/// Prefix of generated tokens, so they are recognisable in a leak scan.
pub const TOKEN_PREFIX: &str = "tf_";

/// A new token from 32 random bytes: `tf_` + 64 hex digits.
pub fn token_from_bytes(bytes: &[u8; 32]) -> String {
    format!("{TOKEN_PREFIX}{}", hex(bytes))
}

/// What is stored instead of a token: its SHA-256, hex. Tokens carry 256 bits of randomness,
/// so a fast hash is enough (nothing to brute-force).
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Compares without an early exit, so timing does not reveal how much of a secret matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
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
    use proptest::prelude::*;

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        let viewer = Principal {
            role: Role::Viewer,
            ..Principal::anonymous()
        };
        assert!(viewer.may(Access::Role(Role::Viewer)));
        assert!(!viewer.may(Access::Role(Role::Operator)));
        assert!(viewer.may(Access::Open));
    }

    #[test]
    fn tokens_look_alike_and_hash_stably() {
        let t = token_from_bytes(&[7; 32]);
        assert!(t.starts_with("tf_") && t.len() == 67, "{t}");
        assert_eq!(token_hash(&t), token_hash(&t));
        assert_ne!(token_hash(&t), token_hash("tf_other"));
        assert_eq!(token_hash("").len(), 64);
    }

    #[test]
    fn equality_is_exact() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret1"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    proptest! {
        #[test]
        fn constant_time_eq_is_equality(a in proptest::collection::vec(any::<u8>(), 0..40),
                                        b in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(constant_time_eq(&a, &b), a == b);
            prop_assert!(constant_time_eq(&a, &a));
        }
    }
}
