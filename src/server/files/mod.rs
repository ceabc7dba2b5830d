//! Files in conversations: taking an upload (its type judged from its
//! bytes, pictures read in a bounded pool of blocking threads), keeping it
//! ([`storage`]), serving it only to the people in its conversation
//! ([`http`]), and removing what no message took within an hour.
//!
//! An upload is stored and recorded first; the `send` frame then names it
//! and the message's transaction marks it sent (see `store::uploads`).

pub mod http;
pub mod kind;
pub mod picture;
pub mod storage;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::protocol::{Attachment, ConversationId, Timestamp, clean_file_name};
use crate::server::store::{NewUpload, Store, StoreError, Uploader, now};
use kind::Kind;
use picture::{Picture, PictureError};
pub use storage::{Part, Storage};

/// The limits on files (`MINICOM_FILES_*`), with their defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLimits {
    /// Bytes per file.
    pub max_bytes: u64,
    /// Files per message.
    pub per_message: usize,
    /// Files one person may upload per minute.
    pub per_minute: u32,
    /// Bytes kept per conversation.
    pub conversation_bytes: u64,
}

impl Default for FileLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            per_message: crate::protocol::MAX_ATTACHMENTS,
            per_minute: 20,
            conversation_bytes: 200 * 1024 * 1024,
        }
    }
}

/// How long an upload waits for a message to carry it before it is removed.
pub const UNSENT_KEPT: Duration = Duration::from_secs(3_600);
/// How often unsent uploads are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(300);
/// Uploads read into memory at once, at most (each up to `max_bytes`):
/// what uploads can make the server hold is bounded.
const UPLOADS_AT_ONCE: usize = 16;
/// Uploads one person may have under way at once (so a few cannot hold
/// every turn).
const UPLOADS_PER_PERSON: usize = 3;
/// The slowest an upload may come: past `READ_GRACE` plus its size at this
/// rate it is cut off, and its turn goes to someone else.
const SLOWEST_BYTES_PER_SECOND: u64 = 32 * 1024;
const READ_GRACE: Duration = Duration::from_secs(60);
/// How long an upload waits for its turn before it is refused as busy.
const WAIT_FOR_TURN: Duration = Duration::from_secs(20);
/// Pictures decoded at once (each on a blocking thread).
const PICTURES_AT_ONCE: usize = 2;

/// Why an upload was refused: what the person reads, and the HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("The file is {}; the most accepted is {}.", crate::protocol::human_size(*.0), crate::protocol::human_size(*.1))]
    TooBig(u64, u64),
    #[error("This type of file is not accepted ({}). Send pictures, PDFs, text, office documents or zip archives.", kind::describe(.0))]
    TypeNotAllowed(String),
    #[error("The file is empty.")]
    Empty,
    #[error("{0}.")]
    Picture(#[from] PictureError),
    #[error(
        "You have uploaded {0} files in the last minute, the most allowed. Wait a minute, then try again."
    )]
    TooMany(u32),
    #[error("This conversation already holds {}, the most it may. Delete old files or start a new conversation.", crate::protocol::human_size(*.0))]
    ConversationFull(u64),
    #[error("The server is busy taking other files. Try again in a moment.")]
    Busy,
    #[error("You have {UPLOADS_PER_PERSON} uploads under way already. Wait for one to finish.")]
    TooManyAtOnce,
    #[error("The upload was cut off, or came too slowly, before it ended. Try again.")]
    CutOff,
    #[error("The server could not store the file just now. Try again in a moment.")]
    Failed,
}

impl UploadError {
    pub fn status(&self) -> u16 {
        match self {
            Self::TooBig(..) | Self::ConversationFull(_) => 413,
            Self::TypeNotAllowed(_) => 415,
            Self::Empty | Self::Picture(_) | Self::CutOff => 400,
            Self::TooMany(_) | Self::TooManyAtOnce => 429,
            Self::Busy | Self::Failed => 503,
        }
    }

    /// A stable code the client may match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooBig(..) => "too_big",
            Self::TypeNotAllowed(_) => "type_not_allowed",
            Self::Empty => "empty",
            Self::Picture(PictureError::TooLarge(..)) => "picture_too_large",
            Self::Picture(PictureError::Unreadable(_)) => "picture_unreadable",
            Self::TooMany(_) | Self::TooManyAtOnce => "rate_limited",
            Self::ConversationFull(_) => "conversation_full",
            Self::Busy => "busy",
            Self::CutOff => "cut_off",
            Self::Failed => "internal",
        }
    }
}

/// The file service every handler reaches through `AppState`.
pub struct Files {
    pub storage: Storage,
    pub limits: FileLimits,
    uploads: Semaphore,
    /// Uploads under way per person, on this instance.
    under_way: std::sync::Mutex<std::collections::HashMap<Uploader, usize>>,
    pictures: Arc<Semaphore>,
}

/// One upload's turn: a place among those read at once, and among its
/// uploader's; both given back when it ends.
pub struct Turn<'a> {
    files: &'a Files,
    uploader: Uploader,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Ok(mut under_way) = self.files.under_way.lock()
            && let Some(n) = under_way.get_mut(&self.uploader)
        {
            *n -= 1;
            if *n == 0 {
                under_way.remove(&self.uploader);
            }
        }
    }
}

impl Files {
    pub fn new(storage: Storage, limits: FileLimits) -> Self {
        Self {
            storage,
            limits,
            uploads: Semaphore::new(UPLOADS_AT_ONCE),
            under_way: Default::default(),
            pictures: Arc::new(Semaphore::new(PICTURES_AT_ONCE)),
        }
    }

    /// The files as `MINICOM_FILES` places them (the server's, and the
    /// command line's when it removes some).
    pub fn configured(config: &crate::server::config::Config, store: &Store) -> Self {
        use crate::server::config::FilesAt;
        let storage = match &config.files.storage {
            FilesAt::Default => Self::default_storage(store, &config.database_url),
            FilesAt::Folder(folder) => Storage::Folder(folder.clone()),
            FilesAt::Database => Storage::Database(store.clone()),
        };
        Self::new(storage, config.files.limits.clone())
    }

    /// Where files go by default: a `files` folder beside an SQLite
    /// database; inside a PostgreSQL one (every instance reaches it).
    pub fn default_storage(store: &Store, database_url: &str) -> Storage {
        match store.engine() {
            crate::server::store::Engine::Sqlite => Storage::Folder(default_folder(database_url)),
            crate::server::store::Engine::Postgres => Storage::Database(store.clone()),
        }
    }

    /// Waits for a turn to read `uploader`'s upload into memory.
    pub async fn turn(&self, uploader: Uploader) -> Result<Turn<'_>, UploadError> {
        {
            let mut under_way = self.under_way.lock().map_err(|_| UploadError::Failed)?;
            let n = under_way.entry(uploader).or_default();
            if *n >= UPLOADS_PER_PERSON {
                return Err(UploadError::TooManyAtOnce);
            }
            *n += 1;
        }
        let waited = tokio::time::timeout(WAIT_FOR_TURN, self.uploads.acquire()).await;
        match waited {
            Ok(Ok(permit)) => Ok(Turn {
                files: self,
                uploader,
                _permit: permit,
            }),
            _ => {
                // No turn after all: give the person's place back.
                if let Ok(mut under_way) = self.under_way.lock()
                    && let Some(n) = under_way.get_mut(&uploader)
                {
                    *n = n.saturating_sub(1);
                }
                Err(UploadError::Busy)
            }
        }
    }

    /// How long reading an upload of `size` bytes may take.
    pub fn read_deadline(&self, size: Option<u64>) -> Duration {
        let size = size
            .unwrap_or(self.limits.max_bytes)
            .min(self.limits.max_bytes);
        READ_GRACE + Duration::from_secs(size / SLOWEST_BYTES_PER_SECOND)
    }

    /// Checks the per-person and per-conversation limits before the bytes
    /// are read.
    pub async fn may_upload(
        &self,
        store: &Store,
        uploader: Uploader,
        conversation: Option<ConversationId>,
        declared: Option<u64>,
    ) -> Result<(), UploadError> {
        if let Some(size) = declared
            && size > self.limits.max_bytes
        {
            return Err(UploadError::TooBig(size, self.limits.max_bytes));
        }
        let minute_ago = Timestamp(now().0 - 60_000);
        let recent = store
            .uploads_since(uploader, minute_ago)
            .await
            .map_err(failed)?;
        if recent >= i64::from(self.limits.per_minute) {
            return Err(UploadError::TooMany(self.limits.per_minute));
        }
        let held = store
            .stored_bytes(conversation, uploader)
            .await
            .map_err(failed)?;
        let held = u64::try_from(held).unwrap_or(0);
        if held + declared.unwrap_or(0) > self.limits.conversation_bytes {
            return Err(UploadError::ConversationFull(held));
        }
        Ok(())
    }

    /// Judges, prepares and stores a whole upload, then records it.
    pub async fn keep(
        &self,
        store: &Store,
        uploader: Uploader,
        conversation: Option<ConversationId>,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Attachment, UploadError> {
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        let size = bytes.len() as u64;
        if size > self.limits.max_bytes {
            return Err(UploadError::TooBig(size, self.limits.max_bytes));
        }
        let mime = match kind::judge(&bytes) {
            Kind::Allowed(mime) => mime,
            Kind::Refused(what) => return Err(UploadError::TypeNotAllowed(what)),
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut attachment = Attachment {
            id: id.clone(),
            name: clean_file_name(name),
            size,
            content_type: mime.to_owned(),
            width: None,
            height: None,
        };
        if kind::IMAGES.contains(&mime) {
            let Picture {
                bytes,
                width,
                height,
                thumb,
            } = self.picture(bytes, mime).await?;
            attachment.size = bytes.len() as u64;
            attachment.content_type = picture::stored_type(mime).to_owned();
            attachment.width = Some(width);
            attachment.height = Some(height);
            let stored = match self.storage.put(&id, Part::Thumb, &thumb).await {
                Ok(()) => self.storage.put(&id, Part::File, &bytes).await,
                Err(err) => Err(err),
            };
            if let Err(err) = stored {
                let _ = self.storage.remove(&id).await;
                return Err(failed(err));
            }
        } else {
            self.storage
                .put(&id, Part::File, &bytes)
                .await
                .map_err(failed)?;
        }
        let upload = NewUpload {
            attachment: attachment.clone(),
            uploader,
            conversation,
        };
        if let Err(err) = store.add_upload(&upload).await {
            let _ = self.storage.remove(&id).await;
            return Err(failed(err));
        }
        Ok(attachment)
    }

    /// Reads a picture on a blocking thread, a few at a time.
    async fn picture(&self, bytes: Vec<u8>, mime: &'static str) -> Result<Picture, UploadError> {
        let _turn = self
            .pictures
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| UploadError::Busy)?;
        tokio::task::spawn_blocking(move || picture::prepare(&bytes, mime))
            .await
            .map_err(|err| {
                tracing::error!(%err, "reading a picture stopped");
                UploadError::Failed
            })?
            .map_err(UploadError::Picture)
    }

    /// Removes the bytes of files whose records are gone (a deleted message's).
    pub async fn forget(&self, ids: Vec<String>) {
        for id in ids {
            if let Err(err) = self.storage.remove(&id).await {
                tracing::warn!(%err, file = %id, "could not remove a deleted message's file; it stays on disk");
            }
        }
    }

    /// Removes the uploads no message took that were stored before
    /// `before`; returns how many went.
    pub async fn sweep(&self, store: &Store, before: Timestamp) -> Result<usize, StoreError> {
        let mut removed = 0;
        loop {
            let batch = store.unsent_before(before).await?;
            let last = batch.len() < crate::server::store::UNSENT_BATCH;
            for id in batch {
                if store.remove_unsent(&id).await? {
                    if let Err(err) = self.storage.remove(&id).await {
                        tracing::warn!(%err, file = %id, "could not remove an unsent upload's bytes");
                    }
                    removed += 1;
                }
            }
            if last {
                return Ok(removed);
            }
        }
    }
}

fn failed(err: impl std::fmt::Display) -> UploadError {
    tracing::error!(%err, "could not store an upload");
    UploadError::Failed
}

/// Removes unsent uploads an hour old, every few minutes, until the server
/// stops.
pub async fn run_sweeper(
    files: Arc<Files>,
    store: Store,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = async { let _ = shutdown.wait_for(|stopping| *stopping).await; } => return,
        }
        let before = Timestamp(now().0 - UNSENT_KEPT.as_millis() as i64);
        match files.sweep(&store, before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                removed = n,
                "removed uploads no message took within an hour"
            ),
            Err(err) => tracing::warn!(%err, "could not look for unsent uploads; will try again"),
        }
    }
}

/// The `files` folder beside an SQLite database, where its files go unless
/// `MINICOM_FILES` says otherwise.
pub fn default_folder(database_url: &str) -> std::path::PathBuf {
    crate::server::store::data_dir(database_url).join("files")
}
