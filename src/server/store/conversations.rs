//! Conversations: one per exchange between a visitor and the team, and the rows
//! of the inbox list.

use sqlx::Row;

use super::{Store, StoreError};
use crate::protocol::{
    AgentId, AssistantState, ContactId, ConversationId, ConversationStatus, ConversationSummary,
    LabelId, MessageId, Person, SenderKind, Seq, Timestamp, visitor_label,
};

/// Columns for [`summary_from_row`]; `c` is conversations, `ct` contacts.
/// `unread` is a column the caller adds (0 for live events).
pub(super) const SUMMARY_COLUMNS: &str = "c.id, c.contact_id, c.status, c.last_message_at,
        c.last_message_preview, c.last_sender_kind, c.last_message_id, c.contact_read_id,
        c.team_read_id, c.team_delivered_id, ct.last_seen_at, ct.name AS contact_name,
        ct.email AS contact_email, c.assistant, c.seq, c.assignee_id,
        owner.name AS assignee_name, c.snoozed_until, c.waiting_since, c.rating,
        (SELECT string_agg(CAST(label_id AS TEXT), ',') FROM conversation_labels WHERE conversation_id = c.id)
            AS label_ids,
        (SELECT string_agg(CAST(agent_id AS TEXT), ',') FROM mentions WHERE conversation_id = c.id)
            AS mentioned_ids";

/// The tables [`SUMMARY_COLUMNS`] come from.
pub(super) const SUMMARY_FROM: &str = "conversations c JOIN contacts ct ON ct.id = c.contact_id
        LEFT JOIN agents owner ON owner.id = c.assignee_id";

/// Unread for an agent (parameter `$1`): visitor messages after their cursor.
pub(super) const AGENT_UNREAD: &str = "(SELECT COUNT(*) FROM messages m
        WHERE m.conversation_id = c.id AND m.sender_kind = 'contact'
        AND m.id > COALESCE((SELECT last_read_id FROM agent_cursors
                             WHERE agent_id = $1 AND conversation_id = c.id), 0)) AS unread";

/// Unread for the visitor: the team's messages after the visitor's cursor.
const CONTACT_UNREAD: &str = "(SELECT COUNT(*) FROM messages m
        WHERE m.conversation_id = c.id AND m.sender_kind IN ('agent', 'ai', 'system')
        AND m.internal = FALSE AND m.id > c.contact_read_id) AS unread";

/// Who moved a read cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    Contact(ContactId),
    Agent(AgentId),
}

pub(super) fn summary_from_row(row: &sqlx::any::AnyRow) -> Result<ConversationSummary, StoreError> {
    let contact_id = ContactId(row.try_get("contact_id")?);
    let status: String = row.try_get("status")?;
    let last_sender: Option<String> = row.try_get("last_sender_kind")?;
    Ok(ConversationSummary {
        id: ConversationId(row.try_get("id")?),
        contact_id,
        contact_name: row
            .try_get::<Option<String>, _>("contact_name")?
            .unwrap_or_else(|| visitor_label(contact_id)),
        contact_email: row.try_get("contact_email")?,
        status: ConversationStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status {status:?}")))?,
        last_message_at: Timestamp(row.try_get("last_message_at")?),
        last_message_preview: row.try_get("last_message_preview")?,
        last_sender: last_sender.as_deref().and_then(SenderKind::parse),
        last_message_id: MessageId(row.try_get("last_message_id")?),
        unread: row.try_get::<i64, _>("unread")?.clamp(0, u32::MAX as i64) as u32,
        contact_read_id: MessageId(row.try_get("contact_read_id")?),
        team_read_id: MessageId(row.try_get("team_read_id")?),
        team_delivered_id: MessageId(row.try_get("team_delivered_id")?),
        contact_online: false,
        contact_last_seen_at: Timestamp(row.try_get("last_seen_at")?),
        assistant: assistant_from(&row.try_get::<String, _>("assistant")?)?,
        seq: row.try_get("seq")?,
        assignee: row
            .try_get::<Option<i64>, _>("assignee_id")?
            .map(|id| -> Result<Person, StoreError> {
                Ok(Person {
                    kind: SenderKind::Agent,
                    id,
                    name: row
                        .try_get::<Option<String>, _>("assignee_name")?
                        .unwrap_or_default(),
                })
            })
            .transpose()?,
        snoozed_until: row
            .try_get::<Option<i64>, _>("snoozed_until")?
            .map(Timestamp),
        waiting_since: row
            .try_get::<Option<i64>, _>("waiting_since")?
            .map(Timestamp),
        rating: row
            .try_get::<Option<i64>, _>("rating")?
            .and_then(|r| u8::try_from(r).ok()),
        labels: ids(row.try_get("label_ids")?).map(LabelId).collect(),
        mentions: ids(row.try_get("mentioned_ids")?).map(AgentId).collect(),
    })
}

/// The ids of a `string_agg` ("3,7"), in ascending order.
fn ids(list: Option<String>) -> impl Iterator<Item = i64> {
    let mut ids: Vec<i64> = list
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|id| id.parse().ok())
        .collect();
    ids.sort_unstable();
    ids.into_iter()
}

fn assistant_from(value: &str) -> Result<AssistantState, StoreError> {
    AssistantState::parse(value)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown assistant state {value:?}")))
}

impl Store {
    /// Who answers a conversation; `None` when it does not exist.
    pub async fn assistant_state(
        &self,
        id: ConversationId,
    ) -> Result<Option<AssistantState>, StoreError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT assistant FROM conversations WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        state.as_deref().map(assistant_from).transpose()
    }

    /// Moves a conversation to `to` when it is in one of `from` (all when
    /// empty); returns whether it moved.
    pub async fn set_assistant_state(
        &self,
        id: ConversationId,
        from: &[AssistantState],
        to: AssistantState,
    ) -> Result<bool, StoreError> {
        let current = self.assistant_state(id).await?;
        let Some(current) = current else {
            return Ok(false);
        };
        if current == to || !(from.is_empty() || from.contains(&current)) {
            return Ok(false);
        }
        // Handed to the team: the visitor waits for a person from now on
        // (the assistant's answers had stopped the clock).
        let moved = sqlx::query(
            "UPDATE conversations SET assistant = $1,
                 waiting_since = CASE WHEN $1 = 'waiting' THEN COALESCE(waiting_since, $4)
                                      ELSE waiting_since END
             WHERE id = $2 AND assistant = $3",
        )
        .bind(to.as_str())
        .bind(id.0)
        .bind(current.as_str())
        .bind(super::now().0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    /// The visitor a conversation belongs to, or `None` when it does not exist.
    pub async fn conversation_contact(
        &self,
        id: ConversationId,
    ) -> Result<Option<ContactId>, StoreError> {
        let contact: Option<i64> =
            sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(contact.map(ContactId))
    }

    /// The conversation's latest change number (0 when it does not exist).
    pub async fn conversation_seq(&self, id: ConversationId) -> Result<Seq, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM conversations WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// One inbox row as everyone sees it (`unread` is 0: it is per reader).
    pub async fn conversation_summary(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, 0 AS unread
             FROM {SUMMARY_FROM} WHERE c.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    /// A visitor's own conversations, newest activity first, with their
    /// unread counts.
    pub async fn contact_conversations(
        &self,
        contact: ContactId,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, {CONTACT_UNREAD}
             FROM {SUMMARY_FROM}
             WHERE c.contact_id = $1 ORDER BY c.last_message_at DESC, c.id DESC LIMIT 100"
        ))
        .bind(contact.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Moves a reader's cursor forward to `up_to` (never back, never past the
    /// newest message). Returns where it now stands and the receipt's change
    /// number, if it moved.
    pub async fn mark_read(
        &self,
        conversation: ConversationId,
        reader: Reader,
        up_to: MessageId,
    ) -> Result<Option<(MessageId, Seq)>, StoreError> {
        // Single statements, each taking the write lock up front: a read
        // followed by a write in one transaction could fail with "database is
        // locked" when another write lands in between.
        let moved: Option<(i64, i64)> = match reader {
            Reader::Contact(_) => {
                sqlx::query_as(
                    "UPDATE conversations SET contact_read_id = CASE WHEN $1 < last_message_id THEN $1 ELSE last_message_id END,
                        seq = seq + 1
                     WHERE id = $2 AND contact_read_id < CASE WHEN $1 < last_message_id THEN $1 ELSE last_message_id END
                     RETURNING contact_read_id, seq",
                )
                .bind(up_to.0)
                .bind(conversation.0)
                .fetch_optional(&self.pool)
                .await?
            }
            Reader::Agent(agent) => {
                let moved: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO agent_cursors (agent_id, conversation_id, last_read_id)
                     SELECT $1, id, CASE WHEN $3 < last_message_id THEN $3 ELSE last_message_id END FROM conversations WHERE id = $2
                     ON CONFLICT (agent_id, conversation_id) DO UPDATE
                        SET last_read_id = excluded.last_read_id
                        WHERE agent_cursors.last_read_id < excluded.last_read_id
                     RETURNING last_read_id",
                )
                .bind(agent.0)
                .bind(conversation.0)
                .bind(up_to.0)
                .fetch_optional(&self.pool)
                .await?;
                match moved {
                    Some(at) => {
                        let seq: i64 = sqlx::query_scalar(
                            "UPDATE conversations SET team_read_id = CASE WHEN team_read_id < $1 THEN $1 ELSE team_read_id END,
                                team_delivered_id = CASE WHEN team_delivered_id < $1 THEN $1 ELSE team_delivered_id END, seq = seq + 1
                             WHERE id = $2 RETURNING seq",
                        )
                        .bind(at)
                        .bind(conversation.0)
                        .fetch_one(&self.pool)
                        .await?;
                        Some((at, seq))
                    }
                    None => None,
                }
            }
        };
        Ok(moved.map(|(at, seq)| (MessageId(at), seq)))
    }

    /// Records that messages up to `up_to` reached the team. Returns where the
    /// delivery cursor now stands and the receipt's change number, if it moved.
    pub async fn mark_delivered(
        &self,
        conversation: ConversationId,
        up_to: MessageId,
    ) -> Result<Option<(MessageId, Seq)>, StoreError> {
        let moved: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE conversations SET team_delivered_id = CASE WHEN $1 < last_message_id THEN $1 ELSE last_message_id END, seq = seq + 1
             WHERE id = $2 AND team_delivered_id < CASE WHEN $1 < last_message_id THEN $1 ELSE last_message_id END
             RETURNING team_delivered_id, seq",
        )
        .bind(up_to.0)
        .bind(conversation.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(moved.map(|(at, seq)| (MessageId(at), seq)))
    }
}
