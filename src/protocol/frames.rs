//! The frames themselves: what the browser sends (`ClientFrame`) and what
//! the server sends (`ServerFrame`), tagged by `type`.

use serde::{Deserialize, Serialize};

use super::*;

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
        /// Ids of files this sender uploaded (`POST /files`) that the
        /// message carries; the body may then be empty.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<String>,
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
    /// (Visitors) where the visitor is: their browser's IANA time zone and
    /// the embedding site's page they are on (left out when the site keeps
    /// it to itself). Sent on each connect and when the page changes; the
    /// team sees it beside the conversation.
    Visit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_zone: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<PageVisit>,
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
    /// row whose sort key (`InboxSort::key`) and id that is. With `label`,
    /// only the list's conversations that carry it.
    MoreConversations {
        #[serde(default)]
        view: InboxView,
        #[serde(default)]
        sort: InboxSort,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<(i64, i64)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<LabelId>,
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
    /// (Agents) puts a label on a conversation (`on: true`) or takes it off.
    Label {
        conversation_id: ConversationId,
        label_id: LabelId,
        on: bool,
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
    /// (Visitors) "Did that help?" under an answer of the assistant:
    /// `true` resolves the conversation, `false` asks the team to answer.
    Feedback {
        message_id: MessageId,
        helpful: bool,
    },
    /// (Agents) switches the assistant on or off for one conversation.
    Assistant {
        conversation_id: ConversationId,
        on: bool,
    },
    /// (Agents) watch a conversation and receive the messages around one
    /// of its messages (a search result) as `history`, with the newest
    /// page and the `gap` between the two when they do not meet.
    Jump {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// (Agents) searches every conversation; answered with
    /// `search_results` carrying the same `search_id` (a newer search's
    /// answer replaces an older one's).
    Search { search_id: u32, query: SearchQuery },
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
        /// (Agents) the labels admins created, by name.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        labels: Vec<Label>,
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
        /// The label they were filtered by, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<LabelId>,
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
        /// (`jump`) messages exist between these two ids, which this page
        /// leaves out: the page holds the messages around the one jumped to
        /// and the newest ones. `older` with `before` the second id fills it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gap: Option<(MessageId, MessageId)>,
        /// (`jump`) the message this page is around.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        around: Option<MessageId>,
        /// (`older`) the `before` this page answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<MessageId>,
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
    /// The assistant's answer as written so far (the whole text each time,
    /// at most about ten a second): shown in place of its typing dots until
    /// the stored `message` replaces it. A draft that stops without a
    /// message (a reconnect, the answer dropped) is simply forgotten.
    Draft {
        conversation_id: ConversationId,
        text: String,
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
    /// (To agents) the labels changed (an admin created or deleted one):
    /// all of them now, by name.
    Labels { labels: Vec<Label> },
    /// (Agents) These conversations were erased, with everything in them
    /// (a person asked to be forgotten, or the retention period passed):
    /// drop them.
    Erased {
        conversation_ids: Vec<ConversationId>,
    },
    /// The conversations that answer a `search`, best or newest first.
    SearchResults {
        search_id: u32,
        hits: Vec<SearchHit>,
    },
    /// Answer to `ping`.
    Pong,
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
            Self::Draft { .. } => "draft",
            Self::Cursor { .. } => "cursor",
            Self::Presence { .. } => "presence",
            Self::TeamPresence { .. } => "team_presence",
            Self::Look { .. } => "look",
            Self::Counts { .. } => "counts",
            Self::Labels { .. } => "labels",
            Self::Erased { .. } => "erased",
            Self::SearchResults { .. } => "search_results",
            Self::Pong => "pong",
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
            Self::Visit { .. } => "visit",
            Self::Typing { .. } => "typing",
            Self::Read { .. } => "read",
            Self::Delivered { .. } => "delivered",
            Self::Older { .. } => "older",
            Self::MoreConversations { .. } => "more_conversations",
            Self::React { .. } => "react",
            Self::Edit { .. } => "edit",
            Self::Delete { .. } => "delete",
            Self::Handoff { .. } => "handoff",
            Self::Feedback { .. } => "feedback",
            Self::Assistant { .. } => "assistant",
            Self::SetStatus { .. } => "set_status",
            Self::Assign { .. } => "assign",
            Self::Label { .. } => "label",
            Self::Rate { .. } => "rate",
            Self::Jump { .. } => "jump",
            Self::Search { .. } => "search",
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
        "visit",
        "typing",
        "read",
        "delivered",
        "older",
        "more_conversations",
        "react",
        "edit",
        "delete",
        "handoff",
        "feedback",
        "assistant",
        "set_status",
        "assign",
        "label",
        "rate",
        "jump",
        "search",
        "ping",
    ];
}
