//! `orion-admin sign ...` run as a process on vector cases, its output
//! compared with what the official clients produced (fixtures in
//! `crates/orion-exchanges/tests/fixtures/`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/orion-exchanges/tests/fixtures")
}

fn vectors(name: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
}

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orion-admin"))
        .args(args)
        .env_remove("ORION_POLY_API_SECRET")
        .env_remove("ORION_POLY_API_PASSPHRASE")
        .output()
        .unwrap()
}

fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn case<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// A fixture number (0.56, 21.04) as the decimal text it was written as.
fn number_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a number: {other}"),
    }
}

#[test]
fn kalshi_headers_verify() {
    let v = vectors("kalshi_sig_vectors.json");
    let public = STANDARD
        .decode(
            v["key"]["public_key_pkcs1_rsapublickey_der_b64"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    for (i, c) in v["vectors"].as_array().unwrap().iter().enumerate() {
        let key = fixtures().join(if i % 2 == 0 {
            "kalshi_test_key_pkcs1.pem"
        } else {
            "kalshi_test_key_pkcs8.pem"
        });
        let out = admin(&[
            "sign",
            "kalshi",
            "--key-id",
            "a952bcbe-ec3b-4b5b-b8f9-11dae589608c",
            "--key",
            key.to_str().unwrap(),
            "--method",
            c["method"].as_str().unwrap(),
            "--path",
            c["request_path"].as_str().unwrap(),
            "--timestamp-ms",
            c["timestamp"].as_str().unwrap(),
        ]);
        let headers: Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
        assert_eq!(
            headers["KALSHI-ACCESS-KEY"],
            "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
        );
        assert_eq!(headers["KALSHI-ACCESS-TIMESTAMP"], c["timestamp"]);
        let signature = STANDARD
            .decode(headers["KALSHI-ACCESS-SIGNATURE"].as_str().unwrap())
            .unwrap();
        let message = c["signed_message"].as_str().unwrap();
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, &public)
            .verify(message.as_bytes(), &signature)
            .unwrap_or_else(|_| panic!("case {i}: signature does not verify over {message}"));
        assert!(
            UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, &public)
                .verify(b"another message", &signature)
                .is_err()
        );
    }
}

/// Runs `sign polymarket-order` with a case's inputs; returns stdout.
fn order_cli(top: &Value, c: &Value, dir: &tempfile::TempDir) -> Output {
    let key_file = dir.path().join("poly.key");
    fs::write(
        &key_file,
        format!("{}\n", top["private_key"].as_str().unwrap()),
    )
    .unwrap();
    let input = &c["input"];
    let order = &c["order"];
    let body = &c["post_order_body"];
    let market = input["market_order"].as_bool() == Some(true);
    let size = number_text(if market {
        &input["amount"]
    } else {
        &input["size"]
    });
    let price = number_text(&input["price"]);
    let sig_type = order["signatureType"].to_string();
    let mut args: Vec<String> = [
        "sign",
        "polymarket-order",
        "--private-key-file",
        key_file.to_str().unwrap(),
        "--chain-id",
        &c["chain_id"].to_string(),
        "--token-id",
        order["tokenId"].as_str().unwrap(),
        "--side",
        input["side"].as_str().unwrap(),
        "--price",
        &price,
        "--size",
        &size,
        "--tick-size",
        input["tick_size"].as_str().unwrap(),
        "--signature-type",
        &sig_type,
        "--salt",
        order["salt"].as_str().unwrap(),
        "--timestamp-ms",
        order["timestamp"].as_str().unwrap(),
        "--expiration",
        order["expiration_unsigned"].as_str().unwrap(),
        "--order-type",
        body["orderType"].as_str().unwrap(),
        "--owner",
        body["owner"].as_str().unwrap(),
        "--metadata",
        order["metadata"].as_str().unwrap(),
        "--builder",
        order["builder"].as_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if input["neg_risk"].as_bool() == Some(true) {
        args.push("--neg-risk".into());
    }
    if market {
        args.push("--market".into());
    }
    if body["postOnly"].as_bool() == Some(true) {
        args.push("--post-only".into());
    }
    if order["signatureType"] != 0 {
        args.push("--funder".into());
        args.push(order["maker"].as_str().unwrap().into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    admin(&refs)
}

#[test]
fn polymarket_order_bodies_match_byte_for_byte() {
    let v = vectors("polymarket_vectors.json");
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "v2_polygon_buy_0.01_eoa",
        "v2_polygon_sell_0.0001_safe",
        "v2_polygon_buy_0.001_proxy",
        "v2_polygon_negrisk_buy_0.01_safe_gtd_postonly",
        "v2_polygon_buy_0.01_eoa_builder_metadata",
        "v2_polygon_market_buy_fok_0.01_eoa",
        "v2_polygon_market_sell_fak_0.01_eoa",
        "v2_amoy_buy_0.01_eoa",
    ];
    for name in names {
        let c = case(&v, name);
        let out = order_cli(&v, c, &dir);
        let stdout = stdout_ok(&out);
        assert_eq!(
            stdout.trim_end(),
            c["post_order_body_compact"].as_str().unwrap(),
            "{name}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(c["order_hash_eip712_digest"].as_str().unwrap()),
            "{name}: order id missing from stderr: {stderr}"
        );
    }
}

#[test]
fn polymarket_l2_headers_match() {
    let v = vectors("polymarket_vectors.json");
    // The official HMAC example, through the CLI.
    let c = case(&v, "hmac_official_test_sign_spaced_body");
    let out = admin(&[
        "sign",
        "polymarket-l2",
        "--address",
        v["address"].as_str().unwrap(),
        "--api-key",
        "00000000-0000-0000-0000-000000000000",
        "--secret",
        c["secret"].as_str().unwrap(),
        "--passphrase",
        "pp",
        "--method",
        c["method"].as_str().unwrap(),
        "--path",
        c["request_path"].as_str().unwrap(),
        "--body",
        c["body"].as_str().unwrap(),
        "--timestamp",
        c["timestamp"].as_str().unwrap(),
    ]);
    let h: Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    assert_eq!(h["POLY_SIGNATURE"], c["signature"]);
    assert_eq!(h["POLY_PASSPHRASE"], "pp");

    // The headers of a real POST /order, all five compared; the address is
    // given in lower case and must come out checksummed.
    let c = case(&v, "v2_polygon_buy_0.01_eoa");
    let want = &c["l2_headers_for_post"];
    let out = admin(&[
        "sign",
        "polymarket-l2",
        "--address",
        &want["POLY_ADDRESS"].as_str().unwrap().to_lowercase(),
        "--api-key",
        want["POLY_API_KEY"].as_str().unwrap(),
        "--secret",
        want["_secret"].as_str().unwrap(),
        "--passphrase",
        want["POLY_PASSPHRASE"].as_str().unwrap(),
        "--method",
        "POST",
        "--path",
        "/order",
        "--body",
        c["post_order_body_compact"].as_str().unwrap(),
        "--timestamp",
        want["POLY_TIMESTAMP"].as_str().unwrap(),
    ]);
    let h: Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    for header in [
        "POLY_ADDRESS",
        "POLY_SIGNATURE",
        "POLY_TIMESTAMP",
        "POLY_API_KEY",
        "POLY_PASSPHRASE",
    ] {
        assert_eq!(h[header], want[header], "{header}");
    }
    assert_eq!(h.as_object().unwrap().len(), 5);
}

#[test]
fn bad_input_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("poly.key");
    fs::write(
        &key_file,
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    )
    .unwrap();
    let key = key_file.to_str().unwrap();
    let base = |price: &str, chain: &str| {
        admin(&[
            "sign",
            "polymarket-order",
            "--private-key-file",
            key,
            "--chain-id",
            chain,
            "--token-id",
            "1",
            "--side",
            "BUY",
            "--price",
            price,
            "--size",
            "10",
            "--tick-size",
            "0.01",
        ])
    };
    for (price, chain, field) in [
        ("0.565", "137", "price"),
        ("0.5", "1", "chain"),
        ("1", "137", "price"),
    ] {
        let out = base(price, chain);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(field), "{price}/{chain}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    // A key that is not hex is refused without echoing it.
    fs::write(&key_file, "not-a-key-zzzz").unwrap();
    let out = base("0.5", "137");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("private key") && !stderr.contains("zzzz"),
        "{stderr}"
    );
    // Help carries an example.
    let help = stdout_ok(&admin(&["sign", "polymarket-order", "--help"]));
    assert!(help.contains("Example"), "{help}");
}
