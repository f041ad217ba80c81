//! The vault reader's bad-input matrix: one row per malformed file, each
//! naming the mutation and the error it must produce. For every row the
//! open fails with that error (never a panic), the message carries a
//! fragment saying what is wrong, and nothing in the directory is written.
//!
//! Mutations that would only trip the header checksum are also applied
//! with the checksum recomputed (it is unkeyed, so an attacker can), to
//! reach the checks behind it: version, algorithm ids, KDF floor and
//! ceilings, the length field, the key check. Payload rows encrypt a bad
//! plaintext under the real key, to reach the decoder behind the AEAD.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use orion_vault::format::HEADER_LEN;
use orion_vault::{KdfParams, OpenPolicy, Vault, VaultError};
use sha2::{Digest, Sha256};

use super::{OLD_PW, fast, make_vault, pw};

// Header offsets (format.rs, version 1).
const VERSION: usize = 8;
const KDF: usize = 10;
const AEAD: usize = 11;
const MEMORY: usize = 12;
const ITERATIONS: usize = 16;
const PARALLELISM: usize = 20;
const SALT: usize = 24;
const NONCE: usize = 56;
const CT_LEN: usize = 80;
const CHECKSUM: usize = 88;
const KEY_CHECK: usize = 120;

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

/// Recomputes the unkeyed header checksum after a header edit.
fn fix_checksum(mut b: Vec<u8>) -> Vec<u8> {
    let sum: [u8; 32] = Sha256::digest(&b[..CHECKSUM]).into();
    b[CHECKSUM..KEY_CHECK].copy_from_slice(&sum);
    b
}

/// Edits the header and recomputes its checksum.
fn header_edit(b: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = b.to_vec();
    edit(&mut b);
    fix_checksum(b)
}

fn flip(b: &[u8], at: usize) -> Vec<u8> {
    let mut b = b.to_vec();
    b[at] ^= 0x10;
    b
}

/// Re-encrypts `plaintext` under the password's real keys (the test vault
/// uses `KdfParams::insecure_for_tests`), with a correct header, checksum,
/// key check and tag: only the payload decoder can object.
fn reseal(original: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let p = KdfParams::insecure_for_tests();
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, Some(64)).unwrap();
    let mut keys = [0u8; 64];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(OLD_PW.as_bytes(), &original[SALT..NONCE], &mut keys)
        .unwrap();
    let mut b = original[..HEADER_LEN].to_vec();
    let ct_len = (plaintext.len() + 16) as u64;
    b[CT_LEN..CHECKSUM].copy_from_slice(&ct_len.to_be_bytes());
    let mut b = fix_checksum(b);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&keys[32..]).unwrap();
    mac.update(&b[..KEY_CHECK]);
    let check: [u8; 32] = mac.finalize().into_bytes().into();
    b[KEY_CHECK..HEADER_LEN].copy_from_slice(&check);
    let cipher = XChaCha20Poly1305::new_from_slice(&keys[..32]).unwrap();
    let mut nonce = [0u8; 24];
    nonce.copy_from_slice(&original[NONCE..CT_LEN]);
    let nonce = XNonce::from(nonce);
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &b,
            },
        )
        .unwrap();
    b.extend_from_slice(&ct);
    b
}

/// A payload: version, count, then (name, value) entries, zero-padded to 256.
fn payload(version: u8, count: u32, entries: &[(&[u8], &[u8])], tail: &[u8]) -> Vec<u8> {
    let mut out = vec![version];
    out.extend_from_slice(&count.to_be_bytes());
    for (name, value) in entries {
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value);
    }
    out.extend_from_slice(tail);
    let padded = out.len().div_ceil(256).max(1) * 256;
    out.resize(padded, 0);
    out
}

#[derive(Clone, Copy)]
enum Expect {
    TooShort,
    BadMagic,
    HeaderCorrupted,
    UnsupportedVersion(u16),
    UnsupportedAlgorithm(&'static str, u8),
    InvalidKdf(&'static str),
    WeakKdf,
    LengthMismatch,
    TooLarge,
    WrongPassword,
    BodyModified,
    Payload(&'static str),
}

impl Expect {
    fn matches(self, e: &VaultError) -> bool {
        match (self, e) {
            (Expect::TooShort, VaultError::TooShort { .. })
            | (Expect::BadMagic, VaultError::BadMagic { .. })
            | (Expect::HeaderCorrupted, VaultError::HeaderCorrupted { .. })
            | (Expect::WeakKdf, VaultError::WeakKdfParams { .. })
            | (Expect::LengthMismatch, VaultError::LengthMismatch { .. })
            | (Expect::TooLarge, VaultError::TooLarge { .. })
            | (Expect::WrongPassword, VaultError::WrongPasswordOrModified { .. })
            | (Expect::BodyModified, VaultError::BodyModified { .. }) => true,
            (Expect::UnsupportedVersion(v), VaultError::UnsupportedVersion { found, .. }) => {
                *found == v
            }
            (
                Expect::UnsupportedAlgorithm(w, i),
                VaultError::UnsupportedAlgorithm { what, id, .. },
            ) => *what == w && *id == i,
            (Expect::InvalidKdf(r), VaultError::InvalidKdfParams { reason, .. }) => *reason == r,
            (Expect::Payload(d), VaultError::PayloadUnreadable { detail, .. }) => *detail == d,
            _ => false,
        }
    }
}

/// Turns the good file into the bad one.
type Mutation = Box<dyn Fn(&[u8]) -> Vec<u8>>;

struct Case {
    name: &'static str,
    mutate: Mutation,
    /// Open with the production policy (KDF floor enforced) instead of the
    /// test override.
    strict: bool,
    password: &'static str,
    expect: Expect,
    /// Said in the message, so an operator knows what is wrong.
    fragment: &'static str,
}

fn case(
    name: &'static str,
    mutate: impl Fn(&[u8]) -> Vec<u8> + 'static,
    expect: Expect,
    fragment: &'static str,
) -> Case {
    Case {
        name,
        mutate: Box::new(mutate),
        strict: false,
        password: OLD_PW,
        expect,
        fragment,
    }
}

fn cases(original: &[u8]) -> Vec<Case> {
    let body_len = original.len() - HEADER_LEN;
    let mut cases = vec![
        case("empty file", |_| Vec::new(), Expect::TooShort, "truncated"),
        case(
            "three bytes of the magic",
            |b| b[..3].to_vec(),
            Expect::TooShort,
            "shorter than a vault header",
        ),
        case(
            "wrong magic",
            |b| {
                let mut b = b.to_vec();
                b[..8].copy_from_slice(b"ORIONVLX");
                b
            },
            Expect::BadMagic,
            "signature",
        ),
        case(
            "a text file",
            |_| b"[engine]\nmode = \"live\"\n".repeat(10),
            Expect::BadMagic,
            "not a vault",
        ),
        case(
            "unknown version, checksum fixed",
            |b| {
                header_edit(b, |b| {
                    b[VERSION..VERSION + 2].copy_from_slice(&2u16.to_be_bytes())
                })
            },
            Expect::UnsupportedVersion(2),
            "version 2",
        ),
        case(
            "unknown version, checksum stale",
            |b| flip(b, VERSION + 1),
            Expect::HeaderCorrupted,
            "checksum",
        ),
        case(
            "unknown KDF id",
            |b| header_edit(b, |b| b[KDF] = 9),
            Expect::UnsupportedAlgorithm("key-derivation", 9),
            "id 9",
        ),
        case(
            "unknown AEAD id",
            |b| header_edit(b, |b| b[AEAD] = 0),
            Expect::UnsupportedAlgorithm("encryption", 0),
            "id 0",
        ),
        case(
            "KDF memory above the ceiling",
            |b| header_edit(b, |b| put_u32(b, MEMORY, u32::MAX)),
            Expect::InvalidKdf("memory above the maximum"),
            "memory above the maximum",
        ),
        case(
            "KDF iterations above the ceiling",
            |b| header_edit(b, |b| put_u32(b, ITERATIONS, 33)),
            Expect::InvalidKdf("iterations above the maximum"),
            "iterations above the maximum",
        ),
        case(
            "KDF parallelism above the ceiling",
            |b| header_edit(b, |b| put_u32(b, PARALLELISM, 17)),
            Expect::InvalidKdf("parallelism above the maximum"),
            "parallelism above the maximum",
        ),
        case(
            "KDF zero iterations",
            |b| header_edit(b, |b| put_u32(b, ITERATIONS, 0)),
            Expect::InvalidKdf("iterations and parallelism must be at least 1"),
            "at least 1",
        ),
        case(
            "KDF memory under 8 KiB per lane",
            |b| {
                header_edit(b, |b| {
                    put_u32(b, MEMORY, 8);
                    put_u32(b, PARALLELISM, 2);
                })
            },
            Expect::InvalidKdf("argon2 needs at least 8 KiB of memory per lane"),
            "per lane",
        ),
        case(
            "KDF parameters changed, checksum fixed",
            |b| header_edit(b, |b| put_u32(b, ITERATIONS, 2)),
            Expect::WrongPassword,
            "key-check",
        ),
        case(
            "salt changed, checksum fixed",
            |b| header_edit(b, |b| b[SALT] ^= 1),
            Expect::WrongPassword,
            "key-check",
        ),
        case(
            "nonce changed, checksum fixed",
            |b| header_edit(b, |b| b[NONCE + 23] ^= 1),
            Expect::WrongPassword,
            "key-check",
        ),
        case(
            "salt one byte longer (layout shifted)",
            |b| {
                let mut b = b.to_vec();
                b.insert(SALT, 0);
                b
            },
            Expect::HeaderCorrupted,
            "damaged",
        ),
        case(
            "nonce one byte shorter (layout shifted)",
            |b| {
                let mut b = b.to_vec();
                b.remove(NONCE);
                b
            },
            Expect::HeaderCorrupted,
            "damaged",
        ),
        case(
            "huge length field, checksum fixed",
            |b| {
                header_edit(b, |b| {
                    b[CT_LEN..CHECKSUM].copy_from_slice(&u64::MAX.to_be_bytes())
                })
            },
            Expect::LengthMismatch,
            "header says 18446744073709551615",
        ),
        case(
            "zero length field, checksum fixed",
            |b| header_edit(b, |b| b[CT_LEN..CHECKSUM].fill(0)),
            Expect::LengthMismatch,
            "truncated or has extra bytes",
        ),
        case(
            "flipped bit in the magic",
            |b| flip(b, 3),
            Expect::BadMagic,
            "signature",
        ),
        case(
            "flipped bit in the KDF parameters",
            |b| flip(b, MEMORY + 2),
            Expect::HeaderCorrupted,
            "checksum",
        ),
        case(
            "flipped bit in the checksum",
            |b| flip(b, CHECKSUM + 5),
            Expect::HeaderCorrupted,
            "checksum",
        ),
        case(
            "flipped bit in the key check",
            |b| flip(b, KEY_CHECK + 31),
            Expect::WrongPassword,
            "wrong password",
        ),
        case(
            "flipped bit in the ciphertext",
            |b| flip(b, HEADER_LEN),
            Expect::BodyModified,
            "fail authentication",
        ),
        case(
            "flipped bit in the tag",
            |b| {
                let last = b.len() - 1;
                flip(b, last)
            },
            Expect::BodyModified,
            "fail authentication",
        ),
        case(
            "trailing garbage",
            |b| [b, b"garbage".as_slice()].concat(),
            Expect::LengthMismatch,
            "extra bytes",
        ),
        case(
            "larger than any vault",
            |b| {
                let mut b = b.to_vec();
                b.resize(17 << 20, 0);
                b
            },
            Expect::TooLarge,
            "far larger than any vault",
        ),
        Case {
            name: "wrong password",
            mutate: Box::new(<[u8]>::to_vec),
            strict: false,
            password: "not the password at all",
            expect: Expect::WrongPassword,
            fragment: "wrong password",
        },
        Case {
            name: "KDF below the floor (production policy)",
            mutate: Box::new(<[u8]>::to_vec),
            strict: true,
            password: OLD_PW,
            expect: Expect::WeakKdf,
            fragment: "weaker than the minimum",
        },
        case(
            "payload: unknown payload version",
            |b| reseal(b, &payload(2, 0, &[], &[])),
            Expect::Payload("unknown payload version"),
            "could not be read",
        ),
        case(
            "payload: non-UTF-8 secret name",
            |b| reseal(b, &payload(1, 1, &[(b"kalshi.\xffkey", b"v")], &[])),
            Expect::Payload("secret name is not UTF-8"),
            "not UTF-8",
        ),
        case(
            "payload: names out of order",
            |b| reseal(b, &payload(1, 2, &[(b"b", b"1"), (b"a", b"2")], &[])),
            Expect::Payload("secret names out of order or repeated"),
            "out of order",
        ),
        case(
            "payload: count larger than the entries",
            |b| {
                // Unpadded, so the missing entries run past the end.
                let mut p = payload(1, u32::MAX, &[(b"a", b"1")], &[]);
                p.truncate(1 + 4 + 2 + 1 + 4 + 1);
                reseal(b, &p)
            },
            Expect::Payload("entry runs past the end"),
            "runs past the end",
        ),
        case(
            "payload: huge value length",
            |b| {
                let mut p = payload(1, 1, &[(b"a", b"")], &[]);
                p[5 + 2 + 1..5 + 2 + 1 + 4].copy_from_slice(&u32::MAX.to_be_bytes());
                reseal(b, &p)
            },
            Expect::Payload("entry runs past the end"),
            "runs past the end",
        ),
        case(
            "payload: non-zero padding",
            |b| reseal(b, &payload(1, 0, &[], b"\x01")),
            Expect::Payload("non-zero bytes after the last entry"),
            "non-zero bytes",
        ),
    ];
    // Truncated at every header field boundary and inside the ciphertext.
    for (name, len) in [
        ("truncated after the magic", VERSION),
        ("truncated after the version", KDF),
        ("truncated after the algorithm ids", MEMORY),
        ("truncated after the KDF parameters", SALT),
        ("truncated after the salt", NONCE),
        ("truncated after the nonce", CT_LEN),
        ("truncated after the length", CHECKSUM),
        ("truncated after the checksum", KEY_CHECK),
        ("truncated inside the key check", KEY_CHECK + 16),
    ] {
        cases.push(case(
            name,
            move |b| b[..len].to_vec(),
            Expect::TooShort,
            "shorter than a vault header",
        ));
    }
    for (name, len) in [
        ("truncated after the header", HEADER_LEN),
        ("truncated inside the ciphertext", HEADER_LEN + body_len / 2),
        ("truncated inside the tag", HEADER_LEN + body_len - 8),
    ] {
        cases.push(case(
            name,
            move |b| b[..len].to_vec(),
            Expect::LengthMismatch,
            "truncated",
        ));
    }
    cases
}

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn bad_vault_files_each_give_their_error_and_write_nothing() {
    let (dir, path) = make_vault();
    let original = fs::read(&path).unwrap();
    let cases = cases(&original);
    let mut failures = Vec::new();
    for c in &cases {
        let bytes = (c.mutate)(&original);
        fs::write(&path, &bytes).unwrap();
        let before = snapshot(dir.path());
        let policy = if c.strict {
            OpenPolicy::strict()
        } else {
            fast()
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Vault::open_with(&path, &pw(c.password), &policy)
        }));
        let after = snapshot(dir.path());
        let problem = match result {
            Err(_) => Some("panicked".to_string()),
            Ok(Ok(_)) => Some("opened".to_string()),
            Ok(Err(e)) if !c.expect.matches(&e) => Some(format!("wrong error: {e:?}")),
            Ok(Err(e)) if !e.to_string().contains(c.fragment) => {
                Some(format!("message lacks {:?}: {e}", c.fragment))
            }
            Ok(Err(e))
                if !e.to_string().contains(&path.display().to_string())
                    && !matches!(e, VaultError::InvalidKdfParams { .. }) =>
            {
                Some(format!("message lacks the path: {e}"))
            }
            Ok(Err(_)) => None,
        };
        if let Some(p) = problem {
            failures.push(format!("{}: {p}", c.name));
        }
        if before != after {
            failures.push(format!("{}: the directory changed", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 45, "{} cases", cases.len());
    // The untouched file still opens: the rows failed for their mutation.
    fs::write(&path, &original).unwrap();
    Vault::open_with(&path, &pw(OLD_PW), &fast()).unwrap();
}
