//! The wire: every frame the browser and the server exchange over `/ws`.
//!
//! This is the only place wire types are defined; the server's socket handler and
//! the browser runtime both use these enums. Frames are JSON objects tagged by
//! `type`. `docs/protocol.md` documents each one with an example — it is a public
//! API, so renaming a field here is a breaking change.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod api_tokens;
mod attachments;
mod blocks;
mod contact;
mod errors;
mod frames;
mod inbox;
mod search;
mod webhooks;

pub use api_tokens::*;
pub use attachments::*;
pub use blocks::*;
pub use contact::*;
pub use errors::{ErrorCode, ProtocolError};
pub use frames::{ClientFrame, ServerFrame};
pub use inbox::*;
pub use search::*;
pub use webhooks::*;

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
id_type!(
    /// A label admins created ("Billing").
    LabelId
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

    /// The word the team reads ("Open").
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Snoozed => "Snoozed",
            Self::Resolved => "Resolved",
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
    /// Files it carries (gone once the message is deleted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// (The assistant's answers) the help articles it was drawn from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// (The assistant's answers) what the visitor said to "Did that help?".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helpful: Option<bool>,
}

#[cfg(test)]
impl Message {
    /// For unit tests: visitor #1's message `id` in conversation 1, sent at
    /// `id` ms, its change number its id.
    pub(crate) fn sample(id: i64, body: &str) -> Self {
        Self {
            id: MessageId(id),
            conversation_id: ConversationId(1),
            client_id: ClientId::new(),
            sender: SenderKind::Contact,
            sender_name: visitor_label(ContactId(1)),
            body: body.into(),
            created_at: Timestamp(id),
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            seq: id,
            internal: false,
            attachments: Vec::new(),
            sources: Vec::new(),
            helpful: None,
        }
    }
}

/// A help article an answer was drawn from: shown as a link under it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    pub title: String,
    /// `/help/<collection>/<slug>`, on the Minicom server.
    pub url: String,
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
    /// The labels on the conversation (see `hello`'s `labels` for their
    /// names and colours).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelId>,
    /// Teammates mentioned in a note here who have not opened it since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<AgentId>,
}

impl ConversationSummary {
    /// The row as its visitor sees it: who owns it, when it wakes and how
    /// long they have waited are the team's business (a snoozed
    /// conversation is simply open to them).
    pub fn for_visitor(mut self) -> Self {
        self.assignee = None;
        self.labels = Vec::new();
        self.mentions = Vec::new();
        self.snoozed_until = None;
        self.waiting_since = None;
        if self.status == ConversationStatus::Snoozed {
            self.status = ConversationStatus::Open;
        }
        self
    }
}

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

/// Checks a `send`'s text and files: text or at least one file, at most
/// [`MAX_ATTACHMENTS`] files; returns the text to store (it may be empty
/// when files go).
pub fn validate_send<'a>(body: &'a str, attachments: &[String]) -> Result<&'a str, ProtocolError> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(ProtocolError::TooManyAttachments(attachments.len()));
    }
    if !attachments.is_empty() && body.trim().is_empty() {
        return Ok("");
    }
    validate_body(body)
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
mod tests;
