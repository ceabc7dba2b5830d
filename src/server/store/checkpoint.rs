//! SQLite's checkpoints, off the writer's path.
//!
//! In WAL mode every commit appends pages to the log, and a checkpoint
//! copies them back into the database file. SQLite runs one itself inside
//! whichever commit crosses `wal_autocheckpoint` pages, and that commit then
//! waits for the copy and a second flush: under load every other batch of
//! messages took three times as long (docs/performance.md). Here a task on
//! a connection of its own checkpoints after commits instead, at most
//! every [`MIN_INTERVAL`] (`PASSIVE`: it never waits for the writer or
//! readers), so batches only append; SQLite's own checkpoint stays as a backstop
//! ([`AUTOCHECKPOINT_BACKSTOP`]) should this task fall far behind.

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::Notify;

/// Pages in the log past which a commit checkpoints by itself (SQLite's
/// default is 1,000): about 40 MiB of 4 KiB pages.
pub(super) const AUTOCHECKPOINT_BACKSTOP: u32 = 10_000;

/// The least time between two checkpoints. Each one flushes the database
/// file to disk beside the commits' own flushes; at low load a checkpoint
/// after every small commit would double the flushes for little gain.
/// Requests made meanwhile wait and count as one; under load the log grows
/// by at most this much writing between checkpoints.
const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Asks for a checkpoint after commits; dropping it stops the task.
pub(super) struct Checkpointer {
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the task on `pool`, on the current runtime.
    pub(super) fn start(pool: AnyPool) -> Self {
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(pool, wake.clone()));
        Self { wake, task }
    }

    /// A batch was committed: checkpoint soon (see [`MIN_INTERVAL`]).
    pub(super) fn committed(&self) {
        self.wake.notify_one();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(pool: AnyPool, wake: Arc<Notify>) {
    let mut failing = false;
    loop {
        wake.notified().await;
        let started = std::time::Instant::now();
        let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        if let Ok((_, log_pages, copied)) = &done {
            tracing::trace!(
                log_pages,
                copied,
                took_us = started.elapsed().as_micros() as u64,
                "checkpoint"
            );
        }
        match done {
            Ok(_) if failing => {
                failing = false;
                tracing::info!("the database's log is checkpointed again");
            }
            Ok(_) => {}
            // Said once per spell: SQLite's own checkpoint still runs past
            // the backstop.
            Err(err) if !failing => {
                failing = true;
                tracing::warn!(%err, "could not checkpoint the database's log; SQLite will when it grows past the backstop");
            }
            Err(_) => {}
        }
        tokio::time::sleep(MIN_INTERVAL).await;
    }
}
