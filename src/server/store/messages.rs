//! Messages: idempotent insert and ordered reads.

use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::{Store, StoreError, now};
use crate::protocol::{
    AgentId, ClientId, ContactId, ConversationId, Message, MessageId, SenderKind, Timestamp,
};

/// The result of an insert: the stored message, and whether this call stored it
/// (false when the same `client_id` had been stored before).
#[derive(Clone, Debug)]
pub struct Inserted {
    pub message: Message,
    pub created: bool,
}

/// Selects a message with its sender's current display name.
const MESSAGE_SELECT: &str =
    "SELECT m.id, m.conversation_id, m.client_id, m.sender_kind, m.body, m.created_at,
        CASE m.sender_kind
            WHEN 'agent' THEN a.name
            WHEN 'contact' THEN COALESCE(ct.name, 'Visitor #' || ct.id)
            WHEN 'ai' THEN 'Assistant'
            ELSE 'Minicom'
        END AS sender_name
    FROM messages m
    LEFT JOIN agents a ON m.sender_kind = 'agent' AND a.id = m.sender_id
    LEFT JOIN contacts ct ON m.sender_kind = 'contact' AND ct.id = m.sender_id";

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
    })
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
}

impl Store {
    /// Stores a message in an existing conversation, once per `client_id`: a
    /// second call with the same `client_id` returns the first stored row.
    /// Returns only after the commit.
    pub async fn insert_message(
        &self,
        conversation: ConversationId,
        client_id: ClientId,
        author: Author,
        body: &str,
    ) -> Result<Inserted, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = insert_in(&mut tx, conversation, client_id, author, body).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Stores a visitor's message in their current open conversation, starting
    /// one if they have none. Idempotent like [`Store::insert_message`]: if this
    /// visitor already sent `client_id`, the earlier message is returned.
    pub async fn insert_visitor_message(
        &self,
        contact: ContactId,
        client_id: ClientId,
        body: &str,
    ) -> Result<Inserted, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Write first, so this transaction takes SQLite's write lock at once: two
        // first messages racing from two tabs then land in one conversation.
        let t = now().0;
        sqlx::query("UPDATE contacts SET last_seen_at = ? WHERE id = ?")
            .bind(t)
            .bind(contact.0)
            .execute(&mut *tx)
            .await?;
        let earlier = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.client_id = ? AND m.conversation_id IN
                (SELECT id FROM conversations WHERE contact_id = ?)"
        ))
        .bind(client_id.0.to_string())
        .bind(contact.0)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = earlier {
            tx.commit().await?;
            return Ok(Inserted {
                message: message_from_row(&row)?,
                created: false,
            });
        }
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE contact_id = ? AND status = 'open'
             ORDER BY last_message_at DESC, id DESC LIMIT 1",
        )
        .bind(contact.0)
        .fetch_optional(&mut *tx)
        .await?;
        let conversation = match open {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO conversations (contact_id, created_at, last_message_at)
                     VALUES (?, ?, ?) RETURNING id",
                )
                .bind(contact.0)
                .bind(t)
                .bind(t)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let inserted = insert_in(
            &mut tx,
            ConversationId(conversation),
            client_id,
            Author::contact(contact),
            body,
        )
        .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// The newest `limit` messages of a conversation, oldest first, and whether
    /// older ones exist.
    pub async fn latest_messages(
        &self,
        conversation: ConversationId,
        limit: i64,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        let rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = ? ORDER BY m.id DESC LIMIT ?"
        ))
        .bind(conversation.0)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let has_more = rows.len() as i64 > limit;
        let mut messages = rows
            .iter()
            .take(limit as usize)
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok((messages, has_more))
    }

    /// Messages after `after` in id order, at most `limit` of them.
    pub async fn messages_after(
        &self,
        conversation: ConversationId,
        after: MessageId,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = ? AND m.id > ? ORDER BY m.id LIMIT ?"
        ))
        .bind(conversation.0)
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }
}

async fn insert_in(
    tx: &mut Transaction<'_, Sqlite>,
    conversation: ConversationId,
    client_id: ClientId,
    author: Author,
    body: &str,
) -> Result<Inserted, StoreError> {
    let t = now().0;
    let new_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (conversation_id, client_id) DO NOTHING
         RETURNING id",
    )
    .bind(conversation.0)
    .bind(client_id.0.to_string())
    .bind(author.kind.as_str())
    .bind(author.id)
    .bind(body)
    .bind(t)
    .fetch_optional(&mut **tx)
    .await?;
    if new_id.is_some() {
        sqlx::query(
            "UPDATE conversations
             SET last_message_at = ?, last_message_preview = ?, last_sender_kind = ?
             WHERE id = ?",
        )
        .bind(t)
        .bind(preview(body))
        .bind(author.kind.as_str())
        .bind(conversation.0)
        .execute(&mut **tx)
        .await?;
    }
    let row = sqlx::query(&format!(
        "{MESSAGE_SELECT} WHERE m.conversation_id = ? AND m.client_id = ?"
    ))
    .bind(conversation.0)
    .bind(client_id.0.to_string())
    .fetch_one(&mut **tx)
    .await?;
    Ok(Inserted {
        message: message_from_row(&row)?,
        created: new_id.is_some(),
    })
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
