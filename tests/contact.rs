//! The contact panel over real HTTP and sockets: what the messenger reports
//! (browser, time zone, page) reaching the team, hostile values kept as
//! text, the team's edits of an unverified visitor (and not of a verified
//! one), and the attributes a verified site sends.

mod common;

use common::workflow::{row_where, visitor_writes};
use common::{Client, TestServer};
use minicom::protocol::{ClientFrame, ClientId, ErrorCode, PageVisit, ServerFrame};

const CHROME_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Sends a frame that changes nothing visible and waits for the server to
/// have handled everything before it (frames are handled in order).
async fn settle(client: &mut Client) {
    client.send(&ClientFrame::Ping).await;
    client
        .expect(|f| matches!(f, ServerFrame::Pong).then_some(()))
        .await;
}

/// The code of the next error frame (other events may come first).
async fn error_code(client: &mut Client) -> ErrorCode {
    client
        .expect(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn the_team_sees_the_visitors_browser_time_zone_and_page_as_text() {
    let server = TestServer::start().await;
    let visitor_cookie = server.visitor_cookie().await;
    let mut visitor = server
        .try_connect_with(
            &visitor_cookie,
            "visitor",
            &[("User-Agent", CHROME_ON_WINDOWS)],
        )
        .await
        .expect("socket");
    visitor.hello().await;
    let hostile_title = "Cart <img src=x onerror=alert(1)> & \"more\"";
    visitor
        .send(&ClientFrame::Visit {
            time_zone: Some("Europe/Paris".into()),
            page: Some(PageVisit {
                url: "https://shop.example/cart?item=<b>1</b>".into(),
                title: hostile_title.into(),
            }),
        })
        .await;
    let first = visitor_writes(&mut visitor, "My parcel is late").await;
    visitor
        .send(&ClientFrame::Send {
            conversation_id: None,
            client_id: ClientId::new(),
            body: "Another question".into(),
            new_conversation: true,
            note: false,
            attachments: Vec::new(),
        })
        .await;
    let second = visitor
        .expect(|f| match f {
            ServerFrame::Ack { message, .. } if message.conversation_id != first => {
                Some(message.conversation_id)
            }
            _ => None,
        })
        .await;

    let agent_cookie = server.agent_cookie().await;
    let about = server.contact_panel(&agent_cookie, second).await;
    assert_eq!(about.browser.as_deref(), Some("Chrome 131"));
    assert_eq!(about.os.as_deref(), Some("Windows 10"));
    assert_eq!(about.time_zone.as_deref(), Some("Europe/Paris"));
    let page = about.page.expect("the page the visitor is on");
    assert_eq!(page.url, "https://shop.example/cart?item=<b>1</b>");
    assert_eq!(page.title, hostile_title, "kept as the text it was");
    assert!(about.online, "the messenger is open");
    assert!(!about.verified);
    assert_eq!(about.name, None);
    assert!(about.first_seen_at.0 <= about.last_seen_at.0);
    // The other conversation, with a link target and its last words.
    assert_eq!(about.others_total, 1);
    assert_eq!(about.others[0].id, first);
    assert_eq!(about.others[0].preview, "My parcel is late");

    // What the messenger may not report is refused; the rest of the same
    // frame is still kept.
    visitor
        .send(&ClientFrame::Visit {
            time_zone: Some("Mars/Olympus_Mons".into()),
            page: Some(PageVisit {
                url: "https://shop.example/checkout".into(),
                title: "Checkout".into(),
            }),
        })
        .await;
    assert_eq!(error_code(&mut visitor).await, ErrorCode::InvalidFrame);
    let about = server.contact_panel(&agent_cookie, first).await;
    assert_eq!(about.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(
        about.page.map(|p| p.url).as_deref(),
        Some("https://shop.example/checkout")
    );
    visitor
        .send_text(r#"{"type":"visit","time_zone":"Asia/Tokyo","page":{"url":"javascript:alert(1)","title":"x"}}"#)
        .await;
    assert_eq!(error_code(&mut visitor).await, ErrorCode::InvalidFrame);
    let about = server.contact_panel(&agent_cookie, first).await;
    assert_eq!(about.time_zone.as_deref(), Some("Asia/Tokyo"));
    assert_eq!(
        about.page.map(|p| p.url).as_deref(),
        Some("https://shop.example/checkout"),
        "a refused page is not taken for no page"
    );

    // A site that turns page tracking off: the messenger reports no page,
    // and the last one is forgotten; the time zone stays.
    visitor
        .send(&ClientFrame::Visit {
            time_zone: None,
            page: None,
        })
        .await;
    settle(&mut visitor).await;
    let about = server.contact_panel(&agent_cookie, first).await;
    assert_eq!(about.page, None);
    assert_eq!(about.time_zone.as_deref(), Some("Asia/Tokyo"));

    // Only the team reads the panel or edits a visitor: not a visitor, not
    // the signed out.
    let conversation = first.0.to_string();
    for cookie in [visitor_cookie.as_str(), ""] {
        for (path, fields) in [
            (
                "/api/contact_panel",
                vec![("conversation", conversation.as_str())],
            ),
            (
                "/api/contact_edit",
                vec![
                    ("conversation", conversation.as_str()),
                    ("name", "Mallory"),
                    ("email", ""),
                ],
            ),
        ] {
            let refused = server.post_form(cookie, path, &fields).await;
            assert_ne!(refused.status, 200, "{path}");
            assert!(
                refused.text().contains("Sign in again"),
                "{path}: {}",
                refused.text()
            );
        }
    }
    assert_eq!(server.contact_panel(&agent_cookie, first).await.name, None);
    // And an agent's socket cannot pretend to be on a page.
    let mut agent = server.connect(&agent_cookie, "agent").await;
    agent.hello().await;
    agent
        .send(&ClientFrame::Visit {
            time_zone: Some("UTC".into()),
            page: None,
        })
        .await;
    assert_eq!(error_code(&mut agent).await, ErrorCode::InvalidFrame);
}

#[tokio::test]
async fn the_team_corrects_an_unverified_visitors_name_and_email_and_every_inbox_sees_it() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "Hello, I am Ana").await;
    let cookie = server.agent_cookie().await;
    let mut inbox = server.connect(&cookie, "agent").await;
    inbox.hello().await;
    let edit = |name: &'static str, email: &'static str| {
        let cookie = cookie.clone();
        let server = &server;
        async move {
            server
                .post_form(
                    &cookie,
                    "/api/contact_edit",
                    &[
                        ("conversation", &conversation.0.to_string()),
                        ("name", name),
                        ("email", email),
                    ],
                )
                .await
        }
    };
    let refused = edit("Ana", "not-an-email").await;
    assert_ne!(refused.status, 200);
    assert!(
        refused.text().contains("does not look right"),
        "{}",
        refused.text()
    );
    let refused = edit("Ana\nLopez", "").await;
    assert!(refused.text().contains("one line"), "{}", refused.text());

    let hostile = "Ana <img src=x onerror=alert(1)>";
    let saved = edit(hostile, "ana@example.com").await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let row = row_where(&mut inbox, conversation, |r| r.contact_name == hostile).await;
    assert_eq!(row.contact_email.as_deref(), Some("ana@example.com"));
    let about = server.contact_panel(&cookie, conversation).await;
    assert_eq!(about.name.as_deref(), Some(hostile));
    assert_eq!(about.email.as_deref(), Some("ana@example.com"));
    // Emptied: no name, no email.
    assert_eq!(edit("", "").await.status, 200);
    let about = server.contact_panel(&cookie, conversation).await;
    assert_eq!((about.name, about.email), (None, None));
    // A conversation that does not exist.
    let missing = server
        .post_form(
            &cookie,
            "/api/contact_edit",
            &[("conversation", "999999"), ("name", "X"), ("email", "")],
        )
        .await;
    assert!(
        missing.text().contains("does not exist"),
        "{}",
        missing.text()
    );
}

fn claim(user_id: &str, attributes: &str) -> String {
    let hash = minicom::server::identity::user_hash(common::IDENTITY_SECRET.as_bytes(), user_id);
    format!(
        "user_id={user_id}&user_hash={hash}&name=Ana%20Lopez&email=ana%40example.com&attributes={}",
        common::urlencode(attributes)
    )
}

async fn identify(server: &TestServer, cookie: Option<&str>, body: &str) -> common::HttpResponse {
    let mut headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    server
        .http("POST", "/messenger/identify", &headers, body)
        .await
}

#[tokio::test]
async fn a_verified_site_sends_attributes_and_its_visitors_are_not_edited_by_hand() {
    let server = TestServer::start().await;
    // An attribute that breaks the rules is left out, and the answer says
    // so; the sign-in and the other attributes hold.
    let linked = identify(
        &server,
        None,
        &claim(
            "user-7",
            r#"{"plan":"Pro <b>","seats":12,"beta":true,"tier":{"level":1}}"#,
        ),
    )
    .await;
    assert_eq!(linked.status, 200, "{}", linked.text());
    assert!(
        linked
            .text()
            .contains(r#"attributes left out: attribute "tier""#),
        "{}",
        linked.text()
    );
    let visitor_cookie = linked.cookie("minicom_visitor").unwrap();
    let mut visitor = server.connect(&visitor_cookie, "visitor").await;
    visitor.hello().await;
    let conversation = visitor_writes(&mut visitor, "Hi from my account").await;
    let cookie = server.agent_cookie().await;
    let about = server.contact_panel(&cookie, conversation).await;
    assert!(about.verified);
    let shown: Vec<(&str, &str)> = about
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(
        shown,
        [("beta", "true"), ("plan", "Pro <b>"), ("seats", "12")]
    );

    // The page says it again on its next load, with a new plan: the same
    // visitor (204), the attributes replaced.
    let again = identify(
        &server,
        Some(&visitor_cookie),
        &claim("user-7", r#"{"plan":"Enterprise"}"#),
    )
    .await;
    assert_eq!(again.status, 204);
    let about = server.contact_panel(&cookie, conversation).await;
    assert_eq!(about.attributes.len(), 1);
    assert_eq!(about.attributes[0].value, "Enterprise");

    // The site owns a verified visitor's name and email.
    let refused = server
        .post_form(
            &cookie,
            "/api/contact_edit",
            &[
                ("conversation", &conversation.0.to_string()),
                ("name", "Someone else"),
                ("email", ""),
            ],
        )
        .await;
    assert_ne!(refused.status, 200);
    assert!(
        refused.text().contains("signed in on your site"),
        "{}",
        refused.text()
    );
    let about = server.contact_panel(&cookie, conversation).await;
    assert_eq!(about.name.as_deref(), Some("Ana Lopez"));
}
