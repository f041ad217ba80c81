//! The plaintext inside the AEAD: a versioned, length-prefixed list of
//! (name, secret) pairs, zero-padded to a multiple of [`PAD_BLOCK`] so the
//! file size does not reveal the exact length of each secret.
//!
//! ```text
//! u8      payload version = 1
//! u32 BE  entry count
//! entries, in strictly increasing name order:
//!   u16 BE name length, name (UTF-8), u32 BE value length, value
//! zero bytes up to the next multiple of PAD_BLOCK
//! ```
//!
//! A hand-written encoding rather than JSON: the encoder writes into one
//! buffer allocated at its final size, so no reallocation leaves a stray
//! unwiped copy of a secret in freed memory, and the whole buffer is wiped
//! after encryption.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::SecretBytes;

pub const PAYLOAD_VERSION: u8 = 1;
pub const PAD_BLOCK: usize = 256;

pub(crate) fn encode(
    secrets: &BTreeMap<String, SecretBytes>,
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let mut len = 1 + 4;
    for (name, value) in secrets {
        len += 2 + name.len() + 4 + value.len();
    }
    let padded = len.div_ceil(PAD_BLOCK).max(1) * PAD_BLOCK;
    let count = u32::try_from(secrets.len()).map_err(|_| "too many secrets")?;
    let mut out = Zeroizing::new(Vec::with_capacity(padded));
    out.push(PAYLOAD_VERSION);
    out.extend_from_slice(&count.to_be_bytes());
    for (name, value) in secrets {
        let name_len = u16::try_from(name.len()).map_err(|_| "secret name too long")?;
        let value_len = u32::try_from(value.len()).map_err(|_| "secret value too long")?;
        out.extend_from_slice(&name_len.to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&value_len.to_be_bytes());
        out.extend_from_slice(value.expose());
    }
    out.resize(padded, 0);
    debug_assert_eq!(out.capacity(), padded, "the buffer must never reallocate");
    Ok(out)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let slice = self
            .buf
            .get(self.pos..end)
            .ok_or("entry runs past the end")?;
        self.pos = end;
        Ok(slice)
    }

    fn u16(&mut self) -> Result<u16, &'static str> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

pub(crate) fn decode(buf: &[u8]) -> Result<BTreeMap<String, SecretBytes>, &'static str> {
    let mut r = Reader { buf, pos: 0 };
    let version = r.take(1)?[0];
    if version != PAYLOAD_VERSION {
        return Err("unknown payload version");
    }
    let count = r.u32()?;
    let mut out = BTreeMap::new();
    let mut previous: Option<&str> = None;
    for _ in 0..count {
        let name_len = usize::from(r.u16()?);
        let name =
            std::str::from_utf8(r.take(name_len)?).map_err(|_| "secret name is not UTF-8")?;
        if previous.is_some_and(|p| p >= name) {
            return Err("secret names out of order or repeated");
        }
        previous = Some(name);
        let value_len = usize::try_from(r.u32()?).map_err(|_| "length overflow")?;
        let value = r.take(value_len)?;
        out.insert(name.to_owned(), SecretBytes::from_slice(value));
    }
    if buf[r.pos..].iter().any(|&b| b != 0) {
        return Err("non-zero bytes after the last entry");
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn map(items: &[(&str, &[u8])]) -> BTreeMap<String, SecretBytes> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretBytes::from_slice(v)))
            .collect()
    }

    #[test]
    fn round_trip_and_padding() {
        let m = map(&[("a", b""), ("b.c", &[0, 1, 2, 255]), ("z", &[7; 600])]);
        let enc = encode(&m).unwrap();
        assert_eq!(enc.len() % PAD_BLOCK, 0);
        assert!(enc.len() > 600);
        assert_eq!(decode(&enc).unwrap(), m);
        let empty = encode(&BTreeMap::new()).unwrap();
        assert_eq!(empty.len(), PAD_BLOCK);
        assert!(decode(&empty).unwrap().is_empty());
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        let m = map(&[("alpha", b"one"), ("beta", b"two")]);
        let enc = encode(&m).unwrap();
        // Every truncation and every single-byte change either decodes to
        // something or is an error; none may panic.
        for len in 0..enc.len() {
            let _ = decode(&enc[..len]);
        }
        for i in 0..64 {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut b = enc.to_vec();
                b[i] = v;
                let _ = decode(&b);
            }
        }
        assert_eq!(decode(&[]), Err("entry runs past the end"));
        assert_eq!(decode(&[2, 0, 0, 0, 0]), Err("unknown payload version"));
        assert_eq!(
            decode(&[1, 0, 0, 0, 0, 0, 1]),
            Err("non-zero bytes after the last entry")
        );
        // count says two entries but only one is present
        let mut short = vec![1, 0, 0, 0, 2, 0, 1, b'a', 0, 0, 0, 0];
        assert_eq!(decode(&short), Err("entry runs past the end"));
        // same name twice
        short.extend_from_slice(&[0, 1, b'a', 0, 0, 0, 0]);
        assert_eq!(decode(&short), Err("secret names out of order or repeated"));
    }
}
