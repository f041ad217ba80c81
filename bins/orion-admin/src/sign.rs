//! `orion-admin sign ...`: signing debug commands (filled by the clients work).

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SignCommand {}

pub fn run(cmd: SignCommand) -> Result<(), String> {
    match cmd {}
}
