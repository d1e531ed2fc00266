//! Typed configuration, loaded once at boot: compiled-in `config/default.toml`, then an optional
//! `--config` file, then environment variables. Nothing else in the crate reads the environment.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The defaults, compiled in so the binary runs from any working directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Prefix of the generic override scheme: `TASKFORGE__SECTION__KEY=value`.
const ENV_PREFIX: &str = "TASKFORGE__";

/// The SPEC §2 variables and the key each one sets.
const FIXED_ENV: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("TASKFORGE_BIND", "server.bind"),
    ("TASKFORGE_DATA_DIR", "embedded.data_dir"),
    ("TASKFORGE_CONDUCTOR_URL", "conductor.base_url"),
    ("TASKFORGE_WEBHOOK_URL", "notifications.webhook_url"),
    ("TASKFORGE_API_TOKEN", "server.api_token"),
    (
        "TASKFORGE_SHUTDOWN_GRACE_SECS",
        "server.shutdown_grace_secs",
    ),
    ("TASKFORGE_SECRET_KEY", "secrets.key"),
];

/// Keys whose values are strings even when they look like numbers or booleans.
const STRING_KEYS: &[&str] = &[
    "database.url",
    "server.bind",
    "server.api_token",
    "embedded.data_dir",
    "embedded.bin_dir",
    "embedded.os_user",
    "embedded.database",
    "conductor.base_url",
    "conductor.command",
    "notifications.webhook_url",
    "secrets.key",
];

/// Why the configuration could not be loaded; the message always names the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub embedded: EmbeddedConfig,
    pub scheduler: SchedulerConfig,
    pub execution: ExecutionConfig,
    pub recovery: RecoveryConfig,
    pub limits: LimitsConfig,
    pub retention: RetentionConfig,
    pub instance: InstanceConfig,
    pub supervisor: SupervisorConfig,
    pub websocket: WebsocketConfig,
    pub conductor: ConductorConfig,
    pub notifications: NotificationsConfig,
    pub secrets: SecretsConfig,
}

/// `[secrets]`: the key that seals stored secrets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// 64 hex digits; empty = a key file `secret.key` in the data directory (created 0600).
    pub key: String,
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
    pub api_token: String,
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
    pub claim_ahead_ms: u64,
    pub prefetch_ms: u64,
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

/// `[limits]`: field caps of request bodies.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub name_max_chars: usize,
    pub description_max_chars: usize,
    pub command_max_bytes: usize,
    pub url_max_bytes: usize,
    pub message_max_bytes: usize,
    pub tags_max: usize,
    pub note_max_chars: usize,
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
}

impl Config {
    /// Loads defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    /// Like [`Config::load`] with an explicit environment (tests pass their own).
    pub fn load_from(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = toml::from_str(DEFAULT_TOML)
            .map_err(|e| ConfigError(format!("built-in defaults: {e}")))?;
        let mut sources: BTreeMap<String, String> = BTreeMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!("cannot read config file {}: {e}", path.display()))
            })?;
            let overlay: toml::Table = toml::from_str(&text).map_err(|e| {
                ConfigError(format!(
                    "config file {}: {}",
                    path.display(),
                    e.message().trim()
                ))
            })?;
            merge(&mut table, overlay);
        }
        for (name, value) in env {
            if let Some(rest) = name.strip_prefix(ENV_PREFIX) {
                let key = rest.to_ascii_lowercase().replace("__", ".");
                set_key(&mut table, &key, value)?;
                sources.insert(key, name.clone());
            }
        }
        for (name, key) in FIXED_ENV {
            if let Some(value) = env.get(*name) {
                set_key(&mut table, key, value)?;
                sources.insert((*key).to_string(), (*name).to_string());
            }
        }
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                let from = sources
                    .get(&key)
                    .map(|v| format!(" (from {v})"))
                    .unwrap_or_default();
                ConfigError(format!("key `{key}`{from}: {}", e.inner().message().trim()))
            })?;
        // Comma lists that add to the configured networks rather than replace them.
        for (name, list) in [
            (
                "TASKFORGE_HTTP_BLOCKED_NETWORKS",
                &mut config.execution.http.blocked_networks,
            ),
            (
                "TASKFORGE_HTTP_ALLOWED_NETWORKS",
                &mut config.execution.http.allowed_networks,
            ),
        ] {
            if let Some(v) = env.get(name) {
                list.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from),
                );
            }
        }
        config.execution.passthrough_values = config
            .execution
            .env_passthrough
            .iter()
            .filter_map(|name| env.get(name).map(|v| (name.clone(), v.clone())))
            .collect();
        config.validate().map_err(|(key, msg)| {
            let from = sources
                .get(key)
                .map(|v| format!(" (from {v})"))
                .unwrap_or_default();
            ConfigError(format!("key `{key}`{from}: {msg}"))
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        self.bind_addr()
            .map_err(|e| ("server.bind", format!("{e} (expected host:port)")))?;
        if self.server.body_limit_bytes == 0 {
            return Err(("server.body_limit_bytes", "must be at least 1".into()));
        }
        if self.scheduler.prefetch_ms < self.scheduler.claim_ahead_ms
            || self.scheduler.prefetch_ms > 5_000
        {
            return Err((
                "scheduler.prefetch_ms",
                "must be between scheduler.claim_ahead_ms and 5000".into(),
            ));
        }
        if self.database.pool_max_size == 0 {
            return Err(("database.pool_max_size", "must be at least 1".into()));
        }
        for (key, value) in [
            (
                "database.pool_wait_timeout_ms",
                self.database.pool_wait_timeout_ms,
            ),
            (
                "database.pool_create_timeout_ms",
                self.database.pool_create_timeout_ms,
            ),
            (
                "database.pool_recycle_timeout_ms",
                self.database.pool_recycle_timeout_ms,
            ),
            ("scheduler.tick_ms", self.scheduler.tick_ms),
            (
                "scheduler.claim_batch",
                self.scheduler.claim_batch.max(0) as u64,
            ),
            (
                "execution.max_concurrent",
                self.execution.max_concurrent as u64,
            ),
            ("execution.max_pending", self.execution.max_pending as u64),
            (
                "execution.default_timeout_ms",
                self.execution.default_timeout_ms,
            ),
            (
                "execution.output_cap_bytes",
                self.execution.output_cap_bytes as u64,
            ),
            ("recovery.scan_interval_ms", self.recovery.scan_interval_ms),
            ("instance.heartbeat_secs", self.instance.heartbeat_secs),
            ("instance.orphan_scan_secs", self.instance.orphan_scan_secs),
            (
                "supervisor.restart_backoff_base_ms",
                self.supervisor.restart_backoff_base_ms,
            ),
            (
                "websocket.heartbeat_interval_secs",
                self.websocket.heartbeat_interval_secs,
            ),
            (
                "websocket.client_timeout_secs",
                self.websocket.client_timeout_secs,
            ),
            (
                "websocket.session_queue",
                self.websocket.session_queue as u64,
            ),
            (
                "websocket.max_frames_per_sec",
                u64::from(self.websocket.max_frames_per_sec),
            ),
            ("websocket.max_sessions", self.websocket.max_sessions as u64),
        ] {
            if value == 0 {
                return Err((key, "must be greater than 0".into()));
            }
        }
        let db_url = &self.database.url;
        let known_scheme = db_url.starts_with("postgres://") || db_url.starts_with("postgresql://");
        if !db_url.is_empty() && !known_scheme {
            return Err((
                "database.url",
                "must start with postgres:// or postgresql://".into(),
            ));
        }
        for (key, url) in [
            ("conductor.base_url", &self.conductor.base_url),
            ("notifications.webhook_url", &self.notifications.webhook_url),
        ] {
            let http = url.starts_with("http://") || url.starts_with("https://");
            if !url.is_empty() && !http {
                return Err((key, "must start with http:// or https://".into()));
            }
        }
        if self.conductor.base_url.is_empty() {
            return Err(("conductor.base_url", "must not be empty".into()));
        }
        if self.retention.batch_size < 1 {
            return Err(("retention.batch_size", "must be at least 1".into()));
        }
        if self.retention.interval_secs == 0 {
            return Err(("retention.interval_secs", "must be greater than 0".into()));
        }
        if self.instance.dead_after_secs <= self.instance.heartbeat_secs {
            return Err((
                "instance.dead_after_secs",
                "must be larger than instance.heartbeat_secs".into(),
            ));
        }
        if !self.secrets.key.is_empty()
            && crate::domain::sealed::SecretKey::from_hex(&self.secrets.key).is_err()
        {
            return Err((
                "secrets.key",
                "must be 32 bytes as 64 hex digits (e.g. the output of `openssl rand -hex 32`)"
                    .into(),
            ));
        }
        for (key, nets) in [
            (
                "execution.http.blocked_networks",
                &self.execution.http.blocked_networks,
            ),
            (
                "execution.http.allowed_networks",
                &self.execution.http.allowed_networks,
            ),
        ] {
            for n in nets {
                crate::domain::net::parse_net(n).map_err(|e| (key, e))?;
            }
        }
        for name in &self.execution.env_passthrough {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err((
                    "execution.env_passthrough",
                    format!("`{name}` is not a variable name"),
                ));
            }
        }
        if self.embedded.data_dir.as_os_str().is_empty() {
            return Err(("embedded.data_dir", "must not be empty".into()));
        }
        if self.embedded.database.is_empty()
            || !self
                .embedded
                .database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err((
                "embedded.database",
                "must be a non-empty name of letters, digits and _".into(),
            ));
        }
        Ok(())
    }

    /// The listen address, resolved.
    pub fn bind_addr(&self) -> Result<SocketAddr, String> {
        self.server
            .bind
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or_else(|| "resolves to no address".to_string())
    }

    /// True when the API must refuse to start: a non-loopback listener without a token and
    /// without the explicit opt-out.
    pub fn insecure_bind(&self) -> Option<SocketAddr> {
        let addr = self.bind_addr().ok()?;
        let exposed = !addr.ip().is_loopback();
        (exposed && self.server.api_token.is_empty()).then_some(addr)
    }

    /// The effective configuration as TOML, with secrets masked (`check-config`).
    pub fn masked_toml(&self) -> Result<String, String> {
        let mut c = self.clone();
        if !c.server.api_token.is_empty() {
            c.server.api_token = "***".into();
        }
        if !c.secrets.key.is_empty() {
            c.secrets.key = "***".into();
        }
        c.database.url = crate::domain::redact::redact_url(&c.database.url);
        c.notifications.webhook_url =
            crate::domain::redact::redact_url(&c.notifications.webhook_url);
        toml::to_string(&c).map_err(|e| e.to_string())
    }

    /// Body caps and task-type policy for request validation.
    pub fn limits(&self) -> crate::domain::validate::Limits {
        let l = &self.limits;
        crate::domain::validate::Limits {
            name_max_chars: l.name_max_chars,
            description_max_chars: l.description_max_chars,
            command_max_bytes: l.command_max_bytes,
            url_max_bytes: l.url_max_bytes,
            message_max_bytes: l.message_max_bytes,
            tags_max: l.tags_max,
            note_max_chars: l.note_max_chars,
            task_types: self.execution.enabled_task_types.clone(),
        }
    }

    /// Flow 7 grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.server.shutdown_grace_secs)
    }

    /// True when `DATABASE_URL`/`database.url` is unset and the embedded cluster is used.
    pub fn uses_embedded(&self) -> bool {
        self.database.url.is_empty()
    }
}

/// Deep-merges `overlay` into `base`; tables merge key by key, other values replace.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// Sets a dotted key from an environment string, typed like TOML unless the key is a string key.
fn set_key(table: &mut toml::Table, key: &str, raw: &str) -> Result<(), ConfigError> {
    let value = if STRING_KEYS.contains(&key) {
        toml::Value::String(raw.to_string())
    } else {
        parse_scalar(raw)
    };
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts
        .pop()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConfigError(format!("key `{key}`: empty key name")))?;
    let mut node = table;
    for part in parts {
        let entry = node
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(ConfigError(format!(
                    "key `{key}`: `{part}` is not a section"
                )))
            }
        };
    }
    node.insert(last.to_string(), value);
    Ok(())
}

/// Reads an environment value as a TOML scalar (number, boolean), else as a plain string.
fn parse_scalar(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load() -> Result<(), ConfigError> {
        let c = Config::load_from(None, &env(&[]))?;
        assert_eq!(c.server.bind, "127.0.0.1:8080");
        assert_eq!(c.server.shutdown_grace_secs, 30);
        assert!(c.uses_embedded());
        assert_eq!(c.conductor.base_url, "http://localhost:3001");
        Ok(())
    }

    #[test]
    fn spec_variables_override() -> Result<(), ConfigError> {
        let c = Config::load_from(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://u@localhost/db"),
                ("TASKFORGE_BIND", "127.0.0.1:0"),
                ("TASKFORGE_SHUTDOWN_GRACE_SECS", "5"),
                ("TASKFORGE_API_TOKEN", "12345"),
            ]),
        )?;
        assert_eq!(c.database.url, "postgres://u@localhost/db");
        assert_eq!(c.server.shutdown_grace_secs, 5);
        assert_eq!(c.server.api_token, "12345");
        assert!(!c.uses_embedded());
        Ok(())
    }

    #[test]
    fn generic_env_override() -> Result<(), ConfigError> {
        let c = Config::load_from(None, &env(&[("TASKFORGE__DATABASE__POOL_MAX_SIZE", "3")]))?;
        assert_eq!(c.database.pool_max_size, 3);
        Ok(())
    }

    #[test]
    fn file_overrides_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[scheduler]\ntick_ms = 250\n")?;
        let c = Config::load_from(Some(&path), &env(&[]))?;
        assert_eq!(c.scheduler.tick_ms, 250);
        assert_eq!(c.server.bind, "127.0.0.1:8080");
        Ok(())
    }

    #[test]
    fn invalid_values_name_the_key() {
        let err = |pairs: &[(&str, &str)]| match Config::load_from(None, &env(pairs)) {
            Ok(_) => String::from("accepted"),
            Err(e) => e.to_string(),
        };
        let e = err(&[("TASKFORGE_SHUTDOWN_GRACE_SECS", "soon")]);
        assert!(e.contains("server.shutdown_grace_secs"), "{e}");
        assert!(e.contains("TASKFORGE_SHUTDOWN_GRACE_SECS"), "{e}");
        let e = err(&[("TASKFORGE_BIND", "not an address")]);
        assert!(e.contains("server.bind"), "{e}");
        let e = err(&[("TASKFORGE__SERVER__NOPE", "1")]);
        assert!(e.contains("nope"), "{e}");
        let e = err(&[("DATABASE_URL", "mysql://x")]);
        assert!(e.contains("database.url"), "{e}");
        let e = err(&[("TASKFORGE__DATABASE__POOL_MAX_SIZE", "0")]);
        assert!(e.contains("database.pool_max_size"), "{e}");
        // The prefetch window: at least the claim lead, at most what a job waits (5 s).
        let e = err(&[("TASKFORGE__SCHEDULER__PREFETCH_MS", "6000")]);
        assert!(e.contains("scheduler.prefetch_ms"), "{e}");
        let e = err(&[("TASKFORGE__SCHEDULER__PREFETCH_MS", "10")]);
        assert!(e.contains("scheduler.prefetch_ms"), "{e}");
        assert_eq!(
            err(&[("TASKFORGE__SCHEDULER__PREFETCH_MS", "50")]),
            "accepted"
        );
    }

    #[test]
    fn network_lists_from_the_environment_add_to_the_defaults() -> Result<(), ConfigError> {
        let c = Config::load_from(
            None,
            &env(&[
                ("TASKFORGE_HTTP_BLOCKED_NETWORKS", "10.0.0.0/8, 192.168.1.1"),
                ("TASKFORGE_HTTP_ALLOWED_NETWORKS", "10.1.0.0/16"),
            ]),
        )?;
        let blocked = &c.execution.http.blocked_networks;
        assert!(
            blocked.contains(&"169.254.0.0/16".to_string()),
            "{blocked:?}"
        );
        assert!(
            blocked.contains(&"10.0.0.0/8".to_string())
                && blocked.contains(&"192.168.1.1".to_string())
        );
        assert_eq!(
            c.execution.http.allowed_networks,
            vec!["10.1.0.0/16".to_string()]
        );
        match Config::load_from(
            None,
            &env(&[("TASKFORGE_HTTP_BLOCKED_NETWORKS", "10.0.0.0/99")]),
        ) {
            Ok(_) => panic!("bad CIDR accepted"),
            Err(e) => assert!(
                e.to_string().contains("execution.http.blocked_networks"),
                "{e}"
            ),
        }
        match Config::load_from(None, &env(&[("TASKFORGE_SECRET_KEY", "short")])) {
            Ok(_) => panic!("bad key accepted"),
            Err(e) => assert!(
                e.to_string().contains("secrets.key") && !e.to_string().contains("short"),
                "{e}"
            ),
        }
        Ok(())
    }

    #[test]
    fn unknown_key_in_file_is_named() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nbindd = \"x\"\n")?;
        match Config::load_from(Some(&path), &env(&[])) {
            Ok(_) => panic!("unknown key accepted"),
            Err(e) => assert!(e.to_string().contains("bindd"), "{e}"),
        }
        Ok(())
    }
}
