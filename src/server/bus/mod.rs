//! The bus carries every live event between instances.
//!
//! Even on one machine every event goes through a [`Bus`], so the single-node
//! default runs the same path as a scaled-out deployment: `ws` publishes after
//! the commit, and each instance's hub subscribes and fans out to its sockets.

mod link;
mod local;
mod redis;

pub use link::Link;
pub use local::LocalBus;
pub use redis::RedisBus;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::protocol::{
    AgentId, ContactId, ConversationId, ConversationSummary, CursorKind, Message, MessageId,
    Person, Seq, Timestamp,
};

/// A live change, with what the hub needs to route it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A new message: to every socket of the conversation's visitor (unless
    /// it is internal) and to the agents watching the conversation.
    Message {
        contact_id: ContactId,
        message: Message,
        /// When this instance read the `send` frame (for the fan-out latency
        /// in `/metrics`; not carried between instances).
        #[serde(skip)]
        received: Option<std::time::Instant>,
    },
    /// A message was edited or deleted: to the same sockets as a new message.
    Changed {
        contact_id: ContactId,
        message: Message,
    },
    /// A reaction was given or taken back (only the change): to the same
    /// sockets as a new message.
    Reaction {
        contact_id: ContactId,
        conversation_id: ConversationId,
        message_id: MessageId,
        emoji: String,
        person: Person,
        added: bool,
        seq: Seq,
        /// The message is the team's only: so is the reaction.
        #[serde(default)]
        internal: bool,
    },
    /// How many conversations each inbox list holds changed: to every agent.
    Counts {
        counts: crate::protocol::InboxCounts,
    },
    /// The labels changed (an admin created or deleted one): to every agent.
    Labels { labels: Vec<crate::protocol::Label> },
    /// An inbox row changed: to every agent, and to the visitor it belongs to.
    Conversation { conversation: ConversationSummary },
    /// Someone started or stopped typing: to the visitor and every agent, but
    /// never to the typist's own sockets. Never stored.
    Typing {
        contact_id: ContactId,
        conversation_id: ConversationId,
        person: Person,
        typing: bool,
    },
    /// The assistant's answer so far: to the visitor and the agents
    /// watching the conversation. Never stored (the answer is, once done).
    Draft {
        contact_id: ContactId,
        conversation_id: ConversationId,
        text: String,
    },
    /// A read or delivery cursor moved: to the visitor and every agent.
    Cursor {
        contact_id: ContactId,
        conversation_id: ConversationId,
        kind: CursorKind,
        person: Person,
        up_to: MessageId,
        seq: Seq,
    },
    /// A visitor came online or went offline: to every agent.
    Presence {
        contact_id: ContactId,
        online: bool,
        last_seen_at: Timestamp,
    },
    /// The team came online or went offline: to every visitor.
    TeamPresence { online: bool },
    /// The messenger's look changed: to every visitor.
    Look {
        look: crate::settings::MessengerLook,
    },
    /// Teammates signed out, were deactivated or their session ended: their
    /// sockets close, on every instance.
    SignedOut { agents: Vec<AgentId> },
    /// Visitors or conversations were erased (a person asked, or the
    /// retention period passed): the visitors' sockets close (they come
    /// back as nobody), and every agent drops those conversations' rows.
    Erased {
        contacts: Vec<ContactId>,
        conversations: Vec<ConversationId>,
    },
    /// The team blocked a visitor (and for a while their address): their
    /// sockets, and every visitor socket from that address, close on every
    /// instance.
    Blocked {
        contact_id: ContactId,
        address: Option<std::net::IpAddr>,
    },
    /// An admin changed a setting: every instance reads the settings again.
    SettingsChanged,
    /// An instance could not publish some events: every socket on every
    /// other instance resumes from the database.
    Missed {
        /// The instance that missed them (its own sockets had them).
        instance: String,
    },
    /// This instance may have missed events (its bus connection was lost):
    /// every socket on it resumes from the database. Never sent between
    /// instances.
    #[serde(skip)]
    Resume,
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the bus is closed")]
    Closed,
    #[error("nothing on this instance is listening to the bus (the hub stopped)")]
    NoSubscriber,
    #[error("Redis is unreachable: {0}")]
    Unreachable(String),
    #[error("the event could not be encoded: {0}")]
    Encode(String),
}

/// Events waiting per subscriber before the slowest one starts missing them.
const CAPACITY: usize = 16_384;

/// Publish/subscribe for [`Event`]s across every instance.
pub trait Bus: Send + Sync + 'static {
    /// Sends an event to every subscriber, on every instance, this one included.
    fn publish(&self, event: Event) -> BoxFuture<'_, Result<(), BusError>>;

    /// A stream of every event published from now on. A subscriber that falls
    /// behind by more than the channel's capacity is told how many it missed.
    fn subscribe(&self) -> broadcast::Receiver<Event>;

    /// Whether events published now would reach this instance's hub (for
    /// `/readyz`).
    fn check(&self) -> BoxFuture<'_, Result<(), BusError>>;
}
