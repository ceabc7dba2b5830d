//! Uploads: the record of each stored file (who uploaded it, for which
//! conversation, which message carries it), and where files are kept in the
//! database (PostgreSQL's default) the bytes themselves (`upload_blobs`), so
//! that every instance reaches every file.

use sqlx::{Any, Row, Transaction};

use super::engine::flag;
use super::{Store, StoreError, now};
use crate::protocol::{
    AgentId, Attachment, ClientId, ContactId, ConversationId, MessageId, Timestamp,
};

/// Unsent uploads [`Store::unsent_before`] lists at a time.
pub const UNSENT_BATCH: usize = 500;

/// Who uploaded a file: only they may send it, and until it is sent only
/// they may download it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Uploader {
    Contact(ContactId),
    Agent(AgentId),
}

impl Uploader {
    fn kind(self) -> &'static str {
        match self {
            Self::Contact(_) => "contact",
            Self::Agent(_) => "agent",
        }
    }

    fn id(self) -> i64 {
        match self {
            Self::Contact(c) => c.0,
            Self::Agent(a) => a.0,
        }
    }
}

/// A file whose bytes are stored, to record.
#[derive(Clone, Debug)]
pub struct NewUpload {
    pub attachment: Attachment,
    pub uploader: Uploader,
    /// `None`: a visitor's file for the conversation their message starts.
    pub conversation: Option<ConversationId>,
}

/// What serving a file must know about it.
#[derive(Clone, Debug)]
pub struct FileRecord {
    pub attachment: Attachment,
    pub uploader: Uploader,
    /// The visitor whose conversation it is in, once known.
    pub contact: Option<ContactId>,
    /// The message carrying it (`None` while unsent).
    pub message: Option<MessageId>,
    /// The message is the team's only (a note).
    pub internal: bool,
}

const UPLOAD_COLUMNS: &str = "u.id, u.name, u.content_type, u.size, u.width, u.height";

fn attachment_from(row: &sqlx::any::AnyRow) -> Result<Attachment, StoreError> {
    let dimension = |name: &str| -> Result<Option<u32>, StoreError> {
        Ok(row
            .try_get::<Option<i64>, _>(name)?
            .and_then(|n| u32::try_from(n).ok()))
    };
    Ok(Attachment {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        size: u64::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0),
        content_type: row.try_get("content_type")?,
        width: dimension("width")?,
        height: dimension("height")?,
    })
}

impl Store {
    /// Records a stored file.
    pub async fn add_upload(&self, upload: &NewUpload) -> Result<(), StoreError> {
        let a = &upload.attachment;
        sqlx::query(
            "INSERT INTO uploads (id, uploader_kind, uploader_id, conversation_id, name,
                content_type, size, width, height, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&a.id)
        .bind(upload.uploader.kind())
        .bind(upload.uploader.id())
        .bind(upload.conversation.map(|c| c.0))
        .bind(&a.name)
        .bind(&a.content_type)
        .bind(i64::try_from(a.size).unwrap_or(i64::MAX))
        .bind(a.width.map(i64::from))
        .bind(a.height.map(i64::from))
        .bind(now().0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many files `uploader` stored since `since` (the per-minute limit,
    /// counted in the database so that every instance counts the same).
    pub async fn uploads_since(
        &self,
        uploader: Uploader,
        since: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM uploads
             WHERE uploader_kind = $1 AND uploader_id = $2 AND created_at > $3",
        )
        .bind(uploader.kind())
        .bind(uploader.id())
        .bind(since.0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Bytes stored for `conversation` (sent and waiting to be sent), or for
    /// a visitor's files waiting for their first conversation.
    pub async fn stored_bytes(
        &self,
        conversation: Option<ConversationId>,
        uploader: Uploader,
    ) -> Result<i64, StoreError> {
        let total: Option<i64> = match conversation {
            Some(c) => {
                sqlx::query_scalar(
                    "SELECT CAST(SUM(size) AS BIGINT) FROM uploads WHERE conversation_id = $1",
                )
                .bind(c.0)
                .fetch_one(&self.pool)
                .await?
            }
            None => {
                sqlx::query_scalar(
                    "SELECT CAST(SUM(size) AS BIGINT) FROM uploads
                     WHERE uploader_kind = $1 AND uploader_id = $2 AND message_id IS NULL",
                )
                .bind(uploader.kind())
                .bind(uploader.id())
                .fetch_one(&self.pool)
                .await?
            }
        };
        Ok(total.unwrap_or(0))
    }

    /// The files `ids` names, in that order, if every one is `uploader`'s,
    /// unsent (or sent with message `client_id`: a resend), and (for a teammate's) uploaded to `conversation`. A
    /// visitor's may have been uploaded to any of their conversations or
    /// before one started: the message lands in their current one.
    pub async fn unsent_uploads(
        &self,
        ids: &[String],
        uploader: Uploader,
        conversation: Option<ConversationId>,
        client_id: ClientId,
    ) -> Result<Option<Vec<Attachment>>, StoreError> {
        if ids.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let list = (5..5 + ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads u
             WHERE u.uploader_kind = $1 AND u.uploader_id = $2
               AND (u.message_id IS NULL OR EXISTS
                    (SELECT 1 FROM messages m WHERE m.id = u.message_id AND m.client_id = $4))
               AND ($3 IS NULL OR u.conversation_id = $3)
               AND u.id IN ({list})"
        );
        let agent_conversation = match uploader {
            Uploader::Agent(_) => conversation.map(|c| c.0),
            Uploader::Contact(_) => None,
        };
        let mut query = sqlx::query(&sql)
            .bind(uploader.kind())
            .bind(uploader.id())
            .bind(agent_conversation)
            .bind(client_id.0.to_string());
        for id in ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let found: Vec<Attachment> = rows.iter().map(attachment_from).collect::<Result<_, _>>()?;
        let mut ordered = Vec::with_capacity(ids.len());
        for id in ids {
            match found.iter().find(|a| &a.id == id) {
                // The same file twice is one file.
                Some(a) if !ordered.contains(a) => ordered.push(a.clone()),
                Some(_) => {}
                None => return Ok(None),
            }
        }
        Ok(Some(ordered))
    }

    /// One file and what deciding who may see it needs.
    pub async fn file_record(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {UPLOAD_COLUMNS}, u.uploader_kind, u.uploader_id, u.message_id,
                c.contact_id, COALESCE(m.internal, FALSE) AS internal
             FROM uploads u
             LEFT JOIN conversations c ON c.id = u.conversation_id
             LEFT JOIN messages m ON m.id = u.message_id
             WHERE u.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let kind: String = row.try_get("uploader_kind")?;
        let uploader_id: i64 = row.try_get("uploader_id")?;
        let uploader = match kind.as_str() {
            "agent" => Uploader::Agent(AgentId(uploader_id)),
            _ => Uploader::Contact(ContactId(uploader_id)),
        };
        let internal = flag(&row, "internal")?;
        Ok(Some(FileRecord {
            attachment: attachment_from(&row)?,
            uploader,
            contact: row.try_get::<Option<i64>, _>("contact_id")?.map(ContactId),
            message: row.try_get::<Option<i64>, _>("message_id")?.map(MessageId),
            internal,
        }))
    }

    /// Files no message took and stored before `before`, oldest first, at
    /// most [`UNSENT_BATCH`]: to remove.
    pub async fn unsent_before(&self, before: Timestamp) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM uploads WHERE message_id IS NULL AND created_at < $1
             ORDER BY created_at LIMIT $2",
        )
        .bind(before.0)
        .bind(UNSENT_BATCH as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Forgets an unsent file (its bytes are removed by the caller); false
    /// when a message took it meanwhile.
    pub async fn remove_unsent(&self, id: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM uploads WHERE id = $1 AND message_id IS NULL")
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }

    /// Stores a file's bytes in the database (`part`: `file` or `thumb`).
    pub async fn put_blob(&self, id: &str, part: &str, data: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO upload_blobs (upload_id, part, data) VALUES ($1, $2, $3)
             ON CONFLICT (upload_id, part) DO UPDATE SET data = excluded.data",
        )
        .bind(id)
        .bind(part)
        .bind(data)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `len` bytes of a stored file from byte `start` (fewer at its end);
    /// `None` when there is no such file.
    pub async fn blob_range(
        &self,
        id: &str,
        part: &str,
        start: u64,
        len: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        // Both engines count from 1.
        Ok(sqlx::query_scalar(
            "SELECT substr(data, CAST($3 AS INTEGER), CAST($4 AS INTEGER)) FROM upload_blobs
             WHERE upload_id = $1 AND part = $2",
        )
        .bind(id)
        .bind(part)
        .bind(i64::try_from(start + 1).unwrap_or(i64::MAX))
        .bind(i64::try_from(len).unwrap_or(i64::MAX))
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The size of a stored part, if there is one.
    pub async fn blob_size(&self, id: &str, part: &str) -> Result<Option<u64>, StoreError> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(length(data) AS BIGINT) FROM upload_blobs WHERE upload_id = $1 AND part = $2",
        )
        .bind(id)
        .bind(part)
        .fetch_optional(&self.pool)
        .await?;
        Ok(size.and_then(|s| u64::try_from(s).ok()))
    }

    /// Removes a file's stored bytes (every part).
    pub async fn delete_blobs(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM upload_blobs WHERE upload_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Marks `attachments` sent with message `message`, in the message's
/// transaction. Fails (and so does the message) when one was removed or
/// another message took it since the socket checked.
pub(super) async fn attach_in(
    tx: &mut Transaction<'_, Any>,
    conversation: ConversationId,
    message: i64,
    attachments: &[Attachment],
) -> Result<(), StoreError> {
    if attachments.is_empty() {
        return Ok(());
    }
    let list = (3..3 + attachments.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE uploads SET message_id = $1, conversation_id = $2
         WHERE message_id IS NULL AND id IN ({list})"
    );
    let mut query = sqlx::query(&sql).bind(message).bind(conversation.0);
    for a in attachments {
        query = query.bind(&a.id);
    }
    let taken = query.execute(&mut **tx).await?.rows_affected();
    if taken != attachments.len() as u64 {
        return Err(StoreError::AttachmentGone);
    }
    Ok(())
}

/// Forgets the files of a deleted message, in its transaction; returns
/// their ids, whose bytes the caller removes after the commit.
pub(super) async fn detach_in(
    tx: &mut Transaction<'_, Any>,
    message: i64,
) -> Result<Vec<String>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM uploads WHERE message_id = $1")
        .bind(message)
        .fetch_all(&mut **tx)
        .await?;
    if !ids.is_empty() {
        sqlx::query("DELETE FROM uploads WHERE message_id = $1")
            .bind(message)
            .execute(&mut **tx)
            .await?;
    }
    Ok(ids)
}
