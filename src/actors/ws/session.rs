//! WsSessionActor: one per `/ws` connection. The only file that touches actix-web-actors.

use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web_actors::ws;
use uuid::Uuid;

use super::hub::WsHub;
use super::messages::{Deliver, Join, Leave, SetSubscriptions};
use super::protocol::{self, ClientMessage};
use super::rows::{RowUpdate, SessionRows};
use crate::db::{ws_sessions, DbPool};

/// Session settings from `[websocket]`.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// How often the server pings (and re-joins the hub).
    pub heartbeat: Duration,
    /// A client silent for longer is dropped.
    pub client_timeout: Duration,
    /// Bounded queue of undelivered events.
    pub queue: usize,
    /// Frames a client may send per second; over it, an `error` frame and the close.
    pub max_frames_per_sec: u32,
}

/// The session's place under `websocket.max_sessions`, given back when the actor is dropped.
pub struct SessionSlot(pub std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How often a session reports its row (subscriptions, last seen) to the row writer.
const ROW_EVERY: Duration = Duration::from_secs(1);

/// The subprotocol the server selects when a client offers it.
pub const PROTOCOL: &str = "taskforge";

/// See the module docs.
pub struct WsSession {
    id: Uuid,
    instance_id: Uuid,
    hub: Addr<WsHub>,
    pool: DbPool,
    subscriptions: Vec<String>,
    last_seen: Instant,
    limits: SessionLimits,
    /// The database token this session authenticated with, and when it expires.
    token: Option<(Uuid, Option<chrono::DateTime<chrono::Utc>>)>,
    rows: SessionRows,
    /// Subscriptions changed since the row was last reported.
    subs_dirty: bool,
    /// The client was heard from since the row was last reported.
    seen: bool,
    /// Frames received in the current one-second window, and when it began.
    frames: (Instant, u32),
    _slot: Option<SessionSlot>,
}

impl WsSession {
    /// A new session, subscribed to everything until it subscribes.
    pub fn new(
        hub: Addr<WsHub>,
        pool: DbPool,
        rows: SessionRows,
        instance_id: Uuid,
        limits: SessionLimits,
        slot: SessionSlot,
    ) -> Self {
        WsSession {
            id: Uuid::new_v4(),
            instance_id,
            hub,
            pool,
            subscriptions: vec!["*".to_string()],
            last_seen: Instant::now(),
            limits,
            token: None,
            rows,
            subs_dirty: false,
            seen: false,
            frames: (Instant::now(), 0),
            _slot: Some(slot),
        }
    }

    /// Counts a frame; false (after telling the client) when it sent more than the limit.
    fn within_rate(&mut self, ctx: &mut ws::WebsocketContext<Self>) -> bool {
        let (start, n) = &mut self.frames;
        if start.elapsed() >= Duration::from_secs(1) {
            *start = Instant::now();
            *n = 0;
        }
        *n += 1;
        if *n <= self.limits.max_frames_per_sec {
            return true;
        }
        log::warn!(
            "ws session closed: session={} reason=more than {} frames per second",
            self.id,
            self.limits.max_frames_per_sec
        );
        ctx.text(protocol::error(&format!(
            "too many frames: at most {} per second (websocket.max_frames_per_sec); closing",
            self.limits.max_frames_per_sec
        )));
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::Policy,
            description: Some("frame rate limit".into()),
        }));
        ctx.stop();
        false
    }

    /// Reports the row's changes, at most once per [`ROW_EVERY`].
    fn report_row(&mut self) {
        if !self.subs_dirty && !self.seen {
            return;
        }
        let subscriptions =
            std::mem::take(&mut self.subs_dirty).then(|| self.subscriptions.clone());
        self.seen = false;
        self.rows.report(RowUpdate {
            session_id: self.id,
            subscriptions,
        });
    }

    /// Ties the session to a database token: it closes when the token is revoked or expires.
    pub fn with_token(
        mut self,
        id: Uuid,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Self {
        self.token = Some((id, expires_at));
        self
    }

    /// Starts the actor on the HTTP upgrade request. A client that offers subprotocols (the
    /// dashboard sends `taskforge` plus its `bearer.<token>`) gets `taskforge` back; the token
    /// is never echoed.
    pub fn start(
        self,
        req: &actix_web::HttpRequest,
        stream: actix_web::web::Payload,
    ) -> Result<actix_web::HttpResponse, actix_web::Error> {
        ws::WsResponseBuilder::new(self, req, stream)
            .protocols(&[PROTOCOL])
            .start()
    }

    fn join(&self, ctx: &mut ws::WebsocketContext<Self>) {
        self.hub.do_send(Join {
            session_id: self.id,
            recipient: ctx.address().recipient(),
            subscriptions: self.subscriptions.clone(),
            token_id: self.token.map(|(id, _)| id),
        });
    }

    fn heartbeat(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if self.last_seen.elapsed() > self.limits.client_timeout {
            log::info!("ws session timed out: session={}", self.id);
            ctx.stop();
            return;
        }
        ctx.ping(b"");
        self.join(ctx);
    }

    fn on_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        match protocol::parse(text) {
            Ok(ClientMessage::Ping) => ctx.text(protocol::pong()),
            Ok(ClientMessage::Subscribe { subscriptions }) => {
                self.subscriptions = dedup(subscriptions);
                self.subscriptions_changed(ctx);
            }
            Ok(ClientMessage::Unsubscribe { subscriptions }) => {
                self.subscriptions.retain(|s| !subscriptions.contains(s));
                self.subscriptions_changed(ctx);
            }
            Err(message) => ctx.text(protocol::error(&message)),
        }
    }

    fn subscriptions_changed(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        self.hub.do_send(SetSubscriptions {
            session_id: self.id,
            subscriptions: self.subscriptions.clone(),
        });
        ctx.text(protocol::subscribed(&self.subscriptions));
        // The row follows within a second, written together with other sessions' rows.
        self.subs_dirty = true;
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.limits.queue);
        self.join(ctx);
        ctx.text(protocol::connected(self.id));
        log::info!("ws session connected: session={}", self.id);
        let (pool, id, instance, subs) = (
            self.pool.clone(),
            self.id,
            self.instance_id,
            self.subscriptions.clone(),
        );
        actix::spawn(async move {
            if let Err(e) = ws_sessions::insert(&pool, id, instance, &subs).await {
                log::warn!("ws session row not inserted: session={id} {e}");
            }
        });
        ctx.run_interval(self.limits.heartbeat, |act, ctx| act.heartbeat(ctx));
        ctx.run_interval(ROW_EVERY, |act, _| act.report_row());
        if let Some((_, Some(expires_at))) = self.token {
            let left = (expires_at - crate::domain::clock::now())
                .to_std()
                .unwrap_or_default();
            ctx.run_later(left, |act, ctx| {
                log::info!("ws session closed: session={} reason=token expired", act.id);
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Policy,
                    description: Some("token expired".into()),
                }));
                ctx.stop();
            });
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // Every exit path (close, error, timeout, kick, shutdown) ends here.
        self.hub.do_send(Leave {
            session_id: self.id,
        });
        log::info!("ws session closed: session={}", self.id);
        let (pool, id) = (self.pool.clone(), self.id);
        actix::spawn(async move {
            if let Err(e) = ws_sessions::mark_inactive(&pool, id).await {
                log::warn!("ws session row not marked inactive: session={id} {e}");
            }
        });
    }
}

impl Handler<Deliver> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        match msg {
            Deliver::Text(text) => ctx.text(&*text),
            Deliver::Shutdown => {
                ctx.text(protocol::server_shutdown());
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Away,
                    description: Some("server shutdown".into()),
                }));
                ctx.stop();
            }
            Deliver::Kick(reason) => {
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Policy,
                    description: Some(reason),
                }));
                ctx.stop();
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        if !self.within_rate(ctx) {
            return;
        }
        match msg {
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Ping(bytes)) => ctx.pong(&bytes),
            Ok(ws::Message::Pong(_)) => self.seen = true,
            Ok(ws::Message::Binary(_)) => ctx.text(protocol::error(
                "binary frames are not supported; send JSON text",
            )),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Ok(ws::Message::Continuation(_)) | Ok(ws::Message::Nop) => {}
            Err(e) => {
                log::info!("ws session protocol error: session={} {e}", self.id);
                ctx.stop();
            }
        }
    }
}
