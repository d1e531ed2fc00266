//! ExecutionActor: owns the queue of pending executions and the running ones.
//! Each execution runs as its own task outside the mailbox (see [`job`]), bounded by
//! `execution.max_concurrent`; the rest wait in `pending`, in memory and in PostgreSQL.
//! Running tasks survive an actor restart: the queue and the running set live in the actor
//! struct, which actix reuses, and pending rows are reloaded from PostgreSQL.

mod job;
pub mod messages;
mod output;
mod prepare;
mod reads;
pub mod report;
mod stop;
pub mod writer;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use tokio::sync::oneshot;
use uuid::Uuid;

use self::job::Job;
use self::messages::*;
use self::report::Reporter;
use crate::actors::lifecycle::impl_lifecycle_handlers;
use crate::actors::supervisor::{guard, guard_future, RestartTracker};
use crate::actors::ws::hub::WsHub;
use crate::actors::Services;
use crate::db::executions::{self, ExecutionRow};
use crate::db::DbError;
use crate::domain::clock;
use crate::executors::{self, RunContext};
use crate::logging::panic_message;

/// Name in logs and health.
pub const NAME: &str = "execution";

struct Running {
    cancel: Option<oneshot::Sender<()>>,
    waiters: Vec<oneshot::Sender<()>>,
    /// Its task is over and its slot released (only its final write is left).
    work_done: bool,
    /// A shell task's output as it is captured.
    live: Option<std::sync::Arc<executors::capture::LiveOutput>>,
}

/// See the module docs.
pub struct ExecutionActor {
    services: Services,
    reporter: Reporter,
    http: Option<awc::Client>,
    writer: Option<writer::StatusWriter>,
    queue: VecDeque<ExecutionRow>,
    /// Ids in `queue` or waiting for their fire time (claimed ahead); a cancel removes the id.
    queued: HashSet<Uuid>,
    running: HashMap<Uuid, Running>,
    /// Launched executions whose task is not over: what `execution.max_concurrent` bounds.
    active: usize,
    tracker: RestartTracker,
    running_flag: bool,
    /// Set at shutdown: nothing new is launched.
    draining: bool,
    restart_delay: Duration,
    /// `execution.env_passthrough` with its values, shared by every shell task.
    passthrough_env: std::sync::Arc<[(String, String)]>,
    /// `execution.http`: where HTTP and conductor tasks may connect.
    policy: std::rc::Rc<executors::netpolicy::NetPolicy>,
}

/// Fires claimed ahead join the queue this long before their time (timers are coarse; the job
/// itself waits for the exact instant).
const RELEASE_EARLY: chrono::Duration = chrono::Duration::milliseconds(3);

fn is_fire(row: &ExecutionRow) -> bool {
    row.trigger.is_fire()
}

/// Pending rows of this instance are re-read this often, so work left pending by a database
/// outage (or anything else) resumes by itself.
const RELOAD_EVERY: Duration = Duration::from_secs(10);

impl ExecutionActor {
    /// An execution engine over `services`, publishing to `hub`.
    pub fn new(services: Services, hub: Addr<WsHub>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        let passthrough_env = services.config.execution.passthrough_values.clone().into();
        let http = &services.config.execution.http;
        // Validated at config load; an empty policy is never reached in practice.
        let policy =
            executors::netpolicy::NetPolicy::new(&http.blocked_networks, &http.allowed_networks)
                .unwrap_or_default()
                .into();
        let audience = services.audience.clone();
        ExecutionActor {
            services,
            policy,
            passthrough_env,
            reporter: Reporter::new(hub, audience),
            http: None,
            writer: None,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            running: HashMap::new(),
            active: 0,
            tracker,
            running_flag: false,
            draining: false,
            restart_delay: Duration::ZERO,
        }
    }

    fn enqueue(&mut self, rows: Vec<ExecutionRow>, ctx: &mut Context<Self>) {
        let release_at = clock::now() + RELEASE_EARLY;
        let mut later: BTreeMap<DateTime<Utc>, Vec<ExecutionRow>> = BTreeMap::new();
        for row in rows {
            // `queued` holds the ids: a duplicate check must not scan 50,000 rows.
            if self.running.contains_key(&row.id) || !self.queued.insert(row.id) {
                continue;
            }
            // A fire claimed ahead waits for its time without holding a concurrency slot.
            if is_fire(&row) && row.scheduled_for > release_at {
                later.entry(row.scheduled_for).or_default().push(row);
            } else {
                self.queue.push_back(row);
            }
        }
        for (at, rows) in later {
            let wait = (at - clock::now() - RELEASE_EARLY)
                .to_std()
                .unwrap_or(Duration::ZERO);
            ctx.run_later(wait, move |act, ctx| act.release(rows, ctx));
        }
        self.pump(ctx);
    }

    /// Fires whose time has come join the queue, unless cancelled or taken back meanwhile.
    fn release(&mut self, rows: Vec<ExecutionRow>, ctx: &mut Context<Self>) {
        for row in rows {
            if self.queued.contains(&row.id) {
                self.queue.push_back(row);
            }
        }
        self.pump(ctx);
    }

    fn pump(&mut self, ctx: &mut Context<Self>) {
        let max = self.services.config.execution.max_concurrent;
        while self.active < max && !self.draining {
            let Some(row) = self.queue.pop_front() else {
                break;
            };
            self.queued.remove(&row.id);
            self.launch(row, ctx);
        }
    }

    fn launch(&mut self, row: ExecutionRow, ctx: &mut Context<Self>) {
        let policy = self.policy.clone();
        let http = self
            .http
            .get_or_insert_with(|| executors::http::client(policy))
            .clone();
        let cfg = &self.services.config;
        let (cancel_tx, cancel_rx) = oneshot::channel();
        let live = (row.task_type == crate::domain::states::TaskType::Shell)
            .then(|| executors::capture::LiveOutput::new(cfg.execution.output_cap_bytes));
        self.running.insert(
            row.id,
            Running {
                cancel: Some(cancel_tx),
                waiters: Vec::new(),
                work_done: false,
                live: live.clone(),
            },
        );
        self.active += 1;
        let writer = self
            .writer
            .get_or_insert_with(|| {
                writer::StatusWriter::start(self.services.pool.clone(), self.services.instance_id)
            })
            .clone();
        let job = Job {
            writer,
            work_done: ctx.address().recipient(),
            instance: self.services.instance_id,
            reporter: self.reporter.clone(),
            run: RunContext {
                timeout: Duration::from_millis(cfg.execution.default_timeout_ms),
                output_cap: cfg.execution.output_cap_bytes,
                conductor_url: cfg.conductor.base_url.clone(),
                http,
                conductor_ready: self.services.conductor_ready.clone(),
                context: prepare::context_of(&row),
                passthrough_env: self.passthrough_env.clone(),
                policy: self.policy.clone(),
                live,
            },
            live_output: cfg.execution.live_output,
            pool: self.services.pool.clone(),
            keyring: self.services.keyring.clone(),
            default_timeout: Duration::from_millis(cfg.execution.default_timeout_ms),
            enabled_types: cfg.execution.enabled_task_types.clone(),
            misfire_threshold: chrono::Duration::milliseconds(
                cfg.scheduler.misfire_threshold_ms as i64,
            ),
        };
        let me = ctx.address();
        let id = row.id;
        // Outside the actor's context: a restart of this actor must not kill running tasks.
        actix::spawn(async move {
            if let Err(p) = AssertUnwindSafe(job.execute(row, cancel_rx))
                .catch_unwind()
                .await
            {
                log::error!(
                    "execution task failed: execution={id} {}",
                    panic_message(p.as_ref())
                );
            }
            me.do_send(Finished(id));
        });
    }

    /// Reloads pending executions of this instance that are not in memory (after a restart).
    fn reload(&mut self, ctx: &mut Context<Self>) {
        if self.draining {
            return;
        }
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        // Never more than the queue may hold.
        let room = self
            .services
            .config
            .execution
            .max_pending
            .saturating_sub(self.queue.len())
            .max(1) as i64;
        // What runs here now, and when that was looked at: the settle pass judges only rows
        // that were running well before.
        let (live, seen_at): (Vec<Uuid>, _) =
            (self.running.keys().copied().collect(), clock::now());
        ctx.spawn(
            guard_future(async move {
                let pending = executions::pending_for(&pool, instance, room).await?;
                let settled =
                    crate::db::orphans::settle_own(&pool, instance, &live, seen_at).await?;
                let ended = crate::db::waiting::ended_elsewhere(&pool, &live).await?;
                Ok::<_, DbError>((pending, settled, ended))
            })
            .map(|res, act: &mut Self, ctx| match res {
                Some(Ok((rows, settled, ended))) => {
                    for id in ended {
                        act.stop_ended(id);
                    }
                    if !rows.is_empty() {
                        log::info!("execution queue reloaded: pending={}", rows.len());
                    }
                    act.enqueue(rows, ctx);
                    for row in settled {
                        act.reporter.ended(row, Ended::Settled);
                    }
                }
                Some(Err(e)) => {
                    log::warn!("execution queue reload failed, retrying in 1s: {e}");
                    ctx.run_later(Duration::from_secs(1), |act, ctx| act.reload(ctx));
                }
                None => {}
            }),
        );
    }
}

impl Actor for ExecutionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Bounded mailbox so a flood of triggers queues in callers, not without limit here.
        ctx.set_mailbox_capacity(4096);
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        self.running_flag = true;
        self.reload(ctx);
        ctx.run_interval(RELOAD_EVERY, |act, ctx| act.reload(ctx));
    }
}

impl Supervised for ExecutionActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running_flag = false;
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(ExecutionActor, running_flag);

impl Handler<SetFailureSink> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, msg: SetFailureSink, _: &mut Context<Self>) {
        self.reporter.set_recovery(msg.0);
    }
}

impl Handler<SetChainSink> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, msg: SetChainSink, _: &mut Context<Self>) {
        self.reporter.set_chains(msg.0);
    }
}

impl Handler<RunExecutions> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, msg: RunExecutions, ctx: &mut Context<Self>) {
        guard(self, ctx, |act, ctx| act.enqueue(msg.0, ctx));
    }
}

impl Handler<StartExecution> for ExecutionActor {
    type Result = ResponseActFuture<Self, Result<ExecutionRow, DbError>>;

    fn handle(&mut self, msg: StartExecution, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(
            actix::fut::wrap_future(async move { executions::insert(&pool, &msg.0).await }).map(
                |res, act: &mut Self, ctx| {
                    if let Ok(row) = &res {
                        act.enqueue(vec![row.clone()], ctx);
                    }
                    res
                },
            ),
        )
    }
}

impl Handler<Finished> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, msg: Finished, ctx: &mut Context<Self>) {
        if let Some(r) = self.running.remove(&msg.0) {
            if !r.work_done {
                self.active = self.active.saturating_sub(1);
            }
            for w in r.waiters {
                let _ = w.send(());
            }
        }
        self.pump(ctx);
    }
}

impl Handler<WorkDone> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, msg: WorkDone, ctx: &mut Context<Self>) {
        if let Some(r) = self.running.get_mut(&msg.0) {
            if !std::mem::replace(&mut r.work_done, true) {
                self.active = self.active.saturating_sub(1);
            }
        }
        self.pump(ctx);
    }
}

impl Handler<Load> for ExecutionActor {
    type Result = MessageResult<Load>;

    fn handle(&mut self, _: Load, _: &mut Context<Self>) -> Self::Result {
        // Waiting here: queued for a slot, or claimed ahead and waiting for their time.
        MessageResult((self.queued.len(), self.running.len()))
    }
}

impl Handler<ReportEnded> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, msg: ReportEnded, _: &mut Context<Self>) {
        for row in msg.rows {
            self.reporter.ended(row, msg.why);
        }
    }
}
