//! Operator alerts and the Telegram command loop.
//!
//! This crate owns the [`orion_core::Alerter`] implementations the engine
//! uses: the log ([`LogChannel`], always), a Telegram channel and a generic JSON
//! webhook channel ([`ChannelAlerter`]), combined by [`FanOut`]. Channels
//! coalesce repeats of an alert key and keep a per-minute budget
//! ([`throttle`], pure and clock-driven), with a separate lane — own budget,
//! own queue, optionally own destination — for critical alerts, so a storm of
//! warnings can neither flood a chat, nor block the engine, nor starve an
//! error. It also owns the Telegram command loop ([`commands`]:
//! `/status`, `/pause`, `/resume`, `/halt`) that talks to the engine through
//! the [`EngineControl`] trait (implemented for orion-runtime's
//! `EngineHandle` with the `engine` feature). Delivery goes over a minimal
//! hyper + rustls (ring) client ([`http`]). Secrets (bot token, webhook URLs)
//! never reach a log, an error or a `Debug` output.

pub mod channel;
pub mod commands;
#[cfg(feature = "engine")]
mod engine;
pub mod fanout;
pub mod http;
pub mod telegram;
pub mod throttle;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use orion_config::AlertsConfig;
use orion_core::{Alerter, Clock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use channel::{
    ALERTS_METRIC, ChannelAlerter, DeliverySettings, Destination, LaneCounts, LaneNames, LogChannel,
};
pub use commands::{Command, CommandSettings, EngineControl, EngineStatus, run_commands};
pub use fanout::{FanOut, LogAlerter};
pub use telegram::{BotToken, TelegramApi, TelegramError};
pub use throttle::{Outgoing, Throttle, ThrottleSettings};
pub use webhook::Webhook;

/// Per-request timeout for sends (long polls add their poll time).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The secret values the configured channels need, read from the vault.
/// Empty error destinations mean "same as the normal one".
#[derive(Clone, Default)]
pub struct AlertSecrets {
    pub telegram_token: String,
    pub telegram_chat_id: String,
    pub telegram_error_chat_id: Option<String>,
    pub webhook_url: String,
    pub webhook_error_url: Option<String>,
}

impl std::fmt::Debug for AlertSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertSecrets(***)")
    }
}

impl AlertSecrets {
    /// Reads what the enabled channels need through `get` (vault name →
    /// value); errors name the configuration key that named the secret.
    pub fn read(
        config: &AlertsConfig,
        mut get: impl FnMut(&str) -> Result<String, String>,
    ) -> Result<AlertSecrets, String> {
        let mut read = |key: &str, name: &str| -> Result<String, String> {
            get(name)
                .map(|v| v.trim().to_string())
                .map_err(|e| format!("alerts.{key} = {name:?}: {e}"))
        };
        let optional = |name: &str| !name.trim().is_empty();
        let mut secrets = AlertSecrets::default();
        if config.telegram_enabled {
            secrets.telegram_token = read("telegram_token_secret", &config.telegram_token_secret)?;
            secrets.telegram_chat_id =
                read("telegram_chat_id_secret", &config.telegram_chat_id_secret)?;
            if optional(&config.telegram_error_chat_id_secret) {
                secrets.telegram_error_chat_id = Some(read(
                    "telegram_error_chat_id_secret",
                    &config.telegram_error_chat_id_secret,
                )?);
            }
        }
        if config.webhook_enabled {
            secrets.webhook_url = read("webhook_url_secret", &config.webhook_url_secret)?;
            if optional(&config.webhook_error_url_secret) {
                secrets.webhook_error_url = Some(read(
                    "webhook_error_url_secret",
                    &config.webhook_error_url_secret,
                )?);
            }
        }
        Ok(secrets)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("alerts.telegram: {0}")]
    Telegram(String),
    #[error("alerts.webhook: {0}")]
    Webhook(String),
    #[error("alerts: {0}")]
    Runtime(String),
}

/// The engine's alerting, built from configuration and secrets.
#[derive(Debug)]
pub struct Alerts {
    /// Log + every enabled channel; hand this to the engine.
    pub alerter: Arc<FanOut>,
    pub log: Arc<LogChannel>,
    pub telegram: Option<Arc<ChannelAlerter>>,
    pub webhook: Option<Arc<ChannelAlerter>>,
    /// The API and chat for the command loop, when Telegram is enabled.
    commands: Option<(TelegramApi, String)>,
    commands_enabled: bool,
}

impl Alerts {
    /// Starts the Telegram command loop (if Telegram and commands are
    /// enabled and the chat id is numeric); stop it with the returned
    /// [`CommandLoop`].
    pub fn start_commands(
        &self,
        engine: Arc<dyn EngineControl>,
        clock: Arc<dyn Clock>,
        mode: &str,
    ) -> Option<CommandLoop> {
        let (api, chat) = self.commands.as_ref().filter(|_| self.commands_enabled)?;
        let Ok(chat_id) = chat.trim().parse::<i64>() else {
            tracing::warn!(
                "telegram commands are off: the chat id is not numeric (a channel name cannot send commands)"
            );
            return None;
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run_commands(
            api.clone(),
            engine,
            clock,
            CommandSettings::new(chat_id, mode),
            stop_rx,
        ));
        Some(CommandLoop { stop, task })
    }
}

impl Alerts {
    /// At shutdown: reports open coalescing windows and waits up to
    /// `within` (per channel, concurrently) for queued messages.
    pub async fn flush(&self, within: Duration) {
        let telegram = async {
            if let Some(c) = &self.telegram {
                c.flush(within).await;
            }
        };
        let webhook = async {
            if let Some(c) = &self.webhook {
                c.flush(within).await;
            }
        };
        let log = self.log.flush(within);
        let _ = tokio::join!(telegram, webhook, log);
    }
}

/// A running command loop.
#[derive(Debug)]
pub struct CommandLoop {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl CommandLoop {
    /// Stops the loop (mid-poll if need be) and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Options [`build`] takes beyond the configuration (tests shorten them).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    pub delivery: DeliverySettings,
}

/// Builds the alerters from the `[alerts]` section and the secrets; must
/// run inside the tokio runtime (channels start their sender tasks).
pub fn build(
    config: &AlertsConfig,
    secrets: &AlertSecrets,
    clock: Arc<dyn Clock>,
    options: BuildOptions,
) -> Result<Alerts, BuildError> {
    let throttle = ThrottleSettings {
        coalesce_window: Duration::from_secs(config.coalesce_window_s),
        max_per_minute: config.max_per_minute,
    };
    let log = Arc::new(
        LogChannel::start(throttle.coalesce_window, options.delivery, clock.clone())
            .map_err(BuildError::Runtime)?,
    );
    let mut alerters: Vec<Arc<dyn Alerter>> = vec![log.clone()];
    let mut telegram = None;
    let mut webhook = None;
    let mut commands = None;
    let needs_http = config.telegram_enabled || config.webhook_enabled;
    let http = if needs_http {
        Some(http::HttpClient::new().map_err(|e| BuildError::Runtime(e.to_string()))?)
    } else {
        None
    };
    if let (true, Some(http)) = (config.telegram_enabled, &http) {
        let token = BotToken::new(&secrets.telegram_token)
            .map_err(|e| BuildError::Telegram(e.to_string()))?;
        let api = TelegramApi::new(
            http.clone(),
            &config.telegram_api_url,
            token,
            REQUEST_TIMEOUT,
        )
        .map_err(|e| BuildError::Telegram(e.to_string()))?;
        let chat = secrets.telegram_chat_id.trim().to_string();
        if chat.is_empty() {
            return Err(BuildError::Telegram("the chat id secret is empty".into()));
        }
        let error_destination = secrets
            .telegram_error_chat_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| Destination::Telegram {
                api: api.clone(),
                chat_id: c.to_string(),
            });
        let channel = ChannelAlerter::start(
            LaneNames {
                normal: "telegram",
                error: "telegram_error",
            },
            Destination::Telegram {
                api: api.clone(),
                chat_id: chat.clone(),
            },
            error_destination,
            throttle,
            options.delivery,
            clock.clone(),
        )
        .map_err(BuildError::Runtime)?;
        let channel = Arc::new(channel);
        alerters.push(channel.clone());
        telegram = Some(channel);
        commands = Some((api, chat));
    }
    if let (true, Some(http)) = (config.webhook_enabled, &http) {
        let hook = Webhook::new(http.clone(), &secrets.webhook_url, REQUEST_TIMEOUT)
            .map_err(|e| BuildError::Webhook(e.to_string()))?;
        let error_hook = match secrets
            .webhook_error_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(url) => Some(Destination::Webhook(
                Webhook::new(http.clone(), url, REQUEST_TIMEOUT)
                    .map_err(|e| BuildError::Webhook(format!("error URL: {e}")))?,
            )),
            None => None,
        };
        let channel = ChannelAlerter::start(
            LaneNames {
                normal: "webhook",
                error: "webhook_error",
            },
            Destination::Webhook(hook),
            error_hook,
            throttle,
            options.delivery,
            clock.clone(),
        )
        .map_err(BuildError::Runtime)?;
        let channel = Arc::new(channel);
        alerters.push(channel.clone());
        webhook = Some(channel);
    }
    Ok(Alerts {
        alerter: Arc::new(FanOut::new(alerters)),
        log,
        telegram,
        webhook,
        commands,
        commands_enabled: config.telegram_commands_enabled,
    })
}
