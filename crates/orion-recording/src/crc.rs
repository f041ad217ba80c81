//! The record checksum, CRC-32 (IEEE 802.3: reflected polynomial
//! 0xEDB88320, initial value and final xor all ones — the CRC `crc32fast`
//! computes, which the writer uses), computed eight bytes at a time with
//! tables built at compile time ("slicing by 8").
//!
//! Why not `crc32fast` on the read side too: records are ~30 bytes, where its
//! per-call set-up (CPU feature detection, dispatch, a separate call for the
//! tag byte) cost more than the checksum itself, and the reader checks every
//! record of every replay.

const POLY: u32 = 0xEDB8_8320;

/// `TABLES[0]` is the classic byte-at-a-time table; `TABLES[k][b]` is the
/// CRC contribution of byte `b` followed by `k` zero bytes.
static TABLES: [[u32; 256]; 8] = tables();

const fn tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 8 {
            let previous = t[k - 1][i];
            t[k][i] = (previous >> 8) ^ t[0][(previous & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    t
}

#[inline]
fn byte_step(crc: u32, byte: u8) -> u32 {
    (crc >> 8) ^ TABLES[0][((crc ^ u32::from(byte)) & 0xff) as usize]
}

/// CRC-32 of `tag` followed by `payload`: a record's checksum.
#[inline]
pub(crate) fn record_checksum(tag: u8, payload: &[u8]) -> u32 {
    let mut crc = byte_step(!0, tag);
    let mut chunks = payload.chunks_exact(8);
    for chunk in &mut chunks {
        let lo = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ crc;
        let hi = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        crc = TABLES[7][(lo & 0xff) as usize]
            ^ TABLES[6][((lo >> 8) & 0xff) as usize]
            ^ TABLES[5][((lo >> 16) & 0xff) as usize]
            ^ TABLES[4][(lo >> 24) as usize]
            ^ TABLES[3][(hi & 0xff) as usize]
            ^ TABLES[2][((hi >> 8) & 0xff) as usize]
            ^ TABLES[1][((hi >> 16) & 0xff) as usize]
            ^ TABLES[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = byte_step(crc, b);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn check_value_of_the_standard() {
        // The catalogued check value of CRC-32/ISO-HDLC over "123456789".
        assert_eq!(record_checksum(b'1', b"23456789"), 0xCBF4_3926);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Same checksum as the writer's `crc32fast` for every tag and payload
        /// length (short tails, whole 8-byte chunks, and both together).
        #[test]
        fn agrees_with_crc32fast(tag in any::<u8>(), payload in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut reference = crc32fast::Hasher::new();
            reference.update(&[tag]);
            reference.update(&payload);
            prop_assert_eq!(record_checksum(tag, &payload), reference.finalize());
        }
    }
}
