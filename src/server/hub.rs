//! The hub delivers bus events to this instance's sockets.
//!
//! It knows every local socket, whose it is, and which conversations each agent
//! socket watches. For each event it serialises the frame once and hands the same
//! bytes to every recipient's queue, bounded in bytes (see `queue`). A socket
//! whose queue is full is cut off (it will reconnect and resume) rather than
//! slowing anyone else; so is every socket when the hub itself falls behind
//! the bus and events were lost.
//!
//! The hub also remembers who it heard typing, wherever they typed: when the
//! typist's own instance dies, nobody else would say that they stopped, so
//! a typing state heard and not refreshed ends here too (see
//! [`Hub::expire_typing`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use std::net::IpAddr;

use tokio::sync::{Notify, broadcast, watch};

use crate::protocol::{AgentId, ContactId, ConversationId, ServerFrame, close};
use crate::server::bus::Event;
use crate::server::limits::AGENT_QUEUE_FACTOR;
use crate::server::metrics::Metrics;
use crate::server::queue::{QueueRx, QueueTx, Refused, queue};
use crate::server::typing::{self, Typing};

/// Identifies one socket on this instance.
pub type SocketId = u64;

/// Whose socket it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    Contact(ContactId),
    Agent(AgentId),
}

struct Entry {
    peer: Peer,
    ip: IpAddr,
    tx: QueueTx,
    /// Fired once when the hub gives up on the socket; its task then closes it.
    kick: Arc<Kick>,
    watching: HashSet<ConversationId>,
}

/// Why the hub is closing a socket: a close code and a reason for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

/// The socket was too slow to keep up with its queue.
pub const TOO_SLOW: CloseReason = CloseReason {
    code: 1008,
    reason: "Too slow to receive messages; reconnect to catch up.",
};

/// The hub fell behind the bus and events were lost: every socket resumes.
pub const FELL_BEHIND: CloseReason = CloseReason {
    code: 1013,
    reason: "The server fell behind; reconnect to catch up.",
};

/// The agent signed out (in this or another tab), was deactivated, or the
/// session expired.
pub const SIGNED_OUT: CloseReason = CloseReason {
    code: close::SIGNED_OUT,
    reason: "Signed out. Sign in again to continue.",
};

/// The visitor was erased: reconnecting makes them someone new.
pub const ERASED: CloseReason = CloseReason {
    code: close::RECONNECT,
    reason: "Reconnect to continue.",
};

/// The team blocked this visitor, or their address.
pub const BLOCKED: CloseReason = CloseReason {
    code: close::BLOCKED,
    reason: close::BLOCKED_REASON,
};

/// A one-shot order to close a socket, with why.
#[derive(Default)]
pub struct Kick {
    notify: Notify,
    reason: Mutex<Option<CloseReason>>,
}

impl Kick {
    /// Fires once; later calls keep the first reason.
    pub fn fire(&self, reason: CloseReason) -> bool {
        let mut slot = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return false;
        }
        *slot = Some(reason);
        self.notify.notify_one();
        true
    }

    /// Resolves when fired, with the reason.
    pub async fn fired(&self) -> CloseReason {
        self.notify.notified().await;
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or(TOO_SLOW)
    }
}

#[derive(Default)]
struct Routes {
    sockets: HashMap<SocketId, Entry>,
    by_contact: HashMap<ContactId, HashSet<SocketId>>,
    by_agent: HashMap<AgentId, HashSet<SocketId>>,
    by_ip: HashMap<IpAddr, usize>,
    agents: HashSet<SocketId>,
    watchers: HashMap<ConversationId, HashSet<SocketId>>,
    /// Visitors announced online and not yet announced offline.
    announced: HashSet<ContactId>,
    /// The team was announced online and not yet offline.
    team_announced: bool,
    /// People cut off for flooding, and until when they may not reconnect.
    cooling: HashMap<Peer, std::time::Instant>,
}

/// A registered socket: the receiving ends its task drains.
pub struct Registration {
    pub id: SocketId,
    /// This is the person's (or, for an agent, the team's) first socket since
    /// they were last announced offline: tell the others.
    pub came_online: bool,
    pub rx: QueueRx,
    /// Fired when the hub gives up on this socket.
    pub kick: Arc<Kick>,
    /// A sender into the same queue, for the socket's own replies.
    pub tx: QueueTx,
}

/// This instance's sockets and who watches what.
pub struct Hub {
    routes: Mutex<Routes>,
    next_id: AtomicU64,
    shutdown: watch::Sender<bool>,
    metrics: Arc<Metrics>,
    /// Each visitor socket's queue budget in bytes.
    queue_bytes: usize,
    /// Typing states heard on the bus, from this instance or another.
    heard_typing: Typing,
}

/// How much longer than its typist's instance the hub keeps a typing state
/// it heard: that instance's own "stopped" normally comes first.
const HEARD_TYPING_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

impl Hub {
    /// An empty hub that counts what it delivers into `metrics`; each
    /// visitor socket may have `queue_bytes` waiting (agents more); a typing
    /// state ends `typing_expires` after its last refresh.
    pub fn new(
        metrics: Arc<Metrics>,
        queue_bytes: usize,
        typing_expires: std::time::Duration,
    ) -> Self {
        Self {
            routes: Mutex::default(),
            next_id: AtomicU64::new(1),
            shutdown: watch::channel(false).0,
            metrics,
            queue_bytes,
            heard_typing: Typing::new(typing_expires + HEARD_TYPING_MARGIN),
        }
    }

    /// Adds a socket and returns its queue.
    pub fn register(&self, peer: Peer, ip: IpAddr) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let budget = match peer {
            Peer::Contact(_) => self.queue_bytes,
            Peer::Agent(_) => self.queue_bytes.saturating_mul(AGENT_QUEUE_FACTOR),
        };
        let (tx, rx) = queue(budget);
        let kick = Arc::new(Kick::default());
        let mut routes = self.lock();
        *routes.by_ip.entry(ip).or_default() += 1;
        let came_online = match peer {
            Peer::Contact(c) => {
                routes.by_contact.entry(c).or_default().insert(id);
                routes.announced.insert(c)
            }
            Peer::Agent(a) => {
                routes.agents.insert(id);
                routes.by_agent.entry(a).or_default().insert(id);
                !std::mem::replace(&mut routes.team_announced, true)
            }
        };
        routes.sockets.insert(
            id,
            Entry {
                peer,
                ip,
                tx: tx.clone(),
                kick: kick.clone(),
                watching: HashSet::new(),
            },
        );
        Registration {
            id,
            came_online,
            rx,
            kick,
            tx,
        }
    }

    /// After a socket closed and a grace period passed: whether the peer (a
    /// visitor, or the whole team) now has no socket left and should be
    /// announced offline. Returns true once per offline period.
    pub fn went_offline(&self, peer: Peer) -> bool {
        let mut routes = self.lock();
        match peer {
            Peer::Contact(c) => !routes.by_contact.contains_key(&c) && routes.announced.remove(&c),
            Peer::Agent(_) => {
                routes.agents.is_empty() && std::mem::replace(&mut routes.team_announced, false)
            }
        }
    }

    /// How many sockets this person has open on this instance.
    pub fn sockets_of(&self, peer: Peer) -> usize {
        let routes = self.lock();
        match peer {
            Peer::Contact(c) => routes.by_contact.get(&c).map_or(0, HashSet::len),
            Peer::Agent(a) => routes.by_agent.get(&a).map_or(0, HashSet::len),
        }
    }

    /// How many sockets are open from one address on this instance.
    pub fn sockets_from(&self, ip: IpAddr) -> usize {
        self.lock().by_ip.get(&ip).copied().unwrap_or(0)
    }

    /// Keeps a person who flooded from reconnecting for a while.
    pub fn cool_down(&self, peer: Peer, for_how_long: std::time::Duration) {
        let now = std::time::Instant::now();
        let mut routes = self.lock();
        routes.cooling.retain(|_, until| *until > now);
        routes.cooling.insert(peer, now + for_how_long);
    }

    /// How long this person must still wait before reconnecting, if at all.
    pub fn cooling(&self, peer: Peer) -> Option<std::time::Duration> {
        let until = *self.lock().cooling.get(&peer)?;
        until.checked_duration_since(std::time::Instant::now())
    }

    /// Closes every socket of these agents (they signed out, on any
    /// instance: see `Event::SignedOut`).
    pub fn disconnect_agents(&self, agents: &[AgentId], reason: CloseReason) {
        let routes = self.lock();
        for agent in agents {
            for id in routes.by_agent.get(agent).into_iter().flatten() {
                if let Some(entry) = routes.sockets.get(id) {
                    entry.kick.fire(reason);
                }
            }
        }
    }

    /// Closes every socket of these visitors.
    fn disconnect_contacts(&self, contacts: &[ContactId], reason: CloseReason) {
        let routes = self.lock();
        for contact in contacts {
            for id in routes.by_contact.get(contact).into_iter().flatten() {
                if let Some(entry) = routes.sockets.get(id) {
                    entry.kick.fire(reason);
                }
            }
        }
    }

    /// Closes the sockets of a visitor the team blocked, and every visitor
    /// socket from the address blocked with them (`Event::Blocked`).
    pub fn disconnect_blocked(&self, contact: ContactId, address: Option<IpAddr>) {
        let routes = self.lock();
        for entry in routes.sockets.values() {
            let Peer::Contact(who) = entry.peer else {
                continue;
            };
            if who == contact || Some(entry.ip) == address {
                entry.kick.fire(BLOCKED);
            }
        }
    }

    /// Closes every socket (events were lost: each must resume).
    fn disconnect_all(&self, reason: CloseReason) {
        for entry in self.lock().sockets.values() {
            entry.kick.fire(reason);
        }
    }

    /// Whether a visitor has a socket open on this instance.
    pub fn contact_online(&self, contact: ContactId) -> bool {
        self.lock().by_contact.contains_key(&contact)
    }

    /// Everyone with a socket open on this instance, and how many each.
    pub fn people_here(&self) -> Vec<(Peer, usize)> {
        let routes = self.lock();
        let contacts = routes
            .by_contact
            .iter()
            .map(|(c, ids)| (Peer::Contact(*c), ids.len()));
        let agents = routes
            .by_agent
            .iter()
            .map(|(a, ids)| (Peer::Agent(*a), ids.len()));
        contacts.chain(agents).collect()
    }

    /// Whether the team counts as online on this instance: an agent has a
    /// socket open, or the last one closed within the grace period (the
    /// team is announced offline only after it). Counting only open sockets
    /// told a visitor who arrived while the only agent reloaded "offline",
    /// and the agent's new socket, arriving within the grace, announced
    /// nothing: the visitor never learnt the team was there.
    pub fn team_online(&self) -> bool {
        let routes = self.lock();
        routes.team_announced || !routes.agents.is_empty()
    }

    /// Whether an agent has a socket open on this instance right now (what
    /// the heartbeat tells other instances: an entry kept up through the
    /// grace period could outlive the offline announced after it).
    pub fn team_connected(&self) -> bool {
        !self.lock().agents.is_empty()
    }

    /// The agents with a socket open on this instance.
    pub fn agents_online(&self) -> Vec<AgentId> {
        self.lock().by_agent.keys().copied().collect()
    }

    /// Removes a socket (it closed).
    pub fn unregister(&self, id: SocketId) {
        let mut routes = self.lock();
        let Some(entry) = routes.sockets.remove(&id) else {
            return;
        };
        match entry.peer {
            Peer::Contact(c) => remove_from(&mut routes.by_contact, c, id),
            Peer::Agent(a) => {
                routes.agents.remove(&id);
                remove_from(&mut routes.by_agent, a, id);
            }
        }
        if let Some(count) = routes.by_ip.get_mut(&entry.ip) {
            *count -= 1;
            if *count == 0 {
                routes.by_ip.remove(&entry.ip);
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

    /// Open sockets on this instance: `(visitors', agents')`.
    pub fn socket_counts(&self) -> (usize, usize) {
        let routes = self.lock();
        let agents = routes.agents.len();
        (routes.sockets.len() - agents, agents)
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
        match event {
            Event::Resume | Event::Missed { .. } => return self.disconnect_all(FELL_BEHIND),
            Event::SignedOut { agents } => return self.disconnect_agents(agents, SIGNED_OUT),
            Event::Blocked {
                contact_id,
                address,
            } => return self.disconnect_blocked(*contact_id, *address),
            Event::Erased { contacts, .. } => self.disconnect_contacts(contacts, ERASED),
            Event::Typing { .. } => self.heard_typing.hear(event),
            _ => {}
        }
        if let Event::Conversation { conversation } = event {
            // The visitor's copy of a row leaves out the team's business.
            let theirs = ServerFrame::Conversation {
                conversation: conversation.clone().for_visitor(),
            };
            let to = Recipients {
                contact: Some(conversation.contact_id),
                every_contact: false,
                agents: Agents::None,
                skip: None,
            };
            self.send(&theirs, to);
        }
        let Some((frame, to)) = route(event) else {
            return;
        };
        self.send(&frame, to);
        if let Event::Message {
            received: Some(at), ..
        } = event
        {
            self.metrics.fanout.observe(at.elapsed());
        }
    }

    /// Queues one frame for its local recipients.
    fn send(&self, frame: &ServerFrame, to: Recipients) {
        let bytes = encode(frame);
        let lossy = matches!(
            frame,
            ServerFrame::Presence { .. }
                | ServerFrame::TeamPresence { .. }
                | ServerFrame::Typing { .. }
        ) || matches!(frame, ServerFrame::Draft { text, .. } if !text.is_empty());
        let mut routes = self.lock();
        let mut targets: Vec<SocketId> = Vec::new();
        if to.every_contact {
            targets.extend(routes.by_contact.values().flatten());
        } else if let Some(ids) = to.contact.and_then(|c| routes.by_contact.get(&c)) {
            targets.extend(ids);
        }
        match to.agents {
            Agents::None => {}
            Agents::Watching(c) => targets.extend(routes.watchers.get(&c).into_iter().flatten()),
            Agents::All => targets.extend(&routes.agents),
        }
        let mut queued = 0;
        for id in targets {
            let Some(entry) = routes.sockets.get_mut(&id) else {
                continue;
            };
            if to.skip == Some(entry.peer) {
                continue;
            }
            match entry.tx.try_send(bytes.clone()) {
                Ok(()) => queued += 1,
                Err(Refused::Closed) => {}
                Err(Refused::Full) => {
                    self.metrics.queue_drops.inc();
                    // A missed presence or typing change is stale in seconds
                    // anyway; a missed message or inbox row is not: that socket
                    // must reconnect and resume.
                    if lossy {
                        continue;
                    }
                    if entry.kick.fire(TOO_SLOW) {
                        tracing::warn!(
                            conn = %conn_label(id),
                            "socket too slow to keep up; disconnecting it so it can resume"
                        );
                    }
                }
            }
        }
        drop(routes);
        self.metrics.frames_out.add(frame.kind(), queued);
    }

    /// Delivers bus events until the bus closes (the server stops it last,
    /// after every committed send was published).
    pub async fn run(&self, mut events: broadcast::Receiver<Event>) {
        let mut sweep = tokio::time::interval(typing::SWEEP);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = sweep.tick() => {
                    self.expire_typing(tokio::time::Instant::now());
                    continue;
                }
            };
            match event {
                Ok(event) => self.deliver(&event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    self.metrics.hub_lagged.inc_by(missed);
                    tracing::error!(
                        missed,
                        "the hub fell behind the bus and lost events; closing every socket so each resumes"
                    );
                    self.disconnect_all(FELL_BEHIND);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Ends, for this instance's sockets, the typing states heard and not
    /// refreshed by `now`: their typist's instance died before it could
    /// say they stopped.
    fn expire_typing(&self, now: tokio::time::Instant) {
        for stopped in self.heard_typing.expired(now) {
            self.deliver(&Event::Typing {
                contact_id: stopped.contact,
                conversation_id: stopped.conversation,
                person: stopped.person,
                typing: false,
            });
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

/// How a socket appears in logs: short, and the same in every line about it.
pub fn conn_label(id: SocketId) -> String {
    format!("c{id}")
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

mod route;
#[cfg(test)]
mod tests;

use route::{Agents, Recipients, route};
