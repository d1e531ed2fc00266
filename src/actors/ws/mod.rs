//! WebSocket side (flow 3): the hub that fans events out, one session actor per connection,
//! and the wire protocol.

pub mod bridge;
pub mod hub;
pub mod protocol;
pub mod rows;
pub mod session;
