//! `orion-engine`: the operator's process. Thin: parses the command line and
//! the configuration, wires the library crates together, and runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orion_config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "orion-engine",
    version,
    about = "Watch Kalshi and Polymarket for cross-venue arbitrage and trade it safely"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a configuration file and print every problem found.
    #[command(
        after_help = "Example:\n  orion-engine check-config --config config/orion.example.toml\n\n\
        Exits 0 when the file is valid, 2 when it has problems (each printed with its key path)."
    )]
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => check_config(&config),
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            println!(
                "{}: ok (mode {}, pairs {:?}, database {})",
                path.display(),
                config.engine.mode,
                config.engine.pairs,
                config.database_path().display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprint!("{err}");
            ExitCode::from(2)
        }
    }
}
