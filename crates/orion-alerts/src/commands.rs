//! Telegram commands: `/status`, `/pause`, `/resume`, `/halt [reason]`.
//!
//! The loop long-polls `getUpdates`. Only messages from the configured chat
//! are obeyed; others are ignored and logged (chat id only, never the text).
//!
//! **At most once.** Telegram forgets an update once a `getUpdates` call
//! asks for a higher offset. The loop makes that confirming call *before*
//! applying a batch, and also never applies an update id at or below one it
//! has already applied. So a crash or restart can lose a command (the
//! operator gets no reply and sends it again) but never apply one twice.
//!
//! **Stale backlog.** At start-up the first poll returns whatever waited
//! while the engine was down; commands older than
//! [`CommandSettings::max_age`] (60 s by default, measured by the engine's
//! clock against the message's date) are skipped with a reply saying so,
//! rather than, say, resuming trading because of an hour-old `/resume`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orion_core::Clock;
use orion_decision::Control;
use tokio::sync::watch;

use crate::telegram::{TelegramApi, TelegramError, Update};

/// What `/status` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStatus {
    pub ready: bool,
    /// The breaker's state as the readiness report gives it.
    pub breaker: String,
    /// Names of readiness checks that fail.
    pub failing_checks: Vec<String>,
    /// Counters, in display order.
    pub counters: Vec<(String, u64)>,
}

/// What the command loop needs from the engine (a trait so the loop is
/// tested against a fake engine).
#[async_trait]
pub trait EngineControl: Send + Sync {
    async fn control(&self, control: Control);
    fn status(&self) -> EngineStatus;
}

#[async_trait]
impl<T: EngineControl + ?Sized> EngineControl for Arc<T> {
    async fn control(&self, control: Control) {
        (**self).control(control).await;
    }

    fn status(&self) -> EngineStatus {
        (**self).status()
    }
}

#[derive(Debug, Clone)]
pub struct CommandSettings {
    /// The only chat whose messages are obeyed.
    pub chat_id: i64,
    /// Shown by `/status` ("dry-run", "alert-only", "live").
    pub mode: String,
    /// Long-poll time per `getUpdates`.
    pub poll: Duration,
    /// Older commands are skipped.
    pub max_age: Duration,
    /// Wait after a failed poll (doubling up to 60 s).
    pub error_backoff: Duration,
}

impl CommandSettings {
    pub fn new(chat_id: i64, mode: impl Into<String>) -> CommandSettings {
        CommandSettings {
            chat_id,
            mode: mode.into(),
            poll: Duration::from_secs(25),
            max_age: Duration::from_secs(60),
            error_backoff: Duration::from_secs(1),
        }
    }
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status,
    Pause,
    Resume,
    Halt { reason: String },
    Unknown(String),
}

/// Parses `/cmd[@bot] [args]`; `None` for text that is not a command.
pub fn parse_command(text: &str) -> Option<Command> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let (word, args) = match rest.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (rest, ""),
    };
    // In groups Telegram appends the bot's name: /status@orion_bot.
    let word = word.split('@').next().unwrap_or(word).to_ascii_lowercase();
    Some(match word.as_str() {
        "status" => Command::Status,
        "pause" => Command::Pause,
        "resume" => Command::Resume,
        "halt" => Command::Halt {
            reason: if args.is_empty() {
                "telegram".to_string()
            } else {
                format!("telegram: {args}")
            },
        },
        other => Command::Unknown(other.to_string()),
    })
}

/// Runs the command loop until `stop` turns true.
pub async fn run_commands(
    api: TelegramApi,
    engine: Arc<dyn EngineControl>,
    clock: Arc<dyn Clock>,
    settings: CommandSettings,
    mut stop: watch::Receiver<bool>,
) {
    let mut offset: Option<i64> = None;
    let mut last_applied: Option<i64> = None;
    // Updates received by the confirming call, handled next round.
    let mut carried: Vec<Update> = Vec::new();
    let mut failures: u32 = 0;
    // The first poll does not wait: it collects the backlog at start-up.
    let mut poll = Duration::ZERO;
    loop {
        let batch = if carried.is_empty() {
            tokio::select! {
                r = api.get_updates(offset, poll) => r,
                _ = stopped(&mut stop) => return,
            }
        } else {
            Ok(std::mem::take(&mut carried))
        };
        poll = settings.poll;
        let mut updates = match batch {
            Ok(u) => {
                failures = 0;
                u
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                if !pause_after_error(&api, &e, &settings, failures, &mut stop).await {
                    return;
                }
                continue;
            }
        };
        if updates.is_empty() {
            continue;
        }
        updates.sort_by_key(|u| u.update_id);
        let next = updates
            .iter()
            .map(|u| u.update_id)
            .max()
            .map(|m| m.saturating_add(1));
        offset = next.or(offset);
        // Confirm before applying (see the module docs). Retry until
        // Telegram has it or we are stopped.
        loop {
            let r = tokio::select! {
                r = api.get_updates(offset, Duration::ZERO) => r,
                _ = stopped(&mut stop) => return,
            };
            match r {
                Ok(more) => {
                    failures = 0;
                    carried = more;
                    break;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    if !pause_after_error(&api, &e, &settings, failures, &mut stop).await {
                        return;
                    }
                }
            }
        }
        for update in updates {
            if last_applied.is_some_and(|last| update.update_id <= last) {
                tracing::warn!(
                    update_id = update.update_id,
                    "telegram sent an update already handled; ignored"
                );
                continue;
            }
            last_applied = Some(update.update_id);
            handle(&api, engine.as_ref(), clock.as_ref(), &settings, update).await;
        }
    }
}

/// Sleeps after a failed call (exponential, capped at 60 s); false if
/// stopped meanwhile.
async fn pause_after_error(
    api: &TelegramApi,
    e: &TelegramError,
    settings: &CommandSettings,
    failures: u32,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let wait = match e {
        // Honoured, but a runaway value must not silence commands for hours.
        TelegramError::RateLimited {
            retry_after: Some(after),
        } => (*after).min(Duration::from_secs(300)),
        _ => settings
            .error_backoff
            .saturating_mul(1u32 << failures.saturating_sub(1).min(10))
            .min(Duration::from_secs(60)),
    };
    tracing::warn!(
        ?wait,
        "telegram getUpdates failed: {}",
        api.token().mask(&e.to_string())
    );
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = stopped(stop) => false,
    }
}

async fn handle(
    api: &TelegramApi,
    engine: &dyn EngineControl,
    clock: &dyn Clock,
    settings: &CommandSettings,
    update: Update,
) {
    let Some(message) = update.message else {
        return;
    };
    if message.chat.id != settings.chat_id {
        tracing::warn!(
            chat_id = message.chat.id,
            update_id = update.update_id,
            "ignored a telegram message from a chat that is not the configured one"
        );
        return;
    }
    let Some(command) = message.text.as_deref().and_then(parse_command) else {
        return;
    };
    let chat = settings.chat_id.to_string();
    let age_s = clock.now().secs().saturating_sub(message.date);
    let max_age_s = i64::try_from(settings.max_age.as_secs()).unwrap_or(i64::MAX);
    if age_s > max_age_s {
        tracing::info!(?command, age_s, "skipped a stale telegram command");
        reply(
            api,
            &chat,
            &format!("Ignored {command:?}: sent {age_s} s ago (commands older than {max_age_s} s are skipped). Send it again if you still mean it."),
        )
        .await;
        return;
    }
    tracing::info!(?command, "telegram command");
    let answer = match command {
        Command::Status => status_text(&settings.mode, &engine.status()),
        Command::Pause => {
            engine.control(Control::Pause).await;
            "Paused: no new trades (detection and alerts continue). /resume to trade again.".into()
        }
        Command::Resume => {
            engine.control(Control::Resume).await;
            "Resumed: trading allowed again.".into()
        }
        Command::Halt { reason } => {
            let text = format!("Halted ({reason}): no new trades until /resume.");
            engine.control(Control::Halt { reason }).await;
            text
        }
        Command::Unknown(word) => {
            format!("Unknown command /{word}. Commands: /status, /pause, /resume, /halt <reason>.")
        }
    };
    reply(api, &chat, &answer).await;
}

async fn reply(api: &TelegramApi, chat: &str, text: &str) {
    if let Err(e) = api.send_message(chat, text).await {
        tracing::warn!(
            "telegram reply failed: {}",
            api.token().mask(&e.to_string())
        );
    }
}

/// The breaker state and the failing checks from a readiness report
/// (`{"checks": {"name": bool | {"ok": bool, ...}, "breaker": {"state": ...}}}`,
/// as orion-runtime's `/ready` serves it).
pub fn readiness(report: &serde_json::Value) -> (String, Vec<String>) {
    let checks = report.get("checks").and_then(|c| c.as_object());
    let breaker = checks
        .and_then(|c| c.get("breaker"))
        .and_then(|b| b.get("state"))
        .and_then(|s| s.as_str())
        .unwrap_or("unknown")
        .to_string();
    let failing = checks
        .map(|c| {
            c.iter()
                .filter(|(_, v)| {
                    let ok = v
                        .as_bool()
                        .or_else(|| v.get("ok").and_then(|o| o.as_bool()));
                    ok == Some(false)
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    (breaker, failing)
}

/// The `/status` reply.
pub fn status_text(mode: &str, s: &EngineStatus) -> String {
    let mut text = format!("Orion\nmode: {mode}\nbreaker: {}\n", s.breaker);
    if s.ready {
        text.push_str("ready: yes\n");
    } else {
        text.push_str(&format!("ready: no ({})\n", s.failing_checks.join(", ")));
    }
    for (name, value) in &s.counters {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            // The sender is gone: nobody can stop us any more; wait forever
            // rather than spin (the task is aborted with the runtime).
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse_command("/status"), Some(Command::Status));
        assert_eq!(parse_command("  /PAUSE@orion_bot "), Some(Command::Pause));
        assert_eq!(parse_command("/resume now"), Some(Command::Resume));
        assert_eq!(
            parse_command("/halt"),
            Some(Command::Halt {
                reason: "telegram".into()
            })
        );
        assert_eq!(
            parse_command("/halt  feed looks wrong "),
            Some(Command::Halt {
                reason: "telegram: feed looks wrong".into()
            })
        );
        assert_eq!(parse_command("/x"), Some(Command::Unknown("x".into())));
        assert_eq!(parse_command("hello"), None);
    }

    #[test]
    fn readiness_report_is_read() {
        let report = serde_json::json!({
            "ready": false,
            "checks": {
                "kalshi_reachable": true,
                "polymarket_reachable": false,
                "database_open": true,
                "reconciliation_done": { "ok": false, "detail": "pending" },
                "breaker": { "ok": true, "state": "closed" },
            }
        });
        let (breaker, failing) = readiness(&report);
        assert_eq!(breaker, "closed");
        assert_eq!(failing, ["polymarket_reachable", "reconciliation_done"]);
        assert_eq!(
            readiness(&serde_json::json!({})),
            ("unknown".into(), vec![])
        );
    }

    #[test]
    fn status_lists_failing_checks() {
        let s = EngineStatus {
            ready: false,
            breaker: "closed".into(),
            failing_checks: vec!["kalshi_reachable".into()],
            counters: vec![("opportunities".into(), 3)],
        };
        let text = status_text("dry-run", &s);
        assert!(text.contains("mode: dry-run"));
        assert!(text.contains("ready: no (kalshi_reachable)"));
        assert!(text.contains("opportunities: 3"));
    }
}
