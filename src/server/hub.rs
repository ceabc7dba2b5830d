//! The hub delivers bus events to this instance's sockets.
//!
//! It knows every local socket, whose it is, and which conversations each agent
//! socket watches. For each event it serialises the frame once and hands the same
//! bytes to every recipient's bounded queue. A socket whose queue is full is cut
//! off (it will reconnect and resume) rather than slowing anyone else.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{Notify, broadcast, mpsc, watch};

use crate::protocol::{AgentId, ContactId, ConversationId, ServerFrame};
use crate::server::bus::Event;

/// Frames waiting to be written to one socket before it counts as too slow. A
/// healthy client drains its queue continuously; 256 frames is seconds of
/// backlog, and at most ~4 MiB of 16 KiB frames.
pub const SOCKET_QUEUE: usize = 256;

/// Identifies one socket on this instance.
pub type SocketId = u64;

/// Whose socket it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    Contact(ContactId),
    Agent(AgentId),
}

struct Entry {
    peer: Peer,
    tx: mpsc::Sender<Utf8Bytes>,
    /// Notified once when the socket is too slow; its task then drops it.
    kick: Arc<Notify>,
    kicked: bool,
    watching: HashSet<ConversationId>,
}

#[derive(Default)]
struct Routes {
    sockets: HashMap<SocketId, Entry>,
    by_contact: HashMap<ContactId, HashSet<SocketId>>,
    agents: HashSet<SocketId>,
    watchers: HashMap<ConversationId, HashSet<SocketId>>,
}

/// A registered socket: the receiving ends its task drains.
pub struct Registration {
    pub id: SocketId,
    pub rx: mpsc::Receiver<Utf8Bytes>,
    /// Notified when the hub gives up on this socket.
    pub kick: Arc<Notify>,
    /// A sender into the same queue, for the socket's own replies.
    pub tx: mpsc::Sender<Utf8Bytes>,
}

/// This instance's sockets and who watches what.
pub struct Hub {
    routes: Mutex<Routes>,
    next_id: AtomicU64,
    shutdown: watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self {
            routes: Mutex::default(),
            next_id: AtomicU64::new(1),
            shutdown: watch::channel(false).0,
        }
    }

    /// Adds a socket and returns its queue.
    pub fn register(&self, peer: Peer) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let kick = Arc::new(Notify::new());
        let mut routes = self.lock();
        match peer {
            Peer::Contact(c) => {
                routes.by_contact.entry(c).or_default().insert(id);
            }
            Peer::Agent(_) => {
                routes.agents.insert(id);
            }
        }
        routes.sockets.insert(
            id,
            Entry {
                peer,
                tx: tx.clone(),
                kick: kick.clone(),
                kicked: false,
                watching: HashSet::new(),
            },
        );
        Registration { id, rx, kick, tx }
    }

    /// Removes a socket (it closed).
    pub fn unregister(&self, id: SocketId) {
        let mut routes = self.lock();
        let Some(entry) = routes.sockets.remove(&id) else {
            return;
        };
        match entry.peer {
            Peer::Contact(c) => remove_from(&mut routes.by_contact, c, id),
            Peer::Agent(_) => {
                routes.agents.remove(&id);
            }
        }
        for conversation in entry.watching {
            remove_from(&mut routes.watchers, conversation, id);
        }
    }

    /// An agent socket starts receiving a conversation's messages. (A visitor's
    /// sockets always receive their own conversations.)
    pub fn watch(&self, id: SocketId, conversation: ConversationId) {
        let mut routes = self.lock();
        let Some(entry) = routes.sockets.get_mut(&id) else {
            return;
        };
        if matches!(entry.peer, Peer::Agent(_)) && entry.watching.insert(conversation) {
            routes.watchers.entry(conversation).or_default().insert(id);
        }
    }

    /// How many sockets are open on this instance.
    pub fn socket_count(&self) -> usize {
        self.lock().sockets.len()
    }

    /// Tells every socket task that the server is stopping.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Becomes true when the server is stopping.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Delivers one event to its local recipients.
    pub fn deliver(&self, event: &Event) {
        let (frame, contact, conversation, all_agents) = match event {
            Event::Message {
                contact_id,
                message,
            } => (
                ServerFrame::Message {
                    message: message.clone(),
                },
                *contact_id,
                Some(message.conversation_id),
                false,
            ),
            Event::Conversation { conversation } => (
                ServerFrame::Conversation {
                    conversation: conversation.clone(),
                },
                conversation.contact_id,
                None,
                true,
            ),
        };
        let bytes = encode(&frame);
        let mut routes = self.lock();
        let mut targets: Vec<SocketId> = Vec::new();
        if let Some(ids) = routes.by_contact.get(&contact) {
            targets.extend(ids);
        }
        if all_agents {
            targets.extend(&routes.agents);
        } else if let Some(ids) = conversation.and_then(|c| routes.watchers.get(&c)) {
            targets.extend(ids);
        }
        for id in targets {
            let Some(entry) = routes.sockets.get_mut(&id) else {
                continue;
            };
            if entry.tx.try_send(bytes.clone()).is_err() && !entry.kicked {
                entry.kicked = true;
                entry.kick.notify_one();
                tracing::warn!(
                    socket = id,
                    "socket too slow to keep up; disconnecting it so it can resume"
                );
            }
        }
    }

    /// Delivers bus events until the bus closes or the server stops.
    pub async fn run(&self, mut events: broadcast::Receiver<Event>) {
        let mut shutdown = self.shutdown_signal();
        loop {
            tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => self.deliver(&event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::error!(missed, "hub fell behind the bus; clients will catch up when they resume");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = async { let _ = shutdown.wait_for(|stopping| *stopping).await; } => return,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        // A panic while holding this lock would be a bug in the hub itself; the
        // routes are still consistent enough to keep serving.
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn remove_from<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, HashSet<SocketId>>,
    key: K,
    id: SocketId,
) {
    if let Some(set) = map.get_mut(&key) {
        set.remove(&id);
        if set.is_empty() {
            map.remove(&key);
        }
    }
}

/// Serialises a frame for the wire.
pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(frame).expect("server frames always serialise"))
}
