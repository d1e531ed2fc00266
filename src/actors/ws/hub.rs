//! The hub: the in-memory registry of this instance's sessions and their subscriptions, and
//! the fan-out of events to them. No database query per event: each event is serialized once
//! and the same `Arc<str>` goes to every matching session through a bounded `try_send`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use uuid::Uuid;

use crate::actors::supervisor::{guard, RestartTracker};
use crate::actors::Services;
use crate::domain::event::Event;
use crate::impl_lifecycle_handlers;

/// Name in logs.
pub const NAME: &str = "ws_hub";

/// What the hub sends a session.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum Deliver {
    /// A serialized event to write as a text frame.
    Text(Arc<str>),
    /// Flow 7: send `server_shutdown`, then close.
    Shutdown,
    /// The session could not keep up; close it with this reason.
    Kick(String),
}

/// A session registers (again after a hub restart: sessions re-join on every heartbeat).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    pub session_id: Uuid,
    pub recipient: Recipient<Deliver>,
    pub subscriptions: Vec<String>,
}

/// A session is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub session_id: Uuid,
}

/// A session's subscriptions changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetSubscriptions {
    pub session_id: Uuid,
    pub subscriptions: Vec<String>,
}

/// Fan an event out to matching sessions.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish(pub Event);

/// Flow 7: tell every session the server is going away; answers how many were told.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ShutdownSessions;

/// Number of sessions registered.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct SessionCount;

struct Entry {
    recipient: Recipient<Deliver>,
    subscriptions: Vec<String>,
}

/// See the module docs.
pub struct WsHub {
    sessions: HashMap<Uuid, Entry>,
    tracker: RestartTracker,
    running: bool,
}

impl WsHub {
    /// An empty hub.
    pub fn new(services: &Services) -> Self {
        let sup = &services.config.supervisor;
        WsHub {
            sessions: HashMap::new(),
            tracker: RestartTracker::new(
                NAME,
                Duration::from_millis(sup.restart_backoff_base_ms),
                Duration::from_millis(sup.restart_backoff_max_ms),
            ),
            running: false,
        }
    }

    fn publish(&mut self, event: &Event) {
        let text: Arc<str> = match serde_json::to_string(event) {
            Ok(t) => Arc::from(t),
            Err(e) => {
                log::error!("ws hub: event not serializable: kind={:?} {e}", event.kind);
                return;
            }
        };
        let mut slow = Vec::new();
        for (id, entry) in &self.sessions {
            if !event.matches(&entry.subscriptions) {
                continue;
            }
            match entry.recipient.try_send(Deliver::Text(text.clone())) {
                Ok(()) => {}
                Err(SendError::Full(_)) => slow.push(*id),
                Err(SendError::Closed(_)) => slow.push(*id),
            }
        }
        for id in slow {
            if let Some(entry) = self.sessions.remove(&id) {
                log::warn!("ws session dropped: session={id} reason=queue full or closed");
                // do_send ignores the mailbox bound, so the close always gets through.
                entry
                    .recipient
                    .do_send(Deliver::Kick("client too slow: event queue full".into()));
            }
        }
    }
}

impl Actor for WsHub {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.running = true;
    }
}

impl Supervised for WsHub {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // Sessions re-join on their next heartbeat; the registry starts empty.
        self.sessions.clear();
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
            },
        );
    }
}

impl Handler<Leave> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        self.sessions.remove(&msg.session_id);
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

impl Handler<ShutdownSessions> for WsHub {
    type Result = usize;

    fn handle(&mut self, _: ShutdownSessions, _: &mut Context<Self>) -> usize {
        let n = self.sessions.len();
        for (_, entry) in self.sessions.drain() {
            entry.recipient.do_send(Deliver::Shutdown);
        }
        n
    }
}

impl Handler<SessionCount> for WsHub {
    type Result = usize;

    fn handle(&mut self, _: SessionCount, _: &mut Context<Self>) -> usize {
        self.sessions.len()
    }
}
