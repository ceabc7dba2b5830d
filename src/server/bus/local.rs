//! The in-process bus for a single instance.

use futures::future::BoxFuture;
use tokio::sync::broadcast;

use super::{Bus, BusError, CAPACITY, Event};

/// A [`Bus`] inside one process: a broadcast channel.
pub struct LocalBus {
    tx: broadcast::Sender<Event>,
}

impl LocalBus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus for LocalBus {
    fn publish(&self, event: Event) -> BoxFuture<'_, Result<(), BusError>> {
        // A send with no subscriber is not an error: nobody is listening yet.
        let _ = self.tx.send(event);
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), BusError>> {
        let listening = self.tx.receiver_count() > 0;
        Box::pin(async move {
            if listening {
                Ok(())
            } else {
                Err(BusError::NoSubscriber)
            }
        })
    }
}
