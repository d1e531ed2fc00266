//! Pure types and rules, no I/O.

pub mod event;
