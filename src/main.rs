//! The `taskforge` binary: everything is in `taskforge::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(taskforge::cli::main())
}
