//! `orion-sim --scenario FILE`: run the simulated venues on 127.0.0.1 and
//! print one JSON line with every base URL once they are ready.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "orion-sim",
    about = "Simulated Kalshi and Polymarket venues on loopback"
)]
struct Args {
    /// Scenario file (TOML; see docs/sim-scenarios.md).
    #[arg(long)]
    scenario: PathBuf,
    /// Kalshi REST + WebSocket port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Polymarket CLOB port.
    #[arg(long, default_value_t = 0)]
    polymarket_port: u16,
    /// Polymarket market-channel WebSocket port.
    #[arg(long, default_value_t = 0)]
    polymarket_ws_port: u16,
    /// Gamma API port.
    #[arg(long, default_value_t = 0)]
    gamma_port: u16,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let scenario = match orion_sim::Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("orion-sim: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let ports = orion_sim::Ports {
        kalshi: args.port,
        polymarket: args.polymarket_port,
        polymarket_ws: args.polymarket_ws_port,
        gamma: args.gamma_port,
    };
    let sim = match orion_sim::Sim::start_on(scenario, ports).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("orion-sim: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match serde_json::to_string(&sim.urls) {
        Ok(line) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        Err(e) => {
            eprintln!("orion-sim: {e}");
            return std::process::ExitCode::from(1);
        }
    }
    // Run until interrupted; dropping the handle stops every server.
    let _ = tokio::signal::ctrl_c().await;
    drop(sim);
    std::process::ExitCode::SUCCESS
}
