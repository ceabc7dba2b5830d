//! Saved replies in storage: the team's (no owner, admins keep them) and
//! each agent's own.

use super::{Store, StoreError, now};
use crate::protocol::AgentId;
use crate::replies::SavedReply;

impl Store {
    /// The replies `agent` can use, by shortcut: their own, and the team's
    /// except where they keep one under the same shortcut. Without an
    /// agent, the team's.
    pub async fn saved_replies(
        &self,
        agent: Option<AgentId>,
    ) -> Result<Vec<SavedReply>, StoreError> {
        let rows: Vec<(i64, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, shortcut, body, owner_id FROM saved_replies
             WHERE owner_id = $1
                OR (owner_id IS NULL AND shortcut NOT IN
                    (SELECT shortcut FROM saved_replies WHERE owner_id = $1))
             ORDER BY shortcut",
        )
        .bind(agent.map(|a| a.0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, shortcut, body, owner)| SavedReply {
                id,
                shortcut,
                body,
                mine: owner.is_some(),
            })
            .collect())
    }

    /// An agent's own replies only (their settings card).
    pub async fn own_replies(&self, agent: AgentId) -> Result<Vec<SavedReply>, StoreError> {
        Ok(self
            .saved_replies(Some(agent))
            .await?
            .into_iter()
            .filter(|r| r.mine)
            .collect())
    }

    /// Saves a reply under `shortcut` for the team (`owner` `None`) or for
    /// one agent, replacing the text it had, unless that owner keeps
    /// `limit` replies already; returns whether it was saved.
    pub async fn save_reply(
        &self,
        owner: Option<AgentId>,
        shortcut: &str,
        body: &str,
        limit: usize,
    ) -> Result<bool, StoreError> {
        let owner = owner.map(|a| a.0);
        // One statement: on SQLite it takes the write lock before it reads;
        // on PostgreSQL the count is not locked, so the limit is a soft one
        // (two instances saving at once may both pass it).
        let (sql, conflict) = match owner {
            None => ("owner_id IS NULL", "(shortcut) WHERE owner_id IS NULL"),
            Some(_) => (
                "owner_id = $5",
                "(owner_id, shortcut) WHERE owner_id IS NOT NULL",
            ),
        };
        let saved = sqlx::query(&format!(
            "INSERT INTO saved_replies (owner_id, shortcut, body, created_at)
             SELECT $5, $1, $2, $3
             WHERE (SELECT COUNT(*) FROM saved_replies WHERE {sql}) < $4
                OR EXISTS (SELECT 1 FROM saved_replies WHERE {sql} AND shortcut = $1)
             ON CONFLICT {conflict} DO UPDATE SET body = excluded.body"
        ))
        .bind(shortcut)
        .bind(body)
        .bind(now().0)
        .bind(limit as i64)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(saved > 0)
    }

    /// Deletes a reply of the team's (`owner` `None`) or of one agent;
    /// anyone else's is left alone. Returns whether one was deleted.
    pub async fn delete_reply(&self, id: i64, owner: Option<AgentId>) -> Result<bool, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM saved_replies WHERE id = $1 AND owner_id IS NOT DISTINCT FROM $2",
        )
        .bind(id)
        .bind(owner.map(|a| a.0))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted > 0)
    }
}
