//! One value per venue, addressed by [`Venue`].

use orion_core::Venue;
use serde::{Deserialize, Serialize};

/// A value for each venue: balances, equity readings, reserved amounts.
/// A struct rather than a map so that "a venue is missing" cannot happen by
/// accident: absence is spelled `Option` in `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PerVenue<T> {
    pub kalshi: T,
    pub polymarket: T,
}

impl<T> PerVenue<T> {
    pub const fn new(kalshi: T, polymarket: T) -> PerVenue<T> {
        PerVenue { kalshi, polymarket }
    }

    pub fn get(&self, venue: Venue) -> &T {
        match venue {
            Venue::Kalshi => &self.kalshi,
            Venue::Polymarket => &self.polymarket,
        }
    }

    pub fn get_mut(&mut self, venue: Venue) -> &mut T {
        match venue {
            Venue::Kalshi => &mut self.kalshi,
            Venue::Polymarket => &mut self.polymarket,
        }
    }

    /// Every venue with its value, in [`Venue::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Venue, &T)> {
        Venue::ALL.into_iter().map(move |v| (v, self.get(v)))
    }
}
