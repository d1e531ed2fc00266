//! The client commands (SPEC §13) against the real service: tables and `--json`, actions,
//! exit codes 0/1/2, the token, and `runs logs --follow` printing a run's lines as they come.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::app::{eventually, TestApp};

/// Runs the CLI with `args` against `base`; (exit code, stdout, stderr).
pub(crate) async fn cli(base: &str, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--url", base];
    all.extend_from_slice(args);
    let all: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, out, err) = crate::process::run_output(&env, &args, Duration::from_secs(60));
        (status.code().unwrap_or(-1), out, err)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// A CLI process whose stdout goes to a file; killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_cli(args: &[&str], out: &Path) -> Running {
    let file = std::fs::File::create(out).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(env!("CARGO_BIN_EXE_taskforge"))
        .args(args)
        .env_remove("TASKFORGE_TOKEN")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    Running(child)
}

#[actix_web::test]
async fn schedules_runs_and_errors_from_the_command_line() {
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    let ok = app
        .create_schedule(
            json!({"name": "cli-ok", "taskType": "shell", "taskConfig": {"command": "echo hi"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 29 2 *"}}),
        )
        .await;
    let bad = app
        .create_schedule(json!({"name": "cli-bad", "taskType": "shell", "taskConfig": {"command": "exit 3"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 1}}))
        .await;
    let (ok_id, bad_id) = (
        ok["id"].as_str().unwrap_or_default(),
        bad["id"].as_str().unwrap_or_default(),
    );

    let (code, out, _) = cli(&base, &[], &["schedules", "list"]).await;
    assert_eq!(code, 0, "{out}");
    let head: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(head[..3], ["ID", "NAME", "TASK"], "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("cli-ok") && l.contains("0 0 29 2 *")),
        "{out}"
    );
    let (code, out, _) = cli(
        &base,
        &[],
        &["schedules", "list", "--json", "--q", "cli-bad"],
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(json_of(&out)["items"][0]["id"], bad_id);

    let (code, out, _) = cli(
        &base,
        &[],
        &["schedules", "pause", ok_id, "--reason", "deploy"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("paused: cli-ok"), "{out}");
    assert!(out.contains("deploy"), "{out}");
    let (code, out, _) = cli(&base, &[], &["schedules", "resume", ok_id, "--json"]).await;
    assert_eq!((code, json_of(&out)["enabled"].clone()), (0, json!(true)));

    let (code, out, _) = cli(
        &base,
        &[],
        &["schedules", "trigger", ok_id, "--payload", r#"{"a":1}"#],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let run = out
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    app.finished_execution(&run).await;
    let (code, out, _) = cli(&base, &[], &["runs", "get", &run, "--json"]).await;
    assert_eq!(code, 0);
    let v = json_of(&out);
    assert_eq!(
        (v["status"].clone(), v["payload"].clone()),
        (json!("completed"), json!({"a": 1}))
    );
    let (code, out, _) = cli(&base, &[], &["runs", "logs", &run]).await;
    assert_eq!((code, out.as_str()), (0, "hi\n"));
    let (code, out, _) = cli(&base, &[], &["runs", "list", "--schedule", ok_id]).await;
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.contains(&run) && l.contains("completed")),
        "{out}"
    );

    let failed = app.trigger(&bad).await;
    app.finished_execution(&failed).await;
    let record = eventually(Duration::from_secs(30), "the error record", || async {
        let (_, v) = app
            .get(&format!("/api/errors/errors?scheduleId={bad_id}"))
            .await;
        v["items"][0]["id"].as_str().map(str::to_string)
    })
    .await;
    let (code, out, _) = cli(&base, &[], &["errors", "list"]).await;
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.contains(&record) && l.contains("cli-bad")),
        "{out}"
    );
    let (code, out, _) = cli(
        &base,
        &[],
        &["errors", "resolve", &record, "--note", "fixed"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("resolved") && out.contains("fixed"), "{out}");

    // 1: the API said no, with its message. 2: bad usage, before any request.
    let unknown = uuid::Uuid::new_v4().to_string();
    let (code, _, err) = cli(&base, &[], &["runs", "get", &unknown]).await;
    assert_eq!(code, 1);
    assert!(err.contains("not found") && err.contains("404"), "{err}");
    let (code, _, err) = cli(&base, &[], &["errors", "resolve", &record]).await;
    assert_eq!(code, 1, "resolving twice is a conflict: {err}");
    let (code, _, err) = cli(&base, &[], &["runs", "get", "not-a-uuid"]).await;
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cli(
        &base,
        &[],
        &["schedules", "trigger", ok_id, "--payload", "{nope"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("--payload is not JSON"), "{err}");
    let (code, _, err) = cli("http://127.0.0.1:9", &[], &["schedules", "list"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("127.0.0.1:9"), "{err}");
    let (code, _, _) = cli(&base, &[], &["schedules", "delete", bad_id]).await;
    assert_eq!(code, 0);
    let (_, v) = app.get(&format!("/api/scheduler/schedules/{bad_id}")).await;
    assert_eq!(v["error"]["code"], "not_found");
}

#[actix_web::test]
async fn the_token_comes_from_the_flag_or_the_environment() {
    const TOKEN: &str = "cli-t0ken-for-tests";
    let app = TestApp::spawn_with(|c| c.server.api_token = TOKEN.into()).await;
    let (code, _, err) = cli(&app.base, &[], &["schedules", "list"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    let (code, _, _) = cli(&app.base, &[], &["schedules", "list", "--token", TOKEN]).await;
    assert_eq!(code, 0);
    let (code, _, _) = cli(&app.base, &[("TASKFORGE_TOKEN", TOKEN)], &["runs", "list"]).await;
    assert_eq!(code, 0);
}

#[actix_web::test]
async fn runs_logs_follow_prints_lines_as_they_come() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gate = dir.path().join("go");
    let cmd = format!(
        "echo one; echo to-stderr >&2; while [ ! -e '{}' ]; do sleep 0.02; done; echo two",
        gate.display()
    );
    let s = app
        .create_schedule(
            json!({"name": "follow", "taskType": "shell", "taskConfig": {"command": cmd},
            "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}),
        )
        .await;
    let id = app.trigger(&s).await;
    let out = dir.path().join("out.txt");
    let mut follower = spawn_cli(&["--url", &app.base, "runs", "logs", &id, "--follow"], &out);
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    eventually(
        Duration::from_secs(30),
        "the first line, while it runs",
        || async { (read() == "one\n").then_some(()) },
    )
    .await;
    assert_eq!(app.execution(&id).await["finishedAt"], Value::Null);
    std::fs::write(&gate, b"").unwrap_or_else(|e| panic!("{e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Ok(Some(status)) = follower.0.try_wait() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the follower did not exit: {}",
            read()
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success());
    assert_eq!(read(), "one\ntwo\n", "each line once, in order");
}

#[actix_web::test]
async fn export_writes_create_fields_that_create_the_same_schedules() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .post(
            "/api/secrets",
            &json!({"name": "exp-pw", "value": "s3cret-value"}),
        )
        .await;
    assert_eq!(status, actix_web::http::StatusCode::CREATED, "{v}");
    let next = app
        .create_schedule(json!({"name": "exp-b", "taskType": "http", "taskConfig": {"url": "http://127.0.0.1:9/x", "method": "POST", "body": {"k": [1, 2]}},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 90}, "jitterSeconds": 5, "tags": ["t1"]}))
        .await;
    app.create_schedule(json!({"name": "exp-a", "description": "first", "taskType": "shell",
        "taskConfig": {"command": "echo \"$PW\"", "env": {"PW": {"$secret": "exp-pw"}, "PLAIN": "v"}},
        "scheduleType": "cron", "scheduleConfig": {"expression": "15 3 * * 1-5", "timezone": "Europe/Berlin"},
        "retryPolicy": {"maxAttempts": 4}, "onSuccess": [next["id"]], "webhook": {"enabled": true}}))
        .await;

    let (code, toml_text, err) = cli(&app.base, &[], &["export"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(toml_text.contains("[[schedules]]"), "{toml_text}");
    for hidden in ["s3cret-value", "webhookSecret", "nextRunAt", "\"id\""] {
        assert!(!toml_text.contains(hidden), "{hidden} in {toml_text}");
    }
    let doc: Value = toml::from_str(&toml_text).unwrap_or_else(|e| panic!("{e}: {toml_text}"));
    let (code, json_text, _) = cli(&app.base, &[], &["export", "--format", "json"]).await;
    assert_eq!(code, 0);
    assert_eq!(json_of(&json_text), doc, "TOML and JSON say the same");
    let entries = doc["schedules"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = entries.iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(names, ["exp-a", "exp-b"], "sorted by name");
    // Each entry is a create body: under a new name it makes the same schedule.
    for e in &entries {
        let mut copy = e.clone();
        copy["name"] = json!(format!("{}-copy", e["name"].as_str().unwrap_or_default()));
        let made = app.create_schedule(copy.clone()).await;
        for (k, v) in copy.as_object().into_iter().flatten() {
            assert_eq!(&made[k], v, "field {k} of {}", e["name"]);
        }
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (status, out, err) =
            crate::process::run_output(&[], &["completions", shell], Duration::from_secs(30));
        assert!(status.success(), "{shell}: {err}");
        assert!(
            out.contains("schedules") && out.contains("logs"),
            "{shell}: {out}"
        );
    }
    let (status, _, err) =
        crate::process::run_output(&[], &["completions", "cmd.exe"], Duration::from_secs(30));
    assert_eq!(status.code(), Some(2), "{err}");
}
