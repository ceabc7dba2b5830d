//! The wait in loops that work through a queue kept in the database
//! (webhook deliveries, email follow-ups): until the queue's next row is
//! due, something new is queued on this instance, or the server stops.

use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::protocol::Timestamp;
use crate::server::store::{StoreError, now};

/// The shortest wait: a row that is due but claimed by another instance
/// is not spun on.
const SHORTEST: Duration = Duration::from_millis(5);

/// Sleeps until `next` (the queue's earliest due time, as just read; at
/// most `longest`, also when it could not be read, and at least 5 ms), or
/// until `wake` is notified. False once the server is stopping.
pub async fn wait(
    next: Result<Option<Timestamp>, StoreError>,
    longest: Duration,
    wake: &Notify,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let wait = match next {
        Ok(Some(t)) => Duration::from_millis(u64::try_from(t.0 - now().0).unwrap_or(0)),
        _ => longest,
    }
    .clamp(SHORTEST, longest);
    tokio::select! {
        _ = wake.notified() => true,
        _ = tokio::time::sleep(wait) => true,
        _ = crate::server::ws::stopping(shutdown) => false,
    }
}
