//! Labels in storage: the ones admins created, and which conversations
//! carry them. Putting one on or taking it off is a change of the
//! conversation (its next change number, a line in the thread).

use super::engine::is_unique_violation;
use super::workflow::leave_line;
use super::{Flag, Store, StoreError, now};
use crate::protocol::{AgentId, ConversationId, Label, LabelColor, LabelId, Message};

/// What creating a label did.
#[derive(Debug)]
pub enum LabelCreated {
    Created(Label),
    /// A label has that name already (whatever its case).
    Taken,
    /// There are as many labels as allowed.
    Full,
}

fn label_from((id, name, color): (i64, String, String)) -> Label {
    Label {
        id: LabelId(id),
        name,
        // A colour this version does not know shows grey.
        color: LabelColor::parse(&color).unwrap_or_default(),
    }
}

impl Store {
    /// Every label, by name.
    pub async fn labels(&self) -> Result<Vec<Label>, StoreError> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, color FROM labels ORDER BY lower(name), id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(label_from).collect())
    }

    /// One label, if it exists.
    pub async fn label(&self, id: LabelId) -> Result<Option<Label>, StoreError> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, color FROM labels WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(label_from))
    }

    /// Creates a label, unless its name is taken or `limit` exist already.
    pub async fn create_label(
        &self,
        name: &str,
        color: LabelColor,
        limit: usize,
    ) -> Result<LabelCreated, StoreError> {
        // One statement: on SQLite it takes the write lock before it reads;
        // on PostgreSQL two instances creating the same name at once meet at
        // the unique index instead (below). The limit is then a soft one.
        let id: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO labels (name, color, created_at)
             SELECT $1, $2, $3
             WHERE (SELECT COUNT(*) FROM labels) < $4
               AND NOT EXISTS (SELECT 1 FROM labels WHERE lower(name) = lower($1))
             RETURNING id",
        )
        .bind(name)
        .bind(color.as_str())
        .bind(now().0)
        .bind(limit as i64)
        .fetch_optional(&self.pool)
        .await;
        let id = match id {
            Err(err) if is_unique_violation(&err) => return Ok(LabelCreated::Taken),
            other => other?,
        };
        if let Some(id) = id {
            return Ok(LabelCreated::Created(Label {
                id: LabelId(id),
                name: name.to_owned(),
                color,
            }));
        }
        let taken: Flag = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM labels WHERE lower(name) = lower($1))",
        )
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        Ok(if taken.0 {
            LabelCreated::Taken
        } else {
            LabelCreated::Full
        })
    }

    /// Deletes a label, and takes it off every conversation.
    pub async fn delete_label(&self, id: LabelId) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM labels WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// Puts `label` on a conversation (`on`) or takes it off, and leaves
    /// `line` in its thread; `None` when nothing changed.
    pub async fn set_label(
        &self,
        conversation: ConversationId,
        label: LabelId,
        on: bool,
        actor: AgentId,
        line: &str,
    ) -> Result<Option<Message>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let sql = if on {
            "INSERT INTO conversation_labels (conversation_id, label_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM conversation_labels WHERE conversation_id = $1 AND label_id = $2"
        };
        let changed = sqlx::query(sql)
            .bind(conversation.0)
            .bind(label.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        leave_line(tx, changed > 0, conversation, Some(actor.0), line).await
    }
}
