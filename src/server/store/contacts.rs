//! Website visitors ("contacts").

use sqlx::Row;

use super::{Store, StoreError, now};
use crate::protocol::{ContactId, Timestamp};

/// A stored visitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: ContactId,
    pub name: Option<String>,
    pub email: Option<String>,
}

impl Store {
    /// The visitor behind a cookie token hash, created on first sight; marks them
    /// as seen now.
    pub async fn contact_for_token(&self, token_hash: &[u8]) -> Result<ContactRecord, StoreError> {
        let t = now().0;
        let row = sqlx::query(
            "INSERT INTO contacts (token_hash, created_at, last_seen_at) VALUES (?, ?, ?)
             ON CONFLICT (token_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at
             RETURNING id, name, email",
        )
        .bind(token_hash)
        .bind(t)
        .bind(t)
        .fetch_one(&self.pool)
        .await?;
        Ok(ContactRecord {
            id: ContactId(row.try_get("id")?),
            name: row.try_get("name")?,
            email: row.try_get("email")?,
        })
    }

    /// Sets the name and email a visitor typed (labels only).
    pub async fn set_contact_profile(
        &self,
        id: ContactId,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE contacts SET name = ?, email = ? WHERE id = ?")
            .bind(name)
            .bind(email)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that a visitor was around just now (their last tab closed).
    pub async fn touch_contact(&self, id: ContactId) -> Result<Timestamp, StoreError> {
        let t = now();
        sqlx::query("UPDATE contacts SET last_seen_at = ? WHERE id = ?")
            .bind(t.0)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(t)
    }
}
