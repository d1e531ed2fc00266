//! `taskforge apply -f FILE [--dry-run] [--prune]` and `export` against the real service: the
//! plan, exactly the changed fields, prune limited to the file's owner, an invalid file that
//! changes nothing and names `file:schedule:field`, and export → apply as "unchanged".

use std::path::{Path, PathBuf};

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::cli_client::{cli, json_of};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    p
}

/// `apply -f file [flags] --json`, which must succeed; the plan as (name, action, fields).
async fn plan(app: &TestApp, file: &Path, flags: &[&str]) -> Vec<(String, String, Vec<String>)> {
    let f = file.display().to_string();
    let mut args = vec!["apply", "-f", f.as_str(), "--json"];
    args.extend_from_slice(flags);
    let (code, out, err) = cli(&app.base, &[], &args).await;
    assert_eq!(code, 0, "{err}{out}");
    let v = json_of(&out);
    v["plan"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let fields = s["fields"].as_array().into_iter().flatten();
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["action"].as_str().unwrap_or_default().to_string(),
                fields
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            )
        })
        .collect()
}

fn step(name: &str, action: &str, fields: &[&str]) -> (String, String, Vec<String>) {
    let fields = fields.iter().map(|f| f.to_string()).collect();
    (name.to_string(), action.to_string(), fields)
}

/// The stored schedule named `name`, if any.
async fn by_name(app: &TestApp, name: &str) -> Option<Value> {
    let (status, page) = app.get("/api/scheduler/schedules?limit=500").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .cloned()
}

const V1: &str = r#"
managedBy = "team-ops"

[[schedules]]
name = "nightly-report"
taskType = "shell"
taskConfig = { command = "echo report" }
scheduleType = "cron"
scheduleConfig = { expression = "0 2 * * *", timezone = "Europe/Berlin" }

[[schedules]]
name = "heartbeat"
taskType = "shell"
taskConfig = { command = "true" }
scheduleType = "interval"
scheduleConfig = { intervalSeconds = 300 }
tags = ["ops"]
"#;

#[actix_web::test]
async fn apply_creates_is_unchanged_updates_exact_fields_and_prunes_only_its_own() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let hand = app
        .create_schedule(
            json!({"name": "hand-made", "taskType": "shell", "taskConfig": {"command": "true"},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 600}}),
        )
        .await;
    assert_eq!(hand["managedBy"], Value::Null);
    app.create_schedule(json!({"name": "other-team", "taskType": "shell", "taskConfig": {"command": "true"},
        "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 600}, "managedBy": "team-x"}))
        .await;
    let v1 = write(dir.path(), "v1.toml", V1);

    // A dry run shows the plan and creates nothing; the table is for people.
    let f = v1.display().to_string();
    let (code, out, err) = cli(&app.base, &[], &["apply", "-f", &f, "--dry-run"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("create") && out.contains("nightly-report"),
        "{out}"
    );
    assert!(
        out.contains("dry run, nothing changed: 2 to create"),
        "{out}"
    );
    assert!(by_name(&app, "nightly-report").await.is_none());

    let (code, out, err) = cli(&app.base, &[], &["apply", "-f", &f]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("applied: 2 to create, 0 to update, 0 to delete, 0 unchanged"),
        "{out}"
    );
    let report = by_name(&app, "nightly-report").await.unwrap_or_default();
    assert_eq!(report["managedBy"], "team-ops");
    assert_eq!(report["scheduleConfig"]["timezone"], "Europe/Berlin");

    // The same file again changes nothing, not even updatedAt.
    assert_eq!(
        plan(&app, &v1, &[]).await,
        [
            step("nightly-report", "unchanged", &[]),
            step("heartbeat", "unchanged", &[])
        ]
    );
    let again = by_name(&app, "nightly-report").await.unwrap_or_default();
    assert_eq!(again["updatedAt"], report["updatedAt"]);

    // A changed file: the dry run names exactly what changes, and changes nothing.
    let v2 = write(
        dir.path(),
        "v2.toml",
        &(V1.replace("echo report", "echo report --full")
            .replace("tags = [\"ops\"]", "tags = [\"ops\", \"core\"]\njitterSeconds = 10")
            + "\n[[schedules]]\nname = \"cleanup\"\ntaskType = \"shell\"\ntaskConfig = { command = \"true\" }\nscheduleType = \"cron\"\nscheduleConfig = { expression = \"@daily\" }\n"),
    );
    let expected = [
        step("nightly-report", "update", &["taskConfig.command"]),
        step("heartbeat", "update", &["tags", "jitterSeconds"]),
        step("cleanup", "create", &[]),
    ];
    assert_eq!(plan(&app, &v2, &["--dry-run"]).await, expected);
    let still = by_name(&app, "nightly-report").await.unwrap_or_default();
    assert_eq!(still["taskConfig"]["command"], "echo report");
    assert_eq!(plan(&app, &v2, &[]).await, expected);
    let now = by_name(&app, "nightly-report").await.unwrap_or_default();
    assert_eq!(now["taskConfig"]["command"], "echo report --full");
    assert_eq!(now["id"], report["id"], "an update keeps the schedule");
    let beat = by_name(&app, "heartbeat").await.unwrap_or_default();
    assert_eq!(beat["tags"], json!(["ops", "core"]));
    assert_eq!(beat["jitterSeconds"], 10);

    // Without --prune a schedule left out of the file stays; with it, only the file's own go.
    let v3 = write(
        dir.path(),
        "v3.json",
        &json!({"managedBy": "team-ops", "schedules": [{"name": "cleanup", "taskType": "shell",
            "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "@daily"}}]})
        .to_string(),
    );
    assert_eq!(
        plan(&app, &v3, &[]).await,
        [step("cleanup", "unchanged", &[])]
    );
    assert!(by_name(&app, "heartbeat").await.is_some());
    let pruned = [
        step("cleanup", "unchanged", &[]),
        step("heartbeat", "delete", &[]),
        step("nightly-report", "delete", &[]),
    ];
    assert_eq!(plan(&app, &v3, &["--prune", "--dry-run"]).await, pruned);
    assert!(
        by_name(&app, "heartbeat").await.is_some(),
        "a dry run deletes nothing"
    );
    assert_eq!(plan(&app, &v3, &["--prune"]).await, pruned);
    for gone in ["heartbeat", "nightly-report"] {
        assert!(by_name(&app, gone).await.is_none(), "{gone} was pruned");
    }
    for kept in ["hand-made", "other-team", "cleanup"] {
        assert!(
            by_name(&app, kept).await.is_some(),
            "{kept} is not the file's to prune"
        );
    }

    // Each apply is one audit entry with its counts.
    let (_, audit) = app.get("/api/audit?action=schedule.apply").await;
    let entries = audit["items"].as_array().cloned().unwrap_or_default();
    let pruning = entries
        .iter()
        .find(|e| e["details"]["summary"]["delete"] == 2 && e["details"]["dryRun"] == false);
    assert!(
        pruning.is_some_and(|e| e["details"]["managedBy"] == "team-ops"),
        "{audit}"
    );
}

#[actix_web::test]
async fn an_invalid_file_changes_nothing_and_names_file_schedule_and_field() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let good = "[[schedules]]\nname = \"fine\"\ntaskType = \"shell\"\ntaskConfig = { command = \"true\" }\nscheduleType = \"interval\"\nscheduleConfig = { intervalSeconds = 60 }\n";
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "bad.toml",
            format!("{good}\n[[schedules]]\nname = \"broken\"\ntaskType = \"shell\"\ntaskConfig = {{ command = \"a\\u0000b\" }}\nscheduleType = \"interval\"\nscheduleConfig = {{ intervalSeconds = -1 }}\n"),
            vec!["bad.toml:broken:taskConfig.command"],
        ),
        (
            "range.toml",
            format!("{good}\n[[schedules]]\nname = \"far\"\ntaskType = \"shell\"\ntaskConfig = {{ command = \"true\" }}\nscheduleType = \"once\"\nscheduleConfig = {{ runAt = \"9999-12-31T23:59:60Z\" }}\nmaxRuns = 99999999999\n"),
            vec!["range.toml:far:scheduleConfig.runAt"],
        ),
        (
            "twice.toml",
            format!("{good}\n{good}"),
            vec!["twice.toml:fine:name: appears more than once"],
        ),
        (
            "secret.toml",
            format!("{good}\n[[schedules]]\nname = \"needs-pw\"\ntaskType = \"shell\"\ntaskConfig = {{ command = \"true\", env = {{ PW = {{ \"$secret\" = \"no-such\" }} }} }}\nscheduleType = \"interval\"\nscheduleConfig = {{ intervalSeconds = 60 }}\n"),
            vec!["secret.toml:needs-pw:taskConfig.env.PW", "no-such"],
        ),
        (
            "prune.toml",
            good.to_string(),
            vec!["prune.toml:managedBy: is required with prune"],
        ),
        ("syntax.toml", "[[schedules]\nname = 1".to_string(), vec!["syntax.toml: not valid TOML"]),
        ("shape.json", "[1, 2]".to_string(), vec!["shape.json: must be a table"]),
    ];
    for (name, text, wanted) in cases {
        let p = write(dir.path(), name, &text);
        let f = p.display().to_string();
        let mut args = vec!["apply", "-f", f.as_str()];
        if name == "prune.toml" {
            args.push("--prune");
        }
        let (code, out, err) = cli(&app.base, &[], &args).await;
        assert_eq!(code, 1, "{name}: {out}{err}");
        let err = err.replace(&format!("{}/", dir.path().display()), "");
        for w in wanted {
            assert!(err.contains(w), "{name}: wanted `{w}` in {err}");
        }
        assert!(
            by_name(&app, "fine").await.is_none(),
            "{name}: nothing is applied"
        );
    }
    let (code, _, _) = cli(&app.base, &[], &["apply"]).await;
    assert_eq!(code, 2, "no file is bad usage");
    let missing = dir.path().join("absent.toml").display().to_string();
    let (code, _, err) = cli(&app.base, &[], &["apply", "-f", &missing]).await;
    assert_eq!(code, 1);
    assert!(err.contains("absent.toml"), "{err}");
    // Schedules are named by name or id; a name nobody has is an API error, not a crash.
    let (code, _, err) = cli(&app.base, &[], &["schedules", "trigger", "no-such"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("no schedule named `no-such`"), "{err}");
    let (code, _, _) = cli(&app.base, &[], &["schedules", "list", "-q", "--json"]).await;
    assert_eq!(code, 2, "--quiet and --json exclude each other");
}

#[actix_web::test]
async fn export_then_apply_is_unchanged() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (status, v) = app
        .post(
            "/api/secrets",
            &json!({"name": "rt-pw", "value": "hunter2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let target = app
        .create_schedule(json!({"name": "rt-target", "taskType": "http",
            "taskConfig": {"url": "http://127.0.0.1:9/x", "method": "POST", "headers": {"X-K": {"$secret": "rt-pw"}}, "body": {"k": [1, 2.5], "z": {"deep": true}}},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 90, "startAt": "2026-01-01T00:00:00Z"},
            "jitterSeconds": 5, "tags": ["t1", "t2"], "maxConcurrent": 2}))
        .await;
    app.create_schedule(json!({"name": "rt-source", "description": "chains and a webhook", "taskType": "shell",
        "taskConfig": {"command": "echo \"$PW\"", "env": {"PW": {"$secret": "rt-pw"}}, "timeoutMs": 5000},
        "scheduleType": "cron", "scheduleConfig": {"expression": "15 3 * * 1-5", "timezone": "America/New_York"},
        "retryPolicy": {"maxAttempts": 4}, "severity": "high", "misfirePolicy": "skip",
        "onSuccess": [target["id"]], "webhook": {"enabled": true}, "activeUntil": "2099-01-01T00:00:00Z"}))
        .await;
    let paused = app
        .create_schedule(json!({"name": "rt-paused", "taskType": "shell", "taskConfig": {"command": "true"},
            "scheduleType": "once", "scheduleConfig": {"runAt": "2099-06-01T12:00:00Z"}, "concurrencyPolicy": "forbid"}))
        .await;
    let id = paused["id"].as_str().unwrap_or_default();
    let (status, _) = app
        .post(
            &format!("/api/scheduler/schedules/{id}/pause"),
            &json!({"reason": "hold"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // One schedule managed by a file, the others not: owners stay per entry in the export.
    let owned = write(dir.path(), "owned.toml", "managedBy = \"rt-team\"\n[[schedules]]\nname = \"rt-owned\"\ntaskType = \"shell\"\ntaskConfig = { command = \"true\" }\nscheduleType = \"cron\"\nscheduleConfig = { expression = \"@hourly\" }\n");
    assert_eq!(
        plan(&app, &owned, &[]).await,
        [step("rt-owned", "create", &[])]
    );

    for format in ["toml", "json"] {
        let (code, text, err) = cli(&app.base, &[], &["export", "--format", format]).await;
        assert_eq!(code, 0, "{err}");
        assert!(!text.contains("hunter2"), "{text}");
        let file = write(dir.path(), &format!("all.{format}"), &text);
        let steps = plan(&app, &file, &["--dry-run"]).await;
        let names: Vec<&str> = steps.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            names,
            ["rt-owned", "rt-paused", "rt-source", "rt-target"],
            "{text}"
        );
        for s in &steps {
            assert_eq!(
                (s.1.as_str(), s.2.len()),
                ("unchanged", 0),
                "{format}: {s:?}\n{text}"
            );
        }
    }
    // A null in an HTTP body is the user's data: JSON keeps it (and round-trips), TOML cannot.
    app.create_schedule(json!({"name": "rt-null", "taskType": "http",
        "taskConfig": {"url": "http://127.0.0.1:9/x", "method": "POST", "body": {"k": null, "l": [null]}},
        "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 60}}))
        .await;
    let (code, _, err) = cli(&app.base, &[], &["export"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("`rt-null`") && err.contains("--format json"),
        "{err}"
    );
    let (_, text, _) = cli(&app.base, &[], &["export", "--format", "json"]).await;
    let file = write(dir.path(), "nulls.json", &text);
    let steps = plan(&app, &file, &["--dry-run"]).await;
    assert!(steps.iter().all(|s| s.1 == "unchanged"), "{steps:?}");
    let doc = json_of(&text);
    let owned_entry = doc["schedules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "rt-owned");
    assert_eq!(
        owned_entry.map(|e| e["managedBy"].clone()),
        Some(json!("rt-team"))
    );
}
