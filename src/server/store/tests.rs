//! The store against a real SQLite file.

use super::*;
use crate::protocol::{AgentId, ClientId, ContactId, ConversationId, MessageId};

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (Store::open(&url).await.expect("open"), dir)
}

async fn visitor(store: &Store, token: &str) -> ContactId {
    store
        .contact_for_token(&crate::server::auth::token_hash(token))
        .await
        .expect("contact")
        .id
}

#[tokio::test]
async fn same_client_id_is_stored_once() {
    let (store, _dir) = store().await;
    let contact = visitor(&store, "a").await;
    let id = ClientId::new();
    let first = store
        .insert_visitor_message(contact, id, "hi", false)
        .await
        .unwrap();
    let again = store
        .insert_visitor_message(contact, id, "hi (resent)", false)
        .await
        .unwrap();
    assert!(first.created);
    assert!(!again.created);
    assert_eq!(first.message, again.message);
    let conversation = first.message.conversation_id;
    let in_conversation = store
        .insert_message(conversation, id, Author::contact(contact), "third try")
        .await
        .unwrap();
    assert!(!in_conversation.created);
    assert_eq!(in_conversation.message.id, first.message.id);
    let (messages, _) = store.latest_messages(conversation, 50).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body, "hi");
}

#[tokio::test]
async fn messages_come_back_in_id_order_with_paging() {
    let (store, _dir) = store().await;
    let contact = visitor(&store, "b").await;
    let first = store
        .insert_visitor_message(contact, ClientId::new(), "m0", false)
        .await
        .unwrap();
    let conversation = first.message.conversation_id;
    for i in 1..60 {
        store
            .insert_message(
                conversation,
                ClientId::new(),
                Author::contact(contact),
                &format!("m{i}"),
            )
            .await
            .unwrap();
    }
    let (latest, has_more) = store.latest_messages(conversation, 50).await.unwrap();
    assert!(has_more);
    assert_eq!(latest.len(), 50);
    assert_eq!(latest.first().unwrap().body, "m10");
    assert_eq!(latest.last().unwrap().body, "m59");
    assert!(latest.windows(2).all(|w| w[0].id < w[1].id));

    let after = store
        .messages_after(conversation, latest[47].id, 100)
        .await
        .unwrap();
    let bodies: Vec<&str> = after.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["m58", "m59"]);
    assert!(
        store
            .messages_after(conversation, MessageId(i64::MAX), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_visitor_writes_into_their_open_conversation() {
    let (store, _dir) = store().await;
    let contact = visitor(&store, "c").await;
    let other = visitor(&store, "d").await;
    let a = store
        .insert_visitor_message(contact, ClientId::new(), "one", false)
        .await
        .unwrap();
    let b = store
        .insert_visitor_message(contact, ClientId::new(), "two", false)
        .await
        .unwrap();
    let c = store
        .insert_visitor_message(other, ClientId::new(), "else", false)
        .await
        .unwrap();
    assert_eq!(a.message.conversation_id, b.message.conversation_id);
    assert_ne!(a.message.conversation_id, c.message.conversation_id);
    assert_eq!(
        store
            .conversation_contact(a.message.conversation_id)
            .await
            .unwrap(),
        Some(contact)
    );
    assert_eq!(
        store
            .conversation_contact(ConversationId(424242))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_inbox_row_shows_the_newest_message_and_name() {
    let (store, _dir) = store().await;
    let contact = visitor(&store, "e").await;
    store
        .set_contact_profile(contact, Some("Ada"), None)
        .await
        .unwrap();
    let sent = store
        .insert_visitor_message(contact, ClientId::new(), "  line one\n\nline   two ", false)
        .await
        .unwrap();
    let (inbox, _) = store.inbox(AgentId(1), None, 10).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].id, sent.message.conversation_id);
    assert_eq!(inbox[0].contact_name, "Ada");
    assert_eq!(inbox[0].last_message_preview, "line one line two");
    assert_eq!(sent.message.sender_name, "Ada");
}

#[tokio::test]
async fn a_visitor_token_maps_to_one_contact() {
    let (store, _dir) = store().await;
    let a = visitor(&store, "same").await;
    let b = visitor(&store, "same").await;
    let c = visitor(&store, "different").await;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test]
async fn concurrent_writes_share_commits_and_one_failure_spoils_nothing() {
    let (store, _dir) = store().await;
    let contact = visitor(&store, "f").await;
    let first = store
        .insert_visitor_message(contact, ClientId::new(), "first", false)
        .await
        .unwrap();
    let conversation = first.message.conversation_id;
    let good = (0..200).map(|i| {
        let store = store.clone();
        async move {
            store
                .insert_message(
                    conversation,
                    ClientId::new(),
                    Author::contact(contact),
                    &format!("m{i}"),
                )
                .await
        }
    });
    // A write into a conversation that does not exist fails on its own.
    let bad = store.insert_message(
        ConversationId(999_999),
        ClientId::new(),
        Author::contact(contact),
        "nowhere",
    );
    let (results, bad) = tokio::join!(futures::future::join_all(good), bad);
    assert!(bad.is_err());
    let ids: std::collections::HashSet<_> = results
        .into_iter()
        .map(|r| r.expect("stored").message.id)
        .collect();
    assert_eq!(ids.len(), 200);
    let stored = store
        .messages_after(conversation, MessageId(0), 1_000)
        .await
        .unwrap();
    assert_eq!(stored.len(), 201);
}

#[tokio::test]
async fn read_cursors_move_forward_only_and_drive_unread_counts() {
    let (store, _dir) = store().await;
    let hash = crate::server::auth::hash_password("pw").unwrap();
    let ana = store
        .create_agent("ana@example.com", "Ana", &hash, Role::Agent)
        .await
        .unwrap();
    let contact = visitor(&store, "r").await;
    let mut ids = Vec::new();
    for body in ["one", "two", "three"] {
        let sent = store
            .insert_visitor_message(contact, ClientId::new(), body, false)
            .await
            .unwrap();
        ids.push(sent.message.id);
    }
    let conversation = store.contact_conversations(contact).await.unwrap()[0].id;
    let unread =
        |store: Store| async move { store.inbox(ana, None, 10).await.unwrap().0[0].unread };
    assert_eq!(unread(store.clone()).await, 3);

    let read = Reader::Agent(ana);
    assert_eq!(
        store.mark_read(conversation, read, ids[1]).await.unwrap(),
        Some(ids[1])
    );
    assert_eq!(unread(store.clone()).await, 1);
    // Backwards or the same place: no move, nothing to announce.
    assert_eq!(
        store.mark_read(conversation, read, ids[0]).await.unwrap(),
        None
    );
    assert_eq!(
        store.mark_read(conversation, read, ids[1]).await.unwrap(),
        None
    );
    // Past the newest message: clamped to it.
    assert_eq!(
        store
            .mark_read(conversation, read, MessageId(i64::MAX))
            .await
            .unwrap(),
        Some(ids[2])
    );
    assert_eq!(unread(store.clone()).await, 0);
    let row = store
        .conversation_summary(conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.team_read_id, ids[2]);
    assert_eq!(row.team_delivered_id, ids[2], "read implies delivered");

    // The agent replies: the visitor has one unread until they read it.
    let reply = store
        .insert_message(conversation, ClientId::new(), Author::agent(ana), "hi!")
        .await
        .unwrap();
    assert_eq!(
        store.contact_conversations(contact).await.unwrap()[0].unread,
        1
    );
    store
        .mark_read(conversation, Reader::Contact(contact), reply.message.id)
        .await
        .unwrap();
    let mine = &store.contact_conversations(contact).await.unwrap()[0];
    assert_eq!(mine.unread, 0);
    assert_eq!(mine.contact_read_id, reply.message.id);
}
