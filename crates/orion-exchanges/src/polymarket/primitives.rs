//! The Ethereum value types EIP-712 hashing needs: 256-bit unsigned integers
//! parsed from decimal text, 20-byte addresses with EIP-55 checksums, 32-byte
//! words, and Keccak-256.
//!
//! Small and written here on purpose: the signing path should not pull in a
//! whole Ethereum stack, and the simulator checks our output with an
//! independent implementation.

use std::fmt;
use std::str::FromStr;

use sha3::{Digest, Keccak256};

use super::PolymarketError;

/// Keccak-256 of `data` (Ethereum's hash, not NIST SHA3-256).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// Keccak-256 over several slices, without concatenating them first.
pub fn keccak256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

// ---------------------------------------------------------------- U256

/// An unsigned 256-bit integer, as EIP-712 `uint256` encodes it.
///
/// Stored as four little-endian 64-bit limbs; only what signing needs is
/// implemented: decimal parsing and formatting, and the 32-byte big-endian
/// word.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct U256([u64; 4]);

impl U256 {
    pub const ZERO: U256 = U256([0; 4]);

    pub const fn from_u64(v: u64) -> U256 {
        U256([v, 0, 0, 0])
    }

    pub const fn from_u128(v: u128) -> U256 {
        // Splitting a u128 into its two 64-bit halves; the casts truncate on purpose.
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }

    /// Parses a plain decimal string: ASCII digits only, no sign, no
    /// separators, at most 78 digits (2^256 has 78), and no overflow.
    pub fn from_dec_str(text: &str) -> Result<U256, U256Error> {
        if text.is_empty() {
            return Err(U256Error::Empty);
        }
        if text.len() > 78 {
            return Err(U256Error::Overflow);
        }
        let mut limbs = [0u64; 4];
        for (position, byte) in text.bytes().enumerate() {
            if !byte.is_ascii_digit() {
                return Err(U256Error::InvalidCharacter { position });
            }
            let mut carry = u128::from(byte - b'0');
            for limb in &mut limbs {
                let v = u128::from(*limb) * 10 + carry;
                // Low 64 bits stay in the limb, the rest carries: truncation intended.
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                return Err(U256Error::Overflow);
            }
        }
        Ok(U256(limbs))
    }

    /// The 32-byte big-endian word EIP-712 and the ABI use.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            let start = 32 - 8 * (i + 1);
            out[start..start + 8].copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Divides in place by `divisor` (non-zero), returning the remainder.
    fn div_rem_small(&mut self, divisor: u64) -> u64 {
        let mut rem: u128 = 0;
        for limb in self.0.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*limb);
            // cur / divisor < 2^64 because rem < divisor: the cast cannot truncate.
            *limb = (cur / u128::from(divisor)) as u64;
            rem = cur % u128::from(divisor);
        }
        // rem < divisor <= u64::MAX.
        rem as u64
    }
}

impl fmt::Display for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        // Peel off 19 decimal digits at a time (10^19 < 2^64).
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut value = *self;
        let mut chunks = Vec::with_capacity(5);
        while !value.is_zero() {
            chunks.push(value.div_rem_small(CHUNK));
        }
        let mut out = String::with_capacity(80);
        for (i, chunk) in chunks.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&chunk.to_string());
            } else {
                out.push_str(&format!("{chunk:019}"));
            }
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U256({self})")
    }
}

impl FromStr for U256 {
    type Err = U256Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        U256::from_dec_str(s)
    }
}

impl From<u64> for U256 {
    fn from(v: u64) -> U256 {
        U256::from_u64(v)
    }
}

/// Why decimal text is not a `uint256`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum U256Error {
    #[error("empty number")]
    Empty,
    #[error("not a decimal digit at position {position}")]
    InvalidCharacter { position: usize },
    #[error("does not fit in 256 bits")]
    Overflow,
}

// ---------------------------------------------------------------- Address

/// A 20-byte Ethereum address. Displays in EIP-55 mixed-case checksum form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Address([u8; 20]);

impl Address {
    pub const ZERO: Address = Address([0; 20]);

    pub const fn from_bytes(bytes: [u8; 20]) -> Address {
        Address(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Parses `0x` + 40 hex digits. All-lower or all-upper input is accepted
    /// as is; mixed case must carry a valid EIP-55 checksum, which catches a
    /// mistyped funder address before an order is signed for it.
    pub fn parse(text: &str, field: &'static str) -> Result<Address, PolymarketError> {
        let invalid = |reason: &str| PolymarketError::invalid(field, reason);
        let hex_part = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .ok_or_else(|| invalid("an address starts with 0x"))?;
        if hex_part.len() != 40 {
            return Err(invalid("an address has 40 hex digits"));
        }
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(hex_part, &mut bytes)
            .map_err(|_| invalid("an address is hexadecimal"))?;
        let address = Address(bytes);
        let has_lower = hex_part.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = hex_part.bytes().any(|b| b.is_ascii_uppercase());
        if has_lower && has_upper && address.to_checksum()[2..] != *hex_part {
            return Err(invalid(
                "bad EIP-55 checksum (mixed-case address with a typo?)",
            ));
        }
        Ok(address)
    }

    /// The EIP-55 form: a hex letter is upper case when the matching nibble of
    /// keccak256(lower-case hex) is 8 or more.
    pub fn to_checksum(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = keccak256(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, ch) in lower.chars().enumerate() {
            let byte = hash[i / 2];
            let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
            if ch.is_ascii_alphabetic() && nibble >= 8 {
                out.push(ch.to_ascii_uppercase());
            } else {
                out.push(ch);
            }
        }
        out
    }

    /// The address left-padded to a 32-byte ABI word.
    pub fn to_word(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[12..].copy_from_slice(&self.0);
        out
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

// ---------------------------------------------------------------- B256

/// A 32-byte value (`bytes32`): order metadata, builder codes, hashes.
/// Displays as `0x` + 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct B256(pub [u8; 32]);

impl B256 {
    pub const ZERO: B256 = B256([0; 32]);

    /// Parses `0x` + exactly 64 hex digits.
    pub fn parse(text: &str, field: &'static str) -> Result<B256, PolymarketError> {
        let hex_part = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .ok_or_else(|| PolymarketError::invalid(field, "a bytes32 value starts with 0x"))?;
        if hex_part.len() != 64 {
            return Err(PolymarketError::invalid(
                field,
                "a bytes32 value has 64 hex digits",
            ));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes)
            .map_err(|_| PolymarketError::invalid(field, "a bytes32 value is hexadecimal"))?;
        Ok(B256(bytes))
    }
}

impl fmt::Display for B256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for B256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn u256_round_trips_decimal() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        for text in [
            "0",
            "1",
            "18446744073709551615",
            "18446744073709551616",
            "71321045679252212594626385532706912750332728571942532289631379312455583992563",
            max,
        ] {
            let v = U256::from_dec_str(text).unwrap();
            assert_eq!(v.to_string(), text);
        }
        let v = U256::from_dec_str(max).unwrap();
        assert_eq!(v.to_be_bytes(), [0xff; 32]);
        assert_eq!(U256::from_dec_str("007").unwrap().to_string(), "7");
        assert_eq!(U256::from_u64(256).to_be_bytes()[30..], [1, 0]);
    }

    #[test]
    fn u256_refuses_bad_text() {
        let too_big =
            "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(U256::from_dec_str(too_big), Err(U256Error::Overflow));
        assert_eq!(
            U256::from_dec_str(&"9".repeat(79)),
            Err(U256Error::Overflow)
        );
        assert_eq!(U256::from_dec_str(""), Err(U256Error::Empty));
        for bad in ["-1", "+1", "1.0", "0x10", " 1", "1e3"] {
            assert!(U256::from_dec_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn eip55_checksums() {
        // The EIP-55 reference examples.
        for text in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let a = Address::parse(text, "address").unwrap();
            assert_eq!(a.to_checksum(), text);
            assert_eq!(Address::parse(&text.to_lowercase(), "address").unwrap(), a);
        }
        // One flipped letter case in a mixed-case address is a typo.
        assert!(Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "maker").is_err());
        assert!(Address::parse("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "maker").is_err());
        assert!(Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", "maker").is_err());
        assert!(Address::parse("0xzzAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "maker").is_err());
    }

    #[test]
    fn keccak_of_empty_input() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(keccak256_parts(&[b"ab", b"c"]), keccak256(b"abc"));
    }
    proptest::proptest! {
        #[test]
        fn u256_matches_u128(v: u128) {
            let text = v.to_string();
            let parsed = U256::from_dec_str(&text).unwrap();
            proptest::prop_assert_eq!(parsed, U256::from_u128(v));
            proptest::prop_assert_eq!(parsed.to_string(), text);
            proptest::prop_assert_eq!(&parsed.to_be_bytes()[16..], &v.to_be_bytes()[..]);
        }

        #[test]
        fn u256_never_panics(text in "\\PC{0,90}") {
            let _ = U256::from_dec_str(&text);
        }

        #[test]
        fn address_checksum_round_trips(bytes: [u8; 20]) {
            let a = Address::from_bytes(bytes);
            let text = a.to_checksum();
            proptest::prop_assert_eq!(Address::parse(&text, "a").unwrap(), a);
            proptest::prop_assert_eq!(Address::parse(&text.to_lowercase(), "a").unwrap(), a);
        }

        #[test]
        fn address_parse_never_panics(text in "\\PC{0,50}") {
            let _ = Address::parse(&text, "a");
            let _ = B256::parse(&text, "b");
        }
    }
}
