//! Chains, exchange contracts and the EIP-712 domains orders are signed in
//! (protocols §3).

use std::fmt;

use super::PolymarketError;
use super::primitives::{Address, keccak256, keccak256_parts};

/// The chains Polymarket's CLOB runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chain {
    /// Polygon mainnet.
    Polygon,
    /// Polygon Amoy testnet.
    Amoy,
}

impl Chain {
    pub const fn id(self) -> u64 {
        match self {
            Chain::Polygon => 137,
            Chain::Amoy => 80002,
        }
    }

    pub fn from_id(id: u64) -> Result<Chain, PolymarketError> {
        match id {
            137 => Ok(Chain::Polygon),
            80002 => Ok(Chain::Amoy),
            other => Err(PolymarketError::invalid(
                "chain id",
                format!("{other} is neither 137 (Polygon) nor 80002 (Amoy)"),
            )),
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id())
    }
}

/// Which exchange contract generation an order is signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExchangeVersion {
    /// CTF Exchange V2, domain version "2": what production accepts today.
    V2,
    /// Exchange V3, domain version "3": only for protocol-V2 position ids.
    V3,
    /// The legacy V1 exchange, domain version "1": for reading history only.
    V1Legacy,
}

impl ExchangeVersion {
    const fn domain_version(self) -> &'static str {
        match self {
            ExchangeVersion::V2 => "2",
            ExchangeVersion::V3 => "3",
            ExchangeVersion::V1Legacy => "1",
        }
    }
}

const fn addr(hex: [u8; 20]) -> Address {
    Address::from_bytes(hex)
}

// The contract addresses of protocols §3 (TS `src/config.ts`), as bytes so no
// parsing can fail at run time; a unit test checks each against its
// checksummed text.
const EXCHANGE_V2: Address = addr([
    0xe1, 0x11, 0x18, 0x00, 0x00, 0xd2, 0x66, 0x3c, 0x00, 0x91, 0xe4, 0xf4, 0x00, 0x23, 0x75, 0x45,
    0xb8, 0x7b, 0x99, 0x6b,
]);
const NEG_RISK_EXCHANGE_V2: Address = addr([
    0xe2, 0x22, 0x2d, 0x27, 0x9d, 0x74, 0x40, 0x50, 0xd2, 0x8e, 0x00, 0x52, 0x00, 0x10, 0x52, 0x00,
    0x00, 0x31, 0x0f, 0x59,
]);
const EXCHANGE_V3_POLYGON: Address = addr([
    0xe3, 0x33, 0x37, 0x00, 0xca, 0x9d, 0x93, 0x00, 0x3f, 0x00, 0xf0, 0xf7, 0x1f, 0x85, 0x15, 0x00,
    0x5f, 0x6c, 0x00, 0xaa,
]);
const EXCHANGE_V3_AMOY: Address = addr([
    0x9f, 0xe6, 0xe6, 0x14, 0x22, 0xad, 0xb6, 0xf6, 0x10, 0xd8, 0x59, 0x7f, 0x96, 0x84, 0xb1, 0x69,
    0x12, 0xd5, 0x0c, 0x3d,
]);
const EXCHANGE_V1_POLYGON: Address = addr([
    0x4b, 0xfb, 0x41, 0xd5, 0xb3, 0x57, 0x0d, 0xef, 0xd0, 0x3c, 0x39, 0xa9, 0xa4, 0xd8, 0xde, 0x6b,
    0xd8, 0xb8, 0x98, 0x2e,
]);
const EXCHANGE_V1_AMOY: Address = addr([
    0xdf, 0xe0, 0x2e, 0xb6, 0x73, 0x35, 0x38, 0xf8, 0xea, 0x35, 0xd5, 0x85, 0xaf, 0x8d, 0xe5, 0x95,
    0x8a, 0xd9, 0x9e, 0x40,
]);
const NEG_RISK_EXCHANGE_V1: Address = addr([
    0xc5, 0xd5, 0x63, 0xa3, 0x6a, 0xe7, 0x81, 0x45, 0xc4, 0x5a, 0x50, 0x13, 0x4d, 0x48, 0xa1, 0x21,
    0x52, 0x20, 0xf8, 0x0a,
]);

/// The name every exchange domain carries.
pub const EXCHANGE_DOMAIN_NAME: &str = "Polymarket CTF Exchange";

/// `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`
/// is computed, not hard-coded, so it cannot drift from the type string.
pub const EIP712_DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

/// An exchange's EIP-712 domain with its separator computed once.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ExchangeDomain {
    chain: Chain,
    version: ExchangeVersion,
    verifying_contract: Address,
    separator: [u8; 32],
}

impl ExchangeDomain {
    /// The domain an order is signed in: the V2 exchange, or the neg-risk V2
    /// exchange for neg-risk markets (signing a neg-risk order against the
    /// plain exchange yields an "invalid signature").
    pub fn v2(chain: Chain, neg_risk: bool) -> ExchangeDomain {
        let contract = if neg_risk {
            NEG_RISK_EXCHANGE_V2
        } else {
            EXCHANGE_V2
        };
        ExchangeDomain::new(chain, ExchangeVersion::V2, contract)
    }

    /// Exchange V3 (position-id orders only).
    pub fn v3(chain: Chain) -> ExchangeDomain {
        let contract = match chain {
            Chain::Polygon => EXCHANGE_V3_POLYGON,
            Chain::Amoy => EXCHANGE_V3_AMOY,
        };
        ExchangeDomain::new(chain, ExchangeVersion::V3, contract)
    }

    /// The legacy V1 exchanges, to check the hashes of historical orders.
    pub fn v1_legacy(chain: Chain, neg_risk: bool) -> ExchangeDomain {
        let contract = match (neg_risk, chain) {
            (true, _) => NEG_RISK_EXCHANGE_V1,
            (false, Chain::Polygon) => EXCHANGE_V1_POLYGON,
            (false, Chain::Amoy) => EXCHANGE_V1_AMOY,
        };
        ExchangeDomain::new(chain, ExchangeVersion::V1Legacy, contract)
    }

    /// Any exchange domain (for tests, or a contract announced before the
    /// addresses here are updated).
    pub fn new(
        chain: Chain,
        version: ExchangeVersion,
        verifying_contract: Address,
    ) -> ExchangeDomain {
        let mut chain_word = [0u8; 32];
        chain_word[24..].copy_from_slice(&chain.id().to_be_bytes());
        let separator = keccak256_parts(&[
            &keccak256(EIP712_DOMAIN_TYPE.as_bytes()),
            &keccak256(EXCHANGE_DOMAIN_NAME.as_bytes()),
            &keccak256(version.domain_version().as_bytes()),
            &chain_word,
            &verifying_contract.to_word(),
        ]);
        ExchangeDomain {
            chain,
            version,
            verifying_contract,
            separator,
        }
    }

    pub const fn chain(&self) -> Chain {
        self.chain
    }

    pub const fn version(&self) -> ExchangeVersion {
        self.version
    }

    pub const fn verifying_contract(&self) -> Address {
        self.verifying_contract
    }

    /// The EIP-712 domain separator.
    pub const fn separator(&self) -> [u8; 32] {
        self.separator
    }
}

impl fmt::Debug for ExchangeDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeDomain")
            .field("chain", &self.chain.id())
            .field("version", &self.version.domain_version())
            .field("verifying_contract", &self.verifying_contract)
            .finish()
    }
}

/// `keccak256(0x19 0x01 ‖ domainSeparator ‖ structHash)`: the EIP-712 digest.
pub fn eip712_digest(domain_separator: &[u8; 32], struct_hash: &[u8; 32]) -> [u8; 32] {
    keccak256_parts(&[&[0x19, 0x01], domain_separator, struct_hash])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn contract_bytes_match_the_published_addresses() {
        for (address, text) in [
            (EXCHANGE_V2, "0xE111180000d2663C0091e4f400237545B87B996B"),
            (
                NEG_RISK_EXCHANGE_V2,
                "0xe2222d279d744050d28e00520010520000310F59",
            ),
            (
                EXCHANGE_V3_POLYGON,
                "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
            ),
            (
                EXCHANGE_V3_AMOY,
                "0x9fE6e61422AdB6F610d8597F9684b16912D50C3D",
            ),
            (
                EXCHANGE_V1_POLYGON,
                "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E",
            ),
            (
                EXCHANGE_V1_AMOY,
                "0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40",
            ),
            (
                NEG_RISK_EXCHANGE_V1,
                "0xC5d563A36AE78145C45a50134d48A1215220f80a",
            ),
        ] {
            assert_eq!(address.to_checksum(), text);
        }
    }

    #[test]
    fn chain_ids() {
        assert_eq!(Chain::from_id(137), Ok(Chain::Polygon));
        assert_eq!(Chain::from_id(80002), Ok(Chain::Amoy));
        assert!(Chain::from_id(1).is_err());
    }
}
