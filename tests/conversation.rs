//! The "feels alive" layer through the real server: typing, receipts, unread
//! counts and presence.
//!
//! Absence is checked by order, never by waiting: the bus delivers events in
//! the order they were published, so once a later event has arrived, an
//! earlier one that did not arrive never will.

mod common;

use common::{Client, TestServer};
use minicom::protocol::{
    ClientFrame, ConversationId, CursorKind, ErrorCode, InboxSort, Message, MessageId, Person,
    SenderKind, ServerFrame,
};

fn ack(frame: ServerFrame) -> Option<Message> {
    match frame {
        ServerFrame::Ack { message, .. } => Some(message),
        _ => None,
    }
}

/// Waits for a `typing` frame; returns who and whether they are typing.
async fn typing(client: &mut Client) -> (Person, bool) {
    client
        .expect(|f| match f {
            ServerFrame::Typing { person, typing, .. } => Some((person, typing)),
            _ => None,
        })
        .await
}

/// Skips frames until the live message `id`, failing on any `typing` frame.
async fn message_without_typing(client: &mut Client, id: MessageId) {
    client
        .expect(|f| match f {
            ServerFrame::Typing { person, .. } => panic!("unexpected typing from {person:?}"),
            ServerFrame::Message { message } if message.id == id => Some(()),
            ServerFrame::Conversation { conversation } if conversation.last_message_id == id => {
                Some(())
            }
            _ => None,
        })
        .await
}

/// A visitor who has written once, and the agent who opened the conversation.
async fn conversation(server: &TestServer) -> (Client, Client, ConversationId, Message) {
    let mut agent = server.agent().await;
    let (mut visitor, _) = server.visitor().await;
    visitor.say(None, "Hi, a question about my order").await;
    let first = visitor.expect(ack).await;
    let id = first.conversation_id;
    agent.open(id).await;
    (visitor, agent, id, first)
}

#[tokio::test]
async fn typing_reaches_the_other_side_but_never_the_typists_own_tabs() {
    let server = TestServer::start().await;
    let (mut visitor, mut agent, id, _) = conversation(&server).await;
    let mut agent_tab_2 = server.agent().await;

    agent
        .send(&ClientFrame::Typing {
            conversation_id: id,
            typing: true,
        })
        .await;
    let (who, on) = typing(&mut visitor).await;
    assert!(on);
    assert_eq!((who.kind, who.name.as_str()), (SenderKind::Agent, "Admin"));

    // The agent's own second tab never hears it: the reply that follows
    // arrives there with no typing frame before it.
    agent.say(Some(id), "Let me check.").await;
    let reply = agent.expect(ack).await;
    message_without_typing(&mut agent_tab_2, reply.id).await;

    // The visitor types: the agents see it, with the visitor's name.
    visitor
        .send(&ClientFrame::Typing {
            conversation_id: id,
            typing: true,
        })
        .await;
    let (who, on) = typing(&mut agent_tab_2).await;
    assert!(on);
    assert_eq!(who.kind, SenderKind::Contact);
    assert!(who.name.starts_with("Visitor #"));
    visitor
        .send(&ClientFrame::Typing {
            conversation_id: id,
            typing: false,
        })
        .await;
    let (_, on) = typing(&mut agent_tab_2).await;
    assert!(!on, "a stop is announced");
}

/// Typing "Do you ship", clearing the box and typing "To Oslo?" within a
/// second: start, stop, start. The server's limit counts starts, so the
/// second start is announced at once, never refused.
#[tokio::test]
async fn a_quick_retype_is_announced_again_at_once() {
    let server = TestServer::start().await;
    let (mut visitor, mut agent, id, _) = conversation(&server).await;
    for typing in [true, false, true] {
        visitor
            .send(&ClientFrame::Typing {
                conversation_id: id,
                typing,
            })
            .await;
    }
    // Nothing was refused: frames are handled in order, so an error would
    // come before the pong.
    visitor.send(&ClientFrame::Ping).await;
    visitor
        .expect(|f| match f {
            ServerFrame::Error { code, .. } => panic!("refused: {code:?}"),
            ServerFrame::Pong => Some(()),
            _ => None,
        })
        .await;
    for expected in [true, false, true] {
        let (who, on) = typing(&mut agent).await;
        assert_eq!(who.kind, SenderKind::Contact);
        assert_eq!(on, expected);
    }
}

#[tokio::test]
async fn several_agents_typing_are_each_announced() {
    let server = TestServer::start().await;
    let (mut visitor, mut admin, id, _) = conversation(&server).await;
    let (mut ben, _) = server.agent_named("Ben").await;
    for agent in [&mut admin, &mut ben] {
        agent
            .send(&ClientFrame::Typing {
                conversation_id: id,
                typing: true,
            })
            .await;
    }
    let mut names = vec![
        typing(&mut visitor).await.0.name,
        typing(&mut visitor).await.0.name,
    ];
    names.sort();
    assert_eq!(names, ["Admin", "Ben"]);
}

#[tokio::test]
async fn a_typing_state_nobody_refreshes_expires_on_the_server() {
    // The protocol's 6 s, shortened: the test waits for the stop, not the clock.
    let expires = std::time::Duration::from_millis(400);
    let server =
        TestServer::start_configured(|config| config.limits.typing_expires = expires).await;
    let (mut visitor, mut agent, id, _) = conversation(&server).await;
    visitor
        .send(&ClientFrame::Typing {
            conversation_id: id,
            typing: true,
        })
        .await;
    assert!(typing(&mut agent).await.1);
    // The visitor's tab "crashes": it never sends a stop. The server ends the
    // state by itself once it expires (not before).
    let started = std::time::Instant::now();
    let (who, on) = typing(&mut agent).await;
    assert!(!on);
    assert_eq!(who.kind, SenderKind::Contact);
    assert!(
        started.elapsed() >= expires / 2,
        "expired too early: {:?}",
        started.elapsed()
    );
    drop(visitor);
}

#[tokio::test]
async fn typing_in_a_conversation_you_cannot_see_is_refused() {
    let server = TestServer::start().await;
    let (_visitor, _agent, id, _) = conversation(&server).await;
    let (mut stranger, _) = server.visitor().await;
    stranger
        .send(&ClientFrame::Typing {
            conversation_id: id,
            typing: true,
        })
        .await;
    assert_eq!(stranger.refused().await.0, ErrorCode::Forbidden);
}

/// Waits for a `cursor` frame of `kind`; returns who moved it and where to.
async fn cursor(client: &mut Client, kind: CursorKind) -> (Person, MessageId) {
    client
        .expect(|f| match f {
            ServerFrame::Cursor {
                kind: k,
                person,
                up_to,
                ..
            } if k == kind => Some((person, up_to)),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn receipts_go_sent_delivered_seen_and_survive_a_reconnect() {
    let server = TestServer::start().await;
    let (mut visitor, mut agent, id, first) = conversation(&server).await;
    visitor.say(Some(id), "It was order #1042").await;
    let second = visitor.expect(ack).await;

    // The inbox received it: delivered (✓✓) for the visitor.
    agent
        .send(&ClientFrame::Delivered {
            conversation_id: id,
            up_to: second.id,
        })
        .await;
    let (_, up_to) = cursor(&mut visitor, CursorKind::Delivered).await;
    assert_eq!(up_to, second.id);

    // The agent reads the first message only, then both.
    agent
        .send(&ClientFrame::Read {
            conversation_id: id,
            up_to: first.id,
        })
        .await;
    let (who, up_to) = cursor(&mut visitor, CursorKind::Read).await;
    assert_eq!((who.name.as_str(), up_to), ("Admin", first.id));
    agent
        .send(&ClientFrame::Read {
            conversation_id: id,
            up_to: second.id,
        })
        .await;
    assert_eq!(cursor(&mut visitor, CursorKind::Read).await.1, second.id);

    // Cursors never move back: re-reading the first message announces nothing
    // (the next frame the visitor gets is the agent's reply).
    agent
        .send(&ClientFrame::Read {
            conversation_id: id,
            up_to: first.id,
        })
        .await;
    agent.say(Some(id), "Found it.").await;
    let reply = agent.expect(ack).await;
    visitor
        .expect(|f| match f {
            ServerFrame::Cursor { up_to, .. } => panic!("cursor moved back to {up_to:?}"),
            ServerFrame::Message { message } if message.id == reply.id => Some(()),
            _ => None,
        })
        .await;
}

#[tokio::test]
async fn the_visitor_sees_stored_cursors_after_reconnecting() {
    let server = TestServer::start().await;
    let cookie = server.visitor_cookie().await;
    let mut visitor = server.connect(&cookie, "visitor").await;
    visitor.hello().await;
    let mut agent = server.agent().await;
    visitor.say(None, "Hello?").await;
    let sent = visitor.expect(ack).await;
    let id = sent.conversation_id;
    agent
        .send(&ClientFrame::Read {
            conversation_id: id,
            up_to: sent.id,
        })
        .await;
    cursor(&mut visitor, CursorKind::Read).await;
    agent.say(Some(id), "Hi! How can I help?").await;
    let reply = agent.expect(ack).await;
    drop(visitor);

    let mut again = server.connect(&cookie, "visitor").await;
    let ServerFrame::Hello {
        conversations,
        team_online,
        ..
    } = again.hello().await
    else {
        unreachable!()
    };
    assert!(team_online, "an agent is connected");
    let row = &conversations[0];
    // The agent read the visitor's message, then replied (a reply moves the
    // team's cursor to it): Seen survives the reload.
    assert_eq!(row.team_read_id, reply.id);
    assert!(row.team_read_id >= sent.id);
    assert_eq!(row.last_message_id, reply.id);
    assert_eq!(row.unread, 1, "the agent's reply is unread for the visitor");

    again
        .send(&ClientFrame::Read {
            conversation_id: id,
            up_to: reply.id,
        })
        .await;
    // The visitor's other tabs and the agent hear it (to clear badges, show Seen).
    let (who, up_to) = cursor(&mut agent, CursorKind::Read).await;
    assert_eq!((who.kind, up_to), (SenderKind::Contact, reply.id));
    let ServerFrame::Hello { conversations, .. } =
        server.connect(&cookie, "visitor").await.hello().await
    else {
        unreachable!()
    };
    assert_eq!(conversations[0].unread, 0);
    assert_eq!(conversations[0].contact_read_id, reply.id);
}

#[tokio::test]
async fn unread_counts_are_per_agent() {
    let server = TestServer::start().await;
    let (mut visitor, mut admin, id, first) = conversation(&server).await;
    visitor.say(Some(id), "Anyone there?").await;
    let second = visitor.expect(ack).await;
    admin
        .send(&ClientFrame::Read {
            conversation_id: id,
            up_to: second.id,
        })
        .await;
    cursor(&mut visitor, CursorKind::Read).await;

    let cookie = server.agent_cookie().await;
    let ServerFrame::Hello { conversations, .. } =
        server.connect(&cookie, "agent").await.hello().await
    else {
        unreachable!()
    };
    assert_eq!(conversations[0].unread, 0, "the admin read both");
    let (_, ServerFrame::Hello { conversations, .. }) = server.agent_named("Ben").await else {
        unreachable!()
    };
    assert_eq!(conversations[0].unread, 2, "Ben has read neither");
    assert_eq!(conversations[0].last_message_id, second.id);
    assert!(first.id < second.id);
}

#[tokio::test]
async fn only_agents_may_report_delivery() {
    let server = TestServer::start().await;
    let (mut visitor, _agent, id, first) = conversation(&server).await;
    visitor
        .send(&ClientFrame::Delivered {
            conversation_id: id,
            up_to: first.id,
        })
        .await;
    let code = visitor
        .expect(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .await;
    assert_eq!(code, ErrorCode::AgentsOnly);
}

#[tokio::test]
async fn presence_follows_the_visitors_tabs_and_the_team() {
    // A short grace instead of the 4 s default: the test waits for events,
    // not out the clock.
    let server = TestServer::start_configured(|config| {
        config.limits.presence_grace = std::time::Duration::from_millis(200)
    })
    .await;
    let mut agent = server.agent().await;
    let cookie = server.visitor_cookie().await;
    let mut tab = server.connect(&cookie, "visitor").await;
    let ServerFrame::Hello {
        me, team_online, ..
    } = tab.hello().await
    else {
        unreachable!()
    };
    assert!(team_online);
    let minicom::protocol::Me::Contact { id: contact, .. } = me else {
        unreachable!()
    };
    let online = agent
        .expect(|f| match f {
            ServerFrame::Presence {
                contact_id, online, ..
            } if contact_id == contact => Some(online),
            _ => None,
        })
        .await;
    assert!(online);

    // The last tab closes: after a short grace the agent sees them go.
    drop(tab);
    let (online, last_seen) = agent
        .expect(|f| match f {
            ServerFrame::Presence {
                contact_id,
                online,
                last_seen_at,
            } if contact_id == contact => Some((online, last_seen_at)),
            _ => None,
        })
        .await;
    assert!(!online);
    assert!(last_seen.0 > 0);

    // And a visitor sees the team leave when the last agent socket closes.
    let mut visitor = server.connect(&cookie, "visitor").await;
    visitor.hello().await;
    drop(agent);
    let team = visitor
        .expect(|f| match f {
            ServerFrame::TeamPresence { online } => Some(online),
            _ => None,
        })
        .await;
    assert!(!team);
}

/// Waits for the `changed` frame of message `id`.
async fn changed(client: &mut Client, id: MessageId) -> Message {
    client
        .expect(|f| match f {
            ServerFrame::Changed { message } if message.id == id => Some(message),
            _ => None,
        })
        .await
}

async fn refusal(client: &mut Client) -> ErrorCode {
    client
        .expect(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .await
}

/// The next reaction change on `message`: only the change travels — which
/// emoji, who, added or taken back, and its change number.
async fn reaction(
    client: &mut common::Client,
    message: minicom::protocol::MessageId,
) -> (String, minicom::protocol::Person, bool, i64) {
    client
        .expect(|f| match f {
            ServerFrame::Reaction {
                message_id,
                emoji,
                person,
                added,
                seq,
                ..
            } if message_id == message => Some((emoji, person, added, seq)),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn reactions_toggle_live_for_both_sides_and_are_stored() {
    let server = TestServer::start().await;
    let (mut visitor, mut agent, id, first) = conversation(&server).await;
    let react = |emoji: &str| ClientFrame::React {
        message_id: first.id,
        emoji: emoji.into(),
    };
    agent.send(&react("👍")).await;
    let (emoji, person, added, seq) = reaction(&mut visitor, first.id).await;
    assert_eq!(
        (emoji.as_str(), person.name.as_str(), added),
        ("👍", "Admin", true)
    );
    assert!(seq > first.seq, "a reaction takes the next change number");
    assert_eq!(
        reaction(&mut agent, first.id).await,
        (emoji, person, added, seq),
        "the reactor's own echo"
    );

    visitor.send(&react("👍")).await;
    let (_, person, added, _) = reaction(&mut agent, first.id).await;
    assert_eq!((person.kind, added), (SenderKind::Contact, true));
    reaction(&mut visitor, first.id).await;

    // Toggling again takes back only that person's reaction.
    agent.send(&react("👍")).await;
    let (_, person, added, _) = reaction(&mut visitor, first.id).await;
    assert_eq!((person.kind, added), (SenderKind::Agent, false));

    // History carries what stands: one chip, the visitor's.
    let history = agent.open(id).await;
    assert_eq!(history[0].reactions.len(), 1);
    assert_eq!(history[0].reactions[0].people.len(), 1);
    assert_eq!(history[0].reactions[0].people[0].kind, SenderKind::Contact);
}

#[tokio::test]
async fn a_reaction_must_be_a_single_emoji() {
    let server = TestServer::start().await;
    let (mut visitor, _agent, _id, first) = conversation(&server).await;
    for bad in ["", "ok", "👍👍", "a", &"🎉".repeat(20)] {
        visitor
            .send(&ClientFrame::React {
                message_id: first.id,
                emoji: bad.into(),
            })
            .await;
        assert_eq!(
            refusal(&mut visitor).await,
            ErrorCode::InvalidReaction,
            "{bad:?}"
        );
    }
    // And only on messages you can see.
    let (mut stranger, _) = server.visitor().await;
    stranger
        .send(&ClientFrame::React {
            message_id: first.id,
            emoji: "👍".into(),
        })
        .await;
    assert_eq!(refusal(&mut stranger).await, ErrorCode::Forbidden);
}

#[tokio::test]
async fn people_edit_and_delete_their_own_messages_only() {
    let server = TestServer::start().await;
    let (mut visitor, mut agent, id, first) = conversation(&server).await;

    visitor
        .send(&ClientFrame::Edit {
            message_id: first.id,
            body: "Hi, a question about order #1042".into(),
        })
        .await;
    let edited = changed(&mut agent, first.id).await;
    assert_eq!(edited.body, "Hi, a question about order #1042");
    assert!(edited.edited_at.is_some());

    // Agents cannot edit (or delete) a visitor's words.
    agent
        .send(&ClientFrame::Edit {
            message_id: first.id,
            body: "something else".into(),
        })
        .await;
    assert_eq!(refusal(&mut agent).await, ErrorCode::NotYours);
    agent
        .send(&ClientFrame::Delete {
            message_id: first.id,
        })
        .await;
    assert_eq!(refusal(&mut agent).await, ErrorCode::NotYours);

    visitor
        .send(&ClientFrame::Delete {
            message_id: first.id,
        })
        .await;
    let gone = changed(&mut agent, first.id).await;
    assert!(gone.deleted);
    assert_eq!(gone.body, "", "the text is gone from the wire");
    // The tombstone stays in history, in place; the inbox row says so.
    let row = agent
        .expect(|f| match f {
            ServerFrame::Conversation { conversation } => Some(conversation),
            _ => None,
        })
        .await;
    assert_eq!(row.last_message_preview, "This message was deleted");
    let history = agent.open(id).await;
    assert!(history[0].deleted);

    // A deleted message cannot be edited back.
    visitor
        .send(&ClientFrame::Edit {
            message_id: first.id,
            body: "back".into(),
        })
        .await;
    assert_eq!(refusal(&mut visitor).await, ErrorCode::MessageDeleted);
}

#[tokio::test]
async fn edits_are_refused_after_the_edit_window() {
    let server = TestServer::start_configured(|c| c.edit_window_minutes = 0).await;
    let (mut visitor, _agent, _id, first) = conversation(&server).await;
    // With a zero-minute window, any message is already too old to edit (the
    // clock has moved on by at least a millisecond once the ack arrived).
    visitor.round_trip().await;
    visitor
        .send(&ClientFrame::Edit {
            message_id: first.id,
            body: "too late".into(),
        })
        .await;
    assert_eq!(refusal(&mut visitor).await, ErrorCode::EditWindowClosed);
    // Deleting stays possible at any time.
    visitor
        .send(&ClientFrame::Delete {
            message_id: first.id,
        })
        .await;
    assert!(changed(&mut visitor, first.id).await.deleted);
}

#[tokio::test]
async fn older_pages_are_keyset_and_stay_exact_while_messages_arrive() {
    let server = TestServer::start_unlimited().await;
    let (mut visitor, mut agent, id, first) = conversation(&server).await;
    let mut sent = vec![first.id];
    for i in 1..120 {
        visitor.say(Some(id), &format!("message {i}")).await;
        sent.push(visitor.expect(ack).await.id);
    }
    let mut reader = server.agent().await;
    reader
        .send(&ClientFrame::Open {
            conversation_id: id,
        })
        .await;
    let (mut seen, mut has_more) = reader
        .expect(|f| match f {
            ServerFrame::History {
                messages, has_more, ..
            } => Some((messages, has_more)),
            _ => None,
        })
        .await;
    assert_eq!(seen.len(), 50, "the newest 50 first");
    while has_more {
        // New messages keep arriving while the reader pages back.
        visitor.say(Some(id), "meanwhile").await;
        sent.push(visitor.expect(ack).await.id);
        reader
            .send(&ClientFrame::Older {
                conversation_id: id,
                before: seen[0].id,
            })
            .await;
        let (page, more) = reader
            .expect(|f| match f {
                ServerFrame::History {
                    messages, has_more, ..
                } => Some((messages, has_more)),
                _ => None,
            })
            .await;
        assert!(page.len() <= 50);
        seen.splice(0..0, page);
        has_more = more;
    }
    let ids: Vec<MessageId> = seen.iter().map(|m| m.id).collect();
    assert_eq!(ids, sent[..120], "every old message once, in order");
    agent.round_trip().await;
}

#[tokio::test]
async fn the_inbox_pages_newest_activity_first_without_gaps() {
    let server = TestServer::start().await;
    for i in 0..120 {
        let (mut visitor, _) = server.visitor().await;
        visitor.say(None, &format!("visitor {i}")).await;
        visitor.expect(ack).await;
    }
    let cookie = server.agent_cookie().await;
    let mut agent = server.connect(&cookie, "agent").await;
    let ServerFrame::Hello {
        conversations,
        more_conversations,
        ..
    } = agent.hello().await
    else {
        unreachable!()
    };
    let mut rows = conversations;
    let mut more = more_conversations;
    while more {
        let last = rows.last().unwrap();
        agent
            .send(&ClientFrame::MoreConversations {
                view: Default::default(),
                sort: Default::default(),
                after: Some(InboxSort::Newest.key(last)),
                label: None,
            })
            .await;
        let (page, has_more) = agent
            .expect(|f| match f {
                ServerFrame::Conversations {
                    conversations,
                    has_more,
                    ..
                } => Some((conversations, has_more)),
                _ => None,
            })
            .await;
        rows.extend(page);
        more = has_more;
    }
    assert_eq!(rows.len(), 120);
    let keys: Vec<_> = rows.iter().map(|r| (r.last_message_at, r.id)).collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(keys, sorted, "newest first, each once");
    // Visitors do not page the inbox.
    let (mut visitor, _) = server.visitor().await;
    visitor
        .send(&ClientFrame::MoreConversations {
            view: Default::default(),
            sort: Default::default(),
            after: Some((-keys[0].0.0, -keys[0].1.0)),
            label: None,
        })
        .await;
    assert_eq!(refusal(&mut visitor).await, ErrorCode::AgentsOnly);
}
