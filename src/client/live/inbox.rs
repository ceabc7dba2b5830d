//! (Agents) the inbox's lists: which one is shown in which order (and
//! filtered by which label), paging through it, their counts, and the
//! team's actions on a conversation (resolve, snooze, reopen, assign,
//! label).

use leptos::prelude::*;

use super::Live;
use crate::protocol::{
    AgentId, ClientFrame, ConversationId, ConversationStatus, ConversationSummary, InboxCounts,
    InboxSort, InboxView, Label, LabelId, Me, Timestamp,
};

/// A list as shown: which one, in which order, filtered by which label.
pub(super) type Shown = (InboxView, InboxSort, Option<LabelId>);

impl Live {
    /// The agent this page speaks for, if it is an agent's.
    pub fn agent_id(&self) -> Option<AgentId> {
        match self.me.get_untracked() {
            Some(Me::Agent { id, .. }) => Some(id),
            _ => None,
        }
    }

    /// The rows of the list shown now, in its order (tracks the list, the
    /// order and every row).
    pub fn rows_in_view(&self) -> Vec<ConversationSummary> {
        let (view, sort, label) = (self.view.get(), self.sort.get(), self.label.get());
        let me = match self.me.get() {
            Some(Me::Agent { id, .. }) => id,
            _ => return Vec::new(),
        };
        let mut rows: Vec<ConversationSummary> = self.conversations.with(|all| {
            all.iter()
                .filter(|row| view.holds(row, me))
                .filter(|row| label.is_none_or(|l| row.labels.contains(&l)))
                .cloned()
                .collect()
        });
        rows.sort_by_key(|row| sort.key(row));
        rows
    }

    /// Shows another list or order: its first page comes from the server
    /// (rows already here show at once).
    pub fn show_view(&self, view: InboxView, sort: InboxSort) {
        self.view.set(view);
        self.sort.set(sort);
        self.request_page(None);
    }

    /// Filters the list shown by a label, or stops filtering.
    pub fn filter_label(&self, label: Option<LabelId>) {
        self.label.set(label);
        self.request_page(None);
    }

    fn shown(&self) -> Shown {
        (
            self.view.get_untracked(),
            self.sort.get_untracked(),
            self.label.get_untracked(),
        )
    }

    /// Asks for the next page of the list shown.
    pub fn load_more_conversations(&self) {
        if self.loading_conversations.get_untracked() || !self.more_conversations.get_untracked() {
            return;
        }
        // After the last row the server sent for this list and order (rows
        // known from other lists may lie further on: paging from them would
        // skip the ones in between).
        let key = self.shown();
        if let Some(after) = self.frontier.with_value(|f| f.get(&key).copied()) {
            self.request_page(Some(after));
        }
    }

    fn request_page(&self, after: Option<(i64, i64)>) {
        self.loading_conversations.set(true);
        let (view, sort, label) = self.shown();
        self.transmit(ClientFrame::MoreConversations {
            view,
            sort,
            after,
            label,
        });
    }

    /// A page of rows arrived: kept whatever list it belongs to (rows are
    /// rows); it tells whether more follow only for the list shown.
    pub(super) fn page_arrived(&self, rows: Vec<ConversationSummary>, has_more: bool, list: Shown) {
        if let Some(last) = rows.last() {
            let key = list.1.key(last);
            self.frontier.update_value(|f| {
                f.insert(list, key);
            });
        }
        if list == self.shown() {
            self.more_conversations.set(has_more);
            self.loading_conversations.set(false);
        }
        self.conversations.update(|list| {
            for row in rows {
                match list.iter_mut().find(|known| known.id == row.id) {
                    Some(known) if known.seq < row.seq => {
                        let unread = known.unread;
                        *known = row;
                        known.unread = unread.max(known.unread);
                    }
                    Some(_) => {}
                    None => list.push(row),
                }
            }
        });
    }

    /// After a reconnect: the list shown, again from its first page (the
    /// greeting carried only the first page of all open conversations).
    pub(super) fn reload_view(&self) {
        if self.shown() != (InboxView::default(), InboxSort::default(), None) {
            self.request_page(None);
        }
    }

    /// Sends a change someone asked for now, or says why it was not done:
    /// unlike messages, these are not kept to send later (a resolve sent
    /// after an hour offline could undo a teammate's reply).
    pub(super) fn act(&self, frame: ClientFrame) {
        if self.can_act() {
            self.transmit(frame);
        }
    }

    /// Resolves, reopens or snoozes (until `until`) a conversation.
    pub fn set_status(
        &self,
        conversation_id: ConversationId,
        status: ConversationStatus,
        until: Option<Timestamp>,
    ) {
        self.act(ClientFrame::SetStatus {
            conversation_id,
            status,
            until,
            time_zone: crate::client::time::time_zone(),
        });
    }

    /// Gives a conversation to a teammate, or to nobody.
    pub fn assign(&self, conversation_id: ConversationId, agent_id: Option<AgentId>) {
        self.act(ClientFrame::Assign {
            conversation_id,
            agent_id,
        });
    }

    /// New counts arrived. One more conversation under the agent's Mentions
    /// is a teammate asking for them: they hear it (once per mention,
    /// however many rows change).
    pub(super) fn counts_arrived(&self, counts: InboxCounts) {
        if let Some(me) = self.agent_id() {
            let before = self
                .counts
                .with_untracked(|c| c.of(InboxView::Mentions, me));
            if counts.of(InboxView::Mentions, me) > before {
                #[cfg(feature = "hydrate")]
                crate::client::notify::mentioned(self);
            }
        }
        self.counts.set(counts);
    }

    /// An admin created or deleted a label: the list changes, a deleted one
    /// leaves every row, and a list filtered by it is shown unfiltered.
    pub(super) fn labels_changed(&self, labels: Vec<Label>) {
        let known = |id: &LabelId| labels.iter().any(|l| l.id == *id);
        self.conversations.update(|rows| {
            for row in rows {
                row.labels.retain(known);
            }
        });
        let gone = self.label.get_untracked().is_some_and(|l| !known(&l));
        self.labels.set(labels);
        if gone {
            self.filter_label(None);
        }
    }

    /// Whether changes can be sent now; if not, says so in the notice.
    pub fn can_act(&self) -> bool {
        let online = self.connection.get_untracked() == super::Connection::Online;
        if !online {
            self.notice.set(Some(
                "You're offline, so that was not done. Try again once connected.".into(),
            ));
        }
        online
    }

    /// Puts a label on a conversation, or takes it off.
    pub fn set_label(&self, conversation_id: ConversationId, label_id: LabelId, on: bool) {
        self.act(ClientFrame::Label {
            conversation_id,
            label_id,
            on,
        });
    }
}
