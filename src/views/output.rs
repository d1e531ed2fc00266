//! Live output: `GET /api/executions/{id}/output` and the `execution_output` event's data.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::live_output::{OutputStream, Snapshot};

/// What an execution printed so far (all of it once it ended), secrets masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputView {
    pub stdout: String,
    pub stderr: String,
    /// A stream reached `execution.output_cap_bytes`; the rest was dropped.
    pub truncated: bool,
    /// True until the execution reaches a final state (pending or running).
    pub running: bool,
}

impl OutputView {
    /// `snapshot`, with whether the run goes on.
    pub fn of(snapshot: Snapshot, running: bool) -> OutputView {
        OutputView {
            stdout: snapshot.stdout,
            stderr: snapshot.stderr,
            truncated: snapshot.truncated,
            running,
        }
    }
}

/// One piece of a running task's output (`execution_output`); `seq` counts the pieces of one
/// execution from 1, across both streams, in the order they were printed per stream. `offset`
/// is where `chunk` starts in its stream's text (UTF-8 bytes): a client that read `/output`
/// first skips what it already has.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputFrame<'a> {
    pub execution_id: Uuid,
    #[schema(value_type = String)]
    pub stream: OutputStream,
    pub seq: u64,
    pub offset: usize,
    pub chunk: &'a str,
}
