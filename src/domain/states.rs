//! Every state name in one place: what an execution, an error record, a trigger, a severity and
//! a policy can be. Stored as TEXT (the wire names below), matched as enums everywhere else, so
//! the compiler keeps the rules in step with the names.

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

/// What every state enum offers generic code (validation, query parameters).
pub trait TextEnum: Sized + Copy + 'static {
    /// Parses a wire name.
    fn from_text(s: &str) -> Option<Self>;
    /// Every wire name.
    fn all_names() -> Vec<&'static str>;
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[derive(diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] #[schema(rename = $text)] $variant),+
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let s = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                $name::parse(&s).ok_or_else(|| format!("unknown {} `{s}`", stringify!($name)).into())
            }
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and SQL name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a wire or SQL name.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Every wire name (for messages listing the choices).
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl TextEnum for $name {
            fn from_text(s: &str) -> Option<Self> {
                $name::parse(s)
            }
            fn all_names() -> Vec<&'static str> {
                $name::names()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// Where an execution is in its life.
    ExecutionStatus {
        /// Created, waiting to start.
        Pending = "pending",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
        /// A slot that was due and did not run (see [`SkipReason`]); final from the start.
        Skipped = "skipped",
    }
}

impl ExecutionStatus {
    /// True once nothing can change it any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Completed
                | ExecutionStatus::Failed
                | ExecutionStatus::Cancelled
                | ExecutionStatus::Skipped
        )
    }
}

text_enum! {
    /// Why a due slot did not run.
    SkipReason {
        /// The previous run was still going (`forbid`), or one fire already waited (`queue`).
        Overlap = "overlap",
        /// Missed while the service was down or late (`misfirePolicy`), beyond what runs.
        Misfire = "misfire",
        /// It could not start within `startDeadlineSeconds` of its time.
        StartDeadline = "start_deadline",
        /// Under `maxConcurrent`, as many fires as it allows were already waiting.
        Backlog = "backlog",
    }
}

text_enum! {
    /// Why an execution exists.
    Trigger {
        /// Its schedule's time came.
        Schedule = "schedule",
        /// Someone ran it now.
        Manual = "manual",
        /// Error recovery retried a failed one.
        Retry = "retry",
        /// A fire missed during downtime, run once on restart.
        CatchUp = "catch_up",
        /// An operator ran a past slot (`POST …/backfill`).
        Backfill = "backfill",
        /// A run of a schedule listing this one in `onSuccess`/`onFailure` ended so.
        Chained = "chained",
        /// A signed `POST /api/hooks/{key}`.
        Webhook = "webhook",
    }
}

impl Trigger {
    /// Fires of the schedule itself (they hold a slot: one execution per slot).
    pub fn is_fire(self) -> bool {
        matches!(self, Trigger::Schedule | Trigger::CatchUp)
    }
}

text_enum! {
    /// Where an error record is in its recovery.
    RecoveryStatus {
        /// Waiting for a person.
        Unresolved = "unresolved",
        RetryScheduled = "retry_scheduled",
        Retrying = "retrying",
        Resolved = "resolved",
        Ignored = "ignored",
        Escalated = "escalated",
    }
}

impl RecoveryStatus {
    /// Resolved and ignored records accept no action.
    pub fn is_final(self) -> bool {
        matches!(self, RecoveryStatus::Resolved | RecoveryStatus::Ignored)
    }
}

text_enum! {
    /// How urgent a failure is.
    Severity {
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

text_enum! {
    /// What kind of failure ended a run.
    ErrorType {
        Timeout = "timeout",
        ExitCode = "exit_code",
        HttpStatus = "http_status",
        Connection = "connection",
        Conductor = "conductor",
        Spawn = "spawn",
        Interrupted = "interrupted",
        Internal = "internal",
    }
}

text_enum! {
    /// A change of an error record, as its history lists it.
    HistoryAction {
        /// The chain's first failure opened the record.
        Recorded = "recorded",
        /// A retry of the chain failed too.
        Failed = "failed",
        /// A due retry was started (or not, when its schedule was gone or paused).
        RetryStarted = "retry_started",
        RetrySucceeded = "retry_succeeded",
        RetryCancelled = "retry_cancelled",
        /// Operator actions.
        Retry = "retry",
        Resolve = "resolve",
        Ignore = "ignore",
        Escalate = "escalate",
    }
}

text_enum! {
    /// What a fire does when the schedule's previous run is still going.
    ConcurrencyPolicy {
        Allow = "allow",
        /// Skip the fire.
        Forbid = "forbid",
        /// The fire waits for the running one to end (at most one waits; further fires skip).
        Queue = "queue",
        /// The running one is cancelled, then the fire starts.
        Replace = "replace",
    }
}

text_enum! {
    /// What a restart does with fires missed while no instance ran.
    MisfirePolicy {
        /// One `catch_up` run for the latest missed slot.
        RunOnce = "run_once",
        Skip = "skip",
        /// Every missed slot runs once, oldest first, within `catchupMax`/`catchupWindowSeconds`.
        RunAll = "run_all",
    }
}

text_enum! {
    /// What a schedule runs.
    TaskType {
        Shell = "shell",
        Http = "http",
        Conductor = "conductor",
    }
}

text_enum! {
    /// When a schedule fires.
    ScheduleType {
        Cron = "cron",
        Interval = "interval",
        Once = "once",
    }
}

text_enum! {
    /// What health reports about a background component (scheduler, error recovery).
    ComponentState {
        Running = "running",
        /// Stopped on purpose (shutdown).
        Stopped = "stopped",
        /// Not answering: being restarted by its supervisor.
        Restarting = "restarting",
    }
}

text_enum! {
    /// What `taskforge apply` does (or, in a dry run, would do) with one schedule of its plan.
    ApplyAction {
        /// In the file, not stored: created.
        Create = "create",
        /// In the file and stored with other values: replaced.
        Update = "update",
        /// Stored, managed by the file, absent from it, and `--prune` given: deleted.
        Delete = "delete",
        /// In the file and stored as it is: left alone.
        Unchanged = "unchanged",
    }
}

text_enum! {
    /// Whether a dependency (the database, the conductor) answered its probe.
    Reachability {
        Ok = "ok",
        Unreachable = "unreachable",
    }
}

text_enum! {
    /// The service's overall health.
    HealthStatus {
        Ok = "ok",
        /// A dependency the service cannot work without (the database) is down.
        Unavailable = "unavailable",
        ShuttingDown = "shutting_down",
    }
}

/// Reply statuses with which the conductor (the AI-agent service) reports a failed task; its
/// own vocabulary, compared case-insensitively.
pub const CONDUCTOR_FAILED: [&str; 5] = ["failed", "error", "cancelled", "canceled", "timeout"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serialize_as_stored() {
        for s in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::json!(s.as_str()))
            );
        }
        for s in RecoveryStatus::ALL {
            assert_eq!(RecoveryStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Trigger::parse("catch_up"), Some(Trigger::CatchUp));
        assert_eq!(ErrorType::parse("exit_code"), Some(ErrorType::ExitCode));
        assert_eq!(Severity::parse("urgent"), None);
        assert!(ExecutionStatus::Cancelled.is_final() && !ExecutionStatus::Running.is_final());
    }
}

text_enum! {
    /// How a DST change touches a previewed run.
    DstMark {
        /// A local time before it did not exist (spring forward) and was skipped.
        Gap = "gap",
        /// It falls in a repeated hour (fall back); it fires at the first occurrence.
        Overlap = "overlap",
    }
}
