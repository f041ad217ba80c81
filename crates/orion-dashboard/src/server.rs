//! The router, the access guard in front of it, and the handlers.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{MethodRouter, get, post};
use orion_core::Clock;
use orion_vault::SecretString;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::auth::{COOKIE, Sessions, Throttle, constant_time_eq};
use crate::backend::{ConfigEntry, ControlAction, DashboardBackend};
use crate::html;

const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

/// Form bodies are tiny (a token, a password, a reason).
const MAX_FORM_BYTES: usize = 16 * 1024;
/// How many rows the lists show.
const LIST_LIMIT: u32 = 100;
/// The actor recorded in the audit log for dashboard actions (one operator
/// account: the password is the identity).
pub const ACTOR: &str = "dashboard";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// How the dashboard runs.
#[derive(Debug, Clone)]
pub struct DashboardSettings {
    pub listen: SocketAddr,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// The argon2id PHC string of the login password.
    pub password_hash: SecretString,
    /// Mark the session cookie `Secure`. Browsers drop a `Secure` cookie
    /// set over plain HTTP except on loopback, so it is off for the default
    /// plain-http loopback listener and on whenever the dashboard is exposed
    /// beyond loopback (which must then sit behind a TLS proxy).
    pub secure_cookie: bool,
}

impl DashboardSettings {
    /// Settings with the cookie flag chosen from the listen address.
    pub fn new(
        listen: SocketAddr,
        idle_timeout: Duration,
        absolute_timeout: Duration,
        password_hash: SecretString,
    ) -> DashboardSettings {
        DashboardSettings {
            listen,
            idle_timeout,
            absolute_timeout,
            password_hash,
            secure_cookie: !listen.ip().is_loopback(),
        }
    }
}

/// Who may reach a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session needed (the login form and static assets).
    Public,
    /// An HTML page: without a session, a redirect to `/login`.
    Page,
    /// JSON: without a session, 401.
    Api,
    /// A state-changing POST: a session, the cross-site checks and the CSRF
    /// token.
    Action,
}

/// Every route of the dashboard. The router is built from [`Route::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    LoginForm,
    Login,
    Logout,
    AppJs,
    StyleCss,
    Status,
    Opportunities,
    Trades,
    Pairs,
    Config,
    Controls,
    ApiStatus,
    ApiOpportunities,
    PairConfirm,
    PairReject,
    Pause,
    Resume,
    Halt,
    BreakerReset,
}

impl Route {
    pub const ALL: &[Route] = &[
        Route::LoginForm,
        Route::Login,
        Route::Logout,
        Route::AppJs,
        Route::StyleCss,
        Route::Status,
        Route::Opportunities,
        Route::Trades,
        Route::Pairs,
        Route::Config,
        Route::Controls,
        Route::ApiStatus,
        Route::ApiOpportunities,
        Route::PairConfirm,
        Route::PairReject,
        Route::Pause,
        Route::Resume,
        Route::Halt,
        Route::BreakerReset,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Route::LoginForm | Route::Login => "/login",
            Route::Logout => "/logout",
            Route::AppJs => "/static/app.js",
            Route::StyleCss => "/static/style.css",
            Route::Status => "/",
            Route::Opportunities => "/opportunities",
            Route::Trades => "/trades",
            Route::Pairs => "/pairs",
            Route::Config => "/config",
            Route::Controls => "/controls",
            Route::ApiStatus => "/api/status",
            Route::ApiOpportunities => "/api/opportunities",
            Route::PairConfirm => "/pairs/confirm",
            Route::PairReject => "/pairs/reject",
            Route::Pause => "/controls/pause",
            Route::Resume => "/controls/resume",
            Route::Halt => "/controls/halt",
            Route::BreakerReset => "/controls/breaker-reset",
        }
    }

    pub fn method(self) -> Method {
        match self.access() {
            Access::Action => Method::POST,
            _ if self == Route::Login => Method::POST,
            _ => Method::GET,
        }
    }

    pub fn access(self) -> Access {
        match self {
            Route::LoginForm | Route::Login | Route::AppJs | Route::StyleCss => Access::Public,
            Route::Status
            | Route::Opportunities
            | Route::Trades
            | Route::Pairs
            | Route::Config
            | Route::Controls => Access::Page,
            Route::ApiStatus | Route::ApiOpportunities => Access::Api,
            Route::Logout
            | Route::PairConfirm
            | Route::PairReject
            | Route::Pause
            | Route::Resume
            | Route::Halt
            | Route::BreakerReset => Access::Action,
        }
    }

    fn handler(self) -> MethodRouter<App> {
        match self {
            Route::LoginForm => get(login_form),
            Route::Login => post(login),
            Route::Logout => post(logout),
            Route::AppJs => get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
            Route::StyleCss => get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
            Route::Status => get(status_page),
            Route::Opportunities => get(opportunities_page),
            Route::Trades => get(trades_page),
            Route::Pairs => get(pairs_page),
            Route::Config => get(config_page),
            Route::Controls => get(controls_page),
            Route::ApiStatus => get(api_status),
            Route::ApiOpportunities => get(api_opportunities),
            Route::PairConfirm => post(|s, c, f| decide_pair(s, c, f, true)),
            Route::PairReject => post(|s, c, f| decide_pair(s, c, f, false)),
            Route::Pause => post(|s, c| control(s, c, ControlAction::Pause)),
            Route::Resume => post(|s, c| control(s, c, ControlAction::Resume)),
            Route::Halt => post(halt),
            Route::BreakerReset => post(breaker_reset),
        }
    }
}

/// Whether a path needs no session: the login form and the static assets.
fn is_public(path: &str) -> bool {
    Route::ALL
        .iter()
        .any(|r| r.access() == Access::Public && r.path() == path)
}

#[derive(Debug, Clone)]
struct App(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    settings: DashboardSettings,
    backend: Arc<dyn DashboardBackend>,
    sessions: Sessions,
    throttle: Throttle,
    /// argon2 costs ~20 MiB and tens of milliseconds per check: at most two
    /// at once, so a login flood cannot exhaust memory or the blocking pool.
    verifying: Semaphore,
    /// Host header values accepted on a loopback listener (against DNS
    /// rebinding); `None` when exposed beyond loopback.
    allowed_hosts: Option<Vec<String>>,
}

/// The request's session, put there by the guard.
#[derive(Debug, Clone)]
struct Current {
    id: Option<String>,
    csrf: String,
    authenticated: bool,
    peer: IpAddr,
}

/// Builds the router (without binding), for embedding or tests.
pub fn router(
    settings: DashboardSettings,
    backend: Arc<dyn DashboardBackend>,
    clock: Arc<dyn Clock>,
    bound: SocketAddr,
) -> Router {
    let allowed_hosts = bound
        .ip()
        .is_loopback()
        .then(|| vec![bound.to_string(), format!("localhost:{}", bound.port())]);
    let app = App(Arc::new(Inner {
        sessions: Sessions::new(
            clock.clone(),
            settings.idle_timeout,
            settings.absolute_timeout,
        ),
        throttle: Throttle::new(clock),
        settings,
        backend,
        verifying: Semaphore::new(2),
        allowed_hosts,
    }));
    let mut router = Router::new();
    for route in Route::ALL {
        router = router.route(route.path(), route.handler());
    }
    router
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Binds `settings.listen` and serves until `stop` turns true. Returns the
/// bound address (port 0 picks a free one).
pub async fn serve(
    settings: DashboardSettings,
    backend: Arc<dyn DashboardBackend>,
    clock: Arc<dyn Clock>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(settings.listen).await?;
    serve_on(listener, settings, backend, clock, stop)
}

/// Serves on an already bound listener (so a caller can fail on a taken
/// address before starting anything else); `settings.listen` is ignored.
pub fn serve_on(
    listener: TcpListener,
    settings: DashboardSettings,
    backend: Arc<dyn DashboardBackend>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let bound = listener.local_addr()?;
    let app = router(settings, backend, clock, bound);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    return;
                }
            }
        };
        if let Err(e) = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        {
            tracing::error!(error = %e, "dashboard server failed");
        }
    });
    Ok((bound, task))
}

// ------------------------------------------------------------ the guard

fn security_headers(h: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
}

fn plain(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_string(),
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

fn set_cookie(app: &App, id: &str) -> HeaderValue {
    let secure = if app.0.settings.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    // The id is hex, so the header is always valid.
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("orion_session=; Max-Age=0"))
}

fn clear_cookie(app: &App) -> HeaderValue {
    if app.0.settings.secure_cookie {
        HeaderValue::from_static(
            "orion_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure",
        )
    } else {
        HeaderValue::from_static("orion_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    }
}

fn host_of(req: &Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
}

async fn guard(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let mut response = guard_inner(app, peer, req, next).await;
    security_headers(response.headers_mut());
    response
}

/// Why a state-changing request was refused, if it was.
fn cross_site_refusal(app: &App, headers: &HeaderMap, host: &str) -> Option<&'static str> {
    // Browsers send Sec-Fetch-Site on every request; `same-site` is refused
    // too (a sibling subdomain is not this dashboard). Absent means a
    // non-browser client, which has no ambient cookie to abuse.
    if let Some(site) = headers.get("sec-fetch-site") {
        match site.to_str().unwrap_or("") {
            "same-origin" | "none" => {}
            _ => return Some("cross-site request refused (Sec-Fetch-Site)"),
        }
    }
    let same_origin_fetch = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin");
    if let Some(origin) = headers.get(header::ORIGIN) {
        // Our own `Referrer-Policy: no-referrer` makes browsers send
        // `Origin: null` on their form posts (Fetch's origin serialization),
        // so `null` passes only when the browser itself vouches the request
        // is same-origin through Sec-Fetch-Site (which pages cannot forge).
        if origin.as_bytes() == b"null" && same_origin_fetch {
            return None;
        }
        let scheme = if app.0.settings.secure_cookie {
            "https"
        } else {
            "http"
        };
        let own = format!("{scheme}://{host}");
        if origin.to_str().ok() != Some(own.as_str()) {
            return Some("cross-origin request refused (Origin)");
        }
    }
    None
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    let form: HashMap<String, String> = form_pairs(body);
    form.get(name).cloned()
}

/// Decodes an `application/x-www-form-urlencoded` body (axum's own form
/// decoder, through its `Form` extractor, is used by the handlers; the guard
/// only needs one field and must not consume the request).
fn form_pairs(body: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in body.split(|&b| b == b'&') {
        let mut it = pair.splitn(2, |&b| b == b'=');
        let (Some(k), v) = (it.next(), it.next()) else {
            continue;
        };
        if let (Some(k), Some(v)) = (percent_decode(k), percent_decode(v.unwrap_or(b""))) {
            out.entry(k).or_insert(v);
        }
    }
    out
}

fn percent_decode(s: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

async fn guard_inner(app: App, peer: SocketAddr, req: Request, next: Next) -> Response {
    let host = host_of(&req).unwrap_or_default();
    if let Some(allowed) = &app.0.allowed_hosts
        && !allowed.iter().any(|h| h == &host)
    {
        return plain(StatusCode::MISDIRECTED_REQUEST, "unexpected Host header");
    }
    let path = req.uri().path().to_string();
    let is_login = path == Route::Login.path();
    if is_public(&path) && !is_login {
        return next.run(req).await;
    }
    let session =
        cookie_value(req.headers()).and_then(|id| app.0.sessions.touch(&id).map(|info| (id, info)));
    let authenticated = session.as_ref().is_some_and(|(_, s)| s.authenticated);
    if !is_login && !authenticated {
        return if path.starts_with("/api/") {
            (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({ "error": "not logged in" })),
            )
                .into_response()
        } else if req.method() == Method::GET || req.method() == Method::HEAD {
            redirect(Route::LoginForm.path())
        } else {
            plain(StatusCode::UNAUTHORIZED, "not logged in")
        };
    }
    let mut req = req;
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if let Some(why) = cross_site_refusal(&app, req.headers(), &host) {
            return plain(StatusCode::FORBIDDEN, why);
        }
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        };
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| form_field(&bytes, "csrf"));
        let valid = match (&session, &sent) {
            (Some((_, s)), Some(sent)) => constant_time_eq(s.csrf.as_bytes(), sent.as_bytes()),
            _ => false,
        };
        if !valid {
            return plain(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token; reload the page and try again",
            );
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    let current = match session {
        Some((id, s)) => Current {
            id: Some(id),
            csrf: s.csrf,
            authenticated: s.authenticated,
            peer: peer.ip(),
        },
        None => Current {
            id: None,
            csrf: String::new(),
            authenticated: false,
            peer: peer.ip(),
        },
    };
    req.extensions_mut().insert(current);
    next.run(req).await
}

// ------------------------------------------------------------ handlers

type Form = axum::Form<HashMap<String, String>>;
type Cur = axum::Extension<Current>;

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn html_page(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn server_error(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard: {what}");
    plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("{what}: {e}"))
}

fn no_rng() -> Response {
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the operating system's random generator failed",
    )
}

async fn login_form(State(app): State<App>, axum::Extension(cur): Cur) -> Response {
    if cur.authenticated {
        return redirect(Route::Status.path());
    }
    if let Some(_id) = &cur.id {
        // Reuse the live anonymous session (its CSRF token is in any open form).
        return html_page(html::login(&cur.csrf, None));
    }
    let Some((id, csrf)) = app.0.sessions.create(false) else {
        return no_rng();
    };
    let mut response = html_page(html::login(&csrf, None));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&app, &id));
    response
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut r = plain(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("too many wrong passwords; try again in {secs} s"),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Checks a password against the stored hash: throttled, off the executor.
/// `Err` is the response to send instead of going on.
async fn check_password(app: &App, peer: IpAddr, candidate: &str) -> Result<bool, Response> {
    if let Some(wait) = app.0.throttle.check(peer) {
        return Err(too_many(wait));
    }
    let Ok(_permit) = app.0.verifying.acquire().await else {
        return Err(plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down"));
    };
    let hash = app.0.settings.password_hash.clone();
    let candidate = SecretString::new(candidate.to_string());
    let verdict = tokio::task::spawn_blocking(move || {
        orion_vault::verify_dashboard_password(hash.expose(), candidate.expose().as_bytes())
    })
    .await;
    match verdict {
        Ok(Ok(true)) => {
            app.0.throttle.success(peer);
            Ok(true)
        }
        Ok(Ok(false)) => {
            app.0.throttle.failure(peer);
            tracing::warn!(%peer, "dashboard: wrong password");
            Ok(false)
        }
        Ok(Err(e)) => Err(server_error("the stored password hash is unusable", e)),
        Err(e) => Err(server_error("password check failed", e)),
    }
}

async fn login(State(app): State<App>, axum::Extension(cur): Cur, form: Form) -> Response {
    let password = form.0.get("password").map(String::as_str).unwrap_or("");
    match check_password(&app, cur.peer, password).await {
        Err(response) => response,
        Ok(false) => {
            let mut r = html_page(html::login(&cur.csrf, Some("Wrong password.")));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Ok(true) => {
            // A fresh session: whatever cookie the browser had is dropped.
            if let Some(old) = &cur.id {
                app.0.sessions.remove(old);
            }
            let Some((id, _csrf)) = app.0.sessions.create(true) else {
                return no_rng();
            };
            tracing::info!(peer = %cur.peer, "dashboard: logged in");
            let mut r = redirect(Route::Status.path());
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&app, &id));
            r
        }
    }
}

async fn logout(State(app): State<App>, axum::Extension(cur): Cur) -> Response {
    if let Some(id) = &cur.id {
        app.0.sessions.remove(id);
    }
    let mut r = redirect(Route::LoginForm.path());
    r.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(&app));
    r
}

/// A one-shot message for the next page, carried in the session.
fn notice_of(app: &App, cur: &Current) -> Option<String> {
    cur.id
        .as_deref()
        .and_then(|id| app.0.sessions.take_flash(id))
}

fn after_action(app: &App, cur: &Current, to: &str, notice: String) -> Response {
    if let Some(id) = &cur.id {
        app.0.sessions.set_flash(id, notice);
    }
    redirect(to)
}

async fn status_page(State(app): State<App>, axum::Extension(cur): Cur) -> Response {
    match app.0.backend.status().await {
        Ok(s) => {
            let notice = notice_of(&app, &cur);
            html_page(html::page(
                "Status",
                Route::Status.path(),
                Some(&cur.csrf),
                notice.as_deref(),
                &html::status(&s),
            ))
        }
        Err(e) => server_error("status", e),
    }
}

async fn opportunities_page(State(app): State<App>, axum::Extension(cur): Cur) -> Response {
    // The confirmed pairs' titles, listed under the live table (whose rows
    // the page's script rewrites from the API, ids only).
    let titles: Vec<(String, String)> = match app.0.backend.pairs().await {
        Ok(pairs) => pairs
            .into_iter()
            .filter(|p| p.status == "confirmed" && !p.title.is_empty())
            .map(|p| (p.pair_id, p.title))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "pair titles not read for the opportunities page");
            Vec::new()
        }
    };
    match app.0.backend.opportunities(LIST_LIMIT).await {
        Ok(list) => html_page(html::page(
            "Live opportunities",
            Route::Opportunities.path(),
            Some(&cur.csrf),
            None,
            &html::opportunities(&list, &titles),
        )),
        Err(e) => server_error("opportunities", e),
    }
}

async fn trades_page(State(app): State<App>, axum::Extension(cur): Cur) -> Response {
    let positions = app.0.backend.positions().await;
    let trades = app.0.backend.trades(LIST_LIMIT).await;
    // Market titles by pair, so the operator reads what is held, not only
    // identifiers; without them (a failed read) the page shows ids only.
    let titles: std::collections::HashMap<String, String> = match app.0.backend.pairs().await {
        Ok(pairs) => pairs
            .into_iter()
            .filter(|p| !p.title.is_empty())
            .map(|p| (p.pair_id, p.title))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "pair titles not read for the trades page");
            std::collections::HashMap::new()
        }
    };
    match (positions, trades) {
        (Ok(p), Ok(t)) => html_page(html::page(
            "Positions and trades",
            Route::Trades.path(),
            Some(&cur.csrf),
            None,
            &html::trades(&p, &t, &titles),
        )),
        (Err(e), _) | (_, Err(e)) => server_error("positions and trades", e),
    }
}

async fn pairs_page(State(app): State<App>, axum::Extension(cur): Cur) -> Response {
    match app.0.backend.pairs().await {
        Ok(list) => {
            let notice = notice_of(&app, &cur);
            html_page(html::page(
                "Pair review",
                Route::Pairs.path(),
                Some(&cur.csrf),
                notice.as_deref(),
                &html::pairs(&list, &cur.csrf),
            ))
        }
        Err(e) => server_error("pairs", e),
    }
}

/// Hides every value whose key names a secret (`*_secret`, `*password*`,
/// `*token*`, `*key*` other than the vault's own non-secret settings).
/// Config holds only vault *names*, never secret values, but a name is
/// still no business of a browser, and a future key must not leak by
/// default.
pub fn mask_config(entries: Vec<ConfigEntry>) -> Vec<ConfigEntry> {
    entries
        .into_iter()
        .map(|mut e| {
            let last = e
                .key
                .rsplit('.')
                .next()
                .unwrap_or(&e.key)
                .to_ascii_lowercase();
            let secret = last.ends_with("_secret")
                || last.contains("password_hash")
                || last.contains("private_key")
                || last.ends_with("token");
            if secret {
                e.value = "••••••".into();
            }
            e
        })
        .collect()
}

async fn config_page(State(app): State<App>, axum::Extension(cur): Cur) -> Response {
    match app.0.backend.config().await {
        Ok(entries) => html_page(html::page(
            "Configuration",
            Route::Config.path(),
            Some(&cur.csrf),
            None,
            &html::config(&mask_config(entries)),
        )),
        Err(e) => server_error("configuration", e),
    }
}

async fn controls_page(State(app): State<App>, axum::Extension(cur): Cur) -> Response {
    match app.0.backend.status().await {
        Ok(s) => {
            let notice = notice_of(&app, &cur);
            html_page(html::page(
                "Controls",
                Route::Controls.path(),
                Some(&cur.csrf),
                notice.as_deref(),
                &html::controls(&s, &cur.csrf),
            ))
        }
        Err(e) => server_error("status", e),
    }
}

async fn api_status(State(app): State<App>) -> Response {
    match app.0.backend.status().await {
        Ok(s) => Json(s).into_response(),
        Err(e) => server_error("status", e),
    }
}

async fn api_opportunities(State(app): State<App>) -> Response {
    match app.0.backend.opportunities(LIST_LIMIT).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => server_error("opportunities", e),
    }
}

fn field<'a>(form: &'a Form, name: &str) -> &'a str {
    form.0.get(name).map(|s| s.trim()).unwrap_or("")
}

async fn decide_pair(
    State(app): State<App>,
    axum::Extension(cur): Cur,
    form: Form,
    confirm: bool,
) -> Response {
    let pair_id = field(&form, "pair_id");
    let reason = field(&form, "reason");
    if pair_id.is_empty() || reason.is_empty() {
        return plain(StatusCode::BAD_REQUEST, "a pair and a reason are required");
    }
    let verb = if confirm { "confirmed" } else { "rejected" };
    let notice = match app
        .0
        .backend
        .decide_pair(pair_id, confirm, ACTOR, reason)
        .await
    {
        Ok(()) => {
            tracing::info!(pair = pair_id, verb, reason, "dashboard: pair decision");
            format!("Pair {pair_id} {verb}.")
        }
        Err(e) => format!("Pair {pair_id} not {verb}: {e}"),
    };
    after_action(&app, &cur, Route::Pairs.path(), notice)
}

async fn control(
    State(app): State<App>,
    axum::Extension(cur): Cur,
    action: ControlAction,
) -> Response {
    let label = format!("{action:?}");
    let notice = match app.0.backend.control(action, ACTOR).await {
        Ok(()) => format!("{label}: done."),
        Err(e) => format!("{label} failed: {e}"),
    };
    after_action(&app, &cur, Route::Controls.path(), notice)
}

async fn halt(State(app): State<App>, cur: Cur, form: Form) -> Response {
    let reason = field(&form, "reason").to_string();
    if reason.is_empty() {
        return plain(StatusCode::BAD_REQUEST, "a reason is required to halt");
    }
    control(State(app), cur, ControlAction::Halt { reason }).await
}

async fn breaker_reset(State(app): State<App>, axum::Extension(cur): Cur, form: Form) -> Response {
    let reason = field(&form, "reason");
    if reason.is_empty() {
        return plain(
            StatusCode::BAD_REQUEST,
            "a reason is required to reset the breaker",
        );
    }
    let password = form.0.get("password").map(String::as_str).unwrap_or("");
    match check_password(&app, cur.peer, password).await {
        Err(response) => response,
        Ok(false) => plain(
            StatusCode::FORBIDDEN,
            "wrong password: the breaker was not reset",
        ),
        Ok(true) => {
            let notice = match app.0.backend.reset_breaker(ACTOR, reason).await {
                Ok(what) => {
                    tracing::warn!(reason, "dashboard: circuit breaker reset");
                    what
                }
                Err(e) => format!("Breaker not reset: {e}"),
            };
            after_action(&app, &cur, Route::Controls.path(), notice)
        }
    }
}
