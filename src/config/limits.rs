//! `[limits]`: field caps of request bodies, and the rate of webhook calls.

use serde::{Deserialize, Serialize};

use super::sections::Problem;

/// `[limits]`: field caps of request bodies (characters unless noted), a run's payload, and
/// how often one webhook key may be called on one instance.
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
    pub payload_max_bytes: usize,
    pub webhook_rate_per_sec: f64,
    pub webhook_burst: u32,
}

impl LimitsConfig {
    pub(super) fn validate(&self) -> Result<(), Problem> {
        if !(self.webhook_rate_per_sec > 0.0 && self.webhook_rate_per_sec.is_finite()) {
            return Err((
                "limits.webhook_rate_per_sec",
                "must be a positive number".into(),
            ));
        }
        if self.webhook_burst < 1 {
            return Err(("limits.webhook_burst", "must be at least 1".into()));
        }
        Ok(())
    }
}
