//! Who is online, across every instance.
//!
//! Each instance's hub knows its own sockets. With several instances
//! (`MINICOM_REDIS_URL`) a visitor on one must still see that the team is
//! online on another, and an inbox row must say whether its visitor is
//! online wherever their tab is connected. Each instance keeps, in Redis, a
//! sorted set per visitor (and one for the team) of the instances where they
//! have a socket, scored by when that instance last said so. It says so
//! again every [`HEARTBEAT`]; an entry older than [`EXPIRES`] no longer
//! counts, so an instance that dies takes its people's presence with it
//! within [`EXPIRES`] even while others keep the same set alive. An
//! instance that stops takes its entries out at once ([`Presence::leave`]).
//!
//! A dead instance cannot say that its people went offline, so each
//! instance also keeps, in Redis, the set of people on it. The first live
//! instance to notice that another stopped beating claims that set (one
//! atomic script: exactly one instance gets it) and announces offline
//! whoever in it is not online anywhere else ([`Presence::run_heartbeat`]).
//!
//! The same beat counts sockets per person across instances, for the
//! per-person cap: a hash per person of how many sockets each instance
//! holds, where only instances that beat recently count
//! ([`COUNT_LIVE_SOCKETS`]).
//!
//! Times are each instance's clock (keep them in sync, as NTP does). While
//! Redis is unreachable or slow each instance answers from its own sockets
//! within [`READ_WITHIN`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::protocol::{AgentId, ContactId, ConversationSummary, Timestamp};
use crate::server::AppState;
use crate::server::bus::{BusError, Event, Link};
use crate::server::hub::{Hub, Peer};
use crate::server::store::now;

/// How often an instance says again who is online on it.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// How long an entry counts unless renewed: three missed heartbeats.
const EXPIRES: Duration = Duration::from_secs(15);

/// How long a greeting or a row waits for Redis before answering from this
/// instance's own sockets (and a socket's opening waits for its count).
const READ_WITHIN: Duration = Duration::from_millis(250);

/// Sums a person's sockets over the instances that beat within the expiry,
/// except the asking one (it knows its own), dropping the counts of
/// instances that stopped beating. KEYS: the person's hash, the instances;
/// ARGV: the asking instance, the oldest beat that counts (ms).
const COUNT_LIVE_SOCKETS: &str = r"
local fields = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #fields, 2 do
  if fields[i] ~= ARGV[1] then
    local beat = redis.call('ZSCORE', KEYS[2], fields[i])
    if beat and tonumber(beat) >= tonumber(ARGV[2]) then
      sum = sum + tonumber(fields[i + 1])
    else
      redis.call('HDEL', KEYS[1], fields[i])
    end
  end
end
return sum
";

/// Claims a dead instance's people: the one caller whose `ZREM` takes the
/// instance out of the live ones gets them (and the set is gone); every
/// other caller gets nothing. In the same step the dead instance's entries
/// leave each person's presence set (they may have been renewed after its
/// last beat, when the person arrived), and only the people with no live
/// entry left (online through no other instance) are returned. KEYS: the
/// instances, the dead one's people; ARGV: the dead one's name, what a
/// visitor's presence key starts with, the team's presence key, the oldest
/// beat that counts, [`TEAM_MEMBER`].
const CLAIM_DEAD_INSTANCE: &str = r"
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return {}
end
local people = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
local gone = {}
for _, member in ipairs(people) do
  local key = ARGV[3]
  if member ~= ARGV[5] then
    key = ARGV[2] .. member
  end
  redis.call('ZREM', key, ARGV[1])
  if redis.call('ZCOUNT', key, ARGV[4], '+inf') == 0 then
    table.insert(gone, member)
  end
end
return gone
";

/// The member of an instance's set of people that stands for its teammates.
const TEAM_MEMBER: &str = "team";

/// At most this many dead instances are claimed per heartbeat.
const CLAIMS_PER_BEAT: isize = 16;

/// Presence: this instance's sockets, and with Redis everyone else's.
pub struct Presence {
    shared: Option<Shared>,
}

struct Shared {
    link: Link,
    /// What every key of this deployment starts with (see
    /// [`crate::server::bus::RedisBus`]).
    prefix: String,
    /// This instance's name in the sets (random, new at every start).
    instance: String,
}

impl Shared {
    fn contact_key(&self, contact: ContactId) -> String {
        format!("{}{}", self.contact_keys(), contact.0)
    }

    /// What every visitor's presence key starts with.
    fn contact_keys(&self) -> String {
        format!("{}online:contact:", self.prefix)
    }

    fn team_key(&self) -> String {
        format!("{}online:team", self.prefix)
    }

    /// Every teammate online, as `agent:instance` members.
    fn agents_key(&self) -> String {
        format!("{}online:agents", self.prefix)
    }

    fn agent_member(&self, agent: AgentId) -> String {
        format!("{}:{}", agent.0, self.instance)
    }

    fn instances_key(&self) -> String {
        format!("{}instances", self.prefix)
    }

    /// Who has a socket on `instance`: visitors' ids, and [`TEAM_MEMBER`].
    fn people_key(&self, instance: &str) -> String {
        format!("{}people:{instance}", self.prefix)
    }

    /// How long an instance's set of people outlives its last beat: long
    /// enough for a live instance to claim it.
    fn people_for() -> u64 {
        20 * EXPIRES.as_millis() as u64
    }

    fn key(&self, peer: Peer) -> String {
        match peer {
            Peer::Contact(contact) => self.contact_key(contact),
            Peer::Agent(_) => self.team_key(),
        }
    }

    fn sockets_key(&self, peer: Peer) -> String {
        match peer {
            Peer::Contact(contact) => format!("{}sockets:contact:{}", self.prefix, contact.0),
            Peer::Agent(agent) => format!("{}sockets:agent:{}", self.prefix, agent.0),
        }
    }

    /// Adds this instance to a person's set, now, and keeps the set while
    /// entries in it may count.
    fn add(&self, pipe: &mut redis::Pipeline, key: &str) {
        pipe.cmd("ZADD")
            .arg(key)
            .arg(now().0)
            .arg(&self.instance)
            .ignore()
            .cmd("PEXPIRE")
            .arg(key)
            .arg(EXPIRES.as_millis() as u64)
            .ignore();
    }

    /// Sets this instance's count in a person's hash of sockets (removes it
    /// at zero).
    fn count(&self, pipe: &mut redis::Pipeline, peer: Peer, here: usize) {
        let key = self.sockets_key(peer);
        if let Peer::Agent(agent) = peer {
            let agents = self.agents_key();
            if here == 0 {
                pipe.cmd("ZREM").arg(&agents).arg(self.agent_member(agent));
            } else {
                pipe.cmd("ZADD")
                    .arg(&agents)
                    .arg(now().0)
                    .arg(self.agent_member(agent));
            }
            pipe.ignore();
        }
        if here == 0 {
            pipe.cmd("HDEL").arg(key).arg(&self.instance).ignore();
            return;
        }
        pipe.cmd("HSET")
            .arg(&key)
            .arg(&self.instance)
            .arg(here)
            .ignore()
            .cmd("PEXPIRE")
            .arg(key)
            .arg(EXPIRES.as_millis() as u64)
            .ignore();
    }

    /// Claims the instances that stopped beating (see
    /// [`CLAIM_DEAD_INSTANCE`]) and returns those of their people who are
    /// online nowhere now.
    async fn people_of_dead_instances(&self, hub: &Hub) -> Vec<Peer> {
        let mut dead = redis::cmd("ZRANGEBYSCORE");
        dead.arg(self.instances_key())
            .arg("-inf")
            .arg(format!("({}", oldest_live()))
            .arg("LIMIT")
            .arg(0)
            .arg(CLAIMS_PER_BEAT);
        let dead = match self.link.run::<Vec<String>>(&dead).await {
            Ok(dead) => dead,
            Err(err) => {
                tracing::warn!(%err, "could not look for instances that stopped; looking again at the next beat");
                return Vec::new();
            }
        };
        let mut gone: Vec<Peer> = Vec::new();
        for instance in dead {
            let mut claim = redis::cmd("EVAL");
            claim
                .arg(CLAIM_DEAD_INSTANCE)
                .arg(2)
                .arg(self.instances_key())
                .arg(self.people_key(&instance))
                .arg(&instance)
                .arg(self.contact_keys())
                .arg(self.team_key())
                .arg(oldest_live())
                .arg(TEAM_MEMBER);
            let theirs = match self.link.run::<Vec<String>>(&claim).await {
                Ok(theirs) => theirs,
                Err(err) => {
                    tracing::warn!(%err, instance, "could not take over the people of an instance that stopped; they may show online until they come back and leave");
                    continue;
                }
            };
            if !theirs.is_empty() {
                tracing::info!(
                    instance,
                    people = theirs.len(),
                    "an instance stopped beating; announcing offline its people who are online nowhere else"
                );
            }
            for member in theirs {
                // Teammates count as the team (any agent stands for it); two
                // dead instances may have held the team, or one person.
                let peer = match member.as_str() {
                    TEAM_MEMBER if !hub.team_online() => Peer::Agent(AgentId(0)),
                    TEAM_MEMBER => continue,
                    id => match id.parse().map(ContactId) {
                        Ok(contact) if !hub.contact_online(contact) => Peer::Contact(contact),
                        _ => continue,
                    },
                };
                if !gone.contains(&peer) {
                    gone.push(peer);
                }
            }
        }
        gone
    }

    /// Asks how many live entries a set holds.
    fn live(&self, pipe: &mut redis::Pipeline, key: &str) {
        pipe.cmd("ZCOUNT").arg(key).arg(oldest_live()).arg("+inf");
    }
}

/// A person in an instance's set of people: a visitor by id; teammates as
/// one member (presence announces the team, not each teammate).
fn member(peer: Peer) -> String {
    match peer {
        Peer::Contact(contact) => contact.0.to_string(),
        Peer::Agent(_) => TEAM_MEMBER.to_owned(),
    }
}

/// Tells everyone that `peer` (a visitor, or the whole team) went offline;
/// a visitor's last-seen time is recorded first.
pub async fn announce_offline(state: &AppState, peer: Peer) {
    let last_seen = match peer {
        Peer::Contact(contact) => match state.store.touch_contact(contact).await {
            Ok(at) => at,
            Err(err) => {
                tracing::error!(%err, "could not record when a visitor was last seen");
                now()
            }
        },
        Peer::Agent(_) => now(),
    };
    if let Err(err) = state
        .bus
        .publish(presence_event(peer, false, last_seen))
        .await
    {
        tracing::error!(%err, "could not announce that someone went offline");
    }
}

/// The event announcing `peer` (a visitor, or the whole team) online or
/// offline.
pub fn presence_event(peer: Peer, online: bool, last_seen_at: Timestamp) -> Event {
    match peer {
        Peer::Contact(contact_id) => Event::Presence {
            contact_id,
            online,
            last_seen_at,
        },
        Peer::Agent(_) => Event::TeamPresence { online },
    }
}

/// The oldest beat that still counts.
fn oldest_live() -> i64 {
    now().0 - EXPIRES.as_millis() as i64
}

impl Presence {
    /// One instance: the hub's sockets are everyone.
    pub fn local() -> Self {
        Self { shared: None }
    }

    /// Several instances sharing presence through Redis at `url`, under
    /// this deployment's `prefix`.
    pub async fn shared(url: &str, prefix: String) -> Result<Self, BusError> {
        Ok(Self {
            shared: Some(Shared {
                link: Link::connect(url).await?,
                prefix,
                instance: crate::server::auth::new_token(),
            }),
        })
    }

    /// How many sockets `peer` has open on every instance, given `here` on
    /// this one.
    pub async fn sockets_of(&self, peer: Peer, here: usize) -> usize {
        let Some(shared) = &self.shared else {
            return here;
        };
        let mut count = redis::cmd("EVAL");
        count
            .arg(COUNT_LIVE_SOCKETS)
            .arg(2)
            .arg(shared.sockets_key(peer))
            .arg(shared.instances_key())
            .arg(&shared.instance)
            .arg(oldest_live());
        let elsewhere = tokio::time::timeout(READ_WITHIN, shared.link.run::<usize>(&count)).await;
        here + elsewhere.ok().and_then(Result::ok).unwrap_or(0)
    }

    /// `peer` now has `here` sockets open on this instance.
    pub async fn counted(&self, peer: Peer, here: usize) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut pipe = redis::pipe();
        shared.count(&mut pipe, peer, here);
        // Bounded: a socket's greeting waits on it; the heartbeat puts
        // right what a slow Redis missed.
        let _ = tokio::time::timeout(READ_WITHIN, shared.link.run_all::<()>(&pipe)).await;
    }

    /// A person's first socket on this instance opened.
    pub async fn arrived(&self, peer: Peer) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut pipe = redis::pipe();
        shared.add(&mut pipe, &shared.key(peer));
        let people = shared.people_key(&shared.instance);
        pipe.cmd("SADD").arg(&people).arg(member(peer)).ignore();
        pipe.cmd("PEXPIRE")
            .arg(&people)
            .arg(Shared::people_for())
            .ignore();
        let _ = tokio::time::timeout(READ_WITHIN, shared.link.run_all::<()>(&pipe)).await;
    }

    /// A person's last socket on this instance closed (and the grace period
    /// passed): whether they are now offline everywhere, to be announced.
    pub async fn left(&self, peer: Peer) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        let key = shared.key(peer);
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM").arg(&key).arg(&shared.instance).ignore();
        shared.live(&mut pipe, &key);
        match shared.link.run_all::<(u64,)>(&pipe).await {
            Ok((elsewhere,)) => elsewhere == 0,
            // Unreachable: as far as this instance knows, they left.
            Err(_) => true,
        }
    }

    /// Whether any teammate has a socket open, on any instance.
    pub async fn team_online(&self, hub: &Hub) -> bool {
        if hub.team_online() {
            return true;
        }
        let Some(shared) = &self.shared else {
            return false;
        };
        let mut pipe = redis::pipe();
        shared.live(&mut pipe, &shared.team_key());
        let answer = tokio::time::timeout(READ_WITHIN, shared.link.run_all::<(u64,)>(&pipe)).await;
        matches!(answer, Ok(Ok((n,))) if n > 0)
    }

    /// The teammates with a socket open, on any instance (for automatic
    /// assignment).
    pub async fn agents_online(&self, hub: &Hub) -> Vec<AgentId> {
        let mut online = hub.agents_online();
        let Some(shared) = &self.shared else {
            return online;
        };
        let mut members = redis::cmd("ZRANGEBYSCORE");
        members
            .arg(shared.agents_key())
            .arg(oldest_live())
            .arg("+inf");
        let answer =
            tokio::time::timeout(READ_WITHIN, shared.link.run::<Vec<String>>(&members)).await;
        if let Ok(Ok(members)) = answer {
            let elsewhere = members.iter().filter_map(|member| {
                let (agent, _instance) = member.split_once(':')?;
                agent.parse().ok().map(AgentId)
            });
            online.extend(elsewhere);
            online.sort_by_key(|agent| agent.0);
            online.dedup();
        }
        online
    }

    /// Fills in whether each row's visitor is online, on any instance: in
    /// one round trip for those not connected here.
    pub async fn fill_contacts_online(&self, hub: &Hub, rows: &mut [ConversationSummary]) {
        let ids: Vec<ContactId> = rows.iter().map(|r| r.contact_id).collect();
        let online = self.contacts_online(hub, &ids).await;
        for (row, online) in rows.iter_mut().zip(online) {
            row.contact_online = online;
        }
    }

    /// Whether each of these visitors has the messenger open on some
    /// instance (this one's own sockets first, then Redis for the rest).
    pub async fn contacts_online(&self, hub: &Hub, ids: &[ContactId]) -> Vec<bool> {
        let mut online: Vec<bool> = ids.iter().map(|&id| hub.contact_online(id)).collect();
        let Some(shared) = &self.shared else {
            return online;
        };
        let elsewhere: Vec<usize> = (0..ids.len()).filter(|&i| !online[i]).collect();
        if elsewhere.is_empty() {
            return online;
        }
        let mut pipe = redis::pipe();
        for &i in &elsewhere {
            shared.live(&mut pipe, &shared.contact_key(ids[i]));
        }
        let answer =
            tokio::time::timeout(READ_WITHIN, shared.link.run_all::<Vec<u64>>(&pipe)).await;
        if let Ok(Ok(counts)) = answer {
            for (&i, n) in elsewhere.iter().zip(counts) {
                online[i] = n > 0;
            }
        }
        online
    }

    /// Says again, every [`HEARTBEAT`], who is online on this instance, so
    /// their entries count only while it runs; puts back what Redis lost if
    /// it restarted; and announces offline the people of instances that
    /// died.
    pub async fn run_heartbeat(
        self: Arc<Self>,
        state: AppState,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let Some(shared) = &self.shared else {
            return;
        };
        let hub = &state.hub;
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = beat.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            let mut pipe = redis::pipe();
            pipe.cmd("ZADD")
                .arg(shared.instances_key())
                .arg(now().0)
                .arg(&shared.instance)
                .ignore();
            if hub.team_connected() {
                shared.add(&mut pipe, &shared.team_key());
            }
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(shared.agents_key())
                .arg("-inf")
                .arg(oldest_live())
                .ignore();
            let here = hub.people_here();
            let people = shared.people_key(&shared.instance);
            pipe.cmd("DEL").arg(&people).ignore();
            if !here.is_empty() {
                let sadd = pipe.cmd("SADD").arg(&people);
                for (peer, _) in &here {
                    sadd.arg(member(*peer));
                }
                sadd.ignore();
                pipe.cmd("PEXPIRE")
                    .arg(&people)
                    .arg(Shared::people_for())
                    .ignore();
            }
            for (peer, count) in here {
                if let Peer::Contact(contact) = peer {
                    shared.add(&mut pipe, &shared.contact_key(contact));
                }
                shared.count(&mut pipe, peer, count);
            }
            if shared.link.run_all::<()>(&pipe).await.is_ok() {
                let gone = shared.people_of_dead_instances(hub).await;
                // Off the beat: recording last-seen times waits on the
                // database, and a late beat would make this instance look
                // dead to the others.
                // Tracked: a stopping instance finishes announcing them (a
                // bounded time), since no other instance will.
                if !gone.is_empty() {
                    let tasks = state.tasks.clone();
                    let state = state.clone();
                    // All at once: their last-seen writes share batches.
                    tasks.spawn(async move {
                        let state = &state;
                        futures::future::join_all(
                            gone.into_iter().map(|peer| announce_offline(state, peer)),
                        )
                        .await;
                    });
                }
            }
        }
    }

    /// This instance is stopping: its people are no longer online here
    /// (they reconnect to another instance, which adds them again).
    pub async fn leave(&self, hub: &Hub) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM")
            .arg(shared.instances_key())
            .arg(&shared.instance)
            .ignore()
            .cmd("ZREM")
            .arg(shared.team_key())
            .arg(&shared.instance)
            .ignore();
        pipe.cmd("DEL")
            .arg(shared.people_key(&shared.instance))
            .ignore();
        for (peer, _) in hub.people_here() {
            if let Peer::Contact(contact) = peer {
                pipe.cmd("ZREM")
                    .arg(shared.contact_key(contact))
                    .arg(&shared.instance)
                    .ignore();
            }
            shared.count(&mut pipe, peer, 0);
        }
        let _ = shared.link.run_all::<()>(&pipe).await;
    }
}
