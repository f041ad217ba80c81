//! `orion-admin pairs ...`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PairsCommand {}

pub fn run(cmd: PairsCommand) -> Result<(), String> {
    match cmd {}
}
