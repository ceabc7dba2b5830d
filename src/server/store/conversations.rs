//! Conversations: one per exchange between a visitor and the team, and the rows
//! of the inbox list.

use sqlx::Row;

use super::{Store, StoreError};
use crate::protocol::{
    ContactId, ConversationId, ConversationStatus, ConversationSummary, SenderKind, Timestamp,
    visitor_label,
};

/// Columns for [`summary_from_row`]; `c` is conversations, `ct` contacts.
const SUMMARY_SELECT: &str = "SELECT c.id, c.contact_id, c.status, c.last_message_at,
        c.last_message_preview, c.last_sender_kind, ct.name AS contact_name, ct.email AS contact_email
    FROM conversations c JOIN contacts ct ON ct.id = c.contact_id";

fn summary_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ConversationSummary, StoreError> {
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
    })
}

impl Store {
    /// The visitor a conversation belongs to, or `None` when it does not exist.
    pub async fn conversation_contact(
        &self,
        id: ConversationId,
    ) -> Result<Option<ContactId>, StoreError> {
        let contact: Option<i64> =
            sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = ?")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(contact.map(ContactId))
    }

    /// One inbox row.
    pub async fn conversation_summary(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        let row = sqlx::query(&format!("{SUMMARY_SELECT} WHERE c.id = ?"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    /// The inbox: conversations with the newest activity first.
    pub async fn inbox(&self, limit: i64) -> Result<Vec<ConversationSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "{SUMMARY_SELECT} ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// A visitor's own conversations, newest activity first.
    pub async fn contact_conversations(
        &self,
        contact: ContactId,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "{SUMMARY_SELECT} WHERE c.contact_id = ? ORDER BY c.last_message_at DESC, c.id DESC LIMIT 100"
        ))
        .bind(contact.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }
}
