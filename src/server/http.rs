//! The HTTP surface: pages (Leptos), `/ws`, sign-in and sign-out, health.

use axum::Router;
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, get_service, post};
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde::Deserialize;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::{App, shell};
use crate::server::auth::{self, SESSION_COOKIE, SESSION_DAYS};
use crate::server::files::http as files;
use crate::server::limits::Attempt;
use crate::server::{AppState, transcript, visitors, widget, ws};

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos.clone();
    let pkg_path = format!("/{}", options.site_pkg_dir);
    // Pages and server functions are compressed as they go out (br or gzip,
    // as the browser asks); never the socket upgrade.
    let pages = Router::new()
        // Also registers the server functions; both get `AppState` as context.
        .route("/widget.js", get(widget::script))
        .route("/widget/look", get(widget::look))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(CompressionLayer::new());
    Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/messenger/identify", post(visitors::identify))
        .route("/messenger/forget", post(visitors::forget))
        .route(
            "/messenger/continue",
            get(visitors::continue_page).post(visitors::continue_from_email),
        )
        .route(
            "/messenger/unsubscribe",
            get(visitors::unsubscribe_page).post(visitors::unsubscribe),
        )
        .route("/inbox/transcript/{id}", get(transcript::for_agent))
        .route("/messenger/transcript/{id}", get(transcript::for_visitor))
        .route("/files", post(files::upload))
        .route("/files/thumb/{id}", get(files::thumbnail))
        .route("/files/{id}/{name}", get(files::download))
        .merge(crate::server::api::routes())
        .nest_service(&pkg_path, site_files(&state.leptos))
        .merge(pages)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            visitors::visitor_cookie,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// The WASM, its loader and the stylesheet, from disk. Release builds carry
/// brotli and gzip copies made at build time (`make build-release` runs
/// `cargo leptos build --precompress`), sent to browsers that accept them.
/// The names carry no hash, so browsers revalidate (a 304 when unchanged)
/// rather than keep a stale copy.
fn site_files(options: &leptos::config::LeptosOptions) -> MethodRouter {
    let dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    get_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
        .layer::<_, std::convert::Infallible>(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        // The same URL comes in several encodings: caches must keep them apart.
        .layer::<_, std::convert::Infallible>(SetResponseHeaderLayer::appending(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
}

/// A fresh nonce for the inline scripts of one page (the hydration loader).
#[derive(Clone, Debug)]
pub struct ScriptNonce(pub String);

/// Headers on every response, and on pages a Content-Security-Policy: scripts
/// only from this site plus the page's own nonce, nothing inline from users,
/// and framing only by the allowed embedding origins (the messenger) or not at
/// all (everything else).
async fn security_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    // Anything that changes data must come from this site's own pages (the
    // cookies are SameSite=Lax too): sign-in, sign-out, server functions.
    // Not the REST API: it takes a bearer token, never a cookie, so
    // another site's page cannot speak for anyone there (and a browser
    // sends no such header across sites without asking first).
    if request.method() != Method::GET
        && request.method() != Method::HEAD
        && !crate::server::api::is_api(request.uri().path())
        && !same_origin(request.headers())
    {
        return (
            StatusCode::FORBIDDEN,
            "Requests that change data must come from this site's own pages.",
        )
            .into_response();
    }
    let nonce = auth::new_token();
    request.extensions_mut().insert(ScriptNonce(nonce.clone()));
    let embeddable = request.uri().path() == "/messenger";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        let ancestors = if embeddable {
            state.workspace.frame_ancestors()
        } else {
            "'none'".to_string()
        };
        let reload = match state.leptos.env {
            leptos::config::Env::DEV => format!(
                " ws://{}:{}",
                state.leptos.site_addr.ip(),
                state.leptos.reload_port
            ),
            leptos::config::Env::PROD => String::new(),
        };
        // `blob:` pictures: previews of the files the person is attaching
        // (object URLs of their own files, made by this page).
        let policy = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'nonce-{nonce}'; img-src 'self' data: blob:; media-src 'self'; connect-src 'self'{reload}; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        if !embeddable {
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
        // A page's messenger speaks the browser's language (crate::i18n):
        // a cache keeps one copy per language.
        headers.append(header::VARY, HeaderValue::from_static("Accept-Language"));
    }
    response
}

/// The process is alive and answering.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its work: the database answers and the bus reaches this
/// instance's hub. 503 with what is wrong otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    let database =
        match tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(format!("database: {err}")),
            Err(_) => Err("database: no answer within 2 s".to_owned()),
        };
    let bus = state.bus.check().await.map_err(|err| format!("bus: {err}"));
    let writer = if state.store.writer_running() {
        Ok(())
    } else {
        Err("message writer: stopped, no message can be stored; restart the server".to_owned())
    };
    let problems: Vec<String> = [database, writer, bus]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if problems.is_empty() {
        "ready".into_response()
    } else {
        tracing::warn!(?problems, "not ready");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}", problems.join("; ")),
        )
            .into_response()
    }
}

/// Prometheus metrics (the OpenMetrics text format).
async fn metrics(State(state): State<AppState>) -> Response {
    use crate::server::metrics;
    let (visitor_sockets, agent_sockets) = state.hub.socket_counts();
    let mut registry = state.metrics.registry(&metrics::Gauges {
        visitor_sockets,
        agent_sockets,
        socket_budget: state.socket_budget,
    });
    if let Some(assistant) = &state.assistant {
        assistant.register_metrics(&mut registry);
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(metrics::CONTENT_TYPE),
        )],
        metrics::encode(&registry),
    )
        .into_response()
}

/// False when a browser says the request comes from another site's page.
/// Requests without `Origin` (same-origin GETs, non-browser clients) pass; the
/// cookies are SameSite=Lax, so a cross-site request carries no session anyway.
pub fn same_origin(headers: &HeaderMap) -> bool {
    allowed_origin(headers, |_| false)
}

/// Like [`same_origin`], also accepting the origins `listed` accepts (sites
/// allowed to embed the messenger).
pub fn allowed_origin(headers: &HeaderMap, listed: impl Fn(&str) -> bool) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    if listed(origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

/// The browser's address, for per-address limits: the connection's peer,
/// or the address a trusted proxy says it forwarded for
/// ([`TrustedProxies::client`](crate::server::config::TrustedProxies::client)).
pub struct ClientAddr(pub std::net::IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(state, &parts.extensions, &parts.headers)))
    }
}

/// See [`ClientAddr`].
pub fn client_addr(
    state: &AppState,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    let peer = extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or(
            std::net::Ipv4Addr::UNSPECIFIED.into(),
            |ConnectInfo(addr)| addr.ip(),
        );
    state.config.https.proxies.client(peer, headers)
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    if !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "Sign-in must come from this site's own page.",
        )
            .into_response();
    }
    // Throttled per account and per address alike, whether or not the
    // account exists, so the answer reveals nothing.
    let email_key = format!("email:{}", form.email.trim().to_lowercase());
    let keys = [email_key.clone(), format!("ip:{}", client)];
    match state.sign_ins.check(&keys).await {
        Attempt::Refused(_) => {
            tracing::warn!(ip = %client, "sign-in refused: too many failed attempts");
            return Redirect::to("/inbox?error=throttled").into_response();
        }
        Attempt::After(delay) => tokio::time::sleep(delay).await,
    }
    let agent = match state.store.agent_by_email(form.email.trim()).await {
        Ok(agent) => agent.filter(|a| a.active),
        Err(err) => {
            tracing::error!(%err, "sign-in could not read the agents table");
            return Redirect::to("/inbox?error=unavailable").into_response();
        }
    };
    // Verify even when the email is unknown, so timing reveals nothing.
    let hash = agent.as_ref().map_or_else(
        || auth::decoy_hash().to_owned(),
        |a| a.password_hash.clone(),
    );
    let password = form.password;
    let verified = tokio::task::spawn_blocking(move || auth::verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    let Some(agent) = agent.filter(|_| verified) else {
        tracing::info!(ip = %client, "failed sign-in attempt");
        state.sign_ins.failed(&keys).await;
        return Redirect::to("/inbox?error=credentials").into_response();
    };
    state.sign_ins.succeeded(&email_key).await;
    let token = auth::new_token();
    if let Err(err) = state
        .store
        .create_session(&auth::token_hash(&token), agent.id, auth::session_expiry())
        .await
    {
        tracing::error!(%err, "could not store a new session");
        return Redirect::to("/inbox?error=unavailable").into_response();
    }
    tracing::info!(agent = agent.id.0, "agent signed in");
    let cookie = auth::set_cookie(
        SESSION_COOKIE,
        &token,
        SESSION_DAYS,
        auth::behind_https(&headers, Some(peer.ip()), &state.config.https),
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/inbox")).into_response()
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "Sign-out must come from this site's own page.",
        )
            .into_response();
    }
    match auth::signed_in_agent(&state.store, &headers).await {
        Ok(Some(agent)) => crate::server::cluster::signed_out(&state, vec![agent.id]).await,
        Ok(None) => {}
        Err(err) => tracing::error!(%err, "could not look up the session at sign-out"),
    }
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE)
        && let Err(err) = state.store.delete_session(&auth::token_hash(token)).await
    {
        tracing::error!(%err, "could not delete a session at sign-out");
    }
    let expired =
        HeaderValue::from_static("minicom_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    ([(header::SET_COOKIE, expired)], Redirect::to("/inbox")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_match_host() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers));
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&headers));
    }
}
