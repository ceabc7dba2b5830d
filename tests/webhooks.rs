//! Webhooks against a real receiver on this machine (allowed by the
//! setting for on-premise endpoints): deliveries signed as the README
//! says (checked here with the secret, not with Minicom's code), retried
//! after a 500, still delivered after a restart, refused for private
//! addresses by default, and an endpoint that keeps failing paused until
//! an admin resumes it.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::TestServer;
use hmac::{Hmac, Mac};
use minicom::protocol::{DeliveryState, NewWebhook, Webhook};
use minicom::server::config::Config;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;

/// What the receiver got, and what it answered.
struct Received {
    headers: HeaderMap,
    body: String,
    answered: u16,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Clone)]
struct Script {
    /// Statuses to answer, in order; then `then`.
    next: Arc<Mutex<VecDeque<u16>>>,
    then: Arc<Mutex<u16>>,
    seen: mpsc::UnboundedSender<Received>,
}

/// A company's endpoint: records every request, answers as scripted.
struct Receiver {
    url: String,
    script: Script,
    seen: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn start(first: &[u16], then: u16) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let script = Script {
            next: Arc::new(Mutex::new(first.iter().copied().collect())),
            then: Arc::new(Mutex::new(then)),
            seen: tx,
        };
        async fn hook(
            State(script): State<Script>,
            headers: HeaderMap,
            body: String,
        ) -> StatusCode {
            let scripted = script.next.lock().unwrap().pop_front();
            let answered = scripted.unwrap_or(*script.then.lock().unwrap());
            let _ = script.seen.send(Received {
                headers,
                body,
                answered,
            });
            StatusCode::from_u16(answered).unwrap()
        }
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            script,
            seen: rx,
        }
    }

    /// From now on, answer `status`.
    fn answer(&self, status: u16) {
        *self.script.then.lock().unwrap() = status;
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(15), self.seen.recv())
            .await
            .expect("a delivery in time")
            .expect("receiver running")
    }
}

/// Webhooks to this machine allowed, retries after 20 ms.
fn on_premise(config: &mut Config) {
    config.webhooks.allow_private = true;
    config.webhooks.first_retry = Duration::from_millis(20);
}

const ALL_EVENTS: &str =
    "conversation.created message.created conversation.status_changed conversation.rated";

async fn register(
    server: &TestServer,
    admin: &str,
    url: &str,
    events: &str,
) -> common::HttpResponse {
    server
        .post_form(
            admin,
            "/api/webhook_create",
            &[("url", url), ("events", events)],
        )
        .await
}

async fn registered(server: &TestServer, admin: &str, url: &str, events: &str) -> NewWebhook {
    let response = register(server, admin, url, events).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let made: NewWebhook = serde_json::from_str(&response.text()).unwrap();
    assert!(made.secret.starts_with("whsec_"));
    made
}

async fn listed(server: &TestServer, admin: &str) -> Vec<Webhook> {
    let response = server.post_form(admin, "/api/webhooks", &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    serde_json::from_str(&response.text()).unwrap()
}

/// Reads the settings until `done` holds (the outcome of an attempt is
/// written just after the receiver answers it).
async fn until_listed(
    server: &TestServer,
    admin: &str,
    done: impl Fn(&[Webhook]) -> bool,
) -> Vec<Webhook> {
    for _ in 0..500 {
        let hooks = listed(server, admin).await;
        if done(&hooks) {
            return hooks;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the webhook settings never showed what was expected");
}

/// Checks a request the way the README tells endpoints to.
fn verify(secret: &str, received: &Received) {
    let timestamp = received.header("x-minicom-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", received.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        received.header("x-minicom-signature"),
        expected,
        "signature"
    );
    let sent: i64 = timestamp.parse().expect("Unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - sent).abs() < 300, "a fresh timestamp");
    assert_eq!(received.header("content-type"), "application/json");
    assert_eq!(received.header("x-minicom-event"), received.json()["event"]);
}

#[tokio::test]
async fn deliveries_are_signed_and_retried_after_a_500() {
    let mut receiver = Receiver::start(&[500], 200).await;
    let server = TestServer::start_configured(on_premise).await;
    let admin = server.agent_cookie().await;
    let made = registered(&server, &admin, &receiver.url, ALL_EVENTS).await;

    let (mut visitor, _) = server.visitor().await;
    visitor.first_message("Do you ship to Oslo?").await;
    // Two events; one of them is refused once and comes again.
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(receiver.next().await);
    }
    for received in &got {
        verify(&made.secret, received);
    }
    let failed = got.iter().find(|r| r.answered == 500).expect("one refused");
    let retried = got
        .iter()
        .filter(|r| r.header("x-minicom-delivery") == failed.header("x-minicom-delivery"))
        .collect::<Vec<_>>();
    assert_eq!(retried.len(), 2, "the refused delivery came again");
    assert_eq!(retried[1].answered, 200);
    assert_eq!(retried[0].body, retried[1].body, "the same event");
    let message = got
        .iter()
        .find(|r| r.header("x-minicom-event") == "message.created")
        .expect("message.created");
    assert_eq!(
        message.json()["data"]["message"]["body"],
        "Do you ship to Oslo?"
    );
    let created = got
        .iter()
        .find(|r| r.header("x-minicom-event") == "conversation.created")
        .expect("conversation.created");
    assert_eq!(created.json()["data"]["conversation"]["status"], "open");

    // The log on the settings page says how each went.
    let hooks = until_listed(&server, &admin, |hooks| {
        hooks[0].deliveries.len() == 2
            && hooks[0]
                .deliveries
                .iter()
                .all(|d| d.state == DeliveryState::Delivered)
    })
    .await;
    let attempts: Vec<u32> = hooks[0].deliveries.iter().map(|d| d.attempts).collect();
    assert!(
        attempts.contains(&2) && attempts.contains(&1),
        "{attempts:?}"
    );
    assert!(
        hooks[0]
            .deliveries
            .iter()
            .all(|d| d.last_status == Some(200))
    );
    let page = server.post_form(&admin, "/api/webhooks", &[]).await;
    assert!(
        !page.text().contains(&made.secret),
        "the secret is shown only once"
    );

    // A change through the API is an event too.
    let response = server
        .post_form(
            &admin,
            "/api/api_token_create",
            &[("name", "CRM"), ("scope", "write")],
        )
        .await;
    let token: minicom::protocol::NewApiToken = serde_json::from_str(&response.text()).unwrap();
    let conversation = message.json()["data"]["message"]["conversation_id"]
        .as_i64()
        .unwrap();
    let resolved = server
        .http(
            "PATCH",
            &format!("/api/v1/conversations/{conversation}"),
            &[
                ("Authorization", &format!("Bearer {}", token.secret)),
                ("Content-Type", "application/json"),
            ],
            r#"{"status": "resolved"}"#,
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text());
    let changed = receiver.next().await;
    verify(&made.secret, &changed);
    assert_eq!(
        changed.header("x-minicom-event"),
        "conversation.status_changed"
    );
    assert_eq!(changed.json()["data"]["conversation"]["status"], "resolved");
}

#[tokio::test]
async fn nothing_is_lost_across_a_restart() {
    let mut receiver = Receiver::start(&[], 503).await;
    let server = TestServer::start_configured(on_premise).await;
    let admin = server.agent_cookie().await;
    registered(&server, &admin, &receiver.url, "message.created").await;
    let (mut visitor, _) = server.visitor().await;
    visitor.first_message("Before the restart").await;
    let refused = receiver.next().await;
    assert_eq!(refused.answered, 503);
    let delivery = refused.header("x-minicom-delivery").to_owned();
    drop(visitor);
    let (dir, url) = server.stop_keeping_data().await;

    // The endpoint works again, and a new server on the same data sends
    // what was still waiting.
    receiver.answer(200);
    let server = TestServer::start_on(dir, url, on_premise).await;
    let delivered = loop {
        let received = receiver.next().await;
        assert_eq!(
            received.header("x-minicom-delivery"),
            delivery,
            "the same delivery"
        );
        if received.answered == 200 {
            break received;
        }
    };
    assert_eq!(
        delivered.json()["data"]["message"]["body"],
        "Before the restart"
    );
    let admin = server.agent_cookie().await;
    let hooks = until_listed(&server, &admin, |h| {
        h[0].deliveries[0].state == DeliveryState::Delivered
    })
    .await;
    assert_eq!(hooks[0].deliveries.len(), 1);
    assert_eq!(hooks[0].deliveries[0].last_status, Some(200));
}

#[tokio::test]
async fn private_addresses_are_refused_by_default() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
    ] {
        let response = register(&server, &admin, url, ALL_EVENTS).await;
        assert_ne!(response.status, 200, "{url} was accepted");
        assert!(
            response.text().contains("MINICOM_WEBHOOKS_ALLOW_PRIVATE"),
            "{url}: {}",
            response.text()
        );
    }
    for (url, events, why) in [
        (
            "ftp://files.example.com/",
            ALL_EVENTS,
            "Give the endpoint's address",
        ),
        ("not a url", ALL_EVENTS, "Give the endpoint's address"),
        (
            "https://93.184.216.34/hook",
            "",
            "Choose at least one event",
        ),
        ("http://93.184.216.34/hook", ALL_EVENTS, "Use https://"),
    ] {
        let response = register(&server, &admin, url, events).await;
        assert!(response.text().contains(why), "{url}: {}", response.text());
    }
    // A public address is accepted (nothing is sent until an event).
    registered(
        &server,
        &admin,
        "https://93.184.216.34/hook",
        "message.created",
    )
    .await;
    assert!(listed(&server, &admin).await[0].paused.is_none());
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_paused_until_resumed() {
    let mut receiver = Receiver::start(&[], 500).await;
    let server = TestServer::start_configured(|c| {
        on_premise(c);
        c.webhooks.pause_after_failures = 3;
        c.webhooks.pause_after = Duration::ZERO;
    })
    .await;
    let admin = server.agent_cookie().await;
    registered(&server, &admin, &receiver.url, "message.created").await;
    let (mut visitor, _) = server.visitor().await;
    visitor.first_message("Anyone there?").await;
    for _ in 0..3 {
        assert_eq!(receiver.next().await.answered, 500);
    }
    let hooks = until_listed(&server, &admin, |h| h[0].paused.is_some()).await;
    let why = hooks[0].paused.clone().unwrap();
    assert!(
        why.starts_with("Paused") && why.contains("HTTP 500"),
        "{why}"
    );
    assert_eq!(hooks[0].deliveries[0].state, DeliveryState::Pending);
    // Paused, it is sent nothing, but what happens is kept for it.
    visitor.say(None, "Hello?").await;
    visitor
        .expect(|f| matches!(f, minicom::protocol::ServerFrame::Ack { .. }).then_some(()))
        .await;
    let hooks = until_listed(&server, &admin, |h| h[0].deliveries.len() == 2).await;
    assert!(
        hooks[0]
            .deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Pending)
    );

    receiver.answer(200);
    let response = server
        .post_form(
            &admin,
            "/api/webhook_resume",
            &[("id", &hooks[0].id.to_string())],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let delivered = receiver.next().await;
        assert_eq!(delivered.answered, 200);
        bodies.push(
            delivered.json()["data"]["message"]["body"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    bodies.sort();
    assert_eq!(bodies, ["Anyone there?", "Hello?"]);
    let hooks = until_listed(&server, &admin, |h| {
        h[0].deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Delivered)
    })
    .await;
    assert!(hooks[0].paused.is_none());
}
