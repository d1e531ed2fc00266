//! WsSessionActor: one per `/ws` connection. The only file that touches actix-web-actors.

use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web_actors::ws;
use uuid::Uuid;

use super::hub::{Deliver, Join, Leave, SetSubscriptions, WsHub};
use super::protocol::{self, ClientMessage};
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
}

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
}

impl WsSession {
    /// A new session, subscribed to everything until it subscribes.
    pub fn new(hub: Addr<WsHub>, pool: DbPool, instance_id: Uuid, limits: SessionLimits) -> Self {
        WsSession {
            id: Uuid::new_v4(),
            instance_id,
            hub,
            pool,
            subscriptions: vec!["*".to_string()],
            last_seen: Instant::now(),
            limits,
            token: None,
        }
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
        let (pool, id, subs) = (self.pool.clone(), self.id, self.subscriptions.clone());
        actix::spawn(async move {
            if let Err(e) = ws_sessions::set_subscriptions(&pool, id, &subs).await {
                log::warn!("ws session row not updated: session={id} {e}");
            }
        });
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
        if let Some((_, Some(expires_at))) = self.token {
            let left = (expires_at - chrono::Utc::now())
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
        match msg {
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Ping(bytes)) => ctx.pong(&bytes),
            Ok(ws::Message::Pong(_)) => {
                let (pool, id) = (self.pool.clone(), self.id);
                actix::spawn(async move {
                    let _ = ws_sessions::touch(&pool, id).await;
                });
            }
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
