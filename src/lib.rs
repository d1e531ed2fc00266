//! taskforge: a task scheduler and execution service.

pub mod actors;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod executors;
pub mod logging;
pub mod telemetry;
pub mod views;
