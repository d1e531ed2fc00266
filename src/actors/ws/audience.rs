//! Whether anyone would receive an event published on this instance: a session of its own, or
//! another instance (through the outbox). The hub and the bridge keep it current; the execution
//! reporter reads it, so a burst nobody watches does not build and serialize two events per
//! execution only to drop them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug)]
struct Inner {
    sessions: AtomicUsize,
    peers: AtomicBool,
}

/// A shared, cheap to read view of who listens (cheap to clone).
#[derive(Debug, Clone)]
pub struct Audience(Arc<Inner>);

impl Default for Audience {
    /// Other instances are assumed present until someone has looked (never lose an event;
    /// see `bridge::look_for_peers`).
    fn default() -> Self {
        Audience(Arc::new(Inner {
            sessions: AtomicUsize::new(0),
            peers: AtomicBool::new(true),
        }))
    }
}

impl Audience {
    /// The hub's session count changed.
    pub fn set_sessions(&self, n: usize) {
        self.0.sessions.store(n, Ordering::Relaxed);
    }

    /// The bridge found other instances alive, or none.
    pub fn set_peers(&self, alive: bool) {
        self.0.peers.store(alive, Ordering::Relaxed);
    }

    /// Whether other instances are alive (assumed until the first look).
    pub fn peers(&self) -> bool {
        self.0.peers.load(Ordering::Relaxed)
    }

    /// True when an event published now could reach someone.
    pub fn anyone(&self) -> bool {
        self.0.sessions.load(Ordering::Relaxed) > 0 || self.0.peers.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::Audience;

    #[test]
    fn peers_are_assumed_until_checked_and_sessions_count() {
        let a = Audience::default();
        assert!(a.anyone(), "before the bridge looked, events must go out");
        a.set_peers(false);
        assert!(!a.anyone());
        a.set_sessions(1);
        assert!(a.anyone());
        a.set_sessions(0);
        assert!(!a.anyone());
        a.clone().set_peers(true);
        assert!(a.anyone(), "clones share one state");
    }
}
