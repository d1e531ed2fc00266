//! the conductor as a supervised subprocess.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::json;

use crate::app::{eventually, TestApp};
use crate::logcap;

const FAKE_CONDUCTOR: &str = r#"
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        body = json.loads(self.rfile.read(n) or b'{}')
        out = json.dumps({"threadId": self.path.split('/')[3], "status": "completed", "result": {"echo": body.get("message")}}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
print("fake conductor listening", flush=True)
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            != Some("Z")
}

fn conductor_pids(port: u16) -> Vec<i32> {
    logcap::lines_with(&["conductor process started: pid="])
        .iter()
        .filter(|l| l.contains(&format!("{port}")))
        .filter_map(|l| {
            l.split("pid=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[actix_web::test]
async fn managed_conductor_is_started_restarted_and_stopped() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let script = dir.path().join("conductor.py");
    std::fs::write(&script, FAKE_CONDUCTOR).unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let command = format!("exec python3 {} {port}", script.display());
    let mut app = TestApp::spawn_with(move |c| {
        c.conductor.command = command;
        c.conductor.base_url = format!("http://127.0.0.1:{port}");
    })
    .await;
    eventually(Duration::from_secs(30), "conductor ok", || async {
        let (_, h) = app.get("/api/health").await;
        (h["conductor"] == "ok").then_some(())
    })
    .await;
    let s = app
        .create_schedule(json!({"name": "agent", "taskType": "conductor", "taskConfig": {"message": "ping", "threadId": "t1"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let path = format!(
        "/api/scheduler/schedules/{}/trigger",
        s["id"].as_str().unwrap_or_default()
    );
    let (status, trig) = app.post(&path, &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let e = app
        .finished_execution(trig["executionId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["result"], json!({"echo": "ping"}));

    // Kill it: the restart is logged like an actor restart and tasks work again.
    let first = conductor_pids(port)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no pid logged"));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first),
        nix::sys::signal::Signal::SIGKILL,
    );
    eventually(Duration::from_secs(30), "restart logged", || async {
        (!logcap::lines_with(&[
            "WARN",
            "conductor process exited",
            "actor=conductor",
            "restart=1",
        ])
        .is_empty())
        .then_some(())
    })
    .await;
    // The restart is logged when the new process is spawned, before it
    // listens: wait until it answers, as the first start did.
    eventually(Duration::from_secs(30), "conductor ok again", || async {
        let (_, h) = app.get("/api/health").await;
        (h["conductor"] == "ok" && conductor_pids(port).len() >= 2).then_some(())
    })
    .await;
    let (_, trig) = app.post(&path, &json!({})).await;
    let e = app
        .finished_execution(trig["executionId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(e["status"], "completed", "task after restart: {e}");

    let pids = conductor_pids(port);
    assert!(pids.len() >= 2, "{pids:?}");
    app.shutdown().await;
    eventually(Duration::from_secs(10), "conductor stopped", || async {
        pids.iter().all(|p| !alive(*p)).then_some(())
    })
    .await;
}
