//! `orion-admin sign ...`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SignCommand {}

pub fn run(cmd: SignCommand) -> Result<(), String> {
    match cmd {}
}
