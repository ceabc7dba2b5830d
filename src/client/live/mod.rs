//! Live state of one page: the single source the UI renders from.
//!
//! - `thread` — one conversation's loaded messages, in change order.
//! - `outbox` — what the person wrote that the server has not acknowledged.
//! - `inbox` — (agents) the inbox's lists, their counts, and the team's
//!   actions on a conversation.

mod inbox;
mod outbox;
mod thread;

pub use outbox::{Delivery, Pending, Posting, remaining_chars};
pub use thread::Thread;

use std::collections::{HashMap, HashSet};

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;

use crate::client::typing::{Step, TypingOut};
use crate::protocol::{
    AssistantState, ClientFrame, ConversationId, ConversationSummary, CursorKind, InboxCounts,
    InboxSort, InboxView, Label, LabelId, Me, Message, MessageId, Person, SenderKind, ServerFrame,
    validate_body,
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

/// Everything live on one page. `Copy`: pass it around freely.
#[derive(Clone, Copy)]
pub struct Live {
    pub connection: RwSignal<Connection>,
    pub me: RwSignal<Option<Me>>,
    /// Newest activity first.
    pub conversations: RwSignal<Vec<ConversationSummary>>,
    /// (Agents) more rows of the list shown exist after the loaded ones.
    pub more_conversations: RwSignal<bool>,
    /// (Agents) the inbox list shown, and its order.
    pub view: RwSignal<InboxView>,
    pub sort: RwSignal<InboxSort>,
    /// (Agents) how many conversations each list holds.
    pub counts: RwSignal<InboxCounts>,
    /// (Agents) the active teammates.
    pub team: RwSignal<Vec<Person>>,
    /// (Agents) the labels admins created, by name.
    pub labels: RwSignal<Vec<Label>>,
    /// (Agents) the label the list shown is filtered by.
    pub label: RwSignal<Option<LabelId>>,
    /// (Agents) per list, order and label, the sort key of the last row the
    /// server sent: where its next page starts.
    frontier: StoredValue<HashMap<inbox::Shown, (i64, i64)>>,
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
    /// Text the embedding site asks to put in the composer.
    pub prefill: RwSignal<Option<String>>,
    /// (Visitors) how the messenger looks and what it says (see
    /// [`crate::client::look`]).
    pub look: RwSignal<crate::settings::MessengerLook>,
    /// What this page told the server about its person typing.
    typing_sent: StoredValue<TypingOut>,
    /// The furthest read cursor sent, per conversation.
    read_sent: StoredValue<HashMap<ConversationId, MessageId>>,
    /// Conversations this page shows, re-opened after a reconnect.
    watched: StoredValue<HashSet<ConversationId>>,
    sender: StoredValue<Option<UnboundedSender<ClientFrame>>>,
    /// How many sends may be unanswered at once on this socket.
    send_window: StoredValue<usize>,
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
            view: RwSignal::new(InboxView::default()),
            sort: RwSignal::new(InboxSort::default()),
            counts: RwSignal::new(InboxCounts::default()),
            team: RwSignal::new(Vec::new()),
            labels: RwSignal::new(Vec::new()),
            label: RwSignal::new(None),
            frontier: StoredValue::new(HashMap::new()),
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
            prefill: RwSignal::new(None),
            look: RwSignal::new(crate::client::look::initial()),
            typing_sent: StoredValue::new(TypingOut::default()),
            read_sent: StoredValue::new(HashMap::new()),
            watched: StoredValue::new(HashSet::new()),
            sender: StoredValue::new(None),
            send_window: StoredValue::new(outbox::WINDOW),
        }
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

    /// (Visitors) rates a resolved conversation, 1 to 5, with an optional
    /// comment.
    pub fn rate(&self, conversation_id: ConversationId, score: u8, comment: Option<String>) {
        self.act(ClientFrame::Rate {
            conversation_id,
            score,
            comment,
        });
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
    #[cfg(feature = "hydrate")]
    fn drop_connection(&self) {
        self.sender.set_value(None);
    }

    /// The socket closed: queue until the next one.
    pub fn detach(&self) {
        self.sender.set_value(None);
        self.connection.set(Connection::Reconnecting);
        self.outbox_disconnected();
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
                look,
                counts,
                team,
                labels,
            } => {
                if let Some(look) = look {
                    self.look.set(look);
                }
                if let Some(counts) = counts {
                    self.counts.set(counts);
                }
                self.team.set(team);
                self.labels.set(labels);
                self.me.set(Some(me));
                self.more_conversations.set(more_conversations);
                self.loading_conversations.set(false);
                self.team_online.set(team_online);
                self.connection.set(Connection::Online);
                for c in &conversations {
                    self.acknowledge_delivery(c);
                }
                // The greeting's rows are the first page of all open ones.
                self.frontier.set_value(HashMap::new());
                if let Some(last) = conversations.last() {
                    let key = InboxSort::Newest.key(last);
                    self.frontier.update_value(|f| {
                        f.insert((InboxView::Open, InboxSort::Newest, None), key);
                    });
                }
                self.conversations.set(conversations);
                self.reload_view();
                self.catch_up();
            }
            ServerFrame::Ack { client_id, message } => {
                self.add_message(message);
                self.acknowledged(client_id);
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
                view,
                sort,
                label,
            } => self.page_arrived(conversations, has_more, (view, sort, label)),
            ServerFrame::Counts { counts } => self.counts_arrived(counts),
            ServerFrame::Labels { labels } => self.labels_changed(labels),
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
            ServerFrame::Look { look } => self.look.set(look),
            ServerFrame::Error {
                code,
                message,
                client_id,
                retry_after_ms,
            } => {
                let matched = client_id
                    .is_some_and(|id| self.send_refused(id, code, &message, retry_after_ms));
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
        self.send_next();
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
                assignee: None,
                snoozed_until: None,
                waiting_since: None,
                rating: None,
                labels: Vec::new(),
                mentions: Vec::new(),
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
        // This page already said it read up to the row's newest message (the
        // read can overtake the row: it is published after its commit).
        let already_read = self.read_sent.with_value(|sent| {
            sent.get(&conversation.id)
                .is_some_and(|at| *at >= conversation.last_message_id)
        });
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
                if newer && (mine || already_read) {
                    conversation.unread = 0;
                } else if newer {
                    conversation.unread += 1;
                    incoming = true;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MessageId, SenderKind, Timestamp};

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
            assignee: None,
            snoozed_until: None,
            waiting_since: None,
            rating: None,
            labels: Vec::new(),
            mentions: Vec::new(),
        }
    }

    #[test]
    fn a_row_whose_message_this_page_already_read_is_not_unread() {
        let owner = Owner::new();
        owner.with(|| {
            let live = Live::new();
            let (tx, _rx) = futures::channel::mpsc::unbounded();
            live.attach(tx);
            live.connection.set(Connection::Online);
            let mut first = row(1, "hello");
            first.last_sender = Some(SenderKind::Contact);
            live.apply(ServerFrame::Conversation {
                conversation: first,
            });
            // The reply is shown and read before its inbox row arrives.
            live.mark_read(ConversationId(1), MessageId(2));
            live.apply(ServerFrame::Conversation {
                conversation: row(2, "a reply"),
            });
            assert_eq!(live.total_unread(), 0);
            // One nobody read yet counts.
            live.apply(ServerFrame::Conversation {
                conversation: row(3, "another"),
            });
            assert_eq!(live.total_unread(), 1);
        });
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
}
