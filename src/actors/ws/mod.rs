//! WebSocket side: the hub that fans events out, one session actor per connection, the bridge
//! that carries events between instances, their messages, and the wire protocol.

pub mod audience;
pub mod bridge;
pub mod hub;
pub mod messages;
pub mod protocol;
pub mod rows;
pub mod session;
