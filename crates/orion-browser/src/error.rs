//! The one error type of the driver. Every variant names what was being done, so a
//! failing browser test says which wait, command or element was at fault.

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong while starting or driving Chromium.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    /// `ORION_REQUIRE_CHROMIUM=1` is set (as in CI) but no Chromium was found.
    #[error(
        "chromium is required (ORION_REQUIRE_CHROMIUM=1) but was not found; looked for {searched}; \
         install it with `apt-get install -y chromium` or point ORION_CHROMIUM at it"
    )]
    Required {
        /// The places that were looked at.
        searched: String,
    },

    /// `ORION_CHROMIUM` names a file that does not exist.
    #[error("ORION_CHROMIUM is set to {path:?}, which does not exist")]
    ConfiguredMissing {
        /// The configured path.
        path: PathBuf,
    },

    /// The process could not be started, or its profile directory could not be made.
    #[error("could not {doing}: {source}")]
    Io {
        /// What was being done.
        doing: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// Chromium exited, or closed its stderr, before printing its DevTools address.
    #[error(
        "chromium at {path:?} stopped before printing its DevTools address; last stderr lines:\n{stderr}"
    )]
    ExitedEarly {
        /// The executable that was started.
        path: PathBuf,
        /// The last lines Chromium wrote to stderr.
        stderr: String,
    },

    /// The DevTools WebSocket could not be opened.
    #[error("could not connect to the DevTools endpoint {url}: {detail}")]
    Connect {
        /// The `ws://` address Chromium printed.
        url: String,
        /// The WebSocket library's error.
        detail: String,
    },

    /// A wait ran out of time. `what` names what was awaited.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited: a command reply, a page load, an element, a predicate.
        what: String,
        /// How long the wait lasted.
        after: Duration,
    },

    /// Chromium answered a command with an error.
    #[error("DevTools command {method} failed: {message}")]
    Protocol {
        /// The CDP method, e.g. `Page.navigate`.
        method: String,
        /// Chromium's error message.
        message: String,
    },

    /// Chromium's reply did not have the expected shape.
    #[error("unexpected DevTools reply to {method}: {detail}")]
    Decode {
        /// The CDP method whose reply was malformed.
        method: String,
        /// What was missing or wrong.
        detail: String,
    },

    /// JavaScript evaluated in the page threw or rejected.
    #[error("JavaScript `{expression}` threw: {message}")]
    Js {
        /// The expression (shortened when long).
        expression: String,
        /// The exception's description, as the page's console would show it.
        message: String,
    },

    /// An element was found but cannot be used as asked (hidden, covered, not an input).
    #[error("element `{selector}`: {problem}")]
    Element {
        /// The CSS selector.
        selector: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The page or the browser went away: the tab crashed or was closed, or the
    /// connection to Chromium closed (it exited).
    #[error("{reason} while {doing}")]
    Closed {
        /// What happened, e.g. `the page crashed`.
        reason: String,
        /// What was in progress.
        doing: String,
    },
}

/// Shorthand for this crate's results.
pub type Result<T, E = BrowserError> = std::result::Result<T, E>;

/// Shortens a JavaScript expression for an error message: the first line, at most
/// 120 characters, so an error stays readable when a test evaluates a long script.
pub(crate) fn short_js(expression: &str) -> String {
    let first = expression.trim().lines().next().unwrap_or_default();
    let mut out: String = first.chars().take(120).collect();
    if out.len() < expression.trim().len() {
        out.push('…');
    }
    out
}
