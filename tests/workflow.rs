//! The team's workflow over real sockets: resolving, snoozing, reopening,
//! assigning, private notes, the inbox's lists and their counts, and a
//! visitor starting a new conversation.

mod common;

use common::workflow::{counts_where, line, me_of, refusal, row_where, visitor_writes};
use common::{Client, TestServer};
use minicom::protocol::{
    AgentId, ClientFrame, ClientId, ConversationId, ConversationStatus, ErrorCode, InboxSort,
    InboxView, ServerFrame, Timestamp,
};
use minicom::server::store::now;

/// Everything that reaches `client` until a ping's answer, as sent.
async fn wire_until_pong(client: &mut Client) -> Vec<String> {
    client.send(&ClientFrame::Ping).await;
    let mut seen = Vec::new();
    loop {
        let text = client.expect_text(|_| true).await;
        if text.contains(r#""type":"pong""#) {
            return seen;
        }
        seen.push(text);
    }
}

fn set_status(conversation: ConversationId, status: ConversationStatus) -> ClientFrame {
    ClientFrame::SetStatus {
        conversation_id: conversation,
        status,
        until: None,
        time_zone: None,
    }
}

#[tokio::test]
async fn resolving_and_reopening_leave_lines_only_the_team_sees() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "My order never came").await;
    let mut agent = server.agent().await;
    agent.open(conversation).await;

    agent
        .send(&set_status(conversation, ConversationStatus::Resolved))
        .await;
    let resolved = line(&mut agent, conversation).await;
    assert_eq!(resolved.body, "Admin resolved this");
    row_where(&mut agent, conversation, |r| {
        r.status == ConversationStatus::Resolved
    })
    .await;
    counts_where(&mut agent, |c| c.resolved == 1 && c.open == 0).await;

    // The visitor sees the state, never the line.
    row_where(&mut visitor, conversation, |r| {
        r.status == ConversationStatus::Resolved
    })
    .await;
    for text in wire_until_pong(&mut visitor).await {
        assert!(!text.contains("resolved this"), "leaked: {text}");
    }

    // Writing again reopens it.
    visitor.say(Some(conversation), "Still waiting!").await;
    let reopened = line(&mut agent, conversation).await;
    assert_eq!(reopened.body, "Reopened by the visitor's reply");
    let row = row_where(&mut agent, conversation, |r| {
        r.status == ConversationStatus::Open
    })
    .await;
    assert!(row.waiting_since.is_some(), "the visitor waits again");

    // A client that resumes gets the lines; a visitor's resume does not.
    let team = agent.resume(conversation, 0).await;
    assert!(team.iter().any(|m| m.id == resolved.id));
    assert!(team.iter().any(|m| m.id == reopened.id));
    let theirs = visitor.resume(conversation, 0).await;
    assert!(theirs.iter().all(|m| !m.internal), "{theirs:?}");
    assert_eq!(theirs.len(), 2);
    let history = visitor.open(conversation).await;
    assert!(history.iter().all(|m| !m.internal));

    // Visitors may not resolve.
    visitor
        .send(&set_status(conversation, ConversationStatus::Resolved))
        .await;
    assert_eq!(refusal(&mut visitor).await.0, ErrorCode::AgentsOnly);
}

#[tokio::test]
async fn a_snooze_wakes_by_itself_and_when_the_visitor_writes() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "Call me back tomorrow").await;
    let mut agent = server.agent().await;
    agent.open(conversation).await;

    // In the past, or without a time: refused.
    agent
        .send(&ClientFrame::SetStatus {
            conversation_id: conversation,
            status: ConversationStatus::Snoozed,
            until: Some(Timestamp(now().0 - 1_000)),
            time_zone: None,
        })
        .await;
    assert_eq!(refusal(&mut agent).await.0, ErrorCode::InvalidSnooze);

    // A short snooze: the clock wakes it (the test waits for that event).
    let until = Timestamp(now().0 + 400);
    agent
        .send(&ClientFrame::SetStatus {
            conversation_id: conversation,
            status: ConversationStatus::Snoozed,
            until: Some(until),
            time_zone: Some("Europe/Oslo".into()),
        })
        .await;
    let snoozed = line(&mut agent, conversation).await;
    assert!(
        snoozed.body.starts_with("Snoozed until ") && snoozed.body.ends_with(" by Admin"),
        "{}",
        snoozed.body
    );
    let row = row_where(&mut agent, conversation, |r| {
        r.status == ConversationStatus::Snoozed
    })
    .await;
    assert_eq!(row.snoozed_until, Some(until));
    let woke = line(&mut agent, conversation).await;
    assert_eq!(woke.body, "Snooze ended");
    let row = row_where(&mut agent, conversation, |r| {
        r.status == ConversationStatus::Open
    })
    .await;
    assert_eq!(row.snoozed_until, None);

    // A long snooze: the visitor's reply wakes it.
    agent
        .send(&ClientFrame::SetStatus {
            conversation_id: conversation,
            status: ConversationStatus::Snoozed,
            until: Some(Timestamp(now().0 + 3_600_000)),
            time_zone: None,
        })
        .await;
    row_where(&mut agent, conversation, |r| {
        r.status == ConversationStatus::Snoozed
    })
    .await;
    // Without naming the conversation, too: a snoozed one is still theirs.
    let again = visitor_writes(&mut visitor, "Actually, one more thing").await;
    assert_eq!(again, conversation);
    let woke = line(&mut agent, conversation).await;
    assert_eq!(woke.body, "Woke up: the visitor replied");
    row_where(&mut agent, conversation, |r| {
        r.status == ConversationStatus::Open
    })
    .await;
}

#[tokio::test]
async fn a_snooze_that_ran_out_while_the_server_was_down_wakes_at_start() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "hello").await;
    let url = server.database_url.clone();
    let (dir, _) = server.stop_keeping_data().await;
    // Snoozed until a moment ago, as if the server had been down since.
    let store = minicom::server::store::Store::open(&url).await.unwrap();
    store
        .set_status(
            conversation,
            ConversationStatus::Snoozed,
            Some(Timestamp(now().0 - 60_000)),
            Some(AgentId(1)),
            "Snoozed until a minute ago by Admin",
        )
        .await
        .unwrap()
        .expect("snoozed");
    store.close().await;

    let server = TestServer::start_on(dir, url, |_| {}).await;
    let mut agent = server.agent().await;
    // Watching first, then reading: the wake-up is in the page or comes live.
    let history = agent.open(conversation).await;
    if history.last().map(|m| m.body.as_str()) != Some("Snooze ended") {
        assert_eq!(line(&mut agent, conversation).await.body, "Snooze ended");
    }
    agent
        .send(&ClientFrame::MoreConversations {
            view: InboxView::Snoozed,
            sort: InboxSort::Newest,
            after: None,
            label: None,
        })
        .await;
    let snoozed = agent
        .expect(|f| match f {
            ServerFrame::Conversations { conversations, .. } => Some(conversations),
            _ => None,
        })
        .await;
    assert!(snoozed.is_empty(), "woken at start: {snoozed:?}");
}

#[tokio::test]
async fn replies_assign_and_teammates_hand_over() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "Who can help?").await;
    let cookie = server.agent_cookie().await;
    let mut admin = server.connect(&cookie, "agent").await;
    let admin_id = me_of(&admin.hello().await);
    let (mut ben, hello) = server.agent_named("Ben").await;
    let ben_id = me_of(&hello);
    let ServerFrame::Hello { team, counts, .. } = hello else {
        unreachable!()
    };
    assert_eq!(team.len(), 2, "the team to assign to: {team:?}");
    assert_eq!(counts.unwrap().unassigned, 1);
    admin.open(conversation).await;

    // The first reply to a conversation nobody owns makes it the replier's.
    admin.say(Some(conversation), "I can!").await;
    let taken = line(&mut admin, conversation).await;
    assert_eq!(taken.body, "Assigned to Admin by their reply");
    let row = row_where(&mut ben, conversation, |r| r.assignee.is_some()).await;
    assert_eq!(row.assignee.unwrap().id, admin_id.0);
    counts_where(&mut ben, |c| {
        c.unassigned == 0 && c.of(InboxView::Mine, admin_id) == 1
    })
    .await;

    // Handing it to Ben: his Mine counts it, the line says who did it.
    admin
        .send(&ClientFrame::Assign {
            conversation_id: conversation,
            agent_id: Some(ben_id),
        })
        .await;
    assert_eq!(
        line(&mut admin, conversation).await.body,
        "Admin assigned this to Ben"
    );
    counts_where(&mut ben, |c| c.of(InboxView::Mine, ben_id) == 1).await;
    ben.send(&ClientFrame::MoreConversations {
        view: InboxView::Mine,
        sort: InboxSort::Newest,
        after: None,
        label: None,
    })
    .await;
    let mine = ben
        .expect(|f| match f {
            ServerFrame::Conversations {
                conversations,
                view: InboxView::Mine,
                ..
            } => Some(conversations),
            _ => None,
        })
        .await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, conversation);

    // Nobody by that id; visitors may not assign; unassigning works.
    admin
        .send(&ClientFrame::Assign {
            conversation_id: conversation,
            agent_id: Some(AgentId(9_999)),
        })
        .await;
    assert_eq!(refusal(&mut admin).await.0, ErrorCode::UnknownAgent);
    visitor
        .send(&ClientFrame::Assign {
            conversation_id: conversation,
            agent_id: None,
        })
        .await;
    assert_eq!(refusal(&mut visitor).await.0, ErrorCode::AgentsOnly);
    ben.open(conversation).await;
    ben.send(&ClientFrame::Assign {
        conversation_id: conversation,
        agent_id: None,
    })
    .await;
    assert_eq!(
        line(&mut ben, conversation).await.body,
        "Ben unassigned this"
    );
    let row = row_where(&mut admin, conversation, |r| r.assignee.is_none()).await;
    assert_eq!(row.status, ConversationStatus::Open);
}

#[tokio::test]
async fn a_note_never_reaches_the_visitor() {
    const SECRET: &str = "refund them quietly, VIP";
    let server = TestServer::start().await;
    let (mut visitor, cookie) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "Where is my refund?").await;
    let mut agent = server.agent().await;
    agent.open(conversation).await;

    let client_id = ClientId::new();
    agent
        .send(&ClientFrame::Send {
            conversation_id: Some(conversation),
            client_id,
            body: SECRET.into(),
            new_conversation: false,
            note: true,
            attachments: Vec::new(),
        })
        .await;
    let note = agent
        .expect(|f| match f {
            ServerFrame::Ack {
                client_id: id,
                message,
            } if id == client_id => Some(message),
            _ => None,
        })
        .await;
    assert!(note.internal);
    // The hub has delivered the note to everyone it goes to once this
    // socket has it: the visitor's queue is settled.
    agent.expect_message(note.id).await;
    // A note assigns nobody (only a reply does).
    let team_history = agent.open(conversation).await;
    assert!(
        team_history
            .iter()
            .all(|m| !m.body.starts_with("Assigned to"))
    );

    // Live, in the history, in a resume, in the row and its unread count.
    for text in wire_until_pong(&mut visitor).await {
        assert!(!text.contains(SECRET), "leaked live: {text}");
    }
    assert!(
        visitor
            .open(conversation)
            .await
            .iter()
            .all(|m| m.id != note.id)
    );
    assert!(
        visitor
            .resume(conversation, 0)
            .await
            .iter()
            .all(|m| m.id != note.id)
    );
    let mut again = server.connect(&cookie, "visitor").await;
    let ServerFrame::Hello { conversations, .. } = again.hello().await else {
        unreachable!()
    };
    assert_eq!(conversations[0].unread, 0, "a note is nothing to read");
    assert!(!conversations[0].last_message_preview.contains(SECRET));

    // Nor can a visitor touch it by guessing its id, or write one.
    visitor
        .send(&ClientFrame::React {
            message_id: note.id,
            emoji: "👍".into(),
        })
        .await;
    assert_eq!(refusal(&mut visitor).await.0, ErrorCode::Forbidden);
    visitor
        .send(&ClientFrame::Send {
            conversation_id: Some(conversation),
            client_id: ClientId::new(),
            body: "let me in".into(),
            new_conversation: false,
            note: true,
            attachments: Vec::new(),
        })
        .await;
    assert_eq!(refusal(&mut visitor).await.0, ErrorCode::AgentsOnly);

    // The team's other sockets do see it, as a note.
    let mut teammate = server.agent().await;
    let history = teammate.open(conversation).await;
    assert!(history.iter().any(|m| m.id == note.id && m.internal));
}

#[tokio::test]
async fn the_lists_page_by_view_and_order_with_counts() {
    let server = TestServer::start().await;
    let mut conversations = Vec::new();
    for body in ["first", "second", "third"] {
        let (mut visitor, _) = server.visitor().await;
        conversations.push(visitor_writes(&mut visitor, body).await);
    }
    let mut agent = server.agent().await;
    let (oldest, middle, newest) = (conversations[0], conversations[1], conversations[2]);
    agent
        .send(&set_status(middle, ConversationStatus::Resolved))
        .await;
    row_where(&mut agent, middle, |r| {
        r.status == ConversationStatus::Resolved
    })
    .await;
    agent
        .send(&ClientFrame::Assign {
            conversation_id: newest,
            agent_id: Some(AgentId(1)),
        })
        .await;
    row_where(&mut agent, newest, |r| r.assignee.is_some()).await;

    let mut page = async |view: InboxView, sort: InboxSort| {
        agent
            .send(&ClientFrame::MoreConversations {
                view,
                sort,
                after: None,
                label: None,
            })
            .await;
        agent
            .expect(|f| match f {
                ServerFrame::Conversations {
                    conversations,
                    view: v,
                    sort: s,
                    ..
                } if v == view && s == sort => {
                    Some(conversations.iter().map(|c| c.id).collect::<Vec<_>>())
                }
                _ => None,
            })
            .await
    };
    assert_eq!(
        page(InboxView::Open, InboxSort::Newest).await,
        [newest, oldest]
    );
    assert_eq!(
        page(InboxView::Open, InboxSort::Waiting).await,
        [oldest, newest]
    );
    assert_eq!(page(InboxView::Mine, InboxSort::Newest).await, [newest]);
    assert_eq!(
        page(InboxView::Unassigned, InboxSort::Newest).await,
        [oldest]
    );
    assert_eq!(page(InboxView::Resolved, InboxSort::Newest).await, [middle]);
    assert!(page(InboxView::Snoozed, InboxSort::Newest).await.is_empty());

    // Once counted and published, a new socket's greeting carries them.
    counts_where(&mut agent, |c| c.resolved == 1 && c.unassigned == 1).await;
    let cookie = server.agent_cookie().await;
    let mut another = server.connect(&cookie, "agent").await;
    let ServerFrame::Hello { counts, .. } = another.hello().await else {
        unreachable!()
    };
    let counts = counts.expect("an agent's hello counts the lists");
    assert_eq!(
        (
            counts.open,
            counts.unassigned,
            counts.snoozed,
            counts.resolved
        ),
        (2, 1, 0, 1)
    );
    assert_eq!(counts.of(InboxView::Mine, AgentId(1)), 1);
}

#[tokio::test]
async fn a_visitor_starts_new_conversations_within_the_hourly_limit() {
    let server = TestServer::start_configured(|config| {
        config.limits.conversations_per_visitor_hour = 2;
    })
    .await;
    let (mut visitor, _) = server.visitor().await;
    let first = visitor_writes(&mut visitor, "one").await;
    let send_new = |body: &str| ClientFrame::Send {
        conversation_id: None,
        client_id: ClientId::new(),
        body: body.into(),
        new_conversation: true,
        note: false,
        attachments: Vec::new(),
    };
    let frame = send_new("two");
    visitor.send(&frame).await;
    let second = visitor
        .expect(|f| match f {
            ServerFrame::Ack { message, .. } => Some(message.conversation_id),
            _ => None,
        })
        .await;
    assert_ne!(first, second, "a new conversation");
    let frame = send_new("three");
    let ClientFrame::Send { client_id, .. } = frame else {
        unreachable!()
    };
    visitor.send(&frame).await;
    assert_eq!(
        refusal(&mut visitor).await,
        (ErrorCode::TooManyConversations, Some(client_id))
    );
    // Writing in one they have still works.
    visitor.say(Some(first), "still here").await;
    visitor
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
}

#[tokio::test]
async fn admins_keep_saved_replies_and_the_team_reads_them() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    let saved = server
        .post_form(
            &admin,
            "/api/saved_reply_save",
            &[
                ("shortcut", "/Refund"),
                ("body", "Hi {{visitor.first_name}}, done."),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let bad = server
        .post_form(
            &admin,
            "/api/saved_reply_save",
            &[("shortcut", "two words"), ("body", "x")],
        )
        .await;
    assert_ne!(bad.status, 200);
    assert!(bad.body.contains("A shortcut is one word"), "{}", bad.body);

    // A teammate who is not an admin reads them, and may not change them.
    let (_, _) = server.agent_named("Ben").await;
    let ben = server
        .sign_in("ben@minicom.test", common::ADMIN_PASSWORD)
        .await
        .cookie("minicom_session")
        .unwrap();
    let listed = server.post_form(&ben, "/api/saved_replies", &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let replies: Vec<minicom::replies::SavedReply> = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0].shortcut, "refund",
        "kept in lower case, without the /"
    );
    let refused = server
        .post_form(
            &ben,
            "/api/saved_reply_save",
            &[("shortcut", "mine"), ("body", "hello")],
        )
        .await;
    assert_ne!(refused.status, 200);
    assert!(refused.body.contains("Only admins"), "{}", refused.body);
    // Visitors get nothing.
    let visitor = server.visitor_cookie().await;
    let nothing = server.post_form(&visitor, "/api/saved_replies", &[]).await;
    assert_ne!(nothing.status, 200);
}

#[tokio::test]
async fn with_assignment_by_reply_switched_off_a_reply_assigns_nobody() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    let off = server
        .post_form(&admin, "/api/assign_on_reply_set", &[("on", "false")])
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "anyone?").await;
    let mut agent = server.connect(&admin, "agent").await;
    agent.hello().await;
    agent.open(conversation).await;
    let id = agent.say(Some(conversation), "Here!").await;
    agent
        .expect(|f| match f {
            ServerFrame::Ack { client_id, .. } if client_id == id => Some(()),
            _ => None,
        })
        .await;
    let history = agent.open(conversation).await;
    assert!(history.iter().all(|m| !m.internal), "{history:?}");
    let mut another = server.connect(&admin, "agent").await;
    let ServerFrame::Hello { conversations, .. } = another.hello().await else {
        unreachable!()
    };
    assert!(conversations[0].assignee.is_none(), "{conversations:?}");
}

#[tokio::test]
async fn a_visitor_rates_a_resolved_conversation_and_the_team_sees_it() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "Thanks for the help").await;
    let rate = |score: u8, comment: Option<&str>| ClientFrame::Rate {
        conversation_id: conversation,
        score,
        comment: comment.map(str::to_owned),
    };
    // Not resolved yet: nothing to rate.
    visitor.send(&rate(4, None)).await;
    assert_eq!(refusal(&mut visitor).await.0, ErrorCode::InvalidRating);

    let mut agent = server.agent().await;
    agent.open(conversation).await;
    agent
        .send(&set_status(conversation, ConversationStatus::Resolved))
        .await;
    row_where(&mut visitor, conversation, |r| {
        r.status == ConversationStatus::Resolved
    })
    .await;
    line(&mut agent, conversation).await;

    for bad in [
        rate(0, None),
        rate(6, None),
        rate(3, Some(&"x".repeat(1_001))),
    ] {
        visitor.send(&bad).await;
        assert_eq!(refusal(&mut visitor).await.0, ErrorCode::InvalidRating);
    }
    visitor.send(&rate(4, Some("  Quick and kind "))).await;
    assert_eq!(
        line(&mut agent, conversation).await.body,
        "The visitor rated this Good: “Quick and kind”"
    );
    let row = row_where(&mut agent, conversation, |r| r.rating.is_some()).await;
    assert_eq!(row.rating, Some(4));
    for text in wire_until_pong(&mut visitor).await {
        assert!(
            !text.contains("rated this"),
            "the line is the team's: {text}"
        );
    }
    // Agents do not rate.
    agent.send(&rate(5, None)).await;
    assert_eq!(refusal(&mut agent).await.0, ErrorCode::Forbidden);
}
