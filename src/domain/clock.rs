//! Time as the database keeps it. Every decision that compares with stored times (due fires,
//! retries, heartbeats, expiry) uses [`now`]: this machine's clock corrected by the offset to
//! PostgreSQL's clock, measured at every heartbeat, so instances with skewed clocks agree.
//! Values are at PostgreSQL's precision (microseconds), so a value read back equals the value
//! written (fire times are compared and used as unique keys).

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Datelike, DurationRound, TimeDelta, Utc};

/// Database clock minus this machine's clock, in microseconds (0 until first measured).
static OFFSET_US: AtomicI64 = AtomicI64::new(0);

/// The database's time now (estimated), truncated to microseconds.
pub fn now() -> DateTime<Utc> {
    let offset = TimeDelta::microseconds(OFFSET_US.load(Ordering::Relaxed));
    micros(Utc::now() + offset)
}

/// Records a reading of the database's clock taken between local instants `before` and
/// `after` (the round trip's midpoint is taken as the moment it was read). Answers the new
/// offset, in microseconds.
pub fn observe(db_now: DateTime<Utc>, before: DateTime<Utc>, after: DateTime<Utc>) -> i64 {
    let mid = before + (after - before) / 2;
    let offset = (db_now - mid).num_microseconds().unwrap_or(0);
    OFFSET_US.store(offset, Ordering::Relaxed);
    offset
}

/// The current offset to the database clock, in microseconds.
pub fn offset_us() -> i64 {
    OFFSET_US.load(Ordering::Relaxed)
}

/// `t` truncated to microseconds.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// True for an instant every part of the service can represent: RFC 3339 (years 0000–9999) and
/// PostgreSQL both. Inputs outside are refused (400) and computed fires past it do not exist.
pub fn in_range(t: DateTime<Utc>) -> bool {
    (0..=9999).contains(&t.year())
}
