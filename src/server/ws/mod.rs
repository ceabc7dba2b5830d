//! `/ws`: one WebSocket per browser tab.
//!
//! The upgrade establishes who is connecting from the session cookie (never from
//! the URL or a frame). Each socket then runs two halves in one task: the reader
//! decodes frames and handles them in order, the writer drains the socket's
//! byte-bounded queue (replies and hub deliveries) and sends heartbeats. Sends
//! are finished by a third task of the socket's, the finisher: once a write
//! commits, its events are published whether or not the socket that sent it is
//! still there (the ack is best effort; a resend is answered from the store).
//! Handlers for each frame type are the small `on_*` functions dispatched from
//! [`handle_text`]; that `match` is the table of contents. The workflow's
//! frames (`set_status`, `assign`, `rate`) are in `workflow`.

mod workflow;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use crate::protocol;
use crate::protocol::{
    AssistantState, ClientFrame, ClientId, ContactId, ConversationId, ConversationSummary,
    CursorKind, HISTORY_PAGE, InboxSort, InboxView, MAX_FRAME_BYTES, Me, MessageId, Person,
    ProtocolError, SenderKind, Seq, ServerFrame, Timestamp, validate_body, visitor_label,
};
use crate::server::AppState;
use crate::server::assistant::{self, Assistant};
use crate::server::auth::{self, VISITOR_COOKIE};
use crate::server::bus::Event;
use crate::server::hub::{Kick, Peer, SIGNED_OUT, SocketId, TOO_SLOW, conn_label, encode};
use crate::server::limits::{FrameLimiter, Verdict};
use crate::server::publish::{publish_event, publish_messages, publish_summary_of};
use crate::server::queue::{QueueRx, QueueTx, Refused};
use crate::server::store::{
    Audience, Author, Change, Inserted, PostOptions, Queued, Reader, Store, StoreError,
    VisitorPost, now,
};

/// Longest a single write may block before the peer counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the server pings an idle peer.
const HEARTBEAT: Duration = Duration::from_secs(25);

/// Conversation owners a socket remembers before starting over.
const OWNERS_CACHED: usize = 1_024;

/// Inbox rows per page (`hello`, `more_conversations`).
const INBOX_PAGE: i64 = 50;

/// Messages per `changes` frame when catching up after a reconnect (each
/// page is also bounded in bytes: `PAGE_BYTES`).
const RESUME_PAGE: i64 = 500;

/// How often an agent's socket checks that its session still holds (signed
/// out elsewhere, deactivated from the command line, expired).
const SESSION_CHECK: Duration = Duration::from_secs(3);

/// How long a closing socket waits for the peer's answering close, and how
/// many frames it reads meanwhile at most.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_FRAMES: usize = 1_024;

/// How long a person cut off for flooding must wait to reconnect.
const FLOOD_COOL_DOWN: Duration = Duration::from_secs(10);

/// Close code: the peer sent a frame over the size limit.
const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: the server is restarting; reconnect.
const CLOSE_RESTART: u16 = 1012;
/// Close code: the peer stopped answering heartbeats.
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: this site lets only verified visitors chat.
const CLOSE_UNVERIFIED: u16 = 4003;
/// Close code: policy violation (here: too slow to keep up).
const CLOSE_POLICY: u16 = 1008;
/// Close code: the server is at its socket limit; try again later.
const CLOSE_TRY_LATER: u16 = 1013;

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
}

/// Handles `GET /ws`.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
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
        // Accepted only to say why: a browser cannot read a refused upgrade.
        return ws.on_upgrade(|mut socket| async move {
            let _ = socket
                .send(WsMessage::Close(Some(CloseFrame {
                    code: CLOSE_TRY_LATER,
                    reason: Utf8Bytes::from_static(
                        "The chat server is at its connection limit. Try again in a minute.",
                    ),
                })))
                .await;
        });
    }
    let me = match identify(&state, &headers, params.role).await {
        Ok(Some((_, false, _)))
            if state
                .require_verified
                .load(std::sync::atomic::Ordering::Relaxed) =>
        {
            refused("unverified");
            // Accepted only to say why, in a close frame the page can show.
            return ws.on_upgrade(|mut socket| async move {
                let _ = socket
                    .send(WsMessage::Close(Some(CloseFrame {
                        code: CLOSE_UNVERIFIED,
                        reason: Utf8Bytes::from_static(
                            "This chat is for signed-in customers. Sign in on the site, then open the chat again.",
                        ),
                    })))
                    .await;
            });
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
    if state.hub.sockets_of(peer) >= limits.sockets_per_person {
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
    if state.hub.sockets_from(client.ip()) >= limits.sockets_per_ip {
        refused("per_address");
        tracing::warn!(ip = %client.ip(), "refused a socket: too many from one address");
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
        .on_upgrade(move |socket| serve(state, socket, me, session, client.ip()))
}

/// The hash of an agent socket's session token, checked again while it is
/// open.
type Session = [u8; 32];

/// Who the cookie says is connecting, whether they are verified (agents
/// always are; visitors when the embedding site vouched for them), and for
/// an agent the session to keep checking.
async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    role: Role,
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
                state.store.contact_for_token(&hash).await?
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

fn peer_of(me: &Me) -> Peer {
    match me {
        Me::Contact { id, .. } => Peer::Contact(*id),
        Me::Agent { id, .. } => Peer::Agent(*id),
    }
}

/// One connected socket, as its handlers see it.
struct Conn {
    state: AppState,
    id: SocketId,
    peer: Peer,
    /// This connection's token buckets.
    limiter: FrameLimiter,
    /// How others see this person (the name changes with `profile`).
    person: std::sync::Mutex<Person>,
    /// Whose conversations this socket has touched (ownership never changes,
    /// so each is looked up once).
    owners: std::sync::Mutex<std::collections::HashMap<ConversationId, ContactId>>,
    tx: QueueTx,
    /// Cuts this socket off (its queue overran).
    kick: Arc<Kick>,
}

impl Conn {
    fn person(&self) -> Person {
        self.person
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// What this socket may read: visitors never get what is internal.
    fn audience(&self) -> Audience {
        match self.peer {
            Peer::Agent(_) => Audience::Team,
            Peer::Contact(_) => Audience::Visitor,
        }
    }

    fn reader(&self) -> Reader {
        match self.peer {
            Peer::Contact(c) => Reader::Contact(c),
            Peer::Agent(a) => Reader::Agent(a),
        }
    }

    /// Queues a frame for this socket only. Waits while the queue's byte
    /// budget is spent: a client that does not read slows only itself.
    async fn reply(&self, frame: &ServerFrame) {
        if self.tx.send(encode(frame)).await.is_ok() {
            self.state.metrics.frames_out.add(frame.kind(), 1);
        }
    }

    /// Queues a frame without waiting (what follows a commit must never be
    /// held up by one socket); a socket whose budget is spent is cut off, and
    /// resumes.
    fn try_reply(&self, frame: &ServerFrame) {
        match self.tx.try_send(encode(frame)) {
            Ok(()) => self.state.metrics.frames_out.add(frame.kind(), 1),
            Err(Refused::Full) => {
                self.state
                    .metrics
                    .queue_drops
                    .fetch_add(1, Ordering::Relaxed);
                self.kick.fire(TOO_SLOW);
            }
            Err(Refused::Closed) => {}
        }
    }
}

async fn serve(
    state: AppState,
    socket: WebSocket,
    me: Me,
    session: Option<Session>,
    ip: std::net::IpAddr,
) {
    let peer = peer_of(&me);
    let person = match &me {
        Me::Contact { id, name, .. } => Person {
            kind: SenderKind::Contact,
            id: id.0,
            name: name.clone().unwrap_or_else(|| visitor_label(*id)),
        },
        Me::Agent { id, name } => Person {
            kind: SenderKind::Agent,
            id: id.0,
            name: name.clone(),
        },
    };
    let registration = state.hub.register(peer, ip);
    let span = tracing::info_span!("socket", conn = %conn_label(registration.id));
    run_socket(state, socket, me, session, peer, person, registration)
        .instrument(span)
        .await;
}

async fn run_socket(
    state: AppState,
    socket: WebSocket,
    me: Me,
    session: Option<Session>,
    peer: Peer,
    person: Person,
    registration: crate::server::hub::Registration,
) {
    let conn = Arc::new(Conn {
        state: state.clone(),
        id: registration.id,
        peer,
        limiter: FrameLimiter::new(&state.config.limits),
        person: std::sync::Mutex::new(person),
        owners: Default::default(),
        tx: registration.tx,
        kick: registration.kick.clone(),
    });
    if registration.came_online {
        publish(&conn, presence_event(peer, true, now())).await;
    }
    tracing::debug!(?peer, "socket opened");
    let (mut sink, mut stream) = socket.split();
    // `hello` goes out first, straight to the socket: events the hub queued
    // since the registration above follow it (a row or message in both is
    // merged by id), so nothing is missed and nothing comes before it.
    let started = std::time::Instant::now();
    let first = match hello(&conn, me).await {
        Ok(frame) => {
            state.metrics.db_hello.observe(started.elapsed());
            state.metrics.frames_out.add(frame.kind(), 1);
            WsMessage::Text(encode(&frame))
        }
        Err(err) => {
            tracing::error!(%err, "could not load the conversations for a new socket");
            WsMessage::Close(Some(CloseFrame {
                code: 1011,
                reason: Utf8Bytes::from_static("Storage is unavailable; reconnect shortly."),
            }))
        }
    };
    let greeted = matches!(first, WsMessage::Text(_));
    let sent = tokio::time::timeout(WRITE_TIMEOUT, sink.send(first)).await;
    if !greeted || !matches!(sent, Ok(Ok(()))) {
        state.hub.unregister(conn.id);
        tokio::spawn(announce_if_gone(state, peer));
        return;
    }
    let (close_tx, close_rx) = oneshot::channel();
    let heard = Heard::new();
    let mut pending = Pending::start(&conn);
    {
        let writer = write_loop(
            sink,
            registration.rx,
            &registration.kick,
            state.hub.shutdown_signal(),
            close_rx,
            &heard,
            session.map(|session| (state.store.clone(), session)),
        );
        let reader = read_loop(&conn, &mut stream, close_tx, &heard, &mut pending);
        tokio::pin!(reader, writer);
        tokio::select! {
            // The reader ended (peer closed, or a close was requested): let
            // the writer send that close and finish.
            _ = &mut reader => writer.await,
            // The writer ended (shutdown, too slow, broken pipe): stop
            // reading. Sends already read are the finisher's: they still
            // commit and publish.
            _ = &mut writer => {}
        }
    }
    drop(pending);
    // After our close frame, read on briefly until the peer answers it:
    // closing with unread data would reset the connection and the peer
    // could lose the close frame and its reason.
    // Bounded in time and in frames: a flooder's backlog is not read to the end.
    let _ = tokio::time::timeout(LINGER, async {
        for _ in 0..LINGER_FRAMES {
            if !matches!(stream.next().await, Some(Ok(_))) {
                break;
            }
        }
    })
    .await;
    state.hub.unregister(conn.id);
    tracing::debug!("socket closed");
    tokio::spawn(announce_if_gone(state, peer));
}

/// After the grace period, announces the person (or the team) offline if no
/// socket of theirs came back.
async fn announce_if_gone(state: AppState, peer: Peer) {
    tokio::time::sleep(state.config.limits.presence_grace).await;
    if !state.hub.went_offline(peer) {
        return;
    }
    let last_seen = match peer {
        Peer::Contact(contact) => match state.store.touch_contact(contact).await {
            Ok(at) => at,
            Err(err) => {
                tracing::error!(%err, "could not record when a visitor was last seen");
                now()
            }
        },
        Peer::Agent(_) => now(),
    };
    if let Err(err) = state
        .bus
        .publish(presence_event(peer, false, last_seen))
        .await
    {
        tracing::error!(%err, "could not announce that someone went offline");
    }
}

fn presence_event(peer: Peer, online: bool, last_seen_at: Timestamp) -> Event {
    match peer {
        Peer::Contact(contact_id) => Event::Presence {
            contact_id,
            online,
            last_seen_at,
        },
        Peer::Agent(_) => Event::TeamPresence { online },
    }
}

/// When the peer last sent anything, shared by the socket's two halves.
struct Heard {
    since: tokio::time::Instant,
    last_ms: AtomicU64,
}

impl Heard {
    fn new() -> Self {
        Self {
            since: tokio::time::Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn now(&self) {
        self.last_ms
            .store(self.since.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.since.elapsed().saturating_sub(last)
    }
}

/// Sends the socket's queue, heartbeats and, when asked, the close; for an
/// agent (`session`) also checks every few seconds that the session still
/// holds, and closes with 4001 when it does not.
async fn write_loop(
    mut sink: futures::stream::SplitSink<WebSocket, WsMessage>,
    mut rx: QueueRx,
    kick: &Kick,
    mut shutdown: watch::Receiver<bool>,
    mut close_rx: oneshot::Receiver<CloseFrame>,
    heard: &Heard,
    session: Option<(Store, Session)>,
) {
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut session_check =
        tokio::time::interval_at(tokio::time::Instant::now() + SESSION_CHECK, SESSION_CHECK);
    session_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let close = |code, reason: &'static str| {
        WsMessage::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    loop {
        let outgoing = tokio::select! {
            biased;
            _ = stopping(&mut shutdown) => {
                close(CLOSE_RESTART, "Server restarting; reconnect in a moment.")
            }
            why = kick.fired() => close(why.code, why.reason),
            requested = &mut close_rx => match requested {
                Ok(frame) => {
                    // Replies already queued (acks of stored messages) go
                    // out before the close.
                    while let Some(text) = rx.try_recv() {
                        let sent = tokio::time::timeout(WRITE_TIMEOUT, sink.send(WsMessage::Text(text))).await;
                        if !matches!(sent, Ok(Ok(()))) {
                            return;
                        }
                    }
                    WsMessage::Close(Some(frame))
                }
                Err(_) => return,
            },
            Some(text) = rx.recv() => WsMessage::Text(text),
            _ = session_check.tick(), if session.is_some() => {
                let Some((store, session)) = &session else { continue };
                // Bounded: a slow database must not hold up the socket's frames.
                match tokio::time::timeout(SESSION_CHECK / 3, store.agent_by_session(session)).await {
                    Ok(Ok(Some(_))) => continue,
                    Ok(Ok(None)) => close(SIGNED_OUT.code, SIGNED_OUT.reason),
                    // Storage trouble is no proof the session ended.
                    Ok(Err(err)) => {
                        tracing::warn!(%err, "could not check an agent's session; keeping the socket");
                        continue;
                    }
                    Err(_) => continue,
                }
            }
            _ = heartbeat.tick() => {
                // Two heartbeats without a word (not even a pong): a dead peer.
                if heard.silent_for() > 2 * HEARTBEAT + HEARTBEAT / 5 {
                    close(CLOSE_GOING_AWAY, "No heartbeat; reconnect to resume.")
                } else {
                    WsMessage::Ping(Default::default())
                }
            }
        };
        let closing = matches!(outgoing, WsMessage::Close(_));
        // A peer that stops reading blocks this send; the hub's kick (its
        // queue overflowed) or the write timeout ends the wait, never a stall.
        let sent = tokio::select! {
            sent = tokio::time::timeout(WRITE_TIMEOUT, sink.send(outgoing)) => matches!(sent, Ok(Ok(()))),
            _ = kick.fired() => false,
        };
        if closing || !sent {
            return;
        }
    }
}

async fn read_loop(
    conn: &Arc<Conn>,
    stream: &mut futures::stream::SplitStream<WebSocket>,
    close_tx: oneshot::Sender<CloseFrame>,
    heard: &Heard,
    pending: &mut Pending,
) {
    let ended = read_frames(conn, stream, heard, pending).await;
    // A close the reader asks for goes after the acks of the sends before it.
    pending.drain().await;
    if let Some(close) = ended {
        let _ = close_tx.send(close);
    }
}

/// A `send` whose write is queued for the database; the finisher completes
/// it after the commit.
struct QueuedSend {
    /// The conversation's visitor (`None`: a visitor's own new conversation).
    contact: Option<ContactId>,
    client_id: ClientId,
    queued: Queued,
    received: std::time::Instant,
}

/// The reader's handle on the socket's finisher: sends go to it in order, and
/// the reader can wait until every one it handed over is complete.
struct Pending {
    sends: mpsc::Sender<QueuedSend>,
    handed: u64,
    finished: watch::Receiver<u64>,
}

impl Pending {
    /// Starts the socket's finisher (tracked, so shutdown waits for it).
    fn start(conn: &Arc<Conn>) -> Self {
        let (sends, queue) = mpsc::channel(PIPELINE);
        let (done, finished) = watch::channel(0);
        conn.state
            .tasks
            .spawn(finish_sends(conn.clone(), queue, done).instrument(tracing::Span::current()));
        Self {
            sends,
            handed: 0,
            finished,
        }
    }

    /// Room for one more send with the finisher; waits while `PIPELINE`
    /// sends are ahead. Taken *before* the write is queued: between queueing
    /// a write and handing it over nothing may be awaited, or a socket torn
    /// down at that moment would drop a committed message unpublished.
    async fn room(&self) -> Option<mpsc::OwnedPermit<QueuedSend>> {
        self.sends.clone().reserve_owned().await.ok()
    }

    /// Hands a queued send to the finisher (never waits).
    fn hand(&mut self, room: mpsc::OwnedPermit<QueuedSend>, send: QueuedSend) {
        room.send(send);
        self.handed += 1;
    }

    /// Waits until every send handed over is complete (acked and published).
    async fn drain(&mut self) {
        let handed = self.handed;
        let _ = self.finished.wait_for(|done| *done >= handed).await;
    }
}

/// The finisher: completes the socket's sends in the order they came — the
/// ack, then the live events — independently of the socket, which may be
/// gone by the time a commit lands.
async fn finish_sends(
    conn: Arc<Conn>,
    mut sends: mpsc::Receiver<QueuedSend>,
    done: watch::Sender<u64>,
) {
    while let Some(send) = sends.recv().await {
        let client_id = send.client_id;
        if let Err(err) = finish_send(&conn, send).await {
            conn.try_reply(&err.to_frame(Some(client_id)));
        }
        done.send_modify(|finished| *finished += 1);
    }
}

/// Reads and handles frames until the peer leaves or the socket must close
/// (then returns the close frame to send).
async fn read_frames(
    conn: &Arc<Conn>,
    stream: &mut futures::stream::SplitStream<WebSocket>,
    heard: &Heard,
    pending: &mut Pending,
) -> Option<CloseFrame> {
    loop {
        // The peer left.
        let received = stream.next().await?;
        heard.now();
        match received {
            Ok(WsMessage::Text(text)) => {
                if let Err(Some(close)) = handle_text(conn, &text, pending).await {
                    return Some(close);
                }
            }
            Ok(WsMessage::Binary(_)) => {
                pending.drain().await;
                if let Err(Some(close)) = admit(conn, conn.limiter.frame(), "frames", None).await {
                    return Some(close);
                }
                conn.reply(&ProtocolError::UnsupportedFrame.to_frame(None))
                    .await;
            }
            Ok(WsMessage::Close(_)) => return None,
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => {}
            Err(err) => {
                return is_too_big(&err).then(|| CloseFrame {
                    code: CLOSE_TOO_BIG,
                    reason: Utf8Bytes::from_static(
                        "Frame larger than 64 KiB; messages are limited to 4,000 characters.",
                    ),
                });
            }
        }
    }
}

/// Resolves once the server is stopping. (Drops the watch guard before the
/// caller's branch runs, so the socket future stays `Send`.)
pub(crate) async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

fn is_too_big(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(tungstenite::Error::Capacity(_)) = e.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The first frame of a socket: who they are and what they can see.
async fn hello(conn: &Conn, me: Me) -> Result<ServerFrame, StoreError> {
    let store = &conn.state.store;
    let (mut conversations, more_conversations) = match conn.peer {
        Peer::Contact(contact) => (
            store
                .contact_conversations(contact)
                .await?
                .into_iter()
                .map(ConversationSummary::for_visitor)
                .collect(),
            false,
        ),
        Peer::Agent(agent) => {
            store
                .inbox(agent, InboxView::Open, InboxSort::Newest, None, INBOX_PAGE)
                .await?
        }
    };
    for conversation in &mut conversations {
        with_presence(conn, conversation);
    }
    let team_online = conn.state.hub.team_online();
    let look = matches!(conn.peer, Peer::Contact(_)).then(|| conn.state.workspace.look());
    let (counts, team) = match conn.peer {
        Peer::Agent(_) => (
            Some(crate::server::workflow::counts(&conn.state).await?),
            crate::server::workflow::team(&conn.state).await?,
        ),
        Peer::Contact(_) => (None, Vec::new()),
    };
    Ok(ServerFrame::Hello {
        me,
        conversations,
        more_conversations,
        team_online,
        look,
        counts,
        team,
    })
}

/// Fills in whether the row's visitor is online right now.
fn with_presence(conn: &Conn, conversation: &mut ConversationSummary) {
    conversation.contact_online = conn.state.hub.contact_online(conversation.contact_id);
}

/// Applies a rate-limit verdict. `Err(None)`: refused and answered, skip the
/// frame; `Err(Some(close))`: the client keeps flooding, close the socket.
async fn admit(
    conn: &Conn,
    verdict: Verdict,
    limit: &'static str,
    client_id: Option<ClientId>,
) -> Result<(), Option<CloseFrame>> {
    if verdict != Verdict::Allow {
        conn.state.metrics.rate_limited.add(limit, 1);
    }
    match verdict {
        Verdict::Allow => Ok(()),
        Verdict::Refuse(wait) => {
            let ms = wait.as_millis().max(1) as u64;
            conn.reply(&ProtocolError::RateLimited(ms).to_frame(client_id))
                .await;
            Err(None)
        }
        Verdict::Disconnect => {
            tracing::warn!(peer = ?conn.peer, "closing a socket that kept flooding");
            conn.state.hub.cool_down(conn.peer, FLOOD_COOL_DOWN);
            Err(Some(CloseFrame {
                code: CLOSE_POLICY,
                reason: Utf8Bytes::from_static(
                    "Too many frames, too fast. Slow down, then reconnect.",
                ),
            }))
        }
    }
}

/// Decodes one frame and dispatches it; every refusal becomes an `error`
/// frame. `Err` as for [`admit`].
/// `send`s are pipelined: each is queued for the database and the next frame
/// is read at once; any other frame first waits until the sends before it
/// are complete, so replies keep the order of the frames.
async fn handle_text(
    conn: &Arc<Conn>,
    text: &str,
    pending: &mut Pending,
) -> Result<(), Option<CloseFrame>> {
    let received = std::time::Instant::now();
    let metrics = &conn.state.metrics;
    let frame = ClientFrame::decode(text);
    if !matches!(frame, Ok(ClientFrame::Send { .. })) {
        pending.drain().await;
    }
    admit(conn, conn.limiter.frame(), "frames", None).await?;
    let frame = match frame {
        Ok(frame) => frame,
        Err(err) => {
            metrics.frames_in.add("invalid", 1);
            conn.reply(&err.to_frame(None)).await;
            return Ok(());
        }
    };
    metrics.frames_in.add(frame.kind(), 1);
    let sent_id = match &frame {
        ClientFrame::Send { client_id, .. } => Some(*client_id),
        _ => None,
    };
    admit(conn, conn.limiter.decoded(&frame), frame.kind(), sent_id).await?;
    let mut client_id = None;
    let handled = match frame {
        ClientFrame::Send {
            conversation_id,
            client_id: id,
            body,
            new_conversation,
            note,
        } => {
            let Some(room) = pending.room().await else {
                return Ok(());
            };
            let how = How {
                new_conversation,
                note,
            };
            match start_send(conn, conversation_id, id, &body, how, received).await {
                Ok(send) => {
                    pending.hand(room, send);
                    return Ok(());
                }
                Err(err) => {
                    client_id = Some(id);
                    Err(err)
                }
            }
        }
        ClientFrame::Open { conversation_id } => on_open(conn, conversation_id).await,
        ClientFrame::Resume {
            conversation_id,
            since,
        } => on_resume(conn, conversation_id, since).await,
        ClientFrame::Typing {
            conversation_id,
            typing,
        } => on_typing(conn, conversation_id, typing).await,
        change @ (ClientFrame::Profile { .. }
        | ClientFrame::Read { .. }
        | ClientFrame::Delivered { .. }
        | ClientFrame::React { .. }
        | ClientFrame::Edit { .. }
        | ClientFrame::Delete { .. }
        | ClientFrame::Handoff { .. }
        | ClientFrame::Assistant { .. }
        | ClientFrame::SetStatus { .. }
        | ClientFrame::Assign { .. }
        | ClientFrame::Rate { .. }) => {
            // A change that commits is published even if this socket is torn
            // down meanwhile: it runs as its own task, which shutdown waits for.
            let task = Arc::clone(conn);
            conn.state
                .tasks
                .spawn(async move { on_change_frame(&task, change).await }.in_current_span())
                .await
                .unwrap_or(Err(ProtocolError::Internal))
        }
        ClientFrame::Older {
            conversation_id,
            before,
        } => on_older(conn, conversation_id, before).await,
        ClientFrame::MoreConversations { view, sort, after } => {
            on_more_conversations(conn, view, sort, after).await
        }
        ClientFrame::Ping => {
            conn.reply(&ServerFrame::Pong).await;
            Ok(())
        }
    };
    if let Err(err) = handled {
        conn.reply(&err.to_frame(client_id)).await;
    }
    Ok(())
}

/// The frames that change something stored, each handled to the end (commit
/// and publish) on its own task.
async fn on_change_frame(conn: &Conn, frame: ClientFrame) -> Result<(), ProtocolError> {
    match frame {
        ClientFrame::Profile { name, email } => on_profile(conn, name, email).await,
        ClientFrame::Read {
            conversation_id,
            up_to,
        } => on_cursor(conn, conversation_id, CursorKind::Read, up_to).await,
        ClientFrame::Delivered {
            conversation_id,
            up_to,
        } => on_cursor(conn, conversation_id, CursorKind::Delivered, up_to).await,
        ClientFrame::React { message_id, emoji } => on_react(conn, message_id, &emoji).await,
        ClientFrame::Edit { message_id, body } => on_change(conn, message_id, Some(body)).await,
        ClientFrame::Delete { message_id } => on_change(conn, message_id, None).await,
        ClientFrame::Handoff { conversation_id } => on_handoff(conn, conversation_id).await,
        ClientFrame::Assistant {
            conversation_id,
            on,
        } => on_assistant(conn, conversation_id, on).await,
        ClientFrame::SetStatus {
            conversation_id,
            status,
            until,
            time_zone,
        } => workflow::on_set_status(conn, conversation_id, status, until, time_zone).await,
        ClientFrame::Assign {
            conversation_id,
            agent_id,
        } => workflow::on_assign(conn, conversation_id, agent_id).await,
        ClientFrame::Rate {
            conversation_id,
            score,
            comment,
        } => workflow::on_rate(conn, conversation_id, score, comment).await,
        other => {
            tracing::error!(
                frame = other.kind(),
                "a frame that changes nothing reached the change handler"
            );
            Err(ProtocolError::Internal)
        }
    }
}

/// Logs a storage failure and turns it into the wire's error: `storage_full`
/// when the disk is full (the client keeps the message and retries),
/// `internal` otherwise.
fn internal(err: StoreError) -> ProtocolError {
    if err.is_disk_full() {
        tracing::error!(%err, "the database's disk is full: nothing can be stored until space is freed");
        return ProtocolError::StorageFull;
    }
    tracing::error!(%err, "storage failed while handling a frame");
    ProtocolError::Internal
}

/// Checks that this socket's person may see the conversation and returns the
/// visitor it belongs to. A conversation that does not exist is `forbidden` too,
/// so ids cannot be probed.
async fn authorise(conn: &Conn, conversation: ConversationId) -> Result<ContactId, ProtocolError> {
    let known = conn
        .owners
        .lock()
        .ok()
        .and_then(|o| o.get(&conversation).copied());
    let owner = match known {
        Some(owner) => owner,
        None => {
            let owner = conn
                .state
                .store
                .conversation_contact(conversation)
                .await
                .map_err(internal)?
                .ok_or(ProtocolError::Forbidden)?;
            // A conversation's visitor never changes: remember it.
            if let Ok(mut owners) = conn.owners.lock() {
                if owners.len() >= OWNERS_CACHED {
                    owners.clear();
                }
                owners.insert(conversation, owner);
            }
            owner
        }
    };
    match conn.peer {
        Peer::Agent(_) => Ok(owner),
        Peer::Contact(me) if me == owner => Ok(owner),
        Peer::Contact(_) => Err(ProtocolError::Forbidden),
    }
}

/// Sends a socket may have queued for the database before it stops reading
/// and waits for the oldest commit.
const PIPELINE: usize = 32;

/// How a `send` is posted, beyond where and what.
#[derive(Clone, Copy, Debug)]
struct How {
    /// (Visitors) start a new conversation.
    new_conversation: bool,
    /// (Agents) a private note.
    note: bool,
}

/// Checks a `send` and queues its write, for the finisher to complete after
/// the commit. The socket reads its next frame meanwhile. Nothing is awaited
/// after the write is queued (see [`Pending::room`]).
async fn start_send(
    conn: &Conn,
    conversation: Option<ConversationId>,
    client_id: ClientId,
    body: &str,
    how: How,
    received: std::time::Instant,
) -> Result<QueuedSend, ProtocolError> {
    let body = validate_body(body)?;
    let store = &conn.state.store;
    if how.note && !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::AgentsOnly("note"));
    }
    let (contact, queued) = match (conn.peer, conversation) {
        (Peer::Contact(contact), None) => {
            let post = VisitorPost {
                assistant_answers: Assistant::answers_new(&conn.state),
                new_conversation: how.new_conversation,
                starts_per_hour: conn.state.config.limits.conversations_per_visitor_hour,
            };
            let queued = store
                .queue_visitor_message(contact, client_id, body, post)
                .await
                .map_err(internal)?;
            (None, queued)
        }
        (peer, Some(conversation)) => {
            let contact = authorise(conn, conversation).await?;
            let author = match peer {
                Peer::Contact(c) => Author::contact(c),
                Peer::Agent(a) => {
                    conn.state.hub.watch(conn.id, conversation);
                    Author::agent(a)
                }
            };
            let options = PostOptions {
                internal: how.note,
                assign_on_reply: conn.state.workflow.assign_on_reply(),
            };
            let queued = store
                .queue_message(conversation, client_id, author, body, options)
                .await
                .map_err(internal)?;
            (Some(contact), queued)
        }
        (Peer::Agent(_), None) => return Err(ProtocolError::ConversationRequired),
    };
    Ok(QueuedSend {
        contact,
        client_id,
        queued,
        received,
    })
}

/// After the commit: the ack (if the socket is still there), then the live
/// events (always).
async fn finish_send(conn: &Conn, send: QueuedSend) -> Result<(), ProtocolError> {
    let QueuedSend {
        contact,
        client_id,
        queued,
        received,
    } = send;
    let Inserted {
        message,
        created,
        started,
        lines,
    } = queued.committed().await.map_err(|err| match err {
        StoreError::TooManyConversations(n) => ProtocolError::TooManyConversations(n),
        err => internal(err),
    })?;
    // A resend answers with what that `client_id` stored: for a visitor it
    // must be their own message, never a teammate's (nor a note).
    if matches!(conn.peer, Peer::Contact(_))
        && (message.internal || message.sender != SenderKind::Contact)
    {
        return Err(ProtocolError::Forbidden);
    }
    // A visitor's own messages: the conversation is theirs.
    let contact = match (contact, conn.peer) {
        (Some(contact), _) | (None, Peer::Contact(contact)) => contact,
        (None, Peer::Agent(_)) => return Err(ProtocolError::ConversationRequired),
    };
    // The commit is done: only now may the sender hear that it is safe.
    conn.try_reply(&ServerFrame::Ack {
        client_id,
        message: message.clone(),
    });
    if created {
        conn.state
            .metrics
            .messages_stored
            .fetch_add(1, Ordering::Relaxed);
        let conversation = message.conversation_id;
        // Sending ends typing (the inbox list sees no `message`, so say so).
        if let Some(stopped) = conn.state.typing.stop(conversation, &conn.person()) {
            publish(
                conn,
                Event::Typing {
                    contact_id: stopped.contact,
                    conversation_id: conversation,
                    person: stopped.person,
                    typing: false,
                },
            )
            .await;
        }
        let internal = message.internal;
        publish(
            conn,
            Event::Message {
                contact_id: contact,
                message,
                received: Some(received),
            },
        )
        .await;
        if internal {
            // A note changes nothing on the row anyone sees.
            return Ok(());
        }
        if started || !lines.is_empty() {
            conn.state.workflow.counts_changed();
        }
        publish_messages(&conn.state, contact, lines).await;
        // The row says whether the assistant answers: no extra read, and no
        // task for the (many) conversations it does not answer.
        let assistant = publish_summary(conn, conversation).await;
        if matches!(conn.peer, Peer::Contact(_)) && assistant == Some(AssistantState::Answering) {
            Assistant::visitor_wrote(&conn.state, conversation, contact);
        }
    }
    Ok(())
}

/// "Talk to a person": the assistant stops and the team is asked to answer.
async fn on_handoff(conn: &Conn, conversation: ConversationId) -> Result<(), ProtocolError> {
    let contact = authorise(conn, conversation).await?;
    if !matches!(conn.peer, Peer::Contact(_)) {
        return Err(ProtocolError::Forbidden);
    }
    assistant::hand_over(&conn.state, conversation, contact, assistant::HANDED_OVER).await;
    Ok(())
}

/// An agent switches the assistant on or off for one conversation. Switched
/// on after the visitor's last word, it answers that at once.
async fn on_assistant(
    conn: &Conn,
    conversation: ConversationId,
    on: bool,
) -> Result<(), ProtocolError> {
    if !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::AgentsOnly("assistant"));
    }
    if on && conn.state.assistant.is_none() {
        return Err(ProtocolError::AssistantOff);
    }
    let contact = authorise(conn, conversation).await?;
    let to = if on {
        AssistantState::Answering
    } else {
        AssistantState::Off
    };
    let store = &conn.state.store;
    if !store
        .set_assistant_state(conversation, &[], to)
        .await
        .map_err(internal)?
    {
        return Ok(());
    }
    publish_summary(conn, conversation).await;
    let (recent, _) = store
        .latest_messages(conversation, 5, Audience::Visitor)
        .await
        .map_err(internal)?;
    let last_word = recent.iter().rev().find(|m| m.sender != SenderKind::System);
    if on && last_word.is_some_and(|m| m.sender == SenderKind::Contact) {
        Assistant::visitor_wrote(&conn.state, conversation, contact);
    }
    Ok(())
}

async fn on_open(conn: &Conn, conversation: ConversationId) -> Result<(), ProtocolError> {
    authorise(conn, conversation).await?;
    conn.state.hub.watch(conn.id, conversation);
    let started = std::time::Instant::now();
    let store = &conn.state.store;
    // The number first: every change up to it is in the page (or older than
    // it), later ones arrive live.
    let seq = store
        .conversation_seq(conversation)
        .await
        .map_err(internal)?;
    let (messages, has_more) = store
        .latest_messages(conversation, HISTORY_PAGE, conn.audience())
        .await
        .map_err(internal)?;
    conn.state.metrics.db_history.observe(started.elapsed());
    conn.reply(&ServerFrame::History {
        conversation_id: conversation,
        messages,
        has_more,
        seq,
    })
    .await;
    Ok(())
}

/// Replays every change after `since`: the conversation's row first (its
/// receipts, and the number this answer ends at), then the changed messages
/// in change order, page by page. Watching starts first, so a change
/// committed meanwhile arrives live if not in a page — never zero times.
async fn on_resume(
    conn: &Conn,
    conversation: ConversationId,
    since: Seq,
) -> Result<(), ProtocolError> {
    authorise(conn, conversation).await?;
    conn.state.hub.watch(conn.id, conversation);
    let store = &conn.state.store;
    let Some(mut row) = store
        .conversation_summary(conversation)
        .await
        .map_err(internal)?
    else {
        return Err(ProtocolError::Forbidden);
    };
    with_presence(conn, &mut row);
    if matches!(conn.peer, Peer::Contact(_)) {
        row = row.for_visitor();
    }
    let upto = row.seq;
    conn.reply(&ServerFrame::Conversation { conversation: row })
        .await;
    let mut after = since;
    loop {
        let (messages, more) = store
            .changes_after(conversation, after, RESUME_PAGE, conn.audience())
            .await
            .map_err(internal)?;
        if let Some(last) = messages.last() {
            after = after.max(last.seq);
        }
        conn.reply(&ServerFrame::Changes {
            conversation_id: conversation,
            messages,
            seq: if more { after } else { after.max(upto) },
            done: !more,
        })
        .await;
        if !more {
            return Ok(());
        }
    }
}

async fn on_typing(
    conn: &Conn,
    conversation: ConversationId,
    typing: bool,
) -> Result<(), ProtocolError> {
    let person = conn.person();
    let contact = if typing {
        let contact = authorise(conn, conversation).await?;
        conn.state
            .typing
            .start(conversation, contact, person.clone());
        contact
    } else {
        // A stop ends a state its start was authorised for; without one it
        // does nothing (stops are not rate limited, so they cost no query).
        match conn.state.typing.stop(conversation, &person) {
            Some(stopped) => stopped.contact,
            None => return Ok(()),
        }
    };
    publish(
        conn,
        Event::Typing {
            contact_id: contact,
            conversation_id: conversation,
            person,
            typing,
        },
    )
    .await;
    Ok(())
}

/// A `read` or `delivered` frame: moves the cursor forward and, if it moved,
/// tells both sides.
async fn on_cursor(
    conn: &Conn,
    conversation: ConversationId,
    kind: CursorKind,
    up_to: MessageId,
) -> Result<(), ProtocolError> {
    if kind == CursorKind::Delivered && !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::AgentsOnly("delivered"));
    }
    let contact = authorise(conn, conversation).await?;
    let store = &conn.state.store;
    let moved = match kind {
        CursorKind::Read => store.mark_read(conversation, conn.reader(), up_to).await,
        CursorKind::Delivered => store.mark_delivered(conversation, up_to).await,
    }
    .map_err(internal)?;
    if let Some((up_to, seq)) = moved {
        let event = Event::Cursor {
            contact_id: contact,
            conversation_id: conversation,
            kind,
            person: conn.person(),
            up_to,
            seq,
        };
        publish(conn, event).await;
    }
    Ok(())
}

async fn on_older(
    conn: &Conn,
    conversation: ConversationId,
    before: MessageId,
) -> Result<(), ProtocolError> {
    authorise(conn, conversation).await?;
    let started = std::time::Instant::now();
    let (messages, has_more) = conn
        .state
        .store
        .older_messages(conversation, before, HISTORY_PAGE, conn.audience())
        .await
        .map_err(internal)?;
    conn.state.metrics.db_history.observe(started.elapsed());
    conn.reply(&ServerFrame::History {
        conversation_id: conversation,
        messages,
        has_more,
        seq: 0,
    })
    .await;
    Ok(())
}

async fn on_more_conversations(
    conn: &Conn,
    view: InboxView,
    sort: InboxSort,
    after: Option<(i64, i64)>,
) -> Result<(), ProtocolError> {
    let Peer::Agent(agent) = conn.peer else {
        return Err(ProtocolError::AgentsOnly("more_conversations"));
    };
    let (mut conversations, has_more) = conn
        .state
        .store
        .inbox(agent, view, sort, after, INBOX_PAGE)
        .await
        .map_err(internal)?;
    for conversation in &mut conversations {
        with_presence(conn, conversation);
    }
    conn.reply(&ServerFrame::Conversations {
        conversations,
        has_more,
        view,
        sort,
    })
    .await;
    Ok(())
}

/// This socket's person as a message author, to compare with a message's.
fn me_as_author(conn: &Conn) -> Author {
    match conn.peer {
        Peer::Contact(c) => Author::contact(c),
        Peer::Agent(a) => Author::agent(a),
    }
}

/// Looks up a message this socket may see; a missing one is `forbidden`
/// like one in someone else's conversation, so ids cannot be probed.
async fn visible_message(
    conn: &Conn,
    message: MessageId,
) -> Result<(crate::server::store::MessageFacts, ContactId), ProtocolError> {
    let facts = conn
        .state
        .store
        .message_facts(message)
        .await
        .map_err(internal)?
        .ok_or(ProtocolError::Forbidden)?;
    if facts.internal && !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::Forbidden);
    }
    let contact = authorise(conn, facts.conversation).await?;
    Ok((facts, contact))
}

async fn on_react(conn: &Conn, message: MessageId, emoji: &str) -> Result<(), ProtocolError> {
    let emoji = crate::protocol::validate_reaction(emoji)?;
    let (facts, contact) = visible_message(conn, message).await?;
    if facts.deleted {
        return Err(ProtocolError::MessageDeleted);
    }
    let change = conn
        .state
        .store
        .toggle_reaction(message, me_as_author(conn), emoji)
        .await
        .map_err(internal)?
        .ok_or(ProtocolError::TooManyReactions)?;
    publish(
        conn,
        Event::Reaction {
            contact_id: contact,
            conversation_id: change.conversation,
            message_id: message,
            emoji: emoji.to_owned(),
            person: conn.person(),
            added: change.added,
            seq: change.seq,
            internal: change.internal,
        },
    )
    .await;
    Ok(())
}

/// Edits (`Some(body)`) or deletes (`None`) one of the person's own messages.
async fn on_change(
    conn: &Conn,
    message: MessageId,
    body: Option<String>,
) -> Result<(), ProtocolError> {
    let (facts, contact) = visible_message(conn, message).await?;
    let me = me_as_author(conn);
    if (facts.author.kind, facts.author.id) != (me.kind, me.id) {
        return Err(ProtocolError::NotYours);
    }
    if facts.deleted {
        return Err(ProtocolError::MessageDeleted);
    }
    let change = match body {
        Some(body) => {
            let minutes = conn.state.config.edit_window_minutes;
            if now().0 - facts.created_at.0 > minutes * 60_000 {
                return Err(ProtocolError::EditWindowClosed(minutes));
            }
            Change::Edit(validate_body(&body)?.to_owned())
        }
        None => Change::Delete,
    };
    let message = conn
        .state
        .store
        .change_message(message, change)
        .await
        .map_err(internal)?;
    let conversation = message.conversation_id;
    let internal = message.internal;
    publish(
        conn,
        Event::Changed {
            contact_id: contact,
            message,
        },
    )
    .await;
    // A note is on no row anyone sees.
    if !internal {
        publish_summary(conn, conversation).await;
    }
    Ok(())
}

async fn on_profile(
    conn: &Conn,
    name: Option<String>,
    email: Option<String>,
) -> Result<(), ProtocolError> {
    let Peer::Contact(contact) = conn.peer else {
        return Err(ProtocolError::InvalidProfile(
            "Only visitors set a profile here; agents change theirs in the inbox.".into(),
        ));
    };
    let name = protocol::clean_profile_field("name", name)?;
    let email = protocol::clean_profile_field("email", email)?;
    if let Some(email) = &email
        && !protocol::looks_like_email(email)
    {
        return Err(ProtocolError::InvalidProfile(
            "That email address does not look right (expected name@example.com).".into(),
        ));
    }
    let store = &conn.state.store;
    store
        .set_contact_profile(contact, name.as_deref(), email.as_deref())
        .await
        .map_err(internal)?;
    if let Ok(mut person) = conn.person.lock() {
        person.name = name.clone().unwrap_or_else(|| visitor_label(contact));
    }
    let conversations = store
        .contact_conversations(contact)
        .await
        .map_err(internal)?;
    for mut conversation in conversations {
        // Live rows carry no per-reader count.
        conversation.unread = 0;
        with_presence(conn, &mut conversation);
        publish(conn, Event::Conversation { conversation }).await;
    }
    Ok(())
}

async fn publish(conn: &Conn, event: Event) {
    publish_event(&conn.state, event).await;
}

async fn publish_summary(conn: &Conn, conversation: ConversationId) -> Option<AssistantState> {
    publish_summary_of(&conn.state, conversation).await
}
