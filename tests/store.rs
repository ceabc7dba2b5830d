//! The store against a real database: an SQLite file, or PostgreSQL when
//! the run stores there (`MINICOM_TEST_ENGINE=postgres`).

mod common;

use minicom::protocol::{AgentId, ClientId, ContactId, ConversationId, InboxSort, MessageId};
use minicom::server::store::*;

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::database_url(dir.path(), "t");
    (Store::open(&url).await.expect("open"), dir)
}

async fn visitor(store: &Store, token: &str) -> ContactId {
    store
        .contact_for_token(
            &minicom::server::auth::token_hash(token),
            None,
            "127.0.0.1",
            None,
        )
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
        .insert_message(
            conversation,
            contact,
            id,
            Author::contact(contact),
            "third try",
        )
        .await
        .unwrap();
    assert!(!in_conversation.created);
    assert_eq!(in_conversation.message.id, first.message.id);
    let (messages, _) = store
        .latest_messages(conversation, 50, Audience::Team)
        .await
        .unwrap();
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
                contact,
                ClientId::new(),
                Author::contact(contact),
                &format!("m{i}"),
            )
            .await
            .unwrap();
    }
    let (latest, has_more) = store
        .latest_messages(conversation, 50, Audience::Team)
        .await
        .unwrap();
    assert!(has_more);
    assert_eq!(latest.len(), 50);
    assert_eq!(latest.first().unwrap().body, "m10");
    assert_eq!(latest.last().unwrap().body, "m59");
    assert!(latest.windows(2).all(|w| w[0].id < w[1].id));

    let (after, more) = store
        .changes_after(conversation, latest[47].seq, 100, Audience::Team)
        .await
        .unwrap();
    let bodies: Vec<&str> = after.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["m58", "m59"]);
    assert!(!more);
    assert!(
        store
            .changes_after(conversation, i64::MAX, 10, Audience::Team)
            .await
            .unwrap()
            .0
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
    let (inbox, _) = store
        .inbox(AgentId(1), InboxPage::default(), 10)
        .await
        .unwrap();
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
                    contact,
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
        contact,
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
    let (stored, _) = store
        .changes_after(conversation, 0, 1_000, Audience::Team)
        .await
        .unwrap();
    assert_eq!(stored.len(), 201);
}

#[tokio::test]
async fn read_cursors_move_forward_only_and_drive_unread_counts() {
    let (store, _dir) = store().await;
    let hash = minicom::server::auth::hash_password("pw").unwrap();
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
    let unread = |store: Store| async move {
        store.inbox(ana, InboxPage::default(), 10).await.unwrap().0[0].unread
    };
    assert_eq!(unread(store.clone()).await, 3);

    let read = Reader::Agent(ana);
    assert_eq!(
        store
            .mark_read(conversation, read, ids[1])
            .await
            .unwrap()
            .map(|(at, _)| at),
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
            .unwrap()
            .map(|(at, _)| at),
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
        .insert_message(
            conversation,
            contact,
            ClientId::new(),
            Author::agent(ana),
            "hi!",
        )
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

#[tokio::test]
async fn every_change_takes_the_next_number_and_resume_replays_it() {
    let (store, _dir) = store().await;
    let contact = visitor(&store, "seq").await;
    let first = store
        .insert_visitor_message(contact, ClientId::new(), "one", false)
        .await
        .unwrap()
        .message;
    let conversation = first.conversation_id;
    let second = store
        .insert_message(
            conversation,
            contact,
            ClientId::new(),
            Author::contact(contact),
            "two",
        )
        .await
        .unwrap()
        .message;
    assert_eq!(
        (first.seq, second.seq),
        (1, 2),
        "numbers start at 1 per conversation"
    );
    let since = second.seq;
    let edited = store
        .change_message(first.id, Change::Edit("one, edited".into()))
        .await
        .unwrap()
        .message;
    assert_eq!(edited.seq, 3);
    let reacted = store
        .toggle_reaction(second.id, Author::contact(contact), "👍")
        .await
        .unwrap()
        .expect("allowed");
    assert_eq!((reacted.seq, reacted.added), (4, true));
    let (_, read_seq) = store
        .mark_read(conversation, Reader::Contact(contact), second.id)
        .await
        .unwrap()
        .map_or((MessageId(0), 0), |m| m);
    // The visitor's own message already moved their cursor: nothing to number.
    assert_eq!(read_seq, 0);
    let deleted = store
        .change_message(second.id, Change::Delete)
        .await
        .unwrap()
        .message;
    assert_eq!(deleted.seq, 5);
    let (changes, more) = store
        .changes_after(conversation, since, 100, Audience::Team)
        .await
        .unwrap();
    assert!(!more);
    let got: Vec<(MessageId, i64, bool)> =
        changes.iter().map(|m| (m.id, m.seq, m.deleted)).collect();
    assert_eq!(got, [(first.id, 3, false), (second.id, 5, true)]);
    assert_eq!(changes[0].body, "one, edited");
    assert_eq!(store.conversation_seq(conversation).await.unwrap(), 5);
    let row = store
        .conversation_summary(conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.seq, 5, "the row's version is the latest change");
}

#[tokio::test]
async fn reactions_are_capped_per_message_and_per_person() {
    let (store, _dir) = store().await;
    let contact = visitor(&store, "react").await;
    let message = store
        .insert_visitor_message(contact, ClientId::new(), "hi", false)
        .await
        .unwrap()
        .message;
    let me = Author::contact(contact);
    let emoji = ["👍", "❤️", "😂", "😮"];
    for e in &emoji[..minicom::protocol::MAX_REACTIONS_PER_PERSON] {
        assert!(
            store
                .toggle_reaction(message.id, me, e)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert!(
        store
            .toggle_reaction(message.id, me, emoji[3])
            .await
            .unwrap()
            .is_none(),
        "one more from the same person is refused"
    );
    // Taking one back is always allowed, and makes room.
    let back = store
        .toggle_reaction(message.id, me, emoji[0])
        .await
        .unwrap()
        .unwrap();
    assert!(!back.added);
    assert!(
        store
            .toggle_reaction(message.id, me, emoji[3])
            .await
            .unwrap()
            .is_some()
    );
    // Many people: at most so many different emoji on one message.
    let hash = minicom::server::auth::hash_password("pw").unwrap();
    let mut kinds = 3;
    for i in 0..40 {
        let agent = store
            .create_agent(&format!("a{i}@example.com"), "A", &hash, Role::Agent)
            .await
            .unwrap();
        let e = char::from_u32(0x1F680 + i).unwrap().to_string();
        if store
            .toggle_reaction(message.id, Author::agent(agent), &e)
            .await
            .unwrap()
            .is_some()
        {
            kinds += 1;
        }
    }
    assert_eq!(kinds, minicom::protocol::MAX_REACTIONS_PER_MESSAGE);
    let stored = store.message(message.id).await.unwrap().unwrap();
    assert_eq!(
        stored.reactions.len(),
        minicom::protocol::MAX_REACTIONS_PER_MESSAGE
    );
}

#[tokio::test]
async fn the_lists_page_without_skipping_in_both_orders() {
    let (store, _dir) = store().await;
    let mut ids = Vec::new();
    let mut contacts = Vec::new();
    for name in ["a", "b", "c", "d"] {
        let contact = visitor(&store, name).await;
        let inserted = store
            .insert_visitor_message(contact, ClientId::new(), name, false)
            .await
            .unwrap();
        ids.push(inserted.message.conversation_id);
        contacts.push(contact);
    }
    // Someone answered the second: nobody waits there, it goes last. (Its
    // activity is newest only once the millisecond clock has moved on from
    // the last visitor's message: rows of one millisecond tie.)
    let last = store
        .latest_messages(ids[3], 1, minicom::server::store::Audience::Team)
        .await
        .unwrap()
        .0[0]
        .created_at;
    while minicom::server::store::now() <= last {
        tokio::task::yield_now().await;
    }
    store
        .insert_message(ids[1], contacts[1], ClientId::new(), Author::ai(), "hi")
        .await
        .unwrap();
    for (sort, expected) in [
        (InboxSort::Newest, vec![ids[1], ids[3], ids[2], ids[0]]),
        (InboxSort::Waiting, vec![ids[0], ids[2], ids[3], ids[1]]),
    ] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (page, more) = store
                .inbox(
                    AgentId(1),
                    InboxPage {
                        sort,
                        after,
                        ..InboxPage::default()
                    },
                    1,
                )
                .await
                .unwrap();
            seen.extend(page.iter().map(|r| r.id));
            after = page.last().map(|r| sort.key(r));
            if !more {
                break;
            }
        }
        assert_eq!(seen, expected, "{sort:?}");
    }
}

/// One holder at a time answers for the assistant; a message that comes
/// meanwhile is the holder's to answer next; a dead holder's claim runs out
/// and another takes it over, but never from a holder that is alive.
#[tokio::test]
async fn the_assistants_claim_is_one_holders_and_runs_out_when_it_dies() {
    let (store, _dir) = store().await;
    let contact = visitor(&store, "claims").await;
    let conversation = store
        .insert_visitor_message(contact, ClientId::new(), "hello", true)
        .await
        .unwrap()
        .message
        .conversation_id;
    let t = |ms: i64| minicom::protocol::Timestamp(ms);

    // A answers; B's message is noted for A.
    let a = store.claim_assistant(conversation, "a", t(1_000), t(2_000));
    assert_eq!(a.await.unwrap(), Claim::Mine);
    let b = store.claim_assistant(conversation, "b", t(1_500), t(2_500));
    assert_eq!(b.await.unwrap(), Claim::Held(t(2_000)));
    // A stops renewing (it died): not before its claim runs out...
    let early = store.take_over_assistant(conversation, "b", t(1_999), t(3_000));
    assert_eq!(early.await.unwrap(), Claim::Held(t(2_000)));
    // ...then B takes over, and answers once.
    let late = store.take_over_assistant(conversation, "b", t(2_000), t(3_000));
    assert_eq!(late.await.unwrap(), Claim::Mine);
    let again = store.release_assistant(conversation, "b", t(3_500));
    assert!(!again.await.unwrap(), "nothing came after the take-over");

    // Another task of the same holder, while its first still writes: it
    // leaves the message to the first, and never takes its own live claim.
    let again = store.claim_assistant(conversation, "b", t(3_600), t(4_000));
    assert_eq!(again.await.unwrap(), Claim::Mine);
    let own = store.claim_assistant(conversation, "b", t(3_700), t(4_100));
    assert_eq!(own.await.unwrap(), Claim::Held(t(4_000)));
    let own = store.take_over_assistant(conversation, "b", t(3_800), t(4_200));
    assert_eq!(own.await.unwrap(), Claim::Held(t(4_000)));
    let again = store.release_assistant(conversation, "b", t(4_500));
    assert!(
        again.await.unwrap(),
        "the first task answers the second message"
    );
    assert!(
        !store
            .release_assistant(conversation, "b", t(4_600))
            .await
            .unwrap()
    );

    // An alive holder keeps what it was given: A answers again, B does not.
    let a = store.claim_assistant(conversation, "a", t(5_000), t(6_000));
    assert_eq!(a.await.unwrap(), Claim::Mine);
    let b = store.claim_assistant(conversation, "b", t(5_100), t(6_100));
    assert_eq!(b.await.unwrap(), Claim::Held(t(6_000)));
    store
        .renew_assistant_claim(conversation, "a", t(7_000))
        .await
        .unwrap();
    let b = store.take_over_assistant(conversation, "b", t(6_500), t(7_500));
    assert_eq!(b.await.unwrap(), Claim::Held(t(7_000)), "renewed: alive");
    let again = store.release_assistant(conversation, "a", t(8_000));
    assert!(again.await.unwrap(), "A answers the message B noted");
    let b = store.take_over_assistant(conversation, "b", t(9_000), t(9_500));
    assert_eq!(b.await.unwrap(), Claim::Nothing, "A took it in hand");
    assert!(
        !store
            .release_assistant(conversation, "a", t(9_000))
            .await
            .unwrap()
    );

    // A conversation a person took over is nobody's to claim.
    store
        .set_assistant_state(conversation, &[], minicom::protocol::AssistantState::Human)
        .await
        .unwrap();
    let c = store.claim_assistant(conversation, "c", t(10_000), t(11_000));
    assert_eq!(c.await.unwrap(), Claim::Nothing);
}

/// An answer claimed and never written (its instance died mid-answer) is
/// taken over by one sweeper once the claim runs out, not before; a claim
/// whose answer was written is left alone.
#[tokio::test]
async fn an_answer_a_dead_holder_never_wrote_is_taken_over_once() {
    let (store, _dir) = store().await;
    let t = |ms: i64| minicom::protocol::Timestamp(ms);
    let asks = |name: &'static str| {
        let store = store.clone();
        async move {
            let contact = visitor(&store, name).await;
            let message = store
                .insert_visitor_message(contact, ClientId::new(), "where is my order?", true)
                .await
                .unwrap()
                .message;
            (message.conversation_id, contact)
        }
    };
    let (unanswered, contact) = asks("unanswered").await;
    let (answered, answered_contact) = asks("answered").await;
    for conversation in [unanswered, answered] {
        let claim = store.claim_assistant(conversation, "dead", t(1_000), t(2_000));
        assert_eq!(claim.await.unwrap(), Claim::Mine);
    }
    // The holder wrote one answer, then died before letting its claims go.
    store
        .insert_message(
            answered,
            answered_contact,
            ClientId::new(),
            minicom::server::store::Author::ai(),
            "It ships tomorrow.",
        )
        .await
        .unwrap();

    let early = store.take_over_abandoned("a", t(1_999), t(3_000)).await;
    assert!(early.unwrap().is_empty(), "the claim still stands");
    let own = store.take_over_abandoned("dead", t(2_000), t(3_000)).await;
    assert!(own.unwrap().is_empty(), "a holder's own tasks are alive");
    let late = store.take_over_abandoned("a", t(302_001), t(303_000)).await;
    assert!(late.unwrap().is_empty(), "too late to be an answer");
    let a = store.take_over_abandoned("a", t(2_000), t(3_000)).await;
    assert_eq!(a.unwrap(), vec![(unanswered, contact)]);
    let b = store.take_over_abandoned("b", t(2_001), t(3_000)).await;
    assert!(b.unwrap().is_empty(), "A took it; B does not answer too");
    // The holder that was only slow learns it lost the claim, and drops its
    // answer; A keeps renewing its own.
    let slow = store
        .renew_assistant_claim(unanswered, "dead", t(3_000))
        .await;
    assert!(!slow.unwrap(), "the claim is A's now");
    let a = store.renew_assistant_claim(unanswered, "a", t(3_000)).await;
    assert!(a.unwrap());
    // A's claim is a live one like any other: the visitor's next message
    // is noted for A.
    let next = store.claim_assistant(unanswered, "b", t(2_500), t(3_500));
    assert_eq!(next.await.unwrap(), Claim::Held(t(3_000)));
}

/// Writes queued together (one batch, read for all its visitors at once)
/// keep every rule a write alone keeps: a visitor's messages land in one
/// conversation, a resend is the first message again, even when it asks
/// for a new conversation, another visitor's are theirs, and one refused
/// write takes none of the others with it.
#[tokio::test]
async fn writes_queued_together_find_their_conversation_and_resends_their_message() {
    let (store, _dir) = store().await;
    let ana = visitor(&store, "ana").await;
    let ben = visitor(&store, "ben").await;
    let first = ClientId::new();
    let post = VisitorPost::default();
    let fresh = VisitorPost {
        new_conversation: true,
        ..VisitorPost::default()
    };
    // Carl may start no conversation: his write fails, alone (the batch
    // runs again one savepoint per write).
    let carl = visitor(&store, "carl").await;
    let refused = VisitorPost {
        starts_per_hour: 0,
        ..VisitorPost::default()
    };
    let writes = [
        (ana, first, "hello", post),
        (carl, ClientId::new(), "spam", refused),
        (ana, ClientId::new(), "anyone there?", post),
        (ben, ClientId::new(), "hi from ben", post),
        (ana, first, "hello", post),
        (ana, first, "hello", fresh),
    ];
    let mut queued = Vec::new();
    for (contact, client_id, body, post) in writes {
        queued.push(
            store
                .queue_visitor_message(contact, client_id, (body, &[]), post)
                .await
                .unwrap(),
        );
    }
    let mut stored = Vec::new();
    for write in queued {
        match write.committed().await {
            Ok(inserted) => stored.push(inserted),
            Err(err) => assert!(matches!(err, StoreError::TooManyConversations(0)), "{err}"),
        }
    }
    assert_eq!(stored.len(), 5, "every write but Carl's is stored");
    let conversation = stored[0].message.conversation_id;
    assert!(stored[0].created && stored[0].started);
    assert_eq!(stored[1].message.conversation_id, conversation);
    assert!(stored[1].created && !stored[1].started);
    assert_ne!(stored[2].message.conversation_id, conversation);
    for resend in &stored[3..] {
        assert!(!resend.created, "a resend stores nothing");
        assert_eq!(resend.message.id, stored[0].message.id);
    }
    let (history, _) = store
        .latest_messages(conversation, 50, Audience::Team)
        .await
        .unwrap();
    let bodies: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["hello", "anyone there?"]);
}

/// A visitor's first message sent to two instances at once (a resend after
/// a dropped socket, or two tabs): the second waits for the first's lock on
/// the visitor, then finds its message — one conversation, stored once.
#[tokio::test]
async fn one_message_sent_through_two_instances_at_once_is_stored_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::database_url(dir.path(), "race");
    let a = Store::open(&url).await.expect("open");
    let b = Store::open(&url).await.expect("open");
    for round in 0..20 {
        let contact = visitor(&a, &format!("race {round}")).await;
        let id = ClientId::new();
        let (on_a, on_b) = tokio::join!(
            a.insert_visitor_message(contact, id, "hello", false),
            b.insert_visitor_message(contact, id, "hello", false),
        );
        let (on_a, on_b) = (on_a.unwrap(), on_b.unwrap());
        assert_eq!(on_a.message.id, on_b.message.id, "round {round}");
        assert!(on_a.created != on_b.created, "stored once (round {round})");
    }
}
