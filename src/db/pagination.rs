//! Keyset pagination shared by every list: newest first by `(created_at, id)`, with an opaque
//! cursor naming the last item of the previous page. Stable under concurrent inserts: new rows
//! sort before the cursor, so a walk sees no duplicates and skips nothing older.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Default and maximum page sizes.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// `<microseconds since epoch>_<uuid>`.
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        )
    }

    /// Parses what [`Cursor::encode`] produced.
    pub fn decode(s: &str) -> Result<Cursor, String> {
        let bad = || format!("invalid cursor `{s}`: pass nextCursor from the previous page");
        let (micros, id) = s.split_once('_').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created_at = DateTime::from_timestamp_micros(micros)
            .filter(|t| crate::domain::clock::in_range(*t))
            .ok_or_else(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Cursor { created_at, id })
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

/// Builds a page from `limit + 1` fetched rows.
pub fn page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> Cursor) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(key)
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// The keyset walk every list shares: rows older than the cursor, newest first, `limit + 1`
/// fetched to know whether a next page exists. `$t` is the table's dsl module; the rows need
/// `created_at` and `id` fields.
macro_rules! keyset_page {
    ($query:expr, $t:ident, $cursor:expr, $limit:expr, $conn:expr) => {{
        let mut q = $query;
        if let Some(cur) = $cursor {
            q = q.filter(
                $t::created_at
                    .lt(cur.created_at)
                    .or($t::created_at.eq(cur.created_at).and($t::id.lt(cur.id))),
            );
        }
        let rows = q
            .order(($t::created_at.desc(), $t::id.desc()))
            .limit($limit + 1)
            .load($conn)
            .await?;
        $crate::db::pagination::page(rows, $limit, |r| $crate::db::pagination::Cursor {
            created_at: r.created_at,
            id: r.id,
        })
    }};
}
pub(crate) use keyset_page;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            created_at: crate::domain::clock::now(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        assert!(Cursor::decode("nope").is_err());
        assert!(Cursor::decode("12_notauuid").is_err());
    }
}
