//! The command line (clap): the service's own commands (`serve`, `migrate`, `check-config`),
//! `token`, which works on the database directly (a first token needs no running service),
//! and the client commands (`schedules`, `runs`, `errors`, `apply`, `export`) against a running
//! service.
//! What a command prints is its interface; everything else goes to the log.

pub mod client;
pub mod token;

use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::config::Config;

/// taskforge: a task scheduler and execution service.
#[derive(Debug, Parser)]
#[command(name = "taskforge", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file overriding config/default.toml (environment variables override both).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the client commands find the service, and how they print.
    #[command(flatten)]
    pub conn: client::Conn,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: embedded PostgreSQL (or DATABASE_URL), migrations, actors, HTTP and /ws,
    /// until SIGTERM or SIGINT (graceful shutdown, exit 0). The default.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration as TOML with secrets masked; exit 1 when invalid.
    CheckConfig,
    /// Manage API tokens in the database (no running service needed).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Schedules of a running service (--url, --token).
    Schedules {
        #[command(subcommand)]
        command: client::SchedulesCommand,
    },
    /// Executions of a running service, and their output.
    Runs {
        #[command(subcommand)]
        command: client::RunsCommand,
    },
    /// Error records of a running service.
    Errors {
        #[command(subcommand)]
        command: client::ErrorsCommand,
    },
    /// Create, update (and with --prune delete) schedules to match a file (TOML or JSON) by name.
    Apply {
        /// The file: `managedBy = "..."` and `[[schedules]]` entries with the API's create fields.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete the schedules with the file's managedBy that the file lacks.
        #[arg(long)]
        prune: bool,
    },
    /// Print every schedule of a running service with its create fields, by name.
    Export {
        #[arg(long, value_enum, default_value = "toml")]
        format: client::Format,
    },
    /// Print a shell completion script (e.g. `taskforge completions bash > /etc/bash_completion.d/taskforge`).
    Completions { shell: clap_complete::Shell },
}

/// Parses the command line and runs the command; returns the process exit code.
pub fn main() -> u8 {
    crate::logging::init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // --help and --version print and succeed.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return 0;
        }
        // A usage mistake is one log line, like every other start-up failure, and exit 2.
        Err(e) => {
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines
                .next()
                .unwrap_or("invalid usage")
                .trim_start_matches("error: ");
            let values = lines.find(|l| l.starts_with("[possible values"));
            log::error!(
                "{first}{} (try --help)",
                values.map(|v| format!(" {v}")).unwrap_or_default()
            );
            return 2;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    // Client commands talk to a service: they need none of its configuration.
    match command {
        Command::Schedules { command } => return client::schedules(&cli.conn, command),
        Command::Runs { command } => return client::runs(&cli.conn, command),
        Command::Errors { command } => return client::errors(&cli.conn, command),
        Command::Apply {
            file,
            dry_run,
            prune,
        } => return client::apply(&cli.conn, &file, dry_run, prune),
        Command::Export { format } => return client::export(&cli.conn, format),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "taskforge", &mut out);
            return print(&String::from_utf8_lossy(&out));
        }
        _ => {}
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}");
            return if matches!(command, Command::CheckConfig) {
                1
            } else {
                2
            };
        }
    };
    let code = match command {
        Command::Serve => crate::app::run(config),
        Command::Migrate => crate::app::migrate_only(config),
        Command::CheckConfig => {
            return match config.masked_toml() {
                Ok(text) => print(&text),
                Err(e) => {
                    log::error!("cannot print the configuration: {e}");
                    1
                }
            }
        }
        Command::Token(cmd) => token::run(config, cmd),
        Command::Schedules { .. }
        | Command::Runs { .. }
        | Command::Errors { .. }
        | Command::Apply { .. }
        | Command::Export { .. }
        | Command::Completions { .. } => 2,
    };
    u8::try_from(code).unwrap_or(1)
}

/// Writes command output to stdout (the service itself only logs); 0, or 1 when it cannot.
pub fn print(text: &str) -> u8 {
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
