use super::*;
use crate::domain::validate::{FieldErrors, Limits};
use serde_json::json;

fn fields(t: TaskType, v: Value) -> Vec<String> {
    let mut e = FieldErrors::default();
    let r = TaskSpec::from_json(t, &v, &Limits::default(), &mut e);
    assert!(r.is_none(), "{v} accepted");
    e.fields()
}

#[test]
fn valid_tasks_round_trip() {
    let mut e = FieldErrors::default();
    for (t, v) in [
        (
            TaskType::Shell,
            json!({"command": "echo hi", "workingDir": "/tmp", "env": {"K": "V"}, "timeoutMs": 500}),
        ),
        (
            TaskType::Http,
            json!({"method": "post", "url": "http://127.0.0.1:1/x", "headers": {"X-A": "b"}, "body": {"a": 1}, "expectedStatus": [200, 201]}),
        ),
        (
            TaskType::Conductor,
            json!({"message": "hello", "threadId": "t-1"}),
        ),
    ] {
        let spec = TaskSpec::from_json(t, &v, &Limits::default(), &mut e)
            .unwrap_or_else(|| panic!("{v}: {e:?}"));
        assert_eq!(TaskSpec::from_stored(t, &spec.to_json()), Ok(spec.clone()));
        assert_eq!(spec.task_type(), t);
    }
}

#[test]
fn secret_references_are_kept_and_resolved_at_run_time() {
    let mut e = FieldErrors::default();
    let v = json!({"method": "GET", "url": "http://127.0.0.1:1/x", "headers": {"Authorization": {"$secret": "api-key"}, "X-Plain": "p"},
                   "body": {"$secret": "payload"}});
    let spec = TaskSpec::from_json(TaskType::Http, &v, &Limits::default(), &mut e)
        .unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(spec.to_json(), v, "stored as given: references, not values");
    assert_eq!(
        TaskSpec::from_stored(TaskType::Http, &spec.to_json()),
        Ok(spec.clone())
    );
    assert_eq!(
        spec.secret_refs(),
        vec![
            (
                "taskConfig.headers.Authorization".to_string(),
                "api-key".to_string()
            ),
            ("taskConfig.body".to_string(), "payload".to_string())
        ]
    );
    let done = spec.resolved(&[
        ("api-key".into(), "Bearer s3".into()),
        ("payload".into(), "{}".into()),
    ]);
    let TaskSpec::Http(h) = done else {
        panic!("type changed")
    };
    assert_eq!(h.headers[0].1.plain(), Some("Bearer s3"));
    assert_eq!(h.body, Some(Value::String("{}".into())));
    assert_eq!(
        spec.secrets(),
        vec!["p".to_string()]
            .into_iter()
            .filter(|s| s.len() >= 3)
            .collect::<Vec<_>>()
    );
}

#[test]
fn secrets_are_redacted() {
    let t = ShellTask {
        command: "x".into(),
        working_dir: None,
        env: vec![("TOKEN".into(), Param::Plain("abc123".into()))],
        timeout_ms: None,
    };
    let s = TaskSpec::Shell(t).secrets();
    assert_eq!(
        crate::domain::redact::redact("value abc123 leaked", &s),
        "value *** leaked"
    );
}

#[test]
fn invalid_tasks_name_the_field() {
    assert_eq!(
        fields(TaskType::Shell, json!({})),
        vec!["taskConfig.command"]
    );
    assert_eq!(
        fields(TaskType::Shell, json!({"command": "  "})),
        vec!["taskConfig.command"]
    );
    assert_eq!(
        fields(
            TaskType::Shell,
            json!({"command": "x", "workingDir": "rel"})
        ),
        vec!["taskConfig.workingDir"]
    );
    assert_eq!(
        fields(TaskType::Shell, json!({"command": "x", "env": {"A": 1}})),
        vec!["taskConfig.env.A"]
    );
    assert_eq!(
        fields(
            TaskType::Shell,
            json!({"command": "x", "env": {"A": {"$secret": "bad name"}}})
        ),
        vec!["taskConfig.env.A"]
    );
    assert_eq!(
        fields(
            TaskType::Shell,
            json!({"command": "x", "env": {"A": {"$secret": "ok", "x": 1}}})
        ),
        vec!["taskConfig.env.A"]
    );
    assert_eq!(
        fields(TaskType::Shell, json!({"command": "a\u{0}b"})),
        vec!["taskConfig.command"]
    );
    assert_eq!(
        fields(TaskType::Shell, json!({"command": "x", "timeoutMs": 0})),
        vec!["taskConfig.timeoutMs"]
    );
    assert_eq!(
        fields(TaskType::Shell, json!({"command": "x", "cmd": "y"})),
        vec!["taskConfig.cmd"]
    );
    assert_eq!(
        fields(TaskType::Http, json!({"url": "ftp://x"})),
        vec!["taskConfig.url"]
    );
    assert_eq!(
        fields(TaskType::Http, json!({"url": "http://x", "method": "BREW"})),
        vec!["taskConfig.method"]
    );
    assert_eq!(
        fields(
            TaskType::Http,
            json!({"url": "http://x", "expectedStatus": [99]})
        ),
        vec!["taskConfig.expectedStatus[0]"]
    );
    assert_eq!(
        fields(
            TaskType::Http,
            json!({"url": "http://x", "headers": {"bad header": "v"}})
        ),
        vec!["taskConfig.headers.bad header"]
    );
    assert_eq!(
        fields(
            TaskType::Conductor,
            json!({"message": "m", "threadId": "a/b"})
        ),
        vec!["taskConfig.threadId"]
    );
    assert_eq!(
        fields(TaskType::Conductor, json!("text")),
        vec!["taskConfig"]
    );
    let long = "x".repeat(Limits::default().command_max_bytes + 1);
    assert_eq!(
        fields(TaskType::Shell, json!({"command": long})),
        vec!["taskConfig.command"]
    );
}
