//! The AI assistant's frames: the visitor's "talk to a person" (`handoff`)
//! and "Did that help?" (`feedback`), and an agent's switch (`assistant`).

use super::*;
use crate::protocol::ConversationStatus;
use crate::server::publish::publish_messages;
use crate::server::publish::publish_status_changed;

/// The line the team reads when a visitor says an answer solved it.
pub const RESOLVED_BY_ANSWER: &str = "Resolved: the visitor said the assistant's answer helped.";

/// "Did that help?" under an answer drawn from the help center: yes
/// resolves the conversation, no asks the team to answer. Once per answer.
pub(super) async fn on_feedback(
    conn: &Conn,
    message: MessageId,
    helpful: bool,
) -> Result<(), ProtocolError> {
    if !matches!(conn.peer, Peer::Contact(_)) {
        return Err(ProtocolError::Forbidden);
    }
    let (facts, contact) = conversation::visible_message(conn, message).await?;
    let state = &conn.state;
    // Once a person answers, the verdict on the assistant is moot.
    let answering = state
        .store
        .assistant_state(facts.conversation)
        .await
        .map_err(internal)?;
    if answering != Some(AssistantState::Answering) {
        return Ok(());
    }
    // Only the assistant's answers with sources ask; a second answer changes nothing.
    let Some(answered) = state
        .store
        .record_feedback(message, helpful)
        .await
        .map_err(internal)?
    else {
        return Ok(());
    };
    let conversation = answered.conversation_id;
    publish(
        conn,
        Event::Changed {
            contact_id: contact,
            message: answered,
        },
    )
    .await;
    if !helpful {
        assistant::hand_over(state, conversation, contact, assistant::HANDED_OVER).await;
        return Ok(());
    }
    let resolved = state
        .store
        .set_status(
            conversation,
            ConversationStatus::Resolved,
            None,
            None,
            RESOLVED_BY_ANSWER,
        )
        .await
        .map_err(internal)?;
    if let Some(line) = resolved {
        publish_messages(state, contact, vec![line]).await;
        state.workflow.counts_changed();
        publish_status_changed(state, conversation).await;
    }
    Ok(())
}

/// "Talk to a person": the assistant stops and the team is asked to answer.
pub(super) async fn on_handoff(
    conn: &Conn,
    conversation: ConversationId,
) -> Result<(), ProtocolError> {
    let contact = authorise(conn, conversation).await?;
    if !matches!(conn.peer, Peer::Contact(_)) {
        return Err(ProtocolError::Forbidden);
    }
    assistant::hand_over(&conn.state, conversation, contact, assistant::HANDED_OVER).await;
    Ok(())
}

/// An agent switches the assistant on or off for one conversation. Switched
/// on after the visitor's last word, it answers that at once.
pub(super) async fn on_assistant(
    conn: &Conn,
    conversation: ConversationId,
    on: bool,
) -> Result<(), ProtocolError> {
    if !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::AgentsOnly("assistant"));
    }
    if on && conn.state.assistant.is_none() {
        return Err(ProtocolError::AssistantOff);
    }
    let contact = authorise(conn, conversation).await?;
    let to = if on {
        AssistantState::Answering
    } else {
        AssistantState::Off
    };
    let store = &conn.state.store;
    if !store
        .set_assistant_state(conversation, &[], to)
        .await
        .map_err(internal)?
    {
        return Ok(());
    }
    publish_summary(conn, conversation).await;
    let (recent, _) = store
        .latest_messages(conversation, 5, Audience::Visitor)
        .await
        .map_err(internal)?;
    let last_word = recent.iter().rev().find(|m| m.sender != SenderKind::System);
    if on && last_word.is_some_and(|m| m.sender == SenderKind::Contact) {
        Assistant::visitor_wrote(&conn.state, conversation, contact);
    }
    Ok(())
}
