//! Live state of one page: the single source the UI renders from.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::client::typing::{Step, TypingOut};
use crate::protocol::{
    AssistantState, ClientFrame, ClientId, ConversationId, ConversationSummary, CursorKind,
    MAX_BODY_CHARS, Me, Message, MessageId, Person, Reaction, SenderKind, Seq, ServerFrame,
    validate_body,
};

/// Change numbers seen ahead of a gap that a thread remembers; past this it
/// forgets them (a resume then replays a little more).
const AHEAD_REMEMBERED: usize = 256;

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
    /// An `older` request is on its way.
    pub loading_older: bool,
    /// Every change of the conversation up to this number has reached this
    /// page: a resume asks for what came after it.
    pub seq: Seq,
    /// Numbers seen beyond `seq` (live events can arrive out of order);
    /// `seq` moves on when the gap before them fills.
    ahead: BTreeSet<Seq>,
    /// The change number of each shown message's text (its body, edit or
    /// delete). A message's own `seq` also moves with reactions, which
    /// arrive as separate changes: an edit read before a later reaction
    /// must still replace the text.
    text_seq: HashMap<MessageId, Seq>,
}

impl Thread {
    /// Adds or replaces messages, keeping id order and no duplicates. A copy
    /// older than the one shown (a lower change number) never replaces it;
    /// one whose text is newer than the shown text replaces the text only.
    pub fn merge(&mut self, incoming: impl IntoIterator<Item = Message>) {
        for message in incoming {
            self.saw(message.seq);
            match self.messages.binary_search_by_key(&message.id, |m| m.id) {
                Ok(at) => {
                    let shown = &mut self.messages[at];
                    let text_seq = self.text_seq.get(&message.id).copied().unwrap_or(shown.seq);
                    if message.seq >= shown.seq {
                        self.text_seq.insert(message.id, message.seq);
                        *shown = message;
                    } else if message.seq > text_seq {
                        self.text_seq.insert(message.id, message.seq);
                        shown.body = message.body;
                        shown.edited_at = message.edited_at;
                        shown.deleted = message.deleted;
                        if shown.deleted {
                            shown.reactions.clear();
                        }
                    }
                }
                Err(at) => {
                    self.text_seq.insert(message.id, message.seq);
                    self.messages.insert(at, message);
                }
            }
        }
    }

    /// Replayed changes: replaces what is shown and adds what is newer than
    /// the first loaded message (older ones load with their page).
    fn merge_changes(&mut self, incoming: Vec<Message>) {
        let first = self.messages.first().map(|m| m.id);
        let shown = incoming
            .into_iter()
            .filter(|m| first.is_none_or(|first| m.id >= first));
        self.merge(shown);
    }

    /// Change `seq` reached this page.
    fn saw(&mut self, seq: Seq) {
        if seq <= self.seq {
            return;
        }
        if seq == self.seq + 1 {
            self.seq = seq;
            while self.ahead.remove(&(self.seq + 1)) {
                self.seq += 1;
            }
        } else {
            if self.ahead.len() >= AHEAD_REMEMBERED {
                self.ahead.clear();
            }
            self.ahead.insert(seq);
        }
    }

    /// Everything up to `seq` is known (a page the server read at that point).
    fn complete_to(&mut self, seq: Seq) {
        if seq > self.seq {
            self.seq = seq;
            self.ahead.retain(|s| *s > seq);
        }
        while self.ahead.remove(&(self.seq + 1)) {
            self.seq += 1;
        }
    }

    /// A reaction given or taken back.
    fn react(
        &mut self,
        message_id: MessageId,
        emoji: String,
        person: Person,
        added: bool,
        seq: Seq,
    ) {
        self.saw(seq);
        let Ok(at) = self.messages.binary_search_by_key(&message_id, |m| m.id) else {
            return;
        };
        let message = &mut self.messages[at];
        // Reactions are per person and emoji: a change that arrives after a
        // later one of someone else's still applies (adding twice or taking
        // back what is not there changes nothing).
        if message.deleted {
            return;
        }
        message.seq = message.seq.max(seq);
        let same = |p: &Person| (p.kind, p.id) == (person.kind, person.id);
        let existing = message.reactions.iter().position(|r| r.emoji == emoji);
        match (existing, added) {
            (Some(at), true) => {
                let people = &mut message.reactions[at].people;
                if !people.iter().any(same) {
                    people.push(person);
                }
            }
            (None, true) => message.reactions.push(Reaction {
                emoji,
                people: vec![person],
            }),
            (Some(at), false) => {
                message.reactions[at].people.retain(|p| !same(p));
                if message.reactions[at].people.is_empty() {
                    message.reactions.remove(at);
                }
            }
            (None, false) => {}
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
    /// (Agents) more inbox rows exist after the loaded ones.
    pub more_conversations: RwSignal<bool>,
    /// A page of inbox rows is on its way.
    pub loading_conversations: RwSignal<bool>,
    /// (Visitors) the messenger panel is open, so replies are being seen.
    pub panel_open: RwSignal<bool>,
    /// Notification sounds are off (kept in `localStorage`).
    pub muted: RwSignal<bool>,
    pub threads: RwSignal<HashMap<ConversationId, Thread>>,
    pub outbox: RwSignal<Vec<Pending>>,
    /// The last refusal not tied to a message, for a notice.
    pub notice: RwSignal<Option<String>>,
    /// The browser believes it has a network.
    pub online: RwSignal<bool>,
    /// The server ended this agent's session (sign-out elsewhere, or
    /// deactivated): no more reconnecting.
    pub signed_out: RwSignal<bool>,
    /// The server will not chat with this visitor, and said why (the site
    /// requires verified visitors): no more reconnecting.
    pub refused: RwSignal<Option<String>>,
    /// The tab is visible and focused: what is shown counts as read.
    pub attentive: RwSignal<bool>,
    /// Who else is typing, per conversation.
    pub typing: RwSignal<HashMap<ConversationId, Vec<Person>>>,
    /// (Visitors) some teammate has the inbox open.
    pub team_online: RwSignal<bool>,
    /// What this page told the server about its person typing.
    typing_sent: StoredValue<TypingOut>,
    /// The furthest read cursor sent, per conversation.
    read_sent: StoredValue<HashMap<ConversationId, MessageId>>,
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
            more_conversations: RwSignal::new(false),
            loading_conversations: RwSignal::new(false),
            panel_open: RwSignal::new(true),
            muted: RwSignal::new(false),
            threads: RwSignal::new(HashMap::new()),
            outbox: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            online: RwSignal::new(true),
            signed_out: RwSignal::new(false),
            refused: RwSignal::new(None),
            attentive: RwSignal::new(false),
            typing: RwSignal::new(HashMap::new()),
            team_online: RwSignal::new(false),
            typing_sent: StoredValue::new(TypingOut::default()),
            read_sent: StoredValue::new(HashMap::new()),
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

    /// After [`ACK_TIMEOUT`] without an ack on a live connection, the socket is
    /// taken for dead (a proxy or a sleeping network can swallow frames
    /// without closing it): it is dropped, the banner says so, and the
    /// reconnect resends the whole outbox. The message stays "Sending…" — only
    /// the server's refusals make it "Not sent".
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

    /// The person is typing (or stopped) in a conversation. Refreshes go out
    /// every 2 s; a stop only if a start went out; starts paced to the
    /// server's limit (see [`crate::client::typing`]).
    pub fn set_typing(&self, conversation_id: ConversationId, typing: bool) {
        let now = crate::client::time::now_ms();
        let step = self
            .typing_sent
            .try_update_value(|out| out.change(conversation_id, typing, now));
        self.typing_step(conversation_id, step.unwrap_or(Step::Nothing));
    }

    fn typing_step(&self, conversation_id: ConversationId, step: Step) {
        match step {
            Step::Send(typing) => self.transmit(ClientFrame::Typing {
                conversation_id,
                typing,
            }),
            #[cfg(feature = "hydrate")]
            Step::StartAfter(ms) => {
                let live = *self;
                wasm_bindgen_futures::spawn_local(async move {
                    gloo_timers::future::sleep(std::time::Duration::from_millis(ms.max(0) as u64))
                        .await;
                    let now = crate::client::time::now_ms();
                    let step = live
                        .typing_sent
                        .try_update_value(|out| out.due(conversation_id, now));
                    live.typing_step(conversation_id, step.unwrap_or(Step::Nothing));
                });
            }
            #[cfg(not(feature = "hydrate"))]
            Step::StartAfter(_) => {}
            Step::Nothing => {}
        }
    }

    /// The person has seen the conversation up to `up_to` (it is on screen in
    /// a focused tab). Sent only when it moves their cursor forward.
    pub fn mark_read(&self, conversation_id: ConversationId, up_to: MessageId) {
        if self.connection.get_untracked() != Connection::Online {
            return; // marked again once live: the messages are still shown.
        }
        let mut moved = false;
        self.read_sent.update_value(|sent| {
            if sent.get(&conversation_id).is_none_or(|at| *at < up_to) {
                sent.insert(conversation_id, up_to);
                moved = true;
            }
        });
        if moved {
            self.transmit(ClientFrame::Read {
                conversation_id,
                up_to,
            });
        }
    }

    /// Asks for the page of messages before the oldest one shown.
    pub fn load_older(&self, conversation_id: ConversationId) {
        let mut before = None;
        self.threads.update(|threads| {
            if let Some(thread) = threads.get_mut(&conversation_id)
                && thread.loaded
                && thread.has_more
                && !thread.loading_older
                && let Some(first) = thread.messages.first()
            {
                thread.loading_older = true;
                before = Some(first.id);
            }
        });
        if let Some(before) = before {
            self.transmit(ClientFrame::Older {
                conversation_id,
                before,
            });
        }
    }

    /// (Agents) asks for the next page of the inbox.
    pub fn load_more_conversations(&self) {
        if self.loading_conversations.get_untracked() || !self.more_conversations.get_untracked() {
            return;
        }
        let last = self
            .conversations
            .with_untracked(|list| list.last().map(|c| (c.last_message_at, c.id)));
        if let Some((before_at, before_id)) = last {
            self.loading_conversations.set(true);
            self.transmit(ClientFrame::MoreConversations {
                before_at,
                before_id,
            });
        }
    }

    /// Toggles the person's reaction on a message.
    pub fn react(&self, message_id: MessageId, emoji: &str) {
        self.transmit(ClientFrame::React {
            message_id,
            emoji: emoji.to_owned(),
        });
    }

    /// Changes the text of one of the person's messages.
    pub fn edit(&self, message_id: MessageId, body: &str) -> Result<(), String> {
        let body = validate_body(body).map_err(|e| e.to_string())?;
        self.transmit(ClientFrame::Edit {
            message_id,
            body: body.to_owned(),
        });
        Ok(())
    }

    /// Deletes one of the person's messages.
    pub fn delete(&self, message_id: MessageId) {
        self.transmit(ClientFrame::Delete { message_id });
    }

    /// (Visitors) "Talk to a person": the assistant stops, the team is asked.
    pub fn hand_over(&self, conversation_id: ConversationId) {
        self.transmit(ClientFrame::Handoff { conversation_id });
    }

    /// (Agents) switches the assistant on or off for a conversation.
    pub fn set_assistant(&self, conversation_id: ConversationId, on: bool) {
        self.transmit(ClientFrame::Assistant {
            conversation_id,
            on,
        });
    }

    /// Who answers a conversation now.
    pub fn assistant_state(&self, conversation_id: ConversationId) -> AssistantState {
        self.conversations.with(|c| {
            c.iter()
                .find(|c| c.id == conversation_id)
                .map(|c| c.assistant)
                .unwrap_or_default()
        })
    }

    /// Unread messages over every conversation, for a title or a badge.
    pub fn total_unread(&self) -> u32 {
        self.conversations
            .with(|c| c.iter().map(|c| c.unread).sum())
    }

    /// Whether a sender is on the reader's own side.
    fn is_mine(&self, sender: SenderKind) -> bool {
        match self.me.get_untracked() {
            Some(Me::Contact { .. }) => sender == SenderKind::Contact,
            Some(Me::Agent { .. }) => sender != SenderKind::Contact,
            None => false,
        }
    }

    fn is_agent(&self) -> bool {
        matches!(self.me.get_untracked(), Some(Me::Agent { .. }))
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

    /// Gives up on the current socket: the socket task sees its queue end,
    /// closes it and reconnects.
    pub fn drop_connection(&self) {
        self.sender.set_value(None);
    }

    /// The socket closed: queue until the next one.
    pub fn detach(&self) {
        self.sender.set_value(None);
        self.connection.set(Connection::Reconnecting);
        // Live states are re-learnt on reconnect; none may linger meanwhile.
        self.typing.set(HashMap::new());
        self.typing_sent.update_value(TypingOut::reset);
        self.read_sent.set_value(HashMap::new());
    }

    /// Applies one frame from the server.
    pub fn apply(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Hello {
                me,
                conversations,
                more_conversations,
                team_online,
            } => {
                self.me.set(Some(me));
                self.more_conversations.set(more_conversations);
                self.loading_conversations.set(false);
                self.team_online.set(team_online);
                self.connection.set(Connection::Online);
                for c in &conversations {
                    self.acknowledge_delivery(c);
                }
                self.conversations.set(conversations);
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
                seq,
            } => self.threads.update(|threads| {
                let thread = threads.entry(conversation_id).or_default();
                let older_page = thread.loading_older
                    && match (messages.first(), thread.messages.first()) {
                        (Some(new), Some(old)) => new.id < old.id,
                        (None, _) => true,
                        (Some(_), None) => false,
                    };
                if !thread.loaded || older_page {
                    thread.has_more = has_more;
                    thread.loaded = true;
                }
                if older_page {
                    thread.loading_older = false;
                }
                thread.merge(messages);
                thread.complete_to(seq);
            }),
            ServerFrame::Changes {
                conversation_id,
                messages,
                seq,
                ..
            } => self.threads.update(|threads| {
                let thread = threads.entry(conversation_id).or_default();
                thread.merge_changes(messages);
                thread.complete_to(seq);
            }),
            ServerFrame::Reaction {
                conversation_id,
                message_id,
                emoji,
                person,
                added,
                seq,
            } => self.threads.update(|threads| {
                if let Some(thread) = threads.get_mut(&conversation_id) {
                    thread.react(message_id, emoji, person, added, seq);
                }
            }),
            ServerFrame::Changed { message } => self.threads.update(|threads| {
                // Only messages already shown change; others load as they are.
                let Some(thread) = threads.get_mut(&message.conversation_id) else {
                    return;
                };
                if thread
                    .messages
                    .binary_search_by_key(&message.id, |m| m.id)
                    .is_ok()
                {
                    thread.merge([message]);
                } else {
                    thread.saw(message.seq);
                }
            }),
            ServerFrame::Conversations {
                conversations,
                has_more,
            } => {
                self.more_conversations.set(has_more);
                self.loading_conversations.set(false);
                self.conversations.update(|list| {
                    for c in conversations {
                        if !list.iter().any(|known| known.id == c.id) {
                            list.push(c);
                        }
                    }
                });
            }
            ServerFrame::Conversation { conversation } => {
                self.acknowledge_delivery(&conversation);
                self.upsert_conversation(conversation)
            }
            ServerFrame::Typing {
                conversation_id,
                person,
                typing,
            } => self.typing.update(|all| {
                let list = all.entry(conversation_id).or_default();
                list.retain(|p| (p.kind, p.id) != (person.kind, person.id));
                if typing {
                    list.push(person);
                }
            }),
            ServerFrame::Cursor {
                conversation_id,
                kind,
                person,
                up_to,
                seq,
            } => {
                self.threads.update(|threads| {
                    if let Some(thread) = threads.get_mut(&conversation_id) {
                        thread.saw(seq);
                    }
                });
                self.move_cursor(conversation_id, kind, &person, up_to)
            }
            ServerFrame::Presence {
                contact_id,
                online,
                last_seen_at,
            } => self.conversations.update(|list| {
                for c in list.iter_mut().filter(|c| c.contact_id == contact_id) {
                    c.contact_online = online;
                    c.contact_last_seen_at = last_seen_at;
                }
            }),
            ServerFrame::TeamPresence { online } => self.team_online.set(online),
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
            let since = self.threads.with_untracked(|t| {
                t.get(&conversation_id)
                    .filter(|t| t.loaded && t.seq > 0)
                    .map(|t| t.seq)
            });
            self.transmit(match since {
                Some(since) => ClientFrame::Resume {
                    conversation_id,
                    since,
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
                last_message_id: message.id,
                unread: 0,
                contact_read_id: message.id,
                team_read_id: MessageId(0),
                team_delivered_id: MessageId(0),
                contact_online: true,
                contact_last_seen_at: message.created_at,
                // The server's `conversation` row follows with the real state.
                assistant: Default::default(),
                seq: 0,
            });
        }
        self.threads
            .update(|t| t.entry(conversation_id).or_default().merge([message]));
    }

    /// (Agents) a visitor's newest message reached this inbox: say so, for
    /// the visitor's ✓✓.
    fn acknowledge_delivery(&self, c: &ConversationSummary) {
        if self.is_agent()
            && c.last_sender == Some(SenderKind::Contact)
            && c.team_delivered_id < c.last_message_id
        {
            self.transmit(ClientFrame::Delivered {
                conversation_id: c.id,
                up_to: c.last_message_id,
            });
        }
    }

    fn move_cursor(
        &self,
        conversation_id: ConversationId,
        kind: CursorKind,
        person: &Person,
        up_to: MessageId,
    ) {
        let is_me = is_me(&self.me.get_untracked(), person);
        self.conversations.update(|list| {
            let Some(c) = list.iter_mut().find(|c| c.id == conversation_id) else {
                return;
            };
            match (kind, person.kind) {
                (CursorKind::Delivered, _) => {
                    c.team_delivered_id = c.team_delivered_id.max(up_to);
                }
                (CursorKind::Read, SenderKind::Contact) => {
                    c.contact_read_id = c.contact_read_id.max(up_to);
                }
                (CursorKind::Read, _) => {
                    c.team_read_id = c.team_read_id.max(up_to);
                    c.team_delivered_id = c.team_delivered_id.max(up_to);
                }
            }
            // Read in another of my tabs: nothing is unread here either.
            if is_me && kind == CursorKind::Read && up_to >= c.last_message_id {
                c.unread = 0;
            }
        });
    }

    fn upsert_conversation(&self, mut conversation: ConversationSummary) {
        let mine = conversation.last_sender.is_some_and(|s| self.is_mine(s));
        let mut incoming = false;
        let heads_up = (
            conversation.contact_name.clone(),
            conversation.last_message_preview.clone(),
        );
        let stale = self.conversations.with_untracked(|list| {
            list.iter()
                .any(|c| c.id == conversation.id && c.seq > conversation.seq)
        });
        if stale {
            // Read before a row we already have: never overwrite newer with older.
            return;
        }
        self.conversations.update(|list| {
            if let Some(old) = list.iter().find(|c| c.id == conversation.id) {
                // Live rows carry no per-reader count: keep ours, plus one for
                // a new message from the other side.
                conversation.unread = old.unread;
                let newer = conversation.last_message_id > old.last_message_id;
                if newer && !mine {
                    conversation.unread += 1;
                    incoming = true;
                } else if newer && mine {
                    conversation.unread = 0;
                }
                conversation.contact_read_id =
                    conversation.contact_read_id.max(old.contact_read_id);
                conversation.team_read_id = conversation.team_read_id.max(old.team_read_id);
                conversation.team_delivered_id =
                    conversation.team_delivered_id.max(old.team_delivered_id);
            } else if !mine && conversation.last_message_id.0 > 0 && conversation.unread == 0 {
                conversation.unread = 1;
                incoming = true;
            }
            list.retain(|c| c.id != conversation.id);
            let at = list
                .iter()
                .position(|c| {
                    (c.last_message_at, c.id) < (conversation.last_message_at, conversation.id)
                })
                .unwrap_or(list.len());
            list.insert(at, conversation);
        });
        if incoming {
            #[cfg(feature = "hydrate")]
            crate::client::notify::incoming(self, &heads_up.0, &heads_up.1);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = heads_up;
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

/// Whether `person` is the one this page speaks for.
pub fn is_me(me: &Option<Me>, person: &Person) -> bool {
    match me {
        Some(Me::Contact { id, .. }) => person.kind == SenderKind::Contact && person.id == id.0,
        Some(Me::Agent { id, .. }) => person.kind == SenderKind::Agent && person.id == id.0,
        None => false,
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
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            seq: id,
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

    #[test]
    fn an_older_copy_never_replaces_a_newer_one() {
        let mut thread = Thread::default();
        let mut edited = message(1);
        edited.body = "edited".into();
        edited.seq = 5;
        thread.merge([edited]);
        thread.merge([message(1)]);
        assert_eq!(thread.messages[0].body, "edited");
    }

    #[test]
    fn an_edit_read_before_a_later_reaction_still_replaces_the_text() {
        let mut thread = Thread::default();
        thread.merge([message(1)]);
        let ana = Person {
            kind: SenderKind::Agent,
            id: 1,
            name: "Ana".into(),
        };
        // Reactions 3 and 4 from two people arrive out of order.
        let ben = Person {
            id: 2,
            name: "Ben".into(),
            ..ana.clone()
        };
        thread.react(MessageId(1), "🎉".into(), ben, true, 4);
        thread.react(MessageId(1), "👍".into(), ana, true, 3);
        assert_eq!(thread.messages[0].reactions.len(), 2, "both count");
        // The edit (change 2) arrives last: its text still wins.
        let mut edited = message(1);
        edited.body = "edited".into();
        edited.seq = 2;
        thread.merge([edited]);
        assert_eq!(thread.messages[0].body, "edited");
        assert_eq!(
            thread.messages[0].reactions.len(),
            2,
            "and the reactions stay"
        );
        assert_eq!(thread.seq, 4);
    }

    #[test]
    fn the_resume_point_moves_only_past_contiguous_changes() {
        let mut thread = Thread::default();
        thread.complete_to(10);
        thread.saw(12);
        assert_eq!(thread.seq, 10, "11 has not arrived: resume from 10");
        thread.saw(11);
        assert_eq!(thread.seq, 12);
        thread.saw(14);
        thread.complete_to(13);
        assert_eq!(thread.seq, 14, "a snapshot fills the gap before 14");
    }

    fn row(seq: i64, preview: &str) -> ConversationSummary {
        ConversationSummary {
            id: ConversationId(1),
            contact_id: crate::protocol::ContactId(1),
            contact_name: "Visitor #1".into(),
            contact_email: None,
            status: crate::protocol::ConversationStatus::Open,
            last_message_at: Timestamp(seq),
            last_message_preview: preview.into(),
            last_sender: Some(SenderKind::Agent),
            last_message_id: MessageId(seq),
            unread: 0,
            contact_read_id: MessageId(0),
            team_read_id: MessageId(0),
            team_delivered_id: MessageId(0),
            contact_online: false,
            contact_last_seen_at: Timestamp(0),
            assistant: Default::default(),
            seq,
        }
    }

    #[test]
    fn an_older_inbox_row_never_overwrites_a_newer_one() {
        let owner = Owner::new();
        owner.with(|| {
            let live = Live::new();
            live.apply(ServerFrame::Conversation {
                conversation: row(5, "newer"),
            });
            // Read earlier, published later: it arrives second.
            live.apply(ServerFrame::Conversation {
                conversation: row(4, "older"),
            });
            let shown = live.conversations.get_untracked();
            assert_eq!(shown.len(), 1);
            assert_eq!(shown[0].last_message_preview, "newer");
            live.apply(ServerFrame::Conversation {
                conversation: row(6, "newest"),
            });
            assert_eq!(
                live.conversations.get_untracked()[0].last_message_preview,
                "newest"
            );
        });
    }

    #[test]
    fn reactions_apply_as_changes() {
        let mut thread = Thread::default();
        thread.merge([message(1)]);
        let ana = Person {
            kind: SenderKind::Agent,
            id: 1,
            name: "Ana".into(),
        };
        thread.react(MessageId(1), "👍".into(), ana.clone(), true, 2);
        thread.react(MessageId(1), "👍".into(), ana.clone(), true, 2);
        assert_eq!(thread.messages[0].reactions[0].people.len(), 1);
        thread.react(MessageId(1), "👍".into(), ana, false, 3);
        assert!(thread.messages[0].reactions.is_empty());
        assert_eq!(thread.seq, 3);
    }
}
