//! Integration tests: the real app against a real PostgreSQL, a fresh database per test.
#![expect(
    clippy::cast_possible_truncation,
    reason = "test arithmetic on its own random numbers, never on outside input"
)]

mod access;
mod app;
mod audit;
mod browser;
mod chaos;
mod cluster;
mod conductor_process;
mod crash;
mod fakes;
mod faults;
mod logcap;
mod private_cluster;
mod process;
mod tokens;

mod auto_pause;
mod backfill;
mod chains;
mod cli_apply;
mod cli_client;
mod concurrency;
mod connect;
mod error_groups;
mod error_triage;
mod fire_rules;
mod firing;
mod foundation;
mod lifecycle;
mod live_output;
mod operations;
mod outage;
mod outbound;
mod prefetch;
mod queue_replace;
mod recovery;
mod recovery_edges;
mod reliability;
mod reliability_runtime;
mod retry_rules;
mod schedule_insight;
mod schedules_api;
mod scheduling_depth;
mod secrets;
mod security;
mod shutdown;
mod status_writes;
mod tour;
mod views;
mod webhooks;
mod websocket;
mod ws_sessions;
mod wsclient;
