//! `send`: checking a message and queuing its write (the reader goes on
//! at once), then, after the commit, the ack and the live events.

use super::*;
use crate::protocol::{Attachment, validate_send};
use crate::server::publish::publish_post;
use crate::server::store::Uploader;

/// A `send` whose write is queued for the database; the finisher completes
/// it after the commit.
pub(super) struct QueuedSend {
    /// The conversation's visitor (`None`: a visitor's own new conversation).
    contact: Option<ContactId>,
    pub(super) client_id: ClientId,
    queued: Queued,
    received: std::time::Instant,
}

/// Sends a socket may have queued for the database before it stops reading
/// and waits for the oldest commit.
pub(super) const PIPELINE: usize = 32;

/// How a `send` is posted, beyond where and what.
#[derive(Clone, Copy, Debug)]
pub(super) struct How {
    /// (Visitors) start a new conversation.
    pub(super) new_conversation: bool,
    /// (Agents) a private note.
    pub(super) note: bool,
}

/// Checks a `send` and queues its write, for the finisher to complete after
/// the commit. The socket reads its next frame meanwhile. Nothing is awaited
/// after the write is queued (see [`Pending::room`]).
pub(super) async fn start_send(
    conn: &Conn,
    conversation: Option<ConversationId>,
    client_id: ClientId,
    (body, files): (&str, &[String]),
    how: How,
    received: std::time::Instant,
) -> Result<QueuedSend, ProtocolError> {
    let body = validate_send(body, files)?;
    let store = &conn.state.store;
    let attachments = attachments(conn, conversation, client_id, files).await?;
    let content = (body, attachments.as_slice());
    if how.note && !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::AgentsOnly("note"));
    }
    let (contact, queued) = match (conn.peer, conversation) {
        (Peer::Contact(contact), None) => {
            let post = VisitorPost {
                assistant_answers: Assistant::answers_new(&conn.state),
                new_conversation: how.new_conversation,
                starts_per_hour: conn.state.config.limits.conversations_per_visitor_hour,
            };
            let queued = store
                .queue_visitor_message(contact, client_id, content, post)
                .await
                .map_err(internal)?;
            (None, queued)
        }
        (peer, Some(conversation)) => {
            let contact = authorise(conn, conversation).await?;
            let author = match peer {
                Peer::Contact(c) => Author::contact(c),
                Peer::Agent(a) => {
                    conn.state.hub.watch(conn.id, conversation);
                    Author::agent(a)
                }
            };
            let options = PostOptions {
                internal: how.note,
                assign_on_reply: conn.state.workflow.assign_on_reply(),
                ..PostOptions::default()
            };
            let queued = store
                .queue_message(conversation, contact, client_id, author, content, options)
                .await
                .map_err(internal)?;
            (Some(contact), queued)
        }
        (Peer::Agent(_), None) => return Err(ProtocolError::ConversationRequired),
    };
    Ok(QueuedSend {
        contact,
        client_id,
        queued,
        received,
    })
}

/// The files a `send` names, checked: this sender's uploads, not sent with
/// another message (a resend of this one finds them sent with it), within
/// the per-message limit.
async fn attachments(
    conn: &Conn,
    conversation: Option<ConversationId>,
    client_id: ClientId,
    ids: &[String],
) -> Result<Vec<Attachment>, ProtocolError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let limit = conn.state.files.limits.per_message;
    if ids.len() > limit {
        return Err(ProtocolError::TooManyAttachments(ids.len()));
    }
    let uploader = match conn.peer {
        Peer::Contact(c) => Uploader::Contact(c),
        Peer::Agent(a) => Uploader::Agent(a),
    };
    conn.state
        .store
        .unsent_uploads(ids, uploader, conversation, client_id)
        .await
        .map_err(internal)?
        .ok_or(ProtocolError::UnknownAttachment)
}

/// After the commit: the ack (if the socket is still there), then the live
/// events (always).
pub(super) async fn finish_send(conn: &Conn, send: QueuedSend) -> Result<(), ProtocolError> {
    let QueuedSend {
        contact,
        client_id,
        queued,
        received,
    } = send;
    let inserted = queued.committed().await.map_err(|err| match err {
        StoreError::TooManyConversations(n) => ProtocolError::TooManyConversations(n),
        StoreError::AttachmentGone => ProtocolError::UnknownAttachment,
        err => internal(err),
    })?;
    let message = &inserted.message;
    // A resend answers with what that `client_id` stored: for a visitor it
    // must be their own message, never a teammate's (nor a note).
    if matches!(conn.peer, Peer::Contact(_))
        && (message.internal || message.sender != SenderKind::Contact)
    {
        return Err(ProtocolError::Forbidden);
    }
    // A visitor's own messages: the conversation is theirs.
    let contact = match (contact, conn.peer) {
        (Some(contact), _) | (None, Peer::Contact(contact)) => contact,
        (None, Peer::Agent(_)) => return Err(ProtocolError::ConversationRequired),
    };
    // The commit is done: only now may the sender hear that it is safe.
    conn.try_reply(&ServerFrame::Ack {
        client_id,
        message: message.clone(),
    });
    if !inserted.created {
        // Stored before (the ack was lost): said again, see `publish_post`.
        publish_post(&conn.state, contact, inserted, None).await;
        return Ok(());
    }
    conn.state.metrics.messages_stored.inc();
    let conversation = message.conversation_id;
    let started = inserted.started;
    // Sending ends typing (the inbox list sees no `message`, so say so).
    if let Some(stopped) = conn.state.typing.stop(conversation, &conn.person()) {
        publish(
            conn,
            Event::Typing {
                contact_id: stopped.contact,
                conversation_id: conversation,
                person: stopped.person,
                typing: false,
            },
        )
        .await;
    }
    let visitor = matches!(conn.peer, Peer::Contact(_));
    let assistant = publish_post(&conn.state, contact, inserted, Some(received)).await;
    if started && visitor && assistant != Some(AssistantState::Answering) {
        crate::server::auto_assign::new_conversation(&conn.state, conversation, contact).await;
    }
    if visitor && assistant == Some(AssistantState::Answering) {
        Assistant::visitor_wrote(&conn.state, conversation, contact);
    }
    Ok(())
}
