//! Who is typing where. Never stored: a typing state lives here, in memory,
//! until the typist stops, sends, or goes quiet for `TYPING_EXPIRES_MS` — so a
//! crashed tab never leaves "typing…" behind.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::{ContactId, ConversationId, Person, SenderKind, TYPING_EXPIRES_MS};
use crate::server::bus::Event;

/// How long a typing state lasts without a refresh.
pub const EXPIRES: Duration = Duration::from_millis(TYPING_EXPIRES_MS);

/// How often expired states are swept.
pub const SWEEP: Duration = Duration::from_millis(500);

type Key = (ConversationId, SenderKind, i64);

/// A typing state that ended: who stopped where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    pub conversation: ConversationId,
    pub contact: ContactId,
    pub person: Person,
}

struct State {
    contact: ContactId,
    person: Person,
    expires: Instant,
}

/// Typing states: of this instance's sockets (kept by their socket
/// tasks), or heard on the bus from any instance (kept by the hub).
pub struct Typing {
    states: Mutex<HashMap<Key, State>>,
    expires: Duration,
}

impl Default for Typing {
    fn default() -> Self {
        Self::new(EXPIRES)
    }
}

impl Typing {
    /// States end `expires` after their last refresh.
    pub fn new(expires: Duration) -> Self {
        Self {
            states: Mutex::default(),
            expires,
        }
    }

    /// `person` is typing in `conversation` (of `contact`): starts or refreshes.
    pub fn start(&self, conversation: ConversationId, contact: ContactId, person: Person) {
        let key = (conversation, person.kind, person.id);
        self.lock().insert(
            key,
            State {
                contact,
                person,
                expires: Instant::now() + self.expires,
            },
        );
    }

    /// `person` stopped typing; returns the state if they were typing.
    pub fn stop(&self, conversation: ConversationId, person: &Person) -> Option<Stopped> {
        let state = self
            .lock()
            .remove(&(conversation, person.kind, person.id))?;
        Some(Stopped {
            conversation,
            contact: state.contact,
            person: state.person,
        })
    }

    /// Starts or stops a state as a typing event on the bus says.
    pub fn hear(&self, event: &Event) {
        if let Event::Typing {
            contact_id,
            conversation_id,
            person,
            typing,
        } = event
        {
            if *typing {
                self.start(*conversation_id, *contact_id, person.clone());
            } else {
                self.stop(*conversation_id, person);
            }
        }
    }

    /// Removes and returns every state not refreshed in time.
    pub fn expired(&self, now: Instant) -> Vec<Stopped> {
        let mut stopped = Vec::new();
        self.lock().retain(|&(conversation, _, _), state| {
            if state.expires > now {
                return true;
            }
            stopped.push(Stopped {
                conversation,
                contact: state.contact,
                person: state.person.clone(),
            });
            false
        });
        stopped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, State>> {
        self.states
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ana() -> Person {
        Person {
            kind: SenderKind::Agent,
            id: 1,
            name: "Ana".into(),
        }
    }

    #[test]
    fn a_state_expires_unless_refreshed() {
        let typing = Typing::default();
        let c = ConversationId(1);
        typing.start(c, ContactId(9), ana());
        assert!(typing.expired(Instant::now()).is_empty());
        let later = Instant::now() + EXPIRES + Duration::from_millis(1);
        let stopped = typing.expired(later);
        assert_eq!(stopped.len(), 1);
        assert_eq!(stopped[0].person, ana());
        assert!(typing.stop(c, &ana()).is_none(), "an expired state is gone");
    }

    #[test]
    fn stop_reports_only_a_state_that_existed() {
        let typing = Typing::default();
        let c = ConversationId(1);
        assert!(typing.stop(c, &ana()).is_none());
        typing.start(c, ContactId(9), ana());
        assert_eq!(typing.stop(c, &ana()).unwrap().contact, ContactId(9));
    }
}
