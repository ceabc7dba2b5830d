//! Every bad input gets a clear `error` frame (or the documented close), the
//! connection stays usable, and nothing is stored.

mod common;

use common::{Closed, TestServer};
use minicom::protocol::{ClientFrame, ErrorCode, MAX_BODY_CHARS, ServerFrame};
use tokio_tungstenite::tungstenite::Message as WsMessage;

async fn refused_with(client: &mut common::Client, text: &str) -> (ErrorCode, String) {
    client.send_text(text).await;
    match client.next().await {
        ServerFrame::Error { code, message, .. } => (code, message),
        other => panic!("expected an error for {text:.80}, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_frames_get_an_error_and_the_socket_stays_open() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let id = "\"client_id\":\"6f1c2a3e-0000-4000-8000-000000000001\"";
    let too_long = "a".repeat(MAX_BODY_CHARS + 1);
    let cases: Vec<(String, ErrorCode)> = vec![
        ("not json at all".into(), ErrorCode::InvalidJson),
        ("{\"type\":\"send\",".into(), ErrorCode::InvalidJson),
        ("{\"type\":\"teleport\"}".into(), ErrorCode::UnknownType),
        ("{\"body\":\"no type\"}".into(), ErrorCode::InvalidFrame),
        (
            "{\"type\":\"send\",\"body\":\"no client id\"}".into(),
            ErrorCode::InvalidFrame,
        ),
        ("{\"type\":\"open\"}".into(), ErrorCode::InvalidFrame),
        (
            "{\"type\":\"open\",\"conversation_id\":\"seven\"}".into(),
            ErrorCode::InvalidFrame,
        ),
        (
            format!("{{\"type\":\"send\",{id},\"body\":\"\"}}"),
            ErrorCode::EmptyBody,
        ),
        (
            format!("{{\"type\":\"send\",{id},\"body\":\"  \\n\\t \"}}"),
            ErrorCode::EmptyBody,
        ),
        (
            format!("{{\"type\":\"send\",{id},\"body\":\"{too_long}\"}}"),
            ErrorCode::BodyTooLong,
        ),
    ];
    for (text, expected) in cases {
        let (code, message) = refused_with(&mut visitor, &text).await;
        assert_eq!(code, expected, "for {text:.80}");
        assert!(message.len() > 10, "a readable sentence: {message}");
    }
    visitor
        .send_raw(WsMessage::binary(vec![1, 2, 3]))
        .await
        .expect("send binary");
    assert_eq!(visitor.refused().await.0, ErrorCode::UnsupportedFrame);

    // Still open and nothing stored: no conversation was started.
    visitor.round_trip().await;
    let mut agent = server.agent().await;
    agent.round_trip().await;
    let cookie = server.agent_cookie().await;
    let mut fresh = server.connect(&cookie, "agent").await;
    let ServerFrame::Hello { conversations, .. } = fresh.hello().await else {
        unreachable!()
    };
    assert!(
        conversations.is_empty(),
        "nothing was stored: {conversations:?}"
    );
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_accepted() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let body = "é".repeat(MAX_BODY_CHARS);
    visitor.say(None, &body).await;
    let stored = visitor
        .expect(|f| match f {
            ServerFrame::Ack { message, .. } => Some(message),
            _ => None,
        })
        .await;
    assert_eq!(stored.body.chars().count(), MAX_BODY_CHARS);
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_the_socket_with_1009() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let huge = format!(
        "{{\"type\":\"send\",\"client_id\":\"6f1c2a3e-0000-4000-8000-000000000002\",\"body\":\"{}\"}}",
        "x".repeat(70 * 1024)
    );
    let _ = visitor.send_raw(WsMessage::text(huge)).await;
    match visitor.closed().await {
        Closed::Code(code, reason) => {
            assert_eq!(u16::from(code), 1009);
            assert!(reason.contains("64 KiB"), "{reason}");
        }
        Closed::Dropped => panic!("expected close code 1009"),
    }
}

#[tokio::test]
async fn an_agent_must_name_the_conversation() {
    let server = TestServer::start().await;
    let mut agent = server.agent().await;
    agent.say(None, "to whom?").await;
    assert!(matches!(
        agent.refused().await,
        (ErrorCode::ConversationRequired, Some(_))
    ));
}

#[tokio::test]
async fn a_bad_profile_is_refused() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    visitor
        .send(&ClientFrame::Profile {
            name: Some("x".repeat(500)),
            email: None,
        })
        .await;
    assert_eq!(visitor.refused().await.0, ErrorCode::InvalidProfile);
    visitor
        .send(&ClientFrame::Profile {
            name: None,
            email: Some("not-an-email".into()),
        })
        .await;
    assert_eq!(visitor.refused().await.0, ErrorCode::InvalidProfile);
}

#[tokio::test]
async fn sockets_without_a_session_are_refused() {
    let server = TestServer::start().await;
    assert!(
        server.try_connect("", "visitor").await.is_err(),
        "no visitor cookie"
    );
    let visitor = server.visitor_cookie().await;
    assert!(
        server.try_connect(&visitor, "agent").await.is_err(),
        "a visitor cookie is not an agent session"
    );
    assert!(
        server
            .try_connect("minicom_session=forged", "agent")
            .await
            .is_err(),
        "a made-up session"
    );
}

#[tokio::test]
async fn wrong_password_does_not_sign_in() {
    let server = TestServer::start().await;
    let wrong = server.sign_in(common::ADMIN_EMAIL, "guess").await;
    assert_eq!(wrong.status, 303);
    assert_eq!(wrong.header("location"), Some("/inbox?error=credentials"));
    assert!(wrong.cookie("minicom_session").is_none());
    let unknown = server.sign_in("nobody@example.com", "guess").await;
    assert_eq!(unknown.header("location"), Some("/inbox?error=credentials"));
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let server = TestServer::start().await;
    let cookie = server.agent_cookie().await;
    let out = server
        .http("POST", "/auth/logout", &[("Cookie", &cookie)], "")
        .await;
    assert_eq!(out.status, 303);
    assert!(server.try_connect(&cookie, "agent").await.is_err());
}

#[tokio::test]
async fn healthz_answers() {
    let server = TestServer::start().await;
    let response = server.http("GET", "/healthz", &[], "").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "ok");
}
