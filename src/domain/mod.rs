//! Pure types and rules, no I/O.

pub mod access;
pub mod apply;
pub mod chain;
pub mod clock;
pub mod cron;
pub mod event;
pub mod fingerprint;
pub mod firing;
pub mod gate;
pub mod incident;
pub mod live_output;
pub mod net;
pub mod recovery;
pub mod redact;
pub mod retry;
pub mod retry_rules;
pub mod rules;
pub mod schedule;
pub mod schedule_input;
pub mod sealed;
pub mod slot;
pub mod states;
pub mod task;
pub mod template;
pub mod text;
pub mod validate;
pub mod webhook;

#[cfg(test)]
mod props;
