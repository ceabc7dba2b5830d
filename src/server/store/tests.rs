//! The store against a real SQLite file.

use super::*;
use crate::protocol::{ClientId, ContactId, ConversationId, MessageId};

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
        .insert_visitor_message(contact, id, "hi")
        .await
        .unwrap();
    let again = store
        .insert_visitor_message(contact, id, "hi (resent)")
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
        .insert_visitor_message(contact, ClientId::new(), "m0")
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
        .insert_visitor_message(contact, ClientId::new(), "one")
        .await
        .unwrap();
    let b = store
        .insert_visitor_message(contact, ClientId::new(), "two")
        .await
        .unwrap();
    let c = store
        .insert_visitor_message(other, ClientId::new(), "else")
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
        .insert_visitor_message(contact, ClientId::new(), "  line one\n\nline   two ")
        .await
        .unwrap();
    let inbox = store.inbox(10).await.unwrap();
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
