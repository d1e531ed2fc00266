//! `schedules`, `runs` and `errors`: each subcommand is one API call, shown as a table, a
//! line, or (`--json`) the API's JSON.

use clap::Subcommand;
use serde_json::{json, Value};
use uuid::Uuid;

use super::names::schedule_id;
use super::table::{cell, fields, rows};
use super::{Api, Failure};

/// `taskforge schedules ...`.
#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// List schedules.
    List {
        /// A substring of the name, or a tag.
        #[arg(long)]
        q: Option<String>,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
    },
    /// Show one schedule (by name or id).
    Get { schedule: String },
    /// Pause a schedule.
    Pause {
        schedule: String,
        /// Why (shown with the schedule).
        #[arg(long)]
        reason: Option<String>,
        /// Resume by itself at this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
    },
    /// Resume a paused schedule.
    Resume { schedule: String },
    /// Run a schedule now.
    Trigger {
        schedule: String,
        /// JSON given to the run (`payload`).
        #[arg(long, value_name = "JSON")]
        payload: Option<String>,
    },
    /// Delete a schedule (its history stays).
    Delete { schedule: String },
}

/// `taskforge runs ...`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List executions, newest first.
    List {
        /// Of this schedule (name or id).
        #[arg(long, value_name = "NAME|ID")]
        schedule: Option<String>,
        /// pending, running, completed, failed, cancelled or skipped.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
    },
    /// Show one execution.
    Get { id: Uuid },
    /// Cancel a pending or running execution.
    Cancel { id: Uuid },
    /// Print an execution's output; with --follow, keep printing while it runs.
    Logs {
        id: Uuid,
        #[arg(long, short)]
        follow: bool,
    },
}

/// `taskforge errors ...`.
#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// List error records, newest first.
    List {
        /// A recovery status, or a comma list (unresolved,escalated).
        #[arg(long)]
        status: Option<String>,
        /// Of this schedule (name or id).
        #[arg(long, value_name = "NAME|ID")]
        schedule: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
    },
    /// Show one error record with its executions.
    Get { id: Uuid },
    /// Run the failed task again now.
    Retry { id: Uuid },
    /// Mark a record resolved.
    Resolve {
        id: Uuid,
        #[arg(long)]
        note: Option<String>,
    },
    /// Mark a record ignored.
    Ignore {
        id: Uuid,
        #[arg(long)]
        note: Option<String>,
    },
    /// Escalate a record (notifies).
    Escalate {
        id: Uuid,
        #[arg(long)]
        note: Option<String>,
    },
}

/// `?a=b&c=d` of the values that are set, percent-encoded.
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let set: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| format!("{k}={}", crate::domain::template::percent_encode(v)))
        })
        .collect();
    if set.is_empty() {
        String::new()
    } else {
        format!("?{}", set.join("&"))
    }
}

/// The answer as JSON text, or as `human` made of it.
fn shown(api: &Api, v: &Value, human: impl FnOnce(&Value) -> String) -> String {
    if api.conn.quiet {
        super::names::ids(v)
    } else if api.conn.json {
        format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
    } else {
        human(v)
    }
}

fn items(v: &Value) -> &[Value] {
    v["items"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// When a schedule runs, in one cell.
fn when(s: &Value) -> String {
    let c = &s["scheduleConfig"];
    match s["scheduleType"].as_str() {
        Some("cron") => cell(&c["expression"]),
        Some("interval") => format!("every {} s", cell(&c["intervalSeconds"])),
        Some("once") => format!("at {}", cell(&c["runAt"])),
        _ => cell(c),
    }
}

/// Runs one schedules command.
pub(super) async fn schedules(api: &Api, cmd: SchedulesCommand) -> Result<String, Failure> {
    let base = "/api/scheduler/schedules";
    let one = |id: Uuid, action: &str| format!("{base}/{id}{action}");
    let (v, done) = match cmd {
        SchedulesCommand::List { q, limit } => {
            let path = format!(
                "{base}{}",
                query(&[("q", q), ("limit", Some(limit.to_string()))])
            );
            let v = api.call("GET", &path, None).await?;
            return Ok(shown(api, &v, |v| {
                rows(
                    items(v),
                    &[
                        ("ID", |s| cell(&s["id"])),
                        ("NAME", |s| cell(&s["name"])),
                        ("TASK", |s| cell(&s["taskType"])),
                        ("WHEN", when),
                        ("ENABLED", |s| cell(&s["enabled"])),
                        ("NEXT RUN", |s| cell(&s["nextRunAt"])),
                        ("LAST", |s| cell(&s["lastStatus"])),
                        ("FAILS", |s| cell(&s["consecutiveFailures"])),
                    ],
                )
            }));
        }
        SchedulesCommand::Get { schedule } => {
            let id = schedule_id(api, &schedule).await?;
            (api.call("GET", &one(id, ""), None).await?, "")
        }
        SchedulesCommand::Pause {
            schedule,
            reason,
            until,
        } => {
            let id = schedule_id(api, &schedule).await?;
            let mut body = serde_json::Map::new();
            for (k, v) in [("reason", reason), ("until", until)] {
                if let Some(v) = v {
                    body.insert(k.into(), Value::String(v));
                }
            }
            let v = api
                .call("POST", &one(id, "/pause"), Some(&Value::Object(body)))
                .await?;
            (v, "paused")
        }
        SchedulesCommand::Resume { schedule } => {
            let id = schedule_id(api, &schedule).await?;
            let v = api.call("POST", &one(id, "/resume"), None).await?;
            (v, "resumed")
        }
        SchedulesCommand::Trigger { schedule, payload } => {
            let id = schedule_id(api, &schedule).await?;
            let body = match payload {
                Some(p) => {
                    let p: Value = serde_json::from_str(&p)
                        .map_err(|e| Failure(format!("--payload is not JSON: {e}")))?;
                    json!({ "payload": p })
                }
                None => json!({}),
            };
            let v = api.call("POST", &one(id, "/trigger"), Some(&body)).await?;
            return Ok(shown(api, &v, |v| {
                format!("triggered: execution {}\n", cell(&v["executionId"]))
            }));
        }
        SchedulesCommand::Delete { schedule } => {
            let id = schedule_id(api, &schedule).await?;
            api.call("DELETE", &one(id, ""), None).await?;
            return Ok(shown(api, &json!({"deleted": id}), |_| {
                format!("deleted schedule {id}\n")
            }));
        }
    };
    Ok(shown(api, &v, |s| {
        let head = if done.is_empty() {
            String::new()
        } else {
            format!("{done}: {}\n", cell(&s["name"]))
        };
        head + &fields(
            s,
            &[
                ("id", "id"),
                ("name", "name"),
                ("task", "taskType"),
                ("enabled", "enabled"),
                ("paused reason", "pausedReason"),
                ("paused until", "pausedUntil"),
                ("next run", "nextRunAt"),
                ("last run", "lastRunAt"),
                ("last status", "lastStatus"),
                ("failures in a row", "consecutiveFailures"),
            ],
        )
    }))
}

const RUN_FIELDS: [(&str, &str); 10] = [
    ("id", "id"),
    ("schedule", "scheduleName"),
    ("status", "status"),
    ("trigger", "trigger"),
    ("attempt", "attempt"),
    ("scheduled for", "scheduledFor"),
    ("started", "startedAt"),
    ("finished", "finishedAt"),
    ("duration ms", "durationMs"),
    ("error", "error"),
];

/// Runs one runs command (not `logs`).
pub(super) async fn runs(api: &Api, cmd: RunsCommand) -> Result<String, Failure> {
    match cmd {
        RunsCommand::List {
            schedule,
            status,
            limit,
        } => {
            let schedule = match schedule {
                Some(s) => Some(schedule_id(api, &s).await?.to_string()),
                None => None,
            };
            let path = format!(
                "/api/executions{}",
                query(&[
                    ("scheduleId", schedule),
                    ("status", status),
                    ("limit", Some(limit.to_string())),
                ])
            );
            let v = api.call("GET", &path, None).await?;
            Ok(shown(api, &v, |v| {
                rows(
                    items(v),
                    &[
                        ("ID", |x| cell(&x["id"])),
                        ("SCHEDULE", |x| cell(&x["scheduleName"])),
                        ("STATUS", |x| cell(&x["status"])),
                        ("TRIGGER", |x| cell(&x["trigger"])),
                        ("SCHEDULED FOR", |x| cell(&x["scheduledFor"])),
                        ("MS", |x| cell(&x["durationMs"])),
                        ("ERROR", |x| cell(&x["error"])),
                    ],
                )
            }))
        }
        RunsCommand::Get { id } => {
            let v = api
                .call("GET", &format!("/api/executions/{id}"), None)
                .await?;
            Ok(shown(api, &v, |x| fields(x, &RUN_FIELDS)))
        }
        RunsCommand::Cancel { id } => {
            let v = api
                .call("POST", &format!("/api/executions/{id}/cancel"), None)
                .await?;
            Ok(shown(api, &v, |x| {
                format!("cancelled: execution {}\n", cell(&x["id"]))
            }))
        }
        RunsCommand::Logs { id, follow } => super::logs::logs(api, id, follow).await,
    }
}

/// Runs one errors command.
pub(super) async fn errors(api: &Api, cmd: ErrorsCommand) -> Result<String, Failure> {
    let base = "/api/errors/errors";
    let (id, action, note) = match cmd {
        ErrorsCommand::List {
            status,
            schedule,
            limit,
        } => {
            let schedule = match schedule {
                Some(s) => Some(schedule_id(api, &s).await?.to_string()),
                None => None,
            };
            let path = format!(
                "{base}{}",
                query(&[
                    ("recoveryStatus", status),
                    ("scheduleId", schedule),
                    ("limit", Some(limit.to_string()))
                ])
            );
            let v = api.call("GET", &path, None).await?;
            return Ok(shown(api, &v, |v| {
                rows(
                    items(v),
                    &[
                        ("ID", |x| cell(&x["id"])),
                        ("SCHEDULE", |x| cell(&x["scheduleName"])),
                        ("STATUS", |x| cell(&x["recoveryStatus"])),
                        ("SEVERITY", |x| cell(&x["severity"])),
                        ("ATTEMPTS", |x| {
                            format!("{}/{}", cell(&x["attempts"]), cell(&x["maxAttempts"]))
                        }),
                        ("MESSAGE", |x| cell(&x["message"])),
                    ],
                )
            }));
        }
        ErrorsCommand::Get { id } => {
            let v = api.call("GET", &format!("{base}/{id}"), None).await?;
            return Ok(shown(api, &v, error_fields));
        }
        ErrorsCommand::Retry { id } => (id, "retry", None),
        ErrorsCommand::Resolve { id, note } => (id, "resolve", note),
        ErrorsCommand::Ignore { id, note } => (id, "ignore", note),
        ErrorsCommand::Escalate { id, note } => (id, "escalate", note),
    };
    let body = note.map(|n| json!({ "note": n })).unwrap_or(json!({}));
    let v = api
        .call("POST", &format!("{base}/{id}/{action}"), Some(&body))
        .await?;
    Ok(shown(api, &v, |x| {
        if action == "retry" {
            format!("retried: execution {}\n", cell(&x["executionId"]))
        } else {
            format!("{action}: {}\n{}", cell(&x["id"]), error_fields(x))
        }
    }))
}

fn error_fields(x: &Value) -> String {
    fields(
        x,
        &[
            ("id", "id"),
            ("schedule", "scheduleName"),
            ("status", "recoveryStatus"),
            ("severity", "severity"),
            ("error type", "errorType"),
            ("message", "message"),
            ("attempts", "attempts"),
            ("next retry", "nextRetryAt"),
            ("note", "note"),
        ],
    )
}
