//! `api_tokens`: tokens with roles. Only the SHA-256 of a token is stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::api_tokens::{self, dsl as t};
use super::{conn, DbError, DbPool};
use crate::domain::access::Role;

/// A stored token (without the token).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    /// The stored role (a CHECK constraint keeps it one of the three).
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }
}

/// Why a token could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TokenWriteError {
    #[error("an active token named `{0}` already exists")]
    DuplicateName(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Stores a new token by its hash.
pub async fn insert(
    pool: &DbPool,
    name: &str,
    role: Role,
    hash: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<TokenRow, TokenWriteError> {
    let mut c = conn(pool).await?;
    diesel::insert_into(api_tokens::table)
        .values((
            t::id.eq(Uuid::now_v7()),
            t::name.eq(name),
            t::role.eq(role.as_str()),
            t::token_hash.eq(hash),
            t::expires_at.eq(expires_at),
        ))
        .returning(TokenRow::as_returning())
        .get_result(&mut c)
        .await
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => TokenWriteError::DuplicateName(name.to_string()),
            other => TokenWriteError::Db(DbError::Query(other)),
        })
}

/// The token with this hash, revoked or not.
pub async fn find_by_hash(pool: &DbPool, hash: &str) -> Result<Option<TokenRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(t::api_tokens
        .filter(t::token_hash.eq(hash))
        .select(TokenRow::as_select())
        .first(&mut c)
        .await
        .optional()?)
}

/// Tokens not revoked, newest first (a handful: no pagination needed beyond a bound).
pub async fn list_active(pool: &DbPool) -> Result<Vec<TokenRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(t::api_tokens
        .filter(t::revoked_at.is_null())
        .order((t::created_at.desc(), t::id.desc()))
        .limit(1000)
        .select(TokenRow::as_select())
        .load(&mut c)
        .await?)
}

/// Revokes a token; None when there is no active token with this id.
pub async fn revoke(pool: &DbPool, id: Uuid) -> Result<Option<TokenRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(
        diesel::update(t::api_tokens.filter(t::id.eq(id).and(t::revoked_at.is_null())))
            .set(t::revoked_at.eq(diesel::dsl::now))
            .returning(TokenRow::as_returning())
            .get_result(&mut c)
            .await
            .optional()?,
    )
}

/// Records a use (callers throttle this to about once a minute per token).
pub async fn touch(pool: &DbPool, id: Uuid) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(t::api_tokens.filter(t::id.eq(id)))
        .set(t::last_used_at.eq(diesel::dsl::now))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// True once any token was ever created: from then on the API requires a token.
pub async fn any_exist(pool: &DbPool) -> Result<bool, DbError> {
    let mut c = conn(pool).await?;
    Ok(
        diesel::select(diesel::dsl::exists(t::api_tokens.select(t::id)))
            .get_result(&mut c)
            .await?,
    )
}
