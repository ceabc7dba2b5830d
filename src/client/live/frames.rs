//! Applying what the server sends: the greeting, messages and their
//! changes, inbox rows (never an older copy over a newer one), receipts,
//! typing and presence — and, after a (re)connect, catching up.

use std::collections::HashMap;

use leptos::prelude::*;

use super::{Connection, Live, is_me};
use crate::protocol::{
    ClientFrame, ConversationId, ConversationSummary, CursorKind, InboxSort, InboxView, Me,
    Message, MessageId, Person, SenderKind, ServerFrame,
};

impl Live {
    /// Applies one frame from the server.
    pub fn apply(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Hello {
                me,
                conversations,
                more_conversations,
                team_online,
                look,
                counts,
                team,
                labels,
            } => {
                if let Some(look) = look {
                    self.look.set(look);
                }
                if let Some(counts) = counts {
                    self.counts.set(counts);
                }
                self.team.set(team);
                self.labels.set(labels);
                // Someone else now (the visitor was erased and came back
                // as nobody): nothing of the one before stays on screen.
                let someone_else = |was: &Me| match (was, &me) {
                    (Me::Contact { id: a, .. }, Me::Contact { id: b, .. }) => a != b,
                    (Me::Agent { id: a, .. }, Me::Agent { id: b, .. }) => a != b,
                    _ => true,
                };
                if self
                    .me
                    .with_untracked(|was| was.as_ref().is_some_and(someone_else))
                {
                    self.threads.set(HashMap::new());
                    self.watched.set_value(Default::default());
                    self.typing.set(HashMap::new());
                    self.search_results.set(None);
                }
                self.me.set(Some(me));
                self.more_conversations.set(more_conversations);
                self.loading_conversations.set(false);
                self.team_online.set(team_online);
                self.connection.set(Connection::Online);
                for c in &conversations {
                    self.acknowledge_delivery(c);
                }
                // The greeting's rows are the first page of all open ones.
                self.frontier.set_value(HashMap::new());
                if let Some(last) = conversations.last() {
                    let key = InboxSort::Newest.key(last);
                    self.frontier.update_value(|f| {
                        f.insert((InboxView::Open, InboxSort::Newest, None), key);
                    });
                }
                self.conversations.set(conversations);
                // A draft cut off by the reconnect is never finished: the
                // next draft or the stored answer comes instead.
                self.drafts.update(HashMap::clear);
                self.reload_view();
                self.catch_up();
            }
            ServerFrame::Ack { client_id, message } => {
                self.add_message(message);
                self.acknowledged(client_id);
            }
            ServerFrame::Message { message } => self.add_message(message),
            ServerFrame::History {
                conversation_id,
                messages,
                has_more,
                seq,
                gap,
                around: Some(_),
                ..
            } => self.threads.update(|threads| {
                let thread = threads.entry(conversation_id).or_default();
                thread.jumped(messages, has_more, seq, gap);
            }),
            ServerFrame::History {
                conversation_id,
                messages,
                has_more,
                before: Some(before),
                ..
            } => self.threads.update(|threads| {
                if let Some(thread) = threads.get_mut(&conversation_id) {
                    thread.paged(before, messages, has_more);
                }
            }),
            ServerFrame::History {
                conversation_id,
                messages,
                has_more,
                seq,
                ..
            } => self.threads.update(|threads| {
                // `open`: the newest page.
                let thread = threads.entry(conversation_id).or_default();
                if !thread.loaded {
                    thread.has_more = has_more;
                    thread.loaded = true;
                }
                thread.merge(messages);
                thread.complete_to(seq);
            }),
            ServerFrame::Changes {
                conversation_id,
                messages,
                seq,
                ..
            } => self.threads.update(|threads| {
                let thread = threads.entry(conversation_id).or_default();
                thread.merge_changes(messages);
                thread.complete_to(seq);
            }),
            ServerFrame::Reaction {
                conversation_id,
                message_id,
                emoji,
                person,
                added,
                seq,
            } => self.threads.update(|threads| {
                if let Some(thread) = threads.get_mut(&conversation_id) {
                    thread.react(message_id, emoji, person, added, seq);
                }
            }),
            ServerFrame::Changed { message } => self.threads.update(|threads| {
                // Only messages already shown change; others load as they are.
                let Some(thread) = threads.get_mut(&message.conversation_id) else {
                    return;
                };
                if thread
                    .messages
                    .binary_search_by_key(&message.id, |m| m.id)
                    .is_ok()
                {
                    thread.merge([message]);
                } else {
                    thread.saw(message.seq);
                }
            }),
            ServerFrame::Conversations {
                conversations,
                has_more,
                view,
                sort,
                label,
            } => self.page_arrived(conversations, has_more, (view, sort, label)),
            ServerFrame::Counts { counts } => self.counts_arrived(counts),
            ServerFrame::Labels { labels } => self.labels_changed(labels),
            // Nothing of an erased conversation stays on screen, nor is
            // asked for again on the next reconnect.
            ServerFrame::Erased { conversation_ids } => {
                let gone = |id: &ConversationId| conversation_ids.contains(id);
                self.conversations
                    .update(|list| list.retain(|c| !gone(&c.id)));
                self.threads
                    .update(|threads| threads.retain(|id, _| !gone(id)));
                self.watched.update_value(|w| w.retain(|id| !gone(id)));
                self.typing.update(|t| t.retain(|id, _| !gone(id)));
                self.drafts.update(|d| d.retain(|id, _| !gone(id)));
                self.search_results.update(|hits| {
                    if let Some(hits) = hits {
                        hits.retain(|h| !gone(&h.conversation_id));
                    }
                });
            }
            ServerFrame::Conversation { conversation } => {
                self.acknowledge_delivery(&conversation);
                // A person took over: whatever the assistant was writing is moot.
                if conversation.assistant != crate::protocol::AssistantState::Answering
                    && self
                        .drafts
                        .with_untracked(|d| d.contains_key(&conversation.id))
                {
                    self.drafts.update(|d| {
                        d.remove(&conversation.id);
                    });
                }
                self.upsert_conversation(conversation)
            }
            ServerFrame::Typing {
                conversation_id,
                person,
                typing,
            } => self.typing.update(|all| {
                let list = all.entry(conversation_id).or_default();
                list.retain(|p| (p.kind, p.id) != (person.kind, person.id));
                if typing {
                    list.push(person);
                }
            }),
            ServerFrame::Draft {
                conversation_id,
                text,
            } => {
                // Empty: the answer was dropped. A late draft of an answer a
                // person took over from is dropped too.
                let answering = !self.conversations.with_untracked(|c| {
                    c.iter().any(|c| {
                        c.id == conversation_id
                            && c.assistant != crate::protocol::AssistantState::Answering
                    })
                });
                self.drafts.update(|drafts| {
                    if text.is_empty() || !answering {
                        drafts.remove(&conversation_id);
                    } else {
                        drafts.insert(conversation_id, text);
                    }
                })
            }
            ServerFrame::Cursor {
                conversation_id,
                kind,
                person,
                up_to,
                seq,
            } => {
                self.threads.update(|threads| {
                    if let Some(thread) = threads.get_mut(&conversation_id) {
                        thread.saw(seq);
                    }
                });
                self.move_cursor(conversation_id, kind, &person, up_to)
            }
            ServerFrame::Presence {
                contact_id,
                online,
                last_seen_at,
            } => self.conversations.update(|list| {
                for c in list.iter_mut().filter(|c| c.contact_id == contact_id) {
                    c.contact_online = online;
                    c.contact_last_seen_at = last_seen_at;
                }
            }),
            ServerFrame::TeamPresence { online } => self.team_online.set(online),
            ServerFrame::Look { look } => self.look.set(look),
            ServerFrame::Error {
                code,
                message,
                client_id,
                retry_after_ms,
            } => {
                let matched = client_id
                    .is_some_and(|id| self.send_refused(id, code, &message, retry_after_ms));
                if !matched {
                    self.notice.set(Some(self.words.refusal(code, &message)));
                }
            }
            ServerFrame::SearchResults { search_id, hits } => self.search_answered(search_id, hits),
            ServerFrame::Pong => {}
        }
    }

    /// After (re)connecting: reload what the page shows, then resend the outbox
    /// with the same `client_id`s (the server stores each once).
    pub(super) fn catch_up(&self) {
        // Pages asked for on the old socket will not come.
        self.threads.update(|threads| {
            for thread in threads.values_mut() {
                thread.forget_requests();
            }
        });
        if self.is_agent() {
            self.search_again();
        } else {
            self.report_visit();
        }
        let watched = self.watched.get_value();
        for conversation_id in watched {
            let since = self.threads.with_untracked(|t| {
                t.get(&conversation_id)
                    .filter(|t| t.loaded && t.seq > 0)
                    .map(|t| t.seq)
            });
            self.transmit(match since {
                Some(since) => ClientFrame::Resume {
                    conversation_id,
                    since,
                },
                None => ClientFrame::Open { conversation_id },
            });
        }
        self.send_next();
    }

    pub(super) fn add_message(&self, message: Message) {
        let conversation_id = message.conversation_id;
        // The answer (or whoever took over from it) replaces the draft.
        if message.sender != SenderKind::Contact
            && self
                .drafts
                .with_untracked(|d| d.contains_key(&conversation_id))
        {
            self.drafts.update(|d| {
                d.remove(&conversation_id);
            });
        }
        let known = self
            .conversations
            .with_untracked(|c| c.iter().any(|c| c.id == conversation_id));
        if !known && let Some(Me::Contact { id, name, email }) = self.me.get_untracked() {
            // A visitor's first message created this conversation.
            self.upsert_conversation(ConversationSummary {
                id: conversation_id,
                contact_id: id,
                contact_name: name.unwrap_or_else(|| crate::protocol::visitor_label(id)),
                contact_email: email,
                status: crate::protocol::ConversationStatus::Open,
                last_message_at: message.created_at,
                last_message_preview: message.body.chars().take(140).collect(),
                last_sender: Some(message.sender),
                last_message_id: message.id,
                unread: 0,
                contact_read_id: message.id,
                team_read_id: MessageId(0),
                team_delivered_id: MessageId(0),
                contact_online: true,
                contact_last_seen_at: message.created_at,
                // The server's `conversation` row follows with the real state.
                assistant: Default::default(),
                seq: 0,
                assignee: None,
                snoozed_until: None,
                waiting_since: None,
                rating: None,
                labels: Vec::new(),
                mentions: Vec::new(),
            });
        }
        self.threads
            .update(|t| t.entry(conversation_id).or_default().merge([message]));
    }

    /// (Agents) a visitor's newest message reached this inbox: say so, for
    /// the visitor's ✓✓.
    pub(super) fn acknowledge_delivery(&self, c: &ConversationSummary) {
        if self.is_agent()
            && c.last_sender == Some(SenderKind::Contact)
            && c.team_delivered_id < c.last_message_id
        {
            self.transmit(ClientFrame::Delivered {
                conversation_id: c.id,
                up_to: c.last_message_id,
            });
        }
    }

    pub(super) fn move_cursor(
        &self,
        conversation_id: ConversationId,
        kind: CursorKind,
        person: &Person,
        up_to: MessageId,
    ) {
        let is_me = is_me(&self.me.get_untracked(), person);
        self.conversations.update(|list| {
            let Some(c) = list.iter_mut().find(|c| c.id == conversation_id) else {
                return;
            };
            match (kind, person.kind) {
                (CursorKind::Delivered, _) => {
                    c.team_delivered_id = c.team_delivered_id.max(up_to);
                }
                (CursorKind::Read, SenderKind::Contact) => {
                    c.contact_read_id = c.contact_read_id.max(up_to);
                }
                (CursorKind::Read, _) => {
                    c.team_read_id = c.team_read_id.max(up_to);
                    c.team_delivered_id = c.team_delivered_id.max(up_to);
                }
            }
            // Read in another of my tabs: nothing is unread here either.
            if is_me && kind == CursorKind::Read && up_to >= c.last_message_id {
                c.unread = 0;
            }
        });
    }

    pub(super) fn upsert_conversation(&self, mut conversation: ConversationSummary) {
        let mine = conversation.last_sender.is_some_and(|s| self.is_mine(s));
        let mut incoming = false;
        let heads_up = (
            conversation.contact_name.clone(),
            conversation.last_message_preview.clone(),
        );
        // This page already said it read up to the row's newest message (the
        // read can overtake the row: it is published after its commit).
        let already_read = self.read_sent.with_value(|sent| {
            sent.get(&conversation.id)
                .is_some_and(|at| *at >= conversation.last_message_id)
        });
        let stale = self.conversations.with_untracked(|list| {
            list.iter()
                .any(|c| c.id == conversation.id && c.seq > conversation.seq)
        });
        if stale {
            // Read before a row we already have: never overwrite newer with older.
            return;
        }
        self.conversations.update(|list| {
            if let Some(old) = list.iter().find(|c| c.id == conversation.id) {
                // Live rows carry no per-reader count: keep ours, plus one for
                // a new message from the other side.
                conversation.unread = old.unread;
                let newer = conversation.last_message_id > old.last_message_id;
                if newer && (mine || already_read) {
                    conversation.unread = 0;
                } else if newer {
                    conversation.unread += 1;
                    incoming = true;
                }
                conversation.contact_read_id =
                    conversation.contact_read_id.max(old.contact_read_id);
                conversation.team_read_id = conversation.team_read_id.max(old.team_read_id);
                conversation.team_delivered_id =
                    conversation.team_delivered_id.max(old.team_delivered_id);
            } else if !mine && conversation.last_message_id.0 > 0 && conversation.unread == 0 {
                conversation.unread = 1;
                incoming = true;
            }
            list.retain(|c| c.id != conversation.id);
            let at = list
                .iter()
                .position(|c| {
                    (c.last_message_at, c.id) < (conversation.last_message_at, conversation.id)
                })
                .unwrap_or(list.len());
            list.insert(at, conversation);
        });
        if incoming {
            #[cfg(feature = "hydrate")]
            crate::client::notify::incoming(self, &heads_up.0, &heads_up.1);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = heads_up;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MessageId, SenderKind, Timestamp};

    fn row(seq: i64, preview: &str) -> ConversationSummary {
        ConversationSummary {
            id: ConversationId(1),
            contact_id: crate::protocol::ContactId(1),
            contact_name: "Visitor #1".into(),
            contact_email: None,
            status: crate::protocol::ConversationStatus::Open,
            last_message_at: Timestamp(seq),
            last_message_preview: preview.into(),
            last_sender: Some(SenderKind::Agent),
            last_message_id: MessageId(seq),
            unread: 0,
            contact_read_id: MessageId(0),
            team_read_id: MessageId(0),
            team_delivered_id: MessageId(0),
            contact_online: false,
            contact_last_seen_at: Timestamp(0),
            assistant: Default::default(),
            seq,
            assignee: None,
            snoozed_until: None,
            waiting_since: None,
            rating: None,
            labels: Vec::new(),
            mentions: Vec::new(),
        }
    }

    #[test]
    fn a_row_whose_message_this_page_already_read_is_not_unread() {
        let owner = Owner::new();
        owner.with(|| {
            let live = Live::new();
            let (tx, _rx) = futures::channel::mpsc::unbounded();
            live.attach(tx);
            live.connection.set(Connection::Online);
            let mut first = row(1, "hello");
            first.last_sender = Some(SenderKind::Contact);
            live.apply(ServerFrame::Conversation {
                conversation: first,
            });
            // The reply is shown and read before its inbox row arrives.
            live.mark_read(ConversationId(1), MessageId(2));
            live.apply(ServerFrame::Conversation {
                conversation: row(2, "a reply"),
            });
            assert_eq!(live.total_unread(), 0);
            // One nobody read yet counts.
            live.apply(ServerFrame::Conversation {
                conversation: row(3, "another"),
            });
            assert_eq!(live.total_unread(), 1);
        });
    }

    #[test]
    fn an_older_inbox_row_never_overwrites_a_newer_one() {
        let owner = Owner::new();
        owner.with(|| {
            let live = Live::new();
            live.apply(ServerFrame::Conversation {
                conversation: row(5, "newer"),
            });
            // Read earlier, published later: it arrives second.
            live.apply(ServerFrame::Conversation {
                conversation: row(4, "older"),
            });
            let shown = live.conversations.get_untracked();
            assert_eq!(shown.len(), 1);
            assert_eq!(shown[0].last_message_preview, "newer");
            live.apply(ServerFrame::Conversation {
                conversation: row(6, "newest"),
            });
            assert_eq!(
                live.conversations.get_untracked()[0].last_message_preview,
                "newest"
            );
        });
    }
}
