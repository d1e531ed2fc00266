//! The sections of the configuration, each with the checks of its own keys.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::secret::SecretString;

/// `[secrets]`: the key that seals stored secrets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// 64 hex digits; empty = a key file `secret.key` in the data directory (created 0600).
    pub key: SecretString,
}

/// `[server]`: HTTP listener, limits, auth and shutdown.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub body_limit_bytes: usize,
    pub shutdown_grace_secs: u64,
    pub workers: usize,
    pub tcp_user_timeout_secs: u64,
    pub api_token: SecretString,
    pub allow_unauthenticated_remote: bool,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub metrics_require_token: bool,
}

/// `[database]`: external URL and pool settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub pool_max_size: usize,
    pub pool_wait_timeout_ms: u64,
    pub pool_create_timeout_ms: u64,
    pub pool_recycle_timeout_ms: u64,
    pub connect_timeout_secs: u64,
}

/// `[embedded]`: the private PostgreSQL cluster used when no URL is given.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    pub data_dir: PathBuf,
    pub bin_dir: String,
    pub os_user: String,
    pub start_timeout_secs: u64,
    pub database: String,
}

/// `[scheduler]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    pub tick_ms: u64,
    pub misfire_threshold_ms: u64,
    pub claim_batch: i64,
    /// Claim transactions at once in a burst (see `actors::scheduler::lanes`).
    pub claim_lanes: usize,
    pub claim_ahead_ms: u64,
    pub prefetch_ms: u64,
    /// Failed run chains in a row that pause a schedule without its own threshold; 0 = off.
    pub auto_pause_after_failures: u32,
}

/// `[execution]`: concurrency, timeouts and output caps.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionConfig {
    pub enabled_task_types: Vec<crate::domain::states::TaskType>,
    pub max_concurrent: usize,
    pub max_pending: usize,
    pub default_timeout_ms: u64,
    pub output_cap_bytes: usize,
    /// Shell output sent out live (`execution_output` events, stored for other instances)
    /// while the task runs; off, it is shown when the run ends.
    pub live_output: bool,
    /// Names of taskforge's environment variables that shell tasks inherit.
    pub env_passthrough: Vec<String>,
    /// Their values, read once at load (the only environment a task gets from taskforge).
    #[serde(skip)]
    pub passthrough_values: Vec<(String, String)>,
    pub http: HttpPolicyConfig,
}

/// `[execution.http]`: where HTTP and conductor tasks may connect.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpPolicyConfig {
    /// CIDRs refused after DNS resolution (TASKFORGE_HTTP_BLOCKED_NETWORKS adds to them).
    pub blocked_networks: Vec<String>,
    /// CIDRs allowed even inside a blocked one (TASKFORGE_HTTP_ALLOWED_NETWORKS adds to them).
    pub allowed_networks: Vec<String>,
}

/// `[recovery]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryConfig {
    pub scan_interval_ms: u64,
}

/// `[retention]`: what the pruning job deletes and how.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    pub executions_days: u64,
    pub error_records_days: u64,
    pub sessions_days: u64,
    pub audit_days: u64,
    pub interval_secs: u64,
    pub batch_size: i64,
}

/// `[instance]`: heartbeat and orphan detection.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    pub heartbeat_secs: u64,
    pub dead_after_secs: u64,
    pub orphan_scan_secs: u64,
}

/// `[supervisor]`: restart backoff for failed actors.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisorConfig {
    pub restart_backoff_base_ms: u64,
    pub restart_backoff_max_ms: u64,
}

/// `[websocket]`: heartbeats and the per-client queue bound.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebsocketConfig {
    pub heartbeat_interval_secs: u64,
    pub client_timeout_secs: u64,
    pub session_queue: usize,
    pub max_frames_per_sec: u32,
    pub max_sessions: usize,
}

/// `[conductor]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConductorConfig {
    pub base_url: String,
    pub command: String,
}

/// `[notifications]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    pub webhook_url: String,
    /// While an error group keeps escalating, at most one notification per this many seconds.
    pub repeat_after_secs: u64,
}

/// A key and what is wrong with its value.
pub type Problem = (&'static str, String);

fn positive(values: &[(&'static str, u64)]) -> Result<(), Problem> {
    match values.iter().find(|(_, v)| *v == 0) {
        Some((key, _)) => Err((key, "must be greater than 0".into())),
        None => Ok(()),
    }
}

fn http_url(key: &'static str, url: &str) -> Result<(), Problem> {
    let http = url.starts_with("http://") || url.starts_with("https://");
    if !url.is_empty() && !http {
        return Err((key, "must start with http:// or https://".into()));
    }
    Ok(())
}

impl ServerConfig {
    /// The listen address, resolved.
    pub fn bind_addr(&self) -> Result<SocketAddr, String> {
        self.bind
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or_else(|| "resolves to no address".to_string())
    }

    pub(super) fn validate(&self) -> Result<(), Problem> {
        self.bind_addr()
            .map_err(|e| ("server.bind", format!("{e} (expected host:port)")))?;
        if self.body_limit_bytes == 0 {
            return Err(("server.body_limit_bytes", "must be at least 1".into()));
        }
        Ok(())
    }
}

impl DatabaseConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        if self.pool_max_size == 0 {
            return Err(("database.pool_max_size", "must be at least 1".into()));
        }
        positive(&[
            ("database.pool_wait_timeout_ms", self.pool_wait_timeout_ms),
            (
                "database.pool_create_timeout_ms",
                self.pool_create_timeout_ms,
            ),
            (
                "database.pool_recycle_timeout_ms",
                self.pool_recycle_timeout_ms,
            ),
        ])?;
        let url = &self.url;
        let known_scheme = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !url.is_empty() && !known_scheme {
            return Err((
                "database.url",
                "must start with postgres:// or postgresql://".into(),
            ));
        }
        Ok(())
    }
}

impl EmbeddedConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(("embedded.data_dir", "must not be empty".into()));
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if self.database.is_empty() || !self.database.chars().all(name_ok) {
            return Err((
                "embedded.database",
                "must be a non-empty name of letters, digits and _".into(),
            ));
        }
        Ok(())
    }
}

impl SchedulerConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        if self.prefetch_ms < self.claim_ahead_ms || self.prefetch_ms > 5_000 {
            return Err((
                "scheduler.prefetch_ms",
                "must be between scheduler.claim_ahead_ms and 5000".into(),
            ));
        }
        if !(1..=8).contains(&self.claim_lanes) {
            return Err(("scheduler.claim_lanes", "must be between 1 and 8".into()));
        }
        use crate::domain::rules::MAX_AUTO_PAUSE;
        if self.auto_pause_after_failures > MAX_AUTO_PAUSE {
            return Err((
                "scheduler.auto_pause_after_failures",
                format!("must be between 0 (off) and {MAX_AUTO_PAUSE}"),
            ));
        }
        positive(&[
            ("scheduler.tick_ms", self.tick_ms),
            ("scheduler.claim_batch", self.claim_batch.max(0) as u64),
        ])
    }
}

impl ExecutionConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        positive(&[
            ("execution.max_concurrent", self.max_concurrent as u64),
            ("execution.max_pending", self.max_pending as u64),
            ("execution.default_timeout_ms", self.default_timeout_ms),
            ("execution.output_cap_bytes", self.output_cap_bytes as u64),
        ])?;
        for (key, nets) in [
            (
                "execution.http.blocked_networks",
                &self.http.blocked_networks,
            ),
            (
                "execution.http.allowed_networks",
                &self.http.allowed_networks,
            ),
        ] {
            for n in nets {
                crate::domain::net::parse_net(n).map_err(|e| (key, e))?;
            }
        }
        for name in &self.env_passthrough {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err((
                    "execution.env_passthrough",
                    format!("`{name}` is not a variable name"),
                ));
            }
        }
        Ok(())
    }
}

impl RecoveryConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        positive(&[("recovery.scan_interval_ms", self.scan_interval_ms)])
    }
}

impl RetentionConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        if self.batch_size < 1 {
            return Err(("retention.batch_size", "must be at least 1".into()));
        }
        positive(&[("retention.interval_secs", self.interval_secs)])
    }
}

impl InstanceConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        positive(&[
            ("instance.heartbeat_secs", self.heartbeat_secs),
            ("instance.orphan_scan_secs", self.orphan_scan_secs),
        ])?;
        if self.dead_after_secs <= self.heartbeat_secs {
            return Err((
                "instance.dead_after_secs",
                "must be larger than instance.heartbeat_secs".into(),
            ));
        }
        Ok(())
    }
}

impl SupervisorConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        positive(&[(
            "supervisor.restart_backoff_base_ms",
            self.restart_backoff_base_ms,
        )])
    }
}

impl WebsocketConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        positive(&[
            (
                "websocket.heartbeat_interval_secs",
                self.heartbeat_interval_secs,
            ),
            ("websocket.client_timeout_secs", self.client_timeout_secs),
            ("websocket.session_queue", self.session_queue as u64),
            (
                "websocket.max_frames_per_sec",
                u64::from(self.max_frames_per_sec),
            ),
            ("websocket.max_sessions", self.max_sessions as u64),
        ])
    }
}

impl ConductorConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        http_url("conductor.base_url", &self.base_url)?;
        if self.base_url.is_empty() {
            return Err(("conductor.base_url", "must not be empty".into()));
        }
        Ok(())
    }
}

impl NotificationsConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        positive(&[("notifications.repeat_after_secs", self.repeat_after_secs)])?;
        http_url("notifications.webhook_url", &self.webhook_url)
    }
}

impl SecretsConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        let key = self.key.expose();
        if !key.is_empty() && crate::domain::sealed::SecretKey::from_hex(key).is_err() {
            return Err((
                "secrets.key",
                "must be 32 bytes as 64 hex digits (e.g. the output of `openssl rand -hex 32`)"
                    .into(),
            ));
        }
        Ok(())
    }
}
