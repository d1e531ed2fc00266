//! Local HTTP servers playing third parties: a webhook/HTTP target and the conductor.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

/// One request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Recorded {
    /// The body as JSON (Null when it is not).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A running fake server.
pub(crate) struct Fake {
    pub(crate) base: String,
    pub(crate) requests: Arc<Mutex<Vec<Recorded>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Fake {
    /// Requests so far.
    pub(crate) fn received(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Stops the server.
    pub(crate) async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// An answer: status, extra headers, JSON body.
pub(crate) type Answer = (u16, Vec<(String, String)>, Value);

type Reply = Arc<dyn Fn(&Recorded) -> Answer + Send + Sync>;

/// Starts a fake answering every request with `reply(request)`.
pub(crate) async fn start(
    reply: impl Fn(&Recorded) -> (u16, Value) + Send + Sync + 'static,
) -> Fake {
    start_full(move |r| {
        let (status, body) = reply(r);
        (status, vec![], body)
    })
    .await
}

/// Like [`start`], with response headers too (`Location`, `Retry-After`, ...).
pub(crate) async fn start_full(
    reply: impl Fn(&Recorded) -> Answer + Send + Sync + 'static,
) -> Fake {
    let requests: Arc<Mutex<Vec<Recorded>>> = Arc::new(Mutex::new(Vec::new()));
    let reply: Reply = Arc::new(reply);
    let (reqs, rep) = (requests.clone(), reply.clone());
    let server = HttpServer::new(move || {
        let reqs = reqs.clone();
        let rep = rep.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let reqs = reqs.clone();
            let rep = rep.clone();
            async move {
                let rec = Recorded {
                    method: req.method().to_string(),
                    path: req.uri().to_string(),
                    headers: req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let (status, headers, value) = rep(&rec);
                if let Ok(mut r) = reqs.lock() {
                    r.push(rec);
                }
                let code = actix_web::http::StatusCode::from_u16(status).unwrap_or_default();
                let mut resp = HttpResponse::build(code);
                for (k, v) in headers {
                    resp.insert_header((k, v));
                }
                resp.json(value)
            }
        }))
    })
    .workers(1)
    // Every answer closes its connection: once stopped, no pooled connection still reaches it.
    .keep_alive(actix_web::http::KeepAlive::Disabled)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap_or_else(|e| panic!("fake bind: {e}"));
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Fake {
        base: format!("http://{addr}"),
        requests,
        handle,
    }
}

/// A conductor that answers every message like the real one: `{threadId, status, result}`.
pub(crate) async fn conductor() -> Fake {
    start(|r| {
        let thread = r.path.split('/').nth(3).unwrap_or("").to_string();
        let message = r.json()["message"].clone();
        (200, json!({ "threadId": thread, "status": "completed", "result": { "reply": format!("done: {}", message.as_str().unwrap_or("")) } }))
    })
    .await
}
