//! `GET /ws`: who is connecting (from the session cookie, never the URL),
//! whether they may, and the upgrade to a WebSocket.

use super::*;
use crate::i18n::Locale;
use crate::protocol::close;

/// Which of the browser's identities this socket speaks for. The identity itself
/// always comes from the matching cookie.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The visitor cookie (the messenger).
    #[default]
    Visitor,
    /// The agent session cookie (the inbox).
    Agent,
}

/// Query string of the upgrade request.
#[derive(Debug, Deserialize)]
pub struct Params {
    #[serde(default)]
    role: Role,
    /// The messenger's language (`lang=es`): the team sees it and the
    /// assistant answers in it. Unknown tags are ignored.
    #[serde(default)]
    lang: Option<String>,
}

/// Handles `GET /ws`.
pub async fn upgrade(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Query(params): Query<Params>,
    ws: WebSocketUpgrade,
) -> Response {
    if !crate::server::http::allowed_origin(&headers, |origin| state.workspace.may_embed(origin)) {
        return (
            StatusCode::FORBIDDEN,
            "This page's origin may not open a Minicom socket.",
        )
            .into_response();
    }
    let refused = |reason| state.metrics.sockets_refused.add(reason, 1);
    if state.hub.socket_count() >= state.socket_budget {
        refused("server_full");
        tracing::warn!(
            budget = state.socket_budget,
            "refused a socket: the server is at its socket limit"
        );
        return say_why(
            ws,
            CLOSE_TRY_LATER,
            "The chat server is at its connection limit. Try again in a minute.",
        );
    }
    let language = params.lang.as_deref().and_then(Locale::from_tag);
    let me = match identify(&state, &headers, params.role, client, language).await {
        Ok(Some((_, false, _)))
            if state
                .require_verified
                .load(std::sync::atomic::Ordering::Relaxed) =>
        {
            refused("unverified");
            return say_why(
                ws,
                close::UNVERIFIED,
                "This chat is for signed-in customers. Sign in on the site, then open the chat again.",
            );
        }
        Ok(Some((me, _, session))) => (me, session),
        Ok(None) => {
            return (
                StatusCode::UNAUTHORIZED,
                "No session: open the messenger page (visitors) or sign in at /inbox (agents) first.",
            )
                .into_response();
        }
        Err(err) => {
            tracing::error!(%err, "could not look up the session for a socket");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Storage is unavailable; retry shortly.",
            )
                .into_response();
        }
    };
    let (me, session) = me;
    if let Me::Contact { id, .. } = &me {
        match crate::server::blocks::admits(&state, *id, client).await {
            Ok(true) => {}
            Ok(false) => {
                refused("blocked");
                return say_why(ws, close::BLOCKED, close::BLOCKED_REASON);
            }
            Err(err) => {
                tracing::error!(%err, "could not check whether a visitor is blocked");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage is unavailable; retry shortly.",
                )
                    .into_response();
            }
        }
    }
    let peer = peer_of(&me);
    if let Some(wait) = state.hub.cooling(peer) {
        refused("cooling_down");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "You sent too much too fast. Wait {} s before reconnecting.",
                wait.as_secs() + 1
            ),
        )
            .into_response();
    }
    let limits = &state.config.limits;
    let sockets = state
        .presence
        .sockets_of(peer, state.hub.sockets_of(peer))
        .await;
    if sockets >= limits.sockets_per_person {
        refused("per_person");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many open tabs or windows for one person (the limit is {}). Close some, then reload.",
                limits.sockets_per_person
            ),
        )
            .into_response();
    }
    if state.hub.sockets_from(client) >= limits.sockets_per_ip {
        refused("per_address");
        tracing::warn!(ip = %client, "refused a socket: too many from one address");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many connections from your network (the limit is {}). Try again later.",
                limits.sockets_per_ip
            ),
        )
            .into_response();
    }
    ws.max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| serve(state, socket, me, session, client))
}

/// Accepts a socket only to close it at once saying why: a browser cannot
/// read why an upgrade was refused, but it can read a close frame.
fn say_why(ws: WebSocketUpgrade, code: u16, reason: &'static str) -> Response {
    ws.on_upgrade(move |mut socket| async move {
        let _ = socket
            .send(WsMessage::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            })))
            .await;
    })
}

/// The hash of an agent socket's session token, checked again while it is
/// open.
pub(super) type Session = [u8; 32];

/// Who the cookie says is connecting, whether they are verified (agents
/// always are; visitors when the embedding site vouched for them), and for
/// an agent the session to keep checking. A visitor is recorded as seen now
/// from `address`, with their messenger's `language` when it named one.
pub(super) async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    role: Role,
    address: std::net::IpAddr,
    language: Option<Locale>,
) -> Result<Option<(Me, bool, Option<Session>)>, StoreError> {
    match role {
        Role::Agent => {
            let Some(token) = auth::cookie(headers, auth::SESSION_COOKIE) else {
                return Ok(None);
            };
            let session = auth::token_hash(token);
            Ok(state.store.agent_by_session(&session).await?.map(|agent| {
                (
                    Me::Agent {
                        id: agent.id,
                        name: agent.name,
                    },
                    true,
                    Some(session),
                )
            }))
        }
        Role::Visitor => {
            let Some(token) = auth::cookie(headers, VISITOR_COOKIE) else {
                return Ok(None);
            };
            let hash = auth::token_hash(token);
            let contact = if auth::issued_visitor_token(state.identity_secret.as_bytes(), token) {
                let agent = crate::server::contacts::user_agent(headers);
                state
                    .store
                    .contact_for_token(
                        &hash,
                        agent,
                        &address.to_string(),
                        language.map(Locale::tag),
                    )
                    .await?
            } else {
                // A token this server never signed creates no one; one from
                // before tokens were signed works if it is already known.
                match state.store.known_contact_for_token(&hash).await? {
                    Some(contact) => contact,
                    None => return Ok(None),
                }
            };
            Ok(Some((
                Me::Contact {
                    id: contact.id,
                    name: contact.name,
                    email: contact.email,
                },
                contact.verified,
                None,
            )))
        }
    }
}
