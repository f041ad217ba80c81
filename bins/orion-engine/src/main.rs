//! `orion-engine`: the operator's process. Thin: parses the command line and
//! the configuration, wires the library crates together (in
//! `orion-runtime`), and runs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use orion_config::{Config, LogFormat, Mode, PasswordSource};
use orion_core::{Clock, SystemClock};
use orion_runtime::{Credentials, Engine, EngineHandle, EngineOptions, EngineSummary};

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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DemoMode {
    /// Trade against the simulated venues (signed orders, fills, journal).
    Live,
    /// Detect and simulate fills; no order reaches even the simulator.
    DryRun,
    /// Detect and alert only.
    AlertOnly,
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
    /// Run the engine against simulated Kalshi and Polymarket venues
    /// (in-process, loopback only, no credentials).
    #[command(
        after_help = "Example:\n  cargo run --locked -p orion-engine -- demo\n\n\
        Ctrl-C stops it gracefully."
    )]
    Demo {
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long, value_name = "SECS")]
        duration: Option<u64>,
        /// Where the demo keeps its database and recordings (its database is
        /// recreated on every run).
        #[arg(long, value_name = "DIR", default_value = "./orion-demo-data")]
        data_dir: PathBuf,
        /// How the engine acts on opportunities.
        #[arg(long, value_enum, default_value = "live")]
        mode: DemoMode,
        /// Address of /metrics, /health and /ready (port 0 picks a free one).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9184")]
        telemetry: SocketAddr,
        /// Address of the dashboard (port 0 picks a free one; a taken port
        /// falls back to a free one).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        dashboard: SocketAddr,
    },
    /// Run the engine for real with a configuration file (dry-run unless the
    /// file says otherwise; live also needs engine.live_acknowledged = true).
    Run {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => check_config(&config),
        Command::Demo {
            duration,
            data_dir,
            mode,
            telemetry,
            dashboard,
        } => {
            init_logging("info", LogFormat::Text);
            let mode = match mode {
                DemoMode::Live => Mode::Live,
                DemoMode::DryRun => Mode::DryRun,
                DemoMode::AlertOnly => Mode::AlertOnly,
            };
            block_on(demo(
                data_dir,
                mode,
                telemetry,
                dashboard,
                duration.map(Duration::from_secs),
            ))
        }
        Command::Run { config } => run(&config),
    }
}

fn block_on<F: std::future::Future<Output = ExitCode>>(f: F) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},hyper=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colour codes only on a terminal: logs piped to a file or a
        // collector must stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn check_config(path: &Path) -> ExitCode {
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

/// Resolves on SIGINT or SIGTERM.
async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Runs until a signal (or `duration`), then stops gracefully.
async fn until_stopped(engine: EngineHandle, duration: Option<Duration>) -> EngineSummary {
    match duration {
        Some(d) => {
            tokio::select! {
                _ = signal() => {}
                _ = tokio::time::sleep(d) => {}
            }
        }
        None => signal().await,
    }
    println!("stopping: no new trades; finishing in-flight legs ...");
    engine.shutdown();
    engine.wait().await
}

/// Like [`until_stopped`] for an engine shared with the Telegram command
/// loop: on a signal the loop stops first (no command can arrive mid-shutdown),
/// then the engine stops gracefully.
async fn until_stopped_with_commands(
    engine: Arc<EngineHandle>,
    commands: Option<orion_alerts::CommandLoop>,
) -> EngineSummary {
    signal().await;
    if let Some(commands) = commands {
        commands.stop().await;
    }
    println!("stopping: no new trades; finishing in-flight legs ...");
    engine.shutdown();
    match Arc::try_unwrap(engine) {
        Ok(engine) => engine.wait().await,
        // Only the command loop held a clone, and it has ended; if it ever
        // did not, the engine still stops (shutdown was sent), unsummarised.
        Err(_) => EngineSummary::default(),
    }
}

/// Milliseconds with microsecond precision, in integers (no float maths).
fn millis(d: Duration) -> String {
    let us = d.as_micros();
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

fn print_summary(summary: &EngineSummary) {
    let s = &summary.status;
    println!(
        "summary: {} book events ({} recorded), {} opportunities detected, {} executions ({} simulated, {} completed), {} refused by risk",
        s.book_events,
        s.recorded_events,
        s.opportunities,
        s.executions,
        s.simulated_executions,
        s.completed,
        s.refusals
    );
    if let (Some(p50), Some(p99)) = (summary.latency_p50, summary.latency_p99) {
        println!(
            "book event -> both orders sent: p50 {}, p99 {} over {} executions",
            millis(p50),
            millis(p99),
            summary.latency_samples
        );
    }
}

async fn demo(
    data_dir: PathBuf,
    mode: Mode,
    telemetry: SocketAddr,
    dashboard: SocketAddr,
    duration: Option<Duration>,
) -> ExitCode {
    // The demo's database is disposable: a fresh simulator needs a fresh journal.
    for name in ["orion.db", "orion.db-wal", "orion.db-shm"] {
        let _ = std::fs::remove_file(data_dir.join(name));
    }
    println!("starting the simulated venues and the engine ({mode}) ...");
    let demo = match orion_runtime::demo::start(&data_dir, mode, telemetry, dashboard).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("demo failed to start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = demo.engine.telemetry_addr();
    println!("simulated Kalshi:     {}", demo.sim.urls.kalshi_rest);
    println!("simulated Polymarket: {}", demo.sim.urls.polymarket_clob);
    println!(
        "telemetry:            http://{addr}/metrics  http://{addr}/health  http://{addr}/ready"
    );
    if let Some(url) = demo.dashboard_url() {
        println!("dashboard:            {url}");
        println!(
            "dashboard password:   {}  (one-time: this run only, never stored)",
            demo.dashboard_password.expose()
        );
    }
    println!("data directory:       {}", data_dir.display());
    println!(
        "pairs loaded: {}; edges open every 3 s; Ctrl-C stops gracefully",
        demo.engine.status().pairs
    );
    let summary = until_stopped(demo.engine, duration).await;
    print_summary(&summary);
    if let Some(accounts) = demo
        .sim
        .state(orion_runtime::demo::KALSHI)
        .get("accounts")
        .and_then(|a| a.get("orion"))
        .and_then(|o| o.get("positions"))
    {
        println!("simulated Kalshi positions of the demo account: {accounts}");
    }
    ExitCode::SUCCESS
}

fn read_password(config: &Config) -> Result<orion_vault::SecretString, String> {
    let source = match config.vault.password_source {
        PasswordSource::Prompt => orion_vault::PasswordSource::Prompt,
        PasswordSource::Env => orion_vault::PasswordSource::Env(config.vault.password_env.clone()),
        PasswordSource::Fd => match config.vault.password_fd {
            Some(fd) => orion_vault::PasswordSource::Fd(fd),
            None => return Err("vault.password_fd is not set".into()),
        },
    };
    source
        .read("Vault password: ")
        .map_err(|e| format!("vault password: {e}"))
}

/// What the engine takes from the vault.
struct FromVault {
    credentials: Credentials,
    /// The dashboard login's argon2id hash (`dashboard.password_hash`).
    dashboard_hash: Option<orion_vault::SecretString>,
    /// The alert channels' secrets (only enabled channels').
    alerts: orion_alerts::AlertSecrets,
}

fn credentials(config: &Config) -> Result<FromVault, String> {
    let password = read_password(config)?;
    let vault = orion_vault::Vault::open(&config.vault.path, &password)
        .map_err(|e| format!("vault {}: {e}", config.vault.path.display()))?;
    let names = [
        config.kalshi.key_id_secret.as_str(),
        config.kalshi.private_key_secret.as_str(),
        config.polymarket.private_key_secret.as_str(),
    ];
    vault.require_all(names).map_err(|e| e.to_string())?;
    let text = |name: &str| -> Result<String, String> {
        vault
            .require_str(name)
            .map(str::to_string)
            .map_err(|e| e.to_string())
    };
    let dashboard_hash = orion_runtime::dashboard_password_hash(config, &vault)?;
    let credentials = Credentials {
        kalshi_key_id: text(&config.kalshi.key_id_secret)?,
        kalshi_private_key_pem: vault
            .require(&config.kalshi.private_key_secret)
            .map_err(|e| e.to_string())?
            .expose()
            .to_vec(),
        polymarket_private_key: text(&config.polymarket.private_key_secret)?
            .trim_start_matches("0x")
            .to_string(),
        // Signature types 1 (proxy) and 2 (Safe) trade from the funder's
        // address; the engine refuses to start without it.
        polymarket_funder: match config.polymarket.signature_type {
            1 | 2 => Some(text(&config.polymarket.funder_secret).map_err(|e| {
                format!(
                    "{e}: venues.polymarket.signature_type {} needs the funder (proxy or Safe) address in the vault",
                    config.polymarket.signature_type
                )
            })?),
            _ => None,
        },
    };
    let alerts = orion_alerts::AlertSecrets::read(&config.alerts, |name| text(name))?;
    Ok(FromVault {
        credentials,
        dashboard_hash,
        alerts,
    })
}

fn run(path: &Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.telemetry.log_level, config.telemetry.log_format);
    if config.engine.mode == Mode::Live && !config.engine.live_acknowledged {
        eprintln!("refusing to trade live: set engine.live_acknowledged = true");
        return ExitCode::from(2);
    }
    let FromVault {
        credentials,
        dashboard_hash,
        alerts: alert_secrets,
    } = match credentials(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // Alert channels start before the engine so start-up alerts are
        // delivered; the log always gets every alert too.
        let alerts = match orion_alerts::build(
            &config.alerts,
            &alert_secrets,
            clock.clone(),
            orion_alerts::BuildOptions::default(),
        ) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let mode = config.engine.mode.to_string();
        let engine = match Engine::start(EngineOptions {
            config,
            credentials,
            clock: clock.clone(),
            alerter: alerts.alerter.clone(),
            dashboard_password_hash: dashboard_hash,
        })
        .await
        {
            Ok(e) => e,
            Err(e) => {
                eprintln!("engine failed to start: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = engine.telemetry_addr();
        println!("telemetry: http://{addr}/metrics  http://{addr}/health  http://{addr}/ready");
        if let Some(addr) = engine.dashboard_addr() {
            println!("dashboard: http://{addr}/");
        }
        let engine = Arc::new(engine);
        let commands = alerts.start_commands(engine.clone(), clock, &mode);
        if commands.is_some() {
            println!(
                "telegram commands: /status /pause /resume /halt (from the configured chat only)"
            );
        }
        let summary = until_stopped_with_commands(engine, commands).await;
        // Alerts raised while stopping, and coalesced repeats still in their
        // window, go out before the process ends (bounded wait).
        alerts.flush(Duration::from_secs(5)).await;
        print_summary(&summary);
        ExitCode::SUCCESS
    })
}
