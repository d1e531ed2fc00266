//! Integration tests: the real app against a real PostgreSQL, a fresh database per test.

mod access;
mod app;
mod chaos;
mod cluster;
mod conductor_process;
mod crash;
mod fakes;
mod faults;
mod logcap;
mod process;

mod firing;
mod foundation;
mod lifecycle;
mod operations;
mod outbound;
mod prefetch;
mod recovery;
mod reliability;
mod schedules_api;
mod secrets;
mod security;
mod shutdown;
mod status_writes;
mod views;
mod websocket;
mod wsclient;
