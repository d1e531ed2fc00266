//! Running one task. Each executor classifies its own failures into an `errorType`.

pub mod capture;
pub mod conductor;
pub mod context;
pub mod http;
pub mod netpolicy;
pub mod shell;

use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::domain::task::TaskSpec;

pub use crate::domain::states::ErrorType;

/// How a task ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed {
        result: Value,
        conductor: Option<(String, String)>,
    },
    Failed {
        error_type: ErrorType,
        message: String,
        result: Option<Value>,
        conductor: Option<(String, String)>,
    },
    Cancelled {
        result: Option<Value>,
    },
}

impl Outcome {
    /// A failure without a result.
    pub fn failed(error_type: ErrorType, message: impl Into<String>) -> Outcome {
        Outcome::Failed {
            error_type,
            message: message.into(),
            result: None,
            conductor: None,
        }
    }
}

/// What every executor needs besides the task.
#[derive(Clone)]
pub struct RunContext {
    /// The task's timeout (its own `timeoutMs`, else the configured default).
    pub timeout: Duration,
    /// Cap on captured output per stream/body.
    pub output_cap: usize,
    /// Conductor base URL.
    pub conductor_url: String,
    /// HTTP client (awc is !Send: built on the executing thread).
    pub http: awc::Client,
    /// Readiness of a managed conductor process (None: not managed here).
    pub conductor_ready: Option<tokio::sync::watch::Receiver<bool>>,
    /// The run (context variables and headers).
    pub context: context::ExecContext,
    /// taskforge's variables that shell tasks inherit (`execution.env_passthrough`).
    pub passthrough_env: std::sync::Arc<[(String, String)]>,
    /// Where HTTP and conductor tasks may connect.
    pub policy: std::rc::Rc<netpolicy::NetPolicy>,
    /// Where a shell task's output is captured while it runs (None: a private capture).
    pub live: Option<std::sync::Arc<capture::LiveOutput>>,
}

/// Runs `task` until it ends, times out or `cancel` fires. For HTTP and conductor tasks the
/// timeout bounds the whole exchange — connecting, sending, waiting and reading the body — so
/// a peer that stalls mid-body cannot hold a run past it.
pub async fn run(task: &TaskSpec, ctx: &RunContext, cancel: oneshot::Receiver<()>) -> Outcome {
    match task {
        TaskSpec::Shell(t) => shell::run(t, ctx, cancel).await,
        TaskSpec::Http(t) => with_cancel(deadline(http::run(t, ctx), ctx.timeout), cancel).await,
        TaskSpec::Conductor(t) => {
            with_cancel(deadline(conductor::run(t, ctx), ctx.timeout), cancel).await
        }
    }
}

async fn deadline(fut: impl std::future::Future<Output = Outcome>, timeout: Duration) -> Outcome {
    match tokio::time::timeout(timeout, fut).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::failed(
            ErrorType::Timeout,
            format!(
                "timed out after {} ms (connect, request, response and body)",
                timeout.as_millis()
            ),
        ),
    }
}

async fn with_cancel(
    fut: impl std::future::Future<Output = Outcome>,
    cancel: oneshot::Receiver<()>,
) -> Outcome {
    tokio::select! {
        outcome = fut => outcome,
        Ok(()) = cancel => Outcome::Cancelled { result: None },
    }
}
