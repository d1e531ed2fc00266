//! `audit_log`: who changed what, through the API or the CLI. Append-only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::pagination::{page, Cursor, Page};
use super::schema::audit_log::{self, dsl as a};
use super::{conn, DbError, DbPool};

/// A stored entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub ip: Option<String>,
    pub details: Value,
}

/// An entry to append.
#[derive(Debug, Clone, Insertable)]
// None is NULL (those columns have no default), so the one-entry insert stays prepared.
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
pub struct NewAudit {
    pub id: Uuid,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub ip: Option<String>,
    pub details: Value,
}

impl NewAudit {
    /// An entry for `action` (`resource.verb`); the resource type is the part before the dot.
    pub fn new(actor: &str, role: &str, action: &str, resource_id: Option<String>) -> NewAudit {
        NewAudit {
            id: Uuid::now_v7(),
            actor: actor.to_string(),
            role: role.to_string(),
            action: action.to_string(),
            resource_type: action.split('.').next().unwrap_or(action).to_string(),
            resource_id,
            ip: None,
            details: Value::Object(Default::default()),
        }
    }
}

/// Appends entries in one statement.
pub async fn insert(pool: &DbPool, rows: &[NewAudit]) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    let q = diesel::insert_into(audit_log::table);
    // A one-entry batch (the common case) goes as a single-row insert: diesel keeps that
    // statement prepared, while a multi-row insert is parsed and planned every time.
    match rows {
        [one] => q.values(one).execute(&mut c).await?,
        _ => q.values(rows).execute(&mut c).await?,
    };
    Ok(())
}

/// Filters of `GET /api/audit`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A page of entries, newest first.
pub async fn list(
    pool: &DbPool,
    f: &ListFilter,
    limit: i64,
    cursor: Option<Cursor>,
) -> Result<Page<AuditRow>, DbError> {
    let mut c = conn(pool).await?;
    let mut q = a::audit_log.select(AuditRow::as_select()).into_boxed();
    if let Some(v) = &f.actor {
        q = q.filter(a::actor.eq(v.clone()));
    }
    if let Some(v) = &f.action {
        q = q.filter(a::action.eq(v.clone()));
    }
    if let Some(v) = &f.resource_id {
        q = q.filter(a::resource_id.eq(v.clone()));
    }
    if let Some(t) = f.since {
        q = q.filter(a::at.ge(t));
    }
    if let Some(t) = f.until {
        q = q.filter(a::at.lt(t));
    }
    if let Some(cur) = cursor {
        q = q.filter(
            a::at
                .lt(cur.created_at)
                .or(a::at.eq(cur.created_at).and(a::id.lt(cur.id))),
        );
    }
    let rows = q
        .order((a::at.desc(), a::id.desc()))
        .limit(limit + 1)
        .load(&mut c)
        .await?;
    Ok(page(rows, limit, |r: &AuditRow| Cursor {
        created_at: r.at,
        id: r.id,
    }))
}
