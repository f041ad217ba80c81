//! A generated hard evaluation set, and large synthetic catalogs for the
//! benchmark.
//!
//! Every equivalent pair comes with near-misses built to fool a text
//! matcher: another strike ("$100k" against "$120k"), another date (the
//! same two teams the next day), another boundary ("above" against "at
//! least"), the opposite comparator, another period (first half), another
//! market type (spread), another person or year. Equivalent pairs are
//! written differently on the two venues ("Dec." and "December", "$100k"
//! and "100,000", outcome lists in either order, inverted wording such as
//! "at or below" against "above", or "Will the Celtics beat the Lakers?"
//! against Kalshi's "Lakers" market).
//!
//! Output is in the venues' native JSON shapes, so the catalog parsers are
//! exercised too. Generation is deterministic (a fixed-seed SplitMix64).

use serde_json::{Value, json};

use super::eval::Label;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next() % n as u64) as usize
    }
}

/// A generated set in native shapes, with its labels.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// A Kalshi `GET /markets` page.
    pub kalshi_json: String,
    /// A Gamma markets array.
    pub polymarket_json: String,
    pub labels: Vec<Label>,
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTH_ABBR: [&str; 12] = [
    "Jan.", "Feb.", "Mar.", "Apr.", "May", "Jun.", "Jul.", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.",
];
const MONTH_TICKER: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

const ASSETS: [(&str, &str, u64); 5] = [
    ("BTC", "Bitcoin", 100_000),
    ("ETH", "Ethereum", 4_000),
    ("SOL", "Solana", 200),
    ("XRP", "XRP", 3),
    ("DOGE", "Dogecoin", 1),
];

/// NBA teams: code, city, nickname.
const TEAMS: [(&str, &str, &str); 30] = [
    ("ATL", "Atlanta", "Hawks"),
    ("BOS", "Boston", "Celtics"),
    ("BKN", "Brooklyn", "Nets"),
    ("CHA", "Charlotte", "Hornets"),
    ("CHI", "Chicago", "Bulls"),
    ("CLE", "Cleveland", "Cavaliers"),
    ("DAL", "Dallas", "Mavericks"),
    ("DEN", "Denver", "Nuggets"),
    ("DET", "Detroit", "Pistons"),
    ("GSW", "Golden State", "Warriors"),
    ("HOU", "Houston", "Rockets"),
    ("IND", "Indiana", "Pacers"),
    ("LAC", "Los Angeles C", "Clippers"),
    ("LAL", "Los Angeles L", "Lakers"),
    ("MEM", "Memphis", "Grizzlies"),
    ("MIA", "Miami", "Heat"),
    ("MIL", "Milwaukee", "Bucks"),
    ("MIN", "Minnesota", "Timberwolves"),
    ("NOP", "New Orleans", "Pelicans"),
    ("NYK", "New York", "Knicks"),
    ("OKC", "Oklahoma City", "Thunder"),
    ("ORL", "Orlando", "Magic"),
    ("PHI", "Philadelphia", "76ers"),
    ("PHX", "Phoenix", "Suns"),
    ("POR", "Portland", "Trail Blazers"),
    ("SAC", "Sacramento", "Kings"),
    ("SAS", "San Antonio", "Spurs"),
    ("TOR", "Toronto", "Raptors"),
    ("UTA", "Utah", "Jazz"),
    ("WAS", "Washington", "Wizards"),
];

/// Invented player names (first names and surnames combined by index).
const FIRSTS: [&str; 12] = [
    "Adrian", "Bruno", "Casper", "Dmitri", "Emil", "Felix", "Goran", "Hugo", "Ivo", "Jonas",
    "Karel", "Luca",
];
const LASTS: [&str; 20] = [
    "Albrecht",
    "Bertolini",
    "Castellano",
    "Dvorakova",
    "Eriksen",
    "Fontaine",
    "Gallardo",
    "Halvorsen",
    "Ibarra",
    "Jankovic",
    "Kowalczyk",
    "Lindqvist",
    "Marchetti",
    "Novotny",
    "Oyelaran",
    "Petrakis",
    "Quintero",
    "Rasmussen",
    "Santoro",
    "Tavernier",
];

const PEOPLE: [&str; 10] = [
    "Gavin Newsom",
    "Josh Shapiro",
    "Gretchen Whitmer",
    "Pete Buttigieg",
    "Wes Moore",
    "Andy Beshear",
    "JD Vance",
    "Marco Rubio",
    "Ron DeSantis",
    "Glenn Youngkin",
];

fn civil(day: i64) -> (i64, usize, u32) {
    let (y, m, d) = orion_core::time_fmt::civil_from_days(day);
    (y, (m as usize).saturating_sub(1).min(11), d)
}

fn iso(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{:02}-{d:02}", m + 1)
}

fn ticker_date(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{:02}{}{d:02}", y % 100, MONTH_TICKER[m])
}

/// "$100k", "$1.5k", "$3" (Kalshi style).
fn money_short(v: u64) -> String {
    if v >= 1000 && v.is_multiple_of(1000) {
        format!("${}k", v / 1000)
    } else if v >= 1000 && v.is_multiple_of(100) {
        format!("${}.{}k", v / 1000, (v % 1000) / 100)
    } else {
        format!("${v}")
    }
}

/// "100,000" (Polymarket style).
fn money_grouped(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Builder {
    kalshi: Vec<Value>,
    poly: Vec<Value>,
    labels: Vec<Label>,
    token: u64,
}

impl Builder {
    fn tokens(&mut self) -> (String, String) {
        self.token += 2;
        (
            format!("9{:020}", self.token),
            format!("9{:020}", self.token + 1),
        )
    }

    fn cond(&mut self, tag: &str, i: usize, n: usize) -> String {
        format!("0x{tag}{i:08x}{n:04x}")
    }

    fn label(&mut self, k: &str, p: &str, eq: bool, idx: Option<u8>, reason: Option<&str>) {
        self.labels.push(Label {
            kalshi_ticker: k.to_owned(),
            polymarket_id: p.to_owned(),
            equivalent: eq,
            poly_outcome_index: idx,
            poly_token_id: None,
            reason: reason.map(str::to_owned),
            flags: Vec::new(),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn poly_yes_no(
        &mut self,
        cid: &str,
        question: &str,
        yes_first: bool,
        end: &str,
        extra: Value,
    ) -> u8 {
        let (t1, t2) = self.tokens();
        let (outcomes, ids) = if yes_first {
            (
                r#"["Yes", "No"]"#.to_owned(),
                format!(r#"["{t1}", "{t2}"]"#),
            )
        } else {
            (
                r#"["No", "Yes"]"#.to_owned(),
                format!(r#"["{t2}", "{t1}"]"#),
            )
        };
        let mut v = json!({
            "conditionId": cid,
            "question": question,
            "outcomes": outcomes,
            "clobTokenIds": ids,
            "endDate": end,
        });
        if let (Value::Object(o), Value::Object(e)) = (&mut v, extra) {
            o.extend(e);
        }
        self.poly.push(v);
        if yes_first { 0 } else { 1 }
    }

    /// Crypto close-price thresholds.
    fn crypto(&mut self, i: usize, rng: &mut Rng, base_day: i64) {
        let (code, name, base) = ASSETS[i % ASSETS.len()];
        let day = base_day + i as i64;
        let (y, m, d) = civil(day);
        let step = (base / 20).max(1);
        let strike = base + step * (rng.below(8) as u64);
        let ticker = format!("KX{code}D-{}-T{strike}", ticker_date(day));
        let close = format!("{}T21:00:00Z", iso(day));
        let use_abbr = rng.below(2) == 0;
        let month_k = if use_abbr {
            MONTH_ABBR[m]
        } else {
            MONTH_NAMES[m]
        };
        // Every fifth case is written the way Kalshi writes price ladders:
        // an event-style title and a YES sub-title "$100k or above"
        // (at least, not strictly above).
        let at_least = i % 5 == 4;
        let grouped = money_grouped(strike);
        if at_least {
            self.kalshi.push(json!({
                "ticker": ticker,
                "event_ticker": format!("KX{code}D-{}", ticker_date(day)),
                "title": format!("{name} price on {month_k} {d}, {y}?"),
                "yes_sub_title": format!("{} or above", money_short(strike)),
                "strike_type": "greater_or_equal",
                "floor_strike": strike,
                "close_time": close,
            }));
            let cid = self.cond("c", i, 0);
            let q = format!(
                "Will {name} be at least ${grouped} on {} {d}?",
                MONTH_NAMES[m]
            );
            let yes_idx = self.poly_yes_no(&cid, &q, i.is_multiple_of(2), &close, json!({}));
            self.label(&ticker, &cid, true, Some(yes_idx), None);
        } else {
            self.kalshi.push(json!({
                "ticker": ticker,
                "event_ticker": format!("KX{code}D-{}", ticker_date(day)),
                "title": format!("Will {name} be above {} on {month_k} {d}, {y}?", money_short(strike)),
                "strike_type": "greater",
                "floor_strike": strike,
                "close_time": close,
                "rules_primary": format!("If the CF Benchmarks {code} Real-Time Index is above {strike} at 4pm ET, the market resolves to Yes."),
            }));
            let variant = i % 4;
            let cid = self.cond("c", i, 0);
            let (q, yes_first, inverted) = match variant {
                0 => (
                    format!("{name} above ${grouped} on {} {d}?", MONTH_NAMES[m]),
                    true,
                    false,
                ),
                1 => (
                    format!(
                        "Will {name} close at or below {grouped} USD on {} {d}, {y}?",
                        MONTH_NAMES[m]
                    ),
                    true,
                    true,
                ),
                2 => (
                    format!(
                        "Will the price of {name} be above {grouped} dollars on {} {d}?",
                        MONTH_NAMES[m]
                    ),
                    false,
                    false,
                ),
                _ => (
                    format!(
                        "{name} > {} on {} {d}, {y}?",
                        money_short(strike).to_uppercase(),
                        MONTH_ABBR[m]
                    ),
                    true,
                    false,
                ),
            };
            let yes_idx = self.poly_yes_no(
                &cid,
                &q,
                yes_first,
                &close,
                json!({"resolutionSource": "https://www.coinbase.com"}),
            );
            let idx = if inverted { 1 - yes_idx } else { yes_idx };
            self.label(&ticker, &cid, true, Some(idx), None);
        }

        // Near-misses.
        let other = strike + step * 4 + step / 2;
        let near = [
            (
                format!(
                    "{name} above ${} on {} {d}?",
                    money_grouped(other),
                    MONTH_NAMES[m]
                ),
                day,
                "threshold_mismatch",
            ),
            (
                format!(
                    "{name} above ${grouped} on {} {}?",
                    MONTH_NAMES[civil(day + 1).1],
                    civil(day + 1).2
                ),
                day + 1,
                "date_mismatch",
            ),
            (
                if at_least {
                    // strictly above against "or above"
                    format!("Will {name} be above ${grouped} on {} {d}?", MONTH_NAMES[m])
                } else {
                    format!(
                        "Will {name} be at least ${grouped} on {} {d}?",
                        MONTH_NAMES[m]
                    )
                },
                day,
                "boundary_mismatch",
            ),
            (
                if at_least {
                    // "below" would be the exact complement of "or above";
                    // "at most" is not (both pay at the strike).
                    format!(
                        "Will {name} be at most ${grouped} on {} {d}?",
                        MONTH_NAMES[m]
                    )
                } else {
                    format!("Will {name} be below ${grouped} on {} {d}?", MONTH_NAMES[m])
                },
                day,
                "direction_mismatch",
            ),
            (
                // A touch market: any time before the date, not the close.
                format!("Will {name} reach ${grouped} by {} {d}?", MONTH_NAMES[m]),
                day,
                "measure_mismatch",
            ),
        ];
        for (n, (q, dday, reason)) in near.into_iter().enumerate() {
            let cid = self.cond("c", i, n + 1);
            let end = format!("{}T21:00:00Z", iso(dday));
            self.poly_yes_no(&cid, &q, true, &end, json!({}));
            self.label(&ticker, &cid, false, None, Some(reason));
        }
    }

    /// NBA games: two Kalshi markets per game.
    fn game(&mut self, i: usize, rng: &mut Rng, base_day: i64) {
        let a = (i * 7) % TEAMS.len();
        let b = (a + 1 + (i % 13)) % TEAMS.len();
        let (ca, city_a, na) = TEAMS[a];
        let (cb, cityb, nb) = TEAMS[b];
        let day = base_day + (i as i64) * 3;
        let (y, m, d) = civil(day);
        let event = format!("KXNBAGAME-{}{ca}{cb}", ticker_date(day));
        let ev = json!({
            "event_ticker": event,
            "series_ticker": "KXNBAGAME",
            "title": format!("{city_a} at {cityb}"),
            "sub_title": format!("{ca} at {cb} ({} {d})", &MONTH_NAMES[m][..3]),
            "product_metadata": {"competition": "Pro Basketball (M)", "competition_scope": "Game"},
        });
        let kt = [format!("{event}-{ca}"), format!("{event}-{cb}")];
        for (t, city) in kt.iter().zip([city_a, cityb]) {
            self.kalshi.push(json!({
                "ticker": t,
                "event_ticker": event,
                "title": format!("{city_a} at {cityb} Winner?"),
                "yes_sub_title": city,
                "x_event": ev,
            }));
        }
        let slug = format!(
            "nba-{}-{}-{}",
            ca.to_lowercase(),
            cb.to_lowercase(),
            iso(day)
        );
        let start = format!("{}T00:30:00Z", iso(day + 1));
        let cid = self.cond("g", i, 0);
        match i % 3 {
            0 => {
                let swap = rng.below(2) == 0;
                let (t1, t2) = self.tokens();
                let (outs, ids) = if swap {
                    (
                        format!(r#"["{nb}", "{na}"]"#),
                        format!(r#"["{t2}", "{t1}"]"#),
                    )
                } else {
                    (
                        format!(r#"["{na}", "{nb}"]"#),
                        format!(r#"["{t1}", "{t2}"]"#),
                    )
                };
                self.poly.push(json!({
                    "conditionId": cid, "slug": slug, "question": format!("{na} vs. {nb}"),
                    "outcomes": outs, "clobTokenIds": ids, "sportsMarketType": "moneyline",
                    "gameStartTime": format!("{} 00:30:00+00", iso(day + 1)), "endDate": start,
                }));
                let (ia, ib) = if swap { (1, 0) } else { (0, 1) };
                self.label(&kt[0], &cid, true, Some(ia), None);
                self.label(&kt[1], &cid, true, Some(ib), None);
            }
            1 => {
                // "Will B beat A?": Kalshi's A market is the inverse.
                let q = format!(
                    "NBA: Will the {nb} beat the {na} on {} {d}, {y}?",
                    MONTH_NAMES[m]
                );
                let yes_idx = self.poly_yes_no(&cid, &q, rng.below(2) == 0, &start, json!({}));
                self.label(&kt[0], &cid, true, Some(1 - yes_idx), None);
                self.label(&kt[1], &cid, true, Some(yes_idx), None);
            }
            _ => {
                let pslug = format!("aec-{slug}");
                self.poly.push(json!({
                    "slug": pslug, "venue_variant": "polymarket-us", "x_league": "nba-2025",
                    "events": [{"slug": pslug, "title": format!("{} {na} vs. {} {nb}", city_a.to_lowercase(), cityb.to_lowercase())}],
                }));
                self.label(&kt[0], &pslug, true, Some(0), None);
                self.label(&kt[1], &pslug, true, Some(1), None);
            }
        }
        // Near-misses: the next day's game, the first half, a spread.
        let next = day + 1;
        let (t1, t2) = self.tokens();
        let c1 = self.cond("g", i, 1);
        self.poly.push(json!({
            "conditionId": c1, "slug": format!("nba-{}-{}-{}", ca.to_lowercase(), cb.to_lowercase(), iso(next)),
            "question": format!("{na} vs. {nb}"), "outcomes": format!(r#"["{na}", "{nb}"]"#),
            "clobTokenIds": format!(r#"["{t1}", "{t2}"]"#), "sportsMarketType": "moneyline",
        }));
        let (t3, t4) = self.tokens();
        let c2 = self.cond("g", i, 2);
        self.poly.push(json!({
            "conditionId": c2, "slug": format!("{slug}-1h-moneyline"),
            "question": format!("{na} vs. {nb}: 1H Moneyline"), "outcomes": format!(r#"["{na}", "{nb}"]"#),
            "clobTokenIds": format!(r#"["{t3}", "{t4}"]"#), "sportsMarketType": "first_half_moneyline",
        }));
        let (t5, t6) = self.tokens();
        let c3 = self.cond("g", i, 3);
        self.poly.push(json!({
            "conditionId": c3, "slug": format!("{slug}-spread-home-3pt5"),
            "question": format!("Spread: {nb} (-3.5)"), "outcomes": format!(r#"["{nb}", "{na}"]"#),
            "clobTokenIds": format!(r#"["{t5}", "{t6}"]"#), "sportsMarketType": "spreads",
        }));
        for (c, r) in [
            (c1, "date_mismatch"),
            (c2, "period_mismatch"),
            (c3, "market_type_mismatch"),
        ] {
            for t in &kt {
                self.label(t, &c, false, None, Some(r));
            }
        }
    }

    /// Interest-rate thresholds by meeting month.
    fn rates(&mut self, i: usize, rng: &mut Rng) {
        let year = 2026 + (i / 12) as i64;
        let m = i % 12;
        let lo = 300 + 25 * (rng.below(8) as u64); // hundredths of a percent
        let pct = |v: u64| format!("{}.{:02}", v / 100, v % 100);
        let ticker = format!("KXFEDUB-{:02}{}-T{}", year % 100, MONTH_TICKER[m], pct(lo));
        self.kalshi.push(json!({
            "ticker": ticker,
            "title": format!("Will the Fed's upper bound be above {}% after the {} {year} meeting?", pct(lo), MONTH_ABBR[m]),
            "strike_type": "greater",
            "floor_strike": pct(lo),
        }));
        let cid = self.cond("r", i, 0);
        let q = format!(
            "Fed upper bound above {} percent after {} {year} meeting?",
            pct(lo),
            MONTH_NAMES[m]
        );
        let yes = self.poly_yes_no(
            &cid,
            &q,
            true,
            &format!("{year}-{:02}-28T18:00:00Z", m + 1),
            json!({}),
        );
        self.label(&ticker, &cid, true, Some(yes), None);
        let near = [
            (
                format!(
                    "Fed upper bound above {}% after {} {year} meeting?",
                    pct(lo + 25),
                    MONTH_NAMES[m]
                ),
                "threshold_mismatch",
            ),
            (
                format!(
                    "Fed upper bound above {}% after {} {} meeting?",
                    pct(lo),
                    MONTH_NAMES[m],
                    year + 5
                ),
                "date_mismatch",
            ),
        ];
        for (n, (q, r)) in near.into_iter().enumerate() {
            let c = self.cond("r", i, n + 1);
            self.poly_yes_no(
                &c,
                &q,
                true,
                &format!("{year}-{:02}-28T18:00:00Z", m + 1),
                json!({}),
            );
            self.label(&ticker, &c, false, None, Some(r));
        }
    }

    /// Nomination markets: same question, another person or year.
    fn people(&mut self, i: usize) {
        let who = PEOPLE[i % PEOPLE.len()];
        let other = PEOPLE[(i + 3) % PEOPLE.len()];
        let year = 2028 + 4 * (i / PEOPLE.len()) as i64;
        let party = if i.is_multiple_of(2) {
            "Democratic"
        } else {
            "Republican"
        };
        let ticker = format!("KXNOM{party:.3}-{year}-{i:03}").to_uppercase();
        self.kalshi.push(json!({
            "ticker": ticker,
            "title": format!("Will {who} win the {year} {party} presidential nomination?"),
        }));
        let cid = self.cond("p", i, 0);
        let yes = self.poly_yes_no(
            &cid,
            &format!("{who} to win the {party} presidential nomination in {year}?"),
            !i.is_multiple_of(3),
            "2028-08-30T00:00:00Z",
            json!({}),
        );
        self.label(&ticker, &cid, true, Some(yes), None);
        let c1 = self.cond("p", i, 1);
        self.poly_yes_no(
            &c1,
            &format!("{other} to win the {party} presidential nomination in {year}?"),
            true,
            "2028-08-30T00:00:00Z",
            json!({}),
        );
        self.label(&ticker, &c1, false, None, Some("participant_mismatch"));
        let c2 = self.cond("p", i, 2);
        // An off-cycle year no other case uses.
        self.poly_yes_no(
            &c2,
            &format!(
                "{who} to win the {party} presidential nomination in {}?",
                year + 2
            ),
            true,
            "2032-08-30T00:00:00Z",
            json!({}),
        );
        self.label(&ticker, &c2, false, None, Some("date_mismatch"));
    }

    /// Tennis matches: Kalshi by surname, Polymarket US by full name; the
    /// venues' dates may differ by one day (the same two players meet once
    /// per tournament). Near-misses: a set-1 market, the same players a week
    /// later, one player replaced.
    fn tennis(&mut self, i: usize, rng: &mut Rng, base_day: i64) {
        let p1 = (FIRSTS[i % FIRSTS.len()], LASTS[(i * 3) % LASTS.len()]);
        let p2 = (
            FIRSTS[(i + 5) % FIRSTS.len()],
            LASTS[(i * 3 + 7) % LASTS.len()],
        );
        let p3 = (
            FIRSTS[(i + 9) % FIRSTS.len()],
            LASTS[(i * 3 + 13) % LASTS.len()],
        );
        if p1.1 == p2.1 || p1.1 == p3.1 || p2.1 == p3.1 {
            return;
        }
        let day = base_day + (i as i64) * 2;
        let (_, m, d) = civil(day);
        let code = |last: &str| last[..3].to_uppercase();
        let slug_code = |(f, l): (&str, &str)| format!("{}{}", &f[..3], &l[..3]).to_lowercase();
        let event = format!(
            "KXATPMATCH-{}{}{}",
            ticker_date(day),
            code(p1.1),
            code(p2.1)
        );
        let ev = json!({
            "event_ticker": event, "series_ticker": "KXATPMATCH",
            "title": format!("{} vs {}", p1.1, p2.1),
            "sub_title": format!("{} vs {} ({} {d})", p1.1, p2.1, &MONTH_NAMES[m][..3]),
            "product_metadata": {"competition": "ATP Rome", "competition_scope": "Game"},
        });
        let kt = [
            format!("{event}-{}", code(p1.1)),
            format!("{event}-{}", code(p2.1)),
        ];
        for t in &kt {
            self.kalshi
                .push(json!({"ticker": t, "event_ticker": event, "x_event": ev}));
        }
        let set_event = format!(
            "KXATPSETWINNER-{}{}{}-1",
            ticker_date(day),
            code(p1.1),
            code(p2.1)
        );
        let set_t = format!("{set_event}-{}", code(p1.1));
        self.kalshi.push(
            json!({"ticker": set_t, "event_ticker": set_event, "x_event": {
            "title": format!("{} {} vs {} {}: Set 1 Winner", p1.0, p1.1, p2.0, p2.1),
            "product_metadata": {"competition": "ATP Rome", "competition_scope": "Set 1 Winner"}}}),
        );
        let full = |(f, l): (&str, &str)| format!("{} {}", f.to_lowercase(), l.to_lowercase());
        let poly_us = |b: &mut Builder, a: (&str, &str), c: (&str, &str), dd: i64| -> String {
            let slug = format!("aec-atp-{}-{}-{}", slug_code(a), slug_code(c), iso(dd));
            b.poly.push(json!({
                "slug": slug, "venue_variant": "polymarket-us", "x_league": "atp-2026",
                "events": [{"slug": slug, "title": format!("{} vs. {} {}", full(a), full(c), iso(dd))}],
            }));
            slug
        };
        // Polymarket lists the players in either order, on the same day or
        // the day before.
        let swap = rng.below(2) == 0;
        let dd = if i % 4 == 3 { day - 1 } else { day };
        let slug = if swap {
            poly_us(self, p2, p1, dd)
        } else {
            poly_us(self, p1, p2, dd)
        };
        let (i1, i2) = if swap { (1, 0) } else { (0, 1) };
        self.label(&kt[0], &slug, true, Some(i1), None);
        self.label(&kt[1], &slug, true, Some(i2), None);
        self.label(&set_t, &slug, false, None, Some("period_mismatch"));
        let later = poly_us(self, p1, p2, day + 7);
        let other = poly_us(self, p1, p3, day);
        for t in &kt {
            self.label(t, &later, false, None, Some("date_mismatch"));
            self.label(t, &other, false, None, Some("participant_mismatch"));
        }
    }

    fn finish(self) -> Generated {
        Generated {
            kalshi_json: json!({"markets": self.kalshi, "cursor": ""}).to_string(),
            polymarket_json: Value::Array(self.poly).to_string(),
            labels: self.labels,
        }
    }
}

/// The hard set: `cases` cases of each family.
pub fn hard_set(cases: usize, seed: u64) -> Generated {
    let mut rng = Rng(seed);
    let mut b = Builder {
        kalshi: Vec::new(),
        poly: Vec::new(),
        labels: Vec::new(),
        token: 0,
    };
    // 2026-01-01
    let base = orion_core::time_fmt::days_from_civil(2026, 1, 1);
    for i in 0..cases {
        b.crypto(i, &mut rng, base);
        b.game(i, &mut rng, base);
        b.tennis(i, &mut rng, base);
        if i < 48 {
            b.rates(i, &mut rng);
            b.people(i);
        }
    }
    // Rates and people cases repeat their keys past 48; keep one of each.
    let mut seen = std::collections::HashSet::new();
    b.kalshi.retain(|k| {
        seen.insert(
            k.get("ticker")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        )
    });
    let mut seen_p = std::collections::HashSet::new();
    b.poly.retain(|p| {
        let key = p
            .get("conditionId")
            .or_else(|| p.get("slug"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        seen_p.insert(key)
    });
    let mut seen_l = std::collections::HashSet::new();
    b.labels
        .retain(|l| seen_l.insert((l.kalshi_ticker.clone(), l.polymarket_id.clone())));
    b.finish()
}

/// Two synthetic catalogs of about `n` markets each, for the benchmark.
pub fn synthetic_catalogs(n: usize, seed: u64) -> Generated {
    // Each case yields about 3 Kalshi and 9 Polymarket markets; size the
    // case count from the Kalshi side, then trim both to `n`.
    let cases = n / 3 + 1;
    let mut g = hard_set(cases, seed);
    let trim = |json: &str, key: Option<&str>| -> String {
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(mut o)) => {
                if let Some(Value::Array(a)) = key.and_then(|k| o.get_mut(k)) {
                    a.truncate(n);
                }
                Value::Object(o).to_string()
            }
            Ok(Value::Array(mut a)) => {
                a.truncate(n);
                Value::Array(a).to_string()
            }
            _ => json.to_owned(),
        }
    };
    g.kalshi_json = trim(&g.kalshi_json, Some("markets"));
    g.polymarket_json = trim(&g.polymarket_json, None);
    g
}
