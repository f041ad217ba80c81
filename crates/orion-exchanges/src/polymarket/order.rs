//! CLOB V2 orders: the EIP-712 `Order` struct, its hash (the order id), its
//! signature, and the exact `POST /order` body (protocols §3 and §5).

use std::fmt;
use std::sync::LazyLock;

use orion_core::Side;
use serde::Serialize;

use super::PolymarketError;
use super::amounts::OrderAmounts;
use super::contracts::{ExchangeDomain, ExchangeVersion, eip712_digest};
use super::primitives::{Address, B256, U256, keccak256, keccak256_parts};
use super::wallet::PolymarketWallet;

/// The V2 (and V3) order type string; `expiration` is not signed in V2.
pub const ORDER_TYPE_STRING: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";

/// The legacy V1 order type string, for reading history only.
pub const ORDER_V1_TYPE_STRING: &str = "Order(uint256 salt,address maker,address signer,address taker,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint256 expiration,uint256 nonce,uint256 feeRateBps,uint8 side,uint8 signatureType)";

/// The ERC-1271 deposit-wallet wrapper type: `TypedDataSign` referencing
/// `Order`, encoded as EIP-712 requires (primary type, then referenced types).
const TYPED_DATA_SIGN_TYPE_STRING: &str = "TypedDataSign(Order contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)";

static ORDER_TYPEHASH: LazyLock<[u8; 32]> =
    LazyLock::new(|| keccak256(ORDER_TYPE_STRING.as_bytes()));
static ORDER_V1_TYPEHASH: LazyLock<[u8; 32]> =
    LazyLock::new(|| keccak256(ORDER_V1_TYPE_STRING.as_bytes()));
static TYPED_DATA_SIGN_TYPEHASH: LazyLock<[u8; 32]> = LazyLock::new(|| {
    keccak256_parts(&[
        TYPED_DATA_SIGN_TYPE_STRING.as_bytes(),
        ORDER_TYPE_STRING.as_bytes(),
    ])
});

/// `keccak256(ORDER_TYPE_STRING)`.
pub fn order_typehash() -> [u8; 32] {
    *ORDER_TYPEHASH
}

/// The largest salt the server reads exactly: it parses `salt` as a JSON
/// number, i.e. an IEEE double (2^53 - 1).
pub const MAX_SALT: u64 = (1 << 53) - 1;

/// Who signs for whose funds (protocols §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// The EOA trades its own funds: maker = signer = EOA.
    Eoa,
    /// A Polymarket proxy wallet: maker = proxy ("funder"), signer = EOA.
    PolyProxy,
    /// A Gnosis Safe: maker = Safe ("funder"), signer = EOA.
    PolyGnosisSafe,
    /// An ERC-1271 deposit wallet: maker = signer = the wallet; the EOA's
    /// signature is wrapped as the wallet contract expects.
    Poly1271,
}

impl SignatureType {
    pub const fn code(self) -> u8 {
        match self {
            SignatureType::Eoa => 0,
            SignatureType::PolyProxy => 1,
            SignatureType::PolyGnosisSafe => 2,
            SignatureType::Poly1271 => 3,
        }
    }

    pub fn from_code(code: u8) -> Result<SignatureType, PolymarketError> {
        match code {
            0 => Ok(SignatureType::Eoa),
            1 => Ok(SignatureType::PolyProxy),
            2 => Ok(SignatureType::PolyGnosisSafe),
            3 => Ok(SignatureType::Poly1271),
            other => Err(PolymarketError::invalid(
                "signature type",
                format!(
                    "{other} is not 0 (EOA), 1 (POLY_PROXY), 2 (POLY_GNOSIS_SAFE) or 3 (POLY_1271)"
                ),
            )),
        }
    }
}

/// Side as signed: 0 = BUY, 1 = SELL.
const fn side_code(side: Side) -> u8 {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

const fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn u8_word(v: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[31] = v;
    out
}

fn u64_word(v: u64) -> [u8; 32] {
    U256::from_u64(v).to_be_bytes()
}

/// The signed V2 order struct, field for field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub salt: u64,
    pub maker: Address,
    pub signer: Address,
    pub token_id: U256,
    pub maker_amount: U256,
    pub taker_amount: U256,
    pub side: Side,
    pub signature_type: SignatureType,
    /// Creation time in Unix milliseconds.
    pub timestamp_ms: u64,
    pub metadata: B256,
    pub builder: B256,
}

impl Order {
    /// `hashStruct(order)`.
    pub fn struct_hash(&self) -> [u8; 32] {
        keccak256_parts(&[
            ORDER_TYPEHASH.as_slice(),
            &u64_word(self.salt),
            &self.maker.to_word(),
            &self.signer.to_word(),
            &self.token_id.to_be_bytes(),
            &self.maker_amount.to_be_bytes(),
            &self.taker_amount.to_be_bytes(),
            &u8_word(side_code(self.side)),
            &u8_word(self.signature_type.code()),
            &u64_word(self.timestamp_ms),
            &self.metadata.0,
            &self.builder.0,
        ])
    }

    /// The EIP-712 digest in `domain`: this is the order id the venue reports
    /// and cancels by.
    pub fn digest(&self, domain: &ExchangeDomain) -> [u8; 32] {
        eip712_digest(&domain.separator(), &self.struct_hash())
    }

    /// Signs the order. For EOA, proxy and Safe orders the wallet must be the
    /// order's `signer`; for `POLY_1271` the EOA's signature over the
    /// deposit-wallet wrapper is packed with what the wallet contract needs
    /// to re-derive the digest.
    pub fn sign(
        self,
        wallet: &PolymarketWallet,
        domain: &ExchangeDomain,
        expiration_secs: u64,
    ) -> Result<SignedOrder, PolymarketError> {
        if domain.version() == ExchangeVersion::V1Legacy {
            return Err(PolymarketError::invalid(
                "exchange",
                "V2 orders cannot be signed in a legacy V1 domain",
            ));
        }
        let struct_hash = self.struct_hash();
        let order_id = eip712_digest(&domain.separator(), &struct_hash);
        let signature = match self.signature_type {
            SignatureType::Poly1271 => {
                let wrapper = keccak256_parts(&[
                    TYPED_DATA_SIGN_TYPEHASH.as_slice(),
                    &struct_hash,
                    &keccak256(b"DepositWallet"),
                    &keccak256(b"1"),
                    &u64_word(domain.chain().id()),
                    &self.maker.to_word(),
                    &[0u8; 32],
                ]);
                let inner = wallet.sign_digest(&eip712_digest(&domain.separator(), &wrapper))?;
                let type_len = u16::try_from(ORDER_TYPE_STRING.len())
                    .map_err(|_| PolymarketError::Signing("order type string too long".into()))?;
                let mut sig = Vec::with_capacity(65 + 64 + ORDER_TYPE_STRING.len() + 2);
                sig.extend_from_slice(&inner);
                sig.extend_from_slice(&domain.separator());
                sig.extend_from_slice(&struct_hash);
                sig.extend_from_slice(ORDER_TYPE_STRING.as_bytes());
                sig.extend_from_slice(&type_len.to_be_bytes());
                sig
            }
            _ => {
                if self.signer != wallet.address() {
                    return Err(PolymarketError::invalid(
                        "signer",
                        format!(
                            "order signer {} is not the signing key's address {}",
                            self.signer,
                            wallet.address()
                        ),
                    ));
                }
                wallet.sign_digest(&order_id)?.to_vec()
            }
        };
        Ok(SignedOrder {
            order: self,
            expiration_secs,
            signature,
            order_id,
        })
    }
}

/// What Orion decides about an order; [`OrderParams::build`] turns it into
/// the signed struct, applying the maker/signer rules of each signature type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderParams {
    pub token_id: U256,
    pub side: Side,
    pub amounts: OrderAmounts,
    pub signature_type: SignatureType,
    /// The proxy, Safe or deposit wallet holding the funds; `None` for EOA.
    pub funder: Option<Address>,
    pub salt: u64,
    pub timestamp_ms: u64,
    pub metadata: B256,
    pub builder: B256,
}

impl OrderParams {
    /// The order struct for the EOA `signer`.
    pub fn build(&self, signer: Address) -> Result<Order, PolymarketError> {
        if self.salt > MAX_SALT {
            return Err(PolymarketError::invalid(
                "salt",
                format!(
                    "{} exceeds 2^53-1, which the server cannot read exactly",
                    self.salt
                ),
            ));
        }
        let (maker, signer) = match (self.signature_type, self.funder) {
            (SignatureType::Eoa, None) => (signer, signer),
            (SignatureType::Eoa, Some(funder)) if funder == signer => (signer, signer),
            (SignatureType::Eoa, Some(funder)) => {
                return Err(PolymarketError::invalid(
                    "funder",
                    format!(
                        "an EOA order trades the signer's own funds; funder {funder} differs from {signer}"
                    ),
                ));
            }
            (SignatureType::PolyProxy | SignatureType::PolyGnosisSafe, Some(funder)) => {
                (funder, signer)
            }
            (SignatureType::Poly1271, Some(wallet)) => (wallet, wallet),
            (_, None) => {
                return Err(PolymarketError::invalid(
                    "funder",
                    "signature types 1, 2 and 3 need the funder (proxy, Safe or deposit wallet) address",
                ));
            }
        };
        Ok(Order {
            salt: self.salt,
            maker,
            signer,
            token_id: self.token_id,
            maker_amount: U256::from_u128(self.amounts.maker_amount),
            taker_amount: U256::from_u128(self.amounts.taker_amount),
            side: self.side,
            signature_type: self.signature_type,
            timestamp_ms: self.timestamp_ms,
            metadata: self.metadata,
            builder: self.builder,
        })
    }
}

/// A signed order, ready for [`post_order_body`].
#[derive(Clone, PartialEq, Eq)]
pub struct SignedOrder {
    // Private so the order cannot be changed after signing, which would make
    // the signature and the order id lie.
    order: Order,
    expiration_secs: u64,
    signature: Vec<u8>,
    order_id: [u8; 32],
}

impl SignedOrder {
    /// Reassembles a signed order from its parts (a journaled order being
    /// re-sent byte for byte, or a signature made elsewhere). The order id is
    /// recomputed from `domain`; the signature is taken as given, since only
    /// the venue can check it for proxy, Safe and 1271 makers.
    pub fn from_parts(
        order: Order,
        domain: &ExchangeDomain,
        expiration_secs: u64,
        signature: Vec<u8>,
    ) -> Result<SignedOrder, PolymarketError> {
        if signature.len() < 65 {
            return Err(PolymarketError::invalid(
                "signature",
                "shorter than 65 bytes",
            ));
        }
        let order_id = order.digest(domain);
        Ok(SignedOrder {
            order,
            expiration_secs,
            signature,
            order_id,
        })
    }

    /// The signed struct.
    pub fn order(&self) -> &Order {
        &self.order
    }

    /// Unix seconds; 0 unless GTD. Sent, but not signed, in V2.
    pub fn expiration_secs(&self) -> u64 {
        self.expiration_secs
    }

    /// The EIP-712 digest: the venue's order id.
    pub fn order_id(&self) -> B256 {
        B256(self.order_id)
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// `0x`-hex signature as sent.
    pub fn signature_hex(&self) -> String {
        format!("0x{}", hex::encode(&self.signature))
    }
}

impl fmt::Debug for SignedOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Signatures are masked in logs (DESIGN: reliability and security).
        f.debug_struct("SignedOrder")
            .field("order", &self.order)
            .field("expiration_secs", &self.expiration_secs)
            .field("order_id", &self.order_id())
            .field("signature", &"***")
            .finish()
    }
}

/// The venue's time-in-force names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum OrderType {
    /// Good till cancelled.
    #[serde(rename = "GTC")]
    Gtc,
    /// Good till date (`expiration`).
    #[serde(rename = "GTD")]
    Gtd,
    /// Fill or kill.
    #[serde(rename = "FOK")]
    Fok,
    /// Fill and kill: fill what is available, cancel the rest.
    #[serde(rename = "FAK")]
    Fak,
}

impl OrderType {
    pub fn parse(text: &str) -> Result<OrderType, PolymarketError> {
        match text.to_ascii_uppercase().as_str() {
            "GTC" => Ok(OrderType::Gtc),
            "GTD" => Ok(OrderType::Gtd),
            "FOK" => Ok(OrderType::Fok),
            "FAK" => Ok(OrderType::Fak),
            _ => Err(PolymarketError::invalid(
                "order type",
                "expected GTC, GTD, FOK or FAK",
            )),
        }
    }
}

/// Body-level options of `POST /order`.
///
/// The TS and Python clients always send `deferExec` and `postOnly`; the
/// Rust client omits them when unset (`None` here omits the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostOrderOptions {
    pub order_type: OrderType,
    pub defer_exec: Option<bool>,
    pub post_only: Option<bool>,
}

impl PostOrderOptions {
    /// Both flags sent as `false`, as TS and PY do.
    pub fn new(order_type: OrderType) -> PostOrderOptions {
        PostOrderOptions {
            order_type,
            defer_exec: Some(false),
            post_only: Some(false),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireOrder<'a> {
    salt: u64,
    maker: String,
    signer: String,
    token_id: String,
    maker_amount: String,
    taker_amount: String,
    side: &'static str,
    expiration: String,
    signature_type: u8,
    timestamp: String,
    metadata: String,
    builder: String,
    signature: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireBody<'a> {
    order: WireOrder<'a>,
    owner: &'a str,
    order_type: OrderType,
    #[serde(skip_serializing_if = "Option::is_none")]
    defer_exec: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_only: Option<bool>,
}

/// The exact `POST /order` body bytes: serialise once, then send these bytes
/// and HMAC-sign these same bytes (the L2 signature covers them verbatim).
///
/// `owner` is the L2 API key. Key order follows the official TS/PY clients.
pub fn post_order_body(
    signed: &SignedOrder,
    owner: &str,
    options: &PostOrderOptions,
) -> Result<Vec<u8>, PolymarketError> {
    let o = &signed.order;
    if o.salt > MAX_SALT {
        return Err(PolymarketError::invalid("salt", "exceeds 2^53-1"));
    }
    if owner.is_empty() {
        return Err(PolymarketError::invalid("owner", "the API key is empty"));
    }
    if signed.expiration_secs != 0 && options.order_type != OrderType::Gtd {
        return Err(PolymarketError::invalid(
            "expiration",
            "a non-zero expiration needs order type GTD",
        ));
    }
    if options.post_only == Some(true)
        && !matches!(options.order_type, OrderType::Gtc | OrderType::Gtd)
    {
        return Err(PolymarketError::invalid(
            "postOnly",
            "post-only applies to resting orders (GTC or GTD) only",
        ));
    }
    let signature = signed.signature_hex();
    let body = WireBody {
        order: WireOrder {
            salt: o.salt,
            maker: o.maker.to_checksum(),
            signer: o.signer.to_checksum(),
            token_id: o.token_id.to_string(),
            maker_amount: o.maker_amount.to_string(),
            taker_amount: o.taker_amount.to_string(),
            side: side_text(o.side),
            expiration: signed.expiration_secs.to_string(),
            signature_type: o.signature_type.code(),
            timestamp: o.timestamp_ms.to_string(),
            metadata: o.metadata.to_string(),
            builder: o.builder.to_string(),
            signature: &signature,
        },
        owner,
        order_type: options.order_type,
        defer_exec: options.defer_exec,
        post_only: options.post_only,
    };
    serde_json::to_vec(&body)
        .map_err(|e| PolymarketError::Signing(format!("serialising the body: {e}")))
}

/// A legacy V1 order, hashed and signed only to check historical orders and
/// their ids; production no longer accepts V1, so there is no body for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyOrderV1 {
    pub salt: U256,
    pub maker: Address,
    pub signer: Address,
    pub taker: Address,
    pub token_id: U256,
    pub maker_amount: U256,
    pub taker_amount: U256,
    pub expiration: U256,
    pub nonce: U256,
    pub fee_rate_bps: U256,
    pub side: Side,
    pub signature_type: SignatureType,
}

impl LegacyOrderV1 {
    pub fn struct_hash(&self) -> [u8; 32] {
        keccak256_parts(&[
            ORDER_V1_TYPEHASH.as_slice(),
            &self.salt.to_be_bytes(),
            &self.maker.to_word(),
            &self.signer.to_word(),
            &self.taker.to_word(),
            &self.token_id.to_be_bytes(),
            &self.maker_amount.to_be_bytes(),
            &self.taker_amount.to_be_bytes(),
            &self.expiration.to_be_bytes(),
            &self.nonce.to_be_bytes(),
            &self.fee_rate_bps.to_be_bytes(),
            &u8_word(side_code(self.side)),
            &u8_word(self.signature_type.code()),
        ])
    }

    pub fn digest(&self, domain: &ExchangeDomain) -> Result<[u8; 32], PolymarketError> {
        if domain.version() != ExchangeVersion::V1Legacy {
            return Err(PolymarketError::invalid(
                "exchange",
                "a V1 order needs a V1 domain",
            ));
        }
        Ok(eip712_digest(&domain.separator(), &self.struct_hash()))
    }

    /// The 65-byte signature, to compare with a historical record.
    pub fn sign(
        &self,
        wallet: &PolymarketWallet,
        domain: &ExchangeDomain,
    ) -> Result<[u8; 65], PolymarketError> {
        wallet.sign_digest(&self.digest(domain)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn typehash_is_the_published_constant() {
        assert_eq!(
            hex::encode(order_typehash()),
            "bb86318a2138f5fa8ae32fbe8e659f8fcf13cc6ae4014a707893055433818589"
        );
        assert_eq!(ORDER_TYPE_STRING.len(), 186);
    }

    fn params() -> OrderParams {
        OrderParams {
            token_id: U256::from_u64(1234),
            side: Side::Buy,
            amounts: OrderAmounts {
                maker_amount: 5_000_000,
                taker_amount: 10_000_000,
            },
            signature_type: SignatureType::Eoa,
            funder: None,
            salt: 1,
            timestamp_ms: 1_710_000_000_000,
            metadata: B256::ZERO,
            builder: B256::ZERO,
        }
    }

    #[test]
    fn maker_and_signer_follow_the_signature_type() {
        let eoa = Address::from_bytes([0xaa; 20]);
        let funder = Address::from_bytes([0xbb; 20]);
        let o = params().build(eoa).unwrap();
        assert_eq!((o.maker, o.signer), (eoa, eoa));
        let mut p = params();
        p.signature_type = SignatureType::PolyGnosisSafe;
        assert!(p.build(eoa).is_err(), "a Safe order needs its funder");
        p.funder = Some(funder);
        let o = p.build(eoa).unwrap();
        assert_eq!((o.maker, o.signer), (funder, eoa));
        p.signature_type = SignatureType::Poly1271;
        let o = p.build(eoa).unwrap();
        assert_eq!((o.maker, o.signer), (funder, funder));
        p.signature_type = SignatureType::Eoa;
        assert!(p.build(eoa).is_err(), "an EOA order with a foreign funder");
        let mut p = params();
        p.salt = MAX_SALT + 1;
        assert!(p.build(eoa).is_err());
    }

    #[test]
    fn body_rules() {
        let wallet = PolymarketWallet::from_hex(
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        )
        .unwrap();
        let domain = ExchangeDomain::v2(super::super::Chain::Polygon, false);
        let signed = params()
            .build(wallet.address())
            .unwrap()
            .sign(&wallet, &domain, 0)
            .unwrap();
        let mut opts = PostOrderOptions::new(OrderType::Fok);
        assert!(post_order_body(&signed, "key", &opts).is_ok());
        assert!(post_order_body(&signed, "", &opts).is_err());
        opts.post_only = Some(true);
        assert!(post_order_body(&signed, "key", &opts).is_err());
        let gtd = params()
            .build(wallet.address())
            .unwrap()
            .sign(&wallet, &domain, 1_900_000_000)
            .unwrap();
        assert!(post_order_body(&gtd, "key", &PostOrderOptions::new(OrderType::Gtc)).is_err());
        assert!(post_order_body(&gtd, "key", &PostOrderOptions::new(OrderType::Gtd)).is_ok());
        // Signing with a key that is not the order's signer is refused.
        let mut foreign = params().build(Address::from_bytes([1; 20])).unwrap();
        foreign.signature_type = SignatureType::Eoa;
        assert!(foreign.sign(&wallet, &domain, 0).is_err());
        assert!(format!("{signed:?}").contains("***"));
    }
}
