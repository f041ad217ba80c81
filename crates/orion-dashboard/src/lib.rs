//! The engine's web dashboard.
//!
//! This crate owns everything an operator's browser touches: the axum
//! router, password login (argon2id, verified off the async executor),
//! server-side sessions with idle and absolute timeouts, the cross-site
//! defences on every state-changing request (Sec-Fetch-Site, Origin and a
//! per-session CSRF token), login throttling, the security headers, the HTML
//! pages (plain strings, every value escaped by [`html::escape`]) and their
//! static script and style sheet. What the pages show and what the controls
//! do comes from a [`DashboardBackend`] that the engine (orion-runtime)
//! implements, so this crate never depends on the engine.
//!
//! Every route is listed once in [`Route::ALL`]; the router is built from
//! that list and the access guard runs in front of all of it, so no page,
//! API or control can be reached without a session except the login form
//! and the static assets.

pub mod auth;
pub mod backend;
pub mod html;
mod server;

pub use backend::{
    BackendError, ConfigEntry, ControlAction, DashboardBackend, OpportunityView, PairView,
    PositionView, StatusView, TradeView,
};
pub use server::{Access, DashboardSettings, Route, mask_config, router, serve, serve_on};
