//! Runs the built `orion-admin` binary the way an operator or a deployment

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! script would, with passwords from environment variables or stdin as a
//! file descriptor. The vaults use the production key-derivation minimum:
//! it costs tens of milliseconds per command, so no weaker test mode exists.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PW: &str = "operator master password";
const NEW_PW: &str = "rotated master password";
const KEY_ID: &str = "kid-SENTINEL-0001";
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIE-SENTINEL-PEM\n-----END PRIVATE KEY-----\n";

struct Env {
    _dir: tempfile::TempDir,
    vault: PathBuf,
    dir: PathBuf,
}

fn setup() -> Env {
    let dir = tempfile::tempdir().unwrap();
    Env {
        vault: dir.path().join("orion.vault"),
        dir: dir.path().to_owned(),
        _dir: dir,
    }
}

fn admin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orion-admin"));
    c.env_remove("ORION_VAULT")
        .env("ORION_TEST_PW", PW)
        .env("ORION_TEST_NEW_PW", NEW_PW);
    c
}

/// Runs `orion-admin ARGS` with `stdin` piped in.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_cmd(admin().args(args), stdin)
}

fn run_cmd(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit before reading stdin (an error, say); that is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[track_caller]
fn ok(o: &Output) -> String {
    let (out, err) = text(o);
    assert!(
        o.status.success(),
        "expected success\nstdout: {out}\nstderr: {err}"
    );
    out
}

#[track_caller]
fn fails(o: &Output) -> String {
    let (out, err) = text(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected failure\nstdout: {out}\nstderr: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn v(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        &["secrets"][..],
        &["secrets", "init"],
        &["secrets", "set"],
        &["secrets", "list"],
        &["secrets", "remove"],
        &["secrets", "rotate"],
        &["secrets", "verify"],
        &["dashboard"],
        &["dashboard", "set-password"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = ok(&run(&args, b""));
        assert!(
            out.contains("Example"),
            "{cmd:?} --help has no example:\n{out}"
        );
        assert!(out.contains("orion-admin "), "{cmd:?}");
    }
    let out = ok(&run(&["secrets", "set", "--help"], b""));
    assert!(
        out.contains("polymarket.api_passphrase") && out.contains("--custom"),
        "{out}"
    );
}

#[test]
fn full_lifecycle_with_env_passwords() {
    let e = setup();
    let vault = v(&e.vault);
    let pw = ["--vault", vault, "--password-env", "ORION_TEST_PW"];

    let out = ok(&run(&[&["secrets", "init"][..], &pw].concat(), b""));
    assert!(out.contains("created"), "{out}");
    assert_eq!(
        fs::metadata(&e.vault).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let err = fails(&run(&[&["secrets", "init"][..], &pw].concat(), b""));
    assert!(err.contains("already exists"), "{err}");

    // From stdin (one trailing newline dropped) and from a file (kept exact
    // apart from that newline).
    ok(&run(
        &[&["secrets", "set", "kalshi.key_id"][..], &pw].concat(),
        format!("{KEY_ID}\n").as_bytes(),
    ));
    let pem_file = e.dir.join("kalshi.pem");
    fs::write(&pem_file, PEM).unwrap();
    ok(&run(
        &[
            &[
                "secrets",
                "set",
                "kalshi.private_key_pem",
                "--file",
                v(&pem_file),
            ][..],
            &pw,
        ]
        .concat(),
        b"",
    ));

    // Unknown names need --custom; empty values are refused.
    let err = fails(&run(
        &[&["secrets", "set", "kalshi.keyid"][..], &pw].concat(),
        b"x",
    ));
    assert!(err.contains("--custom"), "{err}");
    ok(&run(
        &[&["secrets", "set", "extra.token", "--custom"][..], &pw].concat(),
        b"tok-SENTINEL",
    ));
    let err = fails(&run(
        &[&["secrets", "set", "webhook.url"][..], &pw].concat(),
        b"\n",
    ));
    assert!(err.contains("empty"), "{err}");
    let err = fails(&run(
        &[&["secrets", "set", "dashboard.password_hash"][..], &pw].concat(),
        b"pw",
    ));
    assert!(err.contains("dashboard set-password"), "{err}");

    let out = ok(&run(&[&["secrets", "list"][..], &pw].concat(), b""));
    assert_eq!(out, "extra.token\nkalshi.key_id\nkalshi.private_key_pem\n");

    let out = ok(&run(&[&["secrets", "verify"][..], &pw].concat(), b""));
    assert!(out.starts_with("OK: "), "{out}");
    assert!(
        out.contains("3 secrets") && out.contains("not set: polymarket.private_key"),
        "{out}"
    );

    ok(&run(
        &[&["secrets", "remove", "extra.token"][..], &pw].concat(),
        b"",
    ));
    let err = fails(&run(
        &[&["secrets", "remove", "extra.token"][..], &pw].concat(),
        b"",
    ));
    assert!(
        err.contains("no secret `extra.token`") && err.contains("secrets list"),
        "{err}"
    );

    // Values read back through the library are exactly what was stored.
    let vlt =
        orion_vault::Vault::open(&e.vault, &orion_vault::SecretString::new(PW.to_owned())).unwrap();
    assert_eq!(vlt.require_str("kalshi.key_id").unwrap(), KEY_ID);
    assert_eq!(
        vlt.require_str("kalshi.private_key_pem").unwrap(),
        PEM.trim_end_matches('\n')
    );
    assert!(vlt.get("extra.token").is_none());
    drop(vlt);

    // Rotate: the old password stops working, the new one opens everything.
    let out = ok(&run(
        &[
            &[
                "secrets",
                "rotate",
                "--new-password-env",
                "ORION_TEST_NEW_PW",
            ][..],
            &pw,
        ]
        .concat(),
        b"",
    ));
    assert!(out.contains("2 secrets kept"), "{out}");
    let err = fails(&run(&[&["secrets", "list"][..], &pw].concat(), b""));
    assert!(err.contains("wrong password"), "{err}");
    let new_pw = ["--vault", vault, "--password-env", "ORION_TEST_NEW_PW"];
    let out = ok(&run(&[&["secrets", "list"][..], &new_pw].concat(), b""));
    assert_eq!(out, "kalshi.key_id\nkalshi.private_key_pem\n");

    // Dashboard password: the vault password from stdin (fd 0), the new
    // dashboard password from the environment.
    let err = fails(&run(
        &[
            "dashboard",
            "set-password",
            "--vault",
            vault,
            "--password-fd",
            "0",
            "--new-password-env",
            "DASH_PW",
        ],
        format!("{NEW_PW}\n").as_bytes(),
    ));
    assert!(err.contains("DASH_PW"), "{err}");
    let out = ok(&run_cmd(
        admin()
            .env("DASH_PW", "dashboard password 1")
            .args(["dashboard", "set-password", "--vault", vault])
            .args(["--password-fd", "0", "--new-password-env", "DASH_PW"]),
        format!("{NEW_PW}\n").as_bytes(),
    ));
    assert!(out.contains("dashboard password"), "{out}");
    let vlt =
        orion_vault::Vault::open(&e.vault, &orion_vault::SecretString::new(NEW_PW.to_owned()))
            .unwrap();
    let hash = vlt.require_str("dashboard.password_hash").unwrap();
    assert!(orion_vault::verify_dashboard_password(hash, b"dashboard password 1").unwrap());
    assert!(!orion_vault::verify_dashboard_password(hash, b"dashboard password 2").unwrap());
}

#[test]
fn secrets_never_reach_the_terminal() {
    let e = setup();
    let vault = v(&e.vault);
    let pw = ["--vault", vault, "--password-env", "ORION_TEST_PW"];
    let mut outputs = vec![run(&[&["secrets", "init"][..], &pw].concat(), b"")];
    outputs.push(run(
        &[&["secrets", "set", "kalshi.key_id"][..], &pw].concat(),
        KEY_ID.as_bytes(),
    ));
    outputs.push(run(
        &[&["secrets", "set", "kalshi.key_id"][..], &pw].concat(),
        KEY_ID.as_bytes(),
    ));
    outputs.push(run(
        &[&["secrets", "set", "polymarket.private_key"][..], &pw].concat(),
        b"0xSENTINEL",
    ));
    outputs.push(run(&[&["secrets", "list"][..], &pw].concat(), b""));
    outputs.push(run(&[&["secrets", "verify"][..], &pw].concat(), b""));
    outputs.push(run_cmd(
        admin().env("WRONG", "a wrong SENTINEL password").args([
            "secrets",
            "list",
            "--vault",
            vault,
            "--password-env",
            "WRONG",
        ]),
        b"",
    ));
    for o in &outputs {
        let (out, err) = text(o);
        for s in [&out, &err] {
            assert!(!s.contains("SENTINEL"), "secret leaked: {s}");
            assert!(!s.contains(PW), "password leaked: {s}");
        }
    }
    // verify flags the malformed key without printing it.
    let (out, _) = text(&outputs[5]);
    assert!(
        out.contains("warning: `polymarket.private_key` is not 32 bytes of hex"),
        "{out}"
    );
}

#[test]
fn set_up_mistakes_get_actionable_errors() {
    let e = setup();
    let vault = v(&e.vault);
    let pw = ["--vault", vault, "--password-env", "ORION_TEST_PW"];

    let err = fails(&run(&[&["secrets", "list"][..], &pw].concat(), b""));
    assert!(err.contains("orion-admin secrets init"), "{err}");

    let err = fails(&run(
        &[
            "secrets",
            "init",
            "--vault",
            vault,
            "--password-env",
            "NOT_SET_ANYWHERE",
        ],
        b"",
    ));
    assert!(
        err.contains("NOT_SET_ANYWHERE") && err.contains("--password-fd"),
        "{err}"
    );

    let err = fails(&run_cmd(
        admin().env("SHORT", "short").args([
            "secrets",
            "init",
            "--vault",
            vault,
            "--password-env",
            "SHORT",
        ]),
        b"",
    ));
    assert!(err.contains("at least 12"), "{err}");
    assert!(!e.vault.exists());

    let err = fails(&run(
        &[&["secrets", "init", "--kdf-memory-kib", "1024"][..], &pw].concat(),
        b"",
    ));
    assert!(err.contains("19456"), "{err}");
    assert!(!e.vault.exists());

    ok(&run(
        &[&["secrets", "init", "--kdf-memory-kib", "32768"][..], &pw].concat(),
        b"",
    ));
    let out = ok(&run(&[&["secrets", "verify"][..], &pw].concat(), b""));
    assert!(out.contains("m=32768"), "{out}");

    fs::set_permissions(&e.vault, fs::Permissions::from_mode(0o644)).unwrap();
    let err = fails(&run(&[&["secrets", "verify"][..], &pw].concat(), b""));
    assert!(err.contains(&format!("chmod 600 {vault}")), "{err}");
    fs::set_permissions(&e.vault, fs::Permissions::from_mode(0o600)).unwrap();

    // A damaged file is reported as such.
    let mut bytes = fs::read(&e.vault).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&e.vault, &bytes).unwrap();
    let err = fails(&run(&[&["secrets", "verify"][..], &pw].concat(), b""));
    assert!(
        err.contains("modified or corrupted") && err.contains("backup"),
        "{err}"
    );

    let err = fails(&run(
        &[
            "secrets",
            "set",
            "webhook.url",
            "--vault",
            vault,
            "--password-fd",
            "0",
        ],
        b"pw",
    ));
    assert!(err.contains("--file"), "{err}");

    // Rotating to a password from the same source is refused up front.
    let err = fails(&run(
        &[
            &["secrets", "rotate", "--new-password-env", "ORION_TEST_PW"][..],
            &pw,
        ]
        .concat(),
        b"",
    ));
    assert!(err.contains("same place"), "{err}");
}

#[test]
fn vault_path_from_environment_and_no_terminal_for_prompt() {
    let e = setup();
    let vault = v(&e.vault);
    ok(&run_cmd(
        admin().env("ORION_VAULT", vault).args([
            "secrets",
            "init",
            "--password-env",
            "ORION_TEST_PW",
        ]),
        b"",
    ));
    assert!(e.vault.exists());

    // Without a password option the command prompts on the terminal; with no
    // terminal at all (setsid detaches it) it must say what to pass instead.
    let err = fails(&run_cmd(
        Command::new("setsid")
            .arg(env!("CARGO_BIN_EXE_orion-admin"))
            .args(["secrets", "list", "--vault", vault]),
        b"",
    ));
    assert!(
        err.contains("--password-env") && err.contains("--password-fd"),
        "{err}"
    );
}

#[test]
fn a_second_writer_is_turned_away_while_the_first_holds_the_lock() {
    let e = setup();
    let vault = v(&e.vault);
    let pw = ["--vault", vault, "--password-env", "ORION_TEST_PW"];
    ok(&run(&[&["secrets", "init"][..], &pw].concat(), b""));
    let held = orion_vault::WriteLock::acquire(&e.vault).unwrap();
    let err = fails(&run(
        &[&["secrets", "set", "telegram.chat_id"][..], &pw].concat(),
        b"42",
    ));
    assert!(err.contains("another orion-admin command"), "{err}");
    // Reading does not need the lock.
    ok(&run(&[&["secrets", "list"][..], &pw].concat(), b""));
    drop(held);
    ok(&run(
        &[&["secrets", "set", "telegram.chat_id"][..], &pw].concat(),
        b"42",
    ));
}

/// The fault-point tests in orion-vault stop a rotation at each step; this
/// one kills the real process with SIGKILL at moments spread over a rotation,
/// and checks every time that the vault opens with one of the two passwords
/// and holds everything.
#[test]
fn rotation_killed_with_sigkill_at_any_moment_loses_nothing() {
    let e = setup();
    let vault = v(&e.vault);
    let pw = ["--vault", vault, "--password-env", "ORION_TEST_PW"];
    ok(&run(&[&["secrets", "init"][..], &pw].concat(), b""));
    ok(&run(
        &[&["secrets", "set", "kalshi.key_id"][..], &pw].concat(),
        KEY_ID.as_bytes(),
    ));
    ok(&run(
        &[&["secrets", "set", "kalshi.private_key_pem"][..], &pw].concat(),
        PEM.as_bytes(),
    ));

    let open = |password: &str| {
        orion_vault::Vault::open(
            &e.vault,
            &orion_vault::SecretString::new(password.to_owned()),
        )
        .ok()
    };
    let mut current = ("ORION_TEST_PW", PW);
    let mut next = ("ORION_TEST_NEW_PW", NEW_PW);
    for step in 0..16u64 {
        let mut child = admin()
            .args(["secrets", "rotate", "--vault", vault])
            .args(["--password-env", current.0, "--new-password-env", next.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(step * 12));
        let _ = child.kill();
        let _ = child.wait();

        let opened = match open(current.1) {
            Some(v) => v,
            None => {
                let v = open(next.1)
                    .unwrap_or_else(|| panic!("step {step}: opens with neither password"));
                std::mem::swap(&mut current, &mut next);
                v
            }
        };
        assert_eq!(
            opened.require_str("kalshi.key_id").unwrap(),
            KEY_ID,
            "step {step}"
        );
        assert_eq!(
            opened.require_str("kalshi.private_key_pem").unwrap(),
            PEM.trim_end_matches('\n'),
            "step {step}"
        );
        assert_eq!(opened.len(), 2, "step {step}");
        assert_eq!(
            fs::metadata(&e.vault).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
