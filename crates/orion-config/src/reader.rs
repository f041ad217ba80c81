//! A TOML reader that collects every problem instead of stopping at the first.
//!
//! serde's derive stops at the first error, which makes an operator fix a
//! file one mistake per run. The reader walks the parsed table key by key,
//! records each problem with its full key path and what is allowed, falls back
//! to the default so later checks can still run, and finally reports every key
//! that nothing asked for as unknown.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use orion_core::{Cash, Fraction, Price, Quantity};
use toml::{Table, Value};

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `risk.max_open_positions`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// A string value as quoted in a problem, cut like [`shown`]: a pasted
/// 100 KB value must not come back whole in the error and the logs.
fn shown_str(v: &str) -> String {
    shown(&Value::String(v.to_owned()))
}

fn shown(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// Walks a parsed document, collecting problems and the keys it visited.
#[derive(Debug, Default)]
pub struct Reader {
    problems: Vec<Problem>,
    visited: BTreeSet<String>,
}

/// A section of the document being read (a TOML table at `path`).
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    table: Option<&'a Table>,
    path: &'a str,
}

impl<'a> Section<'a> {
    pub fn path(&self) -> &'a str {
        self.path
    }
}

impl Reader {
    pub fn new() -> Reader {
        Reader::default()
    }

    /// The problems found so far.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Every key path a reader asked for (the schema, when run over any file).
    pub fn visited(&self) -> &BTreeSet<String> {
        &self.visited
    }

    pub fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    fn full(path: &str, key: &str) -> String {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    }

    /// The root section.
    pub fn root<'a>(&mut self, table: &'a Table) -> Section<'a> {
        Section {
            table: Some(table),
            path: "",
        }
    }

    /// A sub-table; absent means "all defaults"; anything else is a problem.
    pub fn section<'a>(&mut self, parent: Section<'a>, key: &str, path: &'a str) -> Section<'a> {
        self.visited.insert(path.to_string());
        let table = match parent.table.and_then(|t| t.get(key)) {
            None => None,
            Some(Value::Table(t)) => Some(t),
            Some(other) => {
                self.problem(
                    path,
                    format!("expected a table [{path}], found {}", type_name(other)),
                );
                None
            }
        };
        Section { table, path }
    }

    fn raw<'a>(&mut self, section: Section<'a>, key: &str) -> Option<&'a Value> {
        self.visited.insert(Self::full(section.path, key));
        section.table.and_then(|t| t.get(key))
    }

    pub fn bool(&mut self, s: Section<'_>, key: &str, default: bool) -> bool {
        match self.raw(s, key) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(other) => {
                self.problem(
                    Self::full(s.path, key),
                    format!("expected true or false, found {}", shown(other)),
                );
                default
            }
        }
    }

    pub fn int(&mut self, s: Section<'_>, key: &str, default: i64, min: i64, max: i64) -> i64 {
        match self.raw(s, key) {
            None => default,
            Some(Value::Integer(i)) if (min..=max).contains(i) => *i,
            Some(other) => {
                self.problem(
                    Self::full(s.path, key),
                    format!(
                        "expected an integer in {min}..={max}, found {}",
                        shown(other)
                    ),
                );
                default
            }
        }
    }

    /// An unsigned integer in `min..=max` (bounds are what the caller's type holds).
    pub fn uint(&mut self, s: Section<'_>, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let lo = i64::try_from(min).unwrap_or(i64::MAX);
        let hi = i64::try_from(max).unwrap_or(i64::MAX);
        let fallback = i64::try_from(default).unwrap_or(hi);
        // The reader returns a value inside lo..=hi (or the default), all non-negative.
        u64::try_from(self.int(s, key, fallback, lo, hi)).unwrap_or(default)
    }

    pub fn string(&mut self, s: Section<'_>, key: &str, default: &str) -> String {
        match self.raw(s, key) {
            None => default.to_string(),
            Some(Value::String(v)) => v.clone(),
            Some(other) => {
                self.problem(
                    Self::full(s.path, key),
                    format!("expected a string, found {}", shown(other)),
                );
                default.to_string()
            }
        }
    }

    /// A non-empty string.
    pub fn name(&mut self, s: Section<'_>, key: &str, default: &str) -> String {
        let value = self.string(s, key, default);
        if value.trim().is_empty() {
            self.problem(Self::full(s.path, key), "must not be empty");
            return default.to_string();
        }
        value
    }

    /// One of a fixed set of strings.
    pub fn choice<T: Copy>(
        &mut self,
        s: Section<'_>,
        key: &str,
        default: T,
        choices: &[(&str, T)],
    ) -> T {
        let allowed = || {
            choices
                .iter()
                .map(|(n, _)| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.raw(s, key) {
            None => default,
            Some(Value::String(v)) => match choices.iter().find(|(n, _)| n == v) {
                Some((_, value)) => *value,
                None => {
                    self.problem(
                        Self::full(s.path, key),
                        format!("expected one of {}, found {}", allowed(), shown_str(v)),
                    );
                    default
                }
            },
            Some(other) => {
                self.problem(
                    Self::full(s.path, key),
                    format!("expected one of {}, found {}", allowed(), shown(other)),
                );
                default
            }
        }
    }

    fn decimal<T>(
        &mut self,
        s: Section<'_>,
        key: &str,
        default: T,
        what: &str,
        example: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        match self.raw(s, key) {
            None => default,
            Some(Value::String(v)) => match parse(v) {
                Ok(value) => value,
                Err(reason) => {
                    self.problem(
                        Self::full(s.path, key),
                        format!("expected {what}, {reason}"),
                    );
                    default
                }
            },
            Some(Value::Integer(i)) => match parse(&i.to_string()) {
                Ok(value) => value,
                Err(reason) => {
                    self.problem(
                        Self::full(s.path, key),
                        format!("expected {what}, {reason}"),
                    );
                    default
                }
            },
            Some(other) => {
                self.problem(
                    Self::full(s.path, key),
                    format!(
                        "expected {what} as a quoted decimal string such as \"{example}\" (parsed exactly, never through floating point), found {}",
                        shown(other)
                    ),
                );
                default
            }
        }
    }

    /// A price in dollars per contract, "0..1".
    pub fn price(
        &mut self,
        s: Section<'_>,
        key: &str,
        default: Price,
        min: Price,
        max: Price,
    ) -> Price {
        let value = self.decimal(s, key, default, "a price in dollars", "0.01", |t| {
            Price::parse(t).map_err(|e| e.to_string())
        });
        if value < min || value > max {
            self.problem(
                Self::full(s.path, key),
                format!("must be within {min}..={max} dollars, found {value}"),
            );
            return default;
        }
        value
    }

    /// A fraction in 0..=1 written as a decimal string ("0.05").
    pub fn fraction(&mut self, s: Section<'_>, key: &str, default: Fraction) -> Fraction {
        self.decimal(s, key, default, "a fraction between 0 and 1", "0.05", |t| {
            Fraction::parse(t).map_err(|e| e.to_string())
        })
    }

    /// A non-negative dollar amount.
    pub fn cash(&mut self, s: Section<'_>, key: &str, default: Cash) -> Cash {
        let value = self.decimal(s, key, default, "a dollar amount", "25.00", |t| {
            Cash::parse(t).map_err(|e| e.to_string())
        });
        if value.is_negative() {
            self.problem(
                Self::full(s.path, key),
                format!("must not be negative, found {value}"),
            );
            return default;
        }
        value
    }

    /// A number of contracts.
    pub fn quantity(&mut self, s: Section<'_>, key: &str, default: Quantity) -> Quantity {
        self.decimal(s, key, default, "a number of contracts", "1", |t| {
            Quantity::parse(t).map_err(|e| e.to_string())
        })
    }

    /// A `host:port` socket address.
    pub fn socket_addr(&mut self, s: Section<'_>, key: &str, default: SocketAddr) -> SocketAddr {
        let text = self.string(s, key, &default.to_string());
        match text.parse() {
            Ok(addr) => addr,
            Err(_) => {
                self.problem(
                    Self::full(s.path, key),
                    format!(
                        "expected an IP address and port such as \"127.0.0.1:8080\", found {}",
                        shown_str(&text)
                    ),
                );
                default
            }
        }
    }

    pub fn path(&mut self, s: Section<'_>, key: &str, default: &str) -> PathBuf {
        PathBuf::from(self.name(s, key, default))
    }

    /// An `http(s)://` or `ws(s)://` URL (checked for shape only).
    pub fn url(&mut self, s: Section<'_>, key: &str, default: &str, schemes: &[&str]) -> String {
        let value = self.string(s, key, default);
        let ok = schemes.iter().any(|scheme| {
            value
                .strip_prefix(scheme)
                .and_then(|rest| rest.strip_prefix("://"))
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
        });
        if !ok {
            self.problem(
                Self::full(s.path, key),
                format!(
                    "expected a URL starting with {}, found {}",
                    schemes
                        .iter()
                        .map(|s| format!("{s}://"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    shown_str(&value)
                ),
            );
            return default.to_string();
        }
        value
    }

    pub fn string_list(&mut self, s: Section<'_>, key: &str) -> Vec<String> {
        match self.raw(s, key) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(v) => out.push(v.clone()),
                        other => self.problem(
                            format!("{}[{i}]", Self::full(s.path, key)),
                            format!("expected a string, found {}", shown(other)),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.problem(
                    Self::full(s.path, key),
                    format!("expected an array of strings, found {}", shown(other)),
                );
                Vec::new()
            }
        }
    }

    /// Reports every key of `table` (recursively) that the schema never asked for.
    pub fn report_unknown(&mut self, table: &Table, path: &str) {
        for (key, value) in table {
            let full = Self::full(path, key);
            if !self.visited.contains(&full) {
                let hint = secret_hint(key);
                self.problem(full, format!("unknown key{hint}"));
                continue;
            }
            if let Value::Table(inner) = value {
                self.report_unknown(inner, &full);
            }
        }
    }
}

/// Secrets never live in the config file; point the operator at the vault.
fn secret_hint(key: &str) -> &'static str {
    let lower = key.to_ascii_lowercase();
    let secretish = [
        "password",
        "secret",
        "private_key",
        "passphrase",
        "token",
        "api_key",
    ];
    if secretish.iter().any(|s| lower.contains(s)) && !lower.ends_with("_secret") {
        " (secrets never go in the config file: store them with `orion-admin secrets set NAME` and refer to them by name)"
    } else {
        ""
    }
}
