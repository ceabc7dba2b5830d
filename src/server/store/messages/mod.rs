//! Messages: what a message is in storage. Reading them in order (history
//! pages, changes after a number) is in `read`, posting in `post` and
//! `batch`, changing in `change`.

mod batch;
mod change;
mod post;
mod read;

pub use post::Content;

pub(super) use batch::{Plain, post as post_plain};
pub(super) use post::{Visitors, insert_in, visitor_insert_in};

use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::engine::flag;
use super::writer::{Queued, Write};
use super::{Store, StoreError, now};
use crate::protocol::{
    AgentId, AssistantState, Attachment, ClientId, ContactId, ConversationId, ConversationSummary,
    MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_PERSON, Message, MessageId, PAGE_BYTES, Person,
    Reaction, SenderKind, Seq, Source, Timestamp,
};

/// The result of an insert: the stored message, and whether this call stored it
/// (false when the same `client_id` had been stored before).
#[derive(Clone, Debug)]
pub struct Inserted {
    pub message: Message,
    pub created: bool,
    /// This message started its conversation.
    pub started: bool,
    /// Lines about the conversation's state the message caused, stored
    /// after it ("Reopened by the visitor's reply", "Assigned to Ana by her
    /// reply"); publish them like messages.
    pub lines: Vec<Message>,
    /// (Notes) the teammates it mentions.
    pub mentions: Vec<AgentId>,
    /// The conversation's inbox row after it, if its batch read it. A
    /// caller that publishes rows must publish `Publish` (and read the row
    /// for `Unread`): the other messages of the batch leave it to this one.
    pub row: RowAfter,
}

/// The inbox row a message leaves, for the live event that follows it.
#[derive(Clone, Debug)]
pub enum RowAfter {
    /// Not read with the write: whoever publishes reads it.
    Unread,
    /// Read in the write's own transaction; this message publishes it.
    Publish(Box<ConversationSummary>),
    /// A newer message of the same batch publishes the row; whether the
    /// assistant answers, as it stood.
    Later(AssistantState),
}

/// A message as an edit or delete left it.
#[derive(Debug)]
pub struct Changed {
    pub message: Message,
    /// (Notes) whom it mentions changed: the row and the counts with it.
    pub mentions_changed: bool,
    /// (Deleted) the ids of the files it carried, whose bytes go now.
    pub removed_files: Vec<String>,
}

/// How a message is posted (beyond who writes what where).
#[derive(Clone, Debug, Default)]
pub struct PostOptions {
    /// A private note: the team's only.
    pub internal: bool,
    /// An agent's reply to a conversation nobody owns makes it theirs.
    pub assign_on_reply: bool,
    /// (The assistant's answers) the help articles it was drawn from.
    pub sources: Vec<Source>,
    /// (API clients) a bot's name: the message is the team's, written by
    /// no teammate (`Author::bot`), and shown under this name.
    pub bot_name: Option<String>,
}

/// How a visitor's message finds its conversation.
#[derive(Clone, Copy, Debug)]
pub struct VisitorPost {
    /// A conversation it starts is answered by the assistant.
    pub assistant_answers: bool,
    /// Start a new conversation even if one is open.
    pub new_conversation: bool,
    /// Most conversations the visitor may start in an hour.
    pub starts_per_hour: u32,
}

impl Default for VisitorPost {
    fn default() -> Self {
        Self {
            assistant_answers: false,
            new_conversation: false,
            starts_per_hour: u32::MAX,
        }
    }
}

/// Who a read is for: the team sees everything, a visitor never what is
/// internal (notes, lines about the conversation's state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Team,
    Visitor,
}

impl Audience {
    /// The `WHERE` condition (on `m`, messages) this audience adds.
    fn filter(self) -> &'static str {
        match self {
            Self::Team => "",
            Self::Visitor => " AND m.internal = FALSE",
        }
    }
}

/// A new message's sender's display name, from the inserted row's
/// `sender_kind` and `sender_id` (for `RETURNING`).
const SENDER_NAME: &str = "CASE sender_kind
     WHEN 'agent' THEN COALESCE((SELECT a.name FROM agents a WHERE a.id = sender_id), sender_label)
     WHEN 'contact' THEN (SELECT COALESCE(ct.name, 'Visitor #' || ct.id)
                          FROM contacts ct WHERE ct.id = sender_id)
     WHEN 'ai' THEN 'Assistant'
     ELSE 'Minicom'
 END";

/// Pads `items` to the next power of two with copies of its last item:
/// lists bound as parameters take a handful of statement shapes, each
/// prepared once per connection and kept, instead of one per length
/// pushing the hot statements out of the connection's cache. Callers make
/// sure a repeated item changes nothing.
fn pad<T: Clone>(items: &mut Vec<T>) {
    if let Some(last) = items.last().cloned() {
        items.resize(items.len().next_power_of_two(), last);
    }
}

/// Selects a message with its sender's current display name.
pub(in crate::server::store) const MESSAGE_SELECT: &str =
    "SELECT m.id, m.conversation_id, m.client_id, m.sender_kind, m.body, m.created_at,
        m.edited_at, m.deleted_at, m.seq, m.internal, m.attachments, m.sources, m.helpful,
        CASE m.sender_kind
            WHEN 'agent' THEN COALESCE(a.name, m.sender_label)
            WHEN 'contact' THEN COALESCE(ct.name, 'Visitor #' || ct.id)
            WHEN 'ai' THEN 'Assistant'
            ELSE 'Minicom'
        END AS sender_name
    FROM messages m
    LEFT JOIN agents a ON m.sender_kind = 'agent' AND a.id = m.sender_id
    LEFT JOIN contacts ct ON m.sender_kind = 'contact' AND ct.id = m.sender_id";

/// The inbox preview of a deleted message.
const DELETED_PREVIEW: &str = "This message was deleted";

/// How many characters of a message the inbox preview keeps.
const PREVIEW_CHARS: usize = 140;

pub(in crate::server::store) fn message_from_row(
    row: &sqlx::any::AnyRow,
) -> Result<Message, StoreError> {
    let client_id: String = row.try_get("client_id")?;
    let kind: String = row.try_get("sender_kind")?;
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        conversation_id: ConversationId(row.try_get("conversation_id")?),
        client_id: ClientId(
            Uuid::parse_str(&client_id)
                .map_err(|_| StoreError::Corrupt(format!("bad client_id {client_id:?}")))?,
        ),
        sender: SenderKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown sender kind {kind:?}")))?,
        sender_name: row
            .try_get::<Option<String>, _>("sender_name")?
            .unwrap_or_default(),
        body: row.try_get("body")?,
        created_at: Timestamp(row.try_get("created_at")?),
        edited_at: row.try_get::<Option<i64>, _>("edited_at")?.map(Timestamp),
        deleted: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
        reactions: Vec::new(),
        seq: row.try_get("seq")?,
        internal: flag(row, "internal")?,
        attachments: attachments_from(row.try_get("attachments")?)?,
        sources: match row.try_get::<Option<String>, _>("sources")? {
            None => Vec::new(),
            Some(json) => serde_json::from_str(&json)
                .map_err(|err| StoreError::Corrupt(format!("bad sources on a message: {err}")))?,
        },
        helpful: row
            .try_get::<Option<super::engine::Flag>, _>("helpful")?
            .map(|f| f.0),
    })
}

/// The JSON a message row keeps of an answer's sources (`NULL` for none).
fn sources_json(sources: &[Source]) -> Option<String> {
    (!sources.is_empty())
        .then(|| serde_json::to_string(sources).ok())
        .flatten()
}

/// The JSON a message row keeps of its files (`NULL` for none: most rows).
fn attachments_json(attachments: &[Attachment]) -> Option<String> {
    (!attachments.is_empty())
        .then(|| serde_json::to_string(attachments).ok())
        .flatten()
}

fn attachments_from(json: Option<String>) -> Result<Vec<Attachment>, StoreError> {
    match json {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(&json)
            .map_err(|err| StoreError::Corrupt(format!("bad attachments on a message: {err}"))),
    }
}

/// A reaction given or taken back: only the change.
#[derive(Clone, Debug)]
pub struct ReactionChange {
    pub conversation: ConversationId,
    /// The message is the team's only: so is the reaction.
    pub internal: bool,
    pub added: bool,
    pub seq: Seq,
}

/// Fills in the reactions of `messages` (all of one conversation, id order).
async fn with_reactions<'e, E>(executor: E, messages: &mut [Message]) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let (Some(first), Some(last)) = (messages.first(), messages.last()) else {
        return Ok(());
    };
    let rows = sqlx::query(
        "SELECT r.message_id, r.emoji, r.person_kind, r.person_id,
            CASE r.person_kind
                WHEN 'agent' THEN a.name
                ELSE COALESCE(ct.name, 'Visitor #' || ct.id)
            END AS name
         FROM reactions r
         JOIN messages m ON m.id = r.message_id
         LEFT JOIN agents a ON r.person_kind = 'agent' AND a.id = r.person_id
         LEFT JOIN contacts ct ON r.person_kind = 'contact' AND ct.id = r.person_id
         WHERE m.conversation_id = $1 AND r.message_id BETWEEN $2 AND $3
         ORDER BY r.message_id, r.created_at, r.person_kind, r.person_id",
    )
    .bind(first.conversation_id.0)
    .bind(first.id.0)
    .bind(last.id.0)
    .fetch_all(executor)
    .await?;
    for row in rows {
        let id = MessageId(row.try_get("message_id")?);
        let Ok(at) = messages.binary_search_by_key(&id, |m| m.id) else {
            continue;
        };
        let kind: String = row.try_get("person_kind")?;
        let person = Person {
            kind: SenderKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown person kind {kind:?}")))?,
            id: row.try_get("person_id")?,
            name: row
                .try_get::<Option<String>, _>("name")?
                .unwrap_or_default(),
        };
        let emoji: String = row.try_get("emoji")?;
        let reactions = &mut messages[at].reactions;
        match reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) => reaction.people.push(person),
            None => reactions.push(Reaction {
                emoji,
                people: vec![person],
            }),
        }
    }
    Ok(())
}

/// What the server checks before changing a message.
#[derive(Clone, Copy, Debug)]
pub struct MessageFacts {
    pub conversation: ConversationId,
    pub author: Author,
    pub created_at: Timestamp,
    pub deleted: bool,
    /// Seen by the team only.
    pub internal: bool,
}

/// A change to an existing message.
#[derive(Clone, Debug)]
pub enum Change {
    Edit(String),
    Delete,
}

/// The inbox preview of a message: its text, or for files alone what
/// they are ("Sent an image: cat.png").
fn preview_of(body: &str, attachments: &[Attachment]) -> String {
    match attachments {
        [one, ..] if body.trim().is_empty() => {
            let more = match attachments.len() - 1 {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            preview(&format!("Sent {}{more}", one.describe()))
        }
        _ => preview(body),
    }
}

fn preview(body: &str) -> String {
    body.split_whitespace()
        .flat_map(|w| [" ", w])
        .skip(1)
        .collect::<String>()
        .chars()
        .take(PREVIEW_CHARS)
        .collect()
}

/// Who is writing a new message.
#[derive(Clone, Copy, Debug)]
pub struct Author {
    pub kind: SenderKind,
    pub id: Option<i64>,
}

impl Author {
    /// A visitor.
    pub fn contact(id: ContactId) -> Self {
        Self {
            kind: SenderKind::Contact,
            id: Some(id.0),
        }
    }

    /// A team member.
    pub fn agent(id: AgentId) -> Self {
        Self {
            kind: SenderKind::Agent,
            id: Some(id.0),
        }
    }

    /// A bot of the company's (an API client): the team's side, no
    /// teammate; its name comes with the post (`PostOptions::bot_name`).
    pub fn bot() -> Self {
        Self {
            kind: SenderKind::Agent,
            id: None,
        }
    }

    /// The AI assistant.
    pub fn ai() -> Self {
        Self {
            kind: SenderKind::Ai,
            id: None,
        }
    }

    /// Minicom itself (notices).
    pub fn system() -> Self {
        Self {
            kind: SenderKind::System,
            id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_folds_whitespace_and_is_short() {
        assert_eq!(preview("  hello \n\n world  "), "hello world");
        assert_eq!(preview(&"a".repeat(500)).chars().count(), PREVIEW_CHARS);
    }
}
