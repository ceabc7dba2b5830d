//! Live state of one page: the single source the UI renders from.

use std::collections::{HashMap, HashSet};

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::protocol::{
    ClientFrame, ClientId, ConversationId, ConversationSummary, MAX_BODY_CHARS, Me, Message,
    ServerFrame, validate_body,
};

/// The socket's state, as the person sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// First connection under way.
    Connecting,
    /// Connected and greeted: live.
    Online,
    /// Lost; trying again.
    Reconnecting,
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
    /// Counts transmissions, so a stale ack timer cannot fail a newer attempt.
    #[serde(default)]
    pub attempt: u32,
}

/// The loaded part of one conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thread {
    /// Sorted by id, no duplicates.
    pub messages: Vec<Message>,
    /// Older messages exist before the first one here.
    pub has_more: bool,
    /// History arrived at least once.
    pub loaded: bool,
}

impl Thread {
    /// Adds or replaces messages, keeping id order and no duplicates.
    pub fn merge(&mut self, incoming: impl IntoIterator<Item = Message>) {
        for message in incoming {
            match self.messages.binary_search_by_key(&message.id, |m| m.id) {
                Ok(at) => self.messages[at] = message,
                Err(at) => self.messages.insert(at, message),
            }
        }
    }
}

/// Everything live on one page. `Copy`: pass it around freely.
#[derive(Clone, Copy)]
pub struct Live {
    pub connection: RwSignal<Connection>,
    pub me: RwSignal<Option<Me>>,
    /// Newest activity first.
    pub conversations: RwSignal<Vec<ConversationSummary>>,
    pub threads: RwSignal<HashMap<ConversationId, Thread>>,
    pub outbox: RwSignal<Vec<Pending>>,
    /// The last refusal not tied to a message, for a notice.
    pub notice: RwSignal<Option<String>>,
    /// The browser believes it has a network.
    pub online: RwSignal<bool>,
    /// Conversations this page shows, re-opened after a reconnect.
    watched: StoredValue<HashSet<ConversationId>>,
    sender: StoredValue<Option<UnboundedSender<ClientFrame>>>,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    /// Empty state, not connected.
    pub fn new() -> Self {
        Self {
            connection: RwSignal::new(Connection::Connecting),
            me: RwSignal::new(None),
            conversations: RwSignal::new(Vec::new()),
            threads: RwSignal::new(HashMap::new()),
            outbox: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            online: RwSignal::new(true),
            watched: StoredValue::new(HashSet::new()),
            sender: StoredValue::new(None),
        }
    }

    /// Writes a message: shown at once as sending, sent now or when connected.
    /// Returns the reason when the text cannot be sent at all.
    pub fn send_message(
        &self,
        conversation_id: Option<ConversationId>,
        body: &str,
    ) -> Result<(), String> {
        let body = validate_body(body).map_err(|e| e.to_string())?.to_owned();
        let client_id = ClientId::new();
        self.outbox.update(|o| {
            o.push(Pending {
                client_id,
                conversation_id,
                body,
                delivery: Delivery::Sending,
                attempt: 0,
            })
        });
        self.transmit_pending(client_id);
        Ok(())
    }

    /// Sends a failed message again with the same `client_id`, so it can never
    /// be stored twice.
    pub fn retry(&self, client_id: ClientId) {
        self.outbox.update(|outbox| {
            if let Some(p) = outbox.iter_mut().find(|p| p.client_id == client_id) {
                p.delivery = Delivery::Sending;
            }
        });
        self.transmit_pending(client_id);
    }

    /// Sends an outbox message (if connected) and, in the browser, marks it
    /// "Not sent" when no ack comes back in time while connected.
    fn transmit_pending(&self, client_id: ClientId) {
        if self.connection.get_untracked() != Connection::Online {
            return; // `catch_up` sends it once connected.
        }
        let mut sent = None;
        self.outbox.update(|outbox| {
            if let Some(p) = outbox
                .iter_mut()
                .find(|p| p.client_id == client_id && p.delivery == Delivery::Sending)
            {
                p.attempt += 1;
                sent = Some((send_frame(p), p.attempt));
            }
        });
        if let Some((frame, attempt)) = sent {
            self.transmit(frame);
            #[cfg(feature = "hydrate")]
            self.expect_ack(client_id, attempt);
            #[cfg(not(feature = "hydrate"))]
            let _ = attempt;
        }
    }

    /// After [`ACK_TIMEOUT`], an unacknowledged attempt on a live connection
    /// becomes "Not sent — Retry". (While disconnected it stays "Sending…" and
    /// is resent on reconnect.)
    #[cfg(feature = "hydrate")]
    fn expect_ack(&self, client_id: ClientId, attempt: u32) {
        let live = *self;
        wasm_bindgen_futures::spawn_local(async move {
            gloo_timers::future::sleep(ACK_TIMEOUT).await;
            if live.connection.get_untracked() != Connection::Online {
                return;
            }
            live.outbox.update(|outbox| {
                if let Some(p) = outbox.iter_mut().find(|p| {
                    p.client_id == client_id
                        && p.attempt == attempt
                        && p.delivery == Delivery::Sending
                }) {
                    p.delivery = Delivery::Failed("no answer from the server".into());
                }
            });
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
                for p in saved {
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

    /// Drops an unsent message.
    pub fn discard(&self, client_id: ClientId) {
        self.outbox
            .update(|o| o.retain(|p| p.client_id != client_id));
    }

    /// Shows a conversation: loads its history now or once connected.
    pub fn open(&self, conversation_id: ConversationId) {
        let first_time = self.watched.try_update_value(|w| w.insert(conversation_id)) == Some(true);
        let loaded = self
            .threads
            .with_untracked(|t| t.get(&conversation_id).is_some_and(|t| t.loaded));
        if first_time || !loaded {
            self.transmit(ClientFrame::Open { conversation_id });
        }
    }

    /// A visitor gives their name and email.
    pub fn set_profile(&self, name: String, email: String) {
        self.transmit(ClientFrame::Profile {
            name: Some(name.clone()),
            email: Some(email.clone()),
        });
        self.me.update(|me| {
            if let Some(Me::Contact {
                name: n, email: e, ..
            }) = me
            {
                *n = Some(name).filter(|s| !s.trim().is_empty());
                *e = Some(email).filter(|s| !s.trim().is_empty());
            }
        });
    }

    /// Messages of one conversation (empty until loaded).
    pub fn messages(&self, conversation_id: ConversationId) -> Vec<Message> {
        self.threads.with(|t| {
            t.get(&conversation_id)
                .map(|t| t.messages.clone())
                .unwrap_or_default()
        })
    }

    /// Connects the runtime to a fresh socket's sending side.
    pub fn attach(&self, sender: UnboundedSender<ClientFrame>) {
        self.sender.set_value(Some(sender));
    }

    /// The socket closed: queue until the next one.
    pub fn detach(&self) {
        self.sender.set_value(None);
        self.connection.set(Connection::Reconnecting);
    }

    /// Applies one frame from the server.
    pub fn apply(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Hello { me, conversations } => {
                self.me.set(Some(me));
                self.conversations.set(conversations);
                self.connection.set(Connection::Online);
                self.catch_up();
            }
            ServerFrame::Ack { client_id, message } => {
                self.outbox
                    .update(|o| o.retain(|p| p.client_id != client_id));
                self.add_message(message);
            }
            ServerFrame::Message { message } => self.add_message(message),
            ServerFrame::History {
                conversation_id,
                messages,
                has_more,
            } => self.threads.update(|threads| {
                let thread = threads.entry(conversation_id).or_default();
                if !thread.loaded {
                    thread.has_more = has_more;
                    thread.loaded = true;
                }
                thread.merge(messages);
            }),
            ServerFrame::Conversation { conversation } => self.upsert_conversation(conversation),
            ServerFrame::Error {
                message, client_id, ..
            } => {
                let mut matched = false;
                if let Some(id) = client_id {
                    self.outbox.update(|outbox| {
                        if let Some(p) = outbox.iter_mut().find(|p| p.client_id == id) {
                            p.delivery = Delivery::Failed(message.clone());
                            matched = true;
                        }
                    });
                }
                if !matched {
                    self.notice.set(Some(message));
                }
            }
            ServerFrame::Pong => {}
        }
    }

    /// After (re)connecting: reload what the page shows, then resend the outbox
    /// with the same `client_id`s (the server stores each once).
    fn catch_up(&self) {
        let watched = self.watched.get_value();
        for conversation_id in watched {
            let last = self.threads.with_untracked(|t| {
                t.get(&conversation_id)
                    .filter(|t| t.loaded)
                    .and_then(|t| t.messages.last().map(|m| m.id))
            });
            self.transmit(match last {
                Some(after) => ClientFrame::Resume {
                    conversation_id,
                    after,
                },
                None => ClientFrame::Open { conversation_id },
            });
        }
        let unsent: Vec<ClientId> = self.outbox.with_untracked(|o| {
            o.iter()
                .filter(|p| p.delivery == Delivery::Sending)
                .map(|p| p.client_id)
                .collect()
        });
        for client_id in unsent {
            self.transmit_pending(client_id);
        }
    }

    fn add_message(&self, message: Message) {
        let conversation_id = message.conversation_id;
        let known = self
            .conversations
            .with_untracked(|c| c.iter().any(|c| c.id == conversation_id));
        if !known && let Some(Me::Contact { id, name, email }) = self.me.get_untracked() {
            // A visitor's first message created this conversation.
            self.upsert_conversation(ConversationSummary {
                id: conversation_id,
                contact_id: id,
                contact_name: name.unwrap_or_else(|| crate::protocol::visitor_label(id)),
                contact_email: email,
                status: crate::protocol::ConversationStatus::Open,
                last_message_at: message.created_at,
                last_message_preview: message.body.chars().take(140).collect(),
                last_sender: Some(message.sender),
            });
        }
        self.threads
            .update(|t| t.entry(conversation_id).or_default().merge([message]));
    }

    fn upsert_conversation(&self, conversation: ConversationSummary) {
        self.conversations.update(|list| {
            list.retain(|c| c.id != conversation.id);
            let at = list
                .iter()
                .position(|c| {
                    (c.last_message_at, c.id) < (conversation.last_message_at, conversation.id)
                })
                .unwrap_or(list.len());
            list.insert(at, conversation);
        });
    }

    /// Sends a frame if connected; otherwise it is dropped and `catch_up`
    /// re-derives it from state once connected.
    fn transmit(&self, frame: ClientFrame) {
        if self.connection.get_untracked() != Connection::Online {
            return;
        }
        self.sender.with_value(|sender| {
            if let Some(sender) = sender {
                let _ = sender.unbounded_send(frame);
            }
        });
    }
}

fn send_frame(pending: &Pending) -> ClientFrame {
    ClientFrame::Send {
        conversation_id: pending.conversation_id,
        client_id: pending.client_id,
        body: pending.body.clone(),
    }
}

/// How long a sent message may wait for its ack on a live connection.
#[cfg(feature = "hydrate")]
const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many characters are left before the body limit, shown near the limit.
pub fn remaining_chars(body: &str) -> Option<i64> {
    let left = MAX_BODY_CHARS as i64 - body.chars().count() as i64;
    (left < 500).then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MessageId, SenderKind, Timestamp};

    fn message(id: i64) -> Message {
        Message {
            id: MessageId(id),
            conversation_id: ConversationId(1),
            client_id: ClientId::new(),
            sender: SenderKind::Contact,
            sender_name: "Visitor #1".into(),
            body: format!("m{id}"),
            created_at: Timestamp(id),
        }
    }

    #[test]
    fn merge_orders_by_id_and_drops_duplicates() {
        let mut thread = Thread::default();
        thread.merge([message(3), message(1)]);
        thread.merge([message(2), message(3)]);
        let ids: Vec<i64> = thread.messages.iter().map(|m| m.id.0).collect();
        assert_eq!(ids, [1, 2, 3]);
    }
}
