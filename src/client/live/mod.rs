//! Live state of one page: the single source the UI renders from.
//!
//! - `thread` — one conversation's loaded messages, in change order.
//! - `outbox` — what the person wrote that the server has not acknowledged.
//! - `files` — files attached to what the person writes, and their uploads.
//! - `frames` — applying what the server sends, and catching up after a
//!   reconnect.
//! - `inbox` — (agents) the inbox's lists, their counts, and the team's
//!   actions on a conversation.
//! - `search` — (agents) the search box's results, and jumping to a
//!   message they found.

mod files;
mod frames;
mod inbox;
mod outbox;
mod search;
mod thread;

pub use files::{FileState, OutFile};
pub use outbox::{Delivery, Pending, Posting, remaining_chars};
pub use thread::Thread;

use std::collections::{HashMap, HashSet};

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;

use crate::client::typing::{Step, TypingOut};
use crate::protocol::{
    AssistantState, ClientFrame, ConversationId, ConversationSummary, InboxCounts, InboxSort,
    InboxView, Label, LabelId, Me, Message, MessageId, Person, SenderKind, validate_body,
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
    /// (Agents) the answer to the newest search, once it arrives.
    pub search_results: RwSignal<Option<Vec<crate::protocol::SearchHit>>>,
    /// The id of the newest search sent: older answers are dropped.
    search_sent: StoredValue<u32>,
    /// The search the box shows, asked again after a reconnect (one typed
    /// while the socket was down was never sent).
    searching: StoredValue<Option<crate::protocol::SearchQuery>>,
    /// (Agents) the message a search result opened: the thread scrolls to
    /// it and marks it once it is shown.
    pub jump_to: RwSignal<Option<(ConversationId, MessageId)>>,
    /// (Visitors) the messenger panel is open, so replies are being seen.
    pub panel_open: RwSignal<bool>,
    /// Notification sounds are off (kept in `localStorage`).
    pub muted: RwSignal<bool>,
    pub threads: RwSignal<HashMap<ConversationId, Thread>>,
    pub outbox: RwSignal<Vec<Pending>>,
    /// Files attached to the message being written.
    pub staged: RwSignal<Vec<OutFile>>,
    /// The browser's files on their way, by key (this page's memory only).
    handles: files::Handles,
    /// The last refusal not tied to a message, for a notice.
    pub notice: RwSignal<Option<String>>,
    /// The browser believes it has a network.
    pub online: RwSignal<bool>,
    /// The server ended this agent's session (sign-out elsewhere, or
    /// deactivated): no more reconnecting.
    pub signed_out: RwSignal<bool>,
    /// The server will not chat with this visitor, and said why (the site
    /// requires verified visitors, or the team blocked them): no more
    /// reconnecting, nothing more to send.
    pub refused: RwSignal<Option<String>>,
    /// The tab is visible and focused: what is shown counts as read.
    pub attentive: RwSignal<bool>,
    /// Who else is typing, per conversation.
    pub typing: RwSignal<HashMap<ConversationId, Vec<Person>>>,
    /// The assistant's answer as written so far, per conversation (until
    /// the stored message arrives).
    pub drafts: RwSignal<HashMap<ConversationId, String>>,
    /// (Visitors) some teammate has the inbox open.
    pub team_online: RwSignal<bool>,
    /// (Visitors) the embedding site's page the visitor is on, as the site
    /// told the messenger (none when it keeps it to itself).
    page: StoredValue<Option<crate::protocol::PageVisit>>,
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
    /// The language of what this page says about its messages (the
    /// visitor's; English for the team).
    pub words: crate::i18n::Locale,
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
            search_results: RwSignal::new(None),
            search_sent: StoredValue::new(0),
            searching: StoredValue::new(None),
            jump_to: RwSignal::new(None),
            panel_open: RwSignal::new(true),
            muted: RwSignal::new(false),
            threads: RwSignal::new(HashMap::new()),
            outbox: RwSignal::new(Vec::new()),
            staged: RwSignal::new(Vec::new()),
            handles: files::new_handles(),
            notice: RwSignal::new(None),
            online: RwSignal::new(true),
            signed_out: RwSignal::new(false),
            refused: RwSignal::new(None),
            attentive: RwSignal::new(false),
            typing: RwSignal::new(HashMap::new()),
            drafts: RwSignal::new(HashMap::new()),
            team_online: RwSignal::new(false),
            page: StoredValue::new(None),
            prefill: RwSignal::new(None),
            look: RwSignal::new(crate::client::look::initial()),
            typing_sent: StoredValue::new(TypingOut::default()),
            read_sent: StoredValue::new(HashMap::new()),
            watched: StoredValue::new(HashSet::new()),
            sender: StoredValue::new(None),
            send_window: StoredValue::new(outbox::WINDOW),
            words: crate::i18n::Locale::En,
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
        let body = validate_body(body).map_err(|e| self.words.refusal(e.code(), &e.to_string()))?;
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

    /// (Visitors) answers "Did that help?" under one of the assistant's answers.
    pub fn feedback(&self, message_id: MessageId, helpful: bool) {
        self.transmit(ClientFrame::Feedback {
            message_id,
            helpful,
        });
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

    pub(crate) fn is_agent(&self) -> bool {
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

    /// (Visitors) the embedding site's page changed: the team sees it.
    pub fn set_page(&self, page: Option<crate::protocol::PageVisit>) {
        // What the server would refuse is not sent (a very long address
        // loses its query).
        let page = page.and_then(crate::protocol::PageVisit::fitted);
        if self.page.get_value() != page {
            self.page.set_value(page);
            self.report_visit();
        }
    }

    /// (Visitors) tells the server where the visitor is: the browser's time
    /// zone and the page (sent again on each connect).
    fn report_visit(&self) {
        let page = self.page.get_value();
        // A messenger inside the site's own page reads it at each connect.
        #[cfg(feature = "hydrate")]
        let page = page.or_else(|| {
            crate::client::embed::this_page().and_then(crate::protocol::PageVisit::fitted)
        });
        self.transmit(ClientFrame::Visit {
            time_zone: crate::client::time::time_zone(),
            page,
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
