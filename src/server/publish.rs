//! Publishing live events once a change is committed: the one way out of
//! the socket handler, the assistant and the workflow's clocks to the bus.

use crate::protocol::WebhookEvent;
use crate::protocol::{AssistantState, ContactId, ConversationId, ConversationSummary, Message};
use crate::server::AppState;
use crate::server::api::Conversation as ApiConversation;
use crate::server::bus::Event;
use crate::server::store::{Inserted, RowAfter, StoreError};

/// Publishes a live event and times the bus (for `/metrics`). A failure is
/// logged: the change is stored, and clients that missed it catch up when
/// they resume.
pub async fn publish_event(state: &AppState, event: Event) {
    let started = std::time::Instant::now();
    let published = state.bus.publish(event).await;
    state.metrics.bus_publish.observe(started.elapsed());
    match published {
        Ok(()) => {}
        // The bus said so once when it went; this instance's own sockets
        // got the event, the others resume when it is back.
        Err(crate::server::bus::BusError::Unreachable(_)) => {}
        Err(err) => tracing::error!(%err, "could not publish a live event"),
    }
}

/// Publishes a conversation's inbox row as it now stands; returns who
/// answers it (read with the row, so callers need not ask again).
pub async fn publish_summary_of(
    state: &AppState,
    conversation: ConversationId,
) -> Option<AssistantState> {
    let row = read_row(state, conversation).await?;
    Some(publish_row(state, row).await)
}

/// Publishes a conversation's inbox row after a change webhooks may hear
/// of (`event`), and returns the row as they show it when one wants it:
/// read once for both.
pub async fn publish_summary_for(
    state: &AppState,
    conversation: ConversationId,
    event: WebhookEvent,
) -> Option<ApiConversation> {
    let row = read_row(state, conversation).await?;
    let hooked = state
        .webhooks
        .wants(event)
        .then(|| ApiConversation::from(row.clone()));
    publish_row(state, row).await;
    hooked
}

/// Publishes a conversation's row after its status changed, and tells the
/// webhooks that want to hear of it: the row read once for both.
pub async fn publish_status_changed(state: &AppState, conversation: ConversationId) {
    let hooked = publish_summary_for(state, conversation, WebhookEvent::StatusChanged).await;
    crate::server::webhooks::status_changed(state, conversation, hooked).await;
}

/// A conversation's inbox row as it now stands (a failure is logged).
async fn read_row(state: &AppState, conversation: ConversationId) -> Option<ConversationSummary> {
    match state.store.conversation_summary(conversation).await {
        Ok(row) => row,
        Err(err) => {
            tracing::error!(%err, "could not load an inbox row to publish");
            None
        }
    }
}

/// Publishes an inbox row read with the change that moved it (with
/// whether its visitor is online, which the database does not know);
/// returns who answers it.
pub async fn publish_row(
    state: &AppState,
    mut conversation: ConversationSummary,
) -> AssistantState {
    state
        .presence
        .fill_contacts_online(&state.hub, std::slice::from_mut(&mut conversation))
        .await;
    let assistant = conversation.assistant;
    publish_event(state, Event::Conversation { conversation }).await;
    assistant
}

/// Publishes what a new message's commit changed (from a socket's `send`
/// or an API post): the message, then, unless it is a note, the lines it
/// left and its inbox row. Returns who answers the conversation (`None`
/// for a note, a resend, or when the row could not be read).
///
/// A resend (`created` false: the first answer was lost) is said again,
/// message and row: the instance that stored it may have died between its
/// commit and its publish, and clients merge messages by id.
pub async fn publish_post(
    state: &AppState,
    contact: ContactId,
    inserted: Inserted,
    received: Option<std::time::Instant>,
) -> Option<AssistantState> {
    let Inserted {
        message,
        created,
        started,
        lines,
        mentions,
        row,
    } = inserted;
    let (conversation, internal) = (message.conversation_id, message.internal);
    let from_visitor = message.sender == crate::protocol::SenderKind::Contact;
    // A teammate's (or a bot's) reply the visitor may miss.
    let reply = (created && !internal && message.sender == crate::protocol::SenderKind::Agent)
        .then_some(message.id);
    // Copied only when an endpoint wants it: most deployments have none.
    let hooked = (created && state.webhooks.wants_messages()).then(|| message.clone());
    let event = Event::Message {
        contact_id: contact,
        message,
        received: received.filter(|_| created),
    };
    publish_event(state, event).await;

    if !created {
        if !internal {
            publish_summary_of(state, conversation).await;
        }
        return None;
    }
    if internal {
        // A note changes nothing on the row the visitor sees; one that
        // mentions teammates puts it in their Mentions list.
        if !mentions.is_empty() {
            publish_summary_of(state, conversation).await;
            state.workflow.counts_changed();
        }
        return None;
    }
    if started || !lines.is_empty() {
        state.workflow.counts_changed();
    }
    // A visitor's reply that leaves a line reopened or woke it.
    let reopened = from_visitor && !lines.is_empty();
    publish_messages(state, contact, lines).await;
    let hooks = &state.webhooks;
    let row_hooked = (started && hooks.wants(WebhookEvent::ConversationCreated))
        || (reopened && hooks.wants(WebhookEvent::StatusChanged));
    // The row says whether the assistant answers: no extra read. A batch
    // of plain messages read the row with its writes; its newest message
    // publishes it (such a message never starts a conversation or leaves
    // lines, so no webhook wants the row from it).
    let (row, later) = match row {
        RowAfter::Unread => (read_row(state, conversation).await, None),
        RowAfter::Publish(row) => (Some(*row), None),
        RowAfter::Later(assistant) => (None, Some(assistant)),
    };
    let hooked_row = row
        .as_ref()
        .filter(|_| row_hooked)
        .map(|row| ApiConversation::from(row.clone()));
    let assistant = match row {
        Some(row) => Some(publish_row(state, row).await),
        None => later,
    };
    // After the live events: queueing a webhook is a write.
    if let Some(message) = hooked {
        let created_row = hooked_row.as_ref().filter(|_| started);
        crate::server::webhooks::message_posted(state, contact, message, created_row).await;
    }
    if reopened {
        crate::server::webhooks::status_changed(state, conversation, hooked_row).await;
    }
    if let Some(reply) = reply {
        crate::server::email::reply_posted(state, conversation, reply).await;
    }
    assistant
}

/// Publishes messages a change stored (lines about the state, notes) as new
/// messages of their conversation.
pub async fn publish_messages(state: &AppState, contact: ContactId, messages: Vec<Message>) {
    for message in messages {
        let event = Event::Message {
            contact_id: contact,
            message,
            received: None,
        };
        publish_event(state, event).await;
    }
}

/// Publishes the inbox rows of every conversation of a visitor (their name
/// or email changed).
pub async fn publish_contact_rows(state: &AppState, contact: ContactId) -> Result<(), StoreError> {
    let mut conversations = state.store.contact_conversations(contact).await?;
    // Live rows carry no per-reader count.
    for conversation in &mut conversations {
        conversation.unread = 0;
    }
    state
        .presence
        .fill_contacts_online(&state.hub, &mut conversations)
        .await;
    for conversation in conversations {
        publish_event(state, Event::Conversation { conversation }).await;
    }
    Ok(())
}
