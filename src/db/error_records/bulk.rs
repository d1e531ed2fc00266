//! Which records a bulk action applies to.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::schema::error_records::dsl as r;
use crate::db::{conn, DbError, DbPool};
use crate::domain::states::RecoveryStatus;

/// Most records one bulk action touches.
pub const MAX_BULK: i64 = 10_000;

/// The records a bulk action is for; at least one field is set.
#[derive(Debug, Clone, Default)]
pub struct BulkFilter {
    pub schedule_id: Option<Uuid>,
    pub fingerprint: Option<String>,
    /// Any of these (empty: any status).
    pub recovery_status: Vec<RecoveryStatus>,
}

/// Ids of the matching records, oldest first, at most [`MAX_BULK`].
pub async fn matching(pool: &DbPool, f: &BulkFilter) -> Result<Vec<Uuid>, DbError> {
    let mut c = conn(pool).await?;
    let mut q = r::error_records.select(r::id).into_boxed();
    if let Some(id) = f.schedule_id {
        q = q.filter(r::schedule_id.eq(id));
    }
    if let Some(fp) = &f.fingerprint {
        q = q.filter(r::fingerprint.eq(fp.clone()));
    }
    if !f.recovery_status.is_empty() {
        q = q.filter(r::recovery_status.eq_any(f.recovery_status.clone()));
    }
    Ok(q.order((r::created_at.asc(), r::id.asc()))
        .limit(MAX_BULK)
        .load(&mut c)
        .await?)
}
