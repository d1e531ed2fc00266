//! The hub: the in-memory registry of this instance's sessions and their subscriptions, and
//! the fan-out of events to them. No database query per event: each event is serialized once
//! and the same `Arc<str>` goes to every matching session through a bounded `try_send`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use uuid::Uuid;

use super::audience::Audience;
use super::messages::{
    CloseTokenSessions, Deliver, Forward, HubStats, Join, Leave, Publish, PublishRemote, SetBridge,
    SetSubscriptions, ShutdownSessions, TOKEN_REVOKED,
};
use crate::actors::lifecycle::impl_lifecycle_handlers;
use crate::actors::supervisor::{guard, RestartTracker};
use crate::actors::Services;
use crate::db::outbox::NewOutbox;
use crate::domain::event::{matches_topics, topic_of, Event};

/// Name in logs.
pub const NAME: &str = "ws_hub";

struct Entry {
    recipient: Recipient<Deliver>,
    subscriptions: Vec<String>,
    token_id: Option<Uuid>,
}

/// See the module docs.
pub struct WsHub {
    sessions: HashMap<Uuid, Entry>,
    bridge: Option<Recipient<Forward>>,
    instance_id: Uuid,
    dropped: u64,
    tracker: RestartTracker,
    running: bool,
    audience: Audience,
}

impl WsHub {
    /// An empty hub.
    pub fn new(services: &Services) -> Self {
        let sup = &services.config.supervisor;
        WsHub {
            sessions: HashMap::new(),
            bridge: None,
            instance_id: services.instance_id,
            dropped: 0,
            tracker: RestartTracker::new(
                NAME,
                Duration::from_millis(sup.restart_backoff_base_ms),
                Duration::from_millis(sup.restart_backoff_max_ms),
            ),
            running: false,
            audience: services.audience.clone(),
        }
    }

    /// Tells publishers how many sessions there are now (after any change).
    fn counted(&self) {
        self.audience.set_sessions(self.sessions.len());
    }

    fn publish(&mut self, event: &Event) {
        let text: Arc<str> = match serde_json::to_string(event) {
            Ok(t) => Arc::from(t),
            Err(e) => {
                log::error!("ws hub: event not serializable: kind={:?} {e}", event.kind);
                return;
            }
        };
        self.fan_out(
            event.kind.topic(),
            event.schedule_id,
            event.execution_id,
            &text,
        );
        if let Some(bridge) = &self.bridge {
            bridge.do_send(Forward(NewOutbox {
                instance_id: self.instance_id,
                kind: event.kind.name().to_string(),
                schedule_id: event.schedule_id,
                execution_id: event.execution_id,
                payload: text.to_string(),
            }));
        }
    }

    /// Sends one serialized event to every matching session; a session whose bounded queue is
    /// full is dropped (and told why) so it never slows the others.
    fn fan_out(
        &mut self,
        topic: &str,
        schedule_id: Option<Uuid>,
        execution_id: Option<Uuid>,
        text: &Arc<str>,
    ) {
        let mut slow = Vec::new();
        for (id, entry) in &self.sessions {
            if !matches_topics(topic, schedule_id, execution_id, &entry.subscriptions) {
                continue;
            }
            match entry.recipient.try_send(Deliver::Text(text.clone())) {
                Ok(()) => {}
                Err(SendError::Full(_)) | Err(SendError::Closed(_)) => slow.push(*id),
            }
        }
        for id in slow {
            if let Some(entry) = self.sessions.remove(&id) {
                self.dropped += 1;
                metrics::counter!(crate::telemetry::WS_DROPPED).increment(1);
                log::warn!(
                    "ws session dropped: session={id} reason=client too slow, event queue full"
                );
                // do_send ignores the mailbox bound, so the close is queued behind the backlog.
                entry
                    .recipient
                    .do_send(Deliver::Kick("client too slow: event queue full".into()));
            }
            self.counted();
        }
    }
}

impl WsHub {
    fn close_token_sessions(&mut self, token: Uuid) {
        let ids: Vec<Uuid> = self
            .sessions
            .iter()
            .filter(|(_, e)| e.token_id == Some(token))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(entry) = self.sessions.remove(&id) {
                log::info!("ws session closed: session={id} reason=token {token} revoked");
                entry
                    .recipient
                    .do_send(Deliver::Kick("token revoked".into()));
            }
        }
        self.counted();
    }
}

impl Handler<CloseTokenSessions> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: CloseTokenSessions, ctx: &mut Context<Self>) {
        guard(self, ctx, |act, _| {
            act.close_token_sessions(msg.0);
            if let Some(bridge) = &act.bridge {
                bridge.do_send(Forward(NewOutbox {
                    instance_id: act.instance_id,
                    kind: TOKEN_REVOKED.to_string(),
                    schedule_id: None,
                    execution_id: None,
                    payload: msg.0.to_string(),
                }));
            }
        });
    }
}

impl Actor for WsHub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.running = true;
        ctx.run_interval(Duration::from_secs(1), |act, _| {
            metrics::gauge!(crate::telemetry::WS_SESSIONS).set(act.sessions.len() as f64);
        });
    }
}

impl Supervised for WsHub {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // Sessions re-join on their next heartbeat; the registry starts empty.
        self.sessions.clear();
        self.counted();
        self.running = false;
        self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(WsHub);

impl Handler<Join> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) {
        self.sessions.insert(
            msg.session_id,
            Entry {
                recipient: msg.recipient,
                subscriptions: msg.subscriptions,
                token_id: msg.token_id,
            },
        );
        self.counted();
    }
}

impl Handler<Leave> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        self.sessions.remove(&msg.session_id);
        self.counted();
    }
}

impl Handler<SetSubscriptions> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: SetSubscriptions, _: &mut Context<Self>) {
        if let Some(entry) = self.sessions.get_mut(&msg.session_id) {
            entry.subscriptions = msg.subscriptions;
        }
    }
}

impl Handler<Publish> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) {
        guard(self, ctx, |act, _| act.publish(&msg.0));
    }
}

impl Handler<PublishRemote> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: PublishRemote, ctx: &mut Context<Self>) {
        guard(self, ctx, |act, _| {
            for row in msg.0 {
                if row.kind == TOKEN_REVOKED {
                    if let Ok(id) = Uuid::parse_str(&row.payload) {
                        act.close_token_sessions(id);
                    }
                    continue;
                }
                let text: Arc<str> = Arc::from(row.payload);
                act.fan_out(
                    topic_of(&row.kind),
                    row.schedule_id,
                    row.execution_id,
                    &text,
                );
            }
        });
    }
}

impl Handler<SetBridge> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: SetBridge, _: &mut Context<Self>) {
        self.bridge = Some(msg.0);
    }
}

impl Handler<HubStats> for WsHub {
    type Result = MessageResult<HubStats>;

    fn handle(&mut self, _: HubStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult((self.sessions.len(), self.dropped))
    }
}

impl Handler<ShutdownSessions> for WsHub {
    type Result = usize;

    fn handle(&mut self, _: ShutdownSessions, _: &mut Context<Self>) -> usize {
        let n = self.sessions.len();
        for (_, entry) in self.sessions.drain() {
            entry.recipient.do_send(Deliver::Shutdown);
        }
        self.counted();
        n
    }
}
