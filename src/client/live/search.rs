//! (Agents) the search box: sending searches, keeping the newest answer,
//! and opening a conversation at the message a result found.

use leptos::prelude::*;

use super::Live;
use crate::protocol::{ClientFrame, ConversationId, MessageId, SearchHit, SearchQuery};

impl Live {
    /// Searches; the answer lands in `search_results`. An empty text
    /// clears the results instead.
    pub fn search(&self, query: SearchQuery) {
        if query.text.trim().is_empty() {
            self.clear_search();
            return;
        }
        let search_id = self.search_sent.get_value().wrapping_add(1);
        self.search_sent.set_value(search_id);
        self.searching.set_value(Some(query.clone()));
        self.transmit(ClientFrame::Search { search_id, query });
    }

    /// After a reconnect: the search shown is asked again.
    pub(super) fn search_again(&self) {
        if let Some(query) = self.searching.get_value() {
            self.search(query);
        }
    }

    /// Forgets the results (and any answer still on its way).
    pub fn clear_search(&self) {
        self.searching.set_value(None);
        self.search_sent
            .set_value(self.search_sent.get_value().wrapping_add(1));
        self.search_results.set(None);
    }

    pub(super) fn search_answered(&self, search_id: u32, hits: Vec<SearchHit>) {
        if search_id == self.search_sent.get_value() {
            self.search_results.set(Some(hits));
        }
    }

    /// Shows a conversation at one of its messages: at once if it is
    /// loaded, else once the messages around it arrive (never the whole
    /// conversation in between).
    pub fn jump(&self, conversation_id: ConversationId, message_id: MessageId) {
        self.jump_to.set(Some((conversation_id, message_id)));
        self.watched.update_value(|w| {
            w.insert(conversation_id);
        });
        let shown = self.threads.with_untracked(|t| {
            t.get(&conversation_id)
                .is_some_and(|thread| thread.shows(message_id))
        });
        if !shown {
            self.transmit(ClientFrame::Jump {
                conversation_id,
                message_id,
            });
        }
    }

    /// Asks for the messages just below the top of the conversation's gap.
    pub fn fill_gap(&self, conversation_id: ConversationId) {
        let mut before = None;
        self.threads.update(|threads| {
            if let Some(thread) = threads.get_mut(&conversation_id)
                && let Some((_, above)) = thread.gap
                && !thread.filling_gap
            {
                thread.filling_gap = true;
                before = Some(above);
            }
        });
        if let Some(before) = before {
            self.transmit(ClientFrame::Older {
                conversation_id,
                before,
            });
        }
    }
}
