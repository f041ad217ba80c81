//! Masking for request/response logs: credentials, signatures and secrets
//! never reach a log line (DESIGN: reliability and security).

use http::HeaderMap;
use serde_json::Value;

/// Longest body text logged.
const MAX_LOGGED: usize = 2048;

/// Header names whose values are secret or identify the account.
pub fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "cookie"
        || n == "set-cookie"
        || n == "kalshi-access-key"
        || n == "kalshi-access-signature"
        || (n.starts_with("poly_") && n != "poly_timestamp" && n != "poly_nonce")
}

/// JSON keys whose values are masked wherever they appear.
pub fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "signature",
        "secret",
        "passphrase",
        "apikey",
        "api_key",
        "owner",
        "private",
        "password",
        "auth",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// `name: value` pairs with secrets replaced by `***`.
pub fn headers(h: &HeaderMap) -> String {
    h.iter()
        .map(|(k, v)| {
            if is_sensitive_header(k.as_str()) {
                format!("{k}: ***")
            } else {
                format!("{k}: {}", v.to_str().unwrap_or("<binary>"))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn mask_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_sensitive_key(k) {
                    *val = Value::String("***".into());
                } else {
                    mask_value(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_value),
        _ => {}
    }
}

/// A body for the log: JSON with sensitive keys masked, cut to 2 KiB;
/// anything else only by size (it could be anything).
pub fn body(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            mask_value(&mut v);
            let mut text = v.to_string();
            if text.len() > MAX_LOGGED {
                let mut cut = MAX_LOGGED;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push('…');
            }
            text
        }
        Err(_) => format!("<{} bytes, not JSON>", bytes.len()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        let mut h = HeaderMap::new();
        h.insert("KALSHI-ACCESS-SIGNATURE", "c2ln".parse().unwrap());
        h.insert("KALSHI-ACCESS-KEY", "key-id".parse().unwrap());
        h.insert("POLY_PASSPHRASE", "zzpass".parse().unwrap());
        h.insert("POLY_API_KEY", "zzkey".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        let s = headers(&h);
        for leaked in ["c2ln", "key-id", "zzpass", "zzkey"] {
            assert!(!s.contains(leaked), "{s}");
        }
        assert!(s.contains("application/json"));

        let b = br#"{"order":{"signature":"0xdead","salt":1},"owner":"k","apiKey":"a","secret":"s","passphrase":"p"}"#;
        let m = body(b);
        for leaked in ["0xdead", "\"k\"", "\"a\"", "\"s\"", "\"p\""] {
            assert!(!m.contains(leaked), "{m}");
        }
        assert!(m.contains("\"salt\":1"));
        assert_eq!(body(b"not json \xff"), "<10 bytes, not JSON>");
    }
}
