//! Pure types and rules, no I/O.

pub mod cron;
pub mod event;
pub mod schedule;
pub mod validate;
