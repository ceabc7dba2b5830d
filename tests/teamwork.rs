//! Team work over real sockets: admins create labels, agents put them on
//! conversations and filter lists by them; a note that mentions a teammate
//! puts the conversation in their Mentions list until they open it; new
//! conversations go round to the teammates online, under a cap.

mod common;

use common::TestServer;
use common::workflow::{
    arrives_before_pong, counts_where, line, me_of, refusal, row_where, visitor_writes,
};
use minicom::protocol::{
    ClientFrame, ConversationSummary, ErrorCode, InboxSort, InboxView, Label, LabelId, ServerFrame,
};

/// The next `labels` frame (an admin changed them).
async fn labels_frame(client: &mut common::Client) -> Vec<Label> {
    client
        .expect(|f| match f {
            ServerFrame::Labels { labels } => Some(labels),
            _ => None,
        })
        .await
}

/// The first page of a list, filtered by `label`.
async fn list(
    client: &mut common::Client,
    view: InboxView,
    label: Option<LabelId>,
) -> Vec<ConversationSummary> {
    client
        .send(&ClientFrame::MoreConversations {
            view,
            sort: InboxSort::Newest,
            after: None,
            label,
        })
        .await;
    client
        .expect(|f| match f {
            ServerFrame::Conversations {
                conversations,
                view: v,
                label: l,
                ..
            } if v == view && l == label => Some(conversations),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn admins_create_labels_and_agents_label_and_filter_conversations() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let billing_chat = visitor_writes(&mut visitor, "I was charged twice").await;
    let (mut other_visitor, _) = server.visitor().await;
    let other_chat = visitor_writes(&mut other_visitor, "Where is my parcel?").await;
    let admin_cookie = server.agent_cookie().await;
    let mut admin = server.connect(&admin_cookie, "agent").await;
    admin.hello().await;
    let (mut ben, _) = server.agent_named("Ben").await;

    // An admin creates a label: every open inbox gets the new list.
    let created = server
        .post_form(
            &admin_cookie,
            "/api/label_create",
            &[("name", " Billing "), ("color", "red")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let labels = labels_frame(&mut ben).await;
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].name, "Billing", "trimmed");
    let billing = labels[0].id;
    // The same name again (in any case), or a colour not offered: refused.
    for (name, color, says) in [
        ("billing", "blue", "already"),
        ("Refunds", "chartreuse", "colour"),
        ("", "red", "1 to 40"),
    ] {
        let refused = server
            .post_form(
                &admin_cookie,
                "/api/label_create",
                &[("name", name), ("color", color)],
            )
            .await;
        assert_ne!(refused.status, 200);
        assert!(refused.body.contains(says), "{}", refused.body);
    }
    // A teammate who is not an admin may not create one.
    let ben_cookie = server
        .sign_in("ben@minicom.test", common::ADMIN_PASSWORD)
        .await
        .cookie("minicom_session")
        .unwrap();
    let refused = server
        .post_form(
            &ben_cookie,
            "/api/label_create",
            &[("name", "Mine"), ("color", "red")],
        )
        .await;
    assert!(refused.body.contains("Only admins"), "{}", refused.body);

    // Ben labels a conversation: a line for the team, the row for everyone.
    ben.open(billing_chat).await;
    ben.send(&ClientFrame::Label {
        conversation_id: billing_chat,
        label_id: billing,
        on: true,
    })
    .await;
    assert_eq!(
        line(&mut ben, billing_chat).await.body,
        "Ben added the label Billing"
    );
    let row = row_where(&mut admin, billing_chat, |r| !r.labels.is_empty()).await;
    assert_eq!(row.labels, vec![billing]);
    // The visitor's copies of the row never say how the team files it.
    let labelled_row = |f: &ServerFrame| matches!(f, ServerFrame::Conversation { conversation } if !conversation.labels.is_empty());
    assert!(!arrives_before_pong(&mut visitor, labelled_row).await);

    // Every list can be filtered by the label.
    let open = list(&mut admin, InboxView::Open, None).await;
    assert_eq!(open.len(), 2);
    let labelled = list(&mut admin, InboxView::Open, Some(billing)).await;
    assert_eq!(
        labelled.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![billing_chat]
    );
    assert!(
        list(&mut admin, InboxView::Resolved, Some(billing))
            .await
            .is_empty()
    );
    assert!(!labelled.iter().any(|r| r.id == other_chat));

    // Labelled twice changes nothing; a label nobody has is refused, and
    // visitors cannot label.
    ben.send(&ClientFrame::Label {
        conversation_id: billing_chat,
        label_id: billing,
        on: true,
    })
    .await;
    let a_line =
        |f: &ServerFrame| matches!(f, ServerFrame::Message { message } if message.internal);
    assert!(
        !arrives_before_pong(&mut ben, a_line).await,
        "no second line"
    );
    ben.send(&ClientFrame::Label {
        conversation_id: billing_chat,
        label_id: LabelId(9_999),
        on: true,
    })
    .await;
    assert_eq!(refusal(&mut ben).await.0, ErrorCode::UnknownLabel);
    visitor
        .send(&ClientFrame::Label {
            conversation_id: billing_chat,
            label_id: billing,
            on: false,
        })
        .await;
    assert_eq!(refusal(&mut visitor).await.0, ErrorCode::AgentsOnly);

    // Taken off: the line says so and the filtered list is empty again.
    ben.send(&ClientFrame::Label {
        conversation_id: billing_chat,
        label_id: billing,
        on: false,
    })
    .await;
    assert_eq!(
        line(&mut ben, billing_chat).await.body,
        "Ben removed the label Billing"
    );
    assert!(
        list(&mut admin, InboxView::Open, Some(billing))
            .await
            .is_empty()
    );

    // Deleting the label: it leaves every inbox's list.
    ben.send(&ClientFrame::Label {
        conversation_id: other_chat,
        label_id: billing,
        on: true,
    })
    .await;
    row_where(&mut admin, other_chat, |r| r.labels == vec![billing]).await;
    let deleted = server
        .post_form(
            &admin_cookie,
            "/api/label_delete",
            &[("id", &billing.0.to_string())],
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(labels_frame(&mut ben).await.is_empty());
    assert!(
        list(&mut admin, InboxView::Open, Some(billing))
            .await
            .is_empty(),
        "nothing carries a deleted label"
    );
}

#[tokio::test]
async fn a_mention_in_a_note_lists_the_conversation_for_that_teammate_until_opened() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "The app crashes on start").await;
    let admin_cookie = server.agent_cookie().await;
    let mut admin = server.connect(&admin_cookie, "agent").await;
    admin.hello().await;
    let (mut ben, hello) = server.agent_named("Ben").await;
    let ben_id = me_of(&hello);
    admin.open(conversation).await;

    // Names that are not Ben's, and addresses, mention nobody.
    admin
        .note(
            conversation,
            "mail ana@ben.io, ben@example.com or @Benjamin",
        )
        .await;
    line(&mut admin, conversation).await;
    let a_mention = |f: &ServerFrame| matches!(f, ServerFrame::Conversation { conversation } if !conversation.mentions.is_empty());
    assert!(!arrives_before_pong(&mut ben, a_mention).await);
    // Ben's name (any case) does, and only him.
    admin
        .note(conversation, "@BEN can you look at the logs?")
        .await;
    let row = row_where(&mut ben, conversation, |r| !r.mentions.is_empty()).await;
    assert_eq!(row.mentions, vec![ben_id]);
    counts_where(&mut ben, |c| c.of(InboxView::Mentions, ben_id) == 1).await;
    let listed = list(&mut ben, InboxView::Mentions, None).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, conversation);
    assert!(list(&mut admin, InboxView::Mentions, None).await.is_empty());

    // The visitor's row never carries it.
    visitor.send(&ClientFrame::Ping).await;
    let seen = visitor
        .expect(|f| match f {
            ServerFrame::Conversation { conversation: row } if !row.mentions.is_empty() => {
                Some(false)
            }
            ServerFrame::Pong => Some(true),
            _ => None,
        })
        .await;
    assert!(seen, "a visitor got a row naming the mentioned teammate");

    // Ben opens the conversation: it leaves his Mentions list.
    ben.open(conversation).await;
    let row = row_where(&mut admin, conversation, |r| r.mentions.is_empty()).await;
    assert!(row.mentions.is_empty());
    counts_where(&mut ben, |c| c.of(InboxView::Mentions, ben_id) == 0).await;
    assert!(list(&mut ben, InboxView::Mentions, None).await.is_empty());

    // A note's mentions follow its text: deleted, it mentions nobody.
    admin.note(conversation, "@Ben one more thing").await;
    let again = line(&mut admin, conversation).await;
    counts_where(&mut ben, |c| c.of(InboxView::Mentions, ben_id) == 1).await;
    admin
        .send(&ClientFrame::Delete {
            message_id: again.id,
        })
        .await;
    counts_where(&mut ben, |c| c.of(InboxView::Mentions, ben_id) == 0).await;
    // Edited to name him, it does.
    admin.note(conversation, "nobody yet").await;
    let plain = line(&mut admin, conversation).await;
    admin
        .send(&ClientFrame::Edit {
            message_id: plain.id,
            body: "@ben now you".into(),
        })
        .await;
    counts_where(&mut ben, |c| c.of(InboxView::Mentions, ben_id) == 1).await;
}

#[tokio::test]
async fn new_conversations_go_in_turn_to_teammates_online_under_the_cap() {
    let server = TestServer::start().await;
    let admin_cookie = server.agent_cookie().await;
    let on = server
        .post_form(
            &admin_cookie,
            "/api/auto_assign_set",
            &[("on", "1"), ("cap", "2")],
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    let mut admin = server.connect(&admin_cookie, "agent").await;
    let admin_id = me_of(&admin.hello().await);
    let (_ben, hello) = server.agent_named("Ben").await;
    let ben_id = me_of(&hello);

    // In turn: the admin first (longest without one), then Ben, and again.
    let (mut owners, mut taken) = (Vec::new(), Vec::new());
    for n in 0..4 {
        let (mut visitor, _) = server.visitor().await;
        let conversation = visitor_writes(&mut visitor, &format!("Question {n}")).await;
        let row = row_where(&mut admin, conversation, |r| r.assignee.is_some()).await;
        owners.push(row.assignee.unwrap().id);
        taken.push(conversation);
        let history = admin.open(conversation).await;
        assert!(
            history
                .iter()
                .any(|m| m.internal && m.body.ends_with("automatically")),
            "the thread says how it was assigned: {history:?}"
        );
    }
    assert_eq!(owners, vec![admin_id.0, ben_id.0, admin_id.0, ben_id.0]);

    // Both own two, the cap: the next stays unassigned. (Its second message
    // is finished after the first, automatic assignment included.)
    let (mut visitor, _) = server.visitor().await;
    let third = visitor_writes(&mut visitor, "Anyone?").await;
    visitor_writes(&mut visitor, "Hello?").await;
    let row = row_where(&mut admin, third, |r| r.last_message_preview == "Hello?").await;
    assert!(row.assignee.is_none(), "over the cap: {row:?}");

    // Switched off: nothing is assigned, though the admin has room again.
    let off = server
        .post_form(&admin_cookie, "/api/auto_assign_set", &[("cap", "1")])
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    admin
        .send(&ClientFrame::SetStatus {
            conversation_id: taken[0],
            status: minicom::protocol::ConversationStatus::Resolved,
            until: None,
            time_zone: None,
        })
        .await;
    line(&mut admin, taken[0]).await;
    let (mut late, _) = server.visitor().await;
    let fourth = visitor_writes(&mut late, "Late question").await;
    visitor_writes(&mut late, "Still there?").await;
    let row = row_where(&mut admin, fourth, |r| {
        r.last_message_preview == "Still there?"
    })
    .await;
    assert!(row.assignee.is_none(), "switched off: {row:?}");
}

#[tokio::test]
async fn agents_keep_their_own_saved_replies_beside_the_teams() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    let saved = server
        .post_form(
            &admin,
            "/api/saved_reply_save",
            &[("shortcut", "refund"), ("body", "The team's refund text")],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    server.agent_named("Ben").await;
    let ben = server
        .sign_in("ben@minicom.test", common::ADMIN_PASSWORD)
        .await
        .cookie("minicom_session")
        .unwrap();
    for (shortcut, body) in [
        ("refund", "Ben's own refund text"),
        ("hello", "Hi, Ben here"),
    ] {
        let saved = server
            .post_form(
                &ben,
                "/api/own_reply_save",
                &[("shortcut", shortcut), ("body", body)],
            )
            .await;
        assert_eq!(saved.status, 200, "{}", saved.body);
    }
    let replies = |cookie: String| {
        let server = &server;
        async move {
            let listed = server.post_form(&cookie, "/api/saved_replies", &[]).await;
            assert_eq!(listed.status, 200, "{}", listed.body);
            let mut replies: Vec<minicom::replies::SavedReply> =
                serde_json::from_str(&listed.body).unwrap();
            replies.sort_by(|a, b| a.shortcut.cmp(&b.shortcut));
            replies
        }
    };
    // Ben gets his own /refund instead of the team's; the admin never sees
    // Ben's.
    let his = replies(ben.clone()).await;
    let shown: Vec<_> = his
        .iter()
        .map(|r| (r.shortcut.as_str(), r.body.as_str(), r.mine))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("hello", "Hi, Ben here", true),
            ("refund", "Ben's own refund text", true)
        ]
    );
    let theirs = replies(admin.clone()).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].body, "The team's refund text");
    assert!(!theirs[0].mine);

    // Ben cannot delete the team's reply through his own; his own goes.
    let team_id = theirs[0].id.to_string();
    let refused = server
        .post_form(&ben, "/api/own_reply_delete", &[("id", &team_id)])
        .await;
    assert!(refused.body.contains("already deleted"), "{}", refused.body);
    assert_eq!(replies(admin.clone()).await.len(), 1, "the team's is kept");
    let own_refund = his[1].id.to_string();
    let deleted = server
        .post_form(&ben, "/api/own_reply_delete", &[("id", &own_refund)])
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let his = replies(ben.clone()).await;
    assert_eq!(his[1].body, "The team's refund text", "the team's again");
    // Visitors have none.
    let visitor = server.visitor_cookie().await;
    let refused = server
        .post_form(
            &visitor,
            "/api/own_reply_save",
            &[("shortcut", "x"), ("body", "y")],
        )
        .await;
    assert_ne!(refused.status, 200);
}
