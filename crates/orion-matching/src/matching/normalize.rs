//! Text normalization: one canonical token stream for titles, questions,
//! slugs and tickers from either venue.
//!
//! The two venues write the same proposition differently ("Dec." and
//! "December", "$100k" and "100,000 dollars", "≥" and "at least", "1pt5" in a
//! slug and "1.5" in a title). Everything downstream (entity extraction,
//! blocking, scoring) works on the canonical tokens produced here, so each
//! spelling variant is handled once.
//!
//! Numbers are carried as exact fixed-point values ([`Fixed`], millionths),
//! never as `f64`: a threshold of 0.15 must compare equal to "15 cents" of
//! another venue and different from 0.14, exactly.

use unicode_normalization::UnicodeNormalization;

/// Scale of [`Fixed`]: values are stored in millionths.
pub const FIXED_SCALE: i64 = 1_000_000;

/// An exact decimal number in millionths (6 fractional digits), as written in
/// market text. Enough for crypto strikes down to 0.000001 and for sums up to
/// about 9.2e12, which covers every threshold a market states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fixed(pub i64);

impl Fixed {
    pub const fn from_int(v: i64) -> Fixed {
        Fixed(v.saturating_mul(FIXED_SCALE))
    }

    /// Parses a plain decimal ("100000", "4.25", ".5"); `None` for anything
    /// else, for more than 6 fractional digits or on overflow.
    pub fn parse(text: &str) -> Option<Fixed> {
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || frac_part.len() > 6
        {
            return None;
        }
        let mut v: i64 = 0;
        for b in int_part.bytes() {
            v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
        }
        v = v.checked_mul(FIXED_SCALE)?;
        let mut frac: i64 = 0;
        let mut scale = FIXED_SCALE;
        for b in frac_part.bytes() {
            scale /= 10;
            frac += i64::from(b - b'0') * scale;
        }
        Some(Fixed(v.checked_add(frac)?))
    }

    pub fn checked_mul_int(self, k: i64) -> Option<Fixed> {
        self.0.checked_mul(k).map(Fixed)
    }

    /// Divides by a power of ten (for "cents" in tickers); `None` when digits
    /// would be lost.
    pub fn div_exact(self, k: i64) -> Option<Fixed> {
        if k == 0 || self.0 % k != 0 {
            return None;
        }
        Some(Fixed(self.0 / k))
    }

    /// Shortest decimal form ("100000", "4.25").
    pub fn to_canonical(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let scale = FIXED_SCALE.unsigned_abs();
        let int = abs / scale;
        let frac = abs % scale;
        if frac == 0 {
            return format!("{sign}{int}");
        }
        let mut f = format!("{frac:06}");
        while f.ends_with('0') {
            f.pop();
        }
        format!("{sign}{int}.{f}")
    }
}

impl std::fmt::Display for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

/// One canonical token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Token {
    /// A lower-case word, abbreviations expanded ("december", "versus").
    Word(String),
    /// A number, multipliers applied ("$100k" gives `Currency` then 100000).
    Number(Fixed),
    /// "$", "usd", "dollars" (before or after the number).
    Currency,
    /// "%", "percent", "pct".
    Percent,
    /// "bps", "basis points".
    BasisPoints,
}

impl Token {
    pub fn as_word(&self) -> Option<&str> {
        match self {
            Token::Word(w) => Some(w),
            _ => None,
        }
    }

    /// Text form used for similarity and blocking keys.
    pub fn key(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::Number(n) => n.to_canonical(),
            Token::Currency => "usd".to_owned(),
            Token::Percent => "pct".to_owned(),
            Token::BasisPoints => "bps".to_owned(),
        }
    }
}

/// NFKC, lower case, typographic variants folded, comparison symbols spelled
/// out. Keeps '.', ',', '$', '%', '-' and ':' for the tokenizer.
pub fn fold(text: &str) -> String {
    // NFKC leaves ASCII unchanged; skipping it there halves the cost of
    // feature extraction on large catalogs.
    if text.is_ascii() {
        fold_chars(text.chars(), text.len())
    } else {
        fold_chars(text.nfkc(), text.len())
    }
}

fn fold_chars(chars: impl Iterator<Item = char>, len: usize) -> String {
    let mut out = String::with_capacity(len + 8);
    for c in chars {
        match c {
            '≥' | '⩾' => out.push_str(" at least "),
            '≤' | '⩽' => out.push_str(" at most "),
            '>' => {
                out.push_str(" above ");
            }
            '<' => out.push_str(" below "),
            '‘' | '’' | '`' | '´' => out.push('\''),
            '“' | '”' => out.push('"'),
            '–' | '—' | '−' | '‐' => out.push('-'),
            '€' => out.push_str(" eur "),
            '£' => out.push_str(" gbp "),
            _ => {
                // Strip accents the cheap way: NFKC keeps precomposed
                // letters, so fold the common Latin ones by hand. Names are
                // written with and without diacritics across venues
                // ("Möller", "Moller").
                match fold_accent(c) {
                    Some(s) => out.push_str(s),
                    None => out.extend(c.to_lowercase()),
                }
            }
        }
    }
    // ">=" was turned into " above =": repair the two-character operators.
    if out.contains(" =") {
        out.replace(" above =", " at least ")
            .replace(" below =", " at most ")
    } else {
        out
    }
}

/// [`normalize`] for one word: the cheap path for a plain ASCII word
/// (lower case, abbreviation expanded), the full one otherwise.
pub fn normalize_word(word: &str) -> String {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphabetic()) {
        let lower = word.to_ascii_lowercase();
        return expand_abbreviation(&lower).map_or(lower, str::to_owned);
    }
    normalize(word)
}

fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' | 'ą' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => {
            "a"
        }
        'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' | 'É' | 'È' | 'Ê' | 'Ë' => "e",
        'í' | 'ì' | 'î' | 'ï' | 'ī' | 'Í' | 'Ì' | 'Î' | 'Ï' => "i",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' | 'Ø' => {
            "o"
        }
        'ú' | 'ù' | 'û' | 'ü' | 'ū' | 'ů' | 'Ú' | 'Ù' | 'Û' | 'Ü' => "u",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "c",
        'ñ' | 'ń' | 'Ñ' => "n",
        'š' | 'ś' | 'ş' | 'Š' | 'Ś' | 'Ş' => "s",
        'ž' | 'ź' | 'ż' | 'Ž' | 'Ź' | 'Ż' => "z",
        'ł' | 'Ł' => "l",
        'ř' | 'Ř' => "r",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        'đ' | 'Đ' => "d",
        _ => return None,
    })
}

/// Abbreviations expanded to one canonical word. Months matter most: the
/// seed matcher failed on "Dec." against "December".
fn expand_abbreviation(word: &str) -> Option<&'static str> {
    Some(match word {
        "jan" => "january",
        "feb" => "february",
        "mar" => "march",
        "apr" => "april",
        "jun" => "june",
        "jul" => "july",
        "aug" => "august",
        "sep" | "sept" => "september",
        "oct" => "october",
        "nov" => "november",
        "dec" => "december",
        "vs" | "v" | "versus" => "vs",
        "gov" => "governor",
        "sen" => "senator",
        "rep" => "representative",
        "pres" => "president",
        "potus" => "president",
        "mt" => "mount",
        "ft" => "fort",
        "st" => "saint",
        "govt" => "government",
        "intl" => "international",
        "pt" => "point",
        "mon" => "monday",
        "tue" | "tues" => "tuesday",
        "wed" => "wednesday",
        "thu" | "thur" | "thurs" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        "sun" => "sunday",
        "approx" => "approximately",
        "yr" | "yrs" => "year",
        "mo" | "mos" => "month",
        "q" => "quarter",
        _ => return None,
    })
}

fn small_number(word: &str) -> Option<i64> {
    Some(match word {
        "zero" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

fn multiplier(word: &str) -> Option<i64> {
    Some(match word {
        "k" | "thousand" => 1_000,
        "m" | "mm" | "mn" | "million" | "mil" => 1_000_000,
        "b" | "bn" | "billion" => 1_000_000_000,
        "tn" | "trillion" => 1_000_000_000_000,
        "hundred" => 100,
        _ => return None,
    })
}

/// Splits folded text into raw pieces: words, numbers (with their ',' and '.'
/// and an attached suffix such as "100k" or "1pt5"), and the symbols '$' '%'.
fn raw_pieces(folded: &str) -> Vec<String> {
    let chars: Vec<char> = folded.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
        let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c.is_alphanumeric() {
            cur.push(c);
        } else if (c == '.' || c == ',') && prev_digit && next_digit && !cur.is_empty() {
            // "4.25", "100,000" stay one piece.
            cur.push(c);
        } else if c == '.' && next_digit && cur.is_empty() {
            // ".5"
            cur.push('0');
            cur.push('.');
        } else if c == '\'' {
            // Possessives ("Fed's", "Anyone's") lose their "'s" so that they
            // meet the plain word; a short word keeps the letter ("A's" is
            // the Athletics, "as").
            let s_next = chars.get(i + 1).is_some_and(|n| *n == 's')
                && chars.get(i + 2).is_none_or(|n| !n.is_alphanumeric());
            if s_next && cur.chars().count() >= 3 {
                i += 1;
            }
        } else {
            flush(&mut cur, &mut out);
            if c == '$' || c == '%' {
                out.push(c.to_string());
            }
        }
        i += 1;
    }
    flush(&mut cur, &mut out);
    out
}

/// Parses a number piece: "100,000", "4.25", "100k", "1.5m", "1pt5",
/// "67pt5k". Thousands separators are accepted only in groups of three.
pub fn parse_number_piece(piece: &str) -> Option<Fixed> {
    let lower = piece.to_ascii_lowercase();
    let first = lower.chars().next()?;
    if !first.is_ascii_digit() {
        return None;
    }
    // Split into the numeric head and an alphabetic suffix.
    let head_end = lower
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map_or(lower.len(), |(i, _)| i);
    let (head, suffix) = lower.split_at(head_end);
    // Slug decimals: "1pt5" is 1.5.
    if let Some(rest) = suffix.strip_prefix("pt") {
        let frac_end = rest
            .char_indices()
            .find(|&(_, c)| !c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let (frac, tail) = rest.split_at(frac_end);
        if frac.is_empty() || head.contains('.') || head.contains(',') {
            return None;
        }
        let base = Fixed::parse(&format!("{head}.{frac}"))?;
        return apply_suffix(base, tail);
    }
    let digits = if head.contains(',') {
        let groups: Vec<&str> = head.split(',').collect();
        let (first_group, rest) = groups.split_first()?;
        if first_group.is_empty() || first_group.len() > 3 {
            return None;
        }
        for (n, g) in rest.iter().enumerate() {
            let last = n + 1 == rest.len();
            let int_len = if last {
                g.split('.').next().map_or(0, str::len)
            } else {
                g.len()
            };
            if int_len != 3 {
                return None;
            }
        }
        head.replace(',', "")
    } else {
        head.to_owned()
    };
    let base = Fixed::parse(&digits)?;
    apply_suffix(base, suffix)
}

fn apply_suffix(base: Fixed, suffix: &str) -> Option<Fixed> {
    if suffix.is_empty() {
        return Some(base);
    }
    let k = multiplier(suffix)?;
    base.checked_mul_int(k)
}

fn is_number_piece(piece: &str) -> bool {
    piece.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// The canonical token stream of a text.
pub fn tokenize(text: &str) -> Vec<Token> {
    let folded = fold(text);
    let pieces = raw_pieces(&folded);
    let mut out: Vec<Token> = Vec::with_capacity(pieces.len());
    let mut i = 0;
    while i < pieces.len() {
        let p = pieces[i].as_str();
        if p == "$" {
            out.push(Token::Currency);
            i += 1;
            continue;
        }
        if p == "%" {
            out.push(Token::Percent);
            i += 1;
            continue;
        }
        if is_number_piece(p) {
            match parse_number_piece(p) {
                Some(n) => {
                    // "100 thousand", "1.5 million": a separate multiplier word.
                    let mut value = n;
                    while let Some(next) = pieces.get(i + 1) {
                        match multiplier(next.as_str()) {
                            Some(k) => {
                                match value.checked_mul_int(k) {
                                    Some(v) => value = v,
                                    None => break,
                                }
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(Token::Number(value));
                }
                // "26apr14", "9z": keep as an opaque word.
                None => out.push(Token::Word(p.to_owned())),
            }
            i += 1;
            continue;
        }
        // Written-out numbers: "twenty five", "one hundred thousand".
        if let Some(v) = small_number(p) {
            let mut total: i64 = 0;
            let mut current: i64 = v;
            let mut j = i + 1;
            while let Some(next) = pieces.get(j) {
                let n = next.as_str();
                if let Some(s) = small_number(n) {
                    // "twenty five" adds; "five twenty" is not a number phrase.
                    if current % 10 == 0 && current > 0 && s < 10 && current >= 20 {
                        current += s;
                        j += 1;
                        continue;
                    }
                    break;
                }
                if n == "hundred" {
                    current = current.saturating_mul(100);
                    j += 1;
                    continue;
                }
                if let Some(k) = multiplier(n).filter(|&k| k >= 1_000 && n.len() > 2) {
                    total = total.saturating_add(current.saturating_mul(k));
                    current = 0;
                    j += 1;
                    continue;
                }
                if n == "and" && pieces.get(j + 1).is_some_and(|x| small_number(x).is_some()) {
                    j += 1;
                    continue;
                }
                break;
            }
            total = total.saturating_add(current);
            out.push(Token::Number(Fixed::from_int(total)));
            i = j;
            continue;
        }
        match p {
            "usd" | "dollar" | "dollars" | "usdc" => out.push(Token::Currency),
            "percent" | "pct" | "percentage" => out.push(Token::Percent),
            "bps" | "bp" => out.push(Token::BasisPoints),
            "basis"
                if pieces
                    .get(i + 1)
                    .is_some_and(|n| n == "points" || n == "point") =>
            {
                out.push(Token::BasisPoints);
                i += 1;
            }
            _ => {
                let w = expand_abbreviation(p).map_or_else(|| p.to_owned(), str::to_owned);
                out.push(Token::Word(w));
            }
        }
        i += 1;
    }
    out
}

/// Canonical text: the tokens' keys joined by spaces.
pub fn normalize(text: &str) -> String {
    tokenize(text)
        .iter()
        .map(Token::key)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words that say nothing about which event a market is about; ignored for
/// blocking and discounted in similarity.
pub fn is_stopword(w: &str) -> bool {
    matches!(
        w,
        "the"
            | "a"
            | "an"
            | "of"
            | "in"
            | "on"
            | "at"
            | "to"
            | "by"
            | "for"
            | "will"
            | "be"
            | "is"
            | "vs"
            | "and"
            | "or"
            | "win"
            | "wins"
            | "winner"
            | "who"
            | "what"
            | "which"
            | "than"
            | "before"
            | "after"
            | "end"
            | "this"
            | "that"
            | "with"
            | "from"
            | "game"
            | "match"
            | "market"
            | "price"
            | "close"
            | "team"
            | "gaming"
            | "esports"
            | "fc"
            | "club"
            | "de"
            | "la"
            | "le"
            | "van"
            | "da"
            | "del"
            | "der"
            | "von"
            | "el"
            | "it"
            | "its"
    )
}

/// Generic or location words that occur in many unrelated team names ("New
/// York M" and "New York Y" share two of three words). A match on these
/// alone never identifies a participant.
pub fn is_weak_name_word(w: &str) -> bool {
    is_stopword(w)
        || w.len() <= 2
        || matches!(
            w,
            "new"
                | "york"
                | "los"
                | "angeles"
                | "san"
                | "saint"
                | "city"
                | "united"
                | "real"
                | "north"
                | "south"
                | "east"
                | "west"
                | "state"
                | "university"
                | "athletic"
                | "sporting"
                | "inter"
                | "golden"
                | "bay"
                | "green"
                | "kansas"
                | "las"
                | "tampa"
                | "jersey"
                | "orleans"
                | "carolina"
                | "florida"
                | "texas"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_parses_and_prints_exactly() {
        assert_eq!(Fixed::parse("4.25"), Some(Fixed(4_250_000)));
        assert_eq!(
            Fixed::parse("0.15").map(Fixed::to_canonical).as_deref(),
            Some("0.15")
        );
        assert_eq!(Fixed::parse("1.0000001"), None);
        assert_eq!(Fixed::parse("abc"), None);
        assert_eq!(Fixed::parse("."), None);
        assert_eq!(Fixed::parse("99999999999999999999"), None);
    }

    #[test]
    fn number_spellings_agree() {
        let k = Some(Fixed::from_int(100_000));
        assert_eq!(parse_number_piece("100k"), k);
        assert_eq!(parse_number_piece("100K"), k);
        assert_eq!(parse_number_piece("100,000"), k);
        assert_eq!(parse_number_piece("100000"), k);
        assert_eq!(parse_number_piece("1pt5"), Fixed::parse("1.5"));
        assert_eq!(parse_number_piece("67pt5k"), Some(Fixed::from_int(67_500)));
        assert_eq!(
            parse_number_piece("1,00"),
            None,
            "bad grouping is not a number"
        );
        assert_eq!(normalize("$100k"), "usd 100000");
        assert_eq!(normalize("100,000 dollars"), "100000 usd");
        assert_eq!(normalize("$1.5 million"), "usd 1500000");
        assert_eq!(normalize("one hundred thousand"), "100000");
        assert_eq!(normalize("at least three"), "at least 3");
        assert_eq!(normalize("twenty five"), "25");
    }

    #[test]
    fn abbreviations_and_unicode_fold() {
        assert_eq!(normalize("Dec. 31"), normalize("December 31"));
        assert_eq!(normalize("Sept 5"), "september 5");
        assert_eq!(normalize("Hawks vs. Nuggets"), "hawks vs nuggets");
        assert_eq!(normalize("Möller"), "moller");
        assert_eq!(normalize("ＢＴＣ ≥ 100K"), "btc at least 100000");
        assert_eq!(normalize("x >= 5"), "x at least 5");
        assert_eq!(normalize("A's"), "as");
        assert_eq!(normalize("the Fed's rate"), "the fed rate");
        assert_eq!(normalize("4.25%"), "4.25 pct");
        assert_eq!(normalize("25 basis points"), "25 bps");
    }

    #[test]
    fn word_fast_path_agrees_with_full_normalization() {
        for w in [
            "Dec", "December", "Vs", "Hawks", "Möller", "A's", "9z", "O'Neil",
        ] {
            assert_eq!(normalize_word(w), normalize(w), "{w}");
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for s in [
            "",
            "$",
            "%%%",
            "1,,,",
            "9999999999999999999999k",
            "..5",
            "ﷺ",
            "\u{0}",
        ] {
            let _ = tokenize(s);
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::matching::entities::extract;

    proptest! {
        /// Any text (venue input is untrusted) tokenizes and extracts
        /// without panicking.
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = tokenize(&s);
            let _ = extract(&s);
        }

        /// Every spelling of an integer amount meets the same token.
        #[test]
        fn amount_spellings_agree(v in 1u64..1_000_000_000) {
            let plain = normalize(&format!("${v}"));
            let grouped = {
                let s = v.to_string();
                let mut out = String::new();
                for (i, c) in s.chars().enumerate() {
                    if i > 0 && (s.len() - i).is_multiple_of(3) {
                        out.push(',');
                    }
                    out.push(c);
                }
                out
            };
            prop_assert_eq!(&plain, &normalize(&format!("${grouped}")));
            prop_assert_eq!(&plain, &normalize(&format!("{v} dollars")).replace(&format!("{v} usd"), &format!("usd {v}")));
            if v.is_multiple_of(1000) {
                prop_assert_eq!(&plain, &normalize(&format!("${}k", v / 1000)));
            }
        }

        /// Fixed-point parsing round-trips through its canonical text.
        #[test]
        fn fixed_round_trips(int in 0i64..1_000_000_000, frac in 0i64..1_000_000) {
            let f = Fixed(int * FIXED_SCALE + frac);
            prop_assert_eq!(Fixed::parse(&f.to_canonical()), Some(f));
        }
    }
}
