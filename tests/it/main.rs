//! Integration tests: the real app against a real PostgreSQL, a fresh database per test.

mod app;
mod cluster;
mod logcap;
mod process;

mod foundation;
mod lifecycle;
