//! Visitor tokens: who a browser is to the messenger.
//!
//! Every page load gives a browser a token this server signed (so a made-up
//! cookie creates nobody), at most so many new ones per address per hour.
//! A browser becomes a verified visitor only by an explicit step of the
//! embedding site — `POST /messenger/identify` with the identity it signed —
//! never by following a link: a link someone else sent must not make a
//! victim write into another person's conversations. Linking rotates the
//! token, and `POST /messenger/forget` (the site's sign-out) starts a fresh
//! anonymous visitor, so a shared device can unlink. The one link that
//! does sign a browser in, the one in a follow-up email, asks first, naming
//! the address it was sent to (`continue_page`).

use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{AppendHeaders, IntoResponse, Response};
use serde::Deserialize;

use crate::server::auth::{self, VISITOR_COOKIE};
use crate::server::http::ClientAddr;
use crate::server::{AppState, contacts, identity};

/// Gives every browser that loads a page a visitor token, so the messenger's
/// socket has an identity before the visitor writes anything.
pub async fn visitor_cookie(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let is_page_get = request.method() == Method::GET && is_page(request.uri().path());
    if !is_page_get {
        return next.run(request).await;
    }
    let existing = auth::cookie(request.headers(), VISITOR_COOKIE).map(str::to_owned);
    let keep = match &existing {
        Some(token) if auth::issued_visitor_token(state.identity_secret.as_bytes(), token) => true,
        // Issued before tokens were signed: kept only if it is someone already.
        Some(token) => matches!(
            state
                .store
                .known_contact_for_token(&auth::token_hash(token))
                .await,
            Ok(Some(_))
        ),
        None => false,
    };
    if keep {
        return next.run(request).await;
    }
    let ip = Some(crate::server::http::client_addr(
        &state,
        request.extensions(),
        request.headers(),
    ));
    let cookies = match issue_token(&state, ip, request.headers()).await {
        Ok((_, cookies)) => cookies,
        Err(refusal) => return refusal.into_response(),
    };
    let mut response = next.run(request).await;
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// One `Set-Cookie` header per value.
fn set_cookies(values: Vec<HeaderValue>) -> AppendHeaders<Vec<(header::HeaderName, HeaderValue)>> {
    AppendHeaders(
        values
            .into_iter()
            .map(|value| (header::SET_COOKIE, value))
            .collect(),
    )
}

/// Why a visitor request was refused: a status and a sentence saying why.
struct Refusal(StatusCode, String);

impl Refusal {
    /// The database did not answer: nothing changed, try again.
    fn unavailable() -> Self {
        Self(
            StatusCode::SERVICE_UNAVAILABLE,
            "Storage is unavailable; try again in a moment.".into(),
        )
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// A new signed visitor token and its cookie, within the address's share of
/// new visitors this hour.
async fn issue_token(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> Result<(String, Vec<HeaderValue>), Refusal> {
    if let Some(ip) = ip
        && !state
            .new_visitors
            .admit(ip, std::time::Instant::now())
            .await
    {
        state.metrics.visitors_refused.inc();
        tracing::warn!(%ip, "refused a new visitor: too many from one address this hour");
        return Err(Refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many new chats were started from your network in the last hour. \
             Try again later."
                .into(),
        ));
    }
    Ok(auth::new_visitor_cookie(
        state.identity_secret.as_bytes(),
        auth::secure_context(headers, ip, &state.config.https),
    ))
}

/// What an embedding site says about its signed-in user.
#[derive(Deserialize)]
pub struct IdentityClaim {
    user_id: String,
    user_hash: String,
    /// Unix seconds after which this signed identity is refused.
    expires: Option<i64>,
    name: Option<String>,
    email: Option<String>,
    /// Custom attributes for the team to see (a JSON object of strings,
    /// numbers and booleans; see `contacts::clean_attributes`). Like name
    /// and email they come through the visitor's browser with the signed
    /// identity: shown as what the site's page said, never trusted.
    attributes: Option<String>,
    /// The page that asked, when the messenger frame forwards its embedding
    /// page's message: must be a site allowed to embed the messenger.
    origin: Option<String>,
}

/// The messenger frame forwards its embedding page's origin: only sites
/// allowed to embed it may say who the visitor is, or forget them.
fn allowed_embedder(state: &AppState, origin: Option<&str>) -> Result<(), Refusal> {
    match origin {
        None => Ok(()),
        Some(origin) if state.workspace.may_embed(origin) => Ok(()),
        Some(origin) => {
            tracing::warn!(%origin, "refused a visitor identity from a page not allowed to embed the messenger");
            Err(Refusal(
                StatusCode::FORBIDDEN,
                format!(
                    "The page at {origin} may not embed this chat. An admin can add it under Settings → Sites that may embed the messenger."
                ),
            ))
        }
    }
}

/// What `POST /messenger/forget` may carry.
#[derive(Deserialize)]
pub struct Forget {
    origin: Option<String>,
}

/// `POST /messenger/identify`: the embedding site vouches for its signed-in
/// user. This browser gets a new token that speaks for that verified visitor
/// (the old one keeps whatever it was): 200 with the new cookie — the
/// messenger then reloads as them. 204 when this browser already is that
/// visitor (nothing changes, no reload: a page may say it on every load).
/// 403 with what to fix.
pub async fn identify(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(claim): Form<IdentityClaim>,
) -> Response {
    if let Err(refusal) = allowed_embedder(&state, claim.origin.as_deref()) {
        return refusal.into_response();
    }
    let now = crate::server::store::now().0 / 1000;
    if let Err(err) = identity::verify_claim(
        state.identity_secret.as_bytes(),
        &claim.user_id,
        claim.expires,
        &claim.user_hash,
        now,
    ) {
        tracing::warn!(%err, "refused a visitor identity");
        return (
            StatusCode::FORBIDDEN,
            format!(
                "Minicom could not verify who you are ({err}). The site that embeds this chat \
                 must sign user_id with its Minicom identity secret; see the README."
            ),
        )
            .into_response();
    }
    // An attribute that breaks the rules is left out (and logged for the
    // site's developer); the identity still holds.
    let attributes = claim.attributes.as_deref().map(contacts::clean_attributes);
    let left_out = attributes
        .as_ref()
        .map(|a| a.left_out.join("; "))
        .unwrap_or_default();
    if !left_out.is_empty() {
        tracing::warn!(problems = %left_out, "left out custom attributes a site sent with a visitor's identity");
    }
    let attributes = attributes.and_then(|a| a.stored);
    if let Some(current) = auth::cookie(&headers, VISITOR_COOKIE)
        && auth::issued_visitor_token(state.identity_secret.as_bytes(), current)
        && matches!(
            state.store.token_external_id(&auth::token_hash(current)).await,
            Ok(Some(id)) if id == claim.user_id
        )
    {
        // The same visitor again; what the site says about them may have
        // changed since (a new plan).
        if let Some(attributes) = &attributes
            && let Err(err) = state
                .store
                .set_verified_attributes(&claim.user_id, attributes)
                .await
        {
            tracing::error!(%err, "could not store a verified visitor's attributes");
            return Refusal::unavailable().into_response();
        }
        return StatusCode::NO_CONTENT.into_response();
    }
    let (token, cookies) = match issue_token(&state, Some(client), &headers).await {
        Ok(issued) => issued,
        Err(refusal) => return refusal.into_response(),
    };
    // Labels only: shown to the team, never used to find anyone. A label
    // that breaks the profile rules is dropped; the identity still holds.
    let label = |field, value| {
        crate::protocol::clean_profile_field(field, value)
            .ok()
            .flatten()
    };
    let (name, email) = (label("name", claim.name), label("email", claim.email));
    if let Err(err) = state
        .store
        .verify_visitor(
            &auth::token_hash(&token),
            &claim.user_id,
            name.as_deref(),
            email.as_deref(),
            attributes.as_deref(),
        )
        .await
    {
        tracing::error!(%err, "could not link a verified visitor");
        return Refusal::unavailable().into_response();
    }
    let said = if left_out.is_empty() {
        "linked".to_owned()
    } else {
        format!("linked; attributes left out: {left_out}")
    };
    (StatusCode::OK, set_cookies(cookies), said).into_response()
}

/// `POST /messenger/forget`: the visitor signed out of the embedding site.
/// This browser's token stops speaking for them, and it starts over as a new
/// anonymous visitor (200 with the new cookie; the messenger reloads); the
/// conversations of the one it was stay theirs. 204 when the browser is
/// nobody yet (nothing to forget, no reload).
pub async fn forget(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(forget): Form<Forget>,
) -> Response {
    if let Err(refusal) = allowed_embedder(&state, forget.origin.as_deref()) {
        return refusal.into_response();
    }
    if let Some(current) = auth::cookie(&headers, VISITOR_COOKIE) {
        let hash = auth::token_hash(current);
        match state.store.token_is_blank(&hash).await {
            Ok(true) => return StatusCode::NO_CONTENT.into_response(),
            Ok(false) => {}
            Err(err) => {
                tracing::error!(%err, "could not look up a visitor token to forget");
                return Refusal::unavailable().into_response();
            }
        }
        if let Err(err) = state.store.unlink_token(&hash).await {
            tracing::error!(%err, "could not unlink a visitor token");
        }
    }
    match issue_token(&state, Some(client), &headers).await {
        Ok((_, cookies)) => (StatusCode::OK, set_cookies(cookies), "forgotten").into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

fn is_page(path: &str) -> bool {
    matches!(path, "/" | "/messenger")
}

/// A small page of the messenger's own (after a link from an email):
/// `paragraphs` are text, escaped; `form` is the page's own markup.
fn plain_page(title: &str, paragraphs: &[String], form: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p)))
        .collect();
    axum::response::Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/pkg/minicom.css\"></head>\
         <body><main class=\"team email-page\"><h1>{title}</h1>{body}{form}</main></body></html>",
        title = escape(title),
    ))
    .into_response()
}

/// `ana@example.com` as `a…@example.com`: enough for its owner to know it.
fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((user, domain)) => {
            let first: String = user.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => "your email".to_owned(),
    }
}

/// The link's fields again, for the confirming form.
fn continue_fields(link: &crate::server::email::links::Continue) -> String {
    format!(
        "<input type=\"hidden\" name=\"c\" value=\"{}\"><input type=\"hidden\" name=\"k\" value=\"{}\">\
         <input type=\"hidden\" name=\"x\" value=\"{}\"><input type=\"hidden\" name=\"s\" value=\"{}\">",
        link.c,
        link.k,
        link.x,
        link.s
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
    )
}

/// The page a bad or expired link gets.
fn link_refused() -> Response {
    let mut page = plain_page(
        "This link does not work any more",
        &["Links in our emails work for 30 days. Open the chat on our website to write to us again.".into()],
        "",
    );
    *page.status_mut() = StatusCode::GONE;
    page
}

/// `GET /messenger/continue`: the link in a follow-up email. Following a
/// link changes nothing (mail scanners follow them too, and a link someone
/// else sent must not sign a browser in unawares): it asks first, naming
/// the address the email went to.
pub async fn continue_page(
    State(state): State<AppState>,
    axum::extract::Query(link): axum::extract::Query<crate::server::email::links::Continue>,
) -> Response {
    let now = crate::server::store::now().0 / 1000;
    let Some((conversation, contact)) = link.verify(state.identity_secret.as_bytes(), now) else {
        return link_refused();
    };
    let email = match state.store.conversation_contact(conversation).await {
        Ok(Some(owner)) if owner == contact => state
            .store
            .contact_details(conversation)
            .await
            .ok()
            .flatten()
            .and_then(|d| d.record.email),
        Ok(_) => return link_refused(),
        Err(err) => {
            tracing::error!(%err, "could not look up a conversation for an email link");
            return Refusal::unavailable().into_response();
        }
    };
    let to = email
        .as_deref()
        .map_or_else(|| "your email".to_owned(), masked);
    plain_page(
        "Continue your conversation",
        &[format!(
            "This link was emailed to {to}. Continue in this browser as that person?"
        )],
        &format!(
            "<form method=\"post\" action=\"/messenger/continue\">{}<button type=\"submit\" class=\"button-small\">Continue the conversation</button></form>",
            continue_fields(&link)
        ),
    )
}

/// `POST /messenger/continue`: the visitor confirmed. This browser gets a
/// new token that speaks for them, and the messenger opens on the
/// conversation.
pub async fn continue_from_email(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(link): Form<crate::server::email::links::Continue>,
) -> Response {
    let now = crate::server::store::now().0 / 1000;
    let Some((conversation, contact)) = link.verify(state.identity_secret.as_bytes(), now) else {
        return link_refused();
    };
    match state.store.conversation_contact(conversation).await {
        Ok(Some(owner)) if owner == contact => {}
        Ok(_) => return link_refused(),
        Err(err) => {
            tracing::error!(%err, "could not look up a conversation for an email link");
            return Refusal::unavailable().into_response();
        }
    }
    let (token, cookies) = match issue_token(&state, Some(client), &headers).await {
        Ok(issued) => issued,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(err) = state
        .store
        .link_token(&auth::token_hash(&token), contact)
        .await
    {
        tracing::error!(%err, "could not link a browser to a visitor from an email");
        return Refusal::unavailable().into_response();
    }
    let to = format!("/messenger?conversation={}", conversation.0);
    (
        StatusCode::SEE_OTHER,
        set_cookies(cookies),
        [(
            header::LOCATION,
            HeaderValue::from_str(&to).unwrap_or(HeaderValue::from_static("/messenger")),
        )],
    )
        .into_response()
}

/// `GET /messenger/unsubscribe`: asks before stopping the emails (a mail
/// scanner that follows the link must not unsubscribe anyone).
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    axum::extract::Query(link): axum::extract::Query<crate::server::email::links::Unsubscribe>,
) -> Response {
    if link.verify(state.identity_secret.as_bytes()).is_none() {
        return link_refused();
    }
    plain_page(
        "Stop emails about your conversations?",
        &["We email you the team's replies when you have left the chat.".into()],
        &format!(
            "<form method=\"post\" action=\"/messenger/unsubscribe\">\
             <input type=\"hidden\" name=\"k\" value=\"{}\"><input type=\"hidden\" name=\"s\" value=\"{}\">\
             <button type=\"submit\" class=\"button-small\">Stop the emails</button></form>",
            link.k,
            link.s
                .chars()
                .filter(char::is_ascii_hexdigit)
                .collect::<String>()
        ),
    )
}

/// `POST /messenger/unsubscribe`: from the page above (the link's fields
/// in the form), or a mail program's one-click unsubscribe (RFC 8058: the
/// link itself, posted).
pub async fn unsubscribe(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    body: String,
) -> Response {
    use crate::server::email::links::Unsubscribe;
    use axum::extract::Query;
    let link = Query::<Unsubscribe>::try_from_uri(&uri).ok().or_else(|| {
        let form: axum::http::Uri = format!("/?{body}").parse().ok()?;
        Query::<Unsubscribe>::try_from_uri(&form).ok()
    });
    let Some(contact) = link.and_then(|Query(link)| link.verify(state.identity_secret.as_bytes()))
    else {
        return link_refused();
    };
    if let Err(err) = state.store.opt_out_of_email(contact).await {
        tracing::error!(%err, "could not stop a visitor's emails");
        return Refusal::unavailable().into_response();
    }
    tracing::info!(contact = contact.0, "a visitor unsubscribed from emails");
    plain_page(
        "You will get no more emails",
        &["Your conversations stay in the chat on our website.".into()],
        "",
    )
}
