//! Nothing acknowledged is ever lost, nothing is stored twice, and a client that
//! cannot keep up never holds anyone else back.

mod common;

use std::collections::HashSet;

use common::process::Instance;
use common::{Closed, TestServer};
use minicom::protocol::{ClientFrame, ClientId, Message, ServerFrame};

fn ack(frame: ServerFrame) -> Option<(ClientId, Message)> {
    match frame {
        ServerFrame::Ack { client_id, message } => Some((client_id, message)),
        _ => None,
    }
}

/// Every message that changed after `since`, via `resume`.
async fn resume_all(
    client: &mut common::Client,
    conversation: minicom::protocol::ConversationId,
    since: i64,
) -> Vec<Message> {
    client.resume(conversation, since).await
}

#[tokio::test]
async fn a_dropped_connection_resumes_without_gap_or_duplicate() {
    let server = TestServer::start_unlimited().await;
    let mut agent = server.agent().await;
    let (mut visitor, cookie) = server.visitor().await;
    visitor.say(None, "start").await;
    let (_, first) = visitor.expect(ack).await;
    let conversation = first.conversation_id;
    agent.open(conversation).await;

    // A burst of 60; the connection drops (TCP closed) after 20 acks.
    let ids: Vec<ClientId> = (0..60).map(|_| ClientId::new()).collect();
    for (i, id) in ids.iter().enumerate() {
        visitor
            .send(&ClientFrame::Send {
                conversation_id: Some(conversation),
                client_id: *id,
                body: format!("burst {i}"),
                new_conversation: false,
                note: false,
                attachments: Vec::new(),
            })
            .await;
    }
    let mut acked = vec![first.clone()];
    while acked.len() < 21 {
        acked.push(visitor.expect(ack).await.1);
    }
    drop(visitor);

    // Reconnect: resume after the last message held, resend every client id
    // not acknowledged (the outbox keeps them).
    let mut visitor = server.connect(&cookie, "visitor").await;
    visitor.hello().await;
    let last_held = acked.last().map(|m| m.seq).unwrap_or(0);
    let mut held = acked.clone();
    held.extend(resume_all(&mut visitor, conversation, last_held).await);
    let stored: HashSet<ClientId> = held.iter().map(|m| m.client_id).collect();
    for (i, id) in ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !stored.contains(id))
    {
        visitor
            .send(&ClientFrame::Send {
                conversation_id: Some(conversation),
                client_id: *id,
                body: format!("burst {i}"),
                new_conversation: false,
                note: false,
                attachments: Vec::new(),
            })
            .await;
        let (acked_id, message) = visitor.expect(ack).await;
        assert_eq!(acked_id, *id);
        held.push(message);
    }
    held.sort_by_key(|m| m.id);
    let bodies: Vec<String> = held.iter().map(|m| m.body.clone()).collect();
    let expected: Vec<String> = std::iter::once("start".to_string())
        .chain((0..60).map(|i| format!("burst {i}")))
        .collect();
    assert_eq!(
        bodies, expected,
        "visitor holds every message once, in order"
    );

    // The agent, resuming from the start, sees exactly the same list.
    let on_agent = resume_all(&mut agent, conversation, 0).await;
    assert_eq!(on_agent, held);
}

#[tokio::test]
async fn the_same_client_id_sent_three_times_over_two_connections_is_stored_once() {
    let server = TestServer::start_unlimited().await;
    let (mut tab, cookie) = server.visitor().await;
    let id = ClientId::new();
    let frame = ClientFrame::Send {
        conversation_id: None,
        client_id: id,
        body: "exactly once".into(),
        new_conversation: false,
        note: false,
        attachments: Vec::new(),
    };
    tab.send(&frame).await;
    tab.send(&frame).await;
    let (_, first) = tab.expect(ack).await;
    let (_, second) = tab.expect(ack).await;
    drop(tab);
    let mut again = server.connect(&cookie, "visitor").await;
    again.hello().await;
    again.send(&frame).await;
    let (_, third) = again.expect(ack).await;
    assert_eq!(first, second);
    assert_eq!(first, third);
    assert_eq!(again.open(first.conversation_id).await, vec![first]);
}

#[tokio::test]
async fn a_reader_that_never_reads_is_cut_off_and_others_get_everything() {
    let server = TestServer::start_unlimited().await;
    let (mut visitor, cookie) = server.visitor().await;
    visitor.say(None, "hello").await;
    let (_, first) = visitor.expect(ack).await;
    let conversation = first.conversation_id;
    // A second tab of the same visitor that never reads its socket.
    let mut stalled = server.connect_stalled(&cookie, "visitor").await;
    let mut agent = server.agent().await;
    agent.open(conversation).await;

    // The visitor's other tab reads everything, concurrently, as a browser would.
    const BATCHES: usize = 40;
    const BATCH: usize = 20;
    let reader = tokio::spawn(async move {
        let mut received = Vec::new();
        while received.len() < BATCHES * BATCH {
            if let ServerFrame::Message { message } = visitor.next().await
                && message.id > first.id
            {
                received.push(message.client_id);
            }
        }
        received
    });
    // 4,000 four-byte characters: 16 KB frames fill the buffers quickly.
    let body = "😀".repeat(4_000);
    let mut sent = Vec::new();
    // Bounded: the stalled socket's queue (256 frames) plus its TCP buffers
    // overflow long before this many 16 KB messages.
    for _ in 0..BATCHES {
        sent.extend(send_batch(&mut agent, conversation, &body, BATCH).await);
    }
    assert_eq!(
        reader.await.expect("reader"),
        sent,
        "every message, in order"
    );
    // The stalled tab was told to reconnect (or dropped): it never held anyone up.
    match stalled.closed().await {
        Closed::Code(code, reason) => {
            assert_eq!(u16::from(code), 1008);
            assert!(reason.contains("Too slow"), "{reason}");
        }
        Closed::Dropped => {}
    }
}

/// Sends `n` messages back to back, then collects their acks in order.
async fn send_batch(
    agent: &mut common::Client,
    conversation: minicom::protocol::ConversationId,
    body: &str,
    n: usize,
) -> Vec<ClientId> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(agent.say(Some(conversation), body).await);
    }
    for id in &ids {
        assert_eq!(agent.expect(ack).await.0, *id);
    }
    ids
}

#[tokio::test]
async fn every_acknowledged_message_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = common::database_url(dir.path(), "kill");
    let mut process = Instance::spawn(&database_url, &[]).await;
    let server = TestServer::at(process.addr);
    let (mut visitor, cookie) = server.visitor().await;

    // Stream sends without waiting; kill the server once 30 acks are in.
    let ids: Vec<ClientId> = (0..200).map(|_| ClientId::new()).collect();
    for (i, id) in ids.iter().enumerate() {
        visitor
            .send(&ClientFrame::Send {
                conversation_id: None,
                client_id: *id,
                body: format!("m{i}"),
                new_conversation: false,
                note: false,
                attachments: Vec::new(),
            })
            .await;
    }
    let mut acked = Vec::new();
    while acked.len() < 30 {
        acked.push(visitor.expect(ack).await.1);
    }
    process.kill().await;
    drop(visitor);

    // Restart on the same database; everything acknowledged is there, and the
    // outbox's resend of all 200 ids stores nothing twice.
    let process = Instance::spawn(&database_url, &[]).await;
    let server = TestServer::at(process.addr);
    let mut visitor = server.connect(&cookie, "visitor").await;
    visitor.hello().await;
    let conversation = acked[0].conversation_id;
    let stored = resume_all(&mut visitor, conversation, 0).await;
    for message in &acked {
        assert!(
            stored.contains(message),
            "acknowledged {message:?} was lost"
        );
    }
    for (i, id) in ids.iter().enumerate() {
        visitor
            .send(&ClientFrame::Send {
                conversation_id: None,
                client_id: *id,
                body: format!("m{i}"),
                new_conversation: false,
                note: false,
                attachments: Vec::new(),
            })
            .await;
        assert_eq!(visitor.expect(ack).await.0, *id);
    }
    let all = resume_all(&mut visitor, conversation, 0).await;
    let bodies: Vec<String> = all.iter().map(|m| m.body.clone()).collect();
    let unique: HashSet<&String> = bodies.iter().collect();
    assert_eq!(all.len(), 200, "each message stored exactly once");
    assert_eq!(unique.len(), 200);
    // The team reaches every one of them after the restart too.
    let mut agent = server.agent().await;
    assert_eq!(agent.resume(conversation, 0).await, all);
}
