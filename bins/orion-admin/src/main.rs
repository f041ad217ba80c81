//! `orion-admin`: the administrator's tool. Secrets vault, circuit breaker,
//! database backup and restore, pair review, and signing debug commands.
//! Thin: it parses the command line and calls the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod breaker;
mod dashboard;
mod db;
mod pairs;
mod secrets;
mod sign;

#[derive(Debug, Parser)]
#[command(
    name = "orion-admin",
    version,
    about = "Administer an Orion installation: secrets, breaker, database, pairs, signing debug"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage the encrypted secrets vault.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Dashboard administration (the login password).
    #[command(subcommand)]
    Dashboard(dashboard::DashboardCommand),
    /// Propose, list, confirm and reject cross-venue market pairs.
    #[command(subcommand)]
    Pairs(pairs::PairsCommand),
    /// Print venue request signatures, to debug "invalid signature" errors.
    #[command(subcommand)]
    Sign(sign::SignCommand),
    /// Show the circuit breaker's state; reset a halted breaker (audited).
    #[command(subcommand, after_help = breaker::BREAKER_EXAMPLE)]
    Breaker(breaker::BreakerCommand),
    /// Back up, restore and check the database.
    #[command(subcommand, after_help = db::DB_EXAMPLE)]
    Db(db::DbCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Secrets(cmd) => secrets::run(cmd),
        Command::Dashboard(cmd) => dashboard::run(cmd),
        Command::Pairs(cmd) => pairs::run(cmd),
        Command::Sign(cmd) => sign::run(cmd),
        Command::Breaker(cmd) => breaker::run(cmd),
        Command::Db(cmd) => db::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}
