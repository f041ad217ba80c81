//! Parameter sweeps: a grid such as
//! `min_edge=0.01,0.02;max_trade_fraction=0.02,0.05;kalshi_latency_ms=20,100`
//! becomes the cartesian product of its values, each combination a run of
//! its own. Runs are spread over threads (each run single-threaded and
//! deterministic); results come back in grid order whatever order they
//! finished in.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orion_core::{Cash, Fraction, Price};

use super::BacktestSettings;

/// One parameter and the values it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridAxis {
    pub name: String,
    pub values: Vec<String>,
}

/// The names a grid (and [`BacktestSettings::apply`]) accepts.
pub const PARAMETERS: &[&str] = &[
    "min_edge",
    "min_profit",
    "slippage",
    "max_trade_fraction",
    "reserve_fraction",
    "leg_timeout_ms",
    "kalshi_latency_ms",
    "polymarket_latency_ms",
    "partial_fill_prob",
    "reject_prob",
    "seed",
];

/// Parses `A[:JITTER]` milliseconds.
pub fn parse_latency(text: &str) -> Result<(Duration, Duration), String> {
    let (fixed, jitter) = text.split_once(':').unwrap_or((text, "0"));
    let ms = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|e| format!("latency {text:?}: {s:?} is not whole milliseconds ({e})"))
    };
    Ok((ms(fixed)?, ms(jitter)?))
}

fn parse_fraction(name: &str, value: &str) -> Result<Fraction, String> {
    Fraction::parse(value).map_err(|e| format!("{name}={value}: {e}"))
}

impl BacktestSettings {
    /// Sets one named parameter (see [`PARAMETERS`]) from its text.
    pub fn apply(&mut self, name: &str, value: &str) -> Result<(), String> {
        let value = value.trim();
        match name {
            "min_edge" => {
                self.detection.min_edge =
                    Price::parse(value).map_err(|e| format!("{name}={value}: {e}"))?;
            }
            "min_profit" => {
                self.detection.min_profit =
                    Cash::parse(value).map_err(|e| format!("{name}={value}: {e}"))?;
            }
            "slippage" => {
                self.detection.slippage =
                    Price::parse(value).map_err(|e| format!("{name}={value}: {e}"))?;
            }
            "max_trade_fraction" => self.risk.max_trade_fraction = parse_fraction(name, value)?,
            "reserve_fraction" => self.risk.reserve_fraction = parse_fraction(name, value)?,
            "leg_timeout_ms" => {
                self.execution.leg_timeout_ms = value
                    .parse()
                    .map_err(|e| format!("{name}={value}: not whole milliseconds ({e})"))?;
            }
            "kalshi_latency_ms" => {
                (self.kalshi.latency, self.kalshi.jitter) = parse_latency(value)?;
            }
            "polymarket_latency_ms" => {
                (self.polymarket.latency, self.polymarket.jitter) = parse_latency(value)?;
            }
            "partial_fill_prob" => {
                let p = parse_fraction(name, value)?;
                self.kalshi.partial_fill = p;
                self.polymarket.partial_fill = p;
            }
            "reject_prob" => {
                let p = parse_fraction(name, value)?;
                self.kalshi.reject = p;
                self.polymarket.reject = p;
            }
            "seed" => {
                self.seed = value
                    .parse()
                    .map_err(|e| format!("{name}={value}: not a whole number ({e})"))?;
            }
            other => {
                return Err(format!(
                    "unknown parameter {other:?}; one of {}",
                    PARAMETERS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Parses `name=v1,v2;name=v1,…`, checking every value against `base`.
pub fn parse_grid(text: &str, base: &BacktestSettings) -> Result<Vec<GridAxis>, String> {
    let mut axes: Vec<GridAxis> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, values)) = part.split_once('=') else {
            return Err(format!("grid part {part:?} is not name=value,value"));
        };
        let name = name.trim().to_string();
        if axes.iter().any(|a| a.name == name) {
            return Err(format!("grid names {name} twice"));
        }
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            return Err(format!("grid parameter {name} has no values"));
        }
        for v in &values {
            base.clone().apply(&name, v)?;
        }
        axes.push(GridAxis { name, values });
    }
    if axes.is_empty() {
        return Err("the grid is empty".into());
    }
    Ok(axes)
}

/// Every combination of the axes' values, the last axis varying fastest.
pub fn grid_points(axes: &[GridAxis]) -> Vec<Vec<(String, String)>> {
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for axis in axes {
        let mut next = Vec::with_capacity(points.len() * axis.values.len());
        for point in &points {
            for value in &axis.values {
                let mut p = point.clone();
                p.push((axis.name.clone(), value.clone()));
                next.push(p);
            }
        }
        points = next;
    }
    points
}

/// The settings of one grid point, labelled by its parameters.
pub fn settings_for(
    base: &BacktestSettings,
    point: &[(String, String)],
) -> Result<BacktestSettings, String> {
    let mut settings = base.clone();
    for (name, value) in point {
        settings.apply(name, value)?;
    }
    settings.label = point
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(settings)
}

/// Runs `run_one` for every grid point on up to `threads` threads; results
/// in grid order.
pub fn run_grid<T: Send>(
    base: &BacktestSettings,
    points: &[Vec<(String, String)>],
    threads: usize,
    run_one: impl Fn(BacktestSettings) -> Result<T, String> + Sync,
) -> Result<Vec<T>, String> {
    let settings: Vec<BacktestSettings> = points
        .iter()
        .map(|p| settings_for(base, p))
        .collect::<Result<_, _>>()?;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T, String>>>> =
        Mutex::new((0..settings.len()).map(|_| None).collect());
    let workers = threads.clamp(1, settings.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(s) = settings.get(i) else { break };
                    let result = run_one(s.clone());
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .zip(&settings)
        .map(|(r, s)| match r {
            Some(Ok(t)) => Ok(t),
            Some(Err(e)) => Err(format!("run {}: {e}", s.label)),
            None => Err(format!("run {} did not finish", s.label)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_the_cartesian_product_in_order() {
        let base = BacktestSettings::from_config(&orion_config::Config::defaults());
        let axes =
            parse_grid("min_edge=0.01,0.02; kalshi_latency_ms=20,100:5", &base).unwrap_or_default();
        let points = grid_points(&axes);
        assert_eq!(points.len(), 4);
        assert_eq!(
            points[1],
            vec![
                ("min_edge".to_string(), "0.01".to_string()),
                ("kalshi_latency_ms".to_string(), "100:5".to_string())
            ]
        );
        let s = settings_for(&base, &points[1]).unwrap_or(base.clone());
        assert_eq!(s.kalshi.latency, Duration::from_millis(100));
        assert_eq!(s.kalshi.jitter, Duration::from_millis(5));
        assert_eq!(s.label, "min_edge=0.01 kalshi_latency_ms=100:5");
        assert!(parse_grid("min_edgy=1", &base).is_err());
        assert!(parse_grid("min_edge=abc", &base).is_err());
        let squares = run_grid(&base, &points, 3, |s| Ok(s.label.len())).unwrap_or_default();
        assert_eq!(squares.len(), 4);
        assert_eq!(squares[1], "min_edge=0.01 kalshi_latency_ms=100:5".len());
    }
}
