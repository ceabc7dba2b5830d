//! Storage: every read and write of durable state goes through [`Store`].
//!
//! One concern per file: `agents` (team members and their sessions), `contacts`
//! (visitors), `conversations` (inbox rows), `messages`, `workflow` (a
//! conversation's state and owner, the inbox's lists and their counts), and
//! `help` (the help center's articles, their history and passages).
//!
//! Two engines sit behind the same methods, chosen by the URL at start: SQLite
//! (`sqlite://…`, the embedded default) and PostgreSQL (`postgres://…`, for
//! several instances). Both run the same SQL through sqlx's `Any` driver,
//! written in what the two share (`$1` parameters, `IS DISTINCT FROM`,
//! `CASE` instead of two-argument `MIN`/`MAX`, `TRUE`/`FALSE`); each has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`) for what they do not.
//! Where correctness depends on who writes first, a write takes the lock
//! before anything is read: SQLite's database-wide write lock, PostgreSQL's
//! row lock on the conversation (or contact, or agent) it changes.
//!
//! Queries are runtime-checked (`sqlx::query_as`), so the crate builds without a
//! live database.

mod agents;
mod api_tokens;
mod assistant;
mod blocks;
mod checkpoint;
mod contacts;
mod conversations;
mod engine;
mod erase;
mod followups;
mod help;
mod labels;
mod mentions;
mod messages;
mod replies;
mod search;
pub mod snapshot;
mod uploads;
mod webhooks;
mod workflow;
mod writer;

pub use agents::{AgentRecord, Role};
pub use api_tokens::TokenGrant;
pub use assistant::Claim;
pub use contacts::{ContactDetails, ContactRecord};
pub use conversations::Reader;
pub use engine::Engine;
pub use erase::{Erased, Eraser, RETENTION_BATCH};
pub use followups::Followup;
pub use help::{NewPassage, PassageHit, StoredArticle};
pub use labels::LabelCreated;
pub use messages::{
    Audience, Author, Change, Changed, Content, Inserted, MessageFacts, PostOptions,
    ReactionChange, RowAfter, VisitorPost,
};
pub use search::{ConversationHit, MessageHit, SearchRow, Terms};
pub use uploads::{FileRecord, NewUpload, UNSENT_BATCH, Uploader};
pub use webhooks::{Attempt, Due, Endpoint, PauseRule};
pub use workflow::{InboxPage, Rated, WOKEN_BY_CLOCK};
pub use writer::Queued;

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::AnyPool;

use crate::protocol::Timestamp;
use engine::Flag;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database URL {0:?} is not supported: use sqlite://path/to/file.db (the embedded default) or postgres://user:password@host/database"
    )]
    UnsupportedUrl(String),
    #[error("could not create the database folder {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("the database writer has stopped (the server is shutting down)")]
    WriterStopped,
    #[error("the write could not be committed: {0}")]
    Commit(String),
    #[error("the visitor already started {0} conversations in the last hour")]
    TooManyConversations(u32),
    #[error("a file the message carries was removed or sent with another message")]
    AttachmentGone,
    #[error(
        "the database {0} is in use by another Minicom process (a running server, `minicom agent`, a backup or a restore): stop it first"
    )]
    InUse(String),
    #[error(
        "could not lock {0}, so whether another process uses the database cannot be told: restore onto a local disk"
    )]
    Unlockable(String),
}

impl StoreError {
    /// What a client is told when storage failed while handling its
    /// request (a socket's frame, an API call): the disk is full, or the
    /// server failed and the request may be retried. The cause goes to the
    /// log, not to the client.
    pub fn refusal(self) -> crate::protocol::ProtocolError {
        if self.is_disk_full() {
            tracing::error!(err = %self, "the database's disk is full: nothing can be stored until space is freed");
            return crate::protocol::ProtocolError::StorageFull;
        }
        tracing::error!(err = %self, "storage failed while handling a request");
        crate::protocol::ProtocolError::Internal
    }

    /// The database's disk is full (SQLite's `SQLITE_FULL`, PostgreSQL's `53100`): nothing was
    /// written, and writes work again once space returns.
    pub fn is_disk_full(&self) -> bool {
        const SQLITE_FULL: &str = "database or disk is full";
        // PostgreSQL's `disk_full`.
        const POSTGRES_FULL: &str = "53100";
        match self {
            Self::Sqlx(err) => {
                err.to_string().contains(SQLITE_FULL)
                    || engine::sqlstate(err).as_deref() == Some(POSTGRES_FULL)
            }
            Self::Commit(message) => message.contains(SQLITE_FULL),
            _ => false,
        }
    }
}

/// The file of a `sqlite://` (or `sqlite:`) URL, without its options.
pub fn database_file(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    path.split('?').next()
}

/// The folder a `sqlite://` database lives in (for files kept beside it).
pub fn data_dir(url: &str) -> std::path::PathBuf {
    std::path::Path::new(database_file(url).unwrap_or(url))
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(
            || std::path::PathBuf::from("."),
            std::path::Path::to_path_buf,
        )
}

/// How hard a commit waits for the disk (SQLite's `synchronous`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Every commit is flushed before it returns: an acknowledged message
    /// survives a power cut. The default.
    Full,
    /// WAL without a flush per commit: survives a crash of Minicom, but a power
    /// cut may lose the last commits — and so acknowledged messages.
    Normal,
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    writer: writer::Writer,
    /// How long each group commit takes (for `/metrics`).
    commit_latency: crate::server::metrics::Histogram,
    /// SQLite: the database is in use while any clone lives (a restore
    /// waits for every process to let go).
    _in_use: Option<std::sync::Arc<snapshot::InUse>>,
}

impl Store {
    /// Opens the database at `url` (creating an SQLite file if needed) and
    /// applies migrations.
    ///
    /// SQLite runs in WAL mode with `synchronous = FULL`: a message is acknowledged
    /// only after its commit reached the disk, so an ack survives a power cut.
    /// Message inserts share commits under load (see `writer`), on either engine.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, Durability::Full).await
    }

    /// Like [`Store::open`], choosing how hard each SQLite commit waits for
    /// the disk.
    pub async fn open_with(url: &str, durability: Durability) -> Result<Self, StoreError> {
        let engine = Engine::of(url)?;
        let in_use = match database_file(url) {
            Some(file) if engine == Engine::Sqlite && !file.is_empty() && file != ":memory:" => {
                Some(std::sync::Arc::new(snapshot::InUse::shared(
                    std::path::Path::new(file),
                )?))
            }
            _ => None,
        };
        let pool = engine.connect(url, durability).await?;
        engine.migrate(&pool).await?;
        let commit_latency = crate::server::metrics::Histogram::default();
        let writer = writer::Writer::start(pool.clone(), engine, commit_latency.clone());
        Ok(Self {
            pool,
            engine,
            writer,
            commit_latency,
            _in_use: in_use,
        })
    }

    /// Which engine stores the data.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A workspace setting, if it was ever set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Sets a workspace setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets a workspace setting unless it is set already; returns the value
    /// kept (several instances starting at once agree on one).
    pub async fn setting_if_absent(&self, key: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        self.setting(key)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("the setting {key} vanished as it was set")))
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Turns the writer's fast path for batches of plain messages off (or
    /// back on): for tests holding it to the one-by-one path, and for
    /// measuring what it gains.
    pub fn set_fast_writes(&self, on: bool) {
        self.writer.set_fast_path(on);
    }

    /// Whether the message writer is running.
    pub fn writer_running(&self) -> bool {
        self.writer.is_running()
    }

    /// The latency of message commits, as the writer records it.
    pub fn commit_latency(&self) -> crate::server::metrics::Histogram {
        self.commit_latency.clone()
    }

    /// Closes every connection, waiting for in-flight queries.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The current time as stored.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(ms)
}
