//! Time as PostgreSQL stores it: microsecond precision, so a value read back equals the value
//! written (fire times are compared and used as unique keys).

use chrono::{DateTime, Datelike, DurationRound, TimeDelta, Utc};

/// Now, truncated to microseconds.
pub fn now() -> DateTime<Utc> {
    micros(Utc::now())
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
