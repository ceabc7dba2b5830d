//! `/ws`: one WebSocket per browser tab.
//!
//! The upgrade establishes who is connecting from the session cookie (never from
//! the URL or a frame). Each socket then runs two halves in one task: the reader
//! decodes frames and handles them in order, the writer drains the socket's
//! byte-bounded queue (replies and hub deliveries) and sends heartbeats. Sends
//! are finished by a third task of the socket's, the finisher: once a write
//! commits, its events are published whether or not the socket that sent it is
//! still there (the ack is best effort; a resend is answered from the store).
//!
//! Handlers for each frame type are the small `on_*` functions dispatched from
//! [`handle_text`]; that `match` is the table of contents. By concern:
//! `upgrade` (who connects), `socket` (a socket's life), `send` (messages),
//! `conversation` (reading and changing one conversation), `handoff` (the
//! assistant's frames) and `workflow` (resolve, snooze, assign, label,
//! rate; the inbox lists).

mod contact;
mod conversation;
mod handoff;
mod search;
mod send;
mod socket;
mod upgrade;
mod workflow;

use contact::{on_profile, on_visit};
use conversation::{
    on_change, on_cursor, on_jump, on_older, on_open, on_react, on_resume, on_typing,
};
use handoff::{on_assistant, on_feedback, on_handoff};
use send::{How, PIPELINE, QueuedSend, finish_send, start_send};
pub(crate) use socket::stopping;
use socket::{Pending, serve};
use upgrade::Session;
pub use upgrade::{Params, Role, upgrade};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use crate::protocol::{
    AssistantState, ClientFrame, ClientId, ContactId, ConversationId, ConversationSummary,
    CursorKind, HISTORY_PAGE, MAX_FRAME_BYTES, Me, MessageId, Person, ProtocolError, SenderKind,
    Seq, ServerFrame, validate_body, visitor_label,
};
use crate::server::AppState;
use crate::server::assistant::{self, Assistant};
use crate::server::auth::{self, VISITOR_COOKIE};
use crate::server::bus::Event;
use crate::server::http::ClientAddr;
use crate::server::hub::{Kick, Peer, SIGNED_OUT, SocketId, TOO_SLOW, conn_label, encode};
use crate::server::limits::{FrameLimiter, Verdict};
use crate::server::publish::{publish_event, publish_summary_of};
use crate::server::queue::{QueueRx, QueueTx, Refused};
use crate::server::store::{
    Audience, Author, Change, Changed, InboxPage, PostOptions, Queued, Reader, Store, StoreError,
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

/// Messages `jump` sends on each side of the one jumped to.
const JUMP_PAGE: i64 = 20;

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
/// Close code: the peer stopped answering heartbeats.
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: policy violation (here: too slow to keep up).
const CLOSE_POLICY: u16 = 1008;
/// Close code: the server is at its socket limit; try again later.
const CLOSE_TRY_LATER: u16 = 1013;

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
                self.state.metrics.queue_drops.inc();
                self.kick.fire(TOO_SLOW);
            }
            Err(Refused::Closed) => {}
        }
    }
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
        Peer::Agent(agent) => store.inbox(agent, InboxPage::default(), INBOX_PAGE).await?,
    };
    with_presence(conn, &mut conversations).await;
    let team_online = conn.state.presence.team_online(&conn.state.hub).await;
    let look = matches!(conn.peer, Peer::Contact(_)).then(|| conn.state.workspace.look());
    let (counts, team, labels) = match conn.peer {
        Peer::Agent(_) => (
            Some(crate::server::workflow::counts(&conn.state).await?),
            crate::server::workflow::team(&conn.state).await?,
            store.labels().await?,
        ),
        Peer::Contact(_) => (None, Vec::new(), Vec::new()),
    };
    Ok(ServerFrame::Hello {
        me,
        conversations,
        more_conversations,
        team_online,
        look,
        counts,
        team,
        labels,
    })
}

/// Fills in whether each row's visitor is online right now, on any
/// instance.
async fn with_presence(conn: &Conn, rows: &mut [ConversationSummary]) {
    conn.state
        .presence
        .fill_contacts_online(&conn.state.hub, rows)
        .await;
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
            attachments,
        } => {
            let Some(room) = pending.room().await else {
                return Ok(());
            };
            let how = How {
                new_conversation,
                note,
            };
            let content = (body.as_str(), attachments.as_slice());
            match start_send(conn, conversation_id, id, content, how, received).await {
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
        | ClientFrame::Visit { .. }
        | ClientFrame::Read { .. }
        | ClientFrame::Delivered { .. }
        | ClientFrame::React { .. }
        | ClientFrame::Edit { .. }
        | ClientFrame::Delete { .. }
        | ClientFrame::Handoff { .. }
        | ClientFrame::Feedback { .. }
        | ClientFrame::Assistant { .. }
        | ClientFrame::SetStatus { .. }
        | ClientFrame::Assign { .. }
        | ClientFrame::Label { .. }
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
        ClientFrame::MoreConversations {
            view,
            sort,
            after,
            label,
        } => {
            let page = InboxPage {
                view,
                sort,
                after,
                label,
            };
            workflow::on_more_conversations(conn, page).await
        }
        ClientFrame::Jump {
            conversation_id,
            message_id,
        } => on_jump(conn, conversation_id, message_id).await,
        ClientFrame::Search { search_id, query } => search::on_search(conn, search_id, query).await,
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
        ClientFrame::Visit { time_zone, page } => on_visit(conn, time_zone, page).await,
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
        ClientFrame::Feedback {
            message_id,
            helpful,
        } => on_feedback(conn, message_id, helpful).await,
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
        ClientFrame::Label {
            conversation_id,
            label_id,
            on,
        } => workflow::on_label(conn, conversation_id, label_id, on).await,
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
    err.refusal()
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

async fn publish(conn: &Conn, event: Event) {
    publish_event(&conn.state, event).await;
}

async fn publish_summary(conn: &Conn, conversation: ConversationId) -> Option<AssistantState> {
    publish_summary_of(&conn.state, conversation).await
}
