//! Blocks in storage: which visitors (and, for a while, which addresses)
//! may not open the messenger's socket. See `server::blocks` for the rules.

use sqlx::Row;

use super::{Store, StoreError};
use crate::protocol::{AgentId, Block, BlockNote, ContactId, Timestamp};

/// Most blocks the settings page lists (the newest).
const LISTED: i64 = 500;

impl Store {
    /// Blocks a visitor with a reason, and their last known address until
    /// `address_until` when given. Replaces an earlier block of theirs.
    /// Returns the address blocked (none when not asked for or not known),
    /// or `None` when the contact does not exist.
    pub async fn block_contact(
        &self,
        contact: ContactId,
        reason: &str,
        address_until: Option<Timestamp>,
        by: AgentId,
        at: Timestamp,
    ) -> Result<Option<Option<String>>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO blocks (contact_id, reason, address, address_until, blocked_by, created_at)
             SELECT id, $2,
                    CASE WHEN $3 IS NULL THEN NULL ELSE last_address END,
                    CASE WHEN last_address IS NULL THEN NULL ELSE $3 END,
                    $4, $5
             FROM contacts WHERE id = $1
             ON CONFLICT (contact_id) DO UPDATE SET
                 reason = excluded.reason, address = excluded.address,
                 address_until = excluded.address_until,
                 blocked_by = excluded.blocked_by, created_at = excluded.created_at
             RETURNING address",
        )
        .bind(contact.0)
        .bind(reason)
        .bind(address_until.map(|t| t.0))
        .bind(by.0)
        .bind(at.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| row.try_get::<Option<String>, _>("address"))
            .transpose()
            .map_err(Into::into)
    }

    /// Lifts a block: the visitor it named, or `None` when there was none.
    pub async fn lift_block(&self, id: i64) -> Result<Option<ContactId>, StoreError> {
        let contact: Option<i64> =
            sqlx::query_scalar("DELETE FROM blocks WHERE id = $1 RETURNING contact_id")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(contact.map(ContactId))
    }

    /// Whether this visitor, or anyone from this address, is blocked now.
    pub async fn blocked(
        &self,
        contact: ContactId,
        address: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let hit: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM blocks WHERE contact_id = $1
             UNION ALL
             SELECT id FROM blocks WHERE address = $2 AND address_until > $3
             LIMIT 1",
        )
        .bind(contact.0)
        .bind(address)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hit.is_some())
    }

    /// The newest blocks, for admins.
    pub async fn blocks(&self, now: Timestamp) -> Result<Vec<Block>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT b.id, b.contact_id, k.name, k.email, {NOTE_COLUMNS}, b.address
             FROM blocks b JOIN contacts k ON k.id = b.contact_id
             LEFT JOIN agents a ON a.id = b.blocked_by
             ORDER BY b.created_at DESC, b.id DESC LIMIT $1"
        ))
        .bind(LISTED)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let note = note_from_row(row, now)?
                    .ok_or_else(|| StoreError::Corrupt("a block without a reason".into()))?;
                Ok(Block {
                    id: row.try_get("id")?,
                    contact_id: ContactId(row.try_get("contact_id")?),
                    contact_name: row.try_get("name")?,
                    contact_email: row.try_get("email")?,
                    address: match note.address_until {
                        Some(_) => row.try_get("address")?,
                        None => None,
                    },
                    note,
                })
            })
            .collect()
    }
}

/// The columns [`note_from_row`] reads, from `blocks b` and its author
/// `agents a` (joined on `b.blocked_by`).
pub(super) const NOTE_COLUMNS: &str = "b.reason AS block_reason, b.created_at AS blocked_at,
     a.name AS blocked_by, b.address_until";

/// A block's reason, author and time (an address part only while it
/// lasts), from a row with [`NOTE_COLUMNS`]; `None` when the row's left join
/// found no block.
pub(super) fn note_from_row(
    row: &sqlx::any::AnyRow,
    now: Timestamp,
) -> Result<Option<BlockNote>, StoreError> {
    let Some(reason) = row.try_get::<Option<String>, _>("block_reason")? else {
        return Ok(None);
    };
    let until: Option<i64> = row.try_get("address_until")?;
    Ok(Some(BlockNote {
        reason,
        by: row.try_get("blocked_by")?,
        at: Timestamp(row.try_get("blocked_at")?),
        address_until: until.filter(|u| *u > now.0).map(Timestamp),
    }))
}
