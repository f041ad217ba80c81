//! `orion-admin secrets ...`: create and maintain the encrypted vault that
//! holds every credential the engine uses. The format and the crypto live in
//! `orion-vault`; this module only reads arguments, passwords and values.

use std::fs;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use orion_vault::{
    KNOWN_SECRETS, KdfParams, PasswordSource, SecretBytes, SecretString, Vault, VaultError,
    WriteLock, known_secret, leftover_temp_files, names,
};

/// Where the vault is and how to get its master password. Shared by every
/// command that opens the vault.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// Path of the vault file.
    #[arg(
        long,
        value_name = "PATH",
        env = "ORION_VAULT",
        default_value = "./orion.vault"
    )]
    pub vault: PathBuf,

    /// Read the master password from this environment variable instead of
    /// prompting. Convenient, but any process of the same user can read it
    /// from /proc/PID/environ; prefer --password-fd for automation.
    #[arg(long, value_name = "VAR", conflicts_with = "password_fd")]
    pub password_env: Option<String>,

    /// Read the master password from this open file descriptor (for example
    /// 3, with `3<password-file` in the shell). One trailing newline is
    /// dropped. The best choice for scripts and services.
    #[arg(long, value_name = "N")]
    pub password_fd: Option<u32>,
}

impl VaultArgs {
    pub fn source(&self) -> PasswordSource {
        match (&self.password_env, self.password_fd) {
            (Some(var), _) => PasswordSource::Env(var.clone()),
            (None, Some(fd)) => PasswordSource::Fd(fd),
            (None, None) => PasswordSource::Prompt,
        }
    }

    /// Takes the writers' lock, then opens the vault: for commands that
    /// change it. The lock is held until the returned guard is dropped.
    pub fn open_for_update(&self) -> Result<(WriteLock, Vault), String> {
        if !self.vault.exists() {
            return Err(VaultError::NotFound {
                path: self.vault.clone(),
            }
            .to_string());
        }
        let lock = WriteLock::acquire(&self.vault).map_err(|e| e.to_string())?;
        Ok((lock, self.open()?))
    }

    /// Reads the master password and opens the vault.
    pub fn open(&self) -> Result<Vault, String> {
        // Fail on a missing file before asking for a password nobody needs.
        if !self.vault.exists() {
            return Err(VaultError::NotFound {
                path: self.vault.clone(),
            }
            .to_string());
        }
        let password = self
            .source()
            .read("Vault password: ")
            .map_err(|e| e.to_string())?;
        Vault::open(&self.vault, &password).map_err(|e| e.to_string())
    }
}

/// A second password source, for the password being set (rotate, and the
/// dashboard password).
#[derive(Debug, Args)]
pub struct NewPasswordArgs {
    /// Read the new password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "new_password_fd")]
    pub new_password_env: Option<String>,

    /// Read the new password from this open file descriptor.
    #[arg(long, value_name = "N")]
    pub new_password_fd: Option<u32>,
}

impl NewPasswordArgs {
    pub fn source(&self) -> PasswordSource {
        match (&self.new_password_env, self.new_password_fd) {
            (Some(var), _) => PasswordSource::Env(var.clone()),
            (None, Some(fd)) => PasswordSource::Fd(fd),
            (None, None) => PasswordSource::Prompt,
        }
    }
}

/// Argon2id cost. Values below the minimum (19456 KiB, 2 iterations,
/// parallelism 1) are refused.
#[derive(Debug, Args)]
pub struct KdfArgs {
    /// Argon2id memory in KiB (at least 19456).
    #[arg(long, value_name = "KIB")]
    pub kdf_memory_kib: Option<u32>,
    /// Argon2id passes (at least 2).
    #[arg(long, value_name = "N")]
    pub kdf_iterations: Option<u32>,
    /// Argon2id lanes (at least 1).
    #[arg(long, value_name = "N")]
    pub kdf_parallelism: Option<u32>,
}

impl KdfArgs {
    /// The parameters asked for, each defaulting to the one in `base`.
    fn params(&self, base: KdfParams) -> Result<KdfParams, String> {
        KdfParams::new(
            self.kdf_memory_kib.unwrap_or(base.memory_kib),
            self.kdf_iterations.unwrap_or(base.iterations),
            self.kdf_parallelism.unwrap_or(base.parallelism),
        )
        .map_err(|e| e.to_string())
    }
}

/// The list of known names for `set --help`, built from the vault crate's
/// table so the two cannot drift apart.
fn names_help() -> String {
    let mut out = String::from("Known secret names:\n");
    for k in KNOWN_SECRETS {
        out.push_str(&format!("  {:<27}{}\n", k.name, k.description));
    }
    out.push_str("Other names need --custom.");
    out
}

#[derive(Debug, Subcommand)]
#[command(
    after_help = "Passwords come from a prompt (default), --password-env VAR or --password-fd N.\n\
See docs/vault.md for the trade-offs.\n\n\
Example:\n  orion-admin secrets init --vault /etc/orion/orion.vault\n  \
orion-admin secrets set kalshi.key_id --vault /etc/orion/orion.vault"
)]
pub enum SecretsCommand {
    /// Create a new, empty vault (mode 0600), asking for its master password twice.
    #[command(
        after_help = "Example:\n  orion-admin secrets init --vault /etc/orion/orion.vault\n  \
orion-admin secrets init --kdf-memory-kib 65536 --kdf-iterations 3  # stronger, slower"
    )]
    Init {
        #[command(flatten)]
        vault: VaultArgs,
        #[command(flatten)]
        kdf: KdfArgs,
    },

    /// Store a secret, read from stdin (hidden prompt on a terminal) or --file.
    #[command(after_help = format!("{}\n\n\
One trailing newline is removed from the value unless --keep-newline is given.\n\n\
Examples:\n  orion-admin secrets set kalshi.key_id                 # prompts for the value, hidden\n  \
orion-admin secrets set kalshi.private_key_pem --file kalshi.pem\n  \
printf %s \"$TOKEN\" | orion-admin secrets set telegram.bot_token --password-fd 3 3<pw.txt\n  \
orion-admin secrets set my.extra_token --custom", names_help()))]
    Set {
        /// Secret name, e.g. kalshi.key_id (see below).
        name: String,
        /// Read the value from this file instead of stdin.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Allow a name Orion does not know.
        #[arg(long)]
        custom: bool,
        /// Keep a trailing newline in the value.
        #[arg(long)]
        keep_newline: bool,
        #[command(flatten)]
        vault: VaultArgs,
    },

    /// Print the names of the stored secrets, one per line (never the values).
    #[command(after_help = "Example:\n  orion-admin secrets list --vault /etc/orion/orion.vault")]
    List {
        #[command(flatten)]
        vault: VaultArgs,
    },

    /// Delete a secret.
    #[command(after_help = "Example:\n  orion-admin secrets remove webhook.url")]
    Remove {
        /// Name of the secret to delete.
        name: String,
        #[command(flatten)]
        vault: VaultArgs,
    },

    /// Change the master password (and optionally the key-derivation cost).
    /// The old file stays valid until the new one is completely written.
    #[command(
        after_help = "The current password comes from --password-env/--password-fd/prompt, the new one\n\
from --new-password-env/--new-password-fd/prompt (asked twice).\n\n\
Examples:\n  orion-admin secrets rotate\n  \
orion-admin secrets rotate --password-fd 3 --new-password-fd 4 3<old.txt 4<new.txt"
    )]
    Rotate {
        #[command(flatten)]
        vault: VaultArgs,
        #[command(flatten)]
        new_password: NewPasswordArgs,
        /// Keeps the current cost unless given.
        #[command(flatten)]
        kdf: KdfArgs,
    },

    /// Check that the vault opens, is private and intact; report missing or
    /// odd-looking secrets. Exit status 1 if it does not open.
    #[command(
        after_help = "Example:\n  orion-admin secrets verify --vault /etc/orion/orion.vault --password-fd 3 3<pw.txt"
    )]
    Verify {
        #[command(flatten)]
        vault: VaultArgs,
    },
}

pub fn run(cmd: SecretsCommand) -> Result<(), String> {
    match cmd {
        SecretsCommand::Init { vault, kdf } => init(&vault, &kdf),
        SecretsCommand::Set {
            name,
            file,
            custom,
            keep_newline,
            vault,
        } => set(&vault, &name, file, custom, keep_newline),
        SecretsCommand::List { vault } => list(&vault),
        SecretsCommand::Remove { name, vault } => remove(&vault, &name),
        SecretsCommand::Rotate {
            vault,
            new_password,
            kdf,
        } => rotate(&vault, &new_password, &kdf),
        SecretsCommand::Verify { vault } => verify(&vault),
    }
}

fn init(args: &VaultArgs, kdf: &KdfArgs) -> Result<(), String> {
    let params = kdf.params(KdfParams::default())?;
    if args.vault.exists() {
        return Err(VaultError::AlreadyExists {
            path: args.vault.clone(),
        }
        .to_string());
    }
    let password = args
        .source()
        .read_new("New vault password: ")
        .map_err(|e| e.to_string())?;
    Vault::create(&args.vault, &password, params).map_err(|e| e.to_string())?;
    println!(
        "created {} ({params}); add secrets with `orion-admin secrets set NAME --vault {}`",
        args.vault.display(),
        args.vault.display()
    );
    Ok(())
}

fn set(
    args: &VaultArgs,
    name: &str,
    file: Option<PathBuf>,
    custom: bool,
    keep_newline: bool,
) -> Result<(), String> {
    names::check_settable(name, custom).map_err(|e| e.to_string())?;
    if name == names::DASHBOARD_PASSWORD_HASH && !custom {
        return Err("dashboard.password_hash holds a hash, not a password: use `orion-admin dashboard set-password` (or pass --custom to store a ready-made argon2id PHC string)".to_owned());
    }
    if file.is_none() && args.password_fd == Some(0) {
        return Err("stdin cannot carry both the password (--password-fd 0) and the value: pass the value with --file PATH or the password on another descriptor".to_owned());
    }
    let (_lock, mut vault) = args.open_for_update()?;
    let value = read_value(name, file.as_ref(), keep_newline)?;
    let replaced = vault.set(name, value).map_err(|e| e.to_string())?.is_some();
    vault.save().map_err(|e| e.to_string())?;
    let verb = if replaced { "replaced" } else { "stored" };
    println!("{verb} `{name}` in {}", args.vault.display());
    Ok(())
}

/// Reads a secret value. On a terminal the value is typed without echo, so
/// it never lands in the scrollback.
fn read_value(
    name: &str,
    file: Option<&PathBuf>,
    keep_newline: bool,
) -> Result<SecretBytes, String> {
    let mut bytes = match file {
        Some(path) => fs::read(path).map_err(|e| {
            format!(
                "could not read {}: {e}; check the --file path",
                path.display()
            )
        })?,
        None if std::io::stdin().is_terminal() => rpassword::prompt_password(format!(
            "Value for {name} (hidden): "
        ))
        .map_err(|e| {
            format!(
                "could not read the value from the terminal: {e}; pipe it on stdin or use --file"
            )
        })?
        .into_bytes(),
        None => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                format!("could not read the value from stdin: {e}; use --file PATH instead")
            })?;
            buf
        }
    };
    if !keep_newline && bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    let value = SecretBytes::new(bytes);
    if value.is_empty() {
        return Err(format!(
            "the value for `{name}` is empty; nothing was stored (to delete a secret use `orion-admin secrets remove {name}`)"
        ));
    }
    Ok(value)
}

fn list(args: &VaultArgs) -> Result<(), String> {
    let vault = args.open()?;
    for name in vault.names() {
        println!("{name}");
    }
    if vault.is_empty() {
        eprintln!("(the vault is empty; add secrets with `orion-admin secrets set NAME`)");
    }
    Ok(())
}

fn remove(args: &VaultArgs, name: &str) -> Result<(), String> {
    let (_lock, mut vault) = args.open_for_update()?;
    if !vault.remove(name) {
        return Err(format!(
            "there is no secret `{name}` in {}; `orion-admin secrets list` shows the names; nothing was changed",
            args.vault.display()
        ));
    }
    vault.save().map_err(|e| e.to_string())?;
    println!("removed `{name}` from {}", args.vault.display());
    Ok(())
}

fn rotate(args: &VaultArgs, new: &NewPasswordArgs, kdf: &KdfArgs) -> Result<(), String> {
    if new.source() == args.source() && new.source() != PasswordSource::Prompt {
        return Err("the new password would come from the same place as the current one; pass --new-password-env or --new-password-fd with a different source".to_owned());
    }
    let (_lock, mut vault) = args.open_for_update()?;
    let params = kdf.params(vault.params())?;
    let new_password: SecretString = new
        .source()
        .read_new("New vault password: ")
        .map_err(|e| e.to_string())?;
    vault.rotate(&new_password, params).map_err(|e| {
        format!(
            "{e}\nThe rotation did not complete; {} still opens with the password it had before, unless the rename had already happened (then try the new one).",
            args.vault.display()
        )
    })?;
    println!(
        "rotated the password of {} ({params}); {} secrets kept",
        args.vault.display(),
        vault.len()
    );
    Ok(())
}

fn verify(args: &VaultArgs) -> Result<(), String> {
    let vault = args.open()?;
    println!(
        "OK: {} opens; owner-only permissions; format v{}; {}; {} secrets",
        args.vault.display(),
        orion_vault::format::FORMAT_VERSION,
        vault.params(),
        vault.len()
    );
    for name in vault.names() {
        if let Some(problem) = vault.get(name).and_then(|v| looks_wrong(name, v)) {
            println!("warning: `{name}` {problem}; fix it with `orion-admin secrets set {name}`");
        }
        if known_secret(name).is_none() {
            println!("note: `{name}` is a custom name; the engine does not read it");
        }
    }
    let missing: Vec<&str> = KNOWN_SECRETS
        .iter()
        .map(|k| k.name)
        .filter(|n| !vault.contains(n))
        .collect();
    if !missing.is_empty() {
        println!("not set: {}", missing.join(", "));
    }
    if let Ok(leftovers) = leftover_temp_files(&args.vault) {
        for l in leftovers {
            println!(
                "note: {} is left over from an interrupted write; it is encrypted and can be deleted",
                l.display()
            );
        }
    }
    Ok(())
}

/// Cheap shape checks on known secrets, to catch a value pasted under the
/// wrong name. Never prints the value.
fn looks_wrong(name: &str, value: &SecretBytes) -> Option<&'static str> {
    let Some(text) = value.expose_str() else {
        return Some("is not UTF-8 text");
    };
    let hex_of_len = |s: &str, n: usize| {
        let h = s.strip_prefix("0x").unwrap_or(s);
        h.len() == n && h.bytes().all(|b| b.is_ascii_hexdigit())
    };
    match name {
        names::KALSHI_PRIVATE_KEY_PEM if !text.contains("-----BEGIN") => {
            Some("does not look like a PEM key")
        }
        names::POLYMARKET_PRIVATE_KEY if !hex_of_len(text, 64) => Some("is not 32 bytes of hex"),
        names::POLYMARKET_FUNDER_ADDRESS if !hex_of_len(text, 40) => {
            Some("is not a 0x-prefixed 20-byte address")
        }
        names::DASHBOARD_PASSWORD_HASH if !text.starts_with("$argon2id$") => {
            Some("is not an argon2id PHC string")
        }
        names::WEBHOOK_URL if !(text.starts_with("https://") || text.starts_with("http://")) => {
            Some("is not an http(s) URL")
        }
        _ if text.trim() != text => Some("has leading or trailing whitespace"),
        _ => None,
    }
}
