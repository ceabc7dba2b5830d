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

    /// Whose turn it is among `online`, given the open conversations each
    /// owns; remembers the turn.
    fn next(&self, online: &[AgentId], counts: &InboxCounts, cap: u32) -> Option<AgentId> {
        let mut last = self.last_turn.lock().ok()?;
        let owns = |agent: AgentId| {
            counts
                .assigned
                .iter()
                .find(|a| a.agent_id == agent)
                .map_or(0, |a| a.open)
        };
        let agent = online
            .iter()
            .copied()
            .filter(|a| owns(*a) < cap)
            .min_by_key(|a| (last.get(a).copied().unwrap_or(0), a.0))?;
        last.insert(agent, self.turns.fetch_add(1, Ordering::Relaxed) + 1);
        Some(agent)
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
    let mut online = state.hub.agents_online();
    if online.is_empty() {
        return Ok(());
    }
    online.sort_unstable();
    let counts = state.store.inbox_counts().await?;
    let Some(agent) = state.workflow.auto_assign.next(&online, &counts, cap) else {
        return Ok(());
    };
    let Some(record) = state.store.agent(agent).await?.filter(|a| a.active) else {
        return Ok(());
    };
    let line = auto_line(&record.name);
    // Only if still nobody's: a teammate may have taken it meanwhile.
    if let Some(line) = state
        .store
        .assign_if_unassigned(conversation, agent, &line)
        .await?
    {
        publish_messages(state, contact, vec![line]).await;
        publish_summary_of(state, conversation).await;
        state.workflow.counts_changed();
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
        let picks: Vec<_> = (0..4)
            .map(|_| auto.next(&online, &counts, 5).unwrap())
            .collect();
        assert_eq!(picks, vec![ana, ben, cy, ana]);
        // Ben is full: Cy, then Ana.
        counts.assigned.push(AssignedCount {
            agent_id: ben,
            open: 5,
        });
        assert_eq!(auto.next(&online, &counts, 5), Some(cy));
        assert_eq!(auto.next(&online, &counts, 5), Some(ana));
        // Everyone full: nobody.
        counts.assigned = online
            .iter()
            .map(|a| AssignedCount {
                agent_id: *a,
                open: 5,
            })
            .collect();
        assert_eq!(auto.next(&online, &counts, 5), None);
    }
}
