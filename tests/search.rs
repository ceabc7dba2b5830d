//! The team's search over real sockets, on the engine's own full-text index
//! (FTS5 on SQLite, `tsvector` on PostgreSQL with `MINICOM_TEST_ENGINE`):
//! what is found and how it is marked, filters, ranking, who may search,
//! edits and deletes, and jumping to a found message.

mod common;

use common::workflow::{refusal, row_where, visitor_writes};
use common::{Client, TestServer};
use minicom::protocol::{
    AssigneeFilter, ClientFrame, ConversationId, ConversationStatus, ErrorCode, LabelColor,
    Matched, MessageId, SearchFrom, SearchHit, SearchOrder, SearchQuery, ServerFrame, Timestamp,
};
use minicom::server::store::{LabelCreated, now};

/// Searches as `agent` and returns the hits.
async fn search(agent: &mut Client, query: SearchQuery) -> Vec<SearchHit> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let search_id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    agent.send(&ClientFrame::Search { search_id, query }).await;
    agent
        .expect(|f| match f {
            ServerFrame::SearchResults {
                search_id: id,
                hits,
            } if id == search_id => Some(hits),
            _ => None,
        })
        .await
}

fn text(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        ..SearchQuery::default()
    }
}

/// The conversations of `hits`, in order.
fn conversations(hits: &[SearchHit]) -> Vec<ConversationId> {
    hits.iter().map(|h| h.conversation_id).collect()
}

/// A snippet as one string, the marked pieces in brackets.
fn marked(hit: &SearchHit) -> String {
    hit.snippet
        .iter()
        .map(|p| {
            if p.hit {
                format!("[{}]", p.text)
            } else {
                p.text.clone()
            }
        })
        .collect()
}

/// Sends a message as `client` and waits for its ack; returns its id.
async fn said(client: &mut Client, conversation: ConversationId, body: &str) -> MessageId {
    let id = client.say(Some(conversation), body).await;
    client
        .expect(|f| match f {
            ServerFrame::Ack { client_id, message } if client_id == id => Some(message.id),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn messages_notes_names_and_labels_are_found_and_marked_as_text() {
    let server = TestServer::start_unlimited().await;
    let (mut ana, _) = server.visitor().await;
    let first = visitor_writes(&mut ana, "My order A-1234 never arrived").await;
    let (mut ben, _) = server.visitor().await;
    let second = visitor_writes(&mut ben, "<script>alert('x')</script> where is my ORDER?").await;
    let mut agent = server.agent().await;
    ben.send(&ClientFrame::Profile {
        name: Some("Benedikt <b>Bold</b>".into()),
        email: Some("ben@shop.example".into()),
    })
    .await;
    common::workflow::row_where(&mut agent, second, |r| {
        r.contact_name.starts_with("Benedikt")
    })
    .await;
    // A note in the first conversation, written last.
    agent.note(first, "Refund approved for this order").await;
    agent
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;

    // Newest first: the note (first conversation), then Ben's message.
    let hits = search(&mut agent, text("order")).await;
    assert_eq!(conversations(&hits), [first, second]);
    assert!(matches!(
        hits[0].matched,
        Matched::Message { note: true, .. }
    ));
    assert_eq!(marked(&hits[0]), "Refund approved for this [order]");
    assert_eq!(hits[0].more, 1, "the visitor's own message matched too");
    // Hostile text comes back as the text it is, the match marked.
    assert_eq!(
        marked(&hits[1]),
        "<script>alert('x')</script> where is my [ORDER]?"
    );

    // An order number, by its digits.
    let hits = search(&mut agent, text("1234")).await;
    assert_eq!(conversations(&hits), [first]);
    assert_eq!(marked(&hits[0]), "My order A-[1234] never arrived");

    // A name and an email, by the start of a word.
    let hits = search(&mut agent, text("benedi")).await;
    assert_eq!(conversations(&hits), [second]);
    assert_eq!(hits[0].matched, Matched::Contact);
    assert_eq!(hits[0].contact_name, "Benedikt <b>Bold</b>");
    let hits = search(&mut agent, text("ben@shop")).await;
    assert_eq!(conversations(&hits), [second]);

    // A label, by part of its name.
    let store = server.store();
    let LabelCreated::Created(label) = store
        .create_label("Shipping delay", LabelColor::default(), 100)
        .await
        .unwrap()
    else {
        panic!("label not created");
    };
    agent
        .send(&ClientFrame::Label {
            conversation_id: second,
            label_id: label.id,
            on: true,
        })
        .await;
    common::workflow::row_where(&mut agent, second, |r| r.labels.contains(&label.id)).await;
    let hits = search(&mut agent, text("delay")).await;
    assert_eq!(conversations(&hits), [second]);
    assert_eq!(hits[0].matched, Matched::Label);
    assert_eq!(marked(&hits[0]), "Shipping [delay]");

    // What is syntax to the engines is only words, or nothing.
    let quoted = search(&mut agent, text("\"order\" ' & | ! :* ( NEAR 1234")).await;
    assert!(quoted.is_empty(), "\"near\" is in no message: {quoted:?}");
    let hits = search(&mut agent, text("order' & | ! :* ( \" 1234")).await;
    assert_eq!(
        conversations(&hits),
        [first],
        "order and 1234, nothing else"
    );
}

#[tokio::test]
async fn visitors_cannot_search() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    visitor_writes(&mut visitor, "secret words").await;
    visitor
        .send(&ClientFrame::Search {
            search_id: 1,
            query: text("secret"),
        })
        .await;
    assert_eq!(refusal(&mut visitor).await.0, ErrorCode::AgentsOnly);
}

#[tokio::test]
async fn edits_and_deletes_reach_the_index() {
    let server = TestServer::start_unlimited().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "a pineapple please").await;
    let message = visitor.open(conversation).await[0].id;
    let mut agent = server.agent().await;
    assert_eq!(search(&mut agent, text("pineap")).await.len(), 1);

    visitor
        .send(&ClientFrame::Edit {
            message_id: message,
            body: "a mango please".into(),
        })
        .await;
    visitor
        .expect(|f| matches!(f, ServerFrame::Changed { .. }).then_some(()))
        .await;
    assert!(search(&mut agent, text("pineapple")).await.is_empty());
    assert_eq!(search(&mut agent, text("mango")).await.len(), 1);

    visitor
        .send(&ClientFrame::Delete {
            message_id: message,
        })
        .await;
    visitor
        .expect(|f| match f {
            ServerFrame::Changed { message } if message.deleted => Some(()),
            _ => None,
        })
        .await;
    assert!(search(&mut agent, text("mango")).await.is_empty());
}

#[tokio::test]
async fn filters_narrow_by_state_owner_label_time_and_author() {
    let server = TestServer::start_unlimited().await;
    let (mut ana, _) = server.visitor().await;
    let first = visitor_writes(&mut ana, "invoice missing").await;
    let (mut ben, _) = server.visitor().await;
    let second = visitor_writes(&mut ben, "hello").await;
    let (mut agent, hello) = server.agent_named("Ana").await;
    let me = common::workflow::me_of(&hello);
    said(&mut agent, second, "Your invoice is attached").await;
    agent
        .send(&ClientFrame::Assign {
            conversation_id: second,
            agent_id: Some(me),
        })
        .await;
    common::workflow::row_where(&mut agent, second, |r| {
        r.assignee.as_ref().is_some_and(|p| p.id == me.0)
    })
    .await;
    agent
        .send(&ClientFrame::SetStatus {
            conversation_id: second,
            status: ConversationStatus::Resolved,
            until: None,
            time_zone: None,
        })
        .await;
    common::workflow::row_where(&mut agent, second, |r| {
        r.status == ConversationStatus::Resolved
    })
    .await;

    let all = search(&mut agent, text("invoice")).await;
    assert_eq!(conversations(&all), [second, first]);
    fn only(f: impl FnOnce(&mut SearchQuery)) -> SearchQuery {
        let mut q = text("invoice");
        f(&mut q);
        q
    }
    let resolved = search(
        &mut agent,
        only(|q| q.status = Some(ConversationStatus::Resolved)),
    )
    .await;
    assert_eq!(conversations(&resolved), [second]);
    let visitors = search(&mut agent, only(|q| q.from = Some(SearchFrom::Visitor))).await;
    assert_eq!(conversations(&visitors), [first]);
    let team = search(&mut agent, only(|q| q.from = Some(SearchFrom::Team))).await;
    assert_eq!(conversations(&team), [second]);
    let unassigned = search(
        &mut agent,
        only(|q| q.assignee = Some(AssigneeFilter::Unassigned)),
    )
    .await;
    assert_eq!(conversations(&unassigned), [first]);
    let mine = search(
        &mut agent,
        only(|q| q.assignee = Some(AssigneeFilter::Agent(me))),
    )
    .await;
    assert_eq!(conversations(&mine), [second]);
    let later = search(
        &mut agent,
        only(|q| q.since = Some(Timestamp(now().0 + 60_000))),
    )
    .await;
    assert!(later.is_empty(), "nothing was written in the future");
    let earlier = search(
        &mut agent,
        only(|q| q.until = Some(Timestamp(now().0 + 60_000))),
    )
    .await;
    assert_eq!(earlier.len(), 2);
    let labelled = search(
        &mut agent,
        only(|q| q.label = Some(minicom::protocol::LabelId(999))),
    )
    .await;
    assert!(labelled.is_empty());
}

#[tokio::test]
async fn best_match_puts_the_closest_message_first() {
    let server = TestServer::start_unlimited().await;
    let (mut ana, _) = server.visitor().await;
    let focused = visitor_writes(&mut ana, "Refund refund: I want my refund").await;
    let (mut ben, _) = server.visitor().await;
    let passing = visitor_writes(
        &mut ben,
        "The parcel came late and the box was wet and torn, the driver was rude, the \
         tracking page never worked, and somewhere in all of that I also wonder about a refund",
    )
    .await;
    let mut agent = server.agent().await;
    let newest = search(&mut agent, text("refund")).await;
    assert_eq!(conversations(&newest), [passing, focused]);
    let mut best = text("refund");
    best.order = SearchOrder::Best;
    assert_eq!(
        conversations(&search(&mut agent, best).await),
        [focused, passing]
    );
}

#[tokio::test]
async fn a_filtered_best_match_reaches_past_the_newest_matches_of_a_word() {
    let server = TestServer::start_unlimited().await;
    let (mut old, _) = server.visitor().await;
    let resolved = visitor_writes(&mut old, "My kumquat jam arrived broken").await;
    let mut agent = server.agent().await;
    agent
        .send(&ClientFrame::SetStatus {
            conversation_id: resolved,
            status: ConversationStatus::Resolved,
            until: None,
            time_zone: None,
        })
        .await;
    row_where(&mut agent, resolved, |r| {
        r.status == ConversationStatus::Resolved
    })
    .await;
    // More newer matches of the word than best match ranks, all open.
    let (mut chatty, _) = server.visitor().await;
    let open = visitor_writes(&mut chatty, "kumquat").await;
    chatty.say_many(open, 2_100, "kumquat").await;
    let mut query = text("kumquat");
    query.order = SearchOrder::Best;
    query.status = Some(ConversationStatus::Resolved);
    assert_eq!(conversations(&search(&mut agent, query).await), [resolved]);
}

#[tokio::test]
async fn a_jump_loads_the_messages_around_the_one_found_and_the_newest() {
    let server = TestServer::start_unlimited().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "message 0").await;
    let mut ids = Vec::new();
    for n in 1..200 {
        ids.push(said(&mut visitor, conversation, &format!("message {n}")).await);
    }
    let mut agent = server.agent().await;
    let target = ids[20]; // "message 21"
    agent
        .send(&ClientFrame::Jump {
            conversation_id: conversation,
            message_id: target,
        })
        .await;
    let row = common::workflow::row_where(&mut agent, conversation, |_| true).await;
    let (messages, gap, around, seq) = agent
        .expect(|f| match f {
            ServerFrame::History {
                messages,
                gap,
                around,
                seq,
                ..
            } => Some((messages, gap, around, seq)),
            _ => None,
        })
        .await;
    assert_eq!(around, Some(target));
    assert_eq!(seq, row.seq);
    assert!(messages.iter().any(|m| m.id == target));
    assert_eq!(
        messages.last().map(|m| m.id),
        ids.last().copied(),
        "the newest too"
    );
    assert!(
        messages.len() < 120,
        "not the whole conversation: {}",
        messages.len()
    );
    let (below, above) = gap.expect("a gap between the two");
    assert!(below > target && above > below);
    assert!(messages.iter().all(|m| m.id <= below || m.id >= above));

    // With exactly 20 + 50 messages after it, the two pages meet: no gap.
    let meeting = ids[ids.len() - 71];
    agent
        .send(&ClientFrame::Jump {
            conversation_id: conversation,
            message_id: meeting,
        })
        .await;
    let (messages, gap) = agent
        .expect(|f| match f {
            ServerFrame::History {
                messages,
                gap,
                around: Some(_),
                ..
            } => Some((messages, gap)),
            _ => None,
        })
        .await;
    assert_eq!(gap, None);
    let at = ids.iter().position(|id| *id == messages[0].id).unwrap();
    assert_eq!(
        messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[at..],
        "every message from the page's first to the newest"
    );

    // A visitor may not jump; nor may anyone into another conversation.
    visitor
        .send(&ClientFrame::Jump {
            conversation_id: conversation,
            message_id: target,
        })
        .await;
    assert_eq!(refusal(&mut visitor).await.0, ErrorCode::AgentsOnly);
    let (mut other, _) = server.visitor().await;
    let elsewhere = visitor_writes(&mut other, "elsewhere").await;
    agent
        .send(&ClientFrame::Jump {
            conversation_id: elsewhere,
            message_id: target,
        })
        .await;
    assert_eq!(refusal(&mut agent).await.0, ErrorCode::Forbidden);
}
