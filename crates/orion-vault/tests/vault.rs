//! Behaviour of the vault file as the engine and `orion-admin` rely on it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use orion_vault::format::HEADER_LEN;
use orion_vault::{
    FaultPoint, KdfParams, OpenPolicy, SecretBytes, SecretString, Vault, VaultError,
    leftover_temp_files, names,
};
use sha2::{Digest, Sha256};

const OLD_PW: &str = "correct horse battery staple";
const NEW_PW: &str = "a different long password";

fn pw(s: &str) -> SecretString {
    SecretString::new(s.to_owned())
}

fn fast() -> OpenPolicy {
    OpenPolicy::allow_insecure_kdf()
}

fn sample_secrets() -> BTreeMap<&'static str, Vec<u8>> {
    BTreeMap::from([
        (
            names::KALSHI_KEY_ID,
            b"0f7e9c1a-kalshi-key-id-SENTINEL1".to_vec(),
        ),
        (
            names::KALSHI_PRIVATE_KEY_PEM,
            b"-----BEGIN PRIVATE KEY-----\nMIIEvSENTINEL2\n-----END PRIVATE KEY-----\n".to_vec(),
        ),
        (names::POLYMARKET_PRIVATE_KEY, b"0xSENTINEL3abcdef".to_vec()),
        ("custom.binary", vec![0, 1, 2, 0xff, 0xfe, b'S', b'4']),
    ])
}

/// A fast-KDF vault in a fresh directory holding `sample_secrets()`.
fn make_vault() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.vault");
    let mut v =
        Vault::create_with(&path, &pw(OLD_PW), KdfParams::insecure_for_tests(), &fast()).unwrap();
    for (k, val) in sample_secrets() {
        v.set(k, SecretBytes::from_slice(&val)).unwrap();
    }
    v.save().unwrap();
    (dir, path)
}

fn contents(v: &Vault) -> BTreeMap<String, Vec<u8>> {
    v.names()
        .map(|n| (n.to_owned(), v.get(n).unwrap().expose().to_vec()))
        .collect()
}

fn expected_contents() -> BTreeMap<String, Vec<u8>> {
    sample_secrets()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn round_trip_with_fast_params() {
    let (_dir, path) = make_vault();
    assert_eq!(mode(&path), 0o600);
    let mut v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
    assert_eq!(contents(&v), expected_contents());
    assert_eq!(
        v.require_str(names::KALSHI_KEY_ID).unwrap(),
        "0f7e9c1a-kalshi-key-id-SENTINEL1"
    );

    assert!(v.remove("custom.binary"));
    assert!(!v.remove("custom.binary"));
    v.set(names::TELEGRAM_CHAT_ID, SecretBytes::from_slice(b"-100123"))
        .unwrap();
    v.save().unwrap();
    assert_eq!(mode(&path), 0o600, "a save must keep the file private");

    let v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
    let mut expected = expected_contents();
    expected.remove("custom.binary");
    expected.insert(names::TELEGRAM_CHAT_ID.to_owned(), b"-100123".to_vec());
    assert_eq!(contents(&v), expected);
}

#[test]
fn round_trip_with_production_params_and_weak_params_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prod.vault");
    let mut v = Vault::create(&path, &pw(OLD_PW), KdfParams::default()).unwrap();
    v.set(
        names::WEBHOOK_URL,
        SecretBytes::from_slice(b"https://hooks.example/T0K3N"),
    )
    .unwrap();
    v.save().unwrap();
    let v = Vault::open(&path, &pw(OLD_PW)).unwrap();
    assert_eq!(v.params(), KdfParams::MINIMUM);
    assert_eq!(
        v.require(names::WEBHOOK_URL).unwrap().expose(),
        b"https://hooks.example/T0K3N"
    );

    // A vault written with test parameters does not open in production mode.
    let (_d, weak) = make_vault();
    let err = Vault::open(&weak, &pw(OLD_PW)).unwrap_err();
    assert!(matches!(err, VaultError::WeakKdfParams { .. }), "{err}");
    // ... and production code cannot create one either.
    let err = Vault::create(
        dir.path().join("w"),
        &pw(OLD_PW),
        KdfParams::insecure_for_tests(),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::InvalidKdfParams { .. }), "{err}");
    assert!(!dir.path().join("w").exists());
}

#[test]
fn lowering_params_in_the_header_is_refused_even_with_a_fixed_checksum() {
    // The checksum is unkeyed, so an attacker can recompute it; the minimum
    // check is what stops a downgrade to cheap-to-guess parameters.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    Vault::create(&path, &pw(OLD_PW), KdfParams::default()).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    bytes[12..16].copy_from_slice(&64u32.to_be_bytes());
    let sum: [u8; 32] = Sha256::digest(&bytes[..88]).into();
    bytes[88..120].copy_from_slice(&sum);
    fs::write(&path, &bytes).unwrap();
    let err = Vault::open(&path, &pw(OLD_PW)).unwrap_err();
    assert!(matches!(err, VaultError::WeakKdfParams { .. }), "{err}");
    // With the override the downgrade is still caught, by the key check.
    let err = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap_err();
    assert!(
        matches!(err, VaultError::WrongPasswordOrModified { .. }),
        "{err}"
    );
}

#[test]
fn wrong_password_is_a_clear_error() {
    let (_dir, path) = make_vault();
    let err = Vault::open_with(&path, &pw("not the password at all"), &fast()).unwrap_err();
    assert!(
        matches!(err, VaultError::WrongPasswordOrModified { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("wrong password"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn every_flipped_bit_gives_a_specific_error() {
    let (_dir, path) = make_vault();
    let original = fs::read(&path).unwrap();
    assert!(original.len() > HEADER_LEN + 16);
    let mut checked = 0;
    for i in 0..original.len() {
        for bit in 0..8 {
            let mut bytes = original.clone();
            bytes[i] ^= 1 << bit;
            fs::write(&path, &bytes).unwrap();
            let err = match Vault::open_with(&path, &pw(OLD_PW), &fast()) {
                Ok(_) => panic!("byte {i} bit {bit} flipped and the vault still opened"),
                Err(e) => e,
            };
            let ok = match i {
                0..8 => matches!(err, VaultError::BadMagic { .. }),
                8..120 => matches!(err, VaultError::HeaderCorrupted { .. }),
                120..HEADER_LEN => matches!(err, VaultError::WrongPasswordOrModified { .. }),
                _ => matches!(err, VaultError::BodyModified { .. }),
            };
            assert!(ok, "byte {i} bit {bit}: unexpected error {err:?}");
            assert!(err.is_integrity_failure(), "byte {i}: {err:?}");
            let msg = err.to_string();
            assert!(
                msg.contains("restore") || msg.contains("password"),
                "byte {i}: {msg}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, original.len() * 8);
    fs::write(&path, &original).unwrap();
    Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
}

#[test]
fn truncated_or_extended_files_are_refused() {
    let (_dir, path) = make_vault();
    let original = fs::read(&path).unwrap();
    for len in 0..original.len() {
        fs::write(&path, &original[..len]).unwrap();
        let err = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap_err();
        let ok = if len < HEADER_LEN {
            matches!(err, VaultError::TooShort { .. })
        } else {
            matches!(err, VaultError::LengthMismatch { .. })
        };
        assert!(ok, "truncated to {len}: {err:?}");
    }
    let mut longer = original.clone();
    longer.push(0);
    fs::write(&path, &longer).unwrap();
    let err = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap_err();
    assert!(matches!(err, VaultError::LengthMismatch { .. }), "{err:?}");
}

#[test]
fn not_a_vault_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.vault");
    let err = Vault::open(&missing, &pw(OLD_PW)).unwrap_err();
    assert!(matches!(err, VaultError::NotFound { .. }));
    assert!(
        err.to_string().contains("orion-admin secrets init"),
        "{err}"
    );

    let text = dir.path().join("config.toml");
    fs::write(&text, "[engine]\nmode = \"dry-run\"\n".repeat(20)).unwrap();
    fs::set_permissions(&text, fs::Permissions::from_mode(0o600)).unwrap();
    let err = Vault::open(&text, &pw(OLD_PW)).unwrap_err();
    assert!(matches!(err, VaultError::BadMagic { .. }), "{err:?}");

    let err = Vault::open(dir.path(), &pw(OLD_PW)).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::NotARegularFile { .. } | VaultError::InsecurePermissions { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn create_refuses_to_overwrite() {
    let (_dir, path) = make_vault();
    let before = fs::read(&path).unwrap();
    let err = Vault::create_with(&path, &pw(NEW_PW), KdfParams::insecure_for_tests(), &fast())
        .unwrap_err();
    assert!(matches!(err, VaultError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn short_new_passwords_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let err = Vault::create_with(
        &path,
        &pw("short"),
        KdfParams::insecure_for_tests(),
        &fast(),
    )
    .unwrap_err();
    assert!(
        matches!(err, VaultError::PasswordTooShort { .. }),
        "{err:?}"
    );
    assert!(!path.exists());
}

#[test]
fn permissions_are_enforced() {
    let (_dir, path) = make_vault();
    for bad in [0o644, 0o640, 0o604, 0o660, 0o606, 0o666, 0o610] {
        fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
        let err = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap_err();
        assert!(
            matches!(err, VaultError::InsecurePermissions { mode, .. } if mode == bad),
            "{bad:o}: {err:?}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
    for good in [0o600, 0o400] {
        fs::set_permissions(&path, fs::Permissions::from_mode(good)).unwrap();
        Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
    }
}

#[test]
fn every_write_uses_a_fresh_nonce_and_rotation_a_fresh_salt() {
    let (_dir, path) = make_vault();
    let mut v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
    let a = fs::read(&path).unwrap();
    v.save().unwrap();
    let b = fs::read(&path).unwrap();
    let (salt, nonce) = (24..56, 56..80);
    assert_eq!(
        a[salt.clone()],
        b[salt.clone()],
        "same password keeps the salt"
    );
    assert_ne!(
        a[nonce.clone()],
        b[nonce.clone()],
        "nonce must change on every write"
    );
    assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..]);
    v.rotate_with(
        &pw(NEW_PW),
        KdfParams::insecure_for_tests(),
        &fast(),
        &mut |_| Ok(()),
    )
    .unwrap();
    let c = fs::read(&path).unwrap();
    assert_ne!(b[salt.clone()], c[salt], "rotation must pick a new salt");
}

#[test]
fn secrets_never_appear_in_debug_output_errors_or_the_file() {
    let (_dir, path) = make_vault();
    let file = fs::read(&path).unwrap();
    let v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
    let password = pw(OLD_PW);
    let mut rendered = vec![
        format!("{v:?}"),
        format!("{v:#?}"),
        format!("{password:?}"),
        format!("{:?}", v.get(names::KALSHI_KEY_ID)),
        format!("{:?}", v.require(names::KALSHI_PRIVATE_KEY_PEM)),
    ];
    for e in [
        Vault::open_with(&path, &pw("wrong password here"), &fast()).unwrap_err(),
        v.require(names::TELEGRAM_BOT_TOKEN).unwrap_err(),
    ] {
        rendered.push(format!("{e:?}"));
        rendered.push(e.to_string());
    }
    assert!(
        rendered[0].contains(names::KALSHI_KEY_ID),
        "names may be shown: {}",
        rendered[0]
    );
    assert!(rendered[3].contains("***"));
    for r in &rendered {
        for needle in ["SENTINEL", OLD_PW, "wrong password here", "BEGIN PRIVATE"] {
            assert!(!r.contains(needle), "{needle:?} leaked into {r:?}");
        }
    }
    let file_text = String::from_utf8_lossy(&file);
    assert!(
        !file_text.contains("SENTINEL") && !file_text.contains("kalshi"),
        "plaintext in file"
    );
}

#[test]
fn require_names_the_missing_secret_and_the_fix() {
    let (_dir, path) = make_vault();
    let v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
    let err = v.require(names::POLYMARKET_API_SECRET).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("polymarket.api_secret"), "{msg}");
    assert!(
        msg.contains("orion-admin secrets set polymarket.api_secret"),
        "{msg}"
    );
    v.require_all([names::KALSHI_KEY_ID, names::KALSHI_PRIVATE_KEY_PEM])
        .unwrap();
    let err = v
        .require_all([
            names::KALSHI_KEY_ID,
            names::TELEGRAM_BOT_TOKEN,
            names::WEBHOOK_URL,
        ])
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("lacks 2 secret(s)") && msg.contains("telegram.bot_token, webhook.url"),
        "{msg}"
    );
    assert!(!msg.contains("kalshi.key_id"), "{msg}");
    let err = v.require_str("custom.binary").unwrap_err();
    assert!(matches!(err, VaultError::NotUtf8 { .. }), "{err:?}");
}

fn opens_with(path: &Path, password: &str) -> Option<BTreeMap<String, Vec<u8>>> {
    Vault::open_with(path, &pw(password), &fast())
        .ok()
        .map(|v| contents(&v))
}

#[test]
fn rotation_killed_at_every_step_loses_nothing() {
    for point in FaultPoint::ALL {
        let (_dir, path) = make_vault();
        let mut v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
        let mut calls = Vec::new();
        let result = v.rotate_with(
            &pw(NEW_PW),
            KdfParams::insecure_for_tests(),
            &fast(),
            &mut |p| {
                calls.push(p);
                if p == point { Err(()) } else { Ok(()) }
            },
        );
        assert!(
            matches!(result, Err(VaultError::Interrupted { point: p }) if p == point),
            "{point:?}: {result:?}"
        );
        assert_eq!(calls.last(), Some(&point));

        let old = opens_with(&path, OLD_PW);
        let new = opens_with(&path, NEW_PW);
        let renamed = matches!(point, FaultPoint::Renamed | FaultPoint::DirSynced);
        if renamed {
            assert_eq!(
                new,
                Some(expected_contents()),
                "{point:?}: new password must open it"
            );
            assert_eq!(old, None, "{point:?}");
        } else {
            assert_eq!(
                old,
                Some(expected_contents()),
                "{point:?}: old password must still open it"
            );
            assert_eq!(new, None, "{point:?}");
        }
        assert_eq!(mode(&path), 0o600, "{point:?}");

        // The vault still in memory follows the disk: saving it again keeps
        // the password the file has now, never reverting a completed rename.
        v.save().unwrap();
        let current = if renamed { NEW_PW } else { OLD_PW };
        assert_eq!(
            opens_with(&path, current),
            Some(expected_contents()),
            "{point:?}"
        );

        // The leftover temporary file (if any) does not get in the way: the
        // operator reruns the rotation and it completes.
        let leftovers = leftover_temp_files(&path).unwrap();
        assert_eq!(leftovers.is_empty(), renamed, "{point:?}: {leftovers:?}");
        for l in &leftovers {
            assert_eq!(mode(l), 0o600, "leftover temp files must be private too");
        }
        let mut v = Vault::open_with(&path, &pw(current), &fast()).unwrap();
        v.rotate_with(
            &pw(NEW_PW),
            KdfParams::insecure_for_tests(),
            &fast(),
            &mut |_| Ok(()),
        )
        .unwrap();
        assert_eq!(
            opens_with(&path, NEW_PW),
            Some(expected_contents()),
            "{point:?}"
        );
    }
}

#[test]
fn save_killed_at_every_step_leaves_old_or_new_contents() {
    for point in FaultPoint::ALL {
        let (_dir, path) = make_vault();
        let mut v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
        v.set(
            names::TELEGRAM_BOT_TOKEN,
            SecretBytes::from_slice(b"123:ABC"),
        )
        .unwrap();
        let result = v.save_with_hook(&mut |p| if p == point { Err(()) } else { Ok(()) });
        assert!(
            matches!(result, Err(VaultError::Interrupted { .. })),
            "{point:?}"
        );
        let got = opens_with(&path, OLD_PW).expect("the password did not change");
        let mut with_new = expected_contents();
        with_new.insert(names::TELEGRAM_BOT_TOKEN.to_owned(), b"123:ABC".to_vec());
        let renamed = matches!(point, FaultPoint::Renamed | FaultPoint::DirSynced);
        assert_eq!(
            got,
            if renamed {
                with_new
            } else {
                expected_contents()
            },
            "{point:?}"
        );
    }
}

#[test]
fn dashboard_hash_round_trips_through_the_vault() {
    let (_dir, path) = make_vault();
    let mut v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
    let hash =
        orion_vault::hash_dashboard_password(&pw("dashboard secret 42"), KdfParams::default())
            .unwrap();
    v.set(names::DASHBOARD_PASSWORD_HASH, hash.into()).unwrap();
    v.save().unwrap();
    let v = Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
    let stored = v.require_str(names::DASHBOARD_PASSWORD_HASH).unwrap();
    assert!(orion_vault::verify_dashboard_password(stored, b"dashboard secret 42").unwrap());
    assert!(!orion_vault::verify_dashboard_password(stored, b"dashboard secret 43").unwrap());
}

#[test]
fn writers_are_serialised_by_the_lock() {
    let (_dir, path) = make_vault();
    let first = orion_vault::WriteLock::acquire(&path).unwrap();
    let err = orion_vault::WriteLock::acquire(&path).unwrap_err();
    assert!(matches!(err, VaultError::Busy { .. }), "{err:?}");
    assert!(err.to_string().contains("try again"), "{err}");
    assert_eq!(mode(first.path()), 0o600);
    drop(first);
    let _again = orion_vault::WriteLock::acquire(&path).unwrap();
    // The lock file is not mistaken for a leftover temporary file.
    assert!(leftover_temp_files(&path).unwrap().is_empty());
}

#[path = "vault/bad_input.rs"]
mod bad_input;
