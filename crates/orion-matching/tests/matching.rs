//! End-to-end matching tests: the seed's known failures, the generated hard
//! set, and the DEV labelled set from `../shared/data/pairs` (skipped with a
//! notice when that directory is absent; the data is never copied here).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use orion_matching::matching::eval::render;
use orion_matching::matching::hardset::hard_set;
use orion_matching::matching::{
    Flag, MatchConfig, Orientation, evaluate, match_catalogs, parse_kalshi_markets, parse_labels,
    parse_polymarket_markets,
};

fn run(kalshi: &str, poly: &str) -> orion_matching::matching::MatchOutcome {
    let k = parse_kalshi_markets(kalshi).expect("kalshi");
    let p = parse_polymarket_markets(poly).expect("polymarket");
    let cfg = MatchConfig {
        keep_rejections: true,
        ..MatchConfig::default()
    };
    match_catalogs(&k, &p, &cfg)
}

const KALSHI_BTC: &str = r#"{"markets":[{"ticker":"KXBTCD-25DEC31-T100000","title":"Will Bitcoin be above $100k on Dec. 31, 2025?","strike_type":"greater","floor_strike":100000,"close_time":"2025-12-31T21:00:00Z"}],"cursor":""}"#;

#[test]
fn hundred_k_is_not_one_hundred_twenty_k() {
    let poly = r#"[{"conditionId":"0xbtc120","question":"Bitcoin above $120,000 on December 31, 2025?","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"11\",\"12\"]","endDate":"2025-12-31T21:00:00Z"}]"#;
    let out = run(KALSHI_BTC, poly);
    assert!(out.proposals.is_empty(), "{:?}", out.proposals);
    assert!(
        out.rejections
            .iter()
            .any(|r| r.flags.contains(&Flag::ThresholdDiffers)),
        "the pair is blocked by the threshold, not missed by blocking: {:?}",
        out.rejections
    );
}

#[test]
fn dec_abbreviation_matches_december() {
    let poly = r#"[{"conditionId":"0xbtc100","question":"Bitcoin above 100,000 USD on December 31, 2025?","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"11\",\"12\"]","endDate":"2025-12-31T21:00:00Z"}]"#;
    let out = run(KALSHI_BTC, poly);
    assert_eq!(out.proposals.len(), 1, "{:?}", out.rejections);
    let p = &out.proposals[0];
    assert_eq!(p.orientation, Orientation::Direct);
    assert_eq!(
        p.polymarket_yes_token.as_ref().map(|t| &*t.symbol),
        Some("11")
    );
    assert_eq!(
        p.polymarket_no_token.as_ref().map(|t| &*t.symbol),
        Some("12")
    );
}

#[test]
fn inverted_pair_is_detected_as_inverted() {
    // "at or below" is the exact complement of "above": Kalshi YES is
    // Polymarket "No". The outcomes are listed No-first to prove the tokens
    // are mapped by outcome text, not by position.
    let poly = r#"[{"conditionId":"0xinv","question":"Will Bitcoin close at or below $100k on December 31, 2025?","outcomes":"[\"No\",\"Yes\"]","clobTokenIds":"[\"21\",\"22\"]","endDate":"2025-12-31T21:00:00Z"}]"#;
    let out = run(KALSHI_BTC, poly);
    assert_eq!(out.proposals.len(), 1, "{:?}", out.rejections);
    let p = &out.proposals[0];
    assert_eq!(p.orientation, Orientation::Inverted);
    assert_eq!(p.kalshi_yes.outcome, "No");
    assert_eq!(
        p.kalshi_yes.outcome_index,
        Some(0),
        "\"No\" is listed first here"
    );
    assert_eq!(p.kalshi_no.outcome, "Yes");
    assert_eq!(
        p.polymarket_yes_token.as_ref().map(|t| &*t.symbol),
        Some("21")
    );

    // Head-to-head: "Will the Celtics beat the Lakers?" against Kalshi's
    // Lakers market.
    let kalshi = r#"[{"ticker":"KXNBAGAME-26JAN09LALBOS-LAL","event_ticker":"KXNBAGAME-26JAN09LALBOS","title":"Los Angeles L at Boston Winner?","yes_sub_title":"Los Angeles L"}]"#;
    let poly = r#"[{"conditionId":"0xh2h","question":"NBA: Will the Celtics beat the Lakers on January 9, 2026?","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"31\",\"32\"]"}]"#;
    let out = run(kalshi, poly);
    assert_eq!(out.proposals.len(), 1, "{:?}", out.rejections);
    let p = &out.proposals[0];
    assert_eq!(p.orientation, Orientation::Inverted);
    assert_eq!(p.kalshi_yes.outcome, "No");
    assert_eq!(
        p.polymarket_yes_token.as_ref().map(|t| &*t.symbol),
        Some("32")
    );
    assert!(p.flags.contains(&Flag::TwoWayAssumed));
}

#[test]
fn threshold_or_direction_disagreement_blocks() {
    for (q, flag) in [
        (
            "Will Bitcoin be below $100k on December 31, 2025?",
            Flag::ComparatorBoundaryDiffers,
        ),
        (
            "Will Bitcoin be at least $100k on December 31, 2025?",
            Flag::ComparatorBoundaryDiffers,
        ),
        (
            "Will Bitcoin be between $100k and $110k on December 31, 2025?",
            Flag::DirectionDiffers,
        ),
        (
            "Will Bitcoin be above 100,000% on December 31, 2025?",
            Flag::UnitDiffers,
        ),
        (
            "Will Bitcoin be above $100k on January 1, 2026?",
            Flag::EventDateDiffers,
        ),
    ] {
        let poly = format!(
            r#"[{{"conditionId":"0xq","question":"{q}","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"1\",\"2\"]"}}]"#
        );
        let out = run(KALSHI_BTC, &poly);
        assert!(out.proposals.is_empty(), "{q}: {:?}", out.proposals);
        assert!(
            out.rejections.iter().any(|r| r.flags.contains(&flag)),
            "{q}: expected {flag:?}, got {:?}",
            out.rejections
        );
    }
}

#[test]
fn generated_hard_set() {
    let g = hard_set(60, 42);
    let out = run(&g.kalshi_json, &g.polymarket_json);
    let ev = evaluate(&g.labels, &out.proposals);
    println!("HARD SET\n{}", render(&ev));
    debug_missed(&ev, &g.kalshi_json, &g.polymarket_json);
    assert_eq!(ev.false_positives, 0, "{}", render(&ev));
    assert_eq!(ev.orientation_errors, 0, "{}", render(&ev));
    // Achieved: 1.0000 / 1.0000 (60 cases per family).
    assert_eq!(ev.precision_bps, 10_000, "{}", render(&ev));
    assert!(ev.recall_bps >= 9_800, "{}", render(&ev));
}

/// With `ORION_MATCH_DEBUG` set, explains each missed equivalent pair.
fn debug_missed(ev: &orion_matching::matching::Evaluation, kalshi: &str, poly: &str) {
    if std::env::var("ORION_MATCH_DEBUG").is_err() {
        return;
    }
    use orion_matching::matching::features::{kalshi_features, poly_features};
    use orion_matching::matching::matcher::assess;
    let ks = parse_kalshi_markets(kalshi).unwrap();
    let ps = parse_polymarket_markets(poly).unwrap();
    for m in ev.missed.iter().chain(ev.wrong.iter()) {
        let Some((kt, rest)) = m.split_once(" ~ ") else {
            continue;
        };
        let pk = rest.split(':').next().unwrap_or(rest);
        let (Some(k), Some(p)) = (
            ks.iter().find(|x| x.ticker == kt),
            ps.iter().find(|x| x.key() == Some(pk)),
        ) else {
            continue;
        };
        let (kf, pf) = (kalshi_features(k), poly_features(p));
        let a = assess(&kf, &pf, &MatchConfig::default());
        println!(
            "DEBUG {m}: {} {:?} {:?}\n  K {:?} {:?} {:?} {:?}\n  P {:?} {:?} {:?} {:?}",
            a.score_bps,
            a.flags,
            a.reasons,
            kf.participants,
            kf.threshold,
            kf.event_day,
            kf.month,
            pf.participants,
            pf.threshold,
            pf.event_day,
            pf.month
        );
    }
}

fn dev_dir() -> Option<PathBuf> {
    // crates/orion-matching -> repository root -> ../shared/data/pairs
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("../shared/data/pairs");
    dir.join("labels.jsonl").is_file().then_some(dir)
}

#[test]
fn dev_set_precision_and_recall() {
    let Some(dir) = dev_dir() else {
        println!(
            "SKIPPED: ../shared/data/pairs not found next to the repository; dev-set evaluation not run"
        );
        return;
    };
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect(f);
    let labels = parse_labels(&read("labels.jsonl")).expect("labels");
    let out = run(
        &read("kalshi_markets.jsonl"),
        &read("polymarket_markets.jsonl"),
    );
    let ev = evaluate(&labels, &out.proposals);
    debug_missed(
        &ev,
        &read("kalshi_markets.jsonl"),
        &read("polymarket_markets.jsonl"),
    );
    println!(
        "DEV SET (pairs scored {})\n{}",
        out.pairs_scored,
        render(&ev)
    );
    for m in ev.missed.iter().take(60) {
        let why: Vec<_> = out
            .rejections
            .iter()
            .filter(|r| m == &format!("{} ~ {}", r.kalshi_ticker, r.polymarket_key))
            .map(|r| format!("{:?} {}", r.flags, r.score_bps))
            .collect();
        println!("MISSED {m} {why:?}");
    }
    // Achieved: precision 1.0000, recall 0.9967 (the two misses are a
    // Kalshi relisting whose Polymarket outcomes the other listing took).
    assert_eq!(ev.false_positives, 0, "{}", render(&ev));
    assert_eq!(ev.orientation_errors, 0, "{}", render(&ev));
    assert!(ev.precision_bps >= 9_900, "{}", render(&ev));
    assert!(ev.recall_bps >= 9_800, "{}", render(&ev));
}

#[test]
fn blocking_keeps_the_work_far_below_n_times_m_and_threads_do_not_change_results() {
    let g = orion_matching::matching::hardset::synthetic_catalogs(3_000, 9);
    let k = parse_kalshi_markets(&g.kalshi_json).unwrap();
    let p = parse_polymarket_markets(&g.polymarket_json).unwrap();
    assert_eq!((k.len(), p.len()), (3_000, 3_000));
    let one = match_catalogs(
        &k,
        &p,
        &MatchConfig {
            threads: 1,
            ..MatchConfig::default()
        },
    );
    let two = match_catalogs(
        &k,
        &p,
        &MatchConfig {
            threads: 2,
            ..MatchConfig::default()
        },
    );
    assert_eq!(one.proposals, two.proposals);
    assert_eq!(one.pairs_scored, two.pairs_scored);
    let full = k.len() * p.len();
    println!(
        "pairs scored {} of {full}; proposals {}",
        one.pairs_scored,
        one.proposals.len()
    );
    assert!(
        one.pairs_scored * 100 < full,
        "blocking let {} of {full} pairs through",
        one.pairs_scored
    );
    assert!(!one.proposals.is_empty());
}

#[test]
fn doubleheader_is_not_guessed() {
    // Two games of the same teams on one day; Polymarket lists one market
    // without a start time: either Kalshi game could be it.
    let kalshi = r#"[
      {"ticker":"KXMLBGAME-26MAY081310WSHMIA-MIA","x_event":{"title":"Washington vs Miami"}},
      {"ticker":"KXMLBGAME-26MAY081910WSHMIA-MIA","x_event":{"title":"Washington vs Miami"}}
    ]"#;
    let poly = r#"[{"slug":"aec-mlb-wsh-mia-2026-05-08","venue_variant":"polymarket-us","events":[{"title":"washington nationals vs. miami marlins"}]}]"#;
    let out = run(kalshi, poly);
    assert!(out.proposals.is_empty(), "{:?}", out.proposals);
    // With a start time the venue tells the games apart: the 19:10 ET game
    // (23:10 UTC in May) is the one.
    let timed = r#"[{"conditionId":"0xdh","slug":"mlb-wsh-mia-2026-05-08","question":"Nationals vs. Marlins","outcomes":"[\"Nationals\", \"Marlins\"]","clobTokenIds":"[\"7\", \"8\"]","gameStartTime":"2026-05-08 23:10:00+00"}]"#;
    let out = run(kalshi, timed);
    assert_eq!(out.proposals.len(), 1, "{:?}", out.rejections);
    assert_eq!(
        &*out.proposals[0].kalshi.symbol,
        "KXMLBGAME-26MAY081910WSHMIA-MIA"
    );
    assert_eq!(
        out.proposals[0]
            .polymarket_yes_token
            .as_ref()
            .map(|t| &*t.symbol),
        Some("8")
    );
    assert!(
        out.rejections
            .iter()
            .any(|r| r.flags.contains(&Flag::EventTimeDiffers))
    );
    // One game only: proposed, with the YES side on Miami (slug position 1).
    let one = r#"[{"ticker":"KXMLBGAME-26MAY081910WSHMIA-MIA","x_event":{"title":"Washington vs Miami"}}]"#;
    let out = run(one, poly);
    assert_eq!(out.proposals.len(), 1);
    assert_eq!(out.proposals[0].kalshi_yes.outcome_index, Some(1));
    assert!(
        out.proposals[0]
            .flags
            .contains(&Flag::OrientationByConvention)
    );
}

#[test]
fn resolution_differences_are_named_flags() {
    // Same proposition; the venues close 3 days apart and name different
    // price sources. Neither blocks, both are flagged for the operator.
    let kalshi = r#"[{"ticker":"KXETHD-26MAR05-T4000","title":"Will Ethereum be above $4,000 on Mar. 5, 2026?","strike_type":"greater","floor_strike":4000,"close_time":"2026-03-05T21:00:00Z","rules_primary":"Settles on the CF Benchmarks Ether Reference Rate."}]"#;
    let poly = r#"[{"conditionId":"0xeth","question":"Ethereum above $4k on March 5, 2026?","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"1\",\"2\"]","endDate":"2026-03-08T21:00:00Z","resolutionSource":"https://www.binance.com/en/trade/ETH_USDT"}]"#;
    let out = run(kalshi, poly);
    assert_eq!(out.proposals.len(), 1, "{:?}", out.rejections);
    let flags = &out.proposals[0].flags;
    assert!(flags.contains(&Flag::CloseTimeDiffers), "{flags:?}");
    assert!(flags.contains(&Flag::ResolutionSourceDiffers), "{flags:?}");
    assert!(flags.iter().all(|f| !f.blocks()));
    // A tolerance wider than the gap removes the close-time flag.
    let k = parse_kalshi_markets(kalshi).unwrap();
    let p = parse_polymarket_markets(poly).unwrap();
    let wide = MatchConfig {
        close_time_tolerance_secs: 4 * 86_400,
        ..MatchConfig::default()
    };
    let out = match_catalogs(&k, &p, &wide);
    assert!(!out.proposals[0].flags.contains(&Flag::CloseTimeDiffers));
}

#[test]
fn season_markets_need_the_same_scope() {
    // Kalshi's NBA champion market against Polymarket's Finals question: the
    // same; against the Eastern Conference question: not.
    let kalshi = r#"[{"ticker":"KXNBA-26-CLE","event_ticker":"KXNBA-26"},{"ticker":"KXNBAEAST-26-NYK","event_ticker":"KXNBAEAST-26"}]"#;
    let poly = r#"[
      {"conditionId":"0xfin","question":"Will the Cleveland Cavaliers win the 2026 NBA Finals?","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"1\",\"2\"]"},
      {"conditionId":"0xeast","question":"Will the Cleveland Cavaliers win the 2026 NBA Eastern Conference Finals?","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"3\",\"4\"]"},
      {"conditionId":"0xnyk","question":"Will the New York Knicks win the 2026 NBA Finals?","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"5\",\"6\"]"},
      {"conditionId":"0xnyke","question":"Will the Knicks win the Eastern Conference in 2026?","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"7\",\"8\"]"}
    ]"#;
    let out = run(kalshi, poly);
    let pairs: Vec<(&str, &str)> = out
        .proposals
        .iter()
        .map(|p| (&*p.kalshi.symbol, &*p.polymarket.symbol))
        .collect();
    if std::env::var("ORION_MATCH_DEBUG").is_ok() {
        use orion_matching::matching::features::{kalshi_features, poly_features};
        let k = parse_kalshi_markets(kalshi).unwrap();
        let p = parse_polymarket_markets(poly).unwrap();
        for f in k.iter().map(kalshi_features) {
            println!("K {:?}", f);
        }
        for f in p.iter().map(poly_features) {
            println!("P {:?}", f);
        }
    }
    assert_eq!(
        pairs,
        vec![("KXNBA-26-CLE", "0xfin"), ("KXNBAEAST-26-NYK", "0xnyke")],
        "{:?}",
        out.rejections
    );
}
