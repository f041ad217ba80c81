//! `orion-admin secrets ...`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {}

pub fn run(cmd: SecretsCommand) -> Result<(), String> {
    match cmd {}
}
