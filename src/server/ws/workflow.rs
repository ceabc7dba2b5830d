//! The team's workflow frames: `set_status` (resolve, reopen, snooze),
//! `assign` and `label` (agents only), and the visitor's `rate`; the rules
//! are in `server::workflow` and `server::labels`, the state in the store;
//! and the inbox's lists (`more_conversations`).
//! Each change leaves a line in the thread (the team's only), moves the
//! inbox row for everyone, and refreshes the lists' counts.

use super::{Conn, INBOX_PAGE, authorise, internal, with_presence};
use crate::protocol::WebhookEvent;
use crate::protocol::{
    AgentId, ConversationId, ConversationStatus, LabelId, MAX_TIME_ZONE, ProtocolError,
    ServerFrame, Timestamp,
};
use crate::server::hub::Peer;
use crate::server::labels::label_line;
use crate::server::publish::{publish_messages, publish_summary_for, publish_summary_of};
use crate::server::store::{InboxPage, Rated};
use crate::server::workflow::{self, Actor, check_rating, rating_line};

pub(super) async fn on_set_status(
    conn: &Conn,
    conversation: ConversationId,
    status: ConversationStatus,
    until: Option<Timestamp>,
    time_zone: Option<String>,
) -> Result<(), ProtocolError> {
    let Peer::Agent(me) = conn.peer else {
        return Err(ProtocolError::AgentsOnly("set_status"));
    };
    let contact = authorise(conn, conversation).await?;
    let time_zone = time_zone.filter(|z| z.len() <= MAX_TIME_ZONE);
    let name = conn.person().name;
    let actor = Actor {
        name: &name,
        agent: Some(me),
    };
    workflow::set_status(
        &conn.state,
        (conversation, contact),
        actor,
        status,
        until,
        time_zone.as_deref(),
    )
    .await
}

pub(super) async fn on_assign(
    conn: &Conn,
    conversation: ConversationId,
    to: Option<AgentId>,
) -> Result<(), ProtocolError> {
    let Peer::Agent(me) = conn.peer else {
        return Err(ProtocolError::AgentsOnly("assign"));
    };
    let contact = authorise(conn, conversation).await?;
    let name = conn.person().name;
    let actor = Actor {
        name: &name,
        agent: Some(me),
    };
    workflow::assign(&conn.state, (conversation, contact), actor, to).await
}

pub(super) async fn on_rate(
    conn: &Conn,
    conversation: ConversationId,
    score: u8,
    comment: Option<String>,
) -> Result<(), ProtocolError> {
    if !matches!(conn.peer, Peer::Contact(_)) {
        return Err(ProtocolError::Forbidden);
    }
    let contact = authorise(conn, conversation).await?;
    let (name, comment) = check_rating(score, comment)?;
    let line = rating_line(name, comment.as_deref());
    let state = &conn.state;
    let line = match state
        .store
        .rate(conversation, score, comment.as_deref(), &line)
        .await
        .map_err(internal)?
    {
        Rated::Changed(line) => line,
        Rated::Unchanged => return Ok(()),
        Rated::NotResolved => return Err(ProtocolError::InvalidRating),
    };
    publish_messages(state, contact, vec![line]).await;
    let hooked = publish_summary_for(state, conversation, WebhookEvent::Rated).await;
    crate::server::webhooks::rated(state, conversation, hooked, score, comment.as_deref()).await;
    Ok(())
}

pub(super) async fn on_label(
    conn: &Conn,
    conversation: ConversationId,
    label: LabelId,
    on: bool,
) -> Result<(), ProtocolError> {
    let Peer::Agent(me) = conn.peer else {
        return Err(ProtocolError::AgentsOnly("label"));
    };
    let contact = authorise(conn, conversation).await?;
    let state = &conn.state;
    let label = state
        .store
        .label(label)
        .await
        .map_err(internal)?
        .ok_or(ProtocolError::UnknownLabel)?;
    let line = label_line(&conn.person().name, &label.name, on);
    let line = match state
        .store
        .set_label(conversation, label.id, on, me, &line)
        .await
    {
        Ok(Some(line)) => line,
        Ok(None) => return Ok(()),
        // Deleted since it was looked up: as if it never existed.
        Err(_) if matches!(state.store.label(label.id).await, Ok(None)) => {
            return Err(ProtocolError::UnknownLabel);
        }
        Err(err) => return Err(internal(err)),
    };
    publish_messages(state, contact, vec![line]).await;
    publish_summary_of(state, conversation).await;
    Ok(())
}

pub(super) async fn on_more_conversations(
    conn: &Conn,
    page: InboxPage,
) -> Result<(), ProtocolError> {
    let Peer::Agent(agent) = conn.peer else {
        return Err(ProtocolError::AgentsOnly("more_conversations"));
    };
    let (mut conversations, has_more) = conn
        .state
        .store
        .inbox(agent, page, INBOX_PAGE)
        .await
        .map_err(internal)?;
    with_presence(conn, &mut conversations).await;
    conn.reply(&ServerFrame::Conversations {
        conversations,
        has_more,
        view: page.view,
        sort: page.sort,
        label: page.label,
    })
    .await;
    Ok(())
}
