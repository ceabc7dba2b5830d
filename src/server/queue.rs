//! A socket's outgoing queue, bounded in bytes rather than frames.
//!
//! A frame can be a few bytes (`pong`) or a 256 KiB history page; a bound in
//! frames would let one socket hold gigabytes. Every socket gets a byte
//! budget instead: the hub's deliveries that do not fit cut the socket off
//! (it resumes and misses nothing), and the socket's own replies wait for
//! room, so a client that does not read only slows itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{Notify, mpsc};

/// What each queued frame costs beyond its bytes (the queue's own bookkeeping),
/// so a flood of tiny frames is bounded too.
const FRAME_OVERHEAD: usize = 64;

struct Shared {
    /// Bytes queued and not yet taken by the writer.
    queued: AtomicUsize,
    budget: usize,
    /// Wakes replies waiting for room.
    room: Notify,
}

/// The sending side; cheap to clone (the hub holds one, the socket another).
#[derive(Clone)]
pub struct QueueTx {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Utf8Bytes>,
}

/// The writer's side.
pub struct QueueRx {
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<Utf8Bytes>,
}

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The socket's byte budget is spent: it cannot keep up.
    Full,
    /// The socket is gone.
    Closed,
}

/// A queue that holds at most `budget` bytes (one frame is always accepted
/// into an empty queue, whatever its size).
pub fn queue(budget: usize) -> (QueueTx, QueueRx) {
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        budget,
        room: Notify::new(),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    (
        QueueTx {
            shared: shared.clone(),
            tx,
        },
        QueueRx { shared, rx },
    )
}

fn cost(frame: &Utf8Bytes) -> usize {
    frame.len() + FRAME_OVERHEAD
}

impl QueueTx {
    /// Queues a frame if it fits the budget; never waits.
    pub fn try_send(&self, frame: Utf8Bytes) -> Result<(), Refused> {
        if self.tx.is_closed() {
            return Err(Refused::Closed);
        }
        let cost = cost(&frame);
        let reserved =
            self.shared
                .queued
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                    (queued == 0 || queued + cost <= self.shared.budget).then_some(queued + cost)
                });
        if reserved.is_err() {
            return Err(Refused::Full);
        }
        self.tx.send(frame).map_err(|_| {
            self.shared.queued.fetch_sub(cost, Ordering::AcqRel);
            Refused::Closed
        })
    }

    /// Queues a frame, waiting until at most half the budget is in use (the
    /// other half stays free for live events, so a socket's own replies —
    /// history pages — never push it over and get it cut off); fails only
    /// when the socket is gone.
    pub async fn send(&self, frame: Utf8Bytes) -> Result<(), Refused> {
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if self.tx.is_closed() {
                return Err(Refused::Closed);
            }
            if self.queued_bytes() <= self.shared.budget / 2 {
                match self.try_send(frame.clone()) {
                    Err(Refused::Full) => {}
                    done => return done,
                }
            }
            room.await;
        }
    }

    /// Bytes queued right now (for tests and metrics).
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }
}

impl QueueRx {
    /// The next frame; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Utf8Bytes> {
        let frame = self.rx.recv().await?;
        self.taken(&frame);
        Some(frame)
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Utf8Bytes> {
        let frame = self.rx.try_recv().ok()?;
        self.taken(&frame);
        Some(frame)
    }

    fn taken(&self, frame: &Utf8Bytes) {
        self.shared.queued.fetch_sub(cost(frame), Ordering::AcqRel);
        self.shared.room.notify_waiters();
    }
}

impl Drop for QueueRx {
    fn drop(&mut self) {
        // Replies waiting for room learn that the socket is gone.
        self.rx.close();
        self.shared.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Utf8Bytes {
        Utf8Bytes::from("x".repeat(n))
    }

    #[tokio::test]
    async fn the_budget_counts_bytes_and_frees_as_the_writer_takes() {
        let (tx, mut rx) = queue(1_000);
        assert_eq!(tx.try_send(frame(600)), Ok(()));
        assert_eq!(tx.try_send(frame(600)), Err(Refused::Full));
        assert_eq!(tx.queued_bytes(), 600 + FRAME_OVERHEAD);
        rx.recv().await.unwrap();
        assert_eq!(tx.queued_bytes(), 0);
        // One frame larger than the whole budget still goes into an empty queue.
        assert_eq!(tx.try_send(frame(5_000)), Ok(()));
        assert_eq!(tx.try_send(frame(1)), Err(Refused::Full));
    }

    #[tokio::test]
    async fn a_reply_waits_for_room_and_fails_when_the_socket_goes() {
        let (tx, mut rx) = queue(1_000);
        // Over half the budget in use: a reply waits, a live event still fits.
        tx.try_send(frame(600)).unwrap();
        let early = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(frame(10)).await }
        });
        tokio::task::yield_now().await;
        assert!(!early.is_finished(), "a reply leaves room for live events");
        assert_eq!(tx.try_send(frame(200)), Ok(()));
        rx.recv().await.unwrap();
        rx.recv().await.unwrap();
        assert_eq!(early.await.unwrap(), Ok(()));
        rx.recv().await.unwrap();
        let (tx, mut rx) = queue(100);
        tx.try_send(frame(90)).unwrap();
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(frame(90)).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "waits while the budget is spent");
        rx.recv().await.unwrap();
        assert_eq!(waiting.await.unwrap(), Ok(()));
        let blocked = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(frame(90)).await }
        });
        tokio::task::yield_now().await;
        drop(rx);
        assert_eq!(blocked.await.unwrap(), Err(Refused::Closed));
    }
}
