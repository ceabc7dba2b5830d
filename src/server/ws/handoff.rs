//! The AI assistant's frames: the visitor's "talk to a person" (`handoff`)
//! and an agent's switch (`assistant`).

use super::*;

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
