//! `orion-admin sign ...`: print venue request signatures, to debug
//! "invalid signature" errors by comparing with what a venue or an official
//! client expects. Output is JSON on stdout; nothing is sent anywhere.
//!
//! All signing is done by `orion-exchanges`; this module only parses
//! arguments and prints.

use std::fs;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use orion_core::{Cash, Clock, Price, Quantity, Side, SystemClock, TickSize};
use orion_exchanges::kalshi::KalshiSigner;
use orion_exchanges::polymarket::{
    Address, ApiCredentials, B256, Chain, ExchangeDomain, MarketOrderAmount, OrderParams,
    OrderType, PolymarketWallet, PostOrderOptions, SignatureType, U256, l2_headers,
    limit_order_amounts, market_order_amounts, post_order_body, random_salt,
};
use orion_exchanges::secret::{SecretBytes, SecretString};

#[derive(Debug, Subcommand)]
pub enum SignCommand {
    /// Print the three KALSHI-ACCESS-* headers of one request, as JSON.
    #[command(after_help = KALSHI_EXAMPLE)]
    Kalshi(KalshiArgs),
    /// Print the exact POST /order JSON body of a signed Polymarket V2 order.
    #[command(name = "polymarket-order", after_help = ORDER_EXAMPLE)]
    PolymarketOrder(PolymarketOrderArgs),
    /// Print the five POLY_* L2 (HMAC) headers of one request, as JSON.
    #[command(name = "polymarket-l2", after_help = L2_EXAMPLE)]
    PolymarketL2(PolymarketL2Args),
}

const KALSHI_EXAMPLE: &str = "\
The signed message is TIMESTAMP + METHOD + PATH (query string cut). RSA-PSS is
randomized: the signature differs on every run; verify it, do not compare it.

Example:
  orion-admin sign kalshi --key-id a952bcbe-ec3b-4b5b-b8f9-11dae589608c \\
      --key kalshi.pem --method GET \\
      --path '/trade-api/v2/portfolio/orders?limit=5' --timestamp-ms 1703123456789";

const ORDER_EXAMPLE: &str = "\
Prints the body bytes exactly as they would be sent (and HMAC-signed) on
stdout, and the order id (the EIP-712 digest) on stderr.

Example (BUY 21.04 shares at 0.56 on a 0.01-tick market):
  orion-admin sign polymarket-order --private-key-file poly.key --chain-id 137 \\
      --token-id 71321045679252212594626385532706912750332728571942532289631379312455583992563 \\
      --side BUY --price 0.56 --size 21.04 --tick-size 0.01 \\
      --salt 3 --timestamp-ms 1710000000002 --owner 00000000-0000-0000-0000-000000000000";

const L2_EXAMPLE: &str = "\
The HMAC covers TIMESTAMP + METHOD + PATH + BODY; pass the body exactly as sent.

Example:
  orion-admin sign polymarket-l2 --address 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 \\
      --api-key 00000000-0000-0000-0000-000000000000 \\
      --secret AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= --passphrase PASSPHRASE \\
      --method GET --path /data/orders --timestamp 1710000000";

#[derive(Debug, Args)]
pub struct KalshiArgs {
    /// API key id (KALSHI-ACCESS-KEY).
    #[arg(long)]
    key_id: String,
    /// RSA private key, PKCS#1 or PKCS#8 PEM.
    #[arg(long, value_name = "FILE.pem")]
    key: PathBuf,
    /// HTTP method (GET, POST, DELETE, PUT).
    #[arg(long)]
    method: String,
    /// Request path from the host root (a query string or a full URL is fine; only the path is signed).
    #[arg(long)]
    path: String,
    /// Unix time in milliseconds [default: now].
    #[arg(long)]
    timestamp_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub struct PolymarketOrderArgs {
    /// File holding the hex private key of the signing EOA.
    #[arg(long, value_name = "FILE")]
    private_key_file: PathBuf,
    /// 137 (Polygon) or 80002 (Amoy).
    #[arg(long)]
    chain_id: u64,
    /// CLOB token id of the outcome (decimal).
    #[arg(long)]
    token_id: String,
    /// BUY or SELL.
    #[arg(long)]
    side: String,
    /// Limit price in dollars, on the market's tick (e.g. 0.56).
    #[arg(long)]
    price: String,
    /// Shares (truncated to 0.01). With --market: dollars to spend for BUY, shares for SELL.
    #[arg(long)]
    size: String,
    /// The market's tick size: 0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001.
    #[arg(long)]
    tick_size: String,
    /// Sign against the neg-risk exchange (for neg-risk markets).
    #[arg(long)]
    neg_risk: bool,
    /// 0 = EOA, 1 = POLY_PROXY, 2 = POLY_GNOSIS_SAFE, 3 = POLY_1271.
    #[arg(long, default_value_t = 0)]
    signature_type: u8,
    /// Proxy, Safe or deposit wallet holding the funds (required for types 1-3).
    #[arg(long, value_name = "ADDR")]
    funder: Option<String>,
    /// Order salt, at most 2^53-1 [default: random].
    #[arg(long)]
    salt: Option<u64>,
    /// Order creation time, Unix milliseconds [default: now].
    #[arg(long)]
    timestamp_ms: Option<u64>,
    /// Expiration, Unix seconds; only with GTD.
    #[arg(long, default_value_t = 0)]
    expiration: u64,
    /// GTC, GTD, FOK or FAK.
    #[arg(long, default_value = "GTC")]
    order_type: String,
    /// The L2 API key that owns the order.
    #[arg(long, default_value = "00000000-0000-0000-0000-000000000000")]
    owner: String,
    /// Post-only (GTC/GTD only).
    #[arg(long)]
    post_only: bool,
    /// Market-style amounts (TS getMarketOrderRawAmounts): --size is the BUY spend or SELL shares.
    #[arg(long)]
    market: bool,
    /// bytes32 metadata (0x + 64 hex).
    #[arg(long)]
    metadata: Option<String>,
    /// bytes32 builder code (0x + 64 hex).
    #[arg(long)]
    builder: Option<String>,
}

#[derive(Debug, Args)]
pub struct PolymarketL2Args {
    /// Address of the EOA the API key belongs to.
    #[arg(long)]
    address: String,
    /// L2 API key.
    #[arg(long)]
    api_key: String,
    /// L2 API secret (base64url); prefer the environment variable, which
    /// keeps it out of the process list and shell history.
    #[arg(long, env = "ORION_POLY_API_SECRET", hide_env_values = true)]
    secret: String,
    /// L2 API passphrase.
    #[arg(long, env = "ORION_POLY_API_PASSPHRASE", hide_env_values = true)]
    passphrase: String,
    /// HTTP method, used verbatim (upper case for real requests).
    #[arg(long)]
    method: String,
    /// Request path without the query string, e.g. /order.
    #[arg(long)]
    path: String,
    /// Request body exactly as sent.
    #[arg(long)]
    body: Option<String>,
    /// Unix time in seconds [default: now].
    #[arg(long)]
    timestamp: Option<u64>,
}

pub fn run(cmd: SignCommand) -> Result<(), String> {
    match cmd {
        SignCommand::Kalshi(args) => kalshi(args),
        SignCommand::PolymarketOrder(args) => polymarket_order(args),
        SignCommand::PolymarketL2(args) => polymarket_l2(args),
    }
}

fn now_ms() -> u64 {
    // The wall clock before 1970 would be a broken machine; 0 then.
    u64::try_from(SystemClock.now().millis()).unwrap_or(0)
}

fn json_error(e: serde_json::Error) -> String {
    format!("printing JSON: {e}")
}

fn kalshi(args: KalshiArgs) -> Result<(), String> {
    // Held in a zeroizing buffer: the PEM is the private key.
    let pem = SecretBytes::new(
        fs::read(&args.key).map_err(|e| format!("--key {}: {e}", args.key.display()))?,
    );
    let signer =
        KalshiSigner::from_pem(args.key_id, pem.expose()).map_err(|e| format!("--key: {e}"))?;
    let timestamp = args.timestamp_ms.unwrap_or_else(now_ms);
    let headers = signer
        .sign(timestamp, &args.method, &args.path)
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&headers).map_err(json_error)?
    );
    Ok(())
}

fn polymarket_order(args: PolymarketOrderArgs) -> Result<(), String> {
    let key_text = SecretString::new(fs::read_to_string(&args.private_key_file).map_err(|e| {
        format!(
            "--private-key-file {}: {e}",
            args.private_key_file.display()
        )
    })?);
    let wallet = PolymarketWallet::from_hex(key_text.expose())
        .map_err(|e| format!("--private-key-file: {e}"))?;
    let chain = Chain::from_id(args.chain_id).map_err(|e| format!("--chain-id: {e}"))?;
    let token_id = U256::from_dec_str(&args.token_id).map_err(|e| format!("--token-id: {e}"))?;
    let side = match args.side.to_ascii_uppercase().as_str() {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        _ => return Err("--side: expected BUY or SELL".into()),
    };
    let price = Price::parse(&args.price).map_err(|e| format!("--price: {e}"))?;
    let tick = TickSize::parse(&args.tick_size).map_err(|e| format!("--tick-size: {e}"))?;
    let amounts = if args.market {
        let amount = match side {
            Side::Buy => MarketOrderAmount::Buy {
                spend: Cash::parse(&args.size).map_err(|e| format!("--size: {e}"))?,
            },
            Side::Sell => MarketOrderAmount::Sell {
                shares: Quantity::parse(&args.size).map_err(|e| format!("--size: {e}"))?,
            },
        };
        market_order_amounts(price, amount, tick)
    } else {
        let size = Quantity::parse(&args.size).map_err(|e| format!("--size: {e}"))?;
        limit_order_amounts(side, price, size, tick)
    }
    .map_err(|e| e.to_string())?;
    let signature_type = SignatureType::from_code(args.signature_type)
        .map_err(|e| format!("--signature-type: {e}"))?;
    let funder = args
        .funder
        .as_deref()
        .map(|f| Address::parse(f, "funder"))
        .transpose()
        .map_err(|e| format!("--funder: {e}"))?;
    let bytes32 = |text: Option<&str>, field: &'static str| -> Result<B256, String> {
        text.map_or(Ok(B256::ZERO), |t| {
            B256::parse(t, field).map_err(|e| format!("--{field}: {e}"))
        })
    };
    let salt = match args.salt {
        Some(salt) => salt,
        None => random_salt().map_err(|e| e.to_string())?,
    };
    let params = OrderParams {
        token_id,
        side,
        amounts,
        signature_type,
        funder,
        salt,
        timestamp_ms: args.timestamp_ms.unwrap_or_else(now_ms),
        metadata: bytes32(args.metadata.as_deref(), "metadata")?,
        builder: bytes32(args.builder.as_deref(), "builder")?,
    };
    let domain = ExchangeDomain::v2(chain, args.neg_risk);
    let signed = params
        .build(wallet.address())
        .and_then(|order| order.sign(&wallet, &domain, args.expiration))
        .map_err(|e| e.to_string())?;
    let mut options = PostOrderOptions::new(
        OrderType::parse(&args.order_type).map_err(|e| format!("--order-type: {e}"))?,
    );
    options.post_only = Some(args.post_only);
    let body = post_order_body(&signed, &args.owner, &options).map_err(|e| e.to_string())?;
    let text = String::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    eprintln!("order id: {}", signed.order_id());
    println!("{text}");
    Ok(())
}

fn polymarket_l2(args: PolymarketL2Args) -> Result<(), String> {
    let address =
        Address::parse(&args.address, "address").map_err(|e| format!("--address: {e}"))?;
    let credentials = ApiCredentials::new(args.api_key, &args.secret, args.passphrase)
        .map_err(|e| e.to_string())?;
    let timestamp = args.timestamp.unwrap_or_else(|| now_ms() / 1000);
    let headers = l2_headers(
        &credentials,
        address,
        timestamp,
        &args.method,
        &args.path,
        args.body.as_deref().map(str::as_bytes),
    )
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&headers).map_err(json_error)?
    );
    Ok(())
}
