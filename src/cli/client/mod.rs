//! Client commands against a running service over its REST API (and `/ws` for `runs logs
//! --follow`): `schedules`, `runs`, `errors`. Tables by default, the API's JSON with `--json`;
//! exit code 0 on success, 1 when the API refused or could not be reached (its message on
//! stderr), 2 on bad usage (clap's).

mod apply;
mod commands;
mod export;
mod logs;
mod names;
mod table;

use std::time::Duration;

use clap::Args;
use serde_json::Value;

pub use commands::{ErrorsCommand, RunsCommand, SchedulesCommand};
pub use export::Format;

/// Where the service is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct Conn {
    /// The service's base URL.
    #[arg(
        long,
        env = "TASKFORGE_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// An API token (when the service requires one).
    #[arg(long, env = "TASKFORGE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only ids, one per line (of a list's items, of the execution a trigger or retry
    /// started), for scripts: `run=$(taskforge schedules trigger nightly -q)`.
    #[arg(short, long, global = true, conflicts_with = "json")]
    pub quiet: bool,
}

/// Why a command failed: the message printed on stderr (exit code 1).
#[derive(Debug)]
pub struct Failure(pub String);

/// A client of one service.
pub(crate) struct Api {
    http: awc::Client,
    conn: Conn,
}

impl Api {
    fn new(conn: &Conn) -> Api {
        Api {
            http: awc::Client::builder()
                .timeout(Duration::from_secs(30))
                .finish(),
            conn: conn.clone(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.conn.url.trim_end_matches('/'))
    }

    /// One request; the JSON answer, or the API's error message.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let (status, v) = self.send(method, path, body).await?;
        if (200..300).contains(&status) {
            return Ok(v);
        }
        Err(Failure(format!("{} ({status})", message_of(&v, status))))
    }

    /// One request; the status and the JSON answer (null when empty), whatever the status.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Failure> {
        let method = awc::http::Method::from_bytes(method.as_bytes())
            .map_err(|e| Failure(format!("bad method {method}: {e}")))?;
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = &self.conn.token {
            req = req.bearer_auth(t);
        }
        let sent = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        let mut resp = sent.map_err(|e| Failure(format!("{}: {e}", self.conn.url)))?;
        let bytes = resp
            .body()
            .limit(64 << 20)
            .await
            .map_err(|e| Failure(format!("reading the answer: {e}")))?;
        let v: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| Failure(format!("the answer is not JSON ({e})")))?
        };
        Ok((resp.status().as_u16(), v))
    }
}

/// The API's error message in an error answer, or the status.
fn message_of(answer: &Value, status: u16) -> String {
    answer["error"]["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {status}"))
}

/// Runs `f` on a fresh actix system; prints its text (or the failure) and answers the exit code.
fn run_on_system<F, Fut>(conn: &Conn, f: F) -> u8
where
    F: FnOnce(Api) -> Fut,
    Fut: std::future::Future<Output = Result<String, Failure>>,
{
    let api = Api::new(conn);
    match actix_web::rt::System::new().block_on(f(api)) {
        Ok(text) => super::print(&text),
        Err(Failure(message)) => {
            // The command's output is its interface: the failure goes to stderr as text.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("error: {message}\n").as_bytes(),
            );
            1
        }
    }
}

/// `taskforge schedules ...`.
pub fn schedules(conn: &Conn, cmd: SchedulesCommand) -> u8 {
    run_on_system(
        conn,
        |api| async move { commands::schedules(&api, cmd).await },
    )
}

/// `taskforge runs ...`.
pub fn runs(conn: &Conn, cmd: RunsCommand) -> u8 {
    run_on_system(conn, |api| async move { commands::runs(&api, cmd).await })
}

/// `taskforge errors ...`.
pub fn errors(conn: &Conn, cmd: ErrorsCommand) -> u8 {
    run_on_system(conn, |api| async move { commands::errors(&api, cmd).await })
}

/// `taskforge apply -f FILE [--dry-run] [--prune]`.
pub fn apply(conn: &Conn, file: &std::path::Path, dry_run: bool, prune: bool) -> u8 {
    let file = file.to_path_buf();
    run_on_system(conn, |api| async move {
        apply::apply(&api, &file, dry_run, prune).await
    })
}

/// `taskforge export`.
pub fn export(conn: &Conn, format: Format) -> u8 {
    run_on_system(
        conn,
        |api| async move { export::export(&api, format).await },
    )
}
