//! Simulated Kalshi and Polymarket venues on loopback.
//!
//! One venue-neutral price-time matching engine ([`engine`]) serves both
//! venues; [`kalshi`] and [`poly`] map each wire protocol onto it, and verify
//! every signature independently of Orion's clients (ring RSA-PSS for
//! Kalshi, alloy EIP-712 recovery and HMAC-SHA256 for Polymarket). Scenarios
//! ([`scenario`], `docs/sim-scenarios.md`) set up markets, books, accounts
//! and scripted changes; [`faults`] injects failures deterministically.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let scenario = orion_sim::Scenario::load(std::path::Path::new("config/sim/demo.toml"))?;
//! let sim = orion_sim::Sim::start(scenario).await?;
//! println!("{}", sim.urls.kalshi_rest);
//! # Ok(()) }
//! ```

// serde_json's `json!` for Kalshi's 50-field market object needs a deeper macro recursion.
#![recursion_limit = "256"]
// Handlers return the venue's error `Response` as the `Err` of small helpers;
// boxing it would only add an allocation on the error path.
#![allow(clippy::result_large_err)]

pub mod common;
pub mod engine;
pub mod faults;
pub mod gamma;
pub mod kalshi;
pub mod kalshi_ws;
pub mod keys;
pub mod poly;
pub mod poly_ws;
pub mod scenario;
pub mod server;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{FaultKind, FaultSpec};
pub use scenario::{Scenario, ScenarioError, VenueName};

use crate::common::VenueCore;
use crate::engine::{Exchange, Leg, Netting, Resolution};
use crate::scenario::{AxisName, ResultName, ScriptAction};
use crate::server::{Ctl, VenueServer, lock};

/// Base URLs of every simulated server; printed as the binary's ready line.
#[derive(Debug, Clone, Serialize)]
pub struct Urls {
    /// Kalshi REST base, including `/trade-api/v2`.
    pub kalshi_rest: String,
    /// Kalshi WebSocket URL (`/trade-api/ws/v2`).
    pub kalshi_ws: String,
    /// Polymarket CLOB base.
    pub polymarket_clob: String,
    /// Polymarket market-channel WebSocket URL (`/ws/market`).
    pub polymarket_ws: String,
    /// Polymarket user-channel WebSocket URL (`/ws/user`).
    pub polymarket_ws_user: String,
    /// Gamma API base.
    pub gamma: String,
    /// Roots for `/_sim/*` on each venue.
    pub kalshi_admin: String,
    pub polymarket_admin: String,
}

/// Ports to bind; 0 picks a free one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ports {
    pub kalshi: u16,
    pub polymarket: u16,
    pub polymarket_ws: u16,
    pub gamma: u16,
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("scenario setup: {0}")]
    Setup(String),
    #[error("binding a listener: {0}")]
    Bind(#[from] std::io::Error),
}

/// The simulator entry point.
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// Start every server on 127.0.0.1 with free ports.
    pub async fn start(scenario: Scenario) -> Result<SimHandle, StartError> {
        Self::start_on(scenario, Ports::default()).await
    }

    pub async fn start_on(scenario: Scenario, ports: Ports) -> Result<SimHandle, StartError> {
        scenario.validate()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let seed = scenario.sim.seed;
        let mm = scenario
            .accounts
            .iter()
            .find(|a| a.market_maker)
            .map(|a| a.name.clone());
        let pairs = serde_json::json!({"pairs": scenario.pairs.iter().map(|p| serde_json::json!({
            "kalshi": p.kalshi, "polymarket": p.polymarket, "note": p.note})).collect::<Vec<_>>()});

        let kalshi_ctl = Ctl::new(VenueName::Kalshi, seed, shutdown_rx.clone());
        let poly_ctl = Ctl::new(
            VenueName::Polymarket,
            seed.wrapping_add(1),
            shutdown_rx.clone(),
        );
        let gamma_ctl = Ctl::new(VenueName::Gamma, seed.wrapping_add(2), shutdown_rx.clone());
        for f in &scenario.faults {
            let ctl = match f.venue {
                VenueName::Kalshi => &kalshi_ctl,
                VenueName::Polymarket => &poly_ctl,
                VenueName::Gamma => &gamma_ctl,
            };
            lock(&ctl.faults).add(f.clone());
        }
        let kalshi_core = Arc::new(VenueCore {
            ex: std::sync::Mutex::new(Exchange::new(Netting::Net, "6b000000")),
            ctl: kalshi_ctl.clone(),
            market_maker: mm.clone(),
            extra_state: pairs.clone(),
        });
        let poly_core = Arc::new(VenueCore {
            ex: std::sync::Mutex::new(Exchange::new(Netting::Tokens, "70000000")),
            ctl: poly_ctl.clone(),
            market_maker: mm.clone(),
            extra_state: pairs,
        });
        let kalshi = Arc::new(
            kalshi::Kalshi::build(&scenario, kalshi_core.clone()).map_err(StartError::Setup)?,
        );
        let poly =
            Arc::new(poly::Poly::build(&scenario, poly_core.clone()).map_err(StartError::Setup)?);

        let with_faults = |router: axum::Router, ctl: &Arc<Ctl>, core: &Arc<VenueCore>| {
            router.merge(common::admin_routes(core.clone())).layer(
                axum::middleware::from_fn_with_state(ctl.clone(), server::fault_layer),
            )
        };
        let addr = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let k_server = VenueServer::start(
            addr(ports.kalshi),
            with_faults(kalshi::router(kalshi.clone()), &kalshi_ctl, &kalshi_core),
            kalshi_ctl.clone(),
        )
        .await?;
        let p_server = VenueServer::start(
            addr(ports.polymarket),
            with_faults(poly::router(poly.clone()), &poly_ctl, &poly_core),
            poly_ctl.clone(),
        )
        .await?;
        let ws_server = VenueServer::start(
            addr(ports.polymarket_ws),
            with_faults(poly_ws::router(poly.clone()), &poly_ctl, &poly_core),
            poly_ctl.clone(),
        )
        .await?;
        let g_server = VenueServer::start(
            addr(ports.gamma),
            gamma::router(poly.clone()).layer(axum::middleware::from_fn_with_state(
                gamma_ctl.clone(),
                server::fault_layer,
            )),
            gamma_ctl.clone(),
        )
        .await?;

        let urls = Urls {
            kalshi_rest: format!("http://{}{}", k_server.addr, kalshi::REST_PREFIX),
            kalshi_ws: format!("ws://{}{}", k_server.addr, kalshi::WS_PATH),
            polymarket_clob: format!("http://{}", p_server.addr),
            polymarket_ws: format!("ws://{}{}", ws_server.addr, poly_ws::WS_PATH),
            polymarket_ws_user: format!("ws://{}{}", ws_server.addr, poly_ws::USER_PATH),
            gamma: format!("http://{}", g_server.addr),
            kalshi_admin: format!("http://{}", k_server.addr),
            polymarket_admin: format!("http://{}", p_server.addr),
        };
        let script = tokio::spawn(run_script(
            scenario.clone(),
            kalshi_core.clone(),
            poly_core.clone(),
            gamma_ctl.clone(),
        ));
        let expiry = tokio::spawn(expire_orders(kalshi_core.clone(), poly_core.clone()));
        Ok(SimHandle {
            urls,
            kalshi,
            poly,
            servers: vec![k_server, p_server, ws_server, g_server],
            script,
            expiry,
            shutdown: shutdown_tx,
        })
    }
}

/// A running simulator; everything stops when it is dropped.
#[derive(Debug)]
pub struct SimHandle {
    pub urls: Urls,
    pub kalshi: Arc<kalshi::Kalshi>,
    pub poly: Arc<poly::Poly>,
    servers: Vec<VenueServer>,
    script: JoinHandle<()>,
    expiry: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
}

impl SimHandle {
    /// Resolve a market on one venue (same as `POST /_sim/resolve`).
    pub fn resolve(&self, venue: VenueName, market: &str, yes: bool) -> Result<(), String> {
        let res = if yes { Resolution::Yes } else { Resolution::No };
        let core = match venue {
            VenueName::Kalshi => &self.kalshi.core,
            _ => &self.poly.core,
        };
        lock(&core.ex)
            .settle(market, res, common::now_ms())
            .map_err(|e| e.to_string())
    }

    /// Add a fault rule at run time (same as `POST /_sim/faults`).
    pub fn add_fault(&self, spec: FaultSpec) {
        let ctl = match spec.venue {
            VenueName::Kalshi => &self.kalshi.core.ctl,
            VenueName::Polymarket => &self.poly.core.ctl,
            VenueName::Gamma => &self.servers[3].ctl,
        };
        lock(&ctl.faults).add(spec);
    }

    /// `/_sim/state` of one venue.
    pub fn state(&self, venue: VenueName) -> serde_json::Value {
        match venue {
            VenueName::Kalshi => lock(&self.kalshi.core.ex).state_json(),
            _ => lock(&self.poly.core.ex).state_json(),
        }
    }

    /// Stop now (dropping does the same).
    pub fn shutdown(self) {}
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.script.abort();
        self.expiry.abort();
        self.servers.clear();
    }
}

/// Cancel good-till-date orders when their time comes, so they leave the
/// books (and the streams see the change) without waiting for a new order.
async fn expire_orders(kalshi: Arc<VenueCore>, poly: Arc<VenueCore>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let now = common::now_ms();
        lock(&kalshi.ex).expire(now);
        lock(&poly.ex).expire(now);
    }
}

/// Apply scripted steps at their times.
async fn run_script(
    scenario: Scenario,
    kalshi: Arc<VenueCore>,
    poly: Arc<VenueCore>,
    gamma: Arc<Ctl>,
) {
    let start = tokio::time::Instant::now();
    let mut steps = scenario.script.clone();
    steps.sort_by_key(|s| s.at_ms);
    for step in steps {
        tokio::time::sleep_until(start + Duration::from_millis(step.at_ms)).await;
        let core = match step.venue {
            VenueName::Kalshi => &kalshi,
            _ => &poly,
        };
        let now = common::now_ms();
        let result = match &step.action {
            ScriptAction::Place { side, price, size } => match &core.market_maker {
                Some(mm) => {
                    let leg = match side {
                        AxisName::Bid => Leg::BuyYes,
                        AxisName::Ask => Leg::BuyNo,
                    };
                    core.mm_place(mm, &step.market, leg, price, size)
                }
                None => Err("no market_maker account".into()),
            },
            ScriptAction::Cancel { side, price } => {
                let mut ex = lock(&core.ex);
                let Some(mm) = core.market_maker.clone() else {
                    continue;
                };
                let want_price = price
                    .as_deref()
                    .and_then(|p| orion_core::Price::parse(p).ok());
                let ids: Vec<String> = ex
                    .orders_of(&mm)
                    .into_iter()
                    .filter(|o| o.market == step.market && o.state == engine::OrderState::Resting)
                    .filter(|o| {
                        side.is_none_or(|s| match s {
                            AxisName::Bid => o.leg.axis() == engine::Axis::Bid,
                            AxisName::Ask => o.leg.axis() == engine::Axis::Ask,
                        })
                    })
                    .filter(|o| want_price.is_none_or(|p| o.price == p))
                    .map(|o| o.id.clone())
                    .collect();
                for id in ids {
                    let _ = ex.cancel(&mm, &id, now);
                }
                Ok(())
            }
            ScriptAction::Close | ScriptAction::Open => lock(&core.ex)
                .set_open(&step.market, matches!(step.action, ScriptAction::Open))
                .map_err(|e| e.to_string()),
            ScriptAction::Down { duration_ms } => {
                let ctl = if step.venue == VenueName::Gamma {
                    &gamma
                } else {
                    &core.ctl
                };
                ctl.go_down(Duration::from_millis(*duration_ms));
                Ok(())
            }
            ScriptAction::Resolve { result } => {
                let res = match result {
                    ResultName::Yes => Resolution::Yes,
                    ResultName::No => Resolution::No,
                };
                lock(&core.ex)
                    .settle(&step.market, res, now)
                    .map_err(|e| e.to_string())
            }
        };
        if let Err(e) = result {
            tracing::warn!(at_ms = step.at_ms, market = %step.market, "script step failed: {e}");
        }
    }
}
