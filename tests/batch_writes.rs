//! The writer's fast path for batches of plain messages against the
//! one-by-one path it stands in for: the same writes, queued together on two
//! fresh databases (one with the fast path, one without), must leave the
//! same messages, the same inbox rows, read cursors and unread counts, and
//! answer every sender the same. On SQLite, or PostgreSQL when the run stores
//! there (`MINICOM_TEST_ENGINE=postgres`).

mod common;

use std::collections::HashMap;

use minicom::protocol::{
    AgentId, ClientId, ContactId, ConversationId, ConversationStatus, InboxSort, InboxView,
    Message, MessageId,
};
use minicom::server::store::*;

/// Who writes what where, in queue order.
#[derive(Clone, Copy)]
enum Step {
    /// A visitor's message to whichever conversation is current for them.
    Visitor(usize, &'static str),
    /// A visitor's message in conversation `n` (0 = Ana's, 1 = Ben's, 2 = Carl's).
    VisitorIn(usize, &'static str),
    /// A teammate's reply (teammate `t`) in conversation `n`.
    Reply(usize, usize, &'static str),
    /// The same `client_id` as the `i`th step sent so far, sent again.
    Resend(usize),
}

struct World {
    contacts: Vec<ContactId>,
    conversations: Vec<ConversationId>,
    agents: Vec<AgentId>,
}

/// The same start on each database: three visitors with a conversation
/// each, Ana's owned by the first teammate (her reply assigned it), Carl's
/// resolved; and Dan, who has written nothing yet.
async fn world(store: &Store) -> World {
    let hash = minicom::server::auth::hash_password("pw").unwrap();
    let mut agents = Vec::new();
    for (email, name) in [("t1@example.com", "Tess"), ("t2@example.com", "Tom")] {
        agents.push(
            store
                .create_agent(email, name, &hash, Role::Agent)
                .await
                .unwrap(),
        );
    }
    let mut contacts = Vec::new();
    let mut conversations = Vec::new();
    for token in ["ana", "ben", "carl", "dan"] {
        let contact = store
            .contact_for_token(
                &minicom::server::auth::token_hash(token),
                None,
                "127.0.0.1",
                None,
            )
            .await
            .unwrap()
            .id;
        contacts.push(contact);
        if token == "dan" {
            continue;
        }
        let first = store
            .insert_visitor_message(
                contact,
                ClientId::new(),
                &format!("hello from {token}"),
                false,
            )
            .await
            .unwrap();
        conversations.push(first.message.conversation_id);
    }
    let options = PostOptions {
        assign_on_reply: true,
        ..PostOptions::default()
    };
    let taken = store
        .queue_message(
            conversations[0],
            contacts[0],
            ClientId::new(),
            Author::agent(agents[0]),
            ("Tess here", &[]),
            options,
        )
        .await
        .unwrap()
        .committed()
        .await
        .unwrap();
    assert_eq!(taken.lines.len(), 1, "the reply assigned the conversation");
    store
        .set_status(
            conversations[2],
            ConversationStatus::Resolved,
            None,
            None,
            "Resolved",
        )
        .await
        .unwrap();
    World {
        contacts,
        conversations,
        agents,
    }
}

/// Queues `steps` back to back (they share batches) and waits for them
/// all. `sent` is every step so far with its `client_id` (what `Resend`
/// points into), across runs.
async fn run(
    store: &Store,
    w: &World,
    steps: &[Step],
    sent: &mut Vec<(ClientId, Step)>,
) -> Vec<Inserted> {
    let mut queued = Vec::new();
    for step in steps {
        let (id, step) = match *step {
            Step::Resend(i) => sent[i],
            other => (ClientId::new(), other),
        };
        sent.push((id, step));
        let write = match step {
            Step::Visitor(v, body) => {
                store
                    .queue_visitor_message(w.contacts[v], id, (body, &[]), VisitorPost::default())
                    .await
            }
            Step::VisitorIn(n, body) => {
                store
                    .queue_message(
                        w.conversations[n],
                        w.contacts[n],
                        id,
                        Author::contact(w.contacts[n]),
                        (body, &[]),
                        PostOptions::default(),
                    )
                    .await
            }
            Step::Reply(t, n, body) => {
                let options = PostOptions {
                    assign_on_reply: t == 0,
                    ..PostOptions::default()
                };
                store
                    .queue_message(
                        w.conversations[n],
                        w.contacts[n],
                        id,
                        Author::agent(w.agents[t]),
                        (body, &[]),
                        options,
                    )
                    .await
            }
            Step::Resend(_) => unreachable!("a resend names a step that was sent"),
        };
        queued.push(write.unwrap());
    }
    let mut stored = Vec::new();
    for write in queued {
        stored.push(write.committed().await.unwrap());
    }
    stored
}

/// What a person would see, with ids (which PostgreSQL may number with gaps)
/// replaced by the bodies they point at and times left out.
#[derive(Debug, PartialEq)]
struct Seen {
    /// Per conversation: (change number, sender, name, body).
    messages: Vec<Vec<(i64, String, String, String)>>,
    rows: Vec<String>,
    /// Per teammate: unread per conversation in their Open view.
    unread: Vec<Vec<(usize, u32)>>,
    /// Each visitor's unread count.
    visitor_unread: Vec<u32>,
}

async fn seen(store: &Store, w: &World) -> Seen {
    let mut messages = Vec::new();
    let mut bodies: HashMap<MessageId, String> = HashMap::new();
    for conversation in &w.conversations {
        let (history, _) = store
            .latest_messages(*conversation, 100, Audience::Team)
            .await
            .unwrap();
        for m in &history {
            bodies.insert(m.id, m.body.clone());
        }
        messages.push(
            history
                .iter()
                .map(|m| {
                    (
                        m.seq,
                        m.sender.as_str().to_owned(),
                        m.sender_name.clone(),
                        m.body.clone(),
                    )
                })
                .collect(),
        );
    }
    let body = |id: MessageId| bodies.get(&id).cloned().unwrap_or_default();
    let mut rows = Vec::new();
    for conversation in &w.conversations {
        let r = store
            .conversation_summary(*conversation)
            .await
            .unwrap()
            .unwrap();
        rows.push(format!(
            "status {:?}, preview {:?}, last sender {:?}, last {:?}, visitor read {:?}, \
             team read {:?}, delivered {:?}, assistant {:?}, seq {}, owner {:?}, waiting {}",
            r.status,
            r.last_message_preview,
            r.last_sender,
            body(r.last_message_id),
            body(r.contact_read_id),
            body(r.team_read_id),
            body(r.team_delivered_id),
            r.assistant,
            r.seq,
            r.assignee.map(|p| p.name),
            r.waiting_since.is_some(),
        ));
    }
    let mut unread = Vec::new();
    for agent in &w.agents {
        let page = InboxPage {
            view: InboxView::Open,
            sort: InboxSort::default(),
            after: None,
            label: None,
        };
        let (list, _) = store.inbox(*agent, page, 50).await.unwrap();
        let mut mine: Vec<(usize, u32)> = list
            .iter()
            .filter_map(|r| {
                let n = w.conversations.iter().position(|c| *c == r.id)?;
                Some((n, r.unread))
            })
            .collect();
        mine.sort_unstable();
        unread.push(mine);
    }
    let mut visitor_unread = Vec::new();
    for contact in &w.contacts {
        let rows = store.contact_conversations(*contact).await.unwrap();
        visitor_unread.push(rows.iter().map(|r| r.unread).sum());
    }
    Seen {
        messages,
        rows,
        unread,
        visitor_unread,
    }
}

/// What each sender heard back.
fn answers(stored: &[Inserted]) -> Vec<String> {
    let line = |m: &Message| {
        format!(
            "{} {} {:?} {}",
            m.seq,
            m.sender.as_str(),
            m.sender_name,
            m.body
        )
    };
    stored
        .iter()
        .map(|s| {
            let lines: Vec<String> = s.lines.iter().map(line).collect();
            format!(
                "created {} started {} | {} | lines {lines:?}",
                s.created,
                s.started,
                line(&s.message)
            )
        })
        .collect()
}

#[tokio::test]
async fn a_batch_of_plain_messages_leaves_what_one_by_one_writes_leave() {
    use Step::*;
    // All plain: visitors in their open conversations, replies where the
    // conversation is owned or the teammate does not take it, one in a
    // resolved conversation (a reply does not reopen it).
    let plain = [
        Visitor(0, "a0"),
        VisitorIn(0, "a1"),
        Reply(0, 0, "r1"),
        Visitor(1, "b1"),
        Reply(1, 1, "r2"),
        Reply(0, 0, "r3"),
        VisitorIn(1, "b2"),
        VisitorIn(0, "a2"),
        Reply(1, 2, "z1"),
        VisitorIn(0, "a3"),
    ];
    // Each not plain, alone in its batch: Carl's reply reopens his
    // conversation, Tess's first reply to Ben takes it, a resend of a
    // reply and of a visitor's message from the batch above, and Dan's
    // first message, which starts a conversation.
    let not_plain: [&[Step]; 5] = [
        &[VisitorIn(2, "z2")],
        &[Reply(0, 1, "r5")],
        &[Resend(2)],
        &[Resend(0)],
        &[Visitor(3, "d1")],
    ];
    // Together: Ana writing to "my conversation" after a message named it
    // (plain or not depends on how the writer splits the batch).
    let mixed = [Reply(0, 0, "r4"), Visitor(0, "a4"), VisitorIn(1, "b3")];

    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fast = Store::open(&common::database_url(dirs.0.path(), "fast"))
        .await
        .unwrap();
    let reference = Store::open(&common::database_url(dirs.1.path(), "one_by_one"))
        .await
        .unwrap();
    reference.set_fast_writes(false);
    let (w_fast, w_ref) = (world(&fast).await, world(&reference).await);
    let (mut sent_fast, mut sent_ref) = (Vec::new(), Vec::new());

    let stored_fast = run(&fast, &w_fast, &plain, &mut sent_fast).await;
    let stored_ref = run(&reference, &w_ref, &plain, &mut sent_ref).await;
    assert!(
        stored_ref.iter().all(|s| matches!(s.row, RowAfter::Unread)),
        "the reference wrote one by one"
    );
    assert_eq!(answers(&stored_fast), answers(&stored_ref));
    assert_eq!(seen(&fast, &w_fast).await, seen(&reference, &w_ref).await);
    // However the writer split the run into batches, the newest message
    // of each conversation is the newest of its batch: it publishes the
    // row, as it now stands.
    for conversation in &w_fast.conversations {
        let newest = stored_fast
            .iter()
            .rfind(|s| s.message.conversation_id == *conversation)
            .expect("the run wrote in every conversation");
        let RowAfter::Publish(row) = &newest.row else {
            panic!(
                "the newest message of {conversation:?} took the fast path and publishes its row"
            );
        };
        let now = fast
            .conversation_summary(*conversation)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(**row, now, "the published row is the row as it stands");
    }

    for steps in not_plain {
        let stored_fast = run(&fast, &w_fast, steps, &mut sent_fast).await;
        let stored_ref = run(&reference, &w_ref, steps, &mut sent_ref).await;
        assert!(
            stored_fast
                .iter()
                .all(|s| matches!(s.row, RowAfter::Unread)),
            "{} fell back to writing message by message",
            answers(&stored_fast).join("; ")
        );
        assert_eq!(answers(&stored_fast), answers(&stored_ref));
        assert_eq!(seen(&fast, &w_fast).await, seen(&reference, &w_ref).await);
    }
    let after = seen(&fast, &w_fast).await;
    assert!(
        after.rows[2].starts_with("status Open"),
        "Carl's reply reopened his conversation: {}",
        after.rows[2]
    );

    let stored_fast = run(&fast, &w_fast, &mixed, &mut sent_fast).await;
    let stored_ref = run(&reference, &w_ref, &mixed, &mut sent_ref).await;
    assert_eq!(answers(&stored_fast), answers(&stored_ref));
    assert_eq!(seen(&fast, &w_fast).await, seen(&reference, &w_ref).await);
}

/// Visitors leaving at once are recorded as last seen in one batch, with
/// the time the writer reports.
#[tokio::test]
async fn visitors_last_seen_are_recorded_through_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&common::database_url(dir.path(), "seen"))
        .await
        .unwrap();
    let mut people = Vec::new();
    for i in 0..50 {
        let token = format!("leaving-{i}");
        let contact = store
            .contact_for_token(
                &minicom::server::auth::token_hash(&token),
                None,
                "127.0.0.1",
                None,
            )
            .await
            .unwrap()
            .id;
        let said = store
            .insert_visitor_message(contact, ClientId::new(), "bye", false)
            .await
            .unwrap();
        people.push((contact, said.message.conversation_id));
    }
    let times =
        futures::future::join_all(people.iter().map(|(c, _)| store.touch_contact(*c))).await;
    for ((contact, conversation), at) in people.iter().zip(times) {
        let at = at.unwrap();
        let details = store.contact_details(*conversation).await.unwrap().unwrap();
        assert_eq!(details.last_seen_at, at, "contact {contact:?}");
    }
}
