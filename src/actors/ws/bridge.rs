//! The bridge between instances: local events go to `event_outbox`
//! in batches with one NOTIFY each; a dedicated LISTEN connection (reconnecting with backoff)
//! pulls other instances' events and hands them to the local hub. A 1 s poll covers
//! notifications missed while reconnecting.

use std::time::Duration;

use actix::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;

use super::hub::WsHub;
use super::messages::{Forward, PublishRemote};
use crate::actors::lifecycle::impl_lifecycle_handlers;
use crate::actors::supervisor::{guard_future, RestartTracker};
use crate::actors::Services;
use crate::db::outbox::{self, NewOutbox, CHANNEL, PEERS_CHANNEL};
use crate::db::DbError;

/// Name in logs.
pub const NAME: &str = "ws_bridge";

/// Local events are collected this long before one INSERT + NOTIFY.
const BATCH_WINDOW: Duration = Duration::from_millis(5);
const MAX_BATCH: usize = 1_000;
const PULL_LIMIT: i64 = 1_000;
const POLL_EVERY: Duration = Duration::from_secs(1);
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Other instances read events within moments; keep them a while for slow listeners.
const KEEP_FOR_SECS: i64 = 300;

/// Looks for other instances alive and records the answer in the services' audience, which
/// decides whether events go to the outbox at all. Unknown (the database did not answer)
/// counts as present, so no event is lost. Startup looks once before any actor publishes; the
/// bridge looks again every second and when an instance announces itself.
pub async fn look_for_peers(services: &Services) -> Result<bool, DbError> {
    let dead_after = chrono::Duration::seconds(services.config.instance.dead_after_secs as i64);
    let found = outbox::peers_alive(&services.pool, services.instance_id, dead_after).await;
    let alive = found.as_ref().map_or(true, |a| *a);
    if alive != services.audience.peers() {
        log::info!(
            "other instances {}: events are {} handed over",
            if alive { "present" } else { "absent" },
            if alive { "now" } else { "no longer" }
        );
    }
    services.audience.set_peers(alive);
    found
}

/// Internal: fetch other instances' new events.
#[derive(Message)]
#[rtype(result = "()")]
struct Pull;

/// Internal: check whether other instances are alive.
#[derive(Message)]
#[rtype(result = "()")]
struct RefreshPeers;

/// See the module docs.
pub struct EventBridge {
    services: Services,
    hub: Addr<WsHub>,
    buffer: Vec<NewOutbox>,
    flush_scheduled: bool,
    last_seen: Option<i64>,
    pulling: bool,
    pull_again: bool,
    tracker: RestartTracker,
    running: bool,
    restart_delay: Duration,
}

impl EventBridge {
    /// A bridge for this instance's hub.
    pub fn new(services: Services, hub: Addr<WsHub>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        EventBridge {
            services,
            hub,
            buffer: Vec::new(),
            flush_scheduled: false,
            last_seen: None,
            pulling: false,
            pull_again: false,
            tracker,
            running: false,
            restart_delay: Duration::ZERO,
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        self.flush_scheduled = false;
        if self.buffer.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.buffer);
        // With no other instance alive the outbox is not written at all: a lone instance pays
        // nothing for cross-instance delivery.
        if !self.services.audience.peers() {
            return;
        }
        let pool = self.services.pool.clone();
        ctx.spawn(
            guard_future(async move {
                if let Err(e) = outbox::publish(&pool, &batch).await {
                    // Local clients already have them; only other instances miss this batch.
                    log::warn!(
                        "events not handed to other instances: count={} {e}",
                        batch.len()
                    );
                }
            })
            .map(|_, _, _| ()),
        );
    }

    fn pull(&mut self, ctx: &mut Context<Self>) {
        if self.pulling {
            self.pull_again = true;
            return;
        }
        self.pulling = true;
        let pool = self.services.pool.clone();
        let me = self.services.instance_id;
        let last = self.last_seen;
        let hub = self.hub.clone();
        ctx.spawn(
            guard_future(async move {
                let mut after = match last {
                    Some(l) => l,
                    // First pull: start after what exists, no replay of history.
                    None => return outbox::max_id(&pool).await,
                };
                loop {
                    let rows = outbox::after(&pool, after, me, PULL_LIMIT).await?;
                    let n = rows.len();
                    if let Some(last) = rows.last() {
                        after = last.id;
                        hub.do_send(PublishRemote(rows));
                    }
                    if (n as i64) < PULL_LIMIT {
                        return Ok(after);
                    }
                }
            })
            .map(|res, act: &mut Self, ctx| {
                act.pulling = false;
                match res {
                    Some(Ok(last)) => act.last_seen = Some(last),
                    Some(Err(e)) => log::warn!("events of other instances not pulled yet: {e}"),
                    None => return,
                }
                if std::mem::take(&mut act.pull_again) {
                    act.pull(ctx);
                }
            }),
        );
    }

    fn refresh_peers(&mut self, ctx: &mut Context<Self>) {
        let services = self.services.clone();
        // A failed look is retried by the next poll; the audience already says "present".
        ctx.spawn(guard_future(async move { look_for_peers(&services).await }).map(|_, _, _| ()));
    }

    /// The LISTEN loop on its own connection, reconnecting with backoff.
    fn listen(&mut self, ctx: &mut Context<Self>) {
        let url = self.services.db_url.to_string();
        let me = ctx.address();
        ctx.spawn(actix::fut::wrap_future(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match AsyncPgConnection::establish(&url).await {
                    Ok(mut conn) => {
                        let listening = async {
                            diesel::sql_query(format!("LISTEN {CHANNEL}"))
                                .execute(&mut conn)
                                .await?;
                            diesel::sql_query(format!("LISTEN {PEERS_CHANNEL}"))
                                .execute(&mut conn)
                                .await
                        };
                        match listening.await {
                            Ok(_) => {
                                log::info!(
                                    "listening for events of other instances: channel={CHANNEL}"
                                );
                                delay = Duration::from_millis(100);
                                // Catch up on anything sent while not listening.
                                me.do_send(Pull);
                                let mut stream = std::pin::pin!(conn.notifications_stream());
                                while let Some(n) = stream.next().await {
                                    match n {
                                        Ok(n) if n.channel == PEERS_CHANNEL => {
                                            me.do_send(RefreshPeers)
                                        }
                                        Ok(_) => me.do_send(Pull),
                                        Err(e) => {
                                            log::warn!("event listener connection lost: {e}");
                                            break;
                                        }
                                    }
                                }
                            }
                            Err(e) => log::warn!("LISTEN failed: {e}"),
                        }
                    }
                    Err(e) => log::warn!(
                        "event listener cannot connect, retrying in {}ms: {e}",
                        delay.as_millis()
                    ),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }));
    }
}

impl Actor for EventBridge {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        self.running = true;
        self.pull(ctx);
        self.listen(ctx);
        ctx.run_interval(POLL_EVERY, |act, ctx| {
            act.pull(ctx);
            act.refresh_peers(ctx);
        });
        ctx.run_interval(PRUNE_EVERY, |act, ctx| {
            let pool = act.services.pool.clone();
            ctx.spawn(
                guard_future(async move {
                    let before =
                        crate::domain::clock::now() - chrono::Duration::seconds(KEEP_FOR_SECS);
                    if let Err(e) = outbox::prune(&pool, before).await {
                        log::warn!("event outbox not pruned: {e}");
                    }
                })
                .map(|_, _, _| ()),
            );
        });
    }
}

impl Supervised for EventBridge {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running = false;
        self.pulling = false;
        self.flush_scheduled = false;
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(EventBridge);

impl Handler<Forward> for EventBridge {
    type Result = ();

    fn handle(&mut self, msg: Forward, ctx: &mut Context<Self>) {
        self.buffer.push(msg.0);
        if self.buffer.len() >= MAX_BATCH {
            self.flush(ctx);
        } else if !self.flush_scheduled {
            self.flush_scheduled = true;
            ctx.run_later(BATCH_WINDOW, |act, ctx| act.flush(ctx));
        }
    }
}

impl Handler<Pull> for EventBridge {
    type Result = ();

    fn handle(&mut self, _: Pull, ctx: &mut Context<Self>) {
        self.pull(ctx);
    }
}

impl Handler<RefreshPeers> for EventBridge {
    type Result = ();

    fn handle(&mut self, _: RefreshPeers, ctx: &mut Context<Self>) {
        self.refresh_peers(ctx);
    }
}
