//! Who is online, across every instance.
//!
//! Each instance's hub knows its own sockets. With several instances
//! (`MINICOM_REDIS_URL`) a visitor on one must still see that the team is
//! online on another, and an inbox row must say whether its visitor is
//! online wherever their tab is connected. Each instance keeps, in Redis, a
//! set per person (and one for the team) of the instances where they have a
//! socket; every key expires unless the instance refreshes it
//! ([`HEARTBEAT`]), so an instance that dies takes its people's presence
//! with it within [`EXPIRES`].
//!
//! The same sets count sockets per person across instances, for the
//! per-person cap: a hash per person of how many sockets each instance
//! holds, where only instances that beat recently count
//! ([`COUNT_LIVE_SOCKETS`]).
//!
//! While Redis is unreachable each instance answers from its own sockets.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::protocol::{ContactId, ConversationSummary};
use crate::server::bus::{BusError, Link};
use crate::server::hub::{Hub, Peer};

/// How often an instance says again who is online on it.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// How long an entry lasts unless refreshed: three missed heartbeats.
const EXPIRES: Duration = Duration::from_secs(15);

const TEAM_KEY: &str = "minicom:online:team";

fn contact_key(contact: ContactId) -> String {
    format!("minicom:online:contact:{}", contact.0)
}

/// Every instance and when it last beat (a sorted set, in ms).
const INSTANCES_KEY: &str = "minicom:instances";

fn sockets_key(peer: Peer) -> String {
    match peer {
        Peer::Contact(contact) => format!("minicom:sockets:contact:{}", contact.0),
        Peer::Agent(agent) => format!("minicom:sockets:agent:{}", agent.0),
    }
}

/// Sums a person's sockets over the instances that beat within the expiry,
/// except the asking one (it knows its own), dropping the fields of
/// instances that stopped beating. KEYS: the person's hash, the instances;
/// ARGV: the asking instance, the expiry in ms.
const COUNT_LIVE_SOCKETS: &str = r"
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #fields, 2 do
  if fields[i] ~= ARGV[1] then
    local beat = redis.call('ZSCORE', KEYS[2], fields[i])
    if beat and tonumber(beat) > now_ms - tonumber(ARGV[2]) then
      sum = sum + tonumber(fields[i + 1])
    else
      redis.call('HDEL', KEYS[1], fields[i])
    end
  end
end
return sum
";

fn key(peer: Peer) -> String {
    match peer {
        Peer::Contact(contact) => contact_key(contact),
        Peer::Agent(_) => TEAM_KEY.to_owned(),
    }
}

/// Presence: this instance's sockets, and with Redis everyone else's.
pub struct Presence {
    shared: Option<Shared>,
}

struct Shared {
    link: Link,
    /// This instance's name in the sets (random, new at every start).
    instance: String,
}

impl Presence {
    /// One instance: the hub's sockets are everyone.
    pub fn local() -> Self {
        Self { shared: None }
    }

    /// Several instances sharing presence through Redis at `url`.
    pub async fn shared(url: &str) -> Result<Self, BusError> {
        Ok(Self {
            shared: Some(Shared {
                link: Link::connect(url).await?,
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
            .arg(sockets_key(peer))
            .arg(INSTANCES_KEY)
            .arg(&shared.instance)
            .arg(EXPIRES.as_millis() as u64);
        here + shared.link.run::<usize>(&count).await.unwrap_or(0)
    }

    /// `peer` now has `here` sockets open on this instance.
    pub async fn counted(&self, peer: Peer, here: usize) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut pipe = redis::pipe();
        count(&mut pipe, &sockets_key(peer), &shared.instance, here);
        let _ = shared.link.run_all::<()>(&pipe).await;
    }

    /// A person's first socket on this instance opened.
    pub async fn arrived(&self, peer: Peer) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut pipe = redis::pipe();
        add(&mut pipe, &key(peer), &shared.instance);
        let _ = shared.link.run_all::<()>(&pipe).await;
    }

    /// A person's last socket on this instance closed (and the grace period
    /// passed): whether they are now offline everywhere, to be announced.
    pub async fn left(&self, peer: Peer) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        let key = key(peer);
        let mut pipe = redis::pipe();
        pipe.cmd("SREM")
            .arg(&key)
            .arg(&shared.instance)
            .ignore()
            .cmd("EXISTS")
            .arg(&key);
        match shared.link.run_all::<(bool,)>(&pipe).await {
            Ok((elsewhere,)) => !elsewhere,
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
        shared
            .link
            .run::<bool>(redis::cmd("EXISTS").arg(TEAM_KEY))
            .await
            .unwrap_or(false)
    }

    /// Fills in whether each row's visitor is online, on any instance: in
    /// one round trip for those not connected here.
    pub async fn fill_contacts_online(&self, hub: &Hub, rows: &mut [ConversationSummary]) {
        for row in rows.iter_mut() {
            row.contact_online = hub.contact_online(row.contact_id);
        }
        let Some(shared) = &self.shared else {
            return;
        };
        let elsewhere: Vec<usize> = (0..rows.len())
            .filter(|&i| !rows[i].contact_online)
            .collect();
        if elsewhere.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for &i in &elsewhere {
            pipe.cmd("EXISTS").arg(contact_key(rows[i].contact_id));
        }
        if let Ok(online) = shared.link.run_all::<Vec<bool>>(&pipe).await {
            for (&i, online) in elsewhere.iter().zip(online) {
                rows[i].contact_online = online;
            }
        }
    }

    /// Says again, every [`HEARTBEAT`], who is online on this instance, so
    /// their entries outlive [`EXPIRES`] only while it runs. Also puts back
    /// what Redis lost if it restarted.
    pub async fn run_heartbeat(
        self: Arc<Self>,
        hub: Arc<Hub>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = beat.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            let mut pipe = redis::pipe();
            pipe.cmd("ZADD")
                .arg(INSTANCES_KEY)
                .arg(crate::server::store::now().0)
                .arg(&shared.instance)
                .ignore();
            if hub.team_online() {
                add(&mut pipe, TEAM_KEY, &shared.instance);
            }
            for (peer, here) in hub.people_here() {
                if let Peer::Contact(contact) = peer {
                    add(&mut pipe, &contact_key(contact), &shared.instance);
                }
                count(&mut pipe, &sockets_key(peer), &shared.instance, here);
            }
            let _ = shared.link.run_all::<()>(&pipe).await;
        }
    }
}

/// Sets this instance's count in a person's hash of sockets (removes it at
/// zero) and renews the hash's expiry.
fn count(pipe: &mut redis::Pipeline, key: &str, instance: &str, here: usize) {
    if here == 0 {
        pipe.cmd("HDEL").arg(key).arg(instance).ignore();
        return;
    }
    pipe.cmd("HSET")
        .arg(key)
        .arg(instance)
        .arg(here)
        .ignore()
        .cmd("PEXPIRE")
        .arg(key)
        .arg(EXPIRES.as_millis() as u64)
        .ignore();
}

/// Adds this instance to a person's set and renews the set's expiry.
fn add(pipe: &mut redis::Pipeline, key: &str, instance: &str) {
    pipe.cmd("SADD")
        .arg(key)
        .arg(instance)
        .ignore()
        .cmd("PEXPIRE")
        .arg(key)
        .arg(EXPIRES.as_millis() as u64)
        .ignore();
}
