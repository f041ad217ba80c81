//! Catalog input in the venues' native JSON shapes.
//!
//! * Kalshi: a `GET /markets` page (`{"markets": [...], "cursor": ...}`), a
//!   bare array of market objects, a `GET /events` page with nested markets,
//!   or JSON Lines of market objects (the evaluation set).
//! * Polymarket Gamma: an array of market objects, `{"data": [...]}`, or JSON
//!   Lines. `outcomes` and `clobTokenIds` are JSON arrays *encoded as
//!   strings*; they are decoded a second time here.
//!
//! Decoding is lenient about fields it does not use and strict about the
//! ones it does: a used field of the wrong type is an error naming the
//! record and the field. Nothing here panics on any input.

use orion_core::clock::Timestamp;
use orion_core::time_fmt::parse_rfc3339;
use serde_json::{Map, Value};
use thiserror::Error;

use super::normalize::Fixed;

/// A catalog could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    #[error("not JSON or JSON Lines: {0}")]
    Syntax(String),
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("unexpected top-level shape: {0}")]
    Shape(&'static str),
    #[error("record {record}: field `{field}`: {message}")]
    Field {
        record: usize,
        field: &'static str,
        message: String,
    },
}

/// The parent event of a Kalshi market, as `GET /events` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KalshiEvent {
    pub event_ticker: Option<String>,
    pub series_ticker: Option<String>,
    pub title: Option<String>,
    pub sub_title: Option<String>,
    pub category: Option<String>,
    pub competition: Option<String>,
    pub competition_scope: Option<String>,
    pub mutually_exclusive: Option<bool>,
}

/// One Kalshi market (the fields matching uses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KalshiMarket {
    pub ticker: String,
    pub event_ticker: Option<String>,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub yes_sub_title: Option<String>,
    pub no_sub_title: Option<String>,
    pub rules_primary: Option<String>,
    pub rules_secondary: Option<String>,
    pub close_time: Option<Timestamp>,
    pub expected_expiration_time: Option<Timestamp>,
    pub expiration_time: Option<Timestamp>,
    pub strike_type: Option<String>,
    pub floor_strike: Option<Fixed>,
    pub cap_strike: Option<Fixed>,
    pub settlement_sources: Vec<String>,
    pub event: Option<KalshiEvent>,
    /// Strike as a curator parsed it from the ticker (evaluation set only).
    pub x_strike: Option<Fixed>,
}

/// One Polymarket outcome of a market: its text and its token id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolyOutcome {
    pub text: String,
    pub token_id: Option<String>,
}

/// One Polymarket (Gamma) market.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolyMarket {
    pub condition_id: Option<String>,
    pub slug: Option<String>,
    pub question: Option<String>,
    pub description: Option<String>,
    /// In the order Gamma lists them; `token_id` paired with `clobTokenIds`
    /// at the same index (the two arrays are parallel by Gamma's contract).
    pub outcomes: Vec<PolyOutcome>,
    pub end_date: Option<Timestamp>,
    pub game_start_time: Option<Timestamp>,
    pub resolution_source: Option<String>,
    pub sports_market_type: Option<String>,
    pub line: Option<Fixed>,
    pub group_item_title: Option<String>,
    pub event_titles: Vec<String>,
    pub event_slugs: Vec<String>,
    /// `polymarket.com` or `polymarket-us`.
    pub venue_variant: Option<String>,
    pub league: Option<String>,
    /// Team code to token id, when a source gave only that (no outcome order).
    pub token_ids_by_team: Vec<(String, String)>,
    pub x_strike: Option<Fixed>,
    pub x_description: Option<String>,
}

impl PolyMarket {
    /// The key labels and proposals use: the condition id, else the slug.
    pub fn key(&self) -> Option<&str> {
        self.condition_id.as_deref().or(self.slug.as_deref())
    }
}

/// Parses a whole document, or JSON Lines when the whole is not one value.
fn documents(text: &str) -> Result<Vec<Value>, CatalogError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v) => Ok(vec![v]),
        Err(whole_err) => {
            let mut out = Vec::new();
            for (n, line) in trimmed.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => out.push(v),
                    Err(e) if n == 0 => {
                        return Err(CatalogError::Syntax(
                            whole_err
                                .to_string()
                                .chars()
                                .take(200)
                                .chain(format!(" / {e}").chars())
                                .collect(),
                        ));
                    }
                    Err(e) => {
                        return Err(CatalogError::Line {
                            line: n + 1,
                            message: e.to_string(),
                        });
                    }
                }
            }
            Ok(out)
        }
    }
}

struct Rec<'a> {
    n: usize,
    obj: &'a Map<String, Value>,
}

impl<'a> Rec<'a> {
    fn err(&self, field: &'static str, message: impl Into<String>) -> CatalogError {
        CatalogError::Field {
            record: self.n,
            field,
            message: message.into(),
        }
    }

    fn str(&self, field: &'static str) -> Result<Option<String>, CatalogError> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => {
                Err(self.err(field, format!("expected a string, found {}", kind(other))))
            }
        }
    }

    fn required_str(&self, field: &'static str) -> Result<String, CatalogError> {
        self.str(field)?.ok_or_else(|| self.err(field, "missing"))
    }

    fn bool(&self, field: &'static str) -> Result<Option<bool>, CatalogError> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => {
                Err(self.err(field, format!("expected a boolean, found {}", kind(other))))
            }
        }
    }

    fn time(&self, field: &'static str) -> Result<Option<Timestamp>, CatalogError> {
        match self.str(field)? {
            None => Ok(None),
            Some(s) => {
                // Gamma's `gameStartTime` is "2026-01-11 02:30:00+00".
                let fixed = if s.ends_with("+00") {
                    format!("{}:00", s)
                } else {
                    s.clone()
                };
                parse_rfc3339(&fixed)
                    .map(Some)
                    .map_err(|e| self.err(field, e.to_string()))
            }
        }
    }

    /// A number given as JSON number or decimal string, exactly.
    fn fixed(&self, field: &'static str) -> Result<Option<Fixed>, CatalogError> {
        let text = match self.obj.get(field) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) if s.is_empty() => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(self.err(field, format!("expected a number, found {}", kind(other))));
            }
        };
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let v = Fixed::parse(digits)
            .ok_or_else(|| self.err(field, format!("not an exact decimal: {text:?}")))?;
        Ok(Some(if neg { Fixed(-v.0) } else { v }))
    }

    /// A JSON array of strings, or such an array encoded as a string (Gamma).
    fn string_list(&self, field: &'static str) -> Result<Vec<String>, CatalogError> {
        let decoded;
        let value = match self.obj.get(field) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
            Some(Value::String(s)) => {
                decoded = serde_json::from_str::<Value>(s)
                    .map_err(|e| self.err(field, format!("string is not a JSON array: {e}")))?;
                &decoded
            }
            Some(v) => v,
        };
        let Value::Array(items) = value else {
            return Err(self.err(field, format!("expected an array, found {}", kind(value))));
        };
        items
            .iter()
            .map(|it| match it {
                Value::String(s) => Ok(s.clone()),
                // Token ids are sometimes bare numbers in hand-made files;
                // a JSON number that large is not exact, so refuse it.
                other => Err(self.err(
                    field,
                    format!("expected string items, found {}", kind(other)),
                )),
            })
            .collect()
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn decode_kalshi_event(rec: &Rec<'_>) -> Result<KalshiEvent, CatalogError> {
    let (competition, competition_scope) = match rec.obj.get("product_metadata") {
        Some(Value::Object(pm)) => {
            let sub = Rec { n: rec.n, obj: pm };
            (sub.str("competition")?, sub.str("competition_scope")?)
        }
        _ => (None, None),
    };
    Ok(KalshiEvent {
        event_ticker: rec.str("event_ticker")?,
        series_ticker: rec.str("series_ticker")?,
        title: rec.str("title")?,
        sub_title: rec.str("sub_title")?,
        category: rec.str("category")?,
        competition,
        competition_scope,
        mutually_exclusive: rec.bool("mutually_exclusive")?,
    })
}

fn decode_kalshi_market(
    n: usize,
    v: &Value,
    parent: Option<&KalshiEvent>,
) -> Result<KalshiMarket, CatalogError> {
    let Value::Object(obj) = v else {
        return Err(CatalogError::Field {
            record: n,
            field: "market",
            message: format!("expected an object, found {}", kind(v)),
        });
    };
    let rec = Rec { n, obj };
    let event = match obj.get("x_event") {
        Some(Value::Object(e)) => Some(decode_kalshi_event(&Rec { n, obj: e })?),
        Some(Value::Null) | None => parent.cloned(),
        Some(other) => {
            return Err(rec.err(
                "x_event",
                format!("expected an object, found {}", kind(other)),
            ));
        }
    };
    let settlement_sources = match obj.get("settlement_sources") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|it| match it {
                Value::Object(o) => o
                    .get("name")
                    .or_else(|| o.get("url"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(KalshiMarket {
        ticker: rec.required_str("ticker")?,
        event_ticker: rec.str("event_ticker")?,
        title: rec.str("title")?,
        subtitle: rec.str("subtitle")?,
        yes_sub_title: rec.str("yes_sub_title")?,
        no_sub_title: rec.str("no_sub_title")?,
        rules_primary: rec.str("rules_primary")?,
        rules_secondary: rec.str("rules_secondary")?,
        close_time: rec.time("close_time")?,
        expected_expiration_time: rec.time("expected_expiration_time")?,
        expiration_time: rec.time("expiration_time")?,
        strike_type: rec.str("strike_type")?,
        floor_strike: rec.fixed("floor_strike")?,
        cap_strike: rec.fixed("cap_strike")?,
        settlement_sources,
        event,
        x_strike: rec.fixed("x_strike")?,
    })
}

/// Like [`parse_kalshi_markets`], but a bad record is skipped and reported
/// instead of failing the whole catalog (a document that is not JSON at all
/// still fails).
pub fn parse_kalshi_markets_lenient(
    text: &str,
) -> Result<(Vec<KalshiMarket>, Vec<CatalogError>), CatalogError> {
    let docs = documents(text)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut n = 0usize;
    for doc in &docs {
        let items: Vec<&Value> = match doc {
            Value::Array(items) => items.iter().collect(),
            Value::Object(obj) => match obj.get("markets") {
                Some(Value::Array(items)) => items.iter().collect(),
                _ => {
                    // Other shapes (events pages, single markets): strict path.
                    match parse_kalshi_markets(&doc.to_string()) {
                        Ok(mut v) => out.append(&mut v),
                        Err(e) => errors.push(e),
                    }
                    continue;
                }
            },
            _ => {
                return Err(CatalogError::Shape(
                    "expected a Kalshi /markets page, an array or JSON Lines of markets",
                ));
            }
        };
        for it in items {
            match decode_kalshi_market(n, it, None) {
                Ok(m) => out.push(m),
                Err(e) => errors.push(e),
            }
            n += 1;
        }
    }
    Ok((out, errors))
}

/// Like [`parse_polymarket_markets`], but a bad record is skipped and
/// reported.
pub fn parse_polymarket_markets_lenient(
    text: &str,
) -> Result<(Vec<PolyMarket>, Vec<CatalogError>), CatalogError> {
    let docs = documents(text)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for doc in &docs {
        let items: Vec<Value> = match doc {
            Value::Array(items) => items.clone(),
            Value::Object(obj) if !is_event(doc) && !is_market(doc) => match obj
                .get("data")
                .or_else(|| obj.get("events"))
                .or_else(|| obj.get("markets"))
            {
                Some(Value::Array(items)) => items.clone(),
                _ => vec![doc.clone()],
            },
            _ => vec![doc.clone()],
        };
        for (n, it) in items.iter().enumerate() {
            match parse_polymarket_markets(&it.to_string()) {
                Ok(mut v) => out.append(&mut v),
                Err(CatalogError::Field { field, message, .. }) => {
                    errors.push(CatalogError::Field {
                        record: n,
                        field,
                        message,
                    })
                }
                Err(e) => errors.push(e),
            }
        }
    }
    Ok((out, errors))
}

/// Kalshi markets from any of the accepted shapes.
pub fn parse_kalshi_markets(text: &str) -> Result<Vec<KalshiMarket>, CatalogError> {
    let docs = documents(text)?;
    let mut out = Vec::new();
    let mut n = 0usize;
    let mut push = |v: &Value, parent: Option<&KalshiEvent>, out: &mut Vec<KalshiMarket>| {
        let r = decode_kalshi_market(n, v, parent);
        n += 1;
        r.map(|m| out.push(m))
    };
    for doc in &docs {
        match doc {
            Value::Array(items) => {
                for it in items {
                    push(it, None, &mut out)?;
                }
            }
            Value::Object(obj) if obj.contains_key("markets") => match obj.get("markets") {
                Some(Value::Array(items)) => {
                    for it in items {
                        push(it, None, &mut out)?;
                    }
                }
                Some(Value::Null) => {}
                _ => return Err(CatalogError::Shape("`markets` is not an array")),
            },
            Value::Object(obj) if obj.contains_key("events") => {
                let Some(Value::Array(events)) = obj.get("events") else {
                    return Err(CatalogError::Shape("`events` is not an array"));
                };
                for (k, ev) in events.iter().enumerate() {
                    let Value::Object(eobj) = ev else {
                        return Err(CatalogError::Shape("an event is not an object"));
                    };
                    let event = decode_kalshi_event(&Rec { n: k, obj: eobj })?;
                    if let Some(Value::Array(ms)) = eobj.get("markets") {
                        for m in ms {
                            push(m, Some(&event), &mut out)?;
                        }
                    }
                }
            }
            Value::Object(obj) if obj.contains_key("market") => {
                if let Some(m) = obj.get("market") {
                    push(m, None, &mut out)?;
                }
            }
            Value::Object(obj) if obj.contains_key("ticker") => push(doc, None, &mut out)?,
            _ => {
                return Err(CatalogError::Shape(
                    "expected a Kalshi /markets page, an array or JSON Lines of markets",
                ));
            }
        }
    }
    Ok(out)
}

/// A Gamma event object (`GET /events`) with its markets nested: each market
/// inherits the event's title and slug.
fn expand_event(
    n: usize,
    ev: &Map<String, Value>,
    out: &mut Vec<PolyMarket>,
) -> Result<(), CatalogError> {
    let er = Rec { n, obj: ev };
    let title = er.str("title")?;
    let slug = er.str("slug")?;
    if let Some(Value::Array(markets)) = ev.get("markets") {
        for m in markets {
            let mut pm = decode_poly_market(n, m)?;
            if pm.event_titles.is_empty() {
                pm.event_titles.extend(title.clone());
                pm.event_slugs.extend(slug.clone());
            }
            out.push(pm);
        }
    }
    Ok(())
}

/// A market object (as opposed to a page or search response wrapping them):
/// Polymarket US records carry `events` too, so the wrapper keys alone do
/// not decide.
fn is_market(v: &Value) -> bool {
    matches!(v, Value::Object(o) if ["conditionId", "condition_id", "slug", "question", "market_slug"]
        .iter()
        .any(|k| o.contains_key(*k)))
}

fn is_event(v: &Value) -> bool {
    matches!(v, Value::Object(o) if matches!(o.get("markets"), Some(Value::Array(_)))
        && !o.contains_key("conditionId")
        && !o.contains_key("condition_id"))
}

fn decode_poly_market(n: usize, v: &Value) -> Result<PolyMarket, CatalogError> {
    let Value::Object(obj) = v else {
        return Err(CatalogError::Field {
            record: n,
            field: "market",
            message: format!("expected an object, found {}", kind(v)),
        });
    };
    let rec = Rec { n, obj };
    let mut outcome_texts = rec.string_list("outcomes")?;
    let mut token_ids = rec.string_list("clobTokenIds")?;
    // The CLOB's own market objects carry `tokens: [{token_id, outcome}]`
    // instead: each token names its outcome, so the pairing is explicit.
    if outcome_texts.is_empty()
        && let Some(Value::Array(tokens)) = obj.get("tokens")
    {
        for t in tokens {
            let Value::Object(to) = t else {
                return Err(rec.err("tokens", "expected objects"));
            };
            let tr = Rec { n, obj: to };
            match (tr.str("outcome")?, tr.str("token_id")?) {
                (Some(outcome), Some(id)) => {
                    outcome_texts.push(outcome);
                    token_ids.push(id);
                }
                // Unlisted markets carry empty placeholder tokens.
                (None, None) => {}
                _ => {
                    return Err(rec.err(
                        "tokens",
                        "a token with an outcome but no id, or an id but no outcome",
                    ));
                }
            }
        }
    }
    if !token_ids.is_empty() && token_ids.len() != outcome_texts.len() {
        return Err(rec.err(
            "clobTokenIds",
            format!(
                "{} token ids for {} outcomes: cannot tell which token is which outcome",
                token_ids.len(),
                outcome_texts.len()
            ),
        ));
    }
    let outcomes = outcome_texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| PolyOutcome {
            text,
            token_id: token_ids.get(i).cloned(),
        })
        .collect();
    let mut event_titles = Vec::new();
    let mut event_slugs = Vec::new();
    if let Some(Value::Array(events)) = obj.get("events") {
        for e in events {
            if let Value::Object(eo) = e {
                let er = Rec { n, obj: eo };
                if let Some(t) = er.str("title")? {
                    event_titles.push(t);
                }
                if let Some(s) = er.str("slug")? {
                    event_slugs.push(s);
                }
            }
        }
    }
    let token_ids_by_team = match obj.get("x_token_ids_by_team") {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|t| (k.clone(), t.to_owned())))
            .collect(),
        _ => Vec::new(),
    };
    let condition_id = rec.str("conditionId")?.or(rec.str("condition_id")?);
    let m = PolyMarket {
        condition_id,
        slug: rec.str("slug")?.or(rec.str("market_slug")?),
        question: rec.str("question")?,
        description: rec.str("description")?,
        outcomes,
        end_date: rec.time("endDate")?.or(rec.time("end_date_iso")?),
        game_start_time: rec.time("gameStartTime")?,
        resolution_source: rec.str("resolutionSource")?,
        sports_market_type: rec.str("sportsMarketType")?,
        line: rec.fixed("line")?,
        group_item_title: rec.str("groupItemTitle")?,
        event_titles,
        event_slugs,
        venue_variant: rec.str("venue_variant")?,
        league: rec.str("x_league")?,
        token_ids_by_team,
        x_strike: rec.fixed("x_strike")?,
        x_description: rec.str("x_description")?,
    };
    if m.key().is_none() {
        return Err(rec.err("conditionId", "missing (and no slug to key the market by)"));
    }
    Ok(m)
}

/// Polymarket Gamma markets from any of the accepted shapes.
pub fn parse_polymarket_markets(text: &str) -> Result<Vec<PolyMarket>, CatalogError> {
    let docs = documents(text)?;
    let mut out = Vec::new();
    let mut n = 0usize;
    for doc in &docs {
        let items: Vec<&Value> = match doc {
            Value::Array(items) => items.iter().collect(),
            _ if is_event(doc) || is_market(doc) => vec![doc],
            Value::Object(obj) => match obj
                .get("data")
                .or_else(|| obj.get("events"))
                .or_else(|| obj.get("markets"))
            {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(_) => {
                    return Err(CatalogError::Shape(
                        "`data`/`events`/`markets` is not an array",
                    ));
                }
                None => vec![doc],
            },
            _ => {
                return Err(CatalogError::Shape(
                    "expected an array or JSON Lines of Gamma markets",
                ));
            }
        };
        for it in items {
            match it {
                Value::Object(ev) if is_event(it) => expand_event(n, ev, &mut out)?,
                _ => out.push(decode_poly_market(n, it)?),
            }
            n += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kalshi_page_array_and_lines() {
        let page = r#"{"markets":[{"ticker":"KXA-1","title":"A?","close_time":"2026-01-25T01:00:00Z","floor_strike":650.5}],"cursor":"abc"}"#;
        let m = parse_kalshi_markets(page).unwrap_or_default();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].floor_strike, Fixed::parse("650.5"));
        assert!(m[0].close_time.is_some());
        let arr = r#"[{"ticker":"A"},{"ticker":"B"}]"#;
        assert_eq!(parse_kalshi_markets(arr).map(|v| v.len()), Ok(2));
        let lines = "{\"ticker\":\"A\"}\n\n{\"ticker\":\"B\"}\n";
        assert_eq!(parse_kalshi_markets(lines).map(|v| v.len()), Ok(2));
    }

    #[test]
    fn kalshi_events_page_with_nested_markets() {
        let page = r#"{"events":[{"event_ticker":"KXNBAGAME-26JAN09ATLDEN","series_ticker":"KXNBAGAME","title":"Atlanta at Denver","product_metadata":{"competition":"Pro Basketball (M)"},"markets":[{"ticker":"KXNBAGAME-26JAN09ATLDEN-ATL"},{"ticker":"KXNBAGAME-26JAN09ATLDEN-DEN"}]}],"cursor":""}"#;
        let m = parse_kalshi_markets(page).unwrap_or_default();
        assert_eq!(m.len(), 2);
        let ev = m[1].event.clone().unwrap_or_default();
        assert_eq!(ev.title.as_deref(), Some("Atlanta at Denver"));
        assert_eq!(ev.competition.as_deref(), Some("Pro Basketball (M)"));
    }

    #[test]
    fn kalshi_errors_name_the_field() {
        let bad = r#"[{"ticker":"A"},{"ticker":5}]"#;
        match parse_kalshi_markets(bad) {
            Err(CatalogError::Field { record, field, .. }) => {
                assert_eq!((record, field), (1, "ticker"));
            }
            other => panic!("expected a field error, got {other:?}"),
        }
        let bad_time = r#"[{"ticker":"A","close_time":"tomorrow"}]"#;
        assert!(matches!(
            parse_kalshi_markets(bad_time),
            Err(CatalogError::Field {
                field: "close_time",
                ..
            })
        ));
        assert!(parse_kalshi_markets("{\"ticker\":\"A\"}\n{oops").is_err());
        assert!(parse_kalshi_markets("42").is_err());
        let (ok, errs) = parse_kalshi_markets_lenient(bad).unwrap_or_default();
        assert_eq!((ok.len(), errs.len()), (1, 1), "the good record survives");
    }

    #[test]
    fn gamma_strings_are_decoded_twice_and_paired_by_index() {
        let g = r#"[{"conditionId":"0xabc","question":"Hawks vs. Nuggets","outcomes":"[\"Hawks\", \"Nuggets\"]","clobTokenIds":"[\"111\", \"222\"]","gameStartTime":"2026-01-11 02:30:00+00"}]"#;
        let m = parse_polymarket_markets(g).unwrap_or_default();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].outcomes[1].text, "Nuggets");
        assert_eq!(m[0].outcomes[1].token_id.as_deref(), Some("222"));
        assert!(m[0].game_start_time.is_some());
        let mismatched =
            r#"[{"conditionId":"0x1","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"1\"]"}]"#;
        assert!(matches!(
            parse_polymarket_markets(mismatched),
            Err(CatalogError::Field {
                field: "clobTokenIds",
                ..
            })
        ));
        let not_array = r#"[{"conditionId":"0x1","outcomes":"Yes or No"}]"#;
        assert!(matches!(
            parse_polymarket_markets(not_array),
            Err(CatalogError::Field {
                field: "outcomes",
                ..
            })
        ));
        let clob = r#"{"data":[{"condition_id":"0xc","question":"Will X?","tokens":[{"token_id":"5","outcome":"No"},{"token_id":"4","outcome":"Yes"}]}],"next_cursor":"MTAw"}"#;
        let m = parse_polymarket_markets(clob).unwrap_or_default();
        assert_eq!(m[0].outcomes[1].text, "Yes");
        assert_eq!(m[0].outcomes[1].token_id.as_deref(), Some("4"));
        let events = r#"[{"slug":"ev","title":"Hawks vs. Nuggets","markets":[{"conditionId":"0x1"},{"conditionId":"0x2"}]}]"#;
        let m = parse_polymarket_markets(events).unwrap_or_default();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].event_titles, vec!["Hawks vs. Nuggets".to_owned()]);
        // Polymarket US records carry `events` but are markets themselves.
        let us = r#"{"slug":"aec-mlb-wsh-mia-2026-05-08","events":[{"slug":"e","title":"washington nationals vs. miami marlins"}]}"#;
        let m = parse_polymarket_markets(us).unwrap_or_default();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].slug.as_deref(), Some("aec-mlb-wsh-mia-2026-05-08"));
        let no_key = r#"[{"question":"?"}]"#;
        assert!(parse_polymarket_markets(no_key).is_err());
    }
}
