//! The conductor as a supervised subprocess: when `conductor.command` is set,
//! taskforge starts it, restarts it with backoff whenever it exits (logged like an actor
//! restart), tells conductor tasks when it answers, and stops it at shutdown.

use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

use crate::actors::supervisor::backoff;
use crate::process::Group;

/// A run that lasted this long resets the restart backoff.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// How often readiness is probed while starting.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// See the module docs.
pub struct ConductorProcess {
    command: String,
    base_url: String,
    ready: watch::Sender<bool>,
    child_group: Option<Group>,
    restarts: u64,
    consecutive: u32,
    started_at: Option<Instant>,
    backoff_base: Duration,
    backoff_max: Duration,
    stopping: bool,
}

/// Stops the process; answers when it is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopConductor;

/// Internal: the process exited with this description.
#[derive(Message)]
#[rtype(result = "()")]
struct Exited(String);

impl ConductorProcess {
    /// A manager for `command`, reachable at `base_url`; `ready` tells conductor tasks.
    pub fn new(
        command: String,
        base_url: String,
        ready: watch::Sender<bool>,
        backoff_base: Duration,
        backoff_max: Duration,
    ) -> Self {
        ConductorProcess {
            command,
            base_url,
            ready,
            child_group: None,
            restarts: 0,
            consecutive: 0,
            started_at: None,
            backoff_base,
            backoff_max,
            stopping: false,
        }
    }

    fn spawn_child(&mut self, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        let mut child = match crate::process::shell(&self.command).spawn() {
            Ok(c) => c,
            Err(e) => {
                ctx.notify(Exited(format!("could not start: {e}")));
                return;
            }
        };
        let pid = child.id().unwrap_or(0);
        self.child_group = Group::of(Some(pid));
        self.started_at = Some(Instant::now());
        log::info!(
            "conductor process started: pid={pid} command={}",
            self.command
        );
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            actix::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log::info!("conductor[{pid}]: {line}");
                }
            });
        }
        let me = ctx.address();
        actix::spawn(async move {
            let why = match child.wait().await {
                Ok(status) => status.to_string(),
                Err(e) => format!("wait failed: {e}"),
            };
            me.do_send(Exited(why));
        });
        self.probe(ctx);
    }

    /// Marks the conductor ready once it answers HTTP at the base URL.
    fn probe(&mut self, ctx: &mut Context<Self>) {
        let url = self.base_url.clone();
        ctx.spawn(
            actix::fut::wrap_future(async move {
                let client = awc::Client::builder()
                    .timeout(Duration::from_millis(500))
                    .finish();
                client.get(&url).send().await.is_ok()
            })
            .map(|answered, act: &mut Self, ctx| {
                if act.child_group.is_none() || act.stopping {
                    return;
                }
                if answered {
                    log::info!("conductor ready: url={}", act.base_url);
                    let _ = act.ready.send(true);
                } else {
                    ctx.run_later(PROBE_EVERY, |act, ctx| act.probe(ctx));
                }
            }),
        );
    }
}

impl Actor for ConductorProcess {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.spawn_child(ctx);
    }
}

impl Handler<Exited> for ConductorProcess {
    type Result = ();

    fn handle(&mut self, msg: Exited, ctx: &mut Context<Self>) {
        let _ = self.ready.send(false);
        self.child_group = None;
        if self.stopping {
            return;
        }
        let stable = self.started_at.is_some_and(|t| t.elapsed() > STABLE_AFTER);
        self.consecutive = if stable { 1 } else { self.consecutive + 1 };
        self.restarts += 1;
        metrics::counter!(crate::telemetry::ACTOR_RESTARTS, "actor" => "conductor").increment(1);
        let delay = backoff(self.backoff_base, self.backoff_max, self.consecutive);
        log::warn!(
            "conductor process exited, restarting: actor=conductor restart={} cause={} backoff_ms={}",
            self.restarts,
            msg.0,
            delay.as_millis()
        );
        ctx.run_later(delay, |act, ctx| act.spawn_child(ctx));
    }
}

impl Handler<StopConductor> for ConductorProcess {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopConductor, _: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        let _ = self.ready.send(false);
        let group = self.child_group.take();
        Box::pin(async move {
            let Some(group) = group else { return };
            group.stop(Duration::from_secs(5)).await;
            log::info!("conductor process stopped: pid={}", group.id());
        })
    }
}
