//! A visitor and an agent talking through the real server.

mod common;

use common::TestServer;
use minicom::protocol::{
    ClientFrame, ConversationId, ErrorCode, Me, Message, SenderKind, ServerFrame,
};

fn ack(frame: ServerFrame) -> Option<Message> {
    match frame {
        ServerFrame::Ack { message, .. } => Some(message),
        _ => None,
    }
}

#[tokio::test]
async fn visitor_message_reaches_agent_and_reply_reaches_visitor() {
    let server = TestServer::start().await;
    let mut agent = server.agent().await;
    let (mut visitor, _) = server.visitor().await;

    visitor.say(None, "Hello, is my order on its way?").await;
    let sent = visitor.expect(ack).await;
    assert_eq!(sent.sender, SenderKind::Contact);
    assert!(sent.sender_name.starts_with("Visitor #"));

    // The agent's inbox gets the new conversation, with its preview.
    let row = agent
        .expect(|f| match f {
            ServerFrame::Conversation { conversation } => Some(conversation),
            _ => None,
        })
        .await;
    assert_eq!(row.id, sent.conversation_id);
    assert_eq!(row.last_message_preview, "Hello, is my order on its way?");

    assert_eq!(agent.open(row.id).await, vec![sent.clone()]);

    agent.say(Some(row.id), "Yes — it ships today.").await;
    let reply = agent.expect(ack).await;
    assert_eq!(reply.sender, SenderKind::Agent);
    assert_eq!(reply.sender_name, "Admin");
    assert!(reply.id > sent.id, "ids increase");

    let seen = visitor.expect_message(reply.id).await;
    assert_eq!(seen, reply);
    assert_eq!(seen.body, "Yes — it ships today.");
}

#[tokio::test]
async fn history_is_there_after_reconnect() {
    let server = TestServer::start().await;
    let (mut visitor, cookie) = server.visitor().await;
    visitor.say(None, "first").await;
    let first = visitor.expect(ack).await;
    visitor.say(Some(first.conversation_id), "second").await;
    let second = visitor.expect(ack).await;
    drop(visitor);

    let mut again = server.connect(&cookie, "visitor").await;
    let ServerFrame::Hello {
        me, conversations, ..
    } = again.hello().await
    else {
        unreachable!()
    };
    assert!(matches!(me, Me::Contact { .. }));
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].last_message_preview, "second");

    assert_eq!(
        again.open(first.conversation_id).await,
        vec![first.clone(), second.clone()]
    );

    // Resuming after the first message returns exactly the rest.
    assert_eq!(
        again.resume(first.conversation_id, first.seq).await,
        vec![second]
    );
}

#[tokio::test]
async fn two_visitor_tabs_share_one_conversation_live() {
    let server = TestServer::start().await;
    let (mut tab1, cookie) = server.visitor().await;
    let mut tab2 = server.connect(&cookie, "visitor").await;
    tab2.hello().await;

    tab1.say(None, "from tab one").await;
    let sent = tab1.expect(ack).await;
    assert_eq!(tab2.expect_message(sent.id).await, sent);

    // The second tab's first message joins the same open conversation.
    tab2.say(None, "from tab two").await;
    let second = tab2.expect(ack).await;
    assert_eq!(second.conversation_id, sent.conversation_id);
    assert_eq!(tab1.expect_message(second.id).await, second);
}

#[tokio::test]
async fn two_agents_see_the_same_thread() {
    let server = TestServer::start().await;
    let mut ana = server.agent().await;
    let mut ben = server.agent().await;
    let (mut visitor, _) = server.visitor().await;
    visitor.say(None, "Anyone there?").await;
    let question = visitor.expect(ack).await;
    let conversation = question.conversation_id;

    for agent in [&mut ana, &mut ben] {
        assert_eq!(agent.open(conversation).await, vec![question.clone()]);
    }
    ana.say(Some(conversation), "Ana here, hi!").await;
    let reply = ana.expect(ack).await;
    assert_eq!(ben.expect_message(reply.id).await, reply);
    assert_eq!(visitor.expect_message(reply.id).await, reply);
}

#[tokio::test]
async fn resending_the_same_client_id_stores_the_message_once() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let frame = ClientFrame::Send {
        conversation_id: None,
        client_id: minicom::protocol::ClientId::new(),
        body: "only once".into(),
        new_conversation: false,
        note: false,
        attachments: Vec::new(),
    };
    visitor.send(&frame).await;
    let first = visitor.expect(ack).await;
    visitor.send(&frame).await;
    let second = visitor.expect(ack).await;
    assert_eq!(first, second);

    assert_eq!(visitor.open(first.conversation_id).await, vec![first]);
}

#[tokio::test]
async fn inbox_lists_newest_activity_first_with_names() {
    let server = TestServer::start().await;
    let (mut older, _) = server.visitor().await;
    older
        .send(&ClientFrame::Profile {
            name: Some("Grace Hopper".into()),
            email: Some("grace@example.com".into()),
        })
        .await;
    older.round_trip().await;
    older.say(None, "older question").await;
    older.expect(ack).await;
    let (mut newer, _) = server.visitor().await;
    newer.say(None, "newer question").await;
    let newest = newer.expect(ack).await;

    let cookie = server.agent_cookie().await;
    let mut client = server.connect(&cookie, "agent").await;
    let ServerFrame::Hello { conversations, .. } = client.hello().await else {
        unreachable!()
    };
    let names: Vec<&str> = conversations
        .iter()
        .map(|c| c.contact_name.as_str())
        .collect();
    assert_eq!(names.len(), 2);
    assert_eq!(conversations[0].id, newest.conversation_id);
    assert!(names[0].starts_with("Visitor #"));
    assert_eq!(names[1], "Grace Hopper");
    assert_eq!(
        conversations[1].contact_email.as_deref(),
        Some("grace@example.com")
    );
}

#[tokio::test]
async fn markup_in_a_message_is_stored_and_returned_literally() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let body = "<img src=x onerror=alert(1)> & <script>alert('x')</script>";
    visitor.say(None, body).await;
    let stored = visitor.expect(ack).await;
    assert_eq!(stored.body, body);
}

#[tokio::test]
async fn visitor_sees_only_their_own_conversations() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.visitor().await;
    alice.say(None, "alice's secret").await;
    let secret = alice.expect(ack).await;

    let (mut mallory, _) = server.visitor().await;
    mallory
        .send(&ClientFrame::Open {
            conversation_id: secret.conversation_id,
        })
        .await;
    assert_eq!(mallory.refused().await, (ErrorCode::Forbidden, None));

    let attempt = mallory.say(Some(secret.conversation_id), "let me in").await;
    assert_eq!(
        mallory.refused().await,
        (ErrorCode::Forbidden, Some(attempt))
    );

    // A conversation that does not exist looks the same as someone else's.
    mallory
        .send(&ClientFrame::Open {
            conversation_id: ConversationId(999_999),
        })
        .await;
    assert_eq!(mallory.refused().await, (ErrorCode::Forbidden, None));

    // Nothing leaked into alice's conversation.
    assert_eq!(alice.open(secret.conversation_id).await, vec![secret]);
}

#[tokio::test]
async fn graceful_shutdown_asks_sockets_to_reconnect() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let stopping = tokio::spawn(server.stop());
    match visitor.closed().await {
        common::Closed::Code(code, reason) => {
            assert_eq!(u16::from(code), 1012);
            assert!(reason.contains("reconnect"));
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    stopping.await.expect("server stopped");
}
