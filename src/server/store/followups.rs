//! Email follow-up in storage: which conversations owe their visitor an
//! email, and what the last one carried (see `server::email`).

use sqlx::Row;

use super::messages::{MESSAGE_SELECT, message_from_row};
use super::{Store, StoreError, now};
use crate::protocol::{ContactId, ConversationId, Message, MessageId, Timestamp};

/// What an email about a conversation needs, read when it is due.
#[derive(Clone, Debug)]
pub struct Followup {
    pub conversation: ConversationId,
    pub contact: ContactId,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The visitor asked for no more emails.
    pub opted_out: bool,
    pub language: Option<String>,
    /// The team's replies the visitor has not read, after the last email's.
    pub replies: Vec<Message>,
    pub attempts: u32,
    /// The newest reply scheduled so far (as read): a newer one, posted
    /// while this follow-up is handled, starts a follow-up of its own.
    pub last_reply: MessageId,
}

/// Most replies one email carries (the rest are in the chat).
const MOST_REPLIES: i64 = 20;

impl Store {
    /// Reply `reply` was posted: the conversation owes its visitor an email
    /// at `due`, unless it owes one already (this reply joins that burst).
    /// Nothing when the visitor left no email or asked for none.
    pub async fn schedule_followup(
        &self,
        conversation: ConversationId,
        reply: MessageId,
        due: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO email_followups (conversation_id, due_at, last_reply_id)
             SELECT c.id, $2, $3 FROM conversations c JOIN contacts k ON k.id = c.contact_id
             WHERE c.id = $1 AND k.email IS NOT NULL AND k.email_opt_out_at IS NULL
             ON CONFLICT (conversation_id) DO UPDATE
                SET due_at = COALESCE(email_followups.due_at, excluded.due_at),
                    last_reply_id = excluded.last_reply_id",
        )
        .bind(conversation.0)
        .bind(due.0)
        .bind(reply.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims up to `limit` follow-ups due at `at`, until `until`.
    pub async fn claim_followups(
        &self,
        at: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE email_followups SET claimed_until = $2
             WHERE conversation_id IN (
                 SELECT conversation_id FROM email_followups
                 WHERE due_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
                 ORDER BY due_at LIMIT $3)
               AND (claimed_until IS NULL OR claimed_until <= $1)
             RETURNING conversation_id",
        )
        .bind(at.0)
        .bind(until.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(ConversationId).collect())
    }

    /// When the next follow-up is due (or its claim by another instance
    /// lapses), if any is.
    pub async fn next_followup_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN claimed_until > due_at THEN claimed_until ELSE due_at END)
             FROM email_followups WHERE due_at IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(next.map(Timestamp))
    }

    /// What a due follow-up would say: the visitor, and the team's replies
    /// (teammates' and bots', not notes) after what they read and what the
    /// last email carried.
    pub async fn followup(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<Followup>, StoreError> {
        let row = sqlx::query(
            "SELECT k.id, k.name, k.email, k.email_opt_out_at, k.language, c.contact_read_id,
                    f.sent_through_id, f.attempts, f.last_reply_id
             FROM email_followups f
             JOIN conversations c ON c.id = f.conversation_id
             JOIN contacts k ON k.id = c.contact_id
             WHERE f.conversation_id = $1",
        )
        .bind(conversation.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let read: i64 = row.try_get("contact_read_id")?;
        let sent: i64 = row.try_get("sent_through_id")?;
        let replies = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.id > $2
               AND m.sender_kind = 'agent' AND m.internal = FALSE AND m.deleted_at IS NULL
             ORDER BY m.id LIMIT $3"
        ))
        .bind(conversation.0)
        .bind(read.max(sent))
        .bind(MOST_REPLIES)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(message_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Followup {
            conversation,
            contact: ContactId(row.try_get("id")?),
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            opted_out: row.try_get::<Option<i64>, _>("email_opt_out_at")?.is_some(),
            language: row.try_get("language")?,
            replies,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            last_reply: MessageId(row.try_get("last_reply_id")?),
        }))
    }

    /// The follow-up `f` (claimed until `claim`) is done: sent (or given
    /// up) through `through`, or nothing to send. A reply posted meanwhile
    /// (newer than `f.last_reply`) makes it due again at `again`.
    pub async fn finish_followup(
        &self,
        f: &Followup,
        claim: Timestamp,
        through: Option<MessageId>,
        again: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE email_followups
             SET due_at = CASE WHEN last_reply_id > $3 THEN $4 ELSE NULL END,
                 attempts = 0, claimed_until = NULL,
                 sent_through_id = CASE WHEN $2 > sent_through_id THEN $2 ELSE sent_through_id END
             WHERE conversation_id = $1 AND claimed_until = $5",
        )
        .bind(f.conversation.0)
        .bind(through.map_or(0, |m| m.0))
        .bind(f.last_reply.0)
        .bind(again.0)
        .bind(claim.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Try the follow-up (claimed until `claim`) again at `at`: sending
    /// failed (`failed`), or the visitor is in the chat now.
    pub async fn retry_followup(
        &self,
        conversation: ConversationId,
        claim: Timestamp,
        at: Timestamp,
        failed: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE email_followups
             SET due_at = $2, attempts = attempts + CASE WHEN $4 THEN 1 ELSE 0 END,
                 claimed_until = NULL
             WHERE conversation_id = $1 AND claimed_until = $3",
        )
        .bind(conversation.0)
        .bind(at.0)
        .bind(claim.0)
        .bind(failed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The visitor wants no more emails.
    pub async fn opt_out_of_email(&self, contact: ContactId) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE contacts SET email_opt_out_at = $2 WHERE id = $1 AND email_opt_out_at IS NULL",
        )
        .bind(contact.0)
        .bind(now().0)
        .execute(&self.pool)
        .await?;
        Ok(changed.rows_affected() > 0)
    }

    /// From now on the browser token with this hash speaks for `contact`
    /// (the visitor followed a signed link from an email). An unverified
    /// visitor is whoever holds the email now: the browsers that spoke for
    /// them before start over as someone new (the address was only typed
    /// in; whoever typed another person's must not read along).
    pub async fn link_token(
        &self,
        token_hash: &[u8],
        contact: ContactId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        let unguessable: [u8; 32] = rand::random();
        sqlx::query("UPDATE contacts SET token_hash = $2 WHERE id = $1 AND verified = FALSE")
            .bind(contact.0)
            .bind(&unguessable[..])
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM visitor_tokens WHERE contact_id = $1
               AND EXISTS (SELECT 1 FROM contacts k WHERE k.id = $1 AND k.verified = FALSE)",
        )
        .bind(contact.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO visitor_tokens (token_hash, contact_id) VALUES ($1, $2)
             ON CONFLICT (token_hash) DO UPDATE SET contact_id = excluded.contact_id",
        )
        .bind(token_hash)
        .bind(contact.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
