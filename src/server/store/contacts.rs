//! Website visitors ("contacts").

use sqlx::Row;

use super::blocks::{NOTE_COLUMNS, note_from_row};
use super::engine::flag;
use super::{Flag, Store, StoreError, now};
use crate::protocol::{
    BlockNote, ContactId, ConversationId, ConversationStatus, OtherConversation, PageVisit,
    Timestamp,
};

/// A visitor as the contact panel shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactDetails {
    pub record: ContactRecord,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The browser they last chatted from.
    pub user_agent: Option<String>,
    /// Their messenger's language (a tag), when it named one.
    pub language: Option<String>,
    pub time_zone: Option<String>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    /// A JSON object of strings, from a verified embedding site.
    pub attributes: Option<String>,
    /// Their conversations, this one included.
    pub conversations: i64,
    /// The address their messenger last connected from is known.
    pub address_known: bool,
    /// The team blocked them.
    pub block: Option<BlockNote>,
}

/// A stored visitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: ContactId,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The embedding site vouched for who they are.
    pub verified: bool,
}

impl ContactRecord {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: ContactId(row.try_get("id")?),
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            verified: flag(row, "verified")?,
        })
    }
}

impl Store {
    /// The visitor behind a cookie token hash, created on first sight; marks them
    /// as seen now, from the browser with this user agent (when it sent one)
    /// and this network address (what a block may cover), and keeps their
    /// messenger's language (a tag of [`crate::i18n::Locale`]) when it
    /// named one.
    pub async fn contact_for_token(
        &self,
        token_hash: &[u8],
        user_agent: Option<&str>,
        address: &str,
        language: Option<&str>,
    ) -> Result<ContactRecord, StoreError> {
        let t = now().0;
        // Another browser of a verified visitor?
        let linked = sqlx::query(
            "UPDATE contacts SET last_seen_at = $1, user_agent = COALESCE($3, user_agent),
                 last_address = $4, language = COALESCE($5, language)
             WHERE id = (SELECT contact_id FROM visitor_tokens WHERE token_hash = $2)
             RETURNING id, name, email, verified",
        )
        .bind(t)
        .bind(token_hash)
        .bind(user_agent)
        .bind(address)
        .bind(language)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = linked {
            return ContactRecord::from_row(&row);
        }
        let row = sqlx::query(
            "INSERT INTO contacts (token_hash, created_at, last_seen_at, user_agent, last_address, language)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (token_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at,
                 user_agent = COALESCE(excluded.user_agent, contacts.user_agent),
                 last_address = excluded.last_address,
                 language = COALESCE(excluded.language, contacts.language)
             RETURNING id, name, email, verified",
        )
        .bind(token_hash)
        .bind(t)
        .bind(t)
        .bind(user_agent)
        .bind(address)
        .bind(language)
        .fetch_one(&self.pool)
        .await?;
        ContactRecord::from_row(&row)
    }

    /// Where a visitor is now: their time zone (kept when not reported) and
    /// the page they are on (none when the site keeps it to itself); they
    /// were seen now. Writes only what changed: true if anything did (a
    /// reconnect on the same page writes nothing).
    pub async fn set_visit(
        &self,
        id: ContactId,
        time_zone: Option<&str>,
        page: Option<&PageVisit>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE contacts SET time_zone = COALESCE($1, time_zone), page_url = $2,
                 page_title = $3, last_seen_at = $5
             WHERE id = $4
               AND (page_url IS DISTINCT FROM $2 OR page_title IS DISTINCT FROM $3
                    OR ($1 IS NOT NULL AND time_zone IS DISTINCT FROM $1))
             RETURNING id",
        )
        .bind(time_zone)
        .bind(page.map(|p| p.url.as_str()))
        .bind(page.map(|p| p.title.as_str()))
        .bind(id.0)
        .bind(now().0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(changed.is_some())
    }

    /// A visitor's time zone alone (their page was refused); true if it changed.
    pub async fn set_time_zone(&self, id: ContactId, zone: &str) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE contacts SET time_zone = $1, last_seen_at = $3
             WHERE id = $2 AND time_zone IS DISTINCT FROM $1 RETURNING id",
        )
        .bind(zone)
        .bind(id.0)
        .bind(now().0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(changed.is_some())
    }

    /// The visitor of a conversation, with all the panel shows about them.
    pub async fn contact_details(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<ContactDetails>, StoreError> {
        self.details_where(
            "conversations c JOIN contacts k ON k.id = c.contact_id",
            "c.id",
            conversation.0,
        )
        .await
    }

    /// A visitor by their id, with all the panel shows about them (the
    /// API's contact).
    pub async fn contact_details_by_id(
        &self,
        contact: ContactId,
    ) -> Result<Option<ContactDetails>, StoreError> {
        self.details_where("contacts k", "k.id", contact.0).await
    }

    /// A visitor's details from `from` (naming them `k`), where `key` is `id`.
    async fn details_where(
        &self,
        from: &str,
        key: &str,
        id: i64,
    ) -> Result<Option<ContactDetails>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT k.id, k.name, k.email, k.verified, k.created_at, k.last_seen_at,
                    k.user_agent, k.language, k.time_zone, k.page_url, k.page_title, k.attributes,
                    k.last_address IS NOT NULL AS address_known,
                    (SELECT COUNT(*) FROM conversations o WHERE o.contact_id = k.id) AS conversations,
                    {NOTE_COLUMNS}
             FROM {from}
             LEFT JOIN blocks b ON b.contact_id = k.id
             LEFT JOIN agents a ON a.id = b.blocked_by
             WHERE {key} = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ContactDetails {
            record: ContactRecord::from_row(&row)?,
            first_seen_at: Timestamp(row.try_get("created_at")?),
            last_seen_at: Timestamp(row.try_get("last_seen_at")?),
            user_agent: row.try_get("user_agent")?,
            language: row.try_get("language")?,
            time_zone: row.try_get("time_zone")?,
            page_url: row.try_get("page_url")?,
            page_title: row.try_get("page_title")?,
            attributes: row.try_get("attributes")?,
            conversations: row.try_get("conversations")?,
            address_known: flag(&row, "address_known")?,
            block: note_from_row(&row, now())?,
        }))
    }

    /// The language a visitor's messenger last named (a tag), if any.
    pub async fn contact_language(&self, contact: ContactId) -> Result<Option<String>, StoreError> {
        let language: Option<Option<String>> =
            sqlx::query_scalar("SELECT language FROM contacts WHERE id = $1")
                .bind(contact.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(language.flatten())
    }

    /// A visitor's conversations other than `except`, newest first.
    pub async fn other_conversations(
        &self,
        contact: ContactId,
        except: ConversationId,
        limit: usize,
    ) -> Result<Vec<OtherConversation>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, status, last_message_at, last_message_preview FROM conversations
             WHERE contact_id = $1 AND id <> $2
             ORDER BY last_message_at DESC, id DESC LIMIT $3",
        )
        .bind(contact.0)
        .bind(except.0)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(OtherConversation {
                    id: ConversationId(row.try_get("id")?),
                    status: ConversationStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown status {status:?}")))?,
                    last_message_at: Timestamp(row.try_get("last_message_at")?),
                    preview: row.try_get("last_message_preview")?,
                })
            })
            .collect()
    }

    /// Replaces the custom attributes (a JSON object of strings) of the
    /// verified visitor `external_id`.
    pub async fn set_verified_attributes(
        &self,
        external_id: &str,
        attributes: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE contacts SET attributes = $1 WHERE external_id = $2")
            .bind(attributes)
            .bind(external_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The contact a token already speaks for, without creating one (tokens
    /// issued before they were signed are honoured only if already known).
    pub async fn known_contact_for_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<ContactRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, email, verified FROM contacts
             WHERE id = COALESCE((SELECT contact_id FROM visitor_tokens WHERE token_hash = $1),
                                 (SELECT id FROM contacts WHERE token_hash = $1))",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ContactRecord::from_row).transpose()
    }

    /// The verified user id a visitor token speaks for, if any.
    pub async fn token_external_id(&self, token_hash: &[u8]) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT c.external_id FROM visitor_tokens t JOIN contacts c ON c.id = t.contact_id
             WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    /// Whether the browser with this token is nobody yet: not linked to a
    /// verified visitor and without a conversation (nothing to forget).
    pub async fn token_is_blank(&self, token_hash: &[u8]) -> Result<bool, StoreError> {
        let known: Flag = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM visitor_tokens WHERE token_hash = $1)
                 OR EXISTS (SELECT 1 FROM conversations v JOIN contacts c ON c.id = v.contact_id
                            WHERE c.token_hash = $1)",
        )
        .bind(token_hash)
        .fetch_one(&self.pool)
        .await?;
        Ok(!known.0)
    }

    /// This browser token no longer speaks for the verified visitor it was
    /// linked to (they signed out of the site on this device).
    pub async fn unlink_token(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM visitor_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The browser with this visitor token belongs to the verified visitor
    /// `external_id` (the embedding site vouched for it): from now on the token
    /// speaks for that contact, created on first sight. Name and email, when
    /// given, become their labels; `attributes` (a JSON object of strings),
    /// when given, replace theirs.
    pub async fn verify_visitor(
        &self,
        token_hash: &[u8],
        external_id: &str,
        name: Option<&str>,
        email: Option<&str>,
        attributes: Option<&str>,
    ) -> Result<ContactId, StoreError> {
        let t = now().0;
        // On SQLite the write lock from the start: a deferred one was seen
        // refused at once with "database is locked" while another write
        // committed.
        let mut tx = self.write_transaction().await?;
        // A write first, so the transaction holds the row's lock from the
        // start. A verified contact's own token is random: only the tokens
        // linked to it speak for it.
        let unguessable: [u8; 32] = rand::random();
        sqlx::query(
            "INSERT INTO contacts (token_hash, external_id, verified, created_at, last_seen_at)
             VALUES ($3, $1, TRUE, $2, $2)
             ON CONFLICT (external_id) WHERE external_id IS NOT NULL
             DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .bind(external_id)
        .bind(t)
        .bind(&unguessable[..])
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM contacts WHERE external_id = $1")
            .bind(external_id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO visitor_tokens (token_hash, contact_id) VALUES ($1, $2)
             ON CONFLICT (token_hash) DO UPDATE SET contact_id = excluded.contact_id",
        )
        .bind(token_hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if name.is_some() || email.is_some() || attributes.is_some() {
            sqlx::query(
                "UPDATE contacts SET name = COALESCE($1, name), email = COALESCE($2, email),
                     attributes = COALESCE($4, attributes)
                 WHERE id = $3",
            )
            .bind(name)
            .bind(email)
            .bind(id)
            .bind(attributes)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ContactId(id))
    }

    /// Sets the name and email a visitor typed (labels only).
    pub async fn set_contact_profile(
        &self,
        id: ContactId,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE contacts SET name = $1, email = $2 WHERE id = $3")
            .bind(name)
            .bind(email)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that a visitor was around just now (their last tab closed),
    /// through the writer: many leaving at once share one statement of one
    /// batch instead of each taking the write lock in front of messages.
    pub async fn touch_contact(&self, id: ContactId) -> Result<Timestamp, StoreError> {
        self.writer.seen(id).await
    }
}
