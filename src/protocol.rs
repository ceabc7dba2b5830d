//! The wire: every frame the browser and the server exchange over `/ws`.
//!
//! This is the only place wire types are defined; the server's socket handler and
//! the browser runtime both use these enums. Frames are JSON objects tagged by
//! `type`. `docs/protocol.md` documents each one with an example — it is a public
//! API, so renaming a field here is a breaking change.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest message body accepted, in characters (Unicode scalar values).
pub const MAX_BODY_CHARS: usize = 4_000;

/// Largest frame the server reads; a bigger one closes the socket with code 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Longest visitor name or email accepted in a `profile` frame.
pub const MAX_PROFILE_CHARS: usize = 120;

/// A typing state not refreshed for this long is over.
pub const TYPING_EXPIRES_MS: u64 = 6_000;

/// Typing starts a socket may send per second (bursts of twice that); stops
/// are not counted. Browsers pace their starts to it (`client::typing`).
pub const TYPING_STARTS_PER_SECOND: u32 = 1;

/// How many messages `open` returns at most (the newest ones).
pub const HISTORY_PAGE: i64 = 50;

/// Most bytes of messages one `history` or `changes` frame carries: a page of
/// long bodies full of characters JSON escapes six-fold stays small.
pub const PAGE_BYTES: usize = 256 * 1024;

/// Most different reactions one message can carry.
pub const MAX_REACTIONS_PER_MESSAGE: usize = 20;

/// Most different reactions one person can give one message.
pub const MAX_REACTIONS_PER_PERSON: usize = 3;

/// A number in a conversation's change sequence. Every new message, edit,
/// delete, reaction and receipt takes the conversation's next number, in
/// commit order; `resume` replays every change after a client's last one.
pub type Seq = i64;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A conversation between one contact and the team.
    ConversationId
);
id_type!(
    /// A stored message; assigned by the server, strictly increasing.
    MessageId
);
id_type!(
    /// A website visitor (contact).
    ContactId
);
id_type!(
    /// A team member who answers in the inbox.
    AgentId
);

/// The sender's own id for a message, chosen before sending. Resending with the
/// same `ClientId` never stores the message twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub Uuid);

impl ClientId {
    /// A fresh random id for a new message.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for ClientId {
    fn default() -> Self {
        Self::new()
    }
}

/// Milliseconds since the Unix epoch, UTC.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderKind {
    /// The website visitor.
    Contact,
    /// A team member.
    Agent,
    /// The AI assistant.
    Ai,
    /// Minicom itself (notices such as "conversation resolved").
    System,
}

impl SenderKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Agent => "agent",
            Self::Ai => "ai",
            Self::System => "system",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "contact" => Self::Contact,
            "agent" => Self::Agent,
            "ai" => Self::Ai,
            "system" => Self::System,
            _ => return None,
        })
    }
}

/// Where a conversation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting for, or in, an exchange.
    Open,
    /// Set aside until later.
    Snoozed,
    /// Done.
    Resolved,
}

impl ConversationStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Snoozed => "snoozed",
            Self::Resolved => "resolved",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "snoozed" => Self::Snoozed,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }
}

/// A stored message as both sides see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub client_id: ClientId,
    pub sender: SenderKind,
    /// Display name of the sender ("Ana", "Visitor #12").
    pub sender_name: String,
    /// Empty once the message is deleted.
    pub body: String,
    pub created_at: Timestamp,
    /// Set when the author changed the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// The author deleted it: shown as "This message was deleted".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Reactions, in the order they were first given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// The change number of this state of the message (its insert, or its
    /// latest edit, delete or reaction): a copy with a lower one is older.
    #[serde(default)]
    pub seq: Seq,
    /// Seen by the team only: a private note, or a line about the
    /// conversation's state ("Ana resolved this"). Never sent to a visitor.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
}

/// One emoji under a message and everyone who gave it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub people: Vec<Person>,
}

/// The quick reactions the messenger and the inbox offer.
pub const QUICK_REACTIONS: [&str; 6] = ["👍", "❤️", "😂", "😮", "😢", "🎉"];

/// Longest reaction accepted, in bytes (one emoji grapheme, with modifiers).
pub const MAX_REACTION_BYTES: usize = 32;

/// One row of the inbox list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: ConversationId,
    pub contact_id: ContactId,
    /// The contact's name, or "Visitor #id" when they gave none.
    pub contact_name: String,
    pub contact_email: Option<String>,
    pub status: ConversationStatus,
    pub last_message_at: Timestamp,
    /// The start of the newest message, for the preview line.
    pub last_message_preview: String,
    pub last_sender: Option<SenderKind>,
    /// The newest message's id (0 before the first message).
    #[serde(default)]
    pub last_message_id: MessageId,
    /// Messages from the other side after the reader's cursor, for the person
    /// this row was sent to. Live `conversation` events carry 0: clients keep
    /// their own count from `message` and `read` frames.
    #[serde(default)]
    pub unread: u32,
    /// The visitor has read up to here (for the team's "Seen").
    #[serde(default)]
    pub contact_read_id: MessageId,
    /// Some agent has read up to here (for the visitor's "Seen").
    #[serde(default)]
    pub team_read_id: MessageId,
    /// Up to here reached an agent's inbox (for the visitor's ✓✓).
    #[serde(default)]
    pub team_delivered_id: MessageId,
    /// The visitor has the site open in some tab.
    #[serde(default)]
    pub contact_online: bool,
    /// When the visitor was last around.
    #[serde(default)]
    pub contact_last_seen_at: Timestamp,
    /// Whether the AI assistant or the team answers.
    #[serde(default)]
    pub assistant: AssistantState,
    /// The conversation's latest change number when this row was read: the
    /// row's version. A row with a lower one is older and never replaces
    /// a newer one.
    #[serde(default)]
    pub seq: Seq,
    /// The teammate who owns the conversation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Person>,
    /// (Snoozed) when it wakes up by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<Timestamp>,
    /// Since when the visitor has been waiting for an answer (their oldest
    /// message no one has answered yet); `None` when nobody is waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<Timestamp>,
    /// How the visitor rated the conversation once resolved (1 awful … 5
    /// great).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
}

/// The five faces of a rating, from 1 (awful) to 5 (great).
pub const RATINGS: [&str; 5] = ["Awful", "Bad", "OK", "Good", "Great"];

/// Longest comment a visitor may add to a rating, in characters.
pub const MAX_RATING_COMMENT_CHARS: usize = 1_000;

/// The name of a rating ("Good"), if it is one.
pub fn rating_name(score: u8) -> Option<&'static str> {
    RATINGS.get(usize::from(score).checked_sub(1)?).copied()
}

impl ConversationSummary {
    /// The row as its visitor sees it: who owns it, when it wakes and how
    /// long they have waited are the team's business (a snoozed
    /// conversation is simply open to them).
    pub fn for_visitor(mut self) -> Self {
        self.assignee = None;
        self.snoozed_until = None;
        self.waiting_since = None;
        if self.status == ConversationStatus::Snoozed {
            self.status = ConversationStatus::Open;
        }
        self
    }
}

/// The inbox's lists (agents).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxView {
    /// Open conversations assigned to you.
    Mine,
    /// Open conversations nobody owns.
    Unassigned,
    /// Every open conversation.
    #[default]
    Open,
    /// Conversations set aside until later.
    Snoozed,
    /// Conversations that are done.
    Resolved,
}

impl InboxView {
    /// Every view, in the order the inbox shows them.
    pub const ALL: [InboxView; 5] = [
        Self::Mine,
        Self::Unassigned,
        Self::Open,
        Self::Snoozed,
        Self::Resolved,
    ];

    /// The view's name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mine => "Mine",
            Self::Unassigned => "Unassigned",
            Self::Open => "All open",
            Self::Snoozed => "Snoozed",
            Self::Resolved => "Resolved",
        }
    }

    /// Whether a row belongs in this view, for `me`.
    pub fn holds(self, row: &ConversationSummary, me: AgentId) -> bool {
        let open = row.status == ConversationStatus::Open;
        match self {
            Self::Mine => open && row.assignee.as_ref().is_some_and(|a| a.id == me.0),
            Self::Unassigned => open && row.assignee.is_none(),
            Self::Open => open,
            Self::Snoozed => row.status == ConversationStatus::Snoozed,
            Self::Resolved => row.status == ConversationStatus::Resolved,
        }
    }
}

/// The order of an inbox list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxSort {
    /// Newest activity first.
    #[default]
    Newest,
    /// The visitor who has waited longest first; nobody waiting last.
    Waiting,
}

impl InboxSort {
    /// A row's place in this order, ascending: rows compare by `(key, id)`.
    /// Also the keyset cursor `more_conversations` continues after.
    pub fn key(self, row: &ConversationSummary) -> (i64, i64) {
        match self {
            Self::Newest => (-row.last_message_at.0, -row.id.0),
            Self::Waiting => (row.waiting_since.map_or(i64::MAX, |t| t.0), row.id.0),
        }
    }
}

/// How many conversations each inbox list holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxCounts {
    pub open: u32,
    pub unassigned: u32,
    pub snoozed: u32,
    pub resolved: u32,
    /// Open conversations per teammate who owns any.
    pub assigned: Vec<AssignedCount>,
}

/// Open conversations one teammate owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedCount {
    pub agent_id: AgentId,
    pub open: u32,
}

impl InboxCounts {
    /// How many conversations a view holds, for `me`.
    pub fn of(&self, view: InboxView, me: AgentId) -> u32 {
        match view {
            InboxView::Mine => self
                .assigned
                .iter()
                .find(|a| a.agent_id == me)
                .map_or(0, |a| a.open),
            InboxView::Unassigned => self.unassigned,
            InboxView::Open => self.open,
            InboxView::Snoozed => self.snoozed,
            InboxView::Resolved => self.resolved,
        }
    }
}

/// Longest a conversation may be snoozed.
pub const MAX_SNOOZE_MS: i64 = 366 * 24 * 3_600_000;

/// Who answers a conversation: the AI assistant or the team.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistantState {
    /// The assistant is not involved.
    #[default]
    Off,
    /// The assistant answers until a person takes over.
    Answering,
    /// Handed to the team (the visitor asked for a person, or the assistant
    /// could not answer); waiting for an agent.
    Waiting,
    /// An agent took over from the assistant.
    Human,
}

impl AssistantState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Answering => "answering",
            Self::Waiting => "waiting",
            Self::Human => "human",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "off" => Self::Off,
            "answering" => Self::Answering,
            "waiting" => Self::Waiting,
            "human" => Self::Human,
            _ => return None,
        })
    }
}

/// Someone taking part in a conversation, as others see them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    pub kind: SenderKind,
    /// The contact's or agent's id (unique within its kind).
    pub id: i64,
    /// Display name ("Ana", "Visitor #12").
    pub name: String,
}

/// How far a cursor moved: read receipts and delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CursorKind {
    /// The reader saw messages up to `up_to`.
    Read,
    /// Messages up to `up_to` reached the team's inbox.
    Delivered,
}

/// Who is on the other end of a socket, as the server established it from the
/// session cookie.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Me {
    /// A website visitor.
    Contact {
        id: ContactId,
        name: Option<String>,
        email: Option<String>,
    },
    /// A signed-in team member.
    Agent { id: AgentId, name: String },
}

/// Frames the browser sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Post a message. A visitor may leave `conversation_id` out (or null) to start
    /// a new conversation; agents must name one.
    Send {
        #[serde(default)]
        conversation_id: Option<ConversationId>,
        client_id: ClientId,
        body: String,
        /// (Visitors, without `conversation_id`) start a new conversation
        /// even if one is open.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        new_conversation: bool,
        /// (Agents) a private note: the team sees it, the visitor never does.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        note: bool,
    },
    /// Watch a conversation and receive its newest messages as `history`.
    Open { conversation_id: ConversationId },
    /// Watch a conversation and receive every change after change number
    /// `since` (new messages, edits, deletes, reactions, receipts) as its
    /// current inbox row and then `changes` pages (used after a reconnect:
    /// nothing missed).
    Resume {
        conversation_id: ConversationId,
        since: Seq,
    },
    /// A visitor gives their name and/or email (labels only; they unlock nothing).
    Profile {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        email: Option<String>,
    },
    /// The person is typing in a conversation (`typing: true`, at most every
    /// 2 s while they type) or stopped (`false`: sent, cleared, left). The
    /// server forgets a typing state 6 s after its last refresh by itself.
    Typing {
        conversation_id: ConversationId,
        typing: bool,
    },
    /// The person has seen every message up to `up_to` (the newest one shown
    /// while the conversation is visible and the tab focused). Cursors only
    /// move forward.
    Read {
        conversation_id: ConversationId,
        up_to: MessageId,
    },
    /// (Agents) messages up to `up_to` reached this inbox: the visitor's ✓✓.
    Delivered {
        conversation_id: ConversationId,
        up_to: MessageId,
    },
    /// Older messages of a conversation: the page before `before` (history
    /// paging), answered with `history`.
    Older {
        conversation_id: ConversationId,
        before: MessageId,
    },
    /// Inbox rows (agents) of one list in one order, answered with
    /// `conversations`: the first page, or with `after` the page after the
    /// row whose sort key (`InboxSort::key`) and id that is.
    MoreConversations {
        #[serde(default)]
        view: InboxView,
        #[serde(default)]
        sort: InboxSort,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<(i64, i64)>,
    },
    /// (Agents) resolves, reopens or snoozes a conversation. `until` is
    /// required for `snoozed` (in the future, within a year); `time_zone`
    /// (IANA, the agent's) is how the thread's line shows that time.
    SetStatus {
        conversation_id: ConversationId,
        status: ConversationStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_zone: Option<String>,
    },
    /// (Visitors) rates a resolved conversation, 1 (awful) to 5 (great),
    /// with an optional comment; rating again replaces it.
    Rate {
        conversation_id: ConversationId,
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// (Agents) gives a conversation to a teammate (`agent_id`), or to
    /// nobody (`null`).
    Assign {
        conversation_id: ConversationId,
        #[serde(default)]
        agent_id: Option<AgentId>,
    },
    /// Adds your reaction to a message, or removes it if you had given it.
    React {
        message_id: MessageId,
        emoji: String,
    },
    /// Changes the text of your own message (within the edit window).
    Edit { message_id: MessageId, body: String },
    /// Deletes your own message; it stays in place as "deleted".
    Delete { message_id: MessageId },
    /// (Visitors) "Talk to a person": the assistant stops and the team is
    /// asked to answer.
    Handoff { conversation_id: ConversationId },
    /// (Agents) switches the assistant on or off for one conversation.
    Assistant {
        conversation_id: ConversationId,
        on: bool,
    },
    /// Keep-alive; answered with `pong`.
    Ping,
}

/// Frames the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every socket: who you are and the conversations you can see
    /// (a visitor's own; for an agent, the inbox, newest activity first).
    Hello {
        me: Me,
        /// The first page (see `more_conversations`).
        conversations: Vec<ConversationSummary>,
        /// (Agents) more inbox rows exist after these.
        #[serde(default)]
        more_conversations: bool,
        /// Some teammate has the inbox open (what visitors see in the header).
        #[serde(default)]
        team_online: bool,
        /// (Visitors) the messenger's look now: a page that was away while it
        /// changed (asleep, reconnecting) catches up here.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        look: Option<crate::settings::MessengerLook>,
        /// (Agents) how many conversations each inbox list holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counts: Option<InboxCounts>,
        /// (Agents) the active teammates, to assign conversations to.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        team: Vec<Person>,
    },
    /// Your `send` was stored (sent only after the commit).
    Ack {
        client_id: ClientId,
        message: Message,
    },
    /// A new message in a conversation you can see.
    Message { message: Message },
    /// A message you already have changed (edited, deleted, reactions):
    /// replace it, by id.
    Changed { message: Message },
    /// A page of inbox rows, in answer to `more_conversations`.
    Conversations {
        conversations: Vec<ConversationSummary>,
        /// More rows exist after these.
        has_more: bool,
        /// The list and order these rows are a page of.
        #[serde(default)]
        view: InboxView,
        #[serde(default)]
        sort: InboxSort,
    },
    /// Messages of one conversation, oldest first, in answer to `open` or
    /// `older`.
    History {
        conversation_id: ConversationId,
        messages: Vec<Message>,
        /// True when older messages exist before the first one here.
        has_more: bool,
        /// (`open`) the conversation's change number as of this page: resume
        /// from here. 0 on `older` pages.
        #[serde(default)]
        seq: Seq,
    },
    /// In answer to `resume`: every message that changed after `since`, in
    /// change order, as it now stands (replace by id). Pages follow each
    /// other until one says `done`.
    Changes {
        conversation_id: ConversationId,
        messages: Vec<Message>,
        /// Every change up to this number has now reached you.
        seq: Seq,
        /// The last page of this answer.
        done: bool,
    },
    /// Someone added (`added: true`) or took back a reaction: only the change.
    Reaction {
        conversation_id: ConversationId,
        message_id: MessageId,
        emoji: String,
        person: Person,
        added: bool,
        seq: Seq,
    },
    /// A conversation's inbox row changed (new message, new contact name, status).
    Conversation { conversation: ConversationSummary },
    /// Something you sent was refused; nothing was stored.
    Error {
        code: ErrorCode,
        message: String,
        /// The `client_id` of the refused `send`, when there was one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientId>,
        /// For `rate_limited`: retrying sooner than this is refused too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// Someone else started or stopped typing. A `true` that is not refreshed
    /// expires after `TYPING_EXPIRES_MS`; the server also sends `false` then.
    Typing {
        conversation_id: ConversationId,
        person: Person,
        typing: bool,
    },
    /// A cursor moved: `person` has read (or, for `delivered`, the team has
    /// received) every message up to `up_to`. Sent to both sides, including
    /// the reader's other tabs (to clear their unread counts).
    Cursor {
        conversation_id: ConversationId,
        kind: CursorKind,
        person: Person,
        up_to: MessageId,
        /// This receipt's change number.
        #[serde(default)]
        seq: Seq,
    },
    /// (To agents) a visitor came online or went offline.
    Presence {
        contact_id: ContactId,
        online: bool,
        last_seen_at: Timestamp,
    },
    /// (To visitors) whether any teammate has the inbox open.
    TeamPresence { online: bool },
    /// (To visitors) how the messenger looks and what it says changed (an
    /// admin saved the settings, or the office opened or closed).
    Look {
        look: crate::settings::MessengerLook,
    },
    /// (To agents) how many conversations each inbox list holds now.
    Counts { counts: InboxCounts },
    /// Answer to `ping`.
    Pong,
}

/// Stable error codes; clients may match on them. The sentence that goes with a
/// code is for people and may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON.
    InvalidJson,
    /// The `type` is not one this server knows.
    UnknownType,
    /// A field is missing or has the wrong type.
    InvalidFrame,
    /// The message body is empty or only whitespace.
    EmptyBody,
    /// The message body is longer than `MAX_BODY_CHARS`.
    BodyTooLong,
    /// A profile field is too long or malformed.
    InvalidProfile,
    /// The conversation does not exist or you may not see it.
    Forbidden,
    /// An agent must name the conversation to send to.
    ConversationRequired,
    /// Binary frames are not part of the protocol.
    UnsupportedFrame,
    /// Only a teammate (an agent socket) may do that.
    AgentsOnly,
    /// The reaction is not a single emoji.
    InvalidReaction,
    /// That message is someone else's.
    NotYours,
    /// The edit window for that message has closed.
    EditWindowClosed,
    /// That message was deleted.
    MessageDeleted,
    /// The message already carries as many reactions as allowed.
    TooManyReactions,
    /// The server's disk is full: nothing was stored; retry later.
    StorageFull,
    /// Too many frames too fast; see `retry_after_ms`.
    RateLimited,
    /// This server runs no AI assistant.
    AssistantOff,
    /// A snooze needs a time in the future, within a year.
    InvalidSnooze,
    /// No active teammate has that id.
    UnknownAgent,
    /// The visitor started as many conversations as an hour allows.
    TooManyConversations,
    /// A rating is 1 to 5, of a resolved conversation, with a short comment.
    InvalidRating,
    /// The server failed; the frame may be retried with the same `client_id`.
    Internal,
}

/// Why a frame was refused, with the code and the sentence sent back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("That frame is not valid JSON: {0}. Send one JSON object per frame.")]
    InvalidJson(String),
    #[error("Unknown frame type \"{0}\". See docs/protocol.md for the frames this server accepts.")]
    UnknownType(String),
    #[error("That frame is malformed: {0}.")]
    InvalidFrame(String),
    #[error("The message is empty. Write something before sending.")]
    EmptyBody,
    #[error(
        "The message is {0} characters long; the limit is {MAX_BODY_CHARS}. Split it into shorter messages."
    )]
    BodyTooLong(usize),
    #[error("{0}")]
    InvalidProfile(String),
    #[error("You cannot see that conversation.")]
    Forbidden,
    #[error("Agents must say which conversation a message is for (conversation_id).")]
    ConversationRequired,
    #[error("Binary frames are not supported; send JSON text frames.")]
    UnsupportedFrame,
    #[error("Only teammates signed in to the inbox may send \"{0}\".")]
    AgentsOnly(&'static str),
    #[error("A reaction must be one emoji (at most {MAX_REACTION_BYTES} bytes).")]
    InvalidReaction,
    #[error("You can only change your own messages.")]
    NotYours,
    #[error("Messages can be edited for {0} minutes after sending; this one is older.")]
    EditWindowClosed(i64),
    #[error("That message was deleted.")]
    MessageDeleted,
    #[error(
        "That message has all the reactions it can take ({MAX_REACTIONS_PER_MESSAGE} different ones, {MAX_REACTIONS_PER_PERSON} per person). Take one of yours back first."
    )]
    TooManyReactions,
    #[error(
        "The server has run out of disk space, so this was not saved. It is kept here; retry in a little while."
    )]
    StorageFull,
    #[error("You're sending too fast. Wait {} s, then try again.", .0.div_ceil(1000).max(1))]
    RateLimited(u64),
    #[error("This server runs no AI assistant (MINICOM_ASSISTANT=off).")]
    AssistantOff,
    #[error("Pick a time to snooze until: in the future, and within a year.")]
    InvalidSnooze,
    #[error("No active teammate has that id: pick someone from the team list.")]
    UnknownAgent,
    #[error(
        "You have started {0} conversations in the last hour, the most allowed. Continue one of them, or try again later."
    )]
    TooManyConversations(u32),
    #[error(
        "A rating is 1 to 5, given once the conversation is resolved, with a comment of at most {MAX_RATING_COMMENT_CHARS} characters."
    )]
    InvalidRating,
    #[error("The server could not handle that just now; please retry.")]
    Internal,
}

impl ServerFrame {
    /// The frame's `type`, as on the wire (for metrics and logs).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "hello",
            Self::Ack { .. } => "ack",
            Self::Message { .. } => "message",
            Self::Changed { .. } => "changed",
            Self::Conversations { .. } => "conversations",
            Self::History { .. } => "history",
            Self::Changes { .. } => "changes",
            Self::Reaction { .. } => "reaction",
            Self::Conversation { .. } => "conversation",
            Self::Error { .. } => "error",
            Self::Typing { .. } => "typing",
            Self::Cursor { .. } => "cursor",
            Self::Presence { .. } => "presence",
            Self::TeamPresence { .. } => "team_presence",
            Self::Look { .. } => "look",
            Self::Counts { .. } => "counts",
            Self::Pong => "pong",
        }
    }
}

impl ProtocolError {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidJson(_) => ErrorCode::InvalidJson,
            Self::UnknownType(_) => ErrorCode::UnknownType,
            Self::InvalidFrame(_) => ErrorCode::InvalidFrame,
            Self::EmptyBody => ErrorCode::EmptyBody,
            Self::BodyTooLong(_) => ErrorCode::BodyTooLong,
            Self::InvalidProfile(_) => ErrorCode::InvalidProfile,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::ConversationRequired => ErrorCode::ConversationRequired,
            Self::UnsupportedFrame => ErrorCode::UnsupportedFrame,
            Self::AgentsOnly(_) => ErrorCode::AgentsOnly,
            Self::InvalidReaction => ErrorCode::InvalidReaction,
            Self::NotYours => ErrorCode::NotYours,
            Self::EditWindowClosed(_) => ErrorCode::EditWindowClosed,
            Self::MessageDeleted => ErrorCode::MessageDeleted,
            Self::TooManyReactions => ErrorCode::TooManyReactions,
            Self::StorageFull => ErrorCode::StorageFull,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::AssistantOff => ErrorCode::AssistantOff,
            Self::InvalidSnooze => ErrorCode::InvalidSnooze,
            Self::UnknownAgent => ErrorCode::UnknownAgent,
            Self::TooManyConversations(_) => ErrorCode::TooManyConversations,
            Self::InvalidRating => ErrorCode::InvalidRating,
            Self::Internal => ErrorCode::Internal,
        }
    }

    /// The `error` frame that reports this error.
    pub fn to_frame(&self, client_id: Option<ClientId>) -> ServerFrame {
        ServerFrame::Error {
            code: self.code(),
            message: self.to_string(),
            client_id,
            retry_after_ms: match self {
                Self::RateLimited(ms) => Some(*ms),
                _ => None,
            },
        }
    }
}

impl ClientFrame {
    /// The frame's `type`, as on the wire (for metrics and logs).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Send { .. } => "send",
            Self::Open { .. } => "open",
            Self::Resume { .. } => "resume",
            Self::Profile { .. } => "profile",
            Self::Typing { .. } => "typing",
            Self::Read { .. } => "read",
            Self::Delivered { .. } => "delivered",
            Self::Older { .. } => "older",
            Self::MoreConversations { .. } => "more_conversations",
            Self::React { .. } => "react",
            Self::Edit { .. } => "edit",
            Self::Delete { .. } => "delete",
            Self::Handoff { .. } => "handoff",
            Self::Assistant { .. } => "assistant",
            Self::SetStatus { .. } => "set_status",
            Self::Assign { .. } => "assign",
            Self::Rate { .. } => "rate",
            Self::Ping => "ping",
        }
    }

    /// Decodes one text frame, telling apart bad JSON, an unknown `type` and a
    /// frame of a known type with missing or wrong fields.
    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ProtocolError::InvalidJson(e.to_string()))?;
        let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
            return Err(ProtocolError::InvalidFrame(
                "every frame needs a string field \"type\"".into(),
            ));
        };
        if !Self::KNOWN_TYPES.contains(&kind) {
            let mut shown: String = kind.chars().take(40).collect();
            if shown.len() < kind.len() {
                shown.push('…');
            }
            return Err(ProtocolError::UnknownType(shown));
        }
        serde_json::from_value(value).map_err(|e| ProtocolError::InvalidFrame(e.to_string()))
    }

    /// Every client frame `type` this server accepts.
    pub const KNOWN_TYPES: &'static [&'static str] = &[
        "send",
        "open",
        "resume",
        "profile",
        "typing",
        "read",
        "delivered",
        "older",
        "more_conversations",
        "react",
        "edit",
        "delete",
        "handoff",
        "assistant",
        "set_status",
        "assign",
        "rate",
        "ping",
    ];
}

/// Checks a message body and returns it trimmed of surrounding whitespace.
pub fn validate_body(body: &str) -> Result<&str, ProtocolError> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return Err(ProtocolError::EmptyBody);
    }
    let chars = trimmed.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(ProtocolError::BodyTooLong(chars));
    }
    Ok(trimmed)
}

/// Checks a reaction: exactly one grapheme of at most `MAX_REACTION_BYTES`
/// bytes that is an emoji (not a letter, digit, space or invisible character).
pub fn validate_reaction(emoji: &str) -> Result<&str, ProtocolError> {
    use unicode_segmentation::UnicodeSegmentation;
    let mut graphemes = emoji.graphemes(true);
    let (Some(only), None) = (graphemes.next(), graphemes.next()) else {
        return Err(ProtocolError::InvalidReaction);
    };
    let keycap = only.ends_with('\u{20E3}');
    let emoji = keycap || only.chars().next().is_some_and(starts_emoji);
    if only.len() > MAX_REACTION_BYTES || !emoji {
        return Err(ProtocolError::InvalidReaction);
    }
    Ok(only)
}

/// Whether a character can begin an emoji (the Unicode blocks emoji live in;
/// letters, digits, spaces, and invisible format characters cannot).
fn starts_emoji(c: char) -> bool {
    matches!(c,
        '\u{1F000}'..='\u{1FAFF}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2300}'..='\u{23FF}'
        | '\u{2B00}'..='\u{2BFF}'
        | '\u{2190}'..='\u{21FF}'
        | '\u{2100}'..='\u{214F}'
        | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}')
}

/// Checks a name or email a person typed: trimmed, empty means none, one
/// line of at most `MAX_PROFILE_CHARS` characters.
pub fn clean_profile_field(
    field: &str,
    value: Option<String>,
) -> Result<Option<String>, ProtocolError> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > MAX_PROFILE_CHARS || value.chars().any(char::is_control) {
        return Err(ProtocolError::InvalidProfile(format!(
            "The {field} must be one line of at most {MAX_PROFILE_CHARS} characters."
        )));
    }
    Ok(Some(value.to_owned()))
}

/// Whether the text has the shape of an email address (name@example.com).
pub fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// A display name for a contact who gave none.
pub fn visitor_label(id: ContactId) -> String {
    format!("Visitor #{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_frame_round_trips_with_snake_case_tag() {
        let frame = ClientFrame::Send {
            conversation_id: Some(ConversationId(7)),
            client_id: ClientId(Uuid::nil()),
            body: "Hello".into(),
            new_conversation: false,
            note: false,
        };
        let json = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            json,
            r#"{"type":"send","conversation_id":7,"client_id":"00000000-0000-0000-0000-000000000000","body":"Hello"}"#
        );
        assert_eq!(ClientFrame::decode(&json).unwrap(), frame);
    }

    #[test]
    fn frame_kinds_are_the_wire_types() {
        let tag = |value: serde_json::Value| value["type"].as_str().unwrap().to_owned();
        let client = [
            ClientFrame::Ping,
            ClientFrame::Open {
                conversation_id: ConversationId(1),
            },
            ClientFrame::MoreConversations {
                view: InboxView::Mine,
                sort: InboxSort::Waiting,
                after: Some((1, 1)),
            },
            ClientFrame::SetStatus {
                conversation_id: ConversationId(1),
                status: ConversationStatus::Snoozed,
                until: Some(Timestamp(1)),
                time_zone: None,
            },
        ];
        for frame in client {
            assert_eq!(frame.kind(), tag(serde_json::to_value(&frame).unwrap()));
        }
        let server = [
            ServerFrame::Pong,
            ServerFrame::TeamPresence { online: true },
            ProtocolError::EmptyBody.to_frame(None),
        ];
        for frame in server {
            assert_eq!(frame.kind(), tag(serde_json::to_value(&frame).unwrap()));
        }
    }

    #[test]
    fn visitor_send_may_omit_the_conversation() {
        let frame = ClientFrame::decode(
            r#"{"type":"send","client_id":"00000000-0000-0000-0000-000000000001","body":"hi"}"#,
        )
        .unwrap();
        assert!(matches!(
            frame,
            ClientFrame::Send {
                conversation_id: None,
                ..
            }
        ));
    }

    #[test]
    fn decode_tells_bad_json_from_unknown_type_from_missing_fields() {
        assert_eq!(
            ClientFrame::decode("{nope").unwrap_err().code(),
            ErrorCode::InvalidJson
        );
        assert_eq!(
            ClientFrame::decode(r#"{"type":"dance"}"#)
                .unwrap_err()
                .code(),
            ErrorCode::UnknownType
        );
        assert_eq!(
            ClientFrame::decode(r#"{"type":"send","body":"x"}"#)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidFrame
        );
        assert_eq!(
            ClientFrame::decode(r#"[1,2]"#).unwrap_err().code(),
            ErrorCode::InvalidFrame
        );
    }

    #[test]
    fn unknown_type_in_error_is_shortened() {
        let long = "x".repeat(10_000);
        let err = ClientFrame::decode(&format!(r#"{{"type":"{long}"}}"#)).unwrap_err();
        assert!(err.to_string().len() < 200);
    }

    #[test]
    fn server_frames_serialise_with_their_type() {
        let pong = serde_json::to_string(&ServerFrame::Pong).unwrap();
        assert_eq!(pong, r#"{"type":"pong"}"#);
        let err = serde_json::to_value(ProtocolError::EmptyBody.to_frame(None)).unwrap();
        assert_eq!(err["type"], "error");
        assert_eq!(err["code"], "empty_body");
        assert!(err.get("client_id").is_none());
    }

    #[test]
    fn a_reaction_is_one_emoji() {
        for ok in QUICK_REACTIONS {
            assert_eq!(validate_reaction(ok).unwrap(), ok);
        }
        // A family emoji is several code points but one grapheme.
        assert!(validate_reaction("👨‍👩‍👧").is_ok());
        assert!(validate_reaction("👍🏽").is_ok());
        assert!(validate_reaction("1️⃣").is_ok(), "a keycap");
        assert!(validate_reaction("🇳🇴").is_ok(), "a flag");
        for bad in ["", "a", "👍👍", "ab", " ", "1", "é", "\u{7}", "👍 "] {
            assert_eq!(
                validate_reaction(bad).unwrap_err(),
                ProtocolError::InvalidReaction,
                "{bad:?}"
            );
        }
        // One grapheme, but far too long (a base with hundreds of accents).
        let zalgo = format!("😀{}", "\u{301}".repeat(40));
        assert!(validate_reaction(&zalgo).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]

        /// Any text at all: decoding answers, never panics.
        #[test]
        fn decoding_any_text_never_panics(text in "\\PC*") {
            let _ = ClientFrame::decode(&text);
        }

        /// Frames with a known type but hostile fields: a frame or a clear error.
        #[test]
        fn hostile_fields_are_answered(
            kind in proptest::sample::select(ClientFrame::KNOWN_TYPES),
            text in "[\\u{0}-\\u{10FFFF}]{0,64}",
            number in proptest::num::f64::ANY,
            id in proptest::num::i64::ANY,
        ) {
            let frame = serde_json::json!({
                "type": kind,
                "conversation_id": id,
                "message_id": number,
                "client_id": text,
                "body": text,
                "emoji": text,
                "up_to": id,
                "typing": number,
            });
            match ClientFrame::decode(&frame.to_string()) {
                // What decodes means what it says: it encodes back to itself.
                Ok(decoded) => {
                    let again = ClientFrame::decode(&serde_json::to_string(&decoded).unwrap());
                    proptest::prop_assert_eq!(again, Ok(decoded));
                }
                // A known type with bad fields is a malformed frame, never
                // mistaken for bad JSON or an unknown type.
                Err(err) => proptest::prop_assert_eq!(err.code(), ErrorCode::InvalidFrame),
            }
            let _ = validate_body(&text);
            let _ = validate_reaction(&text);
        }
    }

    #[test]
    fn deep_nesting_and_huge_numbers_are_refused_cleanly() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            ClientFrame::decode(&deep).unwrap_err().code(),
            ErrorCode::InvalidJson
        );
        let huge = r#"{"type":"open","conversation_id":1e400}"#;
        assert!(ClientFrame::decode(huge).is_err());
        let big_int = r#"{"type":"open","conversation_id":99999999999999999999999}"#;
        assert_eq!(
            ClientFrame::decode(big_int).unwrap_err().code(),
            ErrorCode::InvalidFrame
        );
        let bidi = "\u{202e}\u{200b}hello\u{2066}";
        assert_eq!(validate_body(bidi).unwrap(), bidi);
        assert!(validate_reaction("\u{200b}").is_err());
    }

    #[test]
    fn body_rules() {
        assert_eq!(validate_body("  hi \n").unwrap(), "hi");
        assert_eq!(
            validate_body(" \n\t ").unwrap_err(),
            ProtocolError::EmptyBody
        );
        assert!(validate_body(&"é".repeat(MAX_BODY_CHARS)).is_ok());
        assert_eq!(
            validate_body(&"a".repeat(MAX_BODY_CHARS + 1)).unwrap_err(),
            ProtocolError::BodyTooLong(MAX_BODY_CHARS + 1)
        );
    }

    #[test]
    fn profile_fields_are_trimmed_and_bounded() {
        assert_eq!(
            clean_profile_field("name", Some("  Ana ".into())).unwrap(),
            Some("Ana".into())
        );
        assert_eq!(
            clean_profile_field("name", Some("   ".into())).unwrap(),
            None
        );
        assert!(clean_profile_field("name", Some("a\nb".into())).is_err());
        assert!(clean_profile_field("name", Some("x".repeat(MAX_PROFILE_CHARS + 1))).is_err());
    }

    #[test]
    fn email_shape() {
        assert!(looks_like_email("ana@example.com"));
        assert!(!looks_like_email("ana"));
        assert!(!looks_like_email("@example.com"));
        assert!(!looks_like_email("a b@example.com"));
    }
}
