//! Key material the simulator verifies against. Written here rather than
//! borrowed from the clients so that a shared mistake cannot pass unnoticed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Extract the PKCS#1 `RSAPublicKey` DER that ring's RSA verifier wants from
/// a PEM: either `BEGIN RSA PUBLIC KEY` (already PKCS#1) or `BEGIN PUBLIC KEY`
/// (SubjectPublicKeyInfo, whose BIT STRING wraps the PKCS#1 structure).
pub fn rsa_public_key_der(pem: &str) -> Result<Vec<u8>, String> {
    let (label, der) = pem_decode(pem)?;
    match label.as_str() {
        "RSA PUBLIC KEY" => Ok(der),
        "PUBLIC KEY" => spki_to_pkcs1(&der),
        other => Err(format!("expected a public key PEM, found {other:?}")),
    }
}

fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), String> {
    let mut label = None;
    let mut body = String::new();
    for line in pem.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            label = rest.strip_suffix("-----").map(str::to_string);
            continue;
        }
        if line.starts_with("-----END ") {
            break;
        }
        if label.is_some() {
            body.push_str(line);
        }
    }
    let label = label.ok_or("no PEM BEGIN line")?;
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("PEM base64: {e}"))?;
    Ok((label, der))
}

/// Read one DER TLV at the start of `input`: (tag, contents, rest).
fn der_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, rest) = input.split_first().ok_or("DER: truncated")?;
    let (&first, mut rest) = rest.split_first().ok_or("DER: truncated length")?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("DER: bad length".into());
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err("DER: content shorter than its length".into());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
fn spki_to_pkcs1(der: &[u8]) -> Result<Vec<u8>, String> {
    const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (tag, spki, _) = der_tlv(der)?;
    if tag != 0x30 {
        return Err("SPKI: not a SEQUENCE".into());
    }
    let (tag, alg, rest) = der_tlv(spki)?;
    if tag != 0x30 {
        return Err("SPKI: algorithm is not a SEQUENCE".into());
    }
    let (tag, oid, _) = der_tlv(alg)?;
    if tag != 0x06 || oid != RSA_ENCRYPTION_OID {
        return Err("SPKI: not an rsaEncryption key".into());
    }
    let (tag, bits, _) = der_tlv(rest)?;
    if tag != 0x03 {
        return Err("SPKI: subjectPublicKey is not a BIT STRING".into());
    }
    match bits.split_first() {
        Some((0, key)) => Ok(key.to_vec()),
        _ => Err("SPKI: BIT STRING has unused bits".into()),
    }
}
