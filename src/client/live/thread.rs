//! The loaded part of one conversation, kept in change order: messages
//! merged by id, the resume point moved only past changes without gaps.

use std::collections::{BTreeSet, HashMap};

use crate::protocol::{Message, MessageId, Person, Reaction, Seq};

/// Change numbers seen ahead of a gap that a thread remembers; past this it
/// forgets them (a resume then replays a little more).
const AHEAD_REMEMBERED: usize = 256;

/// The loaded part of one conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thread {
    /// Sorted by id, no duplicates.
    pub messages: Vec<Message>,
    /// Older messages exist before the first one here.
    pub has_more: bool,
    /// History arrived at least once.
    pub loaded: bool,
    /// An `older` request is on its way.
    pub loading_older: bool,
    /// Messages between these two ids exist but are not loaded (a search
    /// jumped to a message far from the newest ones).
    pub gap: Option<(MessageId, MessageId)>,
    /// An `older` request filling the gap is on its way.
    pub filling_gap: bool,
    /// Every change of the conversation up to this number has reached this
    /// page: a resume asks for what came after it.
    pub seq: Seq,
    /// Numbers seen beyond `seq` (live events can arrive out of order);
    /// `seq` moves on when the gap before them fills.
    ahead: BTreeSet<Seq>,
    /// The change number of each shown message's text (its body, edit or
    /// delete). A message's own `seq` also moves with reactions, which
    /// arrive as separate changes: an edit read before a later reaction
    /// must still replace the text.
    text_seq: HashMap<MessageId, Seq>,
}

impl Thread {
    /// Adds or replaces messages, keeping id order and no duplicates. A copy
    /// older than the one shown (a lower change number) never replaces it;
    /// one whose text is newer than the shown text replaces the text only.
    pub fn merge(&mut self, incoming: impl IntoIterator<Item = Message>) {
        for message in incoming {
            self.saw(message.seq);
            match self.messages.binary_search_by_key(&message.id, |m| m.id) {
                Ok(at) => {
                    let shown = &mut self.messages[at];
                    let text_seq = self.text_seq.get(&message.id).copied().unwrap_or(shown.seq);
                    if message.seq >= shown.seq {
                        self.text_seq.insert(message.id, message.seq);
                        *shown = message;
                    } else if message.seq > text_seq {
                        self.text_seq.insert(message.id, message.seq);
                        shown.body = message.body;
                        shown.edited_at = message.edited_at;
                        shown.deleted = message.deleted;
                        if shown.deleted {
                            shown.reactions.clear();
                        }
                    }
                }
                Err(at) => {
                    self.text_seq.insert(message.id, message.seq);
                    self.messages.insert(at, message);
                }
            }
        }
    }

    /// Replayed changes: replaces what is shown and adds what is newer than
    /// the first loaded message (older ones, and those in the gap, load with
    /// their page).
    pub(super) fn merge_changes(&mut self, incoming: Vec<Message>) {
        let first = self.messages.first().map(|m| m.id);
        let gap = self.gap;
        let shown = incoming.into_iter().filter(|m| {
            first.is_none_or(|first| m.id >= first)
                && gap.is_none_or(|(below, above)| m.id <= below || m.id >= above)
        });
        self.merge(shown);
    }

    /// Whether the message is loaded.
    pub fn shows(&self, id: MessageId) -> bool {
        self.messages.binary_search_by_key(&id, |m| m.id).is_ok()
    }

    /// A `jump` page arrived: the messages around one message, and the
    /// newest ones, with the `gap` between them if they do not meet. Only
    /// one gap is kept: what lay below an earlier one is let go.
    pub(super) fn jumped(
        &mut self,
        page: Vec<Message>,
        has_more: bool,
        seq: Seq,
        gap: Option<(MessageId, MessageId)>,
    ) {
        if let Some((_, above)) = self.gap.take() {
            self.messages.retain(|m| m.id >= above);
        }
        // Pages asked for before the jump answer questions no longer asked.
        self.filling_gap = false;
        self.loading_older = false;
        let loaded_from = self.messages.first().map(|m| m.id);
        if !self.loaded || page.first().map(|m| m.id) < loaded_from || loaded_from.is_none() {
            self.has_more = has_more;
        }
        self.loaded = true;
        self.merge(page);
        self.complete_to(seq);
        // What was loaded already runs to the newest message: the gap ends
        // where it starts, or there is none if it reaches below the page.
        self.gap = match (gap, loaded_from) {
            (Some((below, _)), Some(from)) if from <= below => None,
            (Some((below, above)), Some(from)) => Some((below, from.min(above))),
            (gap, None) => gap,
            (None, _) => None,
        };
    }

    /// An `older` page arrived, answering `before`: the page below the
    /// first loaded message, or the one below the gap's top. An answer to a
    /// question no longer asked (a jump moved things since) is dropped.
    pub(super) fn paged(&mut self, before: MessageId, page: Vec<Message>, has_more: bool) {
        if self.filling_gap && self.gap.is_some_and(|(_, above)| above == before) {
            self.gap_filled(page, has_more);
        } else if self.loading_older && self.messages.first().map(|m| m.id) == Some(before) {
            self.loading_older = false;
            self.has_more = has_more;
            self.merge(page);
        }
    }

    /// Nothing asked for is on its way any more (the socket was remade).
    pub(super) fn forget_requests(&mut self) {
        self.loading_older = false;
        self.filling_gap = false;
    }

    /// A page of the messages just below the gap's top arrived: the gap
    /// closes when the page reaches its bottom, else it shrinks.
    fn gap_filled(&mut self, page: Vec<Message>, has_more: bool) {
        self.filling_gap = false;
        let Some((below, _)) = self.gap else {
            return;
        };
        let top = page.first().map(|m| m.id);
        self.gap = match top {
            Some(top) if has_more && top > below => Some((below, top)),
            _ => None,
        };
        self.merge(page.into_iter().filter(|m| m.id > below));
    }

    /// Change `seq` reached this page.
    pub(super) fn saw(&mut self, seq: Seq) {
        if seq <= self.seq {
            return;
        }
        if seq == self.seq + 1 {
            self.seq = seq;
            while self.ahead.remove(&(self.seq + 1)) {
                self.seq += 1;
            }
        } else {
            if self.ahead.len() >= AHEAD_REMEMBERED {
                self.ahead.clear();
            }
            self.ahead.insert(seq);
        }
    }

    /// Everything up to `seq` is known (a page the server read at that point).
    pub(super) fn complete_to(&mut self, seq: Seq) {
        if seq > self.seq {
            self.seq = seq;
            self.ahead.retain(|s| *s > seq);
        }
        while self.ahead.remove(&(self.seq + 1)) {
            self.seq += 1;
        }
    }

    /// A reaction given or taken back.
    pub(super) fn react(
        &mut self,
        message_id: MessageId,
        emoji: String,
        person: Person,
        added: bool,
        seq: Seq,
    ) {
        self.saw(seq);
        let Ok(at) = self.messages.binary_search_by_key(&message_id, |m| m.id) else {
            return;
        };
        let message = &mut self.messages[at];
        // Reactions are per person and emoji: a change that arrives after a
        // later one of someone else's still applies (adding twice or taking
        // back what is not there changes nothing).
        if message.deleted {
            return;
        }
        message.seq = message.seq.max(seq);
        let same = |p: &Person| (p.kind, p.id) == (person.kind, person.id);
        let existing = message.reactions.iter().position(|r| r.emoji == emoji);
        match (existing, added) {
            (Some(at), true) => {
                let people = &mut message.reactions[at].people;
                if !people.iter().any(same) {
                    people.push(person);
                }
            }
            (None, true) => message.reactions.push(Reaction {
                emoji,
                people: vec![person],
            }),
            (Some(at), false) => {
                message.reactions[at].people.retain(|p| !same(p));
                if message.reactions[at].people.is_empty() {
                    message.reactions.remove(at);
                }
            }
            (None, false) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SenderKind;

    fn message(id: i64) -> Message {
        Message::sample(id, &format!("m{id}"))
    }

    fn agent(id: i64, name: &str) -> Person {
        Person {
            kind: SenderKind::Agent,
            id,
            name: name.into(),
        }
    }

    #[test]
    fn merge_orders_by_id_and_drops_duplicates() {
        let mut thread = Thread::default();
        thread.merge([message(3), message(1)]);
        thread.merge([message(2), message(3)]);
        let ids: Vec<i64> = thread.messages.iter().map(|m| m.id.0).collect();
        assert_eq!(ids, [1, 2, 3]);
    }

    #[test]
    fn an_older_copy_never_replaces_a_newer_one() {
        let mut thread = Thread::default();
        let mut edited = message(1);
        edited.body = "edited".into();
        edited.seq = 5;
        thread.merge([edited]);
        thread.merge([message(1)]);
        assert_eq!(thread.messages[0].body, "edited");
    }

    #[test]
    fn an_edit_read_before_a_later_reaction_still_replaces_the_text() {
        let mut thread = Thread::default();
        thread.merge([message(1)]);
        let ana = agent(1, "Ana");
        // Reactions 3 and 4 from two people arrive out of order.
        let ben = agent(2, "Ben");
        thread.react(MessageId(1), "🎉".into(), ben, true, 4);
        thread.react(MessageId(1), "👍".into(), ana, true, 3);
        assert_eq!(thread.messages[0].reactions.len(), 2, "both count");
        // The edit (change 2) arrives last: its text still wins.
        let mut edited = message(1);
        edited.body = "edited".into();
        edited.seq = 2;
        thread.merge([edited]);
        assert_eq!(thread.messages[0].body, "edited");
        assert_eq!(
            thread.messages[0].reactions.len(),
            2,
            "and the reactions stay"
        );
        assert_eq!(thread.seq, 4);
    }

    #[test]
    fn the_resume_point_moves_only_past_contiguous_changes() {
        let mut thread = Thread::default();
        thread.complete_to(10);
        thread.saw(12);
        assert_eq!(thread.seq, 10, "11 has not arrived: resume from 10");
        thread.saw(11);
        assert_eq!(thread.seq, 12);
        thread.saw(14);
        thread.complete_to(13);
        assert_eq!(thread.seq, 14, "a snapshot fills the gap before 14");
    }

    fn page(ids: std::ops::RangeInclusive<i64>) -> Vec<Message> {
        ids.map(message).collect()
    }

    #[test]
    fn a_jump_far_back_leaves_a_gap_that_older_pages_close() {
        let mut thread = Thread::default();
        thread.merge(page(90..=100));
        thread.loaded = true;
        thread.has_more = true;
        // Around 10: 5..=15, and the newest page 90..=100 again.
        let mut jump = page(5..=15);
        jump.extend(page(90..=100));
        thread.jumped(jump, true, 100, Some((MessageId(15), MessageId(90))));
        assert_eq!(thread.gap, Some((MessageId(15), MessageId(90))));
        assert!(thread.has_more, "older messages exist before 5");
        // A replayed edit of a message in the gap is not shown there.
        thread.merge_changes(vec![message(50)]);
        assert!(!thread.shows(MessageId(50)));
        thread.filling_gap = true;
        // An older page answering something else does not touch the gap.
        thread.paged(MessageId(5), page(1..=4), false);
        assert!(!thread.shows(MessageId(4)));
        thread.paged(MessageId(90), page(40..=89), true);
        assert_eq!(thread.gap, Some((MessageId(15), MessageId(40))));
        thread.filling_gap = true;
        thread.paged(MessageId(40), page(10..=39), true);
        assert_eq!(thread.gap, None, "the page reached below the gap");
        let ids: Vec<i64> = thread.messages.iter().map(|m| m.id.0).collect();
        assert_eq!(ids, (5..=100).collect::<Vec<_>>());
    }

    #[test]
    fn a_gap_that_turns_out_empty_closes() {
        let mut thread = Thread::default();
        let mut jump = page(5..=15);
        jump.extend(page(16..=30));
        thread.jumped(jump, true, 30, Some((MessageId(15), MessageId(16))));
        thread.filling_gap = true;
        // The page below 16 ends at 15 itself: nothing lay between.
        thread.paged(MessageId(16), page(1..=15), true);
        assert_eq!(thread.gap, None);
        assert!(!thread.filling_gap);
    }

    #[test]
    fn a_jump_into_what_is_loaded_leaves_no_gap() {
        let mut thread = Thread::default();
        thread.merge(page(20..=100));
        thread.loaded = true;
        let mut jump = page(10..=30);
        jump.extend(page(90..=100));
        thread.jumped(jump, false, 100, Some((MessageId(30), MessageId(90))));
        assert_eq!(thread.gap, None);
        assert!(!thread.has_more);
    }

    #[test]
    fn reactions_apply_as_changes() {
        let mut thread = Thread::default();
        thread.merge([message(1)]);
        let ana = agent(1, "Ana");
        thread.react(MessageId(1), "👍".into(), ana.clone(), true, 2);
        thread.react(MessageId(1), "👍".into(), ana.clone(), true, 2);
        assert_eq!(thread.messages[0].reactions[0].people.len(), 1);
        thread.react(MessageId(1), "👍".into(), ana, false, 3);
        assert!(thread.messages[0].reactions.is_empty());
        assert_eq!(thread.seq, 3);
    }
}
