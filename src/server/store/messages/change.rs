//! Changing a stored message: reactions, edits and deletes, each taking the
//! conversation's next change number.

use super::*;
use crate::server::store::Flag;

/// Takes the conversation's next change number and stamps it on the
/// message; returns the conversation, the number and whether the message is
/// the team's only. Called first in a change's transaction: the update takes
/// the lock before anything is read (SQLite serialises writers
/// database-wide, PostgreSQL on the conversation's row), so numbers follow
/// commit order and what the change reads next is settled.
async fn next_seq_for_message(
    tx: &mut Transaction<'_, Any>,
    message: MessageId,
) -> Result<(ConversationId, Seq, bool), StoreError> {
    let (conversation, seq): (i64, i64) = sqlx::query_as(
        "UPDATE conversations SET seq = seq + 1
         WHERE id = (SELECT conversation_id FROM messages WHERE id = $1)
         RETURNING id, seq",
    )
    .bind(message.0)
    .fetch_one(&mut **tx)
    .await?;
    let internal: Flag =
        sqlx::query_scalar("UPDATE messages SET seq = $1 WHERE id = $2 RETURNING internal")
            .bind(seq)
            .bind(message.0)
            .fetch_one(&mut **tx)
            .await?;
    Ok((ConversationId(conversation), seq, internal.0))
}

impl Store {
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
        let (conversation, seq, internal) = next_seq_for_message(&mut tx, message).await?;
        let removed = sqlx::query(
            "DELETE FROM reactions
             WHERE message_id = $1 AND person_kind = $2 AND person_id = $3 AND emoji = $4",
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
                    COUNT(*) FILTER (WHERE person_kind = $2 AND person_id = $3),
                    COUNT(*) FILTER (WHERE emoji = $4)
                 FROM reactions WHERE message_id = $1",
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
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(message.0)
            .bind(person.kind.as_str())
            .bind(person.id)
            .bind(emoji)
            .bind(now().0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(ReactionChange {
            conversation,
            internal,
            added: !removed,
            seq,
        }))
    }

    /// Records the visitor's answer to "Did that help?" under one of the
    /// assistant's answers drawn from the help center, once, and only the
    /// conversation's newest answer: `None` when the message is no such
    /// answer or was answered already. The message
    /// as it now stands, with its next change number.
    pub async fn record_feedback(
        &self,
        id: MessageId,
        helpful: bool,
    ) -> Result<Option<Message>, StoreError> {
        let mut tx = self.pool.begin().await?;
        next_seq_for_message(&mut tx, id).await?;
        let marked = sqlx::query(
            "UPDATE messages SET helpful = $1
             WHERE id = $2 AND sender_kind = 'ai' AND sources IS NOT NULL
                 AND helpful IS NULL AND deleted_at IS NULL
                 -- Only the newest answer, with nothing said after it: an
                 -- older one's verdict must not resolve what the visitor
                 -- asked or anyone answered since.
                 AND NOT EXISTS (SELECT 1 FROM messages later
                     WHERE later.conversation_id = messages.conversation_id
                       AND later.id > messages.id AND later.internal = FALSE
                       AND later.sender_kind IN ('ai', 'agent', 'contact'))",
        )
        .bind(helpful)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            // Dropped: the change number goes back with it.
            return Ok(None);
        }
        let row = sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.id = $1"))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        let mut message = message_from_row(&row)?;
        with_reactions(&mut *tx, std::slice::from_mut(&mut message)).await?;
        tx.commit().await?;
        Ok(Some(message))
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
        next_seq_for_message(&mut tx, id).await?;
        let t = now().0;
        let mut removed_files = Vec::new();
        let body = match &change {
            Change::Edit(body) => {
                sqlx::query("UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3")
                    .bind(body)
                    .bind(t)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                preview(body)
            }
            Change::Delete => {
                sqlx::query("UPDATE messages SET body = '', deleted_at = $1, attachments = NULL WHERE id = $2")
                    .bind(t)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM reactions WHERE message_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                removed_files = super::super::uploads::detach_in(&mut tx, id.0).await?;
                DELETED_PREVIEW.to_owned()
            }
        };
        sqlx::query(
            "UPDATE conversations SET last_message_preview = $1 WHERE last_message_id = $2",
        )
        .bind(body)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        // Read in the same transaction: the copy is exactly this change (its
        // number, the reactions as of it), never a later one's.
        let row = sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.id = $1"))
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
            let dropped = sqlx::query("DELETE FROM mentions WHERE message_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let named = match &change {
                Change::Edit(body) => {
                    let author: Option<i64> =
                        sqlx::query_scalar("SELECT sender_id FROM messages WHERE id = $1")
                            .bind(id.0)
                            .fetch_one(&mut *tx)
                            .await?;
                    let conversation = message.conversation_id;
                    super::super::mentions::note_mentions(&mut tx, conversation, id.0, body, author)
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
            removed_files,
        })
    }
}
