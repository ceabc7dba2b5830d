//! Transcripts over real HTTP: what the team gets and what the visitor gets
//! (never a note), in the reader's time zone, who may download which, and a
//! long conversation streamed rather than built whole.

mod common;

use common::workflow::visitor_writes;
use common::{HttpResponse, TestServer};
use minicom::protocol::{ClientFrame, ClientId, Message, SenderKind, ServerFrame};

async fn get(server: &TestServer, path: &str, cookie: &str) -> HttpResponse {
    server.http("GET", path, &[("Cookie", cookie)], "").await
}

#[tokio::test]
async fn the_team_gets_everything_the_visitor_gets_what_they_saw() {
    let server = TestServer::start_unlimited().await;
    let (mut visitor, visitor_cookie) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "Hello\nmy parcel is late").await;
    let mut agent = server.agent().await;
    for (body, note) in [
        ("Sorry! It ships today.", false),
        ("VIP: refund quietly", true),
    ] {
        agent
            .send(&ClientFrame::Send {
                conversation_id: Some(conversation),
                client_id: ClientId::new(),
                body: body.into(),
                new_conversation: false,
                note,
                attachments: Vec::new(),
            })
            .await;
        agent
            .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
    }
    let first: Message = visitor.open(conversation).await.remove(0);
    let agent_cookie = server.agent_cookie().await;

    // The team's text: every message and note, times in the asked zone.
    let path = format!("/inbox/transcript/{conversation}?format=txt&tz=Asia/Kolkata");
    let team = get(&server, &path, &agent_cookie).await;
    assert_eq!(team.status, 200);
    assert_eq!(
        team.header("content-disposition"),
        Some(format!("attachment; filename=\"minicom-conversation-{conversation}.txt\"").as_str())
    );
    assert!(
        team.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = team.text();
    let at = jiff::Timestamp::from_millisecond(first.created_at.0)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Kolkata").unwrap())
        .strftime("%Y-%m-%d %H:%M")
        .to_string();
    assert!(
        text.contains(&format!("[{at}] Visitor #")),
        "the visitor's line in Kolkata time ({at}): {text}"
    );
    assert!(text.contains(": Hello\n    my parcel is late\n"), "{text}");
    assert!(text.contains("Admin: Sorry! It ships today."), "{text}");
    assert!(text.contains("Admin (note): VIP: refund quietly"), "{text}");
    assert!(text.contains("Times: Asia/Kolkata"));

    // The visitor's: the same conversation without the note.
    let path = format!("/messenger/transcript/{conversation}?format=txt");
    let theirs = get(&server, &path, &visitor_cookie).await.text();
    assert!(theirs.contains("Sorry! It ships today."), "{theirs}");
    assert!(
        !theirs.contains("VIP"),
        "a note reached the visitor: {theirs}"
    );
    assert!(theirs.contains("Times: UTC"));

    // JSON: every field, for tools; the visitor's has nothing internal.
    let path = format!("/messenger/transcript/{conversation}?format=json");
    let json: serde_json::Value =
        serde_json::from_str(&get(&server, &path, &visitor_cookie).await.text()).unwrap();
    let messages: Vec<Message> = serde_json::from_value(json["messages"].clone()).unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| !m.internal));
    assert_eq!(json["conversation"]["id"], conversation.0);
    let path = format!("/inbox/transcript/{conversation}?format=json");
    let json: serde_json::Value =
        serde_json::from_str(&get(&server, &path, &agent_cookie).await.text()).unwrap();
    let messages: Vec<Message> = serde_json::from_value(json["messages"].clone()).unwrap();
    let written: Vec<&Message> = messages
        .iter()
        .filter(|m| m.sender != SenderKind::System)
        .collect();
    assert_eq!(written.len(), 3, "{messages:?}");
    assert!(written[2].internal && written[2].body == "VIP: refund quietly");

    // Nobody else's: another visitor, no session, a made-up zone.
    let (_, stranger) = server.visitor().await;
    let path = format!("/messenger/transcript/{conversation}?format=txt");
    assert_eq!(get(&server, &path, &stranger).await.status, 404);
    assert_eq!(get(&server, &path, "").await.status, 404);
    let path = format!("/inbox/transcript/{conversation}");
    assert_eq!(get(&server, &path, &visitor_cookie).await.status, 401);
    let path = format!("/inbox/transcript/{conversation}?tz=Mars/Olympus");
    let refused = get(&server, &path, &agent_cookie).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("Unknown time zone"));
    assert_eq!(
        get(&server, "/inbox/transcript/999999", &agent_cookie)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_ten_thousand_message_transcript_is_streamed_whole() {
    let server = TestServer::start_unlimited().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "Line 0").await;
    visitor.say_many(conversation, 9_999, "Line").await;
    let agent_cookie = server.agent_cookie().await;
    let path = format!("/inbox/transcript/{conversation}?format=json");
    let response = get(&server, &path, &agent_cookie).await;
    assert_eq!(response.status, 200);
    // Sent as it is read, not as one body of known length.
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.header("content-length"), None);
    let json: serde_json::Value = serde_json::from_str(&response.text()).unwrap();
    let messages: Vec<Message> = serde_json::from_value(json["messages"].clone()).unwrap();
    assert_eq!(messages.len(), 10_000);
    assert!(messages.windows(2).all(|w| w[0].id < w[1].id), "in order");
    assert_eq!(messages[9_999].body, "Line 9999");
    let text = get(
        &server,
        &format!("/inbox/transcript/{conversation}"),
        &agent_cookie,
    )
    .await
    .text();
    assert_eq!(
        text.lines().filter(|l| l.contains("] Visitor #")).count(),
        10_000
    );
}
