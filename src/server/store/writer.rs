//! Group commit: every message insert goes through a writer task (one on
//! SQLite; on PostgreSQL a few, see [`Writer`]).
//!
//! Under load, inserts that arrive while a commit is being flushed to disk wait
//! and then share the next transaction, so `synchronous = FULL` costs one disk
//! flush per batch instead of one per message. A batch first runs plainly (each
//! statement is a round trip to the database, so fewer is faster); if any
//! write in it fails, the batch is rolled back and run again with a savepoint
//! per write, so one failing write never undoes the others. Every caller
//! hears back only after the commit that holds its write — the ack rule is
//! intact. What every visitor's write must first know (their current
//! conversation, whether they sent this message before) is read for the
//! whole batch at once: one statement locks, one reads ([`Visitors::lock`]).
//!
//! A batch of only plain messages is written in a fixed number of
//! statements (`messages::batch`); anything else, message by message. A
//! visitor's last-seen time (their last tab closed) is written here too,
//! folded into the batch's locking statement: a thousand visitors leaving
//! at once share a few batches (one statement each), not a thousand commits
//! queued in front of messages for SQLite's one write lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::{Acquire, AnyPool};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use super::checkpoint::Checkpointer;
use super::engine::Engine;
use super::engine::is_transient;
use super::messages::{
    Author, Inserted, Plain, PostOptions, VisitorPost, Visitors, insert_in, post_plain,
    visitor_insert_in,
};
use crate::protocol::{Attachment, ClientId, ContactId, ConversationId, SenderKind, Timestamp};
use crate::server::metrics::Histogram;

/// Most writes that share one transaction.
const MAX_BATCH: usize = 256;
/// Writes waiting for the writer before callers wait to submit.
const QUEUE: usize = 4_096;
/// How often a batch PostgreSQL aborted (a deadlock with another instance's,
/// a row lock waited for too long) is tried: together longer than the
/// server takes to end a vanished instance's open transaction (see
/// `engine`), so a lock such an instance left is outlived.
const MAX_ATTEMPTS: u32 = 4;
/// How long a write waits for a row lock on PostgreSQL before its batch
/// runs again.
const LOCK_WAIT: &str = "SET LOCAL lock_timeout = '5s'";

/// One write to perform.
#[derive(Debug)]
pub enum Write {
    Message {
        conversation: ConversationId,
        /// The conversation's visitor: what orders the write (see
        /// [`Write::key`]).
        contact: ContactId,
        client_id: ClientId,
        author: Author,
        body: String,
        /// Files it carries (uploads the sender's socket checked).
        attachments: Vec<Attachment>,
        options: PostOptions,
    },
    VisitorMessage {
        contact: ContactId,
        client_id: ClientId,
        body: String,
        attachments: Vec<Attachment>,
        post: VisitorPost,
    },
}

/// What the writer tasks are asked to do.
enum Job {
    Write {
        write: Write,
        done: oneshot::Sender<Result<Inserted, StoreError>>,
    },
    /// A visitor was last seen now; answered with the time recorded.
    Seen {
        contact: ContactId,
        done: oneshot::Sender<Result<Timestamp, StoreError>>,
    },
}

impl Job {
    fn key(&self) -> i64 {
        match self {
            Self::Write { write, .. } => write.key(),
            Self::Seen { contact, .. } => contact.0,
        }
    }
}

impl Write {
    /// What orders this write: the visitor whose conversations it touches.
    /// Every write to one visitor's conversations, theirs and the team's,
    /// goes to one writer task, in the order it was queued; and two tasks'
    /// batches never lock the same rows, so they never wait on each other.
    fn key(&self) -> i64 {
        match self {
            Self::Message { contact, .. } | Self::VisitorMessage { contact, .. } => contact.0,
        }
    }
}

/// The handle callers submit writes through; cheap to clone.
///
/// SQLite takes one writer at a time, so it gets one writer task. PostgreSQL
/// locks rows, not the database: there several writer tasks commit batches
/// side by side on their own connections, each write going to the task its
/// visitor (or conversation) always goes to, so their order holds. While
/// one batch waits for its round trips to the server, the others use them.
#[derive(Clone)]
pub struct Writer {
    shards: Arc<[mpsc::Sender<Job>]>,
    /// Whether batches of plain messages take the fast path (always, but
    /// for tests and benchmarks comparing it with the one-by-one path).
    fast: Arc<AtomicBool>,
}

impl Writer {
    /// Starts the engine's writer tasks on `pool`; they stop when every
    /// handle is gone.
    pub fn start(pool: AnyPool, engine: Engine, latency: Histogram) -> Self {
        let fast = Arc::new(AtomicBool::new(true));
        let shards = (0..engine.writers())
            .map(|_| spawn_shard(pool.clone(), engine, latency.clone(), fast.clone()).0)
            .collect();
        Self { shards, fast }
    }

    /// Turns the fast path for batches of plain messages on or off: the
    /// one-by-one path alone is the reference the fast path is tested
    /// against.
    pub fn set_fast_path(&self, on: bool) {
        self.fast.store(on, Ordering::Relaxed);
    }

    /// Whether the writer tasks still take writes (`/readyz`: a dead writer
    /// means messages cannot be stored).
    pub fn is_running(&self) -> bool {
        self.shards.iter().all(|jobs| !jobs.is_closed())
    }

    /// Queues a write (a visitor's writes, and a conversation's, are
    /// performed in the order they are queued) and returns at once;
    /// [`Queued::committed`] waits for its commit.
    pub async fn enqueue(&self, write: Write) -> Result<Queued, StoreError> {
        let (done, result) = oneshot::channel();
        self.submit(Job::Write { write, done }).await?;
        Ok(Queued(result))
    }

    /// Records that a visitor was last seen now, in the next batch; returns
    /// the time recorded once it is committed.
    pub async fn seen(&self, contact: ContactId) -> Result<Timestamp, StoreError> {
        let (done, result) = oneshot::channel();
        self.submit(Job::Seen { contact, done }).await?;
        result.await.map_err(|_| StoreError::WriterStopped)?
    }

    async fn submit(&self, job: Job) -> Result<(), StoreError> {
        let shard = job.key().unsigned_abs() as usize % self.shards.len();
        self.shards[shard]
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)
    }
}

/// A write in the writer's queue.
pub struct Queued(oneshot::Receiver<Result<Inserted, StoreError>>);

impl Queued {
    /// The write's result, once its transaction is committed.
    pub async fn committed(self) -> Result<Inserted, StoreError> {
        self.0.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// Starts one writer task; its queue closes when the task ends, whyever it
/// ends (a panic included), which is how [`Writer::is_running`] knows.
fn spawn_shard(
    pool: AnyPool,
    engine: Engine,
    latency: Histogram,
    fast: Arc<AtomicBool>,
) -> (mpsc::Sender<Job>, tokio::task::JoinHandle<()>) {
    let (jobs, queue) = mpsc::channel(QUEUE);
    let task = tokio::spawn(run(pool, engine, queue, latency, fast));
    (jobs, task)
}

async fn run(
    pool: AnyPool,
    engine: Engine,
    mut queue: mpsc::Receiver<Job>,
    latency: Histogram,
    fast: Arc<AtomicBool>,
) {
    let checkpointer = (engine == Engine::Sqlite).then(|| Checkpointer::start(pool.clone()));
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut seen = Vec::new();
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        for job in jobs.drain(..) {
            match job {
                Job::Write { write, done } => batch.push((write, done)),
                Job::Seen { contact, done } => seen.push((contact, done)),
            }
        }
        let started = std::time::Instant::now();
        let writes: Vec<&Write> = batch.iter().map(|(write, _)| write).collect();
        let contacts: Vec<ContactId> = seen.iter().map(|(contact, _)| *contact).collect();
        let fast_path = fast.load(Ordering::Relaxed);
        let committed = commit_batch(&pool, engine, &writes, &contacts, fast_path).await;
        let took = started.elapsed();
        latency.observe(took);
        // For reading a latency spike against the batches and checkpoints
        // around it (MINICOM_LOG=minicom::server::store=trace).
        tracing::trace!(
            writes = batch.len(),
            seen = seen.len(),
            took_us = took.as_micros() as u64,
            "batch committed"
        );
        match committed {
            Ok((results, at)) => {
                if let Some(checkpointer) = &checkpointer {
                    checkpointer.committed();
                }
                for ((_, done), result) in batch.drain(..).zip(results) {
                    let _ = done.send(result);
                }
                for (_, done) in seen.drain(..) {
                    let _ = done.send(Ok(at));
                }
            }
            Err(err) => {
                tracing::error!(%err, writes = batch.len(), "a batch of writes could not be committed");
                let message = err.to_string();
                for (_, done) in batch.drain(..) {
                    let _ = done.send(Err(StoreError::Commit(message.clone())));
                }
                for (_, done) in seen.drain(..) {
                    let _ = done.send(Err(StoreError::Commit(message.clone())));
                }
            }
        }
    }
}

/// Each write's result, and when the batch's visitors were last seen.
type Committed = (Vec<Result<Inserted, StoreError>>, Timestamp);

/// Runs every write of the batch in one transaction, and records the
/// visitors `seen`. On PostgreSQL, a batch that crossed another
/// instance's (a deadlock between their conversation locks) is aborted by
/// the server and run again.
async fn commit_batch(
    pool: &AnyPool,
    engine: Engine,
    batch: &[&Write],
    seen: &[ContactId],
    fast: bool,
) -> Result<Committed, StoreError> {
    let mut attempt = 1;
    loop {
        let tried = if fast {
            commit_fast(pool, engine, batch, seen).await
        } else {
            Ok(None)
        };
        let committed = match tried {
            Ok(Some(committed)) => Ok(committed),
            Ok(None) => match commit_plain(pool, engine, batch, seen).await {
                Ok(Some(committed)) => Ok(committed),
                Ok(None) => commit_isolated(pool, engine, batch, seen).await,
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        };
        match committed {
            Err(StoreError::Sqlx(err)) if is_transient(&err) && attempt < MAX_ATTEMPTS => {
                tracing::debug!(%err, attempt, "a batch of writes crossed another; running it again");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Opens a batch's transaction; on PostgreSQL, one whose writes wait for a
/// row lock only so long (`LOCK_WAIT`).
async fn begin(
    pool: &AnyPool,
    engine: Engine,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
    let mut tx = pool.begin().await?;
    if engine == Engine::Postgres {
        sqlx::query(LOCK_WAIT).execute(&mut *tx).await?;
    }
    Ok(tx)
}

/// The usual path: all writes in one transaction, message by message;
/// `None` (and nothing written) when one of them fails.
async fn commit_plain(
    pool: &AnyPool,
    engine: Engine,
    batch: &[&Write],
    seen: &[ContactId],
) -> Result<Option<Committed>, StoreError> {
    let mut tx = begin(pool, engine).await?;
    let mut visitors = match lock_visitors(&mut tx, batch, seen).await {
        Ok(visitors) => visitors,
        Err(err) => {
            tx.rollback().await?;
            return Err(err);
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    for write in batch {
        match perform(&mut tx, write, &mut visitors).await {
            Ok(inserted) => results.push(Ok(inserted)),
            Err(StoreError::Sqlx(err)) if is_transient(&err) => {
                tx.rollback().await?;
                return Err(StoreError::Sqlx(err));
            }
            Err(err) => {
                if matches!(err, StoreError::TooManyConversations(_)) {
                    tracing::debug!(%err, "a write was refused; retrying its batch one savepoint per write");
                } else {
                    tracing::warn!(%err, "a write failed; retrying its batch one savepoint per write");
                }
                tx.rollback().await?;
                return Ok(None);
            }
        }
    }
    tx.commit().await?;
    Ok(Some((results, visitors.at)))
}

/// The careful path: each write in its own savepoint; one that fails, for
/// whatever reason, fails alone.
async fn commit_isolated(
    pool: &AnyPool,
    engine: Engine,
    batch: &[&Write],
    seen: &[ContactId],
) -> Result<Committed, StoreError> {
    let mut tx = begin(pool, engine).await?;
    let mut visitors = lock_visitors(&mut tx, batch, seen).await?;
    let mut results = Vec::with_capacity(batch.len());
    for write in batch {
        let mut savepoint = tx.begin().await?;
        let result = perform(&mut savepoint, write, &mut visitors).await;
        if result.is_ok() {
            savepoint.commit().await?;
        } else {
            savepoint.rollback().await?;
        }
        results.push(result);
    }
    tx.commit().await?;
    Ok((results, visitors.at))
}

/// Locks the batch's visitors and reads what their writes need, at once;
/// records the visitors `seen` in the same statement.
async fn lock_visitors(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    batch: &[&Write],
    seen: &[ContactId],
) -> Result<Visitors, StoreError> {
    let writes: Vec<_> = batch
        .iter()
        .filter_map(|write| match write {
            Write::VisitorMessage {
                contact, client_id, ..
            } => Some((*contact, *client_id)),
            Write::Message { .. } => None,
        })
        .collect();
    Visitors::lock(tx, &writes, seen).await
}

/// The fast path: a batch of plain messages (see `messages::batch`) in a
/// fixed number of statements. `None` (and nothing written) when the batch
/// holds anything else; the caller then takes the paths above.
async fn commit_fast(
    pool: &AnyPool,
    engine: Engine,
    batch: &[&Write],
    seen: &[ContactId],
) -> Result<Option<Committed>, StoreError> {
    if batch.is_empty() || !batch.iter().all(|write| looks_plain(write)) {
        return Ok(None);
    }
    let mut tx = begin(pool, engine).await?;
    let written = match lock_visitors(&mut tx, batch, seen).await {
        Ok(visitors) => match plain_writes(batch, &visitors) {
            Some(plain) => post_plain(&mut tx, &plain)
                .await
                .map(|inserted| inserted.map(|inserted| (inserted, visitors.at))),
            None => Ok(None),
        },
        Err(err) => Err(err),
    };
    match written {
        Ok(Some((inserted, at))) => {
            tx.commit().await?;
            Ok(Some((inserted.into_iter().map(Ok).collect(), at)))
        }
        Ok(None) => {
            tx.rollback().await?;
            Ok(None)
        }
        Err(StoreError::Sqlx(err)) if is_transient(&err) => {
            tx.rollback().await?;
            Err(StoreError::Sqlx(err))
        }
        // Whatever failed fails again on the paths that isolate each write,
        // where it fails alone.
        Err(err) => {
            tracing::warn!(%err, "a batch of messages failed on the fast path; writing it message by message");
            tx.rollback().await?;
            Ok(None)
        }
    }
}

/// Whether a write may be plain, before anything is read: text from a
/// visitor or a teammate, not a note, no files.
fn looks_plain(write: &Write) -> bool {
    match write {
        Write::Message {
            author,
            attachments,
            options,
            ..
        } => {
            matches!(author.kind, SenderKind::Contact | SenderKind::Agent)
                && author.id.is_some()
                && attachments.is_empty()
                && !options.internal
                && options.sources.is_empty()
        }
        Write::VisitorMessage {
            attachments, post, ..
        } => attachments.is_empty() && !post.new_conversation,
    }
}

/// The batch as plain messages, once the visitors' conversations are
/// known: `None` if a visitor's message would start a conversation or was
/// sent before, if a visitor writes to "my current conversation" after a
/// message named one of their conversations in the same batch (that may
/// change which one is current), or if one `client_id` comes twice.
fn plain_writes<'a>(batch: &[&'a Write], visitors: &Visitors) -> Option<Vec<Plain<'a>>> {
    let mut named = std::collections::HashSet::new();
    let mut sent = std::collections::HashSet::new();
    let mut plain = Vec::with_capacity(batch.len());
    for write in batch {
        let p = match write {
            Write::Message {
                conversation,
                contact,
                client_id,
                author,
                body,
                options,
                ..
            } => {
                named.insert(*contact);
                Plain {
                    conversation: *conversation,
                    client_id: *client_id,
                    author: *author,
                    body,
                    assign_on_reply: options.assign_on_reply,
                }
            }
            Write::VisitorMessage {
                contact,
                client_id,
                body,
                ..
            } => {
                let known = visitors.known(*contact, *client_id)?;
                if known.earlier.is_some() || named.contains(contact) {
                    return None;
                }
                Plain {
                    conversation: ConversationId(known.current?),
                    client_id: *client_id,
                    author: Author::contact(*contact),
                    body,
                    assign_on_reply: false,
                }
            }
        };
        if !sent.insert((p.conversation, p.client_id)) {
            return None;
        }
        plain.push(p);
    }
    Some(plain)
}

async fn perform(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    write: &Write,
    visitors: &mut Visitors,
) -> Result<Inserted, StoreError> {
    match write {
        Write::Message {
            conversation,
            contact,
            client_id,
            author,
            body,
            attachments,
            options,
        } => {
            visitors.forget(*contact);
            let content = (body.as_str(), attachments.as_slice());
            insert_in(
                tx,
                *conversation,
                *client_id,
                *author,
                content,
                options.clone(),
            )
            .await
        }
        Write::VisitorMessage {
            contact,
            client_id,
            body,
            attachments,
            post,
        } => {
            let known = visitors.known(*contact, *client_id);
            let content = (body.as_str(), attachments.as_slice());
            let inserted =
                visitor_insert_in(tx, *contact, *client_id, content, *post, known).await?;
            visitors.wrote(*contact, &inserted);
            Ok(inserted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/readyz` reads [`Writer::is_running`]: a writer task that ended
    /// (here cancelled; a panic ends it the same way) must show, and a write
    /// queued to it must fail at once rather than wait for ever.
    #[tokio::test]
    async fn a_writer_task_that_ended_is_reported_stopped() {
        sqlx::any::install_default_drivers();
        let pool = AnyPool::connect("sqlite::memory:").await.unwrap();
        let latency = Histogram::default();
        let fast = Arc::new(AtomicBool::new(true));
        let (alive, _task) =
            spawn_shard(pool.clone(), Engine::Sqlite, latency.clone(), fast.clone());
        let (dying, task) = spawn_shard(pool, Engine::Sqlite, latency, fast.clone());
        let writer = Writer {
            shards: vec![alive, dying].into(),
            fast,
        };
        assert!(writer.is_running());
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(!writer.is_running(), "one dead task is enough to stop");
        // Contact 1 goes to the second task, the dead one.
        let write = Write::VisitorMessage {
            contact: ContactId(1),
            client_id: ClientId::new(),
            body: "hello".into(),
            attachments: Vec::new(),
            post: VisitorPost::default(),
        };
        assert!(matches!(
            writer.enqueue(write).await,
            Err(StoreError::WriterStopped)
        ));
    }
}
