//! `TestApp`: the real actix app, booted in-process on a free port against a fresh database.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use awc::http::StatusCode;
use serde_json::Value;
use taskforge::app::{self, RunningApp};
use taskforge::config::Config;

use crate::cluster::TestDb;
use crate::logcap;

/// A running app plus its database; the database is dropped after the app.
pub(crate) struct TestApp {
    pub(crate) app: Option<RunningApp>,
    pub(crate) base: String,
    pub(crate) db: Arc<TestDb>,
}

/// The configuration tests start from: defaults, any free port, short grace.
pub(crate) fn test_config() -> Config {
    let mut c = match Config::load_from(None, &Default::default()) {
        Ok(c) => c,
        Err(e) => panic!("default config: {e}"),
    };
    c.server.bind = "127.0.0.1:0".into();
    c.server.shutdown_grace_secs = 5;
    c.database.pool_max_size = 8;
    c.conductor.base_url = "http://127.0.0.1:9".into();
    // A fixed key: tests never create a key file in the working directory.
    c.secrets.key = "5e".repeat(32).into();
    c
}

/// A test that ends without [`TestApp::shutdown`] still leaves nothing running.
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(a) = self.app.take() {
            a.stop_now();
        }
    }
}

impl TestApp {
    /// Boots with [`test_config`].
    pub(crate) async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Boots with a config adjusted by `f`.
    pub(crate) async fn spawn_with(f: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_on(Arc::new(TestDb::new()), f).await
    }

    /// A second instance on this app's database.
    pub(crate) async fn spawn_sharing(&self) -> TestApp {
        Self::spawn_on(self.db.clone(), |_| {}).await
    }

    /// Boots on `db` with a config adjusted by `f`.
    pub(crate) async fn spawn_on(db: Arc<TestDb>, f: impl FnOnce(&mut Config)) -> TestApp {
        logcap::install();
        let mut config = test_config();
        f(&mut config);
        let app = match app::start(Arc::new(config), db.url()).await {
            Ok(a) => a,
            Err(e) => panic!("app start: {e}"),
        };
        TestApp {
            base: format!("http://{}", app.addr),
            app: Some(app),
            db,
        }
    }

    /// The running app.
    pub(crate) fn running(&self) -> &RunningApp {
        match &self.app {
            Some(a) => a,
            None => panic!("app already shut down"),
        }
    }

    /// Graceful shutdown of the in-process app.
    pub(crate) async fn shutdown(&mut self) {
        if let Some(a) = self.app.take() {
            tokio::time::timeout(Duration::from_secs(30), a.shutdown())
                .await
                .unwrap_or_else(|_| panic!("shutdown did not finish in 30s"));
        }
    }

    /// GET returning status and JSON body (Null when the body is not JSON).
    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request("GET", path, None).await
    }

    /// POST with a JSON body.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.request("POST", path, Some(body.to_string())).await
    }

    /// PUT with a JSON body.
    pub(crate) async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.request("PUT", path, Some(body.to_string())).await
    }

    /// Creates a schedule, asserting 201; returns it.
    pub(crate) async fn create_schedule(&self, body: Value) -> Value {
        let (status, created) = self.post("/api/scheduler/schedules", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    /// Runs a schedule now (asserting 202); returns the new execution's id.
    pub(crate) async fn trigger(&self, schedule: &Value) -> String {
        let id = schedule["id"].as_str().unwrap_or_default();
        let (status, body) = self
            .post(
                &format!("/api/scheduler/schedules/{id}/trigger"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body["executionId"].as_str().unwrap_or_default().to_string()
    }

    /// Executions of a schedule, newest first (up to 500).
    pub(crate) async fn executions_of(&self, schedule_id: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!(
                "/api/executions?scheduleId={schedule_id}&limit=500"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// One execution.
    pub(crate) async fn execution(&self, id: &str) -> Value {
        let (status, body) = self.get(&format!("/api/executions/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Polls until execution `id` reaches a final status; returns it.
    pub(crate) async fn finished_execution(&self, id: &str) -> Value {
        eventually(Duration::from_secs(30), "execution to finish", || async {
            let e = self.execution(id).await;
            matches!(
                e["status"].as_str(),
                Some("completed" | "failed" | "cancelled")
            )
            .then_some(e)
        })
        .await
    }

    /// Any method with an optional raw JSON body.
    pub(crate) async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        send(&self.base, method, path, body).await
    }
}

/// One HTTP request with a timeout; JSON body parsed.
pub(crate) async fn send(
    base: &str,
    method: &str,
    path: &str,
    body: Option<String>,
) -> (StatusCode, Value) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let method = match awc::http::Method::from_bytes(method.as_bytes()) {
        Ok(m) => m,
        Err(e) => panic!("bad method {method}: {e}"),
    };
    let req = client.request(method, format!("{base}{path}"));
    let resp = match body {
        Some(b) => {
            req.insert_header(("content-type", "application/json"))
                .send_body(b)
                .await
        }
        None => req.send().await,
    };
    let mut resp = match resp {
        Ok(r) => r,
        Err(e) => panic!("{path}: request failed: {e}"),
    };
    let bytes = match resp.body().limit(16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => panic!("{path}: body: {e}"),
    };
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (resp.status(), value)
}

/// Polls `check` until it returns `Some`, up to `timeout` (generous; never a fixed sleep).
pub(crate) async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Asserts the JSON error envelope with `code`, returning the message.
pub(crate) fn assert_envelope(body: &Value, code: &str) -> String {
    let err = &body["error"];
    assert_eq!(err["code"], code, "envelope: {body}");
    let message = err["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "envelope without message: {body}");
    message
}
