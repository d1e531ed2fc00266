//! Messages every supervised actor answers: status for health, stop at shutdown, and a panic
//! hook that lets tests exercise supervision against the real actors.

use actix::prelude::*;

use crate::db::DbError;

/// What health reports about one actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorStatus {
    /// Actor name as logged.
    pub name: &'static str,
    /// True while the actor does its background work (false after [`StopWork`]).
    pub running: bool,
    /// Restarts since the process started.
    pub restarts: u64,
}

/// Reports the actor's status.
#[derive(Message)]
#[rtype(result = "ActorStatus")]
pub struct GetStatus;

/// Shutdown: stop background work (ticks, retry scans) and record it in `system_state`.
#[derive(Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct StopWork;

/// Test hook (feature `testing`): panics inside the actor's handler, as a bug would.
#[cfg(feature = "testing")]
#[derive(Message)]
#[rtype(result = "()")]
pub struct InjectPanic(pub String);

/// Implements [`GetStatus`] and [`InjectPanic`] for an actor with a `tracker` and a `running`
/// field; the bodies are identical for every actor.
macro_rules! impl_lifecycle_handlers {
    ($actor:ty) => {
        $crate::actors::lifecycle::impl_lifecycle_handlers!($actor, running);
    };
    ($actor:ty, $($running:ident).+) => {
        impl actix::Handler<$crate::actors::lifecycle::GetStatus> for $actor {
            type Result = actix::MessageResult<$crate::actors::lifecycle::GetStatus>;

            fn handle(
                &mut self,
                _: $crate::actors::lifecycle::GetStatus,
                _: &mut Self::Context,
            ) -> Self::Result {
                actix::MessageResult($crate::actors::lifecycle::ActorStatus {
                    name: self.tracker.name(),
                    running: self.$($running).+,
                    restarts: self.tracker.restarts(),
                })
            }
        }

        #[cfg(feature = "testing")]
        impl actix::Handler<$crate::actors::lifecycle::InjectPanic> for $actor {
            type Result = ();

            fn handle(
                &mut self,
                msg: $crate::actors::lifecycle::InjectPanic,
                ctx: &mut Self::Context,
            ) {
                $crate::actors::supervisor::guard(self, ctx, |_, _| -> () {
                    panic!("{}", msg.0);
                });
            }
        }

        impl $crate::actors::supervisor::Restartable for $actor {
            fn tracker(&mut self) -> &mut $crate::actors::supervisor::RestartTracker {
                &mut self.tracker
            }
        }
    };
}
pub(crate) use impl_lifecycle_handlers;
