//! Pair specifications: the stored pairs (what an operator confirmed, or the
//! matcher proposed) completed with what the venues say now: fee schedules,
//! tick size, minimum size, price grid and resolution time.

use std::collections::HashMap;
use std::sync::Arc;

use orion_config::{Mode, PairSource};
use orion_core::StoreError;
use orion_core::{FeeSchedule, InstrumentId, MarketId, Quantity, Timestamp, Venue};
use orion_matching::detection::PairSpec;
use orion_storage::{Database, PairRecord, PairStatus};

use crate::venues::VenueClients;

/// The stored pairs this mode may use: confirmed ones always; proposals at
/// or above `min_score_bps` only when configured and never live.
pub fn eligible(
    db: &Database,
    mode: Mode,
    source: PairSource,
    min_score_bps: u32,
) -> Result<Vec<PairRecord>, StoreError> {
    let mut pairs = db.pairs(Some(PairStatus::Confirmed))?;
    if source == PairSource::Proposals && mode != Mode::Live {
        pairs.extend(
            db.pairs(Some(PairStatus::Proposed))?
                .into_iter()
                .filter(|p| p.score_bps >= min_score_bps),
        );
    }
    Ok(pairs)
}

/// Builds each pair's specification from the venues. A pair the venues
/// cannot describe fully is left out (and reported): trading it blind
/// would mean guessing its fees or tick.
pub async fn specs(records: &[PairRecord], clients: &VenueClients) -> (Vec<PairSpec>, Vec<String>) {
    let (specs, problems, _) = specs_and_titles(records, clients).await;
    (specs, problems)
}

/// A market's human title, as a venue gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketTitle {
    pub venue: Venue,
    pub symbol: String,
    pub title: String,
}

/// [`specs`], plus the titles of the Kalshi markets read on the way (for
/// the dashboard: [`store_titles`]), so they cost no extra request.
pub async fn specs_and_titles(
    records: &[PairRecord],
    clients: &VenueClients,
) -> (Vec<PairSpec>, Vec<String>, Vec<MarketTitle>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut titles = Vec::new();
    let mut series_fees: HashMap<String, FeeSchedule> = HashMap::new();
    for record in records {
        match spec(record, clients, &mut series_fees, &mut titles).await {
            Ok(spec) => out.push(spec),
            Err(e) => problems.push(format!("pair {}: {e}", record.pair_id)),
        }
    }
    (out, problems, titles)
}

/// Stores market titles in the database's `markets` table, where the
/// dashboard's pair review reads them. A title already stored is replaced
/// (venues retitle markets); an empty one is not stored.
pub fn store_titles(
    db: &Database,
    titles: &[MarketTitle],
    now: Timestamp,
) -> Result<(), StoreError> {
    for t in titles.iter().filter(|t| !t.title.trim().is_empty()) {
        db.connection()
            .execute(
                "INSERT INTO markets (venue, symbol, title, updated_at_ns) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (venue, symbol) DO UPDATE SET title = excluded.title, updated_at_ns = excluded.updated_at_ns",
                (t.venue.as_str(), t.symbol.as_str(), t.title.as_str(), now.nanos()),
            )
            .map_err(|e| StoreError::Io(format!("storing the title of {} {}: {e}", t.venue, t.symbol)))?;
    }
    Ok(())
}

async fn spec(
    record: &PairRecord,
    clients: &VenueClients,
    series_fees: &mut HashMap<String, FeeSchedule>,
    titles: &mut Vec<MarketTitle>,
) -> Result<PairSpec, String> {
    let kalshi = clients
        .kalshi
        .client()
        .market(&record.kalshi_ticker)
        .await
        .map_err(|e| format!("Kalshi market {}: {e}", record.kalshi_ticker))?;
    titles.push(MarketTitle {
        venue: Venue::Kalshi,
        symbol: record.kalshi_ticker.clone(),
        title: kalshi.title.clone(),
    });
    if let Some(grid) = &kalshi.grid {
        clients.kalshi.set_grid(&record.kalshi_ticker, grid.clone());
    }
    // Kalshi tickers are SERIES-EVENT-MARKET; the series carries the fees.
    let series = kalshi
        .event_ticker
        .split('-')
        .next()
        .unwrap_or_default()
        .to_string();
    let kalshi_fees = match series_fees.get(&series) {
        Some(f) => *f,
        None => {
            let f = clients
                .kalshi
                .client()
                .series_fee(&series)
                .await
                .map_err(|e| format!("Kalshi series {series} fees: {e}"))?;
            series_fees.insert(series.clone(), f);
            f
        }
    };
    let info = clients
        .polymarket
        .load_market(&record.polymarket_condition_id)
        .await
        .map_err(|e| format!("Polymarket market {}: {e}", record.polymarket_condition_id))?;
    let polymarket_fees = info
        .fee
        .ok_or_else(|| "Polymarket fee details unknown: not traded".to_string())?;
    let token = |outcome: &str, stored: &str| -> Result<String, String> {
        let found = info
            .tokens
            .iter()
            .find(|(_, o)| o.eq_ignore_ascii_case(outcome))
            .map(|(t, _)| t.clone())
            .ok_or_else(|| format!("Polymarket market has no {outcome} token"))?;
        if !stored.is_empty() && stored != found {
            return Err(format!(
                "stored {outcome} token {stored} differs from the venue's {found}"
            ));
        }
        Ok(found)
    };
    let yes = token("yes", &record.polymarket_yes_token)?;
    let no = token("no", &record.polymarket_no_token)?;
    let resolves_at = kalshi
        .expected_expiration_time
        .or(kalshi.close_time)
        .ok_or_else(|| "Kalshi market has no close or expiration time".to_string())?;
    let id = |venue, s: &str| InstrumentId::new(venue, s).map_err(|e| e.to_string());
    Ok(PairSpec {
        pair_id: Arc::from(record.pair_id.as_str()),
        event_key: Arc::from(kalshi.event_ticker.as_str()),
        kalshi_market: MarketId::new(Venue::Kalshi, &record.kalshi_ticker)
            .map_err(|e| e.to_string())?,
        kalshi_instrument: kalshi.ticker.clone(),
        polymarket_market: MarketId::new(Venue::Polymarket, &record.polymarket_condition_id)
            .map_err(|e| e.to_string())?,
        polymarket_yes: id(Venue::Polymarket, &yes)?,
        polymarket_no: id(Venue::Polymarket, &no)?,
        inverted: record.inverted,
        kalshi_fees,
        polymarket_fees,
        polymarket_tick: info.tick_size,
        polymarket_min_size: info.min_order_size.unwrap_or(Quantity::ZERO),
        resolves_at: resolves_at.max(Timestamp::ZERO),
    })
}
