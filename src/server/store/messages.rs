//! Messages: idempotent insert and ordered reads.

use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::writer::{Queued, Write};
use super::{Store, StoreError, now};
use crate::protocol::{
    AgentId, AssistantState, ClientId, ContactId, ConversationId, MAX_REACTIONS_PER_MESSAGE,
    MAX_REACTIONS_PER_PERSON, Message, MessageId, PAGE_BYTES, Person, Reaction, SenderKind, Seq,
    Timestamp,
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
}

/// A message as an edit or delete left it.
#[derive(Debug)]
pub struct Changed {
    pub message: Message,
    /// (Notes) whom it mentions changed: the row and the counts with it.
    pub mentions_changed: bool,
}

/// How a message is posted (beyond who writes what where).
#[derive(Clone, Copy, Debug, Default)]
pub struct PostOptions {
    /// A private note: the team's only.
    pub internal: bool,
    /// An agent's reply to a conversation nobody owns makes it theirs.
    pub assign_on_reply: bool,
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
            Self::Visitor => " AND m.internal = 0",
        }
    }
}

/// Selects a message with its sender's current display name.
const MESSAGE_SELECT: &str =
    "SELECT m.id, m.conversation_id, m.client_id, m.sender_kind, m.body, m.created_at,
        m.edited_at, m.deleted_at, m.seq, m.internal,
        CASE m.sender_kind
            WHEN 'agent' THEN a.name
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

fn message_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Message, StoreError> {
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
        internal: row.try_get("internal")?,
    })
}

/// Keeps what fits in one page on the wire (`PAGE_BYTES`), counting from the
/// front of `messages` (`from_front`) or from its back; returns whether any
/// were left out. At least one message always fits.
fn fit_page(messages: &mut Vec<Message>, from_front: bool) -> bool {
    let mut total = 0;
    let mut keep = 0;
    let sizes: Vec<usize> = if from_front {
        messages.iter().map(wire_size).collect()
    } else {
        messages.iter().rev().map(wire_size).collect()
    };
    for size in sizes {
        if keep > 0 && total + size > PAGE_BYTES {
            break;
        }
        total += size;
        keep += 1;
    }
    let left_out = keep < messages.len();
    if from_front {
        messages.truncate(keep);
    } else {
        messages.drain(..messages.len() - keep);
    }
    left_out
}

/// How many bytes a message takes in a frame.
fn wire_size(message: &Message) -> usize {
    serde_json::to_string(message).map_or(0, |json| json.len() + 1)
}

/// Rows `changes_after` reads at a time: what it holds while it fills a page
/// stays small, whatever the bodies are.
const CHANGES_CHUNK: i64 = 50;

/// Takes the conversation's next change number and stamps it on the
/// message. The update takes the write lock before anything is read (SQLite
/// serialises writers database-wide; PostgreSQL would serialise them on the
/// conversation's row), so numbers follow commit order.
async fn next_seq_for_message(
    tx: &mut Transaction<'_, Sqlite>,
    message: MessageId,
) -> Result<(ConversationId, Seq), StoreError> {
    let (conversation, seq): (i64, i64) = sqlx::query_as(
        "UPDATE conversations SET seq = seq + 1
         WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)
         RETURNING id, seq",
    )
    .bind(message.0)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE messages SET seq = ? WHERE id = ?")
        .bind(seq)
        .bind(message.0)
        .execute(&mut **tx)
        .await?;
    Ok((ConversationId(conversation), seq))
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
    E: sqlx::Executor<'e, Database = Sqlite>,
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
         WHERE m.conversation_id = ? AND r.message_id BETWEEN ? AND ?
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

impl Store {
    /// Stores a message in an existing conversation, once per `client_id`: a
    /// second call with the same `client_id` returns the first stored row.
    /// Returns only after the commit (which may be shared with other writes:
    /// see `writer`).
    pub async fn insert_message(
        &self,
        conversation: ConversationId,
        client_id: ClientId,
        author: Author,
        body: &str,
    ) -> Result<Inserted, StoreError> {
        self.queue_message(
            conversation,
            client_id,
            author,
            body,
            PostOptions::default(),
        )
        .await?
        .committed()
        .await
    }

    /// Like [`Store::insert_message`], but returns once the write is queued:
    /// writes are stored in the order they are queued, so a socket can queue
    /// its next message before the previous one's commit.
    pub async fn queue_message(
        &self,
        conversation: ConversationId,
        client_id: ClientId,
        author: Author,
        body: &str,
        options: PostOptions,
    ) -> Result<Queued, StoreError> {
        self.writer
            .enqueue(Write::Message {
                conversation,
                client_id,
                author,
                body: body.to_owned(),
                options,
            })
            .await
    }

    /// Stores a visitor's message in their current conversation (open or
    /// snoozed), starting one if they have none. Idempotent like [`Store::insert_message`]: if this
    /// visitor already sent `client_id`, the earlier message is returned.
    /// A conversation it starts is answered by the assistant when
    /// `assistant_answers` (the assistant is on).
    pub async fn insert_visitor_message(
        &self,
        contact: ContactId,
        client_id: ClientId,
        body: &str,
        assistant_answers: bool,
    ) -> Result<Inserted, StoreError> {
        let post = VisitorPost {
            assistant_answers,
            ..VisitorPost::default()
        };
        self.queue_visitor_message(contact, client_id, body, post)
            .await?
            .committed()
            .await
    }

    /// Like [`Store::insert_visitor_message`], returning once queued (see
    /// [`Store::queue_message`]).
    pub async fn queue_visitor_message(
        &self,
        contact: ContactId,
        client_id: ClientId,
        body: &str,
        post: VisitorPost,
    ) -> Result<Queued, StoreError> {
        self.writer
            .enqueue(Write::VisitorMessage {
                contact,
                client_id,
                body: body.to_owned(),
                post,
            })
            .await
    }

    /// The newest `limit` messages of a conversation, oldest first, and whether
    /// older ones exist.
    pub async fn latest_messages(
        &self,
        conversation: ConversationId,
        limit: i64,
        audience: Audience,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        self.older_messages(conversation, MessageId(i64::MAX), limit, audience)
            .await
    }

    /// The `limit` messages just before `before`, oldest first, and whether
    /// older ones exist (keyset paging on id: no OFFSET, no skip or repeat
    /// while new messages arrive).
    pub async fn older_messages(
        &self,
        conversation: ConversationId,
        before: MessageId,
        limit: i64,
        audience: Audience,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        let rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = ? AND m.id < ?{}
             ORDER BY m.id DESC LIMIT ?",
            audience.filter()
        ))
        .bind(conversation.0)
        .bind(before.0)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut has_more = rows.len() as i64 > limit;
        let mut messages = rows
            .iter()
            .take(limit as usize)
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        with_reactions(&self.pool, &mut messages).await?;
        has_more |= fit_page(&mut messages, false);
        Ok((messages, has_more))
    }

    /// One message, as both sides see it.
    pub async fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let row = sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.id = ?"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut messages = [message_from_row(&row)?];
        with_reactions(&self.pool, &mut messages).await?;
        let [message] = messages;
        Ok(Some(message))
    }

    /// Who wrote a message, where and when; `None` when it does not exist.
    pub async fn message_facts(&self, id: MessageId) -> Result<Option<MessageFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT conversation_id, sender_kind, sender_id, created_at, deleted_at, internal
             FROM messages WHERE id = ?",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("sender_kind")?;
        Ok(Some(MessageFacts {
            conversation: ConversationId(row.try_get("conversation_id")?),
            author: Author {
                kind: SenderKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown sender kind {kind:?}")))?,
                id: row.try_get("sender_id")?,
            },
            created_at: Timestamp(row.try_get("created_at")?),
            deleted: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
            internal: row.try_get("internal")?,
        }))
    }

    /// Gives `person`'s reaction to a message, or takes it back if they had
    /// given it. `None`: refused, the message has all the reactions it may
    /// carry (`MAX_REACTIONS_PER_MESSAGE` kinds, `MAX_REACTIONS_PER_PERSON`
    /// from one person).
    pub async fn toggle_reaction(
        &self,
        message: MessageId,
        person: Author,
        emoji: &str,
    ) -> Result<Option<ReactionChange>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A write first: it takes the write lock before anything is read.
        let removed = sqlx::query(
            "DELETE FROM reactions
             WHERE message_id = ? AND person_kind = ? AND person_id = ? AND emoji = ?",
        )
        .bind(message.0)
        .bind(person.kind.as_str())
        .bind(person.id)
        .bind(emoji)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !removed {
            let (kinds, mine, known): (i64, i64, i64) = sqlx::query_as(
                "SELECT COUNT(DISTINCT emoji),
                    COALESCE(SUM(person_kind = ?2 AND person_id = ?3), 0),
                    COALESCE(SUM(emoji = ?4), 0)
                 FROM reactions WHERE message_id = ?1",
            )
            .bind(message.0)
            .bind(person.kind.as_str())
            .bind(person.id)
            .bind(emoji)
            .fetch_one(&mut *tx)
            .await?;
            let new_kind = known == 0;
            if (new_kind && kinds as usize >= MAX_REACTIONS_PER_MESSAGE)
                || mine as usize >= MAX_REACTIONS_PER_PERSON
            {
                return Ok(None);
            }
            sqlx::query(
                "INSERT INTO reactions (message_id, person_kind, person_id, emoji, created_at)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(message.0)
            .bind(person.kind.as_str())
            .bind(person.id)
            .bind(emoji)
            .bind(now().0)
            .execute(&mut *tx)
            .await?;
        }
        let (conversation, seq) = next_seq_for_message(&mut tx, message).await?;
        let internal: bool = sqlx::query_scalar("SELECT internal FROM messages WHERE id = ?")
            .bind(message.0)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(ReactionChange {
            conversation,
            internal,
            added: !removed,
            seq,
        }))
    }

    /// Edits or deletes a message (the caller checked who may); keeps the
    /// inbox preview in step when it is the newest message. A deleted
    /// message keeps its place but loses its text and reactions.
    pub async fn change_message(
        &self,
        id: MessageId,
        change: Change,
    ) -> Result<Changed, StoreError> {
        let mut tx = self.pool.begin().await?;
        let t = now().0;
        let body = match &change {
            Change::Edit(body) => {
                sqlx::query("UPDATE messages SET body = ?, edited_at = ? WHERE id = ?")
                    .bind(body)
                    .bind(t)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                preview(body)
            }
            Change::Delete => {
                sqlx::query("UPDATE messages SET body = '', deleted_at = ? WHERE id = ?")
                    .bind(t)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM reactions WHERE message_id = ?")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                DELETED_PREVIEW.to_owned()
            }
        };
        sqlx::query("UPDATE conversations SET last_message_preview = ? WHERE last_message_id = ?")
            .bind(body)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        next_seq_for_message(&mut tx, id).await?;
        // Read in the same transaction: the copy is exactly this change (its
        // number, the reactions as of it), never a later one's.
        let row = sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.id = ?"))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        let mut changed = [message_from_row(&row)?];
        with_reactions(&mut *tx, &mut changed).await?;
        let [message] = changed;
        // A note's mentions follow its text: deleted, it mentions nobody;
        // edited, whom it names now.
        let mut mentions_changed = false;
        if message.internal {
            let dropped = sqlx::query("DELETE FROM mentions WHERE message_id = ?")
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let named = match &change {
                Change::Edit(body) => {
                    let author: Option<i64> =
                        sqlx::query_scalar("SELECT sender_id FROM messages WHERE id = ?")
                            .bind(id.0)
                            .fetch_one(&mut *tx)
                            .await?;
                    let conversation = message.conversation_id;
                    super::mentions::note_mentions(&mut tx, conversation, id.0, body, author)
                        .await?
                }
                Change::Delete => Vec::new(),
            };
            mentions_changed = dropped > 0 || !named.is_empty();
        }
        tx.commit().await?;
        Ok(Changed {
            message,
            mentions_changed,
        })
    }

    /// The messages that changed after change number `since`, in change
    /// order, as they now stand: at most `limit` of them and one page of
    /// bytes (`PAGE_BYTES`); and whether more follow. Reads them a chunk at a
    /// time, so building a page never holds much more than the page.
    pub async fn changes_after(
        &self,
        conversation: ConversationId,
        since: Seq,
        limit: i64,
        audience: Audience,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        let mut page: Vec<Message> = Vec::new();
        let mut bytes = 0;
        let mut after = since;
        loop {
            let rows = sqlx::query(&format!(
                "{MESSAGE_SELECT} WHERE m.conversation_id = ? AND m.seq > ?{}
                 ORDER BY m.seq LIMIT ?",
                audience.filter()
            ))
            .bind(conversation.0)
            .bind(after)
            .bind(CHANGES_CHUNK + 1)
            .fetch_all(&self.pool)
            .await?;
            let exhausted = rows.len() as i64 <= CHANGES_CHUNK;
            let mut chunk = rows
                .iter()
                .take(CHANGES_CHUNK as usize)
                .map(message_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            drop(rows);
            // Reactions are filled in id order; the page goes out in change order.
            chunk.sort_by_key(|m| m.id);
            with_reactions(&self.pool, &mut chunk).await?;
            chunk.sort_by_key(|m| m.seq);
            for message in chunk {
                let size = wire_size(&message);
                if page.len() as i64 == limit || (!page.is_empty() && bytes + size > PAGE_BYTES) {
                    return Ok((page, true));
                }
                bytes += size;
                after = message.seq;
                page.push(message);
            }
            if exhausted {
                return Ok((page, false));
            }
        }
    }
}

/// See [`Store::insert_visitor_message`]; runs inside the writer's transaction.
pub(super) async fn visitor_insert_in(
    tx: &mut Transaction<'_, Sqlite>,
    contact: ContactId,
    client_id: ClientId,
    body: &str,
    post: VisitorPost,
) -> Result<Inserted, StoreError> {
    // Every message insert goes through the writer task, so two first messages racing from two
    // tabs are serialised here and land in one conversation.
    let t = now().0;
    sqlx::query("UPDATE contacts SET last_seen_at = ? WHERE id = ?")
        .bind(t)
        .bind(contact.0)
        .execute(&mut **tx)
        .await?;
    // Only the visitor's own messages: a `client_id` never fetches anyone
    // else's (let alone a note).
    let earlier = sqlx::query(&format!(
        "{MESSAGE_SELECT} WHERE m.client_id = ? AND m.sender_kind = 'contact' AND m.internal = 0
            AND m.conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?)"
    ))
    .bind(client_id.0.to_string())
    .bind(contact.0)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = earlier {
        return stored_before(tx, &row).await;
    }
    // A snoozed conversation is still the current one: writing wakes it.
    let current: Option<i64> = if post.new_conversation {
        None
    } else {
        sqlx::query_scalar(
            "SELECT id FROM conversations WHERE contact_id = ? AND status IN ('open', 'snoozed')
             ORDER BY last_message_at DESC, id DESC LIMIT 1",
        )
        .bind(contact.0)
        .fetch_optional(&mut **tx)
        .await?
    };
    let (conversation, started) = match current {
        Some(id) => (id, false),
        None => {
            let recent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM conversations WHERE contact_id = ? AND created_at > ?",
            )
            .bind(contact.0)
            .bind(t - 3_600_000)
            .fetch_one(&mut **tx)
            .await?;
            if recent >= i64::from(post.starts_per_hour) {
                return Err(StoreError::TooManyConversations(post.starts_per_hour));
            }
            let id = sqlx::query_scalar(
                "INSERT INTO conversations (contact_id, created_at, last_message_at, assistant)
                 VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(contact.0)
            .bind(t)
            .bind(t)
            .bind(
                if post.assistant_answers {
                    AssistantState::Answering
                } else {
                    AssistantState::Off
                }
                .as_str(),
            )
            .fetch_one(&mut **tx)
            .await?;
            (id, true)
        }
    };
    let mut inserted = insert_in(
        tx,
        ConversationId(conversation),
        client_id,
        Author::contact(contact),
        body,
        PostOptions::default(),
    )
    .await?;
    inserted.started = started;
    Ok(inserted)
}

/// What an insert returns: the id, the sender's name, the change number,
/// and the conversation's status and owner before the message.
type InsertedRow = (i64, Option<String>, i64, String, Option<i64>);

/// See [`Store::insert_message`]; runs inside the writer's transaction.
pub(super) async fn insert_in(
    tx: &mut Transaction<'_, Sqlite>,
    conversation: ConversationId,
    client_id: ClientId,
    author: Author,
    body: &str,
    options: PostOptions,
) -> Result<Inserted, StoreError> {
    let t = now().0;
    // The new row comes back with its sender's name and the conversation's
    // state before it: no read after the write. Its change number is the
    // conversation's next; the update below takes it in the same
    // transaction, which holds SQLite's write lock (every writer waits for
    // it), so numbers follow commit order.
    let inserted: Option<InsertedRow> = sqlx::query_as(
        "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at, seq, internal)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT seq + 1 FROM conversations WHERE id = ?1), ?7)
         ON CONFLICT (conversation_id, client_id) DO NOTHING
         RETURNING id, CASE sender_kind
             WHEN 'agent' THEN (SELECT a.name FROM agents a WHERE a.id = sender_id)
             WHEN 'contact' THEN (SELECT COALESCE(ct.name, 'Visitor #' || ct.id)
                                  FROM contacts ct WHERE ct.id = sender_id)
             WHEN 'ai' THEN 'Assistant'
             ELSE 'Minicom'
         END, seq,
         (SELECT status FROM conversations WHERE id = ?1),
         (SELECT assignee_id FROM conversations WHERE id = ?1)",
    )
    .bind(conversation.0)
    .bind(client_id.0.to_string())
    .bind(author.kind.as_str())
    .bind(author.id)
    .bind(body)
    .bind(t)
    .bind(options.internal)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((id, sender_name, seq, status, assignee)) = inserted else {
        // Sent before: the stored message as it stands now.
        let row = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = ? AND m.client_id = ?"
        ))
        .bind(conversation.0)
        .bind(client_id.0.to_string())
        .fetch_one(&mut **tx)
        .await?;
        return stored_before(tx, &row).await;
    };
    let sender_name = sender_name.unwrap_or_default();
    let mut lines = Vec::new();
    let mut mentions = Vec::new();
    if options.internal {
        // A note moves nothing the visitor sees: only the change number.
        sqlx::query("UPDATE conversations SET seq = ? WHERE id = ?")
            .bind(seq)
            .bind(conversation.0)
            .execute(&mut **tx)
            .await?;
        mentions = super::mentions::note_mentions(tx, conversation, id, body, author.id).await?;
    } else {
        let reopens = author.kind == SenderKind::Contact && status != "open";
        let takes =
            author.kind == SenderKind::Agent && options.assign_on_reply && assignee.is_none();
        // Whoever writes has read everything before: their cursor moves too.
        sqlx::query(
            "UPDATE conversations
             SET seq = ?6, last_message_at = ?1, last_message_preview = ?2, last_sender_kind = ?3,
                 last_message_id = ?4,
                 contact_read_id = CASE WHEN ?3 = 'contact' THEN ?4 ELSE contact_read_id END,
                 team_read_id = CASE WHEN ?3 = 'agent' THEN ?4 ELSE team_read_id END,
                 team_delivered_id = CASE WHEN ?3 = 'agent' THEN ?4 ELSE team_delivered_id END,
                 -- An agent's reply takes over from the assistant.
                 assistant = CASE WHEN ?3 = 'agent' AND assistant IN ('answering', 'waiting')
                                  THEN 'human' ELSE assistant END,
                 -- The visitor waits from their first unanswered message on.
                 waiting_since = CASE WHEN ?3 = 'contact' THEN COALESCE(waiting_since, ?1)
                                      WHEN ?3 IN ('agent', 'ai') THEN NULL
                                      ELSE waiting_since END,
                 status = CASE WHEN ?7 THEN 'open' ELSE status END,
                 snoozed_until = CASE WHEN ?7 THEN NULL ELSE snoozed_until END,
                 assignee_id = CASE WHEN ?8 THEN ?9 ELSE assignee_id END
             WHERE id = ?5",
        )
        .bind(t)
        .bind(preview(body))
        .bind(author.kind.as_str())
        .bind(id)
        .bind(conversation.0)
        .bind(seq)
        .bind(reopens)
        .bind(takes)
        .bind(author.id)
        .execute(&mut **tx)
        .await?;
        if reopens {
            let text = if status == "snoozed" {
                super::workflow::WOKEN_BY_REPLY
            } else {
                super::workflow::REOPENED_BY_REPLY
            };
            lines.push(super::workflow::line_in(tx, conversation, None, text).await?);
        }
        if takes {
            let text = super::workflow::assigned_by_reply(&sender_name);
            lines.push(super::workflow::line_in(tx, conversation, author.id, &text).await?);
        }
    }
    if author.kind == SenderKind::Agent {
        sqlx::query(
            "INSERT INTO agent_cursors (agent_id, conversation_id, last_read_id)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (agent_id, conversation_id) DO UPDATE
                SET last_read_id = MAX(last_read_id, excluded.last_read_id)",
        )
        .bind(author.id)
        .bind(conversation.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Inserted {
        message: Message {
            id: MessageId(id),
            conversation_id: conversation,
            client_id,
            sender: author.kind,
            sender_name,
            body: body.to_owned(),
            created_at: Timestamp(t),
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            seq,
            internal: options.internal,
        },
        created: true,
        started: false,
        lines,
        mentions,
    })
}

/// A message sent before (a resend of the same `client_id`), whole: with its
/// reactions, since it carries its latest change number.
async fn stored_before(
    tx: &mut Transaction<'_, Sqlite>,
    row: &sqlx::sqlite::SqliteRow,
) -> Result<Inserted, StoreError> {
    let mut message = [message_from_row(row)?];
    with_reactions(&mut **tx, &mut message).await?;
    let [message] = message;
    Ok(Inserted {
        message,
        created: false,
        started: false,
        lines: Vec::new(),
        mentions: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(id: i64, body: &str) -> Message {
        Message {
            id: MessageId(id),
            conversation_id: ConversationId(1),
            client_id: ClientId(Uuid::nil()),
            sender: SenderKind::Contact,
            sender_name: "Visitor #1".into(),
            body: body.into(),
            created_at: Timestamp(0),
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            seq: id,
            internal: false,
        }
    }

    #[test]
    fn a_page_keeps_what_fits_from_the_right_end() {
        // Each escapes to six bytes a character: about 24 KB a message.
        let body = "\u{1}".repeat(4_000);
        let all: Vec<Message> = (1..=100).map(|id| sized(id, &body)).collect();
        let mut front = all.clone();
        assert!(fit_page(&mut front, true));
        let bytes: usize = front
            .iter()
            .map(|m| serde_json::to_string(m).unwrap().len())
            .sum();
        assert!(
            bytes <= PAGE_BYTES && front.len() >= 9,
            "{} messages, {bytes} bytes",
            front.len()
        );
        assert_eq!(front[0].id, MessageId(1));
        let mut back = all.clone();
        assert!(fit_page(&mut back, false));
        assert_eq!(
            back.last().unwrap().id,
            MessageId(100),
            "the newest are kept"
        );
        let mut small = vec![sized(1, "hi"), sized(2, "there")];
        assert!(!fit_page(&mut small, true));
        assert_eq!(small.len(), 2);
        // One message always goes, whatever its size.
        let mut huge = vec![sized(1, &"\u{1}".repeat(100_000))];
        assert!(!fit_page(&mut huge, false));
        assert_eq!(huge.len(), 1);
    }

    #[test]
    fn preview_folds_whitespace_and_is_short() {
        assert_eq!(preview("  hello \n\n world  "), "hello world");
        assert_eq!(preview(&"a".repeat(500)).chars().count(), PREVIEW_CHARS);
    }
}
