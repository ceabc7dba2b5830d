//! The bus between instances: Redis pub/sub (`MINICOM_REDIS_URL`).
//!
//! Every instance publishes each event to one Redis channel and hears every
//! event back from it, its own included, so local and remote sockets take the
//! same path. Redis keeps nothing: an event published while an instance was
//! not subscribed is gone, which is why a subscription that comes back tells
//! the hub to have every socket resume from the database ([`Event::Resume`]).
//!
//! While Redis is unreachable each instance keeps serving its own sockets:
//! a publish that cannot reach Redis is delivered locally and reported, and
//! `/readyz` says the bus is down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::sync::broadcast;

use super::link::{COMMAND_TIMEOUT, Link};
use super::{Bus, BusError, CAPACITY, Event};

/// How often the subscription is checked with a ping: a connection whose
/// peer vanished without a word (no RST) is noticed within this and
/// [`COMMAND_TIMEOUT`].
const PING_EVERY: Duration = Duration::from_secs(5);

/// The first wait before reconnecting; doubled after each failure.
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// The longest wait between reconnection attempts.
const LAST_RETRY: Duration = Duration::from_secs(5);

/// A [`Bus`] over Redis pub/sub, shared by every instance.
pub struct RedisBus {
    /// The connection publishes go out on.
    publisher: std::sync::Arc<Link>,
    /// The one channel every instance of this deployment publishes to and
    /// listens on.
    channel: String,
    /// An event did not reach Redis: the other instances must be told to
    /// have their sockets resume before the next one goes out.
    missed: std::sync::Arc<AtomicBool>,
    /// This instance's name on the bus (random, new at every start).
    instance: String,
    /// Where events heard from Redis (or delivered locally while it is down)
    /// reach this instance's subscribers.
    local: broadcast::Sender<Event>,
    /// Whether the subscription is up: events published now reach this
    /// instance.
    subscribed: std::sync::Arc<AtomicBool>,
    /// Stops the listener when the bus is dropped (the server stopped).
    _stop: tokio_util::sync::DropGuard,
}

impl RedisBus {
    /// Connects to Redis at `url` and starts listening on this deployment's
    /// channel (`prefix`: several deployments may share one Redis). Fails
    /// when the URL is malformed or Redis does not answer, so a
    /// misconfigured instance refuses to start rather than run alone.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let channel = format!("{prefix}events");
        let publisher = std::sync::Arc::new(Link::connect(url).await?);
        let missed = std::sync::Arc::new(AtomicBool::new(false));
        let instance = crate::server::auth::new_token();
        let local = broadcast::channel(CAPACITY).0;
        let subscribed = std::sync::Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let stop = tokio_util::sync::CancellationToken::new();
        let listener = listen(
            publisher.clone(),
            missed.clone(),
            instance.clone(),
            channel.clone(),
            local.clone(),
            subscribed.clone(),
            ready_tx,
        );
        tokio::spawn({
            let stop = stop.clone();
            async move {
                tokio::select! {
                    () = listener => {}
                    () = stop.cancelled() => {}
                }
            }
        });
        // Publishing before the subscription is up would lose this
        // instance's own first events.
        let _ = tokio::time::timeout(COMMAND_TIMEOUT, ready_rx).await;
        Ok(Self {
            publisher,
            channel,
            missed,
            instance,
            local,
            subscribed,
            _stop: stop.drop_guard(),
        })
    }
}

impl RedisBus {
    /// If an event failed to go out since, tells every instance that events
    /// were missed.
    async fn tell_missed(&self) {
        tell_missed(&self.publisher, &self.missed, &self.instance, &self.channel).await;
    }
}

/// Tells every instance that events were missed (their sockets resume from
/// the database), if one failed to go out since the last time.
async fn tell_missed(publisher: &Link, missed: &AtomicBool, instance: &str, channel: &str) {
    // Taken before sending: a publish failing meanwhile sets it again.
    if !missed.swap(false, Ordering::Relaxed) {
        return;
    }
    let Ok(json) = serde_json::to_vec(&Event::Missed {
        instance: instance.to_owned(),
    }) else {
        return;
    };
    let publish = redis::cmd("PUBLISH").arg(channel).arg(json).clone();
    if publisher.run::<i64>(&publish).await.is_err() {
        missed.store(true, Ordering::Relaxed);
    }
}

impl Bus for RedisBus {
    fn publish(&self, event: Event) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let json = match serde_json::to_vec(&event) {
                Ok(json) => json,
                Err(err) => return Err(BusError::Encode(err.to_string())),
            };
            // While the subscription is down this instance would not hear
            // the event back, and Redis may take seconds to refuse: deliver
            // it here at once. Every socket resumes when the bus returns.
            let sent = if self.subscribed.load(Ordering::Relaxed) {
                self.tell_missed().await;
                let publish = redis::cmd("PUBLISH").arg(&self.channel).arg(json).clone();
                self.publisher.run::<i64>(&publish).await
            } else {
                Err(BusError::Unreachable(
                    "not subscribed to Redis; retrying".into(),
                ))
            };
            match sent {
                Ok(_) => Ok(()),
                Err(err) => {
                    // This instance's own sockets still get it; the others
                    // are told to resume before the next event goes out.
                    if !self.missed.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            %err,
                            "an event did not reach Redis: other instances' sockets will resume to catch up"
                        );
                    }
                    let _ = self.local.send(event);
                    Err(err)
                }
            }
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            if !self.subscribed.load(Ordering::Relaxed) {
                return Err(BusError::Unreachable(
                    "not subscribed to Redis; retrying".into(),
                ));
            }
            self.publisher.run::<String>(&redis::cmd("PING")).await?;
            if self.local.receiver_count() == 0 {
                return Err(BusError::NoSubscriber);
            }
            Ok(())
        })
    }
}

/// Listens to the channel for as long as the process runs, reconnecting
/// with backoff. Every subscription after the first tells the hub to have
/// its sockets resume: whatever was published while it was down is in the
/// database, not on the bus.
async fn listen(
    publisher: std::sync::Arc<Link>,
    missed: std::sync::Arc<AtomicBool>,
    instance: String,
    channel: String,
    local: broadcast::Sender<Event>,
    subscribed: std::sync::Arc<AtomicBool>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut retry = FIRST_RETRY;
    // The bus was lost since the last subscription (said once in the log;
    // the hub must have its sockets resume when it is back).
    let mut down = false;
    loop {
        let pubsub = async {
            let mut pubsub = publisher.client().get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, pubsub).await {
            Ok(Ok(pubsub)) => {
                subscribed.store(true, Ordering::Relaxed);
                retry = FIRST_RETRY;
                if down {
                    tracing::info!(
                        "the Redis bus is back; every socket on this instance resumes to catch up"
                    );
                    let _ = local.send(Event::Resume);
                }
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                // What this instance could not publish while it was cut off
                // may be missing on instances that came back before it.
                tell_missed(&publisher, &missed, &instance, &channel).await;
                let (mut sink, mut messages) = pubsub.split();
                let mut ping = tokio::time::interval(PING_EVERY);
                ping.tick().await;
                loop {
                    let message = tokio::select! {
                        message = messages.next() => message,
                        _ = ping.tick() => {
                            let answered =
                                tokio::time::timeout(COMMAND_TIMEOUT, sink.ping::<redis::Value>()).await;
                            if matches!(answered, Ok(Ok(_))) {
                                // An event that failed to go out while
                                // nothing else was published since.
                                tell_missed(&publisher, &missed, &instance, &channel).await;
                                continue;
                            }
                            None
                        }
                    };
                    let Some(message) = message else {
                        break;
                    };
                    match serde_json::from_slice::<Event>(message.get_payload_bytes()) {
                        // This instance's own sockets had what it missed.
                        Ok(Event::Missed { instance: from }) if from == instance => {}
                        Ok(event) => {
                            let _ = local.send(event);
                        }
                        Err(err) => tracing::warn!(
                            %err,
                            "ignored an event on the Redis bus that this version cannot read (is another version of Minicom running?)"
                        ),
                    }
                }
                subscribed.store(false, Ordering::Relaxed);
                tracing::error!(
                    "lost the connection to Redis: live events from other instances stop until it is back; retrying"
                );
                down = true;
            }
            Ok(Err(err)) => {
                if !down {
                    tracing::error!(%err, "cannot subscribe to Redis; retrying with backoff");
                    down = true;
                }
            }
            Err(_) => {
                if !down {
                    tracing::error!("Redis did not answer the subscription; retrying with backoff");
                    down = true;
                }
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}
