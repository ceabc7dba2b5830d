//! Mentions in storage: a teammate named in a note (`@Ana`) has the
//! conversation in their Mentions list until they open it. The note and
//! its mentions commit together.

use sqlx::{Any, Transaction};

use super::{Flag, Store, StoreError, now};
use crate::protocol::{AgentId, ConversationId, MentionCount};

/// Records whom a note names (active teammates other than its author),
/// inside the note's transaction; returns them.
pub(super) async fn note_mentions(
    tx: &mut Transaction<'_, Any>,
    conversation: ConversationId,
    message: i64,
    body: &str,
    author: Option<i64>,
) -> Result<Vec<AgentId>, StoreError> {
    // Most notes name nobody: no read for them.
    if !body.contains('@') {
        return Ok(Vec::new());
    }
    let team: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM agents WHERE active = TRUE AND id IS DISTINCT FROM $1",
    )
    .bind(author)
    .fetch_all(&mut **tx)
    .await?;
    let named = crate::mentions::mentioned(
        body,
        team.iter().map(|(id, name)| (AgentId(*id), name.as_str())),
    );
    for agent in &named {
        sqlx::query(
            "INSERT INTO mentions (conversation_id, agent_id, message_id, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (conversation_id, agent_id) DO UPDATE
                SET message_id = excluded.message_id, created_at = excluded.created_at",
        )
        .bind(conversation.0)
        .bind(agent.0)
        .bind(message)
        .bind(now().0)
        .execute(&mut **tx)
        .await?;
    }
    Ok(named)
}

impl Store {
    /// Whether the agent has an unseen mention in the conversation.
    pub async fn has_mention(
        &self,
        agent: AgentId,
        conversation: ConversationId,
    ) -> Result<bool, StoreError> {
        let mentioned: Flag = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM mentions WHERE conversation_id = $1 AND agent_id = $2)",
        )
        .bind(conversation.0)
        .bind(agent.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(mentioned.0)
    }

    /// The agent opened the conversation: its mentions of them are seen.
    /// Returns whether there were any (the row and counts changed); the row
    /// takes the next change number, so an older copy never brings the
    /// mention back.
    pub async fn clear_mentions(
        &self,
        agent: AgentId,
        conversation: ConversationId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The conversation's row first, as every change to it takes it (a
        // note naming them again takes it before its mention): the same
        // order everywhere, so two instances never wait on each other.
        sqlx::query("UPDATE conversations SET seq = seq + 1 WHERE id = $1")
            .bind(conversation.0)
            .execute(&mut *tx)
            .await?;
        let cleared =
            sqlx::query("DELETE FROM mentions WHERE conversation_id = $1 AND agent_id = $2")
                .bind(conversation.0)
                .bind(agent.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if cleared == 0 {
            // Nothing changed: the number goes back with the rollback.
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Conversations with unseen mentions, per teammate.
    pub(super) async fn mention_counts(&self) -> Result<Vec<MentionCount>, StoreError> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT agent_id, COUNT(*) FROM mentions GROUP BY agent_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(agent, n)| MentionCount {
                agent_id: AgentId(agent),
                unseen: n.clamp(0, u32::MAX as i64) as u32,
            })
            .collect())
    }
}
