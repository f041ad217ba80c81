//! `orion-admin dashboard ...`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum DashboardCommand {}

pub fn run(cmd: DashboardCommand) -> Result<(), String> {
    match cmd {}
}
