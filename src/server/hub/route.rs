//! Which frame each bus event becomes, and which of this instance's
//! sockets receive it.

use crate::protocol::{AgentId, ContactId, ConversationId, SenderKind, ServerFrame};
use crate::server::bus::Event;

use super::Peer;

/// Which agent sockets an event goes to.
pub(super) enum Agents {
    None,
    Watching(ConversationId),
    All,
}

/// Who receives one event.
pub(super) struct Recipients {
    pub(super) contact: Option<ContactId>,
    pub(super) every_contact: bool,
    pub(super) agents: Agents,
    /// The person who caused it, whose own sockets are skipped (typing).
    pub(super) skip: Option<Peer>,
}

/// The frame an event becomes and who receives it.
pub(super) fn route(event: &Event) -> Option<(ServerFrame, Recipients)> {
    let to = |contact, agents| Recipients {
        contact: Some(contact),
        every_contact: false,
        agents,
        skip: None,
    };
    Some(match event.clone() {
        // What is internal (notes, lines about the state) never reaches
        // the visitor: this is the one place that decides.
        Event::Message {
            contact_id,
            message,
            ..
        } => {
            let mut recipients = to(contact_id, Agents::Watching(message.conversation_id));
            recipients.contact = (!message.internal).then_some(contact_id);
            (ServerFrame::Message { message }, recipients)
        }
        Event::Changed {
            contact_id,
            message,
        } => {
            let mut recipients = to(contact_id, Agents::Watching(message.conversation_id));
            recipients.contact = (!message.internal).then_some(contact_id);
            (ServerFrame::Changed { message }, recipients)
        }
        Event::Reaction {
            contact_id,
            conversation_id,
            message_id,
            emoji,
            person,
            added,
            seq,
            internal,
        } => {
            let mut recipients = to(contact_id, Agents::Watching(conversation_id));
            recipients.contact = (!internal).then_some(contact_id);
            let frame = ServerFrame::Reaction {
                conversation_id,
                message_id,
                emoji,
                person,
                added,
                seq,
            };
            (frame, recipients)
        }
        Event::Counts { counts } => (
            ServerFrame::Counts { counts },
            Recipients {
                contact: None,
                every_contact: false,
                agents: Agents::All,
                skip: None,
            },
        ),
        Event::Labels { labels } => (
            ServerFrame::Labels { labels },
            Recipients {
                contact: None,
                every_contact: false,
                agents: Agents::All,
                skip: None,
            },
        ),
        // The visitor's own copy goes separately (see `Hub::deliver`).
        Event::Conversation { conversation } => (
            ServerFrame::Conversation { conversation },
            Recipients {
                contact: None,
                every_contact: false,
                agents: Agents::All,
                skip: None,
            },
        ),
        Event::Typing {
            contact_id,
            conversation_id,
            person,
            typing,
        } => {
            let skip = match person.kind {
                SenderKind::Contact => Peer::Contact(ContactId(person.id)),
                _ => Peer::Agent(AgentId(person.id)),
            };
            let frame = ServerFrame::Typing {
                conversation_id,
                person,
                typing,
            };
            let mut recipients = to(contact_id, Agents::All);
            recipients.skip = Some(skip);
            (frame, recipients)
        }
        Event::Draft {
            contact_id,
            conversation_id,
            text,
        } => (
            ServerFrame::Draft {
                conversation_id,
                text,
            },
            to(contact_id, Agents::Watching(conversation_id)),
        ),
        Event::Cursor {
            contact_id,
            conversation_id,
            kind,
            person,
            up_to,
            seq,
        } => (
            ServerFrame::Cursor {
                conversation_id,
                kind,
                person,
                up_to,
                seq,
            },
            to(contact_id, Agents::All),
        ),
        Event::Presence {
            contact_id,
            online,
            last_seen_at,
        } => (
            ServerFrame::Presence {
                contact_id,
                online,
                last_seen_at,
            },
            Recipients {
                contact: None,
                every_contact: false,
                agents: Agents::All,
                skip: None,
            },
        ),
        Event::TeamPresence { online } => (
            ServerFrame::TeamPresence { online },
            Recipients {
                contact: None,
                every_contact: true,
                agents: Agents::None,
                skip: None,
            },
        ),
        Event::Look { look } => (
            ServerFrame::Look { look: look.clone() },
            Recipients {
                contact: None,
                every_contact: true,
                agents: Agents::None,
                skip: None,
            },
        ),
        // The visitors' own sockets are closed (see `deliver`).
        Event::Erased { conversations, .. } => (
            ServerFrame::Erased {
                conversation_ids: conversations,
            },
            Recipients {
                contact: None,
                every_contact: false,
                agents: Agents::All,
                skip: None,
            },
        ),
        // Orders to the hub itself (see `deliver`): no frame for anyone.
        Event::SignedOut { .. }
        | Event::Blocked { .. }
        | Event::SettingsChanged
        | Event::Resume
        | Event::Missed { .. } => {
            return None;
        }
    })
}
