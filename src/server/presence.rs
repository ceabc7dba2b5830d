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
            if hub.team_online() {
                add(&mut pipe, TEAM_KEY, &shared.instance);
            }
            for contact in hub.contacts_here() {
                add(&mut pipe, &contact_key(contact), &shared.instance);
            }
            if pipe.cmd_iter().next().is_some() {
                let _ = shared.link.run_all::<()>(&pipe).await;
            }
        }
    }
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
