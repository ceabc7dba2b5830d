//! The browser runtime: everything live on the page goes through here.
//!
//! - [`live`] — the state the UI renders (conversations, threads, the outbox,
//!   the connection), updated only by applying server frames.
//! - `socket` — (browser only) the one WebSocket per tab: connects, reconnects
//!   with backoff, feeds frames into [`live::Live`] and sends what it queues.
//! - [`time`] — timestamps in the reader's local time.
//!
//! Components never open sockets; they read signals from [`live::Live`] and call
//! its methods.

pub mod live;
#[cfg(feature = "hydrate")]
pub mod socket;
pub mod time;
