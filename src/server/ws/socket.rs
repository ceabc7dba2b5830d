//! One socket's life: registering it, the reader and the writer halves,
//! heartbeats and the session check, the finisher that completes sends
//! after their commit, and the close.

use super::*;

pub(super) async fn serve(
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
    // A block made while this socket was being accepted reached the hub
    // before the socket did: asked again now, any later block reaches it.
    if let Peer::Contact(contact) = peer
        && let Ok(false) = crate::server::blocks::admits(&state, contact, ip).await
    {
        registration.kick.fire(crate::server::hub::BLOCKED);
    }
    let span = tracing::info_span!("socket", conn = %conn_label(registration.id));
    run_socket(state, socket, me, session, peer, person, registration)
        .instrument(span)
        .await;
}

pub(super) async fn run_socket(
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
    state
        .presence
        .counted(peer, state.hub.sockets_of(peer))
        .await;
    if registration.came_online {
        state.presence.arrived(peer).await;
        publish(
            &conn,
            crate::server::presence::presence_event(peer, true, now()),
        )
        .await;
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
    state
        .presence
        .counted(peer, state.hub.sockets_of(peer))
        .await;
    tracing::debug!("socket closed");
    tokio::spawn(announce_if_gone(state, peer));
}

/// After the grace period, announces the person (or the team) offline if no
/// socket of theirs came back.
pub(super) async fn announce_if_gone(state: AppState, peer: Peer) {
    tokio::time::sleep(state.config.limits.presence_grace).await;
    // Gone from this instance, and from every other one too.
    if !state.hub.went_offline(peer) || !state.presence.left(peer).await {
        return;
    }
    crate::server::presence::announce_offline(&state, peer).await;
}

/// When the peer last sent anything, shared by the socket's two halves.
pub(super) struct Heard {
    since: tokio::time::Instant,
    last_ms: AtomicU64,
}

impl Heard {
    pub(super) fn new() -> Self {
        Self {
            since: tokio::time::Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    pub(super) fn now(&self) {
        self.last_ms
            .store(self.since.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    pub(super) fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.since.elapsed().saturating_sub(last)
    }
}

/// Sends the socket's queue, heartbeats and, when asked, the close; for an
/// agent (`session`) also checks every few seconds that the session still
/// holds, and closes with 4001 when it does not.
pub(super) async fn write_loop(
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
                close(crate::protocol::close::RECONNECT, "Server restarting; reconnect in a moment.")
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

pub(super) async fn read_loop(
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

/// The reader's handle on the socket's finisher: sends go to it in order, and
/// the reader can wait until every one it handed over is complete.
pub(super) struct Pending {
    sends: mpsc::Sender<QueuedSend>,
    handed: u64,
    finished: watch::Receiver<u64>,
}

impl Pending {
    /// Starts the socket's finisher (tracked, so shutdown waits for it).
    pub(super) fn start(conn: &Arc<Conn>) -> Self {
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
    pub(super) async fn room(&self) -> Option<mpsc::OwnedPermit<QueuedSend>> {
        self.sends.clone().reserve_owned().await.ok()
    }

    /// Hands a queued send to the finisher (never waits).
    pub(super) fn hand(&mut self, room: mpsc::OwnedPermit<QueuedSend>, send: QueuedSend) {
        room.send(send);
        self.handed += 1;
    }

    /// Waits until every send handed over is complete (acked and published).
    pub(super) async fn drain(&mut self) {
        let handed = self.handed;
        let _ = self.finished.wait_for(|done| *done >= handed).await;
    }
}

/// The finisher: completes the socket's sends in the order they came — the
/// ack, then the live events — independently of the socket, which may be
/// gone by the time a commit lands.
pub(super) async fn finish_sends(
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
pub(super) async fn read_frames(
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

pub(super) fn is_too_big(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(tungstenite::Error::Capacity(_)) = e.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}
