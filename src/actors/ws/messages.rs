//! Messages of the WebSocket hub (sessions, publishers) and its bridge to other instances.

use std::sync::Arc;

use actix::prelude::*;
use uuid::Uuid;

use crate::db::outbox::{NewOutbox, OutboxRow};
use crate::domain::event::Event;

/// What the hub sends a session.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum Deliver {
    /// A serialized event to write as a text frame.
    Text(Arc<str>),
    /// Shutdown: send `server_shutdown`, then close.
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
    /// The `api_tokens` row the session authenticated with (revocation closes it).
    pub token_id: Option<Uuid>,
}

/// A token was revoked: close its sessions here, and (through the bridge) on other instances.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseTokenSessions(pub Uuid);

/// The outbox kind that carries a revocation to other instances (never sent to clients).
pub const TOKEN_REVOKED: &str = "token_revoked";

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

/// Events from other instances (through the outbox): delivered to local sessions only.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PublishRemote(pub Vec<OutboxRow>);

/// Where local events are handed over to other instances.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetBridge(pub Recipient<Forward>);

/// Counters: (sessions registered, slow clients dropped since start).
#[derive(Message)]
#[rtype(result = "(usize, u64)")]
pub struct HubStats;

/// Shutdown: tell every session the server is going away; answers how many were told.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ShutdownSessions;

/// A local event to hand over.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Forward(pub NewOutbox);
