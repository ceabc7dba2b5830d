//! Reading and changing one conversation: `open`, `jump`, `resume`,
//! `older`, typing, receipts, reactions, edits and deletes.

use super::*;

pub(super) async fn on_open(
    conn: &Conn,
    conversation: ConversationId,
) -> Result<(), ProtocolError> {
    authorise(conn, conversation).await?;
    conn.state.hub.watch(conn.id, conversation);
    seen_mentions(conn, conversation).await;
    let started = std::time::Instant::now();
    let store = &conn.state.store;
    // The number first: every change up to it is in the page (or older than
    // it), later ones arrive live.
    let seq = store
        .conversation_seq(conversation)
        .await
        .map_err(internal)?;
    let (messages, has_more) = store
        .latest_messages(conversation, HISTORY_PAGE, conn.audience())
        .await
        .map_err(internal)?;
    conn.state.metrics.db_history.observe(started.elapsed());
    conn.reply(&ServerFrame::History {
        conversation_id: conversation,
        messages,
        has_more,
        seq,
        gap: None,
        around: None,
        before: None,
    })
    .await;
    Ok(())
}

/// Messages around the given one, around which a search landed: a page
/// about it and the newest page, and the gap between them if they do not
/// meet (never the whole conversation). Watching starts first, as `open`.
pub(super) async fn on_jump(
    conn: &Conn,
    conversation: ConversationId,
    target: MessageId,
) -> Result<(), ProtocolError> {
    if !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::AgentsOnly("jump"));
    }
    authorise(conn, conversation).await?;
    conn.state.hub.watch(conn.id, conversation);
    seen_mentions(conn, conversation).await;
    let store = &conn.state.store;
    // Its row first: a search can land on a conversation the inbox has not
    // loaded (resolved long ago); its change number is where the page is.
    let seq = send_row(conn, conversation).await?;
    let Some((mut messages, has_more, next)) = store
        .messages_around(conversation, target, JUMP_PAGE, conn.audience())
        .await
        .map_err(internal)?
    else {
        return Err(ProtocolError::Forbidden);
    };
    let mut gap = None;
    if let Some(next) = next {
        let (latest, _) = store
            .latest_messages(conversation, HISTORY_PAGE, conn.audience())
            .await
            .map_err(internal)?;
        let last = messages.last().map(|m| m.id);
        // A gap only when a message lies between the two pages: the first
        // one left out comes before the newest page starts.
        if let (Some(last), Some(first)) = (last, latest.first().map(|m| m.id))
            && next < first
        {
            gap = Some((last, first));
        }
        messages.extend(latest.into_iter().filter(|m| Some(m.id) > last));
    }
    conn.reply(&ServerFrame::History {
        conversation_id: conversation,
        messages,
        has_more,
        seq,
        gap,
        around: Some(target),
        before: None,
    })
    .await;
    Ok(())
}

/// Sends the conversation's row as this socket's person sees it (with
/// presence; a visitor's without the team's business) and returns its
/// change number: what a page read after it is complete up to.
async fn send_row(conn: &Conn, conversation: ConversationId) -> Result<Seq, ProtocolError> {
    let Some(mut row) = conn
        .state
        .store
        .conversation_summary(conversation)
        .await
        .map_err(internal)?
    else {
        return Err(ProtocolError::Forbidden);
    };
    with_presence(conn, std::slice::from_mut(&mut row)).await;
    if matches!(conn.peer, Peer::Contact(_)) {
        row = row.for_visitor();
    }
    let seq = row.seq;
    conn.reply(&ServerFrame::Conversation { conversation: row })
        .await;
    Ok(seq)
}

/// Replays every change after `since`: the conversation's row first (its
/// receipts, and the number this answer ends at), then the changed messages
/// in change order, page by page. Watching starts first, so a change
/// committed meanwhile arrives live if not in a page — never zero times.
pub(super) async fn on_resume(
    conn: &Conn,
    conversation: ConversationId,
    since: Seq,
) -> Result<(), ProtocolError> {
    authorise(conn, conversation).await?;
    conn.state.hub.watch(conn.id, conversation);
    let store = &conn.state.store;
    let upto = send_row(conn, conversation).await?;
    let mut after = since;
    loop {
        let (messages, more) = store
            .changes_after(conversation, after, RESUME_PAGE, conn.audience())
            .await
            .map_err(internal)?;
        if let Some(last) = messages.last() {
            after = after.max(last.seq);
        }
        conn.reply(&ServerFrame::Changes {
            conversation_id: conversation,
            messages,
            seq: if more { after } else { after.max(upto) },
            done: !more,
        })
        .await;
        if !more {
            return Ok(());
        }
    }
}

pub(super) async fn on_typing(
    conn: &Conn,
    conversation: ConversationId,
    typing: bool,
) -> Result<(), ProtocolError> {
    let person = conn.person();
    let contact = if typing {
        let contact = authorise(conn, conversation).await?;
        conn.state
            .typing
            .start(conversation, contact, person.clone());
        contact
    } else {
        // A stop ends a state its start was authorised for; without one it
        // does nothing (stops are not rate limited, so they cost no query).
        match conn.state.typing.stop(conversation, &person) {
            Some(stopped) => stopped.contact,
            None => return Ok(()),
        }
    };
    publish(
        conn,
        Event::Typing {
            contact_id: contact,
            conversation_id: conversation,
            person,
            typing,
        },
    )
    .await;
    Ok(())
}

/// A `read` or `delivered` frame: moves the cursor forward and, if it moved,
/// tells both sides.
pub(super) async fn on_cursor(
    conn: &Conn,
    conversation: ConversationId,
    kind: CursorKind,
    up_to: MessageId,
) -> Result<(), ProtocolError> {
    if kind == CursorKind::Delivered && !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::AgentsOnly("delivered"));
    }
    let contact = authorise(conn, conversation).await?;
    if kind == CursorKind::Read {
        seen_mentions(conn, conversation).await;
    }
    let store = &conn.state.store;
    let moved = match kind {
        CursorKind::Read => store.mark_read(conversation, conn.reader(), up_to).await,
        CursorKind::Delivered => store.mark_delivered(conversation, up_to).await,
    }
    .map_err(internal)?;
    if let Some((up_to, seq)) = moved {
        let event = Event::Cursor {
            contact_id: contact,
            conversation_id: conversation,
            kind,
            person: conn.person(),
            up_to,
            seq,
        };
        publish(conn, event).await;
    }
    Ok(())
}

/// (Agents) the agent has the conversation in front of them: mentions of
/// them there are seen, and it leaves their Mentions list. A read first
/// (most opens have nothing to clear), then the clear and its news on a
/// task of their own, published even if this socket goes meanwhile. A
/// failure costs only a stale Mentions entry: the open itself goes on.
pub(super) async fn seen_mentions(conn: &Conn, conversation: ConversationId) {
    let Peer::Agent(agent) = conn.peer else {
        return;
    };
    let state = conn.state.clone();
    match state.store.has_mention(agent, conversation).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(err) => {
            tracing::warn!(%err, "could not look up mentions; the Mentions list may lag");
            return;
        }
    }
    conn.state.tasks.spawn(
        async move {
            match state.store.clear_mentions(agent, conversation).await {
                Ok(true) => {
                    publish_summary_of(&state, conversation).await;
                    state.workflow.counts_changed();
                }
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(%err, "could not clear seen mentions; the Mentions list may lag")
                }
            }
        }
        .in_current_span(),
    );
}

pub(super) async fn on_older(
    conn: &Conn,
    conversation: ConversationId,
    before: MessageId,
) -> Result<(), ProtocolError> {
    authorise(conn, conversation).await?;
    let started = std::time::Instant::now();
    let (messages, has_more) = conn
        .state
        .store
        .older_messages(conversation, before, HISTORY_PAGE, conn.audience())
        .await
        .map_err(internal)?;
    conn.state.metrics.db_history.observe(started.elapsed());
    conn.reply(&ServerFrame::History {
        conversation_id: conversation,
        messages,
        has_more,
        seq: 0,
        gap: None,
        around: None,
        before: Some(before),
    })
    .await;
    Ok(())
}

/// This socket's person as a message author, to compare with a message's.
pub(super) fn me_as_author(conn: &Conn) -> Author {
    match conn.peer {
        Peer::Contact(c) => Author::contact(c),
        Peer::Agent(a) => Author::agent(a),
    }
}

/// Looks up a message this socket may see; a missing one is `forbidden`
/// like one in someone else's conversation, so ids cannot be probed.
pub(super) async fn visible_message(
    conn: &Conn,
    message: MessageId,
) -> Result<(crate::server::store::MessageFacts, ContactId), ProtocolError> {
    let facts = conn
        .state
        .store
        .message_facts(message)
        .await
        .map_err(internal)?
        .ok_or(ProtocolError::Forbidden)?;
    if facts.internal && !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::Forbidden);
    }
    let contact = authorise(conn, facts.conversation).await?;
    Ok((facts, contact))
}

pub(super) async fn on_react(
    conn: &Conn,
    message: MessageId,
    emoji: &str,
) -> Result<(), ProtocolError> {
    let emoji = crate::protocol::validate_reaction(emoji)?;
    let (facts, contact) = visible_message(conn, message).await?;
    if facts.deleted {
        return Err(ProtocolError::MessageDeleted);
    }
    let change = conn
        .state
        .store
        .toggle_reaction(message, me_as_author(conn), emoji)
        .await
        .map_err(internal)?
        .ok_or(ProtocolError::TooManyReactions)?;
    publish(
        conn,
        Event::Reaction {
            contact_id: contact,
            conversation_id: change.conversation,
            message_id: message,
            emoji: emoji.to_owned(),
            person: conn.person(),
            added: change.added,
            seq: change.seq,
            internal: change.internal,
        },
    )
    .await;
    Ok(())
}

/// Edits (`Some(body)`) or deletes (`None`) one of the person's own messages.
pub(super) async fn on_change(
    conn: &Conn,
    message: MessageId,
    body: Option<String>,
) -> Result<(), ProtocolError> {
    let (facts, contact) = visible_message(conn, message).await?;
    let me = me_as_author(conn);
    if (facts.author.kind, facts.author.id) != (me.kind, me.id) {
        return Err(ProtocolError::NotYours);
    }
    if facts.deleted {
        return Err(ProtocolError::MessageDeleted);
    }
    let change = match body {
        Some(body) => {
            let minutes = conn.state.config.edit_window_minutes;
            if now().0 - facts.created_at.0 > minutes * 60_000 {
                return Err(ProtocolError::EditWindowClosed(minutes));
            }
            Change::Edit(validate_body(&body)?.to_owned())
        }
        None => Change::Delete,
    };
    let Changed {
        message,
        mentions_changed,
        removed_files,
    } = conn
        .state
        .store
        .change_message(message, change)
        .await
        .map_err(internal)?;
    // The bytes go before anyone hears of the deletion: by then the file
    // is gone everywhere.
    conn.state.files.forget(removed_files).await;
    let conversation = message.conversation_id;
    let internal = message.internal;
    publish(
        conn,
        Event::Changed {
            contact_id: contact,
            message,
        },
    )
    .await;
    // A note is on no row the visitor sees; it moves the team's Mentions.
    if !internal {
        publish_summary(conn, conversation).await;
    } else if mentions_changed {
        publish_summary(conn, conversation).await;
        conn.state.workflow.counts_changed();
    }
    Ok(())
}
