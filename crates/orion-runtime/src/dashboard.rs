//! The dashboard's backend over the running engine: counters and readiness
//! from the engine's shared state, lists from the database (read on the
//! blocking pool, never on the loop), and controls through the loop's
//! command channel. The circuit breaker belongs to the loop, so a reset is a
//! command too; the loop persists it with its audit entry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use orion_config::Config;
use orion_core::{Clock, Venue};
use orion_dashboard::{
    BackendError, ConfigEntry, ControlAction, DashboardBackend, DashboardSettings, OpportunityView,
    PairView, PositionView, StatusView, TradeView,
};
use orion_decision::Control;
use orion_risk::{BreakerState, BreakerStatus};
use orion_storage::{AuditEntry, Database, PairStatus};
use orion_vault::SecretString;
use tokio::sync::{mpsc, oneshot, watch};

use crate::engine::{Command, Status, snapshot};
use crate::store::SharedDb;
use crate::telemetry::ReadyState;

/// The engine as the dashboard sees it.
#[derive(Debug)]
pub(crate) struct EngineBackend {
    pub(crate) mode: String,
    pub(crate) config: Vec<ConfigEntry>,
    pub(crate) db: SharedDb,
    pub(crate) status: Arc<Status>,
    pub(crate) ready: Arc<ReadyState>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The dashboard's password hash, checked now so a bad one stops start-up
/// instead of every login. The dashboard refuses to run without one (rather
/// than starting without a login, or silently not starting): a configured
/// dashboard that is not there would be mistaken for a network problem.
pub fn dashboard_password_hash(
    config: &Config,
    vault: &orion_vault::Vault,
) -> Result<Option<orion_vault::SecretString>, String> {
    if !config.dashboard.enabled {
        return Ok(None);
    }
    let name = orion_vault::names::DASHBOARD_PASSWORD_HASH;
    let Some(stored) = vault.get(name) else {
        return Err(format!(
            "dashboard.enabled = true but the vault {} holds no `{name}`: set the dashboard password with \
             `orion-admin dashboard set-password --vault {}`, or set dashboard.enabled = false",
            config.vault.path.display(),
            config.vault.path.display()
        ));
    };
    let hash = stored
        .expose_str()
        .ok_or_else(|| format!("vault secret `{name}` is not text"))?
        .to_string();
    // A verification of an empty candidate parses the hash and its
    // parameters; only a malformed or weak hash is an error.
    orion_vault::verify_dashboard_password(&hash, b"")
        .map_err(|e| format!("vault secret `{name}`: {e}"))?;
    Ok(Some(orion_vault::SecretString::new(hash)))
}

/// The dashboard between start-up and the loop: what it needs from before
/// the loop exists, waiting for the loop's command channel and counters.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Bound at start-up, before anything else runs, so a taken address
    /// fails the start cleanly (nothing to stop, the database released).
    listener: Option<(tokio::net::TcpListener, DashboardSettings)>,
    mode: String,
    config: Vec<ConfigEntry>,
    db: SharedDb,
    ready: Arc<ReadyState>,
    clock: Arc<dyn Clock>,
    stop: watch::Receiver<bool>,
}

impl Pending {
    /// The dashboard runs when the configuration enables it *and* a
    /// password hash is given; enabled without a hash it stays off with a
    /// warning (`orion-engine run` refuses that case before getting here).
    pub(crate) async fn new(
        config: &Config,
        password_hash: Option<SecretString>,
        db: SharedDb,
        ready: Arc<ReadyState>,
        clock: Arc<dyn Clock>,
        stop: watch::Receiver<bool>,
    ) -> std::io::Result<Pending> {
        let d = &config.dashboard;
        let settings = match (d.enabled, password_hash) {
            (true, Some(hash)) => Some(DashboardSettings::new(
                d.listen,
                Duration::from_secs(d.session_idle_timeout_s),
                Duration::from_secs(d.session_absolute_timeout_s),
                hash,
            )),
            (true, None) => {
                tracing::warn!(
                    "dashboard disabled: no password hash (set one with `orion-admin dashboard set-password`)"
                );
                None
            }
            (false, _) => None,
        };
        let listener = match settings {
            Some(settings) => Some((
                tokio::net::TcpListener::bind(settings.listen).await?,
                settings,
            )),
            None => None,
        };
        Ok(Pending {
            listener,
            mode: config.engine.mode.to_string(),
            config: config_entries(config),
            db,
            ready,
            clock,
            stop,
        })
    }

    /// Binds and serves the dashboard; `None` when it is off.
    pub(crate) async fn serve(
        self,
        commands: mpsc::Sender<Command>,
        status: Arc<Status>,
    ) -> std::io::Result<Option<SocketAddr>> {
        let Some((listener, settings)) = self.listener else {
            return Ok(None);
        };
        let backend = Arc::new(EngineBackend {
            mode: self.mode,
            config: self.config,
            db: self.db,
            status,
            ready: self.ready,
            commands,
            clock: self.clock.clone(),
        });
        let (addr, _task) =
            orion_dashboard::serve_on(listener, settings, backend, self.clock, self.stop)?;
        tracing::info!(url = %format!("http://{addr}/"), "dashboard listening");
        Ok(Some(addr))
    }
}

fn err(e: impl std::fmt::Display) -> BackendError {
    BackendError(e.to_string())
}

impl EngineBackend {
    /// Runs `f` on the database from the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, orion_core::StoreError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db.lock()))
            .await
            .map_err(err)?
            .map_err(err)
    }

    async fn audit(&self, action: &str, actor: &str, detail: String) -> Result<(), BackendError> {
        let entry = AuditEntry {
            at: self.clock.now(),
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
        };
        self.read(move |db| db.audit(&entry)).await
    }
}

/// The configuration as `key = value` lines in its own syntax (orion-config
/// renders every key of the schema, quoted as in `orion.toml`); keys are
/// dotted `section.key`. Secrets (vault names only) are masked by the
/// dashboard.
pub(crate) fn config_entries(config: &Config) -> Vec<ConfigEntry> {
    config
        .rendered_keys()
        .into_iter()
        .map(|k| ConfigEntry {
            key: k.path(),
            value: k.value,
        })
        .collect()
}

#[async_trait]
impl DashboardBackend for EngineBackend {
    async fn status(&self) -> Result<StatusView, BackendError> {
        let s = snapshot(&self.status);
        let (ready, readiness) = self.ready.report();
        let breaker_name = readiness["checks"]["breaker"]["state"]
            .as_str()
            .unwrap_or("unknown")
            .to_string();
        let breaker_allows = readiness["checks"]["breaker"]["ok"]
            .as_bool()
            .unwrap_or(false);
        let (record, pnl) = self
            .read(|db| {
                let record = db.load_breaker()?;
                let pnl = db.realized_pnl_by_pair()?;
                Ok((record, pnl))
            })
            .await?;
        let breaker_detail = record.and_then(|r| match BreakerState::restore(&r.data) {
            Ok(state) => match state.status() {
                BreakerStatus::Halted { reason, since } => {
                    Some(format!("halted since {since}: {reason}"))
                }
                BreakerStatus::Active => None,
            },
            Err(e) => Some(format!("stored state unreadable: {e}")),
        });
        let realized = pnl
            .iter()
            .fold(orion_core::Cash::ZERO, |sum, (_, c)| sum.saturating_add(*c));
        let balances = self.status.balances();
        let trading = if self.status.paused.load(Ordering::Relaxed) {
            "paused or halted (no new trades)"
        } else {
            "running"
        };
        Ok(StatusView {
            mode: self.mode.clone(),
            trading: trading.into(),
            breaker: breaker_name,
            breaker_allows_trades: breaker_allows,
            breaker_detail,
            balances: Venue::ALL
                .iter()
                .map(|v| (v.as_str().to_string(), *balances.get(*v)))
                .collect(),
            realized_pnl: Some(realized),
            ready,
            readiness,
            counters: vec![
                ("book_events".into(), s.book_events),
                ("recorded_events".into(), s.recorded_events),
                ("opportunities".into(), s.opportunities),
                ("executions".into(), s.executions),
                ("simulated_executions".into(), s.simulated_executions),
                ("completed".into(), s.completed),
                ("refused_by_risk".into(), s.refusals),
                ("suspended_pairs".into(), s.suspended_pairs),
                ("pairs".into(), s.pairs),
            ],
        })
    }

    async fn opportunities(&self, limit: u32) -> Result<Vec<OpportunityView>, BackendError> {
        let list = self.read(move |db| db.recent_opportunities(limit)).await?;
        Ok(list
            .into_iter()
            .map(|o| OpportunityView {
                pair_id: o.pair_id,
                direction: o.direction,
                quantity: o.quantity.to_string(),
                total_cost: o.total_cost,
                net_profit: o.net_profit,
                detected_at: o.detected_at,
                acted: o.acted,
            })
            .collect())
    }

    async fn positions(&self) -> Result<Vec<PositionView>, BackendError> {
        let (real, simulated) = self
            .read(|db| Ok((db.positions(false)?, db.positions(true)?)))
            .await?;
        Ok(real
            .into_iter()
            .chain(simulated)
            .map(|p| PositionView {
                venue: p.venue.as_str().to_string(),
                market: p.market,
                instrument: p.instrument,
                outcome: format!("{:?}", p.outcome),
                pair_id: p.pair_id,
                quantity: p.quantity.to_string(),
                cost: p.cost,
                simulated: p.simulated,
            })
            .collect())
    }

    async fn trades(&self, limit: u32) -> Result<Vec<TradeView>, BackendError> {
        let list = self.read(move |db| db.recent_intents(limit)).await?;
        Ok(list
            .into_iter()
            .map(|t| TradeView {
                intent_id: t.intent_id,
                pair_id: t.pair_id,
                expected_profit: t.expected_profit,
                created_at: t.created_at,
                finished_at: t.finished_at,
                // Stored as JSON; a unit variant is a quoted name.
                outcome: t.outcome.map(|o| o.trim_matches('"').to_string()),
                simulated: t.simulated,
            })
            .collect())
    }

    async fn pairs(&self) -> Result<Vec<PairView>, BackendError> {
        let list = self
            .read(|db| {
                let pairs = db.pairs(None)?;
                let mut out = Vec::with_capacity(pairs.len());
                for p in pairs {
                    let title = db
                        .market_title(Venue::Kalshi.as_str(), &p.kalshi_ticker)?
                        .unwrap_or_default();
                    out.push((p, title));
                }
                Ok(out)
            })
            .await?;
        Ok(list
            .into_iter()
            .map(|(p, title)| PairView {
                pair_id: p.pair_id,
                title,
                kalshi_ticker: p.kalshi_ticker,
                polymarket_condition_id: p.polymarket_condition_id,
                inverted: p.inverted,
                score_bps: p.score_bps,
                flags: p.flags,
                reasons: p.reasons,
                status: p.status.as_str().to_string(),
                decided_by: p.decided_by,
            })
            .collect())
    }

    async fn decide_pair(
        &self,
        pair_id: &str,
        confirm: bool,
        actor: &str,
        reason: &str,
    ) -> Result<(), BackendError> {
        let status = if confirm {
            PairStatus::Confirmed
        } else {
            PairStatus::Rejected
        };
        let (id, who, why) = (pair_id.to_string(), actor.to_string(), reason.to_string());
        let now = self.clock.now();
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut db = db.lock();
            // The decision and its audit line (orion-storage), then the
            // reason beside it.
            db.set_pair_status(&id, status, &who, now)?;
            db.audit(&AuditEntry {
                at: now,
                actor: who,
                action: format!("pair.{}.reason", status.as_str()),
                detail: format!("{id}: {why}"),
            })
        })
        .await
        .map_err(err)?
        .map_err(err)?;
        // Stored: now the running engine follows it (a confirmed pair goes
        // live, a rejected one stops trading) without a restart.
        self.commands
            .send(Command::PairDecided {
                pair_id: pair_id.to_string(),
                confirmed: confirm,
            })
            .await
            .map_err(|_| {
                BackendError(
                    "decision stored, but the engine is stopping: it applies at the next start"
                        .into(),
                )
            })
    }

    async fn config(&self) -> Result<Vec<ConfigEntry>, BackendError> {
        Ok(self.config.clone())
    }

    async fn control(&self, action: ControlAction, actor: &str) -> Result<(), BackendError> {
        let (control, name, detail) = match action {
            ControlAction::Pause => (Control::Pause, "engine.pause", String::new()),
            ControlAction::Resume => (Control::Resume, "engine.resume", String::new()),
            ControlAction::Halt { reason } => (
                Control::Halt {
                    reason: reason.clone(),
                },
                "engine.halt",
                format!("reason: {reason}"),
            ),
        };
        self.commands
            .send(Command::Control(control))
            .await
            .map_err(|_| BackendError("the engine is stopping".into()))?;
        self.audit(name, actor, detail).await
    }

    async fn reset_breaker(&self, actor: &str, reason: &str) -> Result<String, BackendError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::ResetBreaker {
                actor: actor.to_string(),
                reason: reason.to_string(),
                reply,
            })
            .await
            .map_err(|_| BackendError("the engine is stopping".into()))?;
        answer
            .await
            .map_err(|_| BackendError("the engine stopped before answering".into()))?
            .map_err(BackendError)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_vault_must_hold_a_usable_hash_when_the_dashboard_is_on() {
        use orion_vault::{KdfParams, Vault, hash_dashboard_password, names};
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults();
        config.vault.path = dir.path().join("orion.vault");
        let master = SecretString::new("a long vault password 1".into());
        let mut vault = Vault::create_with(
            &config.vault.path,
            &master,
            KdfParams::insecure_for_tests(),
            &orion_vault::OpenPolicy::allow_insecure_kdf(),
        )
        .unwrap();
        // Enabled, no hash: refused, and the message says how to fix it.
        let err = dashboard_password_hash(&config, &vault).unwrap_err();
        assert!(err.contains("orion-admin dashboard set-password"), "{err}");
        assert!(err.contains("dashboard.enabled = false"), "{err}");
        // Disabled: nothing needed.
        config.dashboard.enabled = false;
        assert!(dashboard_password_hash(&config, &vault).unwrap().is_none());
        config.dashboard.enabled = true;
        // A hash below the minimum parameters is refused at start-up.
        let weak = hash_dashboard_password(
            &SecretString::new("dashboard pass 1".into()),
            KdfParams::insecure_for_tests(),
        )
        .unwrap();
        vault
            .set(names::DASHBOARD_PASSWORD_HASH, weak.clone().into())
            .unwrap();
        assert!(dashboard_password_hash(&config, &vault).is_err());
        let good = hash_dashboard_password(
            &SecretString::new("dashboard pass 1".into()),
            KdfParams::MINIMUM,
        )
        .unwrap();
        vault
            .set(names::DASHBOARD_PASSWORD_HASH, good.clone().into())
            .unwrap();
        assert_eq!(
            dashboard_password_hash(&config, &vault).unwrap(),
            Some(good)
        );
    }

    #[test]
    fn config_is_shown_in_its_own_syntax() {
        let entries = config_entries(&Config::defaults());
        let get = |k: &str| entries.iter().find(|e| e.key == k).map(|e| e.value.clone());
        assert_eq!(get("engine.mode").as_deref(), Some("\"dry-run\""));
        assert_eq!(get("detection.min_edge").as_deref(), Some("\"0.01\""));
        assert_eq!(
            get("risk.max_exposure_per_pair").as_deref(),
            Some("\"250.00\"")
        );
        assert!(get("dashboard.listen").unwrap().starts_with("\"127.0.0.1:"));
        assert!(get("venues.kalshi.private_key_secret").is_some());
        let masked = orion_dashboard::mask_config(entries);
        let secret = masked
            .iter()
            .find(|e| e.key == "venues.kalshi.private_key_secret")
            .unwrap();
        assert!(!secret.value.contains("kalshi"), "{}", secret.value);
        // No Rust debug forms anywhere.
        for e in &masked {
            assert!(
                !e.value.contains("DryRun")
                    && !e.value.starts_with('$')
                    && !e.value.contains("Some("),
                "{} = {}",
                e.key,
                e.value
            );
        }
    }
}
