//! Automatic assignment, when admins switch it on: each new conversation
//! goes to a teammate who has the inbox open, in turn (the one whose last
//! automatic conversation is longest ago), skipping anyone who already
//! owns the cap of open conversations. Nobody with room: it stays
//! unassigned, as without the switch.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::protocol::{AgentId, ContactId, ConversationId, InboxCounts};
use crate::server::AppState;
use crate::server::publish::{publish_messages, publish_summary_of};
use crate::server::store::{Store, StoreError};

/// The setting: the cap of open conversations per teammate, "0" (or
/// nothing) when automatic assignment is off.
pub const AUTO_ASSIGN_CAP: &str = "auto_assign_cap";

/// Highest cap an admin may set.
pub const MAX_CAP: u32 = 1_000;

/// The switch and whose turn it is.
#[derive(Default)]
pub struct AutoAssign {
    /// 0: off.
    cap: AtomicU32,
    /// Counts assignments, to know whose turn was longest ago.
    turns: AtomicU64,
    last_turn: Mutex<HashMap<AgentId, u64>>,
    /// One assignment at a time: two conversations started together do
    /// not both go to whoever's turn it was.
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl AutoAssign {
    /// Reads the admins' setting.
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let cap = store
            .setting(AUTO_ASSIGN_CAP)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Self {
            cap: AtomicU32::new(cap),
            ..Self::default()
        })
    }

    /// Reads the admins' setting again (another instance changed it).
    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let fresh = Self::load(store).await?;
        self.cap
            .store(fresh.cap.load(Ordering::Relaxed), Ordering::Relaxed);
        Ok(())
    }

    /// The cap of open conversations per teammate; `None` when off.
    pub fn cap(&self) -> Option<u32> {
        Some(self.cap.load(Ordering::Relaxed)).filter(|c| *c > 0)
    }

    /// Switches automatic assignment on (with a cap) or off (`None`).
    pub async fn set(&self, store: &Store, cap: Option<u32>) -> Result<(), StoreError> {
        let cap = cap.unwrap_or(0).min(MAX_CAP);
        store.set_setting(AUTO_ASSIGN_CAP, &cap.to_string()).await?;
        self.cap.store(cap, Ordering::Relaxed);
        Ok(())
    }

    /// Who may take the next conversation among `online`, given the open
    /// conversations each owns: those under the cap, whose turn was
    /// longest ago first.
    fn in_turn(&self, online: &[AgentId], counts: &InboxCounts, cap: u32) -> Vec<AgentId> {
        let Ok(last) = self.last_turn.lock() else {
            return Vec::new();
        };
        let owns = |agent: AgentId| {
            counts
                .assigned
                .iter()
                .find(|a| a.agent_id == agent)
                .map_or(0, |a| a.open)
        };
        let mut agents: Vec<AgentId> = online.iter().copied().filter(|a| owns(*a) < cap).collect();
        agents.sort_by_key(|a| (last.get(a).copied().unwrap_or(0), a.0));
        agents
    }

    /// `agent` took a conversation: their turn comes last again.
    fn took(&self, agent: AgentId) {
        if let Ok(mut last) = self.last_turn.lock() {
            last.insert(agent, self.turns.fetch_add(1, Ordering::Relaxed) + 1);
        }
    }
}

/// The line an automatic assignment leaves.
pub fn auto_line(name: &str) -> String {
    format!("Assigned to {name} automatically")
}

/// A visitor started `conversation` (or the assistant handed one over):
/// gives it to whoever's turn it is, if automatic assignment is on and
/// someone has room.
pub async fn new_conversation(state: &AppState, conversation: ConversationId, contact: ContactId) {
    let Some(cap) = state.workflow.auto_assign.cap() else {
        return;
    };
    if let Err(err) = assign(state, conversation, contact, cap).await {
        tracing::error!(%err, conversation = conversation.0, "could not assign a new conversation automatically; it stays unassigned");
    }
}

async fn assign(
    state: &AppState,
    conversation: ConversationId,
    contact: ContactId,
    cap: u32,
) -> Result<(), StoreError> {
    let auto = &state.workflow.auto_assign;
    let online = state.presence.agents_online(&state.hub).await;
    if online.is_empty() {
        return Ok(());
    }
    let _turn = auto.one_at_a_time.lock().await;
    let counts = state.store.inbox_counts().await?;
    // The first who can take it does: someone deactivated (their socket
    // not closed yet) or filled up meanwhile is passed over, not waited on.
    for agent in auto.in_turn(&online, &counts, cap) {
        let Some(record) = state.store.agent(agent).await?.filter(|a| a.active) else {
            continue;
        };
        let line = auto_line(&record.name);
        // Only while nobody owns it and they are under the cap, checked in
        // the write itself.
        if let Some(line) = state
            .store
            .assign_if_unassigned(conversation, agent, cap, &line)
            .await?
        {
            auto.took(agent);
            publish_messages(state, contact, vec![line]).await;
            publish_summary_of(state, conversation).await;
            state.workflow.counts_changed();
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AssignedCount;

    #[test]
    fn turns_go_round_and_skip_whoever_is_full() {
        let auto = AutoAssign::default();
        let (ana, ben, cy) = (AgentId(1), AgentId(2), AgentId(3));
        let online = [ana, ben, cy];
        let mut counts = InboxCounts::default();
        let next = |counts: &InboxCounts| {
            let agent = *auto.in_turn(&online, counts, 5).first()?;
            auto.took(agent);
            Some(agent)
        };
        let picks: Vec<_> = (0..4).map(|_| next(&counts).unwrap()).collect();
        assert_eq!(picks, vec![ana, ben, cy, ana]);
        // Ben is full: Cy, then Ana.
        counts.assigned.push(AssignedCount {
            agent_id: ben,
            open: 5,
        });
        assert_eq!(next(&counts), Some(cy));
        assert_eq!(next(&counts), Some(ana));
        // Everyone full: nobody.
        counts.assigned = online
            .iter()
            .map(|a| AssignedCount {
                agent_id: *a,
                open: 5,
            })
            .collect();
        assert_eq!(next(&counts), None);
    }
}
