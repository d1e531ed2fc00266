//! Typed configuration, loaded once at boot: compiled-in `config/default.toml`, then an optional
//! `--config` file, then environment variables. Nothing else in the crate reads the environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod limits;
mod secret;
mod sections;

pub use limits::LimitsConfig;
pub use secret::SecretString;
pub use sections::*;

/// The defaults, compiled in so the binary runs from any working directory.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Prefix of the generic override scheme: `TASKFORGE__SECTION__KEY=value`.
const ENV_PREFIX: &str = "TASKFORGE__";

/// The documented environment variables and the key each one sets.
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

    /// Each section checks its own keys.
    fn validate(&self) -> Result<(), sections::Problem> {
        self.server.validate()?;
        self.database.validate()?;
        self.embedded.validate()?;
        self.scheduler.validate()?;
        self.execution.validate()?;
        self.recovery.validate()?;
        self.limits.validate()?;
        self.retention.validate()?;
        self.instance.validate()?;
        self.supervisor.validate()?;
        self.websocket.validate()?;
        self.conductor.validate()?;
        self.notifications.validate()?;
        self.secrets.validate()
    }

    /// The listen address, resolved.
    pub fn bind_addr(&self) -> Result<SocketAddr, String> {
        self.server.bind_addr()
    }

    /// True when the API must refuse to start: a non-loopback listener without a token and
    /// without the explicit opt-out.
    pub fn insecure_bind(&self) -> Option<SocketAddr> {
        let addr = self.bind_addr().ok()?;
        let exposed = !addr.ip().is_loopback();
        (exposed && self.server.api_token.expose().is_empty()).then_some(addr)
    }

    /// The effective configuration as TOML, with secrets masked (`check-config`).
    pub fn masked_toml(&self) -> Result<String, String> {
        // Secret strings serialize as `***`; URLs lose their credentials.
        let mut c = self.clone();
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
            payload_max_bytes: l.payload_max_bytes,
            task_types: self.execution.enabled_task_types.clone(),
        }
    }

    /// How long shutdown waits for running work.
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
mod tests;
