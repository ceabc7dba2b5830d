//! When this page tells the server that someone is typing.
//!
//! The server counts typing *starts* per socket (one a second, bursts of
//! two; stops are free). Typing "Do you ship", clearing the box and typing
//! "To Oslo?" within a second would otherwise make it refuse the second
//! start, and the other side would not see "is typing…" again for seconds.
//! So starts — in any conversation, as the socket is one — are spaced
//! [`START_GAP_MS`] apart: one that comes too soon is sent when it is allowed,
//! if the person is still typing then.

use std::collections::HashMap;

use crate::protocol::ConversationId;

/// How often a typing refresh is sent while the person keeps typing.
pub const REFRESH_MS: i64 = 2_000;
/// The least time between two starts of this page's socket.
pub const START_GAP_MS: i64 = 1_000 / crate::protocol::TYPING_STARTS_PER_SECOND as i64;

/// What to send now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// A `typing` frame with this value.
    Send(bool),
    /// Call [`TypingOut::due`] after this many milliseconds.
    StartAfter(i64),
}

#[derive(Clone, Copy, Debug, Default)]
struct State {
    /// When the last start in this conversation went out (for refreshes).
    last_start: Option<i64>,
    /// The person is typing (as far as the composer says).
    typing: bool,
    /// The other side was told so (a start went out, no stop since).
    announced: bool,
    /// A start waits for its gap.
    deferred: bool,
}

/// The typing state this page has announced, per conversation.
#[derive(Debug, Default)]
pub struct TypingOut {
    states: HashMap<ConversationId, State>,
    /// When the socket's last start went out, in any conversation.
    last_start: Option<i64>,
}

impl TypingOut {
    /// The composer says the person is typing (or stopped) at `now` (ms).
    pub fn change(&mut self, conversation: ConversationId, typing: bool, now: i64) -> Step {
        let state = self.states.entry(conversation).or_default();
        state.typing = typing;
        if !typing {
            state.deferred = false;
            return if std::mem::take(&mut state.announced) {
                Step::Send(false)
            } else {
                Step::Nothing
            };
        }
        // A clock that stepped back counts as "long ago", never as a wait.
        let ago = |at: i64| if now >= at { now - at } else { i64::MAX };
        if state.announced {
            // A refresh keeps the other side's indicator from expiring.
            if state.last_start.is_none_or(|at| ago(at) >= REFRESH_MS) {
                state.last_start = Some(now);
                self.last_start = Some(now);
                return Step::Send(true);
            }
            return Step::Nothing;
        }
        match self.last_start.map(ago) {
            Some(ms) if ms < START_GAP_MS => {
                if std::mem::replace(&mut state.deferred, true) {
                    Step::Nothing
                } else {
                    Step::StartAfter(START_GAP_MS - ms)
                }
            }
            _ => {
                state.last_start = Some(now);
                state.announced = true;
                self.last_start = Some(now);
                Step::Send(true)
            }
        }
    }

    /// A deferred start's time came: send it if the person still types.
    pub fn due(&mut self, conversation: ConversationId, now: i64) -> Step {
        match self.states.get_mut(&conversation) {
            Some(state) if state.deferred => {
                state.deferred = false;
                if state.typing && !state.announced {
                    self.change(conversation, true, now)
                } else {
                    Step::Nothing
                }
            }
            _ => Step::Nothing,
        }
    }

    /// The socket closed: the server forgot it all, and so does the page.
    pub fn reset(&mut self) {
        self.states.clear();
        self.last_start = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ConversationId = ConversationId(1);

    #[test]
    fn a_quick_retype_waits_for_its_gap_instead_of_being_refused() {
        let mut out = TypingOut::default();
        assert_eq!(out.change(C, true, 0), Step::Send(true));
        assert_eq!(out.change(C, true, 300), Step::Nothing, "no refresh yet");
        assert_eq!(out.change(C, false, 500), Step::Send(false));
        // Typing again 800 ms after the first start: too soon, sent at 1 s.
        assert_eq!(out.change(C, true, 800), Step::StartAfter(200));
        assert_eq!(out.change(C, true, 900), Step::Nothing, "one timer only");
        assert_eq!(out.due(C, 1_000), Step::Send(true));
        assert_eq!(out.change(C, false, 1_200), Step::Send(false));
    }

    #[test]
    fn a_deferred_start_is_dropped_when_the_person_stopped_meanwhile() {
        let mut out = TypingOut::default();
        assert_eq!(out.change(C, true, 0), Step::Send(true));
        assert_eq!(out.change(C, false, 100), Step::Send(false));
        assert_eq!(out.change(C, true, 200), Step::StartAfter(800));
        assert_eq!(out.change(C, false, 300), Step::Nothing, "never announced");
        assert_eq!(out.due(C, 1_000), Step::Nothing);
    }

    #[test]
    fn starts_never_come_closer_than_the_servers_limit() {
        // Someone who types and clears the box every 150 ms for 10 s.
        let mut out = TypingOut::default();
        let mut starts = Vec::new();
        let mut due_at = None;
        for tick in 0..200 {
            let now = tick * 50;
            if due_at.is_some_and(|at| now >= at) {
                due_at = None;
                if out.due(C, now) == Step::Send(true) {
                    starts.push(now);
                }
            }
            let step = out.change(C, (tick / 3) % 2 == 0, now);
            match step {
                Step::Send(true) => starts.push(now),
                Step::StartAfter(ms) => due_at = Some(now + ms),
                _ => {}
            }
        }
        assert!(starts.len() >= 5, "{starts:?}");
        assert!(
            starts.windows(2).all(|w| w[1] - w[0] >= START_GAP_MS),
            "{starts:?}"
        );
    }

    #[test]
    fn starts_in_different_conversations_share_the_sockets_pace() {
        let other = ConversationId(2);
        let mut out = TypingOut::default();
        assert_eq!(out.change(C, true, 0), Step::Send(true));
        assert_eq!(out.change(other, true, 400), Step::StartAfter(600));
        assert_eq!(out.due(other, 1_000), Step::Send(true));
    }

    #[test]
    fn a_clock_that_steps_back_never_blocks_typing() {
        let mut out = TypingOut::default();
        assert_eq!(out.change(C, true, 10_000), Step::Send(true));
        assert_eq!(out.change(C, false, 10_100), Step::Send(false));
        assert_eq!(out.change(C, true, 5_000), Step::Send(true));
    }

    #[test]
    fn refreshes_keep_going_while_typing() {
        let mut out = TypingOut::default();
        assert_eq!(out.change(C, true, 0), Step::Send(true));
        assert_eq!(out.change(C, true, 1_999), Step::Nothing);
        assert_eq!(out.change(C, true, 2_000), Step::Send(true));
        out.reset();
        assert_eq!(out.change(C, false, 2_100), Step::Nothing, "forgotten");
    }
}
