//! A small gazetteer: leagues, the teams of the North-American leagues (the
//! venues name the same team by code, city or nickname: "DEN", "Denver",
//! "Nuggets"), and crypto assets. Anything not listed falls back to
//! capitalized-span and code matching in the scorer.

use serde::{Deserialize, Serialize};

use super::normalize::normalize;

/// A competition, as far as matching needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum League {
    Mlb,
    Nba,
    Wnba,
    Nhl,
    Nfl,
    CollegeFootball,
    CollegeBasketball,
    /// ATP, ATP Challenger and ITF men's events
    MensTennis,
    /// WTA, WTA 125 and ITF women's events
    WomensTennis,
    LeagueOfLegends,
    CounterStrike,
    Dota2,
    Valorant,
    Cricket,
    Mma,
    Soccer,
    Golf,
}

impl League {
    /// Individual sports where the same two players meet at most once per
    /// tournament, so venues' dates may differ by a day (time zones, a
    /// rescheduled order of play) without changing the fixture.
    pub fn one_fixture_per_pairing(self) -> bool {
        matches!(
            self,
            League::MensTennis | League::WomensTennis | League::Mma | League::Golf
        )
    }

    /// A draw is a possible result, so "A wins" and "B does not win" are not
    /// the same proposition.
    pub fn draws_possible(self) -> bool {
        matches!(
            self,
            League::Soccer | League::Cricket | League::Nfl | League::CollegeFootball
        )
    }

    fn team_table(self) -> &'static [&'static str] {
        match self {
            League::Mlb => MLB,
            League::Nba => NBA,
            League::Nhl => NHL,
            League::Nfl => NFL,
            League::Wnba => WNBA,
            _ => &[],
        }
    }
}

/// League from a Kalshi series ticker ("KXMLBGAME", "KXATPCHALLENGERMATCH").
pub fn league_from_kalshi_series(series: &str) -> Option<League> {
    let s = series.to_ascii_uppercase();
    let s = s.strip_prefix("KX").unwrap_or(&s);
    const PREFIXES: &[(&str, League)] = &[
        ("ATPCHALLENGER", League::MensTennis),
        ("WTACHALLENGER", League::WomensTennis),
        ("ITFW", League::WomensTennis),
        ("ITF", League::MensTennis),
        ("ATP", League::MensTennis),
        ("WTA", League::WomensTennis),
        ("WNBA", League::Wnba),
        ("NBA", League::Nba),
        ("MLB", League::Mlb),
        ("NHL", League::Nhl),
        ("NFL", League::Nfl),
        ("NCAAF", League::CollegeFootball),
        ("NCAAB", League::CollegeBasketball),
        ("NCAAMB", League::CollegeBasketball),
        ("LOL", League::LeagueOfLegends),
        ("CS2", League::CounterStrike),
        ("DOTA", League::Dota2),
        ("VALORANT", League::Valorant),
        ("IPL", League::Cricket),
        ("CRICKET", League::Cricket),
        ("UFC", League::Mma),
        ("EPL", League::Soccer),
        ("MLS", League::Soccer),
        ("UCL", League::Soccer),
        ("LALIGA", League::Soccer),
        ("SERIEA", League::Soccer),
        ("PGA", League::Golf),
    ];
    PREFIXES
        .iter()
        .find(|(p, _)| s.starts_with(p))
        .map(|&(_, l)| l)
}

/// What follows the league in a Kalshi series name ("KXNBAEAST" gives
/// "EAST", "KXNBA" gives ""), or `None` when no league prefix is known.
pub fn kalshi_series_residue(series: &str) -> Option<String> {
    let s = series.to_ascii_uppercase();
    let s = s.strip_prefix("KX").unwrap_or(&s);
    const LEAGUES: &[&str] = &[
        "ATPCHALLENGER",
        "WTACHALLENGER",
        "ITFW",
        "ITF",
        "ATP",
        "WTA",
        "WNBA",
        "NBA",
        "MLB",
        "NHL",
        "NFL",
        "NCAAF",
        "NCAAB",
        "NCAAMB",
        "LOL",
        "CS2",
        "DOTA",
        "VALORANT",
        "IPL",
        "UFC",
        "EPL",
        "MLS",
        "UCL",
        "LALIGA",
        "SERIEA",
        "PGA",
    ];
    LEAGUES
        .iter()
        .find(|p| s.starts_with(*p))
        .map(|p| s[p.len()..].to_owned())
}

/// Qualifiers of a season-long market ("Eastern Conference", "MVP"): two
/// season markets of one team and year are the same only with the same
/// qualifiers ("win the NBA Finals" is not "win the East").
pub fn season_scope_from_words(words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = words
        .iter()
        .filter_map(|w| {
            Some(match *w {
                "east" | "eastern" => "east",
                "west" | "western" => "west",
                "conference" | "conf" => "conference",
                "division" | "div" => "division",
                "mvp" => "mvp",
                "rookie" | "roy" => "rookie",
                "playoffs" | "playoff" | "postseason" => "playoffs",
                "seed" => "seed",
                "coach" => "coach",
                "defensive" | "dpoy" => "defensive",
                "wildcard" | "wild" => "wildcard",
                "american" | "al" | "afc" => "american",
                "national" | "nl" | "nfc" => "national",
                _ => return None,
            })
        })
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Season qualifiers a Kalshi series residue implies ("EAST", "MVP", "").
pub fn season_scope_from_series_residue(residue: &str) -> Vec<String> {
    let words: &[&str] = match residue {
        "" => &[],
        "EAST" | "ECF" | "EASTERN" => &["east", "conference"],
        "WEST" | "WCF" | "WESTERN" => &["west", "conference"],
        "MVP" => &["mvp"],
        "ROY" => &["rookie"],
        "AL" | "ALCS" => &["american"],
        "NL" | "NLCS" => &["national"],
        "AFC" => &["american"],
        "NFC" => &["national"],
        "PLAYOFFS" => &["playoffs"],
        // Unknown: never equal to anything a question says.
        other => return vec![format!("series:{other}")],
    };
    season_scope_from_words(words)
}

/// League from a Polymarket slug prefix or `x_league` ("mlb-2026", "atp").
pub fn league_from_word(word: &str) -> Option<League> {
    let w = word.to_ascii_lowercase();
    let w = w.split('-').next().unwrap_or("");
    Some(match w {
        "mlb" => League::Mlb,
        "nba" => League::Nba,
        "wnba" => League::Wnba,
        "nhl" => League::Nhl,
        "nfl" => League::Nfl,
        "cfb" | "ncaaf" => League::CollegeFootball,
        "cbb" | "ncaab" => League::CollegeBasketball,
        "atp" | "itf" => League::MensTennis,
        "wta" | "itfw" => League::WomensTennis,
        "lol" | "league" => League::LeagueOfLegends,
        "cs2" | "csgo" => League::CounterStrike,
        "dota2" | "dota" => League::Dota2,
        "val" | "valorant" => League::Valorant,
        "ipl" | "cricket" => League::Cricket,
        "ufc" | "mma" => League::Mma,
        "epl" | "mls" | "ucl" | "laliga" | "soccer" => League::Soccer,
        "pga" | "golf" => League::Golf,
        _ => return None,
    })
}

/// League from a Kalshi competition name ("Pro Baseball", "ATP Rome").
pub fn league_from_competition(text: &str) -> Option<League> {
    let n = normalize(text);
    let has = |w: &str| n.split(' ').any(|x| x == w);
    if n.starts_with("pro baseball") {
        return Some(League::Mlb);
    }
    if n.starts_with("pro basketball") {
        return Some(if has("w") { League::Wnba } else { League::Nba });
    }
    if n.starts_with("pro football") {
        return Some(League::Nfl);
    }
    if n.starts_with("league of legends") {
        return Some(League::LeagueOfLegends);
    }
    if has("wta") {
        return Some(League::WomensTennis);
    }
    n.split(' ').find_map(league_from_word)
}

/// One team of a league.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TeamRef {
    pub league: League,
    pub index: u16,
}

/// Teams: "CODE,ALIAS|City|Nickname/Alias". Codes are what tickers and slugs
/// use; the city with a nickname initial disambiguates shared cities ("New
/// York M" is the Mets).
const MLB: &[&str] = &[
    "ARI,AZ|Arizona|Diamondbacks/Dbacks",
    "ATH,OAK|Athletics|Athletics/As",
    "ATL|Atlanta|Braves",
    "BAL|Baltimore|Orioles",
    "BOS|Boston|Red Sox",
    "CHC|Chicago|Cubs",
    "CWS,CHW|Chicago|White Sox",
    "CIN|Cincinnati|Reds",
    "CLE|Cleveland|Guardians",
    "COL|Colorado|Rockies",
    "DET|Detroit|Tigers",
    "HOU|Houston|Astros",
    "KC,KCR|Kansas City|Royals",
    "LAA,ANA|Los Angeles|Angels",
    "LAD|Los Angeles|Dodgers",
    "MIA|Miami|Marlins",
    "MIL|Milwaukee|Brewers",
    "MIN|Minnesota|Twins",
    "NYM|New York|Mets",
    "NYY|New York|Yankees",
    "PHI|Philadelphia|Phillies",
    "PIT|Pittsburgh|Pirates",
    "SD,SDP|San Diego|Padres",
    "SF,SFG|San Francisco|Giants",
    "SEA|Seattle|Mariners",
    "STL|St. Louis|Cardinals",
    "TB,TBR|Tampa Bay|Rays",
    "TEX|Texas|Rangers",
    "TOR|Toronto|Blue Jays",
    "WSH,WAS,WSN|Washington|Nationals",
];

const NBA: &[&str] = &[
    "ATL|Atlanta|Hawks",
    "BOS|Boston|Celtics",
    "BKN,BRK|Brooklyn|Nets",
    "CHA,CHO|Charlotte|Hornets",
    "CHI|Chicago|Bulls",
    "CLE|Cleveland|Cavaliers/Cavs",
    "DAL|Dallas|Mavericks/Mavs",
    "DEN|Denver|Nuggets",
    "DET|Detroit|Pistons",
    "GSW,GS|Golden State|Warriors",
    "HOU|Houston|Rockets",
    "IND|Indiana|Pacers",
    "LAC|Los Angeles|Clippers",
    "LAL|Los Angeles|Lakers",
    "MEM|Memphis|Grizzlies",
    "MIA|Miami|Heat",
    "MIL|Milwaukee|Bucks",
    "MIN|Minnesota|Timberwolves/Wolves",
    "NOP,NO|New Orleans|Pelicans",
    "NYK,NY|New York|Knicks",
    "OKC|Oklahoma City|Thunder",
    "ORL|Orlando|Magic",
    "PHI|Philadelphia|76ers/Sixers",
    "PHX,PHO|Phoenix|Suns",
    "POR|Portland|Trail Blazers/Blazers",
    "SAC|Sacramento|Kings",
    "SAS,SA|San Antonio|Spurs",
    "TOR|Toronto|Raptors",
    "UTA,UTAH|Utah|Jazz",
    "WAS,WSH|Washington|Wizards",
];

const NHL: &[&str] = &[
    "ANA|Anaheim|Ducks",
    "BOS|Boston|Bruins",
    "BUF|Buffalo|Sabres",
    "CGY|Calgary|Flames",
    "CAR|Carolina|Hurricanes",
    "CHI|Chicago|Blackhawks",
    "COL|Colorado|Avalanche",
    "CBJ|Columbus|Blue Jackets",
    "DAL|Dallas|Stars",
    "DET|Detroit|Red Wings",
    "EDM|Edmonton|Oilers",
    "FLA|Florida|Panthers",
    "LA,LAK|Los Angeles|Kings",
    "MIN|Minnesota|Wild",
    "MTL|Montreal|Canadiens",
    "NSH|Nashville|Predators",
    "NJ,NJD|New Jersey|Devils",
    "NYI|New York|Islanders",
    "NYR|New York|Rangers",
    "OTT|Ottawa|Senators",
    "PHI|Philadelphia|Flyers",
    "PIT|Pittsburgh|Penguins",
    "SJ,SJS|San Jose|Sharks",
    "SEA|Seattle|Kraken",
    "STL|St. Louis|Blues",
    "TB,TBL|Tampa Bay|Lightning",
    "TOR|Toronto|Maple Leafs",
    "UTA|Utah|Mammoth",
    "VAN|Vancouver|Canucks",
    "VGK,VEG|Vegas|Golden Knights",
    "WSH,WAS|Washington|Capitals",
    "WPG|Winnipeg|Jets",
];

const NFL: &[&str] = &[
    "ARI|Arizona|Cardinals",
    "ATL|Atlanta|Falcons",
    "BAL|Baltimore|Ravens",
    "BUF|Buffalo|Bills",
    "CAR|Carolina|Panthers",
    "CHI|Chicago|Bears",
    "CIN|Cincinnati|Bengals",
    "CLE|Cleveland|Browns",
    "DAL|Dallas|Cowboys",
    "DEN|Denver|Broncos",
    "DET|Detroit|Lions",
    "GB|Green Bay|Packers",
    "HOU|Houston|Texans",
    "IND|Indianapolis|Colts",
    "JAX,JAC|Jacksonville|Jaguars",
    "KC|Kansas City|Chiefs",
    "LV,LVR|Las Vegas|Raiders",
    "LAC|Los Angeles|Chargers",
    "LAR,LA|Los Angeles|Rams",
    "MIA|Miami|Dolphins",
    "MIN|Minnesota|Vikings",
    "NE|New England|Patriots",
    "NO|New Orleans|Saints",
    "NYG|New York|Giants",
    "NYJ|New York|Jets",
    "PHI|Philadelphia|Eagles",
    "PIT|Pittsburgh|Steelers",
    "SF|San Francisco|49ers",
    "SEA|Seattle|Seahawks",
    "TB|Tampa Bay|Buccaneers/Bucs",
    "TEN|Tennessee|Titans",
    "WAS,WSH|Washington|Commanders",
];

const WNBA: &[&str] = &[
    "ATL|Atlanta|Dream",
    "CHI|Chicago|Sky",
    "CON,CONN|Connecticut|Sun",
    "DAL|Dallas|Wings",
    "GSV,GS|Golden State|Valkyries",
    "IND|Indiana|Fever",
    "LV,LVA|Las Vegas|Aces",
    "LA,LAS|Los Angeles|Sparks",
    "MIN|Minnesota|Lynx",
    "NY,NYL|New York|Liberty",
    "PHX,PHO|Phoenix|Mercury",
    "SEA|Seattle|Storm",
    "WSH,WAS|Washington|Mystics",
    "TOR|Toronto|Tempo",
    "POR|Portland|Fire",
];

struct TeamRow {
    codes: Vec<&'static str>,
    city: String,
    nicknames: Vec<String>,
}

fn parse_row(row: &'static str) -> TeamRow {
    let mut parts = row.split('|');
    let codes = parts.next().unwrap_or("").split(',').collect();
    let city = normalize(parts.next().unwrap_or(""));
    let nicknames = parts
        .next()
        .unwrap_or("")
        .split('/')
        .map(normalize)
        .collect();
    TeamRow {
        codes,
        city,
        nicknames,
    }
}

/// Parsed team tables, built once: matching looks teams up for every
/// participant of every market, and normalizing the rows each time would
/// dominate the run time of a 10,000-market catalog.
fn rows(league: League) -> &'static [TeamRow] {
    use std::sync::OnceLock;
    static MLB_ROWS: OnceLock<Vec<TeamRow>> = OnceLock::new();
    static NBA_ROWS: OnceLock<Vec<TeamRow>> = OnceLock::new();
    static NHL_ROWS: OnceLock<Vec<TeamRow>> = OnceLock::new();
    static NFL_ROWS: OnceLock<Vec<TeamRow>> = OnceLock::new();
    static WNBA_ROWS: OnceLock<Vec<TeamRow>> = OnceLock::new();
    let cell = match league {
        League::Mlb => &MLB_ROWS,
        League::Nba => &NBA_ROWS,
        League::Nhl => &NHL_ROWS,
        League::Nfl => &NFL_ROWS,
        League::Wnba => &WNBA_ROWS,
        _ => return &[],
    };
    cell.get_or_init(|| league.team_table().iter().map(|r| parse_row(r)).collect())
}

/// Canonical code of a team ("LAD").
pub fn team_code(team: TeamRef) -> &'static str {
    team.league
        .team_table()
        .get(usize::from(team.index))
        .and_then(|r| r.split('|').next())
        .and_then(|c| c.split(',').next())
        .unwrap_or("")
}

/// Display name of a team ("Los Angeles Dodgers").
pub fn team_name(team: TeamRef) -> String {
    match team.league.team_table().get(usize::from(team.index)) {
        Some(row) => {
            let mut p = row.split('|');
            let _ = p.next();
            let city = p.next().unwrap_or("");
            let nick = p.next().unwrap_or("").split('/').next().unwrap_or("");
            format!("{city} {nick}")
        }
        None => String::new(),
    }
}

/// The team a code names in a league.
pub fn team_by_code(league: League, code: &str) -> Option<TeamRef> {
    let code = code.to_ascii_uppercase();
    rows(league)
        .iter()
        .position(|row| row.codes.iter().any(|c| *c == code))
        .and_then(|i| u16::try_from(i).ok())
        .map(|index| TeamRef { league, index })
}

fn contains_seq(hay: &[&str], needle: &[&str]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The team a name means in a league: "Nuggets", "Denver", "Denver Nuggets",
/// "Los Angeles D", "ana ducks", "A's". `None` when unknown or ambiguous.
pub fn team_by_name(league: League, name: &str) -> Option<TeamRef> {
    let n = normalize(name);
    let words: Vec<&str> = n.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return None;
    }
    let rows = rows(league);
    let mut found: Option<usize> = None;
    let set = |i: usize, found: &mut Option<usize>| -> bool {
        match *found {
            Some(j) if j != i => false,
            _ => {
                *found = Some(i);
                true
            }
        }
    };
    // Nickname anywhere in the name.
    for (i, row) in rows.iter().enumerate() {
        for nick in &row.nicknames {
            let nw: Vec<&str> = nick.split(' ').collect();
            if contains_seq(&words, &nw) && !set(i, &mut found) {
                return None;
            }
        }
    }
    if found.is_some() {
        return found
            .and_then(|i| u16::try_from(i).ok())
            .map(|index| TeamRef { league, index });
    }
    // City, possibly followed by a nickname initial ("Los Angeles A"), or a
    // code followed by anything ("ana ducks" was caught above).
    let candidates: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let cw: Vec<&str> = r.city.split(' ').collect();
            words.len() >= cw.len() && words[..cw.len()] == cw[..]
        })
        .map(|(i, _)| i)
        .collect();
    match candidates.as_slice() {
        [] => None,
        [one] => {
            let cw = rows[*one].city.split(' ').count();
            // "Chicago" alone in a league with one Chicago team; extra words
            // must not name something else.
            if words.len() == cw || words.len() == cw + 1 {
                u16::try_from(*one)
                    .ok()
                    .map(|index| TeamRef { league, index })
            } else {
                None
            }
        }
        many => {
            let cw = rows[many[0]].city.split(' ').count();
            let initial = words.get(cw)?;
            if words.len() != cw + 1 {
                return None;
            }
            let hits: Vec<usize> = many
                .iter()
                .copied()
                .filter(|&i| {
                    rows[i].nicknames.iter().any(|nk| nk.starts_with(initial))
                        || rows[i]
                            .codes
                            .iter()
                            .any(|c| c.to_ascii_lowercase().ends_with(initial))
                })
                .collect();
            match hits.as_slice() {
                [one] => u16::try_from(*one)
                    .ok()
                    .map(|index| TeamRef { league, index }),
                _ => None,
            }
        }
    }
}

/// Teams named anywhere in a free text ("Will the Cleveland Cavaliers win
/// the 2026 NBA Finals?"), by nickname only: cities alone are too ambiguous
/// in prose.
pub fn teams_in_text(league: League, text: &str) -> Vec<TeamRef> {
    let n = normalize(text);
    let words: Vec<&str> = n.split(' ').collect();
    teams_in_words(league, &words)
}

/// [`teams_in_text`] over already normalized words.
pub fn teams_in_words(league: League, words: &[&str]) -> Vec<TeamRef> {
    let mut out = Vec::new();
    for (i, r) in rows(league).iter().enumerate() {
        if r.nicknames.iter().any(|nk| {
            let nw: Vec<&str> = nk.split(' ').collect();
            contains_seq(words, &nw)
        }) && let Ok(index) = u16::try_from(i)
        {
            out.push(TeamRef { league, index });
        }
    }
    out
}

/// Crypto assets by ticker and name.
const ASSETS: &[(&str, &[&str])] = &[
    ("BTC", &["btc", "bitcoin", "xbt"]),
    ("ETH", &["eth", "ethereum", "ether"]),
    ("SOL", &["sol", "solana"]),
    ("XRP", &["xrp", "ripple"]),
    ("DOGE", &["doge", "dogecoin"]),
    ("BNB", &["bnb"]),
    ("HYPE", &["hype", "hyperliquid"]),
    ("ADA", &["ada", "cardano"]),
    ("LTC", &["ltc", "litecoin"]),
    ("AVAX", &["avax", "avalanche"]),
    ("LINK", &["chainlink"]),
    ("SUI", &["sui"]),
    ("SHIB", &["shib", "shiba"]),
    ("DOT", &["polkadot"]),
    ("TRX", &["tron", "trx"]),
];

/// The crypto asset a word names ("bitcoin" and "btc" are both BTC).
pub fn asset_from_word(word: &str) -> Option<&'static str> {
    let w = word.to_ascii_lowercase();
    ASSETS
        .iter()
        .find(|(_, names)| names.contains(&w.as_str()))
        .map(|&(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leagues_from_every_source() {
        assert_eq!(
            league_from_kalshi_series("KXATPCHALLENGERMATCH"),
            Some(League::MensTennis)
        );
        assert_eq!(
            league_from_kalshi_series("KXITFWMATCH"),
            Some(League::WomensTennis)
        );
        assert_eq!(league_from_kalshi_series("KXWNBAGAME"), Some(League::Wnba));
        assert_eq!(league_from_word("mlb-2026"), Some(League::Mlb));
        assert_eq!(
            league_from_competition("Pro Basketball (W)"),
            Some(League::Wnba)
        );
        assert_eq!(
            league_from_competition("ATP Challenger Busan"),
            Some(League::MensTennis)
        );
    }

    #[test]
    fn teams_by_code_city_and_nickname() {
        let den = team_by_code(League::Nba, "DEN");
        assert!(den.is_some());
        assert_eq!(team_by_name(League::Nba, "Nuggets"), den);
        assert_eq!(team_by_name(League::Nba, "Denver"), den);
        assert_eq!(team_by_name(League::Nba, "Denver Nuggets"), den);
        assert_eq!(
            team_by_name(League::Mlb, "Los Angeles D"),
            team_by_code(League::Mlb, "LAD")
        );
        assert_eq!(
            team_by_name(League::Mlb, "New York M"),
            team_by_code(League::Mlb, "NYM")
        );
        assert_eq!(
            team_by_name(League::Mlb, "new york yankees"),
            team_by_code(League::Mlb, "NYY")
        );
        assert_eq!(
            team_by_name(League::Mlb, "A's"),
            team_by_code(League::Mlb, "ATH")
        );
        assert_eq!(
            team_by_name(League::Nhl, "ana ducks"),
            team_by_code(League::Nhl, "ANA")
        );
        assert_eq!(
            team_by_name(League::Nba, "Los Angeles"),
            None,
            "two LA teams"
        );
        assert_eq!(
            team_by_name(League::Nba, "Los Angeles L"),
            team_by_code(League::Nba, "LAL")
        );
        assert_eq!(
            team_code(team_by_code(League::Mlb, "WAS").unwrap_or(TeamRef {
                league: League::Mlb,
                index: 0
            })),
            "WSH"
        );
        assert_eq!(asset_from_word("Bitcoin"), Some("BTC"));
    }
}
