//! Blocking abusive visitors over real HTTP and sockets: the visitor's open
//! socket closes saying only that they can no longer send, they cannot
//! come back (nor send files), the team keeps what they wrote, an address
//! block catches a fresh browser from the same address, and lifting a
//! block lets them in again.

mod common;

use common::{Client, Closed, TestServer};
use minicom::protocol::close::{BLOCKED, BLOCKED_REASON};
use minicom::protocol::{Block, ConversationId, ServerFrame};

/// Blocks the visitor of `conversation` as the teammate with `cookie`;
/// `address` is "" or how long to block their address too.
async fn block(
    server: &TestServer,
    cookie: &str,
    conversation: ConversationId,
    reason: &str,
    address: &str,
) -> common::HttpResponse {
    server
        .post_form(
            cookie,
            "/api/block_visitor",
            &[
                ("conversation", &conversation.0.to_string()),
                ("reason", reason),
                ("address", address),
            ],
        )
        .await
}

async fn blocks(server: &TestServer, cookie: &str) -> Vec<Block> {
    let response = server.post_form(cookie, "/api/blocks", &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    serde_json::from_str(&response.text()).expect("blocks")
}

/// The socket closes with the blocked code and nothing but the sentence
/// every blocked visitor reads.
async fn closed_as_blocked(client: &mut Client) {
    match client.closed().await {
        Closed::Code(code, reason) => {
            assert_eq!(u16::from(code), BLOCKED, "{reason}");
            assert_eq!(reason, BLOCKED_REASON);
        }
        Closed::Dropped => panic!("closed without saying the visitor is blocked"),
    }
}

/// A visitor who has written once, with their cookie and conversation.
async fn visitor_who_wrote(server: &TestServer, body: &str) -> (Client, String, ConversationId) {
    let (mut visitor, cookie) = server.visitor().await;
    let conversation = visitor.first_message(body).await;
    (visitor, cookie, conversation)
}

#[tokio::test]
async fn a_blocked_visitor_is_cut_off_cannot_come_back_and_the_team_keeps_what_they_wrote() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    let (mut visitor, cookie, conversation) =
        visitor_who_wrote(&server, "you are all idiots").await;
    // A second tab of the same visitor, and someone else chatting meanwhile.
    let mut second_tab = server.connect(&cookie, "visitor").await;
    second_tab.hello().await;
    let (mut bystander, _, _) = visitor_who_wrote(&server, "hello, a question").await;

    // A reason is required.
    let refused = block(&server, &admin, conversation, "   ", "").await;
    assert_eq!(refused.status, 500, "{}", refused.text());
    assert!(refused.text().contains("Say why"), "{}", refused.text());
    assert!(
        server
            .contact_panel(&admin, conversation)
            .await
            .blocked
            .is_none()
    );

    let blocked = block(&server, &admin, conversation, "Insults the team", "").await;
    assert_eq!(blocked.status, 200, "{}", blocked.text());
    closed_as_blocked(&mut visitor).await;
    closed_as_blocked(&mut second_tab).await;

    // Coming back: the socket is refused the same way, and so is a file.
    let mut again = server.connect(&cookie, "visitor").await;
    closed_as_blocked(&mut again).await;
    let file = server
        .upload(&cookie, Some(conversation), "note.txt", b"more insults")
        .await;
    assert_eq!(file.status, 403, "{}", String::from_utf8_lossy(&file.body));
    assert!(String::from_utf8_lossy(&file.body).contains(BLOCKED_REASON));

    // The bystander from the same address was not blocked: they still chat.
    bystander.round_trip().await;
    bystander.say(None, "still here").await;
    bystander
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;

    // The team sees the block beside the thread, and what was written.
    let about = server.contact_panel(&admin, conversation).await;
    let note = about.blocked.expect("the panel shows the block");
    assert_eq!(note.reason, "Insults the team");
    assert_eq!(note.by.as_deref(), Some("Admin"));
    assert!(note.address_until.is_none());
    let mut agent = server.agent().await;
    let history = agent.open(conversation).await;
    assert!(history.iter().any(|m| m.body == "you are all idiots"));

    // An admin lifts it: the visitor writes again.
    let listed = blocks(&server, &admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].note.reason, "Insults the team");
    let lifted = server
        .post_form(
            &admin,
            "/api/block_lift",
            &[("id", &listed[0].id.to_string())],
        )
        .await;
    assert_eq!(lifted.status, 200, "{}", lifted.text());
    let mut back = server.connect(&cookie, "visitor").await;
    back.hello().await;
    back.say(Some(conversation), "sorry").await;
    back.expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    assert!(blocks(&server, &admin).await.is_empty());
}

#[tokio::test]
async fn an_address_block_shuts_out_a_fresh_browser_from_that_address_and_only_admins_lift_it() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    let (_agent, _) = server.agent_named("Bo").await;
    let bo = server
        .sign_in("bo@minicom.test", common::ADMIN_PASSWORD)
        .await
        .cookie("minicom_session")
        .expect("Bo's session");
    let (mut visitor, _, conversation) = visitor_who_wrote(&server, "spam spam").await;
    let (mut neighbour, _, _) = visitor_who_wrote(&server, "an honest question").await;
    assert!(server.contact_panel(&bo, conversation).await.address_known);

    // Any teammate may block; this one blocks the address for a day.
    let blocked = block(&server, &bo, conversation, "Spam", "day").await;
    assert_eq!(blocked.status, 200, "{}", blocked.text());
    closed_as_blocked(&mut visitor).await;
    // Every test client comes from 127.0.0.1: the neighbour shares it.
    closed_as_blocked(&mut neighbour).await;
    let (fresh_cookie, mut fresh) = {
        let cookie = server.visitor_cookie().await;
        let client = server.connect(&cookie, "visitor").await;
        (cookie, client)
    };
    closed_as_blocked(&mut fresh).await;
    // The team is not a visitor: its sockets stay.
    let mut agent = server.agent().await;
    agent.round_trip().await;

    let note = server
        .contact_panel(&admin, conversation)
        .await
        .blocked
        .expect("blocked");
    assert!(note.address_until.is_some(), "the address part is shown");
    let listed = blocks(&server, &admin).await;
    assert_eq!(listed[0].address.as_deref(), Some("127.0.0.1"));
    assert_eq!(listed[0].note.by.as_deref(), Some("Bo"));

    // Only admins see and lift blocks.
    let id = listed[0].id.to_string();
    let not_admin = server
        .post_form(&bo, "/api/block_lift", &[("id", &id)])
        .await;
    assert_ne!(not_admin.status, 200);
    assert!(
        not_admin.text().contains("Only admins"),
        "{}",
        not_admin.text()
    );
    let lifted = server
        .post_form(&admin, "/api/block_lift", &[("id", &id)])
        .await;
    assert_eq!(lifted.status, 200, "{}", lifted.text());
    let again = server
        .post_form(&admin, "/api/block_lift", &[("id", &id)])
        .await;
    assert!(again.text().contains("lifted already"), "{}", again.text());
    let mut fresh = server.connect(&fresh_cookie, "visitor").await;
    fresh.hello().await;
}
