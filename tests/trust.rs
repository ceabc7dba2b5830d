//! Attacks on the real server, each refused with a clear answer.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Closed, TestServer};
use minicom::protocol::{ClientFrame, ClientId, ErrorCode, ServerFrame};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The HTTP status of a refused upgrade.
fn refused_status(result: Result<common::Client, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected the upgrade to be refused"),
    }
}

#[tokio::test]
async fn a_flood_is_refused_with_a_retry_hint_then_cut_off_while_others_are_served() {
    let server = TestServer::start().await;
    let (mut flooder, cookie) = server.visitor().await;
    let (mut neighbour, _) = server.visitor().await;

    // 200 messages at once: the burst passes, the rest are refused with a
    // hint, and a client that keeps going is disconnected.
    for i in 0..200 {
        let frame = ClientFrame::Send {
            conversation_id: None,
            client_id: ClientId::new(),
            body: format!("spam {i}"),
        };
        if flooder
            .send_raw(tungstenite::Message::text(
                serde_json::to_string(&frame).unwrap(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let (mut acks, mut limited, mut hint) = (0, 0, None);
    let closed = loop {
        match flooder.next_or_close().await {
            Ok(ServerFrame::Ack { .. }) => acks += 1,
            Ok(ServerFrame::Error {
                code: ErrorCode::RateLimited,
                retry_after_ms,
                message,
                ..
            }) => {
                limited += 1;
                hint = hint.or(retry_after_ms.map(|ms| (ms, message)));
            }
            Ok(_) => {}
            Err(closed) => break closed,
        }
    };
    assert_eq!(acks, 20, "the burst of 20 is accepted");
    assert!(limited > 0);
    let (ms, message) = hint.expect("a retry hint");
    assert!((1..=1_000).contains(&ms), "{ms} ms");
    assert!(message.contains("too fast"), "{message}");
    assert!(
        matches!(&closed, Closed::Code(code, reason) if u16::from(*code) == 1008 && reason.contains("Slow down")),
        "{closed:?}"
    );

    // Exactly the burst was stored.
    let mut again = server.connect(&cookie, "visitor").await;
    let ServerFrame::Hello { conversations, .. } = again.hello().await else {
        unreachable!()
    };
    assert_eq!(again.open(conversations[0].id).await.len(), 20);

    // The neighbour was served all along.
    neighbour.say(None, "Hello, anyone there?").await;
    neighbour
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
}

#[tokio::test]
async fn too_many_tabs_for_one_person_are_refused() {
    let server = TestServer::start_configured(|c| c.limits.sockets_per_person = 3).await;
    let cookie = server.visitor_cookie().await;
    let mut tabs = Vec::new();
    for _ in 0..3 {
        let mut tab = server.connect(&cookie, "visitor").await;
        tab.hello().await;
        tabs.push(tab);
    }
    assert_eq!(
        refused_status(server.try_connect(&cookie, "visitor").await),
        429
    );
    // Another visitor is not affected, and a closed tab frees a place.
    let (_other, _) = server.visitor().await;
    let mut closing = tabs.pop().unwrap();
    closing.close().await;
    let mut again = None;
    for _ in 0..250 {
        if let Ok(tab) = server.try_connect(&cookie, "visitor").await {
            again = Some(tab);
            break;
        }
        // The server unregisters the closed socket as it notices: poll
        // until it has (bounded, up to 5 s).
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    again.expect("a freed place").hello().await;
}

#[tokio::test]
async fn too_many_sockets_from_one_address_are_refused() {
    let server = TestServer::start_configured(|c| c.limits.sockets_per_ip = 4).await;
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(server.visitor().await.0);
    }
    let cookie = server.visitor_cookie().await;
    assert_eq!(
        refused_status(server.try_connect(&cookie, "visitor").await),
        429
    );
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_refused_for_a_while() {
    let server = TestServer::start_configured(|c| {
        c.limits.sign_in_slow_after = 100;
        c.limits.sign_in_refuse_after = 4;
    })
    .await;
    for _ in 0..4 {
        let wrong = server.sign_in(ADMIN_EMAIL, "guess").await;
        assert_eq!(wrong.header("location"), Some("/inbox?error=credentials"));
    }
    // Now even the right password is refused, with its own message.
    let right = server.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(right.header("location"), Some("/inbox?error=throttled"));
    assert!(right.cookie("minicom_session").is_none());
    // An email that does not exist gets the same answer: nothing is revealed.
    let unknown = server.sign_in("nobody@example.com", "guess").await;
    assert_eq!(unknown.header("location"), Some("/inbox?error=throttled"));
    let page = server.http("GET", "/inbox?error=throttled", &[], "").await;
    assert!(page.body.contains("Too many sign-in attempts"));
}

#[tokio::test]
async fn signing_out_closes_the_agents_open_sockets() {
    let server = TestServer::start().await;
    let cookie = server.agent_cookie().await;
    let mut socket = server.connect(&cookie, "agent").await;
    socket.hello().await;
    let out = server
        .http("POST", "/auth/logout", &[("Cookie", &cookie)], "")
        .await;
    assert_eq!(out.status, 303);
    match socket.closed().await {
        Closed::Code(code, reason) => {
            assert_eq!(u16::from(code), 4001);
            assert!(reason.contains("Signed out"), "{reason}");
        }
        Closed::Dropped => panic!("closed without a reason"),
    }
    assert_eq!(
        refused_status(server.try_connect(&cookie, "agent").await),
        401
    );
}

#[tokio::test]
async fn a_socket_from_another_site_is_refused() {
    let server = TestServer::start().await;
    let cookie = server.visitor_cookie().await;
    let mut request = format!("ws://{}/ws?role=visitor", server.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Cookie", HeaderValue::from_str(&cookie).unwrap());
    headers.insert("Origin", HeaderValue::from_static("https://evil.example"));
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 403),
        Err(other) => panic!("expected 403, got {other}"),
        Ok(_) => panic!("a cross-site socket was accepted"),
    }
}

#[tokio::test]
async fn a_cross_site_sign_in_form_is_refused() {
    let server = TestServer::start().await;
    let body = format!("email={ADMIN_EMAIL}&password={ADMIN_PASSWORD}");
    let response = server
        .http(
            "POST",
            "/auth/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", "https://evil.example"),
            ],
            &body,
        )
        .await;
    assert_eq!(response.status, 403);
    assert!(response.cookie("minicom_session").is_none());
}
