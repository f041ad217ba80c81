//! Path-aware decoding of venue JSON into orion-core types.
//!
//! Every response is parsed into a `serde_json::Value` and read through
//! [`Node`], which knows where it is (`orderbook_fp.yes_dollars[3][0]`), so
//! any bad input becomes a [`DecodeError`] naming the venue and the field;
//! nothing here can panic on venue input. Numbers arrive as decimal strings
//! and are converted exactly (no floating point): prices must lie in the
//! stated range, quantities and cash must not carry more than six decimals.

use std::fmt;

use orion_core::{Cash, GatewayError, InstrumentId, MarketDataError, Price, Quantity, Venue};
use serde_json::{Map, Value};

/// Longest string accepted for identifiers (tickers, ids, hashes).
pub const MAX_ID: usize = 128;
/// Longest free text accepted (titles, rules).
pub const MAX_TEXT: usize = 64 * 1024;

/// A venue response could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{venue}: bad response in field {field}: {detail}")]
pub struct DecodeError {
    pub venue: Venue,
    pub field: String,
    pub detail: String,
}

impl From<DecodeError> for GatewayError {
    fn from(e: DecodeError) -> GatewayError {
        GatewayError::Decode {
            venue: e.venue,
            field: e.field,
            detail: e.detail,
        }
    }
}

impl From<DecodeError> for MarketDataError {
    fn from(e: DecodeError) -> MarketDataError {
        MarketDataError::Decode {
            venue: e.venue,
            field: e.field,
            detail: e.detail,
        }
    }
}

/// Parses a whole body.
pub fn parse(venue: Venue, bytes: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(bytes).map_err(|e| DecodeError {
        venue,
        field: "<body>".into(),
        detail: format!("not valid JSON: {e}"),
    })
}

/// A value and where it is.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub venue: Venue,
    pub value: &'a Value,
    path: Path<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(parent, k) => {
                if matches!(parent, Path::Root) {
                    write!(f, "{k}")
                } else {
                    write!(f, "{parent}.{k}")
                }
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Node<'a> {
    pub fn root(venue: Venue, value: &'a Value) -> Node<'a> {
        Node {
            venue,
            value,
            path: Path::Root,
        }
    }

    /// The dotted path of this node ("<body>" at the root).
    pub fn path(&self) -> String {
        match self.path {
            Path::Root => "<body>".into(),
            p => p.to_string(),
        }
    }

    pub fn err(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError {
            venue: self.venue,
            field: self.path(),
            detail: detail.into(),
        }
    }

    fn child_err(&self, key: &str, detail: impl Into<String>) -> DecodeError {
        let field = match self.path {
            Path::Root => key.to_string(),
            p => format!("{p}.{key}"),
        };
        DecodeError {
            venue: self.venue,
            field,
            detail: detail.into(),
        }
    }

    pub fn object(&self) -> Result<&'a Map<String, Value>, DecodeError> {
        self.value.as_object().ok_or_else(|| {
            self.err(format!(
                "expected an object, found {}",
                describe(self.value)
            ))
        })
    }

    /// Calls `f` with the child node at `key` (missing or null → `None`).
    /// The closure form lets the child borrow this node's path.
    pub fn with_opt<T>(
        &self,
        key: &str,
        f: impl FnOnce(Node<'_>) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let obj = self.object()?;
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let path = self.path;
                f(Node {
                    venue: self.venue,
                    value: v,
                    path: Path::Key(&path, key),
                })
                .map(Some)
            }
        }
    }

    /// Like [`Node::with_opt`], but the field is required.
    pub fn with<T>(
        &self,
        key: &str,
        f: impl FnOnce(Node<'_>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        self.with_opt(key, f)?
            .ok_or_else(|| self.child_err(key, "missing"))
    }

    /// Calls `f` for each element of this array.
    pub fn each<T>(
        &self,
        mut f: impl FnMut(Node<'_>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let items = self.value.as_array().ok_or_else(|| {
            self.err(format!("expected an array, found {}", describe(self.value)))
        })?;
        let path = self.path;
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.iter().enumerate() {
            out.push(f(Node {
                venue: self.venue,
                value: v,
                path: Path::Index(&path, i),
            })?);
        }
        Ok(out)
    }

    /// Element `i` of a fixed-size array (e.g. a `[price, size]` level).
    pub fn at<T>(
        &self,
        i: usize,
        f: impl FnOnce(Node<'_>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        let items = self.value.as_array().ok_or_else(|| {
            self.err(format!("expected an array, found {}", describe(self.value)))
        })?;
        let v = items
            .get(i)
            .ok_or_else(|| self.err(format!("expected at least {} elements", i + 1)))?;
        let path = self.path;
        f(Node {
            venue: self.venue,
            value: v,
            path: Path::Index(&path, i),
        })
    }

    pub fn len(&self) -> Option<usize> {
        self.value.as_array().map(Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len().is_none_or(|n| n == 0)
    }

    // ---------------------------------------------------------- leaves

    pub fn str(&self) -> Result<&'a str, DecodeError> {
        let s = self.value.as_str().ok_or_else(|| {
            self.err(format!("expected a string, found {}", describe(self.value)))
        })?;
        if s.len() > MAX_TEXT {
            return Err(self.err(format!("string of {} bytes is too long", s.len())));
        }
        Ok(s)
    }

    /// An identifier: printable ASCII, no spaces, at most [`MAX_ID`] bytes.
    pub fn id(&self) -> Result<&'a str, DecodeError> {
        let s = self.str()?;
        if s.is_empty() {
            return Err(self.err("empty identifier"));
        }
        if s.len() > MAX_ID {
            return Err(self.err(format!("identifier of {} bytes is too long", s.len())));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(self.err("identifier has non-ASCII, space or control characters"));
        }
        Ok(s)
    }

    /// A string or a number's text (some fields arrive either way).
    pub fn text(&self) -> Result<String, DecodeError> {
        match self.value {
            Value::String(_) => self.str().map(str::to_string),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(self.err(format!(
                "expected a string or number, found {}",
                describe(other)
            ))),
        }
    }

    pub fn bool(&self) -> Result<bool, DecodeError> {
        self.value.as_bool().ok_or_else(|| {
            self.err(format!(
                "expected a boolean, found {}",
                describe(self.value)
            ))
        })
    }

    pub fn u64(&self) -> Result<u64, DecodeError> {
        match self.value {
            Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| self.err(format!("expected a non-negative integer, found {n}"))),
            Value::String(s) if s.len() <= 20 => s
                .parse::<u64>()
                .map_err(|_| self.err("expected a non-negative integer")),
            other => Err(self.err(format!("expected an integer, found {}", describe(other)))),
        }
    }

    pub fn i64(&self) -> Result<i64, DecodeError> {
        match self.value {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| self.err(format!("expected an integer, found {n}"))),
            Value::String(s) if s.len() <= 20 => s
                .parse::<i64>()
                .map_err(|_| self.err("expected an integer")),
            other => Err(self.err(format!("expected an integer, found {}", describe(other)))),
        }
    }

    /// A dollar price in `0..=1`.
    pub fn price(&self) -> Result<Price, DecodeError> {
        let t = self.text()?;
        Price::parse(&t).map_err(|e| self.err(e.to_string()))
    }

    /// A book-level price: strictly inside `(0, 1)`.
    pub fn level_price(&self) -> Result<Price, DecodeError> {
        let p = self.price()?;
        if p == Price::ZERO || p == Price::ONE {
            return Err(self.err(format!("price {p} outside (0, 1)")));
        }
        Ok(p)
    }

    /// A non-negative quantity with at most six decimals.
    pub fn qty(&self) -> Result<Quantity, DecodeError> {
        let t = self.text()?;
        let q = Quantity::parse(&t).map_err(|e| self.err(e.to_string()))?;
        if q > Quantity::MAX {
            return Err(self.err("quantity too large"));
        }
        Ok(q)
    }

    /// A signed quantity change in micro-contracts (Kalshi `delta_fp`).
    pub fn signed_qty_micros(&self) -> Result<i64, DecodeError> {
        let t = self.text()?;
        let (neg, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(&t)),
        };
        if digits.starts_with('-') || digits.starts_with('+') {
            return Err(self.err("malformed signed quantity"));
        }
        let q = Quantity::parse(digits).map_err(|e| self.err(e.to_string()))?;
        if q > Quantity::MAX {
            return Err(self.err("quantity too large"));
        }
        // Quantity::MAX is 1e18 micros, within i64.
        let m = i64::try_from(q.micros()).map_err(|_| self.err("quantity too large"))?;
        Ok(if neg { -m } else { m })
    }

    /// Signed dollars, exact to the micro-dollar.
    pub fn cash(&self) -> Result<Cash, DecodeError> {
        let t = self.text()?;
        Cash::parse(&t).map_err(|e| self.err(e.to_string()))
    }

    /// An instrument id on `venue` from an identifier field.
    pub fn instrument(&self) -> Result<InstrumentId, DecodeError> {
        let s = self.id()?;
        InstrumentId::new(self.venue, s).map_err(|e| self.err(e.to_string()))
    }
}

/// Shorthand: a required string field.
pub fn field_str(n: &Node<'_>, key: &str) -> Result<String, DecodeError> {
    n.with(key, |c| c.str().map(str::to_string))
}

/// Shorthand: an optional string field.
pub fn opt_str(n: &Node<'_>, key: &str) -> Result<Option<String>, DecodeError> {
    n.with_opt(key, |c| c.str().map(str::to_string))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_field() {
        let v: Value = serde_json::from_str(r#"{"a":{"b":[["0.5","x"]]}}"#).unwrap();
        let root = Node::root(Venue::Kalshi, &v);
        let e = root
            .with("a", |a| a.with("b", |b| b.each(|l| l.at(1, |s| s.qty()))))
            .unwrap_err();
        assert_eq!(e.field, "a.b[0][1]");
        assert_eq!(e.venue, Venue::Kalshi);
        let e = root.with("zz", |z| z.str().map(|_| ())).unwrap_err();
        assert_eq!(e.field, "zz");
        assert_eq!(e.detail, "missing");
    }

    #[test]
    fn signed_quantities() {
        let v: Value = serde_json::from_str(r#"["-54.00","+1","3.5","--1","1e3"]"#).unwrap();
        let n = Node::root(Venue::Kalshi, &v);
        assert_eq!(n.at(0, |x| x.signed_qty_micros()).unwrap(), -54_000_000);
        assert_eq!(n.at(1, |x| x.signed_qty_micros()).unwrap(), 1_000_000);
        assert_eq!(n.at(2, |x| x.signed_qty_micros()).unwrap(), 3_500_000);
        assert!(n.at(3, |x| x.signed_qty_micros()).is_err());
        assert!(n.at(4, |x| x.signed_qty_micros()).is_err());
    }
}
