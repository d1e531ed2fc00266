//! The `taskforge` binary: everything is in `taskforge::cli`.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: a burst allocates and frees many short-lived rows,
/// futures and buffers on one thread, and glibc's malloc/free/consolidate took about a third of
/// the service's CPU in a 100k burst (perf, see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(taskforge::cli::main())
}
