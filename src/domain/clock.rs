//! Time as PostgreSQL stores it: microsecond precision, so a value read back equals the value
//! written (fire times are compared and used as unique keys).

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Now, truncated to microseconds.
pub fn now() -> DateTime<Utc> {
    micros(Utc::now())
}

/// `t` truncated to microseconds.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
