//! Group commit: every message insert goes through one writer task.
//!
//! Under load, inserts that arrive while a commit is being flushed to disk wait
//! and then share the next transaction, so `synchronous = FULL` costs one disk
//! flush per batch instead of one per message. Each write runs in its own
//! savepoint: one failing write does not undo the others. Every caller hears
//! back only after the commit that holds its write — the ack rule is intact.

use std::sync::Arc;

use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use super::messages::{Author, Inserted, insert_in, visitor_insert_in};
use crate::protocol::{ClientId, ContactId, ConversationId};
use crate::server::metrics::Histogram;

/// Most writes that share one transaction.
const MAX_BATCH: usize = 256;
/// Writes waiting for the writer before callers wait to submit.
const QUEUE: usize = 4_096;

/// One write to perform.
#[derive(Debug)]
pub enum Write {
    Message {
        conversation: ConversationId,
        client_id: ClientId,
        author: Author,
        body: String,
    },
    VisitorMessage {
        contact: ContactId,
        client_id: ClientId,
        body: String,
        /// A conversation this starts is answered by the assistant.
        assistant_answers: bool,
    },
}

struct Job {
    write: Write,
    done: oneshot::Sender<Result<Inserted, StoreError>>,
}

/// The handle callers submit writes through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on `pool`; it stops when every handle is gone.
    pub fn start(pool: SqlitePool, latency: Arc<Histogram>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, queue, latency));
        Self { jobs }
    }

    /// Performs a write and returns once it is committed.
    pub async fn submit(&self, write: Write) -> Result<Inserted, StoreError> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Job { write, done })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        result.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Job>, latency: Arc<Histogram>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = std::time::Instant::now();
        let committed = commit_batch(&pool, &mut batch).await;
        latency.observe(started.elapsed());
        match committed {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.done.send(result);
                }
            }
            Err(err) => {
                tracing::error!(%err, writes = batch.len(), "a batch of writes could not be committed");
                let message = err.to_string();
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(StoreError::Commit(message.clone())));
                }
            }
        }
    }
}

/// Runs every write of the batch in one transaction, each in a savepoint.
async fn commit_batch(
    pool: &SqlitePool,
    batch: &mut [Job],
) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch.iter() {
        let mut savepoint = tx.begin().await?;
        let result = match &job.write {
            Write::Message {
                conversation,
                client_id,
                author,
                body,
            } => insert_in(&mut savepoint, *conversation, *client_id, *author, body).await,
            Write::VisitorMessage {
                contact,
                client_id,
                body,
                assistant_answers,
            } => {
                visitor_insert_in(
                    &mut savepoint,
                    *contact,
                    *client_id,
                    body,
                    *assistant_answers,
                )
                .await
            }
        };
        if result.is_ok() {
            savepoint.commit().await?;
        } else {
            savepoint.rollback().await?;
        }
        results.push(result);
    }
    tx.commit().await?;
    Ok(results)
}
