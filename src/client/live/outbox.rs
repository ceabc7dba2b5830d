//! The outbox: what the person wrote and the server has not acknowledged.
//!
//! A message is shown at once as "Sending…" and stays so until its ack;
//! "Not sent — Retry" is only for what the server refused for good (too long,
//! forbidden). Everything else — no connection, no answer, a busy or full
//! server, a rate limit — is sent again by itself, with the same `client_id`,
//! so the server stores it once.
//!
//! Sends go out oldest first, at most [`WINDOW`] unanswered at a time (an
//! outbox full of messages written offline must not trip the server's send
//! limit); after a refusal for speed, one at a time.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::files::{FileState, OutFile};
use super::{Connection, Live};
use crate::protocol::validate_body;
use crate::protocol::{ClientFrame, ClientId, ConversationId, ErrorCode, MAX_BODY_CHARS};

/// Unanswered sends on one socket, at most (the server allows bursts of 20).
pub(super) const WINDOW: usize = 10;

/// How long a sent message may wait for its ack on a live connection before
/// the socket is taken for dead.
#[cfg(feature = "hydrate")]
const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long before a send the server could not store (busy, disk full) is
/// tried again.
#[cfg(feature = "hydrate")]
const STORE_RETRY_MS: u64 = 5_000;

/// What the code of a failed send means for it.
fn is_transient(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::RateLimited | ErrorCode::StorageFull | ErrorCode::Internal
    )
}

/// Where an unacknowledged message stands.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Delivery {
    /// Written, not yet acknowledged.
    Sending,
    /// Refused by the server, with its reason.
    Failed(String),
}

/// A message the person wrote that the server has not acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub client_id: ClientId,
    /// `None` for a visitor's first message: the server picks the conversation.
    pub conversation_id: Option<ConversationId>,
    pub body: String,
    pub delivery: Delivery,
    /// Counts transmissions, so a stale ack timer cannot act on a newer attempt.
    #[serde(default)]
    pub attempt: u32,
    /// How it is posted (a note, a new conversation).
    #[serde(default)]
    pub posting: Posting,
    /// Files it carries; it goes once every one is uploaded.
    #[serde(default)]
    pub files: Vec<OutFile>,
    /// Its files were uploaded a second time after the server had lost
    /// them (see `Live::upload_again`): never a third.
    #[serde(default)]
    pub uploaded_again: bool,
    /// Sent on the current socket, no answer yet.
    #[serde(skip)]
    pub in_flight: bool,
}

/// How a message is posted, beyond where.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// (Agents) a private note, the team's only.
    #[serde(default)]
    pub note: bool,
    /// (Visitors) starts a new conversation.
    #[serde(default)]
    pub new_conversation: bool,
}

impl Live {
    /// Writes a message: shown at once as sending, sent now or when connected.
    /// Returns the reason when the text cannot be sent at all.
    pub fn send_message(
        &self,
        conversation_id: Option<ConversationId>,
        body: &str,
    ) -> Result<(), String> {
        self.post(conversation_id, body, Posting::default())
    }

    /// Like [`Live::send_message`], posted as `posting` says.
    pub fn post(
        &self,
        conversation_id: Option<ConversationId>,
        body: &str,
        posting: Posting,
    ) -> Result<(), String> {
        let staged = self.staged_for(conversation_id);
        if staged
            .iter()
            .any(|f| matches!(f.state, FileState::Failed(_)))
        {
            return Err(self.words.t("file-not-accepted"));
        }
        let body = if !staged.is_empty() && body.trim().is_empty() {
            String::new()
        } else {
            validate_body(body)
                .map_err(|e| self.words.refusal(e.code(), &e.to_string()))?
                .to_owned()
        };
        let files = self.take_staged(conversation_id);
        self.outbox.update(|o| {
            o.push(Pending {
                client_id: ClientId::new(),
                conversation_id,
                body,
                delivery: Delivery::Sending,
                attempt: 0,
                posting,
                files,
                uploaded_again: false,
                in_flight: false,
            })
        });
        self.send_next();
        Ok(())
    }

    /// Sends a refused message again with the same `client_id`, so it can
    /// never be stored twice.
    pub fn retry(&self, client_id: ClientId) {
        self.outbox.update(|outbox| {
            if let Some(p) = outbox.iter_mut().find(|p| p.client_id == client_id) {
                p.delivery = Delivery::Sending;
                for f in &mut p.files {
                    if matches!(f.state, FileState::Failed(_)) {
                        f.state = FileState::Waiting;
                    }
                }
            }
        });
        self.pump_uploads();
        self.send_next();
    }

    /// Drops an unsent message.
    pub fn discard(&self, client_id: ClientId) {
        let keys: Vec<u64> = self.outbox.with_untracked(|o| {
            o.iter()
                .filter(|p| p.client_id == client_id)
                .flat_map(|p| p.files.iter().map(|f| f.key))
                .collect()
        });
        for key in keys {
            self.cancel_file(key);
        }
        self.outbox
            .update(|o| o.retain(|p| p.client_id != client_id));
    }

    /// Sends the oldest waiting messages while fewer than the window are
    /// unanswered (and, in the browser, watches each for its ack).
    pub(super) fn send_next(&self) {
        if self.connection.get_untracked() != Connection::Online {
            return; // `catch_up` calls this once connected.
        }
        self.pump_uploads();
        let window = self.send_window.get_value();
        let due = self.outbox.with_untracked(|o| {
            let in_flight = o.iter().filter(|p| p.in_flight).count();
            in_flight < window && o.iter().any(|p| p.ready() && !p.in_flight)
        });
        if !due {
            return;
        }
        let mut frames = Vec::new();
        self.outbox.update(|outbox| {
            let mut in_flight = outbox.iter().filter(|p| p.in_flight).count();
            // Conversations whose next message waits for its files: later
            // ones there wait too, so the conversation keeps its order
            // (`None`: a visitor's, where everything waits).
            let mut waiting: Vec<Option<ConversationId>> = Vec::new();
            for p in outbox.iter_mut() {
                if in_flight >= window {
                    break;
                }
                let behind = waiting
                    .iter()
                    .any(|w| w.is_none() || p.conversation_id.is_none() || *w == p.conversation_id);
                if p.delivery == Delivery::Sending && (behind || !p.ready()) {
                    waiting.push(p.conversation_id);
                    continue;
                }
                if p.delivery == Delivery::Sending && !p.in_flight {
                    p.in_flight = true;
                    p.attempt += 1;
                    in_flight += 1;
                    frames.push((send_frame(p), p.client_id, p.attempt));
                }
            }
        });
        for (frame, client_id, attempt) in frames {
            self.transmit(frame);
            #[cfg(feature = "hydrate")]
            self.expect_ack(client_id, attempt);
            #[cfg(not(feature = "hydrate"))]
            let _ = (client_id, attempt);
        }
    }

    /// The server stored a message: it leaves the outbox, the next may go.
    pub(super) fn acknowledged(&self, client_id: ClientId) {
        let files: Vec<OutFile> = self.outbox.with_untracked(|o| {
            o.iter()
                .filter(|p| p.client_id == client_id)
                .flat_map(|p| p.files.iter().cloned())
                .collect()
        });
        self.release_files(&files);
        self.outbox
            .update(|o| o.retain(|p| p.client_id != client_id));
        self.send_next();
    }

    /// The server refused a send. A refusal for good makes it "Not sent";
    /// a passing one (rate limit, busy or full store) waits and goes again,
    /// one at a time. False if no message of this page had that id.
    pub(super) fn send_refused(
        &self,
        client_id: ClientId,
        code: ErrorCode,
        message: &str,
        retry_after_ms: Option<u64>,
    ) -> bool {
        if code == ErrorCode::UnknownAttachment && self.upload_again(client_id) {
            self.send_next();
            return true;
        }
        let transient = is_transient(code);
        let mut matched = false;
        self.outbox.update(|outbox| {
            if let Some(p) = outbox.iter_mut().find(|p| p.client_id == client_id) {
                matched = true;
                p.in_flight = false;
                if !transient {
                    p.delivery = Delivery::Failed(self.words.refusal(code, message));
                }
            }
        });
        if matched && transient {
            self.send_window.set_value(1);
            #[cfg(feature = "hydrate")]
            {
                let live = *self;
                let wait = match code {
                    ErrorCode::RateLimited => retry_after_ms.unwrap_or(1_000),
                    _ => STORE_RETRY_MS,
                };
                wasm_bindgen_futures::spawn_local(async move {
                    gloo_timers::future::sleep(std::time::Duration::from_millis(wait)).await;
                    live.send_next();
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = retry_after_ms;
        }
        matched
    }

    /// The socket closed: nothing is in flight any more; the next socket
    /// starts with the full window.
    pub(super) fn outbox_disconnected(&self) {
        self.send_window.set_value(WINDOW);
        if self
            .outbox
            .with_untracked(|o| o.iter().any(|p| p.in_flight))
        {
            self.outbox.update(|o| {
                for p in o.iter_mut() {
                    p.in_flight = false;
                }
            });
        }
    }

    /// After [`ACK_TIMEOUT`] without an ack on a live connection, the socket is
    /// taken for dead (a proxy or a sleeping network can swallow frames
    /// without closing it): it is dropped, the banner says so, and the
    /// reconnect resends the whole outbox. The message stays "Sending…".
    #[cfg(feature = "hydrate")]
    fn expect_ack(&self, client_id: ClientId, attempt: u32) {
        let live = *self;
        wasm_bindgen_futures::spawn_local(async move {
            gloo_timers::future::sleep(ACK_TIMEOUT).await;
            if live.connection.get_untracked() != Connection::Online {
                return;
            }
            let unanswered = live.outbox.with_untracked(|outbox| {
                outbox.iter().any(|p| {
                    p.client_id == client_id
                        && p.attempt == attempt
                        && p.in_flight
                        && p.delivery == Delivery::Sending
                })
            });
            if unanswered {
                leptos::logging::warn!(
                    "no answer from the server for {} s; reconnecting to send again",
                    ACK_TIMEOUT.as_secs()
                );
                live.drop_connection();
            }
        });
    }

    /// Keeps the outbox in `localStorage` under `key`, so text written but not
    /// yet acknowledged survives a reload or a crash and is sent afterwards.
    #[cfg(feature = "hydrate")]
    pub fn persist_outbox(&self, key: &'static str) {
        let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        let Some(storage) = storage else {
            return;
        };
        if let Ok(Some(saved)) = storage.get_item(key)
            && let Ok(saved) = serde_json::from_str::<Vec<Pending>>(&saved)
        {
            self.outbox.update(|o| {
                for mut p in saved {
                    // Earlier versions gave up on sends nobody answered.
                    if p.delivery == Delivery::Failed("no answer from the server".into()) {
                        p.delivery = Delivery::Sending;
                    }
                    // The file itself stayed with the page that closed.
                    for f in &mut p.files {
                        if !f.is_done() && !matches!(f.state, FileState::Failed(_)) {
                            let lost = self.words.t(super::files::LOST_IN_RELOAD);
                            p.delivery = Delivery::Failed(format!("{}: {lost}", f.name));
                            f.state = FileState::Failed(lost);
                        }
                    }
                    if !o.iter().any(|q| q.client_id == p.client_id) {
                        o.push(p);
                    }
                }
            });
        }
        let outbox = self.outbox;
        Effect::new(move |_| {
            let json = outbox.with(|o| serde_json::to_string(o).unwrap_or_default());
            let _ = storage.set_item(key, &json);
        });
    }
}

fn send_frame(pending: &Pending) -> ClientFrame {
    ClientFrame::Send {
        conversation_id: pending.conversation_id,
        client_id: pending.client_id,
        body: pending.body.clone(),
        new_conversation: pending.posting.new_conversation,
        note: pending.posting.note,
        attachments: pending
            .files
            .iter()
            .filter_map(|f| match &f.state {
                FileState::Uploaded(a) => Some(a.id.clone()),
                _ => None,
            })
            .collect(),
    }
}

impl Pending {
    /// Sending, and every file it carries is uploaded.
    fn ready(&self) -> bool {
        self.delivery == Delivery::Sending && self.files.iter().all(OutFile::is_done)
    }
}

/// How many characters are left before the body limit, shown near the limit.
pub fn remaining_chars(body: &str) -> Option<i64> {
    let left = MAX_BODY_CHARS as i64 - body.chars().count() as i64;
    (left < 500).then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Message, MessageId, SenderKind, ServerFrame, Timestamp};

    fn ack(live: &Live, client_id: ClientId) {
        live.apply(ServerFrame::Ack {
            client_id,
            message: Message {
                id: MessageId(1),
                conversation_id: ConversationId(1),
                client_id,
                sender: SenderKind::Contact,
                sender_name: "Visitor #1".into(),
                body: "hi".into(),
                created_at: Timestamp(1),
                edited_at: None,
                deleted: false,
                reactions: Vec::new(),
                seq: 1,
                internal: false,
                attachments: Vec::new(),
                sources: Vec::new(),
                helpful: None,
            },
        });
    }

    /// A live page whose socket frames land in the returned receiver.
    fn online() -> (Live, futures::channel::mpsc::UnboundedReceiver<ClientFrame>) {
        let live = Live::new();
        let (tx, rx) = futures::channel::mpsc::unbounded();
        live.attach(tx);
        live.connection.set(Connection::Online);
        (live, rx)
    }

    fn sent(rx: &mut futures::channel::mpsc::UnboundedReceiver<ClientFrame>) -> Vec<ClientId> {
        let mut ids = Vec::new();
        while let Ok(ClientFrame::Send { client_id, .. }) = rx.try_recv() {
            ids.push(client_id);
        }
        ids
    }

    #[test]
    fn an_outbox_goes_out_a_window_at_a_time_oldest_first() {
        Owner::new().with(|| {
            let live = Live::new();
            for n in 0..25 {
                live.send_message(Some(ConversationId(1)), &format!("offline {n}"))
                    .expect("valid");
            }
            let (tx, mut rx) = futures::channel::mpsc::unbounded();
            live.attach(tx);
            live.connection.set(Connection::Online);
            live.send_next();
            let first = sent(&mut rx);
            assert_eq!(first.len(), WINDOW);
            let order: Vec<ClientId> = live
                .outbox
                .with_untracked(|o| o.iter().map(|p| p.client_id).collect());
            assert_eq!(first, order[..WINDOW]);
            ack(&live, first[0]);
            assert_eq!(
                sent(&mut rx),
                [order[WINDOW]],
                "one answered, one more goes"
            );
        });
    }

    #[test]
    fn only_refusals_for_good_make_a_message_not_sent() {
        Owner::new().with(|| {
            let (live, mut rx) = online();
            live.send_message(Some(ConversationId(1)), "a")
                .expect("valid");
            live.send_message(Some(ConversationId(1)), "b")
                .expect("valid");
            let ids = sent(&mut rx);
            assert!(live.send_refused(ids[0], ErrorCode::StorageFull, "full", None));
            assert!(live.send_refused(ids[1], ErrorCode::Forbidden, "no", None));
            let states: Vec<Delivery> = live
                .outbox
                .with_untracked(|o| o.iter().map(|p| p.delivery.clone()).collect());
            assert_eq!(states, [Delivery::Sending, Delivery::Failed("no".into())]);
            // The one still sending goes again (here: at once, on the next
            // chance; in the browser after a pause), one at a time.
            live.send_next();
            assert_eq!(sent(&mut rx), [ids[0]]);
        });
    }

    #[test]
    fn a_reconnect_resends_what_was_in_flight() {
        Owner::new().with(|| {
            let (live, mut rx) = online();
            live.send_message(Some(ConversationId(1)), "a")
                .expect("valid");
            let first = sent(&mut rx);
            live.detach();
            let (tx, mut rx) = futures::channel::mpsc::unbounded();
            live.attach(tx);
            live.connection.set(Connection::Online);
            live.send_next();
            assert_eq!(sent(&mut rx), first, "same client_id again");
        });
    }
}
