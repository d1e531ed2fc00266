//! taskforge: a task scheduler and execution service.

pub mod actors;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod embedded_pg;
pub mod executors;
pub mod logging;
pub mod process;
pub mod telemetry;
pub mod views;
