//! `orion-admin`: the administrator's tool. Secrets vault, circuit breaker,
//! database backup and restore, pair review, and signing debug commands.
//! Thin: it parses the command line and calls the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod sign;

#[derive(Debug, Parser)]
#[command(name = "orion-admin", version, about = "Administer an Orion installation: secrets, breaker, database, pairs, signing debug")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print venue request signatures, to debug "invalid signature" errors.
    #[command(subcommand)]
    Sign(sign::SignCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(cmd) => sign::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}
