//! `orion-admin dashboard ...`: the dashboard login password. Only its
//! argon2id hash is stored, in the vault under `dashboard.password_hash`; the
//! engine checks logins with `orion_vault::verify_dashboard_password`.

use clap::Subcommand;
use orion_vault::{KdfParams, hash_dashboard_password, names};

use crate::secrets::{NewPasswordArgs, VaultArgs};

#[derive(Debug, Subcommand)]
#[command(
    after_help = "Example:\n  orion-admin dashboard set-password --vault /etc/orion/orion.vault"
)]
pub enum DashboardCommand {
    /// Set (or replace) the dashboard login password. Asks for the vault's
    /// master password, then for the dashboard password twice.
    #[command(
        after_help = "The vault password comes from --password-env/--password-fd/prompt, the dashboard\n\
password from --new-password-env/--new-password-fd/prompt. At least 12 characters.\n\n\
Examples:\n  orion-admin dashboard set-password\n  \
orion-admin dashboard set-password --password-fd 3 --new-password-fd 4 3<vault.pw 4<dash.pw"
    )]
    SetPassword {
        #[command(flatten)]
        vault: VaultArgs,
        #[command(flatten)]
        new_password: NewPasswordArgs,
    },
}

pub fn run(cmd: DashboardCommand) -> Result<(), String> {
    match cmd {
        DashboardCommand::SetPassword {
            vault,
            new_password,
        } => set_password(&vault, &new_password),
    }
}

fn set_password(args: &VaultArgs, new: &NewPasswordArgs) -> Result<(), String> {
    let (_lock, mut vault) = args.open_for_update()?;
    let password = new
        .source()
        .read_new("New dashboard password: ")
        .map_err(|e| e.to_string())?;
    let hash =
        hash_dashboard_password(&password, KdfParams::default()).map_err(|e| e.to_string())?;
    let replaced = vault
        .set(names::DASHBOARD_PASSWORD_HASH, hash.into())
        .map_err(|e| e.to_string())?
        .is_some();
    vault.save().map_err(|e| e.to_string())?;
    let verb = if replaced { "replaced" } else { "set" };
    println!(
        "{verb} the dashboard password (argon2id hash stored as `{}` in {})",
        names::DASHBOARD_PASSWORD_HASH,
        args.vault.display()
    );
    Ok(())
}
