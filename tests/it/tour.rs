//! The README's five-minute tour, run as written: every `sh` block between its markers, in
//! order, through bash, with the built `taskforge` first on the path, against a fresh service.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::app::TestApp;

/// The shell blocks of the README's tour, joined in order.
fn tour_script() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, rest) = readme
        .split_once("<!-- tour:begin -->")
        .unwrap_or_else(|| panic!("README has no tour"));
    let (tour, _) = rest
        .split_once("<!-- tour:end -->")
        .unwrap_or_else(|| panic!("the tour has no end"));
    let mut script = String::new();
    for block in tour.split("```sh\n").skip(1) {
        let (code, _) = block
            .split_once("```")
            .unwrap_or_else(|| panic!("an unclosed block"));
        script.push_str(code);
    }
    script
}

#[actix_web::test]
async fn the_readme_tour_runs_as_written() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let script = tour_script();
    assert!(script.contains("taskforge apply -f tour.toml"), "{script}");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_taskforge"))
        .parent()
        .unwrap_or_else(|| panic!("no bin dir"))
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (base, cwd) = (app.base.clone(), dir.path().to_path_buf());
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(&cwd)
            .env("PATH", path)
            .env("TASKFORGE_URL", base)
            .env_remove("TASKFORGE_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        // Bounded: the tour's runs take seconds; a hang fails here instead of stalling CI.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while child.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let out = String::from_utf8_lossy(&output.stdout).to_string();
    let err = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "the tour failed: {:?}\n{out}\n{err}",
        output.status
    );

    // What a reader is told to expect, in the order the tour shows it.
    let expected_out = [
        "dry run, nothing changed: 1 to create",
        "applied: 1 to create",
        "tour-hello",
        "hello 1\nhello 2\nhello 3\n",
        "taskConfig.command",
        "applied: 0 to create, 1 to update",
        "exit code 3",
        "resolved",
    ];
    let mut at = 0;
    for want in expected_out {
        match out[at..].find(want) {
            Some(i) => at += i + want.len(),
            None => {
                panic!("`{want}` not found after byte {at} of the tour's output:\n{out}\n{err}")
            }
        }
    }
    assert_eq!(
        out.matches("hello 1\nhello 2\nhello 3\n").count(),
        3,
        "{out}"
    );
    for want in [
        "completed",
        "failed: exit code 3 (error record",
        ": escalated)",
        ": resolved)",
    ] {
        assert!(
            err.contains(want),
            "`{want}` not in the tour's stderr:\n{err}"
        );
    }

    // And the service agrees.
    let (_, page) = app.get("/api/scheduler/schedules?q=tour-hello").await;
    let s = &page["items"][0];
    assert_eq!(s["managedBy"], "tour");
    assert!(s["taskConfig"]["command"]
        .as_str()
        .is_some_and(|c| !c.contains("exit 3")));
    let (_, records) = app.get("/api/errors/errors").await;
    let items = records["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{records}");
    assert_eq!(items[0]["recoveryStatus"], "resolved");
}
