//! What a task is told about its run: `TASKFORGE_*` variables for shell tasks,
//! `X-Taskforge-*` and `Idempotency-Key` headers for HTTP and conductor requests.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// Default `PATH` for a task when taskforge itself runs without one.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The run a task belongs to.
#[derive(Debug, Clone)]
pub struct ExecContext {
    pub execution_id: Uuid,
    pub schedule_id: Uuid,
    pub schedule_name: String,
    pub scheduled_for: DateTime<Utc>,
    pub attempt: i32,
    pub trigger: crate::domain::states::Trigger,
    pub payload: Option<Value>,
    /// The slot's Idempotency-Key: a retry keeps its chain's first run's.
    pub idempotency_key: String,
}

impl ExecContext {
    fn scheduled_for(&self) -> String {
        crate::domain::slot::time_text(self.scheduled_for)
    }

    /// A shell task's environment: `passthrough` (from `execution.env_passthrough`, PATH
    /// defaulted), then the context variables. The task's own `env` goes on top.
    pub fn env(&self, passthrough: &[(String, String)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = passthrough.to_vec();
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push(("PATH".into(), DEFAULT_PATH.into()));
        }
        env.extend([
            (
                "TASKFORGE_EXECUTION_ID".into(),
                self.execution_id.to_string(),
            ),
            ("TASKFORGE_SCHEDULE_ID".into(), self.schedule_id.to_string()),
            ("TASKFORGE_SCHEDULE_NAME".into(), self.schedule_name.clone()),
            ("TASKFORGE_SCHEDULED_FOR".into(), self.scheduled_for()),
            ("TASKFORGE_ATTEMPT".into(), self.attempt.to_string()),
            ("TASKFORGE_TRIGGER".into(), self.trigger.as_str().into()),
        ]);
        if let Some(p) = &self.payload {
            env.push(("TASKFORGE_PAYLOAD".into(), p.to_string()));
        }
        env
    }

    /// Headers of HTTP and conductor requests.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("X-Taskforge-Execution-Id", self.execution_id.to_string()),
            ("X-Taskforge-Scheduled-For", self.scheduled_for()),
            ("X-Taskforge-Attempt", self.attempt.to_string()),
            ("Idempotency-Key", self.idempotency_key.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_variables_and_headers() {
        let c = ExecContext {
            execution_id: Uuid::nil(),
            schedule_id: Uuid::nil(),
            schedule_name: "nightly".into(),
            scheduled_for: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            attempt: 2,
            trigger: crate::domain::states::Trigger::Retry,
            payload: Some(serde_json::json!({"a": 1})),
            idempotency_key: "k".into(),
        };
        let env = c.env(&[("HOME".into(), "/root".into())]);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH"), Some(DEFAULT_PATH));
        assert_eq!(get("HOME"), Some("/root"));
        assert_eq!(get("TASKFORGE_SCHEDULE_NAME"), Some("nightly"));
        assert_eq!(
            get("TASKFORGE_SCHEDULED_FOR"),
            Some("2027-01-15T08:00:00.000000Z")
        );
        assert_eq!(get("TASKFORGE_ATTEMPT"), Some("2"));
        assert_eq!(get("TASKFORGE_PAYLOAD"), Some(r#"{"a":1}"#));
        let h = c.headers();
        assert!(h.contains(&("Idempotency-Key", "k".into())));
        assert_eq!(
            crate::domain::slot::key(Uuid::nil(), c.scheduled_for),
            format!("{}:2027-01-15T08:00:00.000000Z", Uuid::nil())
        );
    }
}
