//! `taskforge token create|list|revoke`: API tokens straight in the database, for a first
//! token without the environment one. Each change is in the audit log with actor `cli`.

use clap::Subcommand;
use serde_json::json;

use crate::actors::ws::messages::TOKEN_REVOKED;
use crate::config::Config;
use crate::db::api_tokens::{self, TokenWriteError};
use crate::db::audit::{self, NewAudit};
use crate::db::outbox::{self, NewOutbox};
use crate::db::DbPool;
use crate::domain::access::Role;
use crate::domain::validate::parse_time;

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (it is shown only this once).
    Create {
        /// A name for the token (shown in the audit log), unique among active tokens.
        #[arg(long)]
        name: String,
        /// viewer (reads, /ws), operator (also trigger, pause, cancel, error actions) or admin.
        #[arg(long, value_parser = ["viewer", "operator", "admin"])]
        role: String,
        /// When the token stops working (RFC 3339).
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
    },
    /// List active tokens (never their secrets).
    List,
    /// Revoke a token by id: refused at once, its WebSocket sessions closed.
    Revoke {
        /// The token's id (from `token list`).
        id: uuid::Uuid,
    },
}

/// Runs one token command against the configured database; returns the exit code.
pub fn run(config: Config, cmd: TokenCommand) -> i32 {
    crate::app::with_migrated_pool(config, |pool| async move {
        match execute(&pool, cmd).await {
            Ok(text) => i32::from(super::print(&text)),
            Err(e) => {
                log::error!("{e}");
                1
            }
        }
    })
}

async fn execute(pool: &DbPool, cmd: TokenCommand) -> Result<String, String> {
    match cmd {
        TokenCommand::Create {
            name,
            role,
            expires_at,
        } => {
            let role =
                Role::parse(&role).ok_or_else(|| format!("--role: unknown role `{role}`"))?;
            if name.trim().is_empty() || name.contains('\0') || name.chars().count() > 200 {
                return Err("--name: must be 1 to 200 characters".into());
            }
            let expires_at = expires_at
                .map(|t| parse_time(&t).map_err(|e| format!("--expires-at: {e}")))
                .transpose()?;
            if expires_at.is_some_and(|t| t <= crate::domain::clock::now()) {
                return Err("--expires-at: must be in the future".into());
            }
            let (token, hash) = crate::actors::access::new_token()?;
            let row = api_tokens::insert(pool, &name, role, &hash, expires_at)
                .await
                .map_err(|e| match e {
                    TokenWriteError::DuplicateName(_) => format!("--name: {e}"),
                    other => other.to_string(),
                })?;
            let mut entry = NewAudit::new("cli", "admin", "token.create", Some(row.id.to_string()));
            entry.details = json!({"name": row.name, "role": row.role});
            audit::insert(pool, &[entry])
                .await
                .map_err(|e| format!("audit log: {e}"))?;
            log::info!(
                "api token created: token={} name={} role={}",
                row.id,
                row.name,
                row.role
            );
            Ok(format!("{token}\n"))
        }
        TokenCommand::List => {
            let rows = api_tokens::list_active(pool)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = String::from("ID\tNAME\tROLE\tCREATED\tEXPIRES\tLAST USED\n");
            for r in rows {
                let t = |v: Option<chrono::DateTime<chrono::Utc>>| {
                    v.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
                };
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\n",
                    r.id,
                    r.name,
                    r.role,
                    r.created_at.to_rfc3339(),
                    t(r.expires_at),
                    t(r.last_used_at)
                ));
            }
            Ok(out)
        }
        TokenCommand::Revoke { id } => {
            let row = api_tokens::revoke(pool, id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no active token {id}"))?;
            let mut entry = NewAudit::new("cli", "admin", "token.revoke", Some(row.id.to_string()));
            entry.details = json!({"name": row.name});
            audit::insert(pool, &[entry])
                .await
                .map_err(|e| format!("audit log: {e}"))?;
            // Running instances close the token's WebSocket sessions when they read this.
            let notice = NewOutbox {
                instance_id: uuid::Uuid::nil(),
                kind: TOKEN_REVOKED.to_string(),
                schedule_id: None,
                execution_id: None,
                payload: row.id.to_string(),
            };
            if let Err(e) = outbox::publish(pool, &[notice]).await {
                log::warn!("running instances not told about the revocation (their open sessions of this token stay until they reconnect): {e}");
            }
            log::info!("api token revoked: token={} name={}", row.id, row.name);
            Ok(format!("revoked {} ({})\n", row.id, row.name))
        }
    }
}
