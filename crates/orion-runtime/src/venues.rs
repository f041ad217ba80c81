//! Venue clients and streams from the configuration and credentials.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use orion_config::Config;
use orion_core::Clock;
use orion_exchanges::kalshi::KalshiSigner;
use orion_exchanges::kalshi::rest::{
    KalshiClient, KalshiConfig, KalshiGateway, KalshiRequestSigner,
};
use orion_exchanges::kalshi::ws::{KalshiWs, KalshiWsConfig};
use orion_exchanges::polymarket::rest::{
    L2Signer, PolymarketClient, PolymarketConfig, PolymarketGateway,
};
use orion_exchanges::polymarket::ws::{PolymarketWs, PolymarketWsConfig};
use orion_exchanges::polymarket::{Address, Chain, PolymarketWallet, SignatureType};

/// What the venues need to authenticate. `Debug` never shows the keys.
#[derive(Clone)]
pub struct Credentials {
    pub kalshi_key_id: String,
    /// PEM (PKCS#1 or PKCS#8).
    pub kalshi_private_key_pem: Vec<u8>,
    /// Hex secp256k1 key of the Polymarket signing wallet.
    pub polymarket_private_key: String,
    /// The Polymarket funder (proxy wallet or Safe) that holds the funds
    /// when orders are signed with signature type 1 or 2: it becomes each
    /// order's `maker`, the signing key's address its `signer`. Not secret,
    /// but kept in the vault beside the key it belongs to.
    pub polymarket_funder: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("kalshi_key_id", &self.kalshi_key_id)
            .field("kalshi_private_key_pem", &"***")
            .field("polymarket_private_key", &"***")
            .field("polymarket_funder", &self.polymarket_funder)
            .finish()
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        // Best effort: overwrite key material before the memory is freed.
        self.kalshi_private_key_pem.fill(0);
        let n = self.polymarket_private_key.len();
        self.polymarket_private_key.clear();
        self.polymarket_private_key
            .extend(std::iter::repeat_n('0', n));
    }
}

/// The connected venues.
#[derive(Debug, Clone)]
pub struct VenueClients {
    pub kalshi: Arc<KalshiGateway>,
    pub kalshi_signer: Arc<KalshiRequestSigner>,
    pub polymarket: Arc<PolymarketGateway>,
}

fn chain(id: u64) -> Result<Chain, String> {
    match id {
        137 => Ok(Chain::Polygon),
        80002 => Ok(Chain::Amoy),
        other => Err(format!("unsupported Polymarket chain id {other}")),
    }
}

fn signature_type(code: u8) -> Result<SignatureType, String> {
    match code {
        0 => Ok(SignatureType::Eoa),
        1 => Ok(SignatureType::PolyProxy),
        2 => Ok(SignatureType::PolyGnosisSafe),
        other => Err(format!("unsupported Polymarket signature type {other}")),
    }
}

/// The funder address a signature type needs: none for an EOA (which
/// trades its own funds), required for a proxy wallet or a Safe.
pub fn polymarket_funder(
    signature_type: SignatureType,
    funder: Option<&str>,
) -> Result<Option<Address>, String> {
    match signature_type {
        SignatureType::PolyProxy | SignatureType::PolyGnosisSafe => {
            let what = if signature_type == SignatureType::PolyProxy {
                "1 (POLY_PROXY): orders are funded by the Polymarket proxy wallet"
            } else {
                "2 (POLY_GNOSIS_SAFE): orders are funded by the Gnosis Safe"
            };
            let text = funder.map(str::trim).filter(|f| !f.is_empty()).ok_or_else(|| {
                format!(
                    "Polymarket signature_type {what}, and no funder address is set: store the 0x address in the vault \
                     under the name venues.polymarket.funder_secret gives (default polymarket.funder_address)"
                )
            })?;
            Address::parse(text, "funder")
                .map(Some)
                .map_err(|e| format!("Polymarket funder address {text:?}: {e}"))
        }
        // An EOA trades its own funds; a funder stored anyway is not used.
        _ => Ok(None),
    }
}

/// Builds both REST gateways; Polymarket's L2 credentials are created or
/// derived with the wallet (L1 auth), so the wallet key is the only
/// Polymarket secret the engine needs.
pub async fn connect(
    config: &Config,
    credentials: &Credentials,
    clock: Arc<dyn Clock>,
) -> Result<VenueClients, String> {
    let signer = KalshiSigner::from_pem(
        credentials.kalshi_key_id.clone(),
        &credentials.kalshi_private_key_pem,
    )
    .map_err(|e| format!("Kalshi key: {e}"))?;
    let kalshi_signer = Arc::new(KalshiRequestSigner::new(signer, clock.clone()));
    let mut kconfig = KalshiConfig::for_tier(config.kalshi.rest_url.clone(), config.kalshi.tier);
    let timeout = Duration::from_millis(config.kalshi.request_timeout_ms);
    kconfig.read_timeout = timeout;
    kconfig.write_timeout = timeout;
    let client = KalshiClient::new(&kconfig, Some(kalshi_signer.clone()))
        .map_err(|e| format!("Kalshi client: {e}"))?;
    let kalshi = Arc::new(KalshiGateway::new(client, clock.clone()));

    let signature = signature_type(config.polymarket.signature_type)?;
    // Checked before any connection: a proxy or Safe signer without its
    // funder could only sign orders the venue refuses.
    let funder = polymarket_funder(signature, credentials.polymarket_funder.as_deref())?;
    let wallet = Arc::new(
        PolymarketWallet::from_hex(&credentials.polymarket_private_key)
            .map_err(|e| format!("Polymarket key: {e}"))?,
    );
    let pconfig = PolymarketConfig::new(
        config.polymarket.clob_url.clone(),
        config.polymarket.gamma_url.clone(),
        chain(config.polymarket.chain_id)?,
    );
    let public = PolymarketClient::new(&pconfig).map_err(|e| format!("Polymarket client: {e}"))?;
    let creds = public
        .create_or_derive_api_key(wallet.clone(), 0, clock.clone())
        .await
        .map_err(|e| format!("Polymarket API key: {e}"))?;
    let l2 = Arc::new(L2Signer::new(
        creds.clone(),
        wallet.address(),
        clock.clone(),
    ));
    let client = PolymarketClient::new(&pconfig)
        .map_err(|e| format!("Polymarket client: {e}"))?
        .authenticated(l2);
    let polymarket = Arc::new(PolymarketGateway::new(
        client, wallet, &creds, signature, funder, clock,
    ));
    polymarket
        .refresh_version()
        .await
        .map_err(|e| format!("Polymarket version: {e}"))?;
    Ok(VenueClients {
        kalshi,
        kalshi_signer,
        polymarket,
    })
}

/// Both venues' book streams.
pub fn streams(
    config: &Config,
    clients: &VenueClients,
    clock: Arc<dyn Clock>,
) -> (KalshiWs, PolymarketWs) {
    let kalshi = KalshiWs::start(
        KalshiWsConfig::new(config.kalshi.ws_url.clone()),
        clients.kalshi_signer.clone(),
        clock.clone(),
    );
    let poly = PolymarketWs::start(
        PolymarketWsConfig::new(config.polymarket.ws_url.clone()),
        clock,
    );
    (kalshi, poly)
}
