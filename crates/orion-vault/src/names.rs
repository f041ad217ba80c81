//! The secrets Orion knows how to use. `orion-admin secrets set` refuses other
//! names unless `--custom` is given, so a typo (`kalshi.keyid`) fails at once
//! instead of at the engine's next start-up.

use crate::{Result, VaultError};

pub const KALSHI_KEY_ID: &str = "kalshi.key_id";
pub const KALSHI_PRIVATE_KEY_PEM: &str = "kalshi.private_key_pem";
pub const POLYMARKET_PRIVATE_KEY: &str = "polymarket.private_key";
pub const POLYMARKET_API_KEY: &str = "polymarket.api_key";
pub const POLYMARKET_API_SECRET: &str = "polymarket.api_secret";
pub const POLYMARKET_API_PASSPHRASE: &str = "polymarket.api_passphrase";
pub const POLYMARKET_FUNDER_ADDRESS: &str = "polymarket.funder_address";
pub const TELEGRAM_BOT_TOKEN: &str = "telegram.bot_token";
pub const TELEGRAM_CHAT_ID: &str = "telegram.chat_id";
pub const WEBHOOK_URL: &str = "webhook.url";
pub const DASHBOARD_PASSWORD_HASH: &str = "dashboard.password_hash";

/// A secret name Orion uses, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownSecret {
    pub name: &'static str,
    pub description: &'static str,
}

pub const KNOWN_SECRETS: &[KnownSecret] = &[
    KnownSecret {
        name: KALSHI_KEY_ID,
        description: "Kalshi API key id (a UUID shown when the key was created)",
    },
    KnownSecret {
        name: KALSHI_PRIVATE_KEY_PEM,
        description: "Kalshi RSA private key, PEM text as downloaded",
    },
    KnownSecret {
        name: POLYMARKET_PRIVATE_KEY,
        description: "Polymarket signer private key, 0x-prefixed hex",
    },
    KnownSecret {
        name: POLYMARKET_API_KEY,
        description: "Polymarket CLOB API key",
    },
    KnownSecret {
        name: POLYMARKET_API_SECRET,
        description: "Polymarket CLOB API secret (base64)",
    },
    KnownSecret {
        name: POLYMARKET_API_PASSPHRASE,
        description: "Polymarket CLOB API passphrase",
    },
    KnownSecret {
        name: POLYMARKET_FUNDER_ADDRESS,
        description: "Polymarket funder (proxy wallet) address, 0x-prefixed",
    },
    KnownSecret {
        name: TELEGRAM_BOT_TOKEN,
        description: "Telegram bot token for alerts",
    },
    KnownSecret {
        name: TELEGRAM_CHAT_ID,
        description: "Telegram chat id that receives alerts",
    },
    KnownSecret {
        name: WEBHOOK_URL,
        description: "alert webhook URL (often embeds a token)",
    },
    KnownSecret {
        name: DASHBOARD_PASSWORD_HASH,
        description: "argon2id hash of the dashboard password (set with `orion-admin dashboard set-password`)",
    },
];

pub fn known_secret(name: &str) -> Option<&'static KnownSecret> {
    KNOWN_SECRETS.iter().find(|k| k.name == name)
}

pub const MAX_NAME_LEN: usize = 128;

/// Checks the spelling rules every name follows, known or custom: lowercase
/// ASCII letters, digits, `.`, `_` and `-`, starting with a letter.
pub fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_NAME_LEN {
        "it is longer than 128 characters"
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        "it must start with a lowercase letter"
    } else if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        "it contains a character other than a-z, 0-9, `.`, `_` and `-`"
    } else {
        return Ok(());
    };
    Err(VaultError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// Validates `name` and, unless `allow_custom`, requires it to be known.
pub fn check_settable(name: &str, allow_custom: bool) -> Result<()> {
    validate_name(name)?;
    if !allow_custom && known_secret(name).is_none() {
        return Err(VaultError::UnknownName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_valid_and_unique() {
        for (i, k) in KNOWN_SECRETS.iter().enumerate() {
            validate_name(k.name).unwrap();
            assert!(!k.description.is_empty());
            assert!(
                KNOWN_SECRETS[..i].iter().all(|o| o.name != k.name),
                "{} repeated",
                k.name
            );
        }
        assert_eq!(KNOWN_SECRETS.len(), 11);
    }

    #[test]
    fn settable_rules() {
        assert!(check_settable(KALSHI_KEY_ID, false).is_ok());
        assert!(matches!(
            check_settable("kalshi.keyid", false),
            Err(VaultError::UnknownName { .. })
        ));
        assert!(check_settable("kalshi.keyid", true).is_ok());
        for bad in [
            "",
            "Kalshi.key",
            "1abc",
            "a b",
            "a/b",
            "ünï",
            &"a".repeat(129),
        ] {
            assert!(
                matches!(
                    check_settable(bad, true),
                    Err(VaultError::InvalidName { .. })
                ),
                "{bad:?} should be refused"
            );
        }
    }
}
