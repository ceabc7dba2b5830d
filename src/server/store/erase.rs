//! Erasing in storage: a contact with everything of theirs, or old resolved
//! conversations (retention). Deleting the rows is enough for the rest:
//! every table that holds a person's data references the contact or the
//! conversation with `ON DELETE CASCADE` (messages and through them
//! reactions, files' records, labels, mentions, read cursors, blocks,
//! visitor tokens), and the search indexes follow through their triggers
//! (SQLite, with FTS5's secure-delete) or their generated column
//! (PostgreSQL). Files' bytes kept in the database (`upload_blobs`, no
//! reference) go in the same transaction; those in a folder right after
//! it. What stays is one anonymous line in `erasures`.

use super::{Engine, Store, StoreError};
use crate::protocol::{AgentId, ContactId, ConversationId, Timestamp};

/// Who asked for an erasure (recorded; never what was erased).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eraser {
    /// A teammate, from the contact panel.
    Agent(AgentId),
    /// `minicom contact erase`.
    Command,
    /// The retention period (`MINICOM_RETENTION_DAYS`).
    Retention,
}

impl Eraser {
    fn kind(self) -> &'static str {
        match self {
            Self::Agent(_) => "agent",
            Self::Command => "command",
            Self::Retention => "retention",
        }
    }
}

/// What an erasure removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    pub contacts: Vec<ContactId>,
    pub conversations: Vec<ConversationId>,
    pub messages: i64,
    /// The files whose bytes must go too (their records went with the rows).
    pub files: Vec<String>,
}

/// Most conversations one retention pass erases (a pass is one
/// transaction; the writer waits for it).
pub const RETENTION_BATCH: i64 = 200;

impl Store {
    /// The contacts whose email is `email` (as typed by them, the team or
    /// the site; any case).
    pub async fn contacts_with_email(&self, email: &str) -> Result<Vec<ContactId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM contacts WHERE lower(email) = lower($1) ORDER BY id",
        )
        .bind(email.trim())
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(ContactId).collect())
    }

    /// Erases these contacts with all their conversations, in one
    /// transaction, and records that it happened. Contacts that do not
    /// exist (any more) are skipped.
    pub async fn erase_contacts(
        &self,
        contacts: &[ContactId],
        by: Eraser,
        at: Timestamp,
    ) -> Result<Erased, StoreError> {
        let mut tx = self.write_transaction().await?;
        let mut erased = Erased::default();
        for contact in contacts {
            // PostgreSQL: hold the contact, so no conversation of theirs
            // starts (and escapes the count) while they are erased.
            // SQLite's write lock, taken at BEGIN, does this already.
            if self.engine() == Engine::Postgres {
                let held: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM contacts WHERE id = $1 FOR UPDATE")
                        .bind(contact.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                if held.is_none() {
                    continue;
                }
            }
            let conversations: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = $1")
                    .bind(contact.0)
                    .fetch_all(&mut *tx)
                    .await?;
            let (messages, files) = doomed(&mut tx, &conversations, Some(*contact)).await?;
            let gone = sqlx::query("DELETE FROM contacts WHERE id = $1")
                .bind(contact.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone == 0 {
                continue;
            }
            erased.contacts.push(*contact);
            erased
                .conversations
                .extend(conversations.into_iter().map(ConversationId));
            erased.messages += messages;
            erased.files.extend(files);
        }
        if !erased.contacts.is_empty() {
            record(&mut tx, &erased, by, at).await?;
        }
        tx.commit().await?;
        Ok(erased)
    }

    /// Erases up to [`RETENTION_BATCH`] conversations resolved with nothing
    /// said since `before`, then up to as many visitors left with no
    /// conversation who have not been seen since `before` either (unless
    /// they are blocked: lifting a block is the team's decision). Callers
    /// repeat while a batch comes back full.
    pub async fn erase_resolved_before(&self, before: Timestamp) -> Result<Erased, StoreError> {
        let mut tx = self.write_transaction().await?;
        // PostgreSQL: the rows are held, so a message arriving meanwhile
        // waits and then finds its conversation gone (rather than being
        // erased unseen), and another instance's pass skips them.
        let hold = match self.engine() {
            Engine::Postgres => " FOR UPDATE",
            Engine::Sqlite => "",
        };
        let conversations: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM conversations
             WHERE status = 'resolved' AND last_message_at < $1
             ORDER BY last_message_at LIMIT $2{hold}"
        ))
        .bind(before.0)
        .bind(RETENTION_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let (messages, files) = doomed(&mut tx, &conversations, None).await?;
        for id in &conversations {
            sqlx::query("DELETE FROM conversations WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // `last_seen_at` is asked again of the row being deleted: a visitor
        // who connected meanwhile (and may be starting a conversation) stays.
        let contacts: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM contacts WHERE last_seen_at < $1 AND id IN (
                 SELECT k.id FROM contacts k WHERE k.last_seen_at < $1
                   AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = k.id)
                   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.contact_id = k.id)
                   AND NOT EXISTS (SELECT 1 FROM uploads u
                                   WHERE u.uploader_kind = 'contact' AND u.uploader_id = k.id)
                 LIMIT $2)
             RETURNING id",
        )
        .bind(before.0)
        .bind(RETENTION_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let erased = Erased {
            contacts: contacts.into_iter().map(ContactId).collect(),
            conversations: conversations.into_iter().map(ConversationId).collect(),
            messages,
            files,
        };
        if !erased.conversations.is_empty() || !erased.contacts.is_empty() {
            record(&mut tx, &erased, Eraser::Retention, super::now()).await?;
        }
        tx.commit().await?;
        Ok(erased)
    }

    /// A transaction that holds SQLite's write lock from its start (a
    /// deferred one can be refused at once while another write commits;
    /// `BEGIN IMMEDIATE` waits for the lock like any write).
    pub(super) async fn write_transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.engine() {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.pool.begin().await?,
        })
    }
}

/// How many messages these conversations hold, and the files of theirs
/// (and, for a contact, the files they uploaded but never sent) whose
/// records are removed here — the unsent ones reference no conversation,
/// so nothing cascades to them.
async fn doomed(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    conversations: &[i64],
    contact: Option<ContactId>,
) -> Result<(i64, Vec<String>), StoreError> {
    let mut messages = 0;
    let mut files = Vec::new();
    for id in conversations {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE conversation_id = $1")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
        messages += count;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM uploads WHERE conversation_id = $1")
                .bind(id)
                .fetch_all(&mut **tx)
                .await?;
        files.extend(ids);
    }
    if let Some(contact) = contact {
        let unsent: Vec<String> = sqlx::query_scalar(
            "DELETE FROM uploads WHERE uploader_kind = 'contact' AND uploader_id = $1
                 AND conversation_id IS NULL
             RETURNING id",
        )
        .bind(contact.0)
        .fetch_all(&mut **tx)
        .await?;
        files.extend(unsent);
    }
    // Bytes kept in the database (`MINICOM_FILES=database`) reference no
    // row: they go in this transaction, not after it.
    for id in &files {
        sqlx::query("DELETE FROM upload_blobs WHERE upload_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok((messages, files))
}

/// Records an erasure: when, who asked, how many — never what.
async fn record(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    erased: &Erased,
    by: Eraser,
    at: Timestamp,
) -> Result<(), StoreError> {
    let agent = match by {
        Eraser::Agent(agent) => Some(agent.0),
        _ => None,
    };
    sqlx::query(
        "INSERT INTO erasures (erased_at, erased_by, agent_id, contacts, conversations, messages)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at.0)
    .bind(by.kind())
    .bind(agent)
    .bind(erased.contacts.len() as i64)
    .bind(erased.conversations.len() as i64)
    .bind(erased.messages)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
