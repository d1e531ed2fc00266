//! Events pushed to WebSocket subscribers and the topics each one is delivered on.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use uuid::Uuid;

/// The topic of live output: never part of `*`, which would drown a dashboard in it.
pub const OUTPUT: &str = "output";

/// The event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ExecutionStarted,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionCancelled,
    ExecutionSkipped,
    /// A piece of a running shell task's output.
    ExecutionOutput,
    ErrorRecorded,
    ErrorUpdated,
    ErrorEscalated,
    ScheduleCreated,
    ScheduleUpdated,
    ScheduleDeleted,
    /// Paused by itself after failing chains (`autoPauseAfterFailures`).
    ScheduleAutoPaused,
}

impl EventKind {
    /// The resource topic this kind belongs to.
    pub fn topic(self) -> &'static str {
        match self {
            EventKind::ExecutionStarted
            | EventKind::ExecutionCompleted
            | EventKind::ExecutionFailed
            | EventKind::ExecutionCancelled
            | EventKind::ExecutionSkipped => "executions",
            EventKind::ExecutionOutput => OUTPUT,
            EventKind::ErrorRecorded | EventKind::ErrorUpdated | EventKind::ErrorEscalated => {
                "errors"
            }
            EventKind::ScheduleCreated
            | EventKind::ScheduleUpdated
            | EventKind::ScheduleDeleted
            | EventKind::ScheduleAutoPaused => "schedules",
        }
    }
}

/// One event: `{"type", "data", "timestamp"}` on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// Serialized once by the producer; the hub copies the text into every frame.
    pub data: Box<RawValue>,
    pub timestamp: DateTime<Utc>,
    /// The schedule the event concerns, for `schedule:<id>` topics; not serialized.
    #[serde(skip)]
    pub schedule_id: Option<Uuid>,
    /// The execution it concerns, for `execution:<id>` topics; not serialized.
    #[serde(skip)]
    pub execution_id: Option<Uuid>,
}

impl Event {
    /// An event stamped now; `data` is serialized here, once.
    pub fn new(kind: EventKind, schedule_id: Option<Uuid>, data: impl Serialize) -> Event {
        let data = serde_json::value::to_raw_value(&data)
            .or_else(|_| serde_json::value::to_raw_value(&Value::Null))
            .unwrap_or_else(|_| unreachable!("null always serializes"));
        Event {
            kind,
            data,
            timestamp: super::clock::now(),
            schedule_id,
            execution_id: None,
        }
    }

    /// The same event, also on the topic of `execution`.
    pub fn of_execution(mut self, execution: Uuid) -> Event {
        self.execution_id = Some(execution);
        self
    }

    /// True when a session subscribed to `subscriptions` should receive this event.
    pub fn matches<'a>(&self, subscriptions: impl IntoIterator<Item = &'a String>) -> bool {
        matches_topics(
            self.kind.topic(),
            self.schedule_id,
            self.execution_id,
            subscriptions,
        )
    }
}

impl EventKind {
    /// The wire name (`execution_started`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::ExecutionStarted => "execution_started",
            EventKind::ExecutionCompleted => "execution_completed",
            EventKind::ExecutionFailed => "execution_failed",
            EventKind::ExecutionCancelled => "execution_cancelled",
            EventKind::ExecutionSkipped => "execution_skipped",
            EventKind::ExecutionOutput => "execution_output",
            EventKind::ErrorRecorded => "error_recorded",
            EventKind::ErrorUpdated => "error_updated",
            EventKind::ErrorEscalated => "error_escalated",
            EventKind::ScheduleCreated => "schedule_created",
            EventKind::ScheduleUpdated => "schedule_updated",
            EventKind::ScheduleDeleted => "schedule_deleted",
            EventKind::ScheduleAutoPaused => "schedule_auto_paused",
        }
    }
}

/// The resource topic of an event type given by its wire name (events from other instances).
pub fn topic_of(kind: &str) -> &'static str {
    if kind == "execution_output" {
        OUTPUT
    } else if kind.starts_with("execution_") {
        "executions"
    } else if kind.starts_with("error_") {
        "errors"
    } else {
        "schedules"
    }
}

/// True when `subscriptions` include `topic`, `schedule:<schedule_id>`,
/// `execution:<execution_id>` or `*` (which leaves out [`OUTPUT`]).
pub fn matches_topics<'a>(
    topic: &str,
    schedule_id: Option<Uuid>,
    execution_id: Option<Uuid>,
    subscriptions: impl IntoIterator<Item = &'a String>,
) -> bool {
    let of = |prefix: &str, id: Option<Uuid>, s: &str| {
        id.is_some_and(|id| {
            s.strip_prefix(prefix)
                .is_some_and(|rest| Uuid::parse_str(rest).is_ok_and(|r| r == id))
        })
    };
    subscriptions.into_iter().any(|s| {
        (s == "*" && topic != OUTPUT)
            || s == topic
            || of("schedule:", schedule_id, s)
            || of("execution:", execution_id, s)
    })
}

/// True when `s` is a topic a client may subscribe to.
pub fn is_valid_topic(s: &str) -> bool {
    matches!(s, "*" | "executions" | "errors" | "schedules" | OUTPUT)
        || ["schedule:", "execution:"].iter().any(|p| {
            s.strip_prefix(p)
                .is_some_and(|id| Uuid::parse_str(id).is_ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_match() {
        let id = Uuid::new_v4();
        let e = Event::new(EventKind::ExecutionStarted, Some(id), Value::Null);
        let subs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(e.matches(&subs(&["*"])));
        assert!(e.matches(&subs(&["executions"])));
        assert!(e.matches(&subs(&[&format!("schedule:{id}")])));
        assert!(!e.matches(&subs(&["errors", "schedules"])));
        assert!(!e.matches(&subs(&[&format!("schedule:{}", Uuid::new_v4())])));
        assert!(!e.matches(&subs(&[])));
        let run = Uuid::new_v4();
        let e = e.of_execution(run);
        assert!(e.matches(&subs(&[&format!("execution:{run}")])));
        assert!(!e.matches(&subs(&[&format!("execution:{id}")])));
    }

    #[test]
    fn output_is_left_out_of_star() {
        let (id, run) = (Uuid::new_v4(), Uuid::new_v4());
        let e = Event::new(EventKind::ExecutionOutput, Some(id), Value::Null).of_execution(run);
        let subs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!e.matches(&subs(&["*", "executions"])));
        assert!(e.matches(&subs(&["*", "output"])));
        assert!(e.matches(&subs(&[&format!("execution:{run}")])));
        assert!(e.matches(&subs(&[&format!("schedule:{id}")])));
        assert_eq!(topic_of(EventKind::ExecutionOutput.name()), OUTPUT);
    }

    #[test]
    fn wire_names_map_back_to_topics() {
        for k in [
            EventKind::ExecutionFailed,
            EventKind::ErrorEscalated,
            EventKind::ScheduleDeleted,
        ] {
            assert_eq!(topic_of(k.name()), k.topic());
            let json = serde_json::to_value(Event::new(k, None, Value::Null)).unwrap_or_default();
            assert_eq!(json["type"], k.name());
        }
    }

    #[test]
    fn topic_validation() {
        assert!(is_valid_topic("errors"));
        assert!(is_valid_topic(&format!("schedule:{}", Uuid::new_v4())));
        assert!(!is_valid_topic("schedule:nope"));
        assert!(is_valid_topic("output"));
        assert!(is_valid_topic(&format!("execution:{}", Uuid::new_v4())));
        assert!(!is_valid_topic("execution:"));
        assert!(!is_valid_topic("everything"));
    }
}
