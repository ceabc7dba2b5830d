//! The REST API over real HTTP against a real server: tokens (shown once,
//! scoped, revocable), keyset paging, posting with idempotency keys (what
//! the visitor's open messenger receives), changing a conversation's state
//! and owner (what an open inbox receives), per-token rate limits, and the
//! OpenAPI document.

mod common;

use common::{ADMIN_EMAIL, HttpResponse, TestServer};
use minicom::protocol::{ConversationId, ConversationStatus, NewApiToken, ServerFrame};
use serde_json::{Value, json};

/// Makes a token as the admin does on the Settings page.
async fn token(server: &TestServer, cookie: &str, name: &str, scope: &str) -> String {
    let response = server
        .post_form(
            cookie,
            "/api/api_token_create",
            &[("name", name), ("scope", scope)],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let made: NewApiToken = serde_json::from_str(&response.text()).expect("a new token");
    assert!(made.secret.starts_with("mc_") && made.secret.len() == 67);
    made.secret
}

/// An API request with `token` (none: no Authorization header).
async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    server.http(method, path, &headers, &body).await
}

fn json_of(response: &HttpResponse) -> Value {
    serde_json::from_str(&response.text())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", response.text()))
}

/// The refusal's status and stable code.
fn refusal(response: &HttpResponse) -> (u16, String) {
    let body = json_of(response);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "a refusal says why: {body}"
    );
    (response.status, code)
}

#[tokio::test]
async fn tokens_are_shown_once_held_to_their_scope_and_revocable() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    let reader = token(&server, &admin, "CRM", "read").await;
    let list = "/api/v1/conversations";

    let missing = call(&server, "GET", list, None, None, &[]).await;
    assert_eq!(refusal(&missing), (401, "missing_token".into()));
    let wrong = call(&server, "GET", list, Some("mc_0000"), None, &[]).await;
    assert_eq!(refusal(&wrong), (401, "invalid_token".into()));
    let read = call(&server, "GET", list, Some(&reader), None, &[]).await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(json_of(&read)["data"], json!([]));

    // A read-only token changes nothing.
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor.first_message("Where is my order?").await;
    let path = format!("/api/v1/conversations/{}/messages", conversation.0);
    let post = call(
        &server,
        "POST",
        &path,
        Some(&reader),
        Some(json!({"body": "Hi"})),
        &[],
    )
    .await;
    assert_eq!(refusal(&post), (403, "insufficient_scope".into()));
    let patch = format!("/api/v1/conversations/{}", conversation.0);
    let resolve = json!({"status": "resolved"});
    let change = call(&server, "PATCH", &patch, Some(&reader), Some(resolve), &[]).await;
    assert_eq!(refusal(&change), (403, "insufficient_scope".into()));
    // The token is the credential, not where the request came from: one
    // that names another site is answered as the API answers (a session
    // cookie would not count here anyway).
    let foreign = ("Origin", "https://shop.example");
    for headers in [vec![foreign], vec![foreign, ("Cookie", admin.as_str())]] {
        let body = Some(json!({"body": "Hi"}));
        let refused = call(&server, "POST", &path, None, body, &headers).await;
        assert_eq!(refusal(&refused), (401, "missing_token".into()));
    }
    // With a token, the token decides: this one may only read.
    let body = Some(json!({"body": "Hi"}));
    let read_only = call(&server, "POST", &path, Some(&reader), body, &[foreign]).await;
    assert_eq!(refusal(&read_only), (403, "insufficient_scope".into()));
    // The Settings page's own calls still must come from its pages.
    let minting = server
        .http(
            "POST",
            "/api/api_token_create",
            &[
                ("Origin", "https://shop.example"),
                ("Cookie", admin.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            "name=Evil&scope=write",
        )
        .await;
    assert_eq!(minting.status, 403, "{}", minting.text());

    // The list shows when it was used, never the secret.
    let listed = server.post_form(&admin, "/api/api_tokens", &[]).await;
    assert_eq!(listed.status, 200);
    assert!(
        !listed.text().contains(&reader),
        "the secret is shown only once"
    );
    let tokens: Vec<minicom::protocol::ApiToken> = serde_json::from_str(&listed.text()).unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].name, "CRM");
    assert!(tokens[0].last_used_at.is_some(), "its use is recorded");

    // Only admins make tokens.
    server
        .store()
        .create_agent(
            "ben@minicom.test",
            "Ben",
            &minicom::server::auth::hash_password(common::ADMIN_PASSWORD).unwrap(),
            minicom::server::store::Role::Agent,
        )
        .await
        .unwrap();
    let ben = server
        .sign_in("ben@minicom.test", common::ADMIN_PASSWORD)
        .await
        .cookie("minicom_session")
        .unwrap();
    let refused = server
        .post_form(
            &ben,
            "/api/api_token_create",
            &[("name", "Mine"), ("scope", "write")],
        )
        .await;
    assert_ne!(
        refused.status, 200,
        "a teammate who is not an admin made a token"
    );

    // A nameless token is refused with the rule.
    let nameless = server
        .post_form(
            &admin,
            "/api/api_token_create",
            &[("name", " "), ("scope", "read")],
        )
        .await;
    assert_eq!(nameless.status, 500);
    assert!(
        nameless.text().contains("Name the token"),
        "{}",
        nameless.text()
    );

    // Revoked: refused at once.
    let revoked = server
        .post_form(
            &admin,
            "/api/api_token_revoke",
            &[("id", &tokens[0].id.to_string())],
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    let after = call(&server, "GET", list, Some(&reader), None, &[]).await;
    assert_eq!(refusal(&after), (401, "invalid_token".into()));
}

#[tokio::test]
async fn lists_and_threads_page_by_cursor_without_skips_or_repeats() {
    let server = TestServer::start_unlimited().await;
    let admin = server.agent_cookie().await;
    let reader = token(&server, &admin, "CRM", "read").await;
    let mut started = Vec::new();
    for n in 0..7 {
        let (mut visitor, _) = server.visitor().await;
        started.push(visitor.first_message(&format!("Question {n}")).await.0);
    }
    // Newest first, three a page.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/conversations?limit=3&cursor={c}"),
            None => "/api/v1/conversations?limit=3".to_owned(),
        };
        let page = json_of(&call(&server, "GET", &path, Some(&reader), None, &[]).await);
        for row in page["data"].as_array().unwrap() {
            seen.push(row["id"].as_i64().unwrap());
            assert_eq!(row["status"], "open");
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let newest_first: Vec<i64> = started.iter().rev().copied().collect();
    assert_eq!(seen, newest_first, "every conversation once, newest first");
    let resolved = "/api/v1/conversations?status=resolved";
    let none = json_of(&call(&server, "GET", resolved, Some(&reader), None, &[]).await);
    assert_eq!(none["data"], json!([]));

    // A thread, newest page first, each page oldest first.
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor.first_message("m0").await;
    for n in 1..5 {
        visitor.say(Some(conversation), &format!("m{n}")).await;
        visitor
            .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
    }
    let mut bodies = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..5 {
        let mut path = format!("/api/v1/conversations/{}/messages?limit=2", conversation.0);
        if let Some(b) = &before {
            path.push_str(&format!("&before={b}"));
        }
        let page = json_of(&call(&server, "GET", &path, Some(&reader), None, &[]).await);
        let page_bodies: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect();
        bodies.splice(0..0, page_bodies);
        before = page["next_cursor"].as_str().map(str::to_owned);
        if before.is_none() {
            break;
        }
    }
    assert_eq!(bodies, ["m0", "m1", "m2", "m3", "m4"]);

    // Wrong parameters say what is wrong.
    for path in [
        "/api/v1/conversations?limit=0".to_owned(),
        "/api/v1/conversations?limit=101".to_owned(),
        "/api/v1/conversations?cursor=nonsense".to_owned(),
        "/api/v1/conversations?status=everything".to_owned(),
        "/api/v1/conversations?colour=red".to_owned(),
        format!("/api/v1/conversations/{}/messages?before=x", conversation.0),
    ] {
        let response = call(&server, "GET", &path, Some(&reader), None, &[]).await;
        assert_eq!(
            refusal(&response),
            (400, "invalid_request".into()),
            "{path}"
        );
    }
    for path in [
        "/api/v1/conversations/999999",
        "/api/v1/conversations/999999/messages",
        "/api/v1/contacts/999999",
        "/api/v1/conversations/abc",
        "/api/v1/nothing-here",
    ] {
        let response = call(&server, "GET", path, Some(&reader), None, &[]).await;
        assert_eq!(refusal(&response), (404, "not_found".into()), "{path}");
    }

    // The conversation and its visitor.
    let one = format!("/api/v1/conversations/{}", conversation.0);
    let row = json_of(&call(&server, "GET", &one, Some(&reader), None, &[]).await);
    assert_eq!(row["last_message_preview"], "m4");
    let contact = format!("/api/v1/contacts/{}", row["contact_id"]);
    let contact = json_of(&call(&server, "GET", &contact, Some(&reader), None, &[]).await);
    assert_eq!(contact["id"], row["contact_id"]);
    assert_eq!(contact["conversations"], 1);
    assert_eq!(contact["blocked"], false);
}

#[tokio::test]
async fn a_post_reaches_the_open_messenger_once_per_idempotency_key() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    let writer = token(&server, &admin, "Shop backend", "write").await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor.first_message("Has my order shipped?").await;
    let path = format!("/api/v1/conversations/{}/messages", conversation.0);
    let shipped = json!({"body": "Your order #1001 has shipped."});
    let key = [("Idempotency-Key", "order-1001-shipped")];

    let first = call(
        &server,
        "POST",
        &path,
        Some(&writer),
        Some(shipped.clone()),
        &key,
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let first = json_of(&first);
    assert_eq!(first["sender"], "agent");
    assert_eq!(
        first["sender_name"], "Shop backend",
        "a bot named after the token"
    );
    // The visitor's open messenger gets it at once, under the bot's name.
    let seen = visitor
        .expect(|f| match f {
            ServerFrame::Message { message } if message.body.contains("#1001") => Some(message),
            _ => None,
        })
        .await;
    assert_eq!(seen.sender_name, "Shop backend");
    assert_eq!(seen.id.0, first["id"].as_i64().unwrap());

    // A retry with the same key posts nothing new.
    let again = call(&server, "POST", &path, Some(&writer), Some(shipped), &key).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(json_of(&again)["id"], first["id"]);
    let other = json!({"body": "Something else"});
    let reused = call(&server, "POST", &path, Some(&writer), Some(other), &key).await;
    assert_eq!(refusal(&reused), (409, "idempotency_key_reused".into()));

    // As a named bot, as a teammate, and a note the visitor never gets.
    let bot = json!({"body": "Tracking: ZX81", "bot_name": "Shop"});
    let bot = json_of(&call(&server, "POST", &path, Some(&writer), Some(bot), &[]).await);
    assert_eq!(bot["sender_name"], "Shop");
    let admin_id = server
        .store()
        .agent_by_email(ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id;
    let note = json!({"body": "Refund approved", "note": true, "agent_id": admin_id.0});
    let note = call(&server, "POST", &path, Some(&writer), Some(note), &[]).await;
    assert_eq!(note.status, 201, "{}", note.text());
    assert_eq!(json_of(&note)["note"], true);
    let last = json!({"body": "Anything else?", "agent_id": admin_id.0});
    let last = json_of(&call(&server, "POST", &path, Some(&writer), Some(last), &[]).await);
    assert_eq!(last["sender_name"], "Admin");
    let next = visitor
        .expect(|f| match f {
            ServerFrame::Message { message } if message.id.0 > bot["id"].as_i64().unwrap() => {
                Some(message)
            }
            _ => None,
        })
        .await;
    assert_eq!(
        next.body, "Anything else?",
        "the note never reached the visitor"
    );

    // The thread holds each message once.
    let thread = json_of(&call(&server, "GET", &path, Some(&writer), None, &[]).await);
    let bodies: Vec<&str> = thread["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"] != "system")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "Has my order shipped?",
            "Your order #1001 has shipped.",
            "Tracking: ZX81",
            "Refund approved",
            "Anything else?"
        ]
    );

    // What a rule refuses, and what is malformed.
    for (body, wanted) in [
        (json!({"body": "   "}), (422, "empty_body")),
        (json!({"body": "x".repeat(4001)}), (422, "body_too_long")),
        (
            json!({"body": "Hi", "agent_id": 424242}),
            (422, "unknown_agent"),
        ),
        (
            json!({"body": "Hi", "agent_id": 1, "bot_name": "Shop"}),
            (400, "invalid_request"),
        ),
        (
            json!({"body": "Hi", "bot_name": "a\nb"}),
            (400, "invalid_request"),
        ),
        (json!({"text": "Hi"}), (400, "invalid_request")),
    ] {
        let response = call(
            &server,
            "POST",
            &path,
            Some(&writer),
            Some(body.clone()),
            &[],
        )
        .await;
        assert_eq!(refusal(&response), (wanted.0, wanted.1.into()), "{body}");
    }
    let garbage = server
        .http(
            "POST",
            &path,
            &[
                ("Authorization", &format!("Bearer {writer}")),
                ("Content-Type", "application/json"),
            ],
            "{not json",
        )
        .await;
    assert_eq!(refusal(&garbage), (400, "invalid_request".into()));
}

#[tokio::test]
async fn a_change_moves_the_row_in_every_open_inbox_and_leaves_a_line() {
    let server = TestServer::start().await;
    let admin = server.agent_cookie().await;
    let writer = token(&server, &admin, "Shop backend", "write").await;
    let (mut visitor, _) = server.visitor().await;
    let conversation: ConversationId = visitor.first_message("Cancel my order").await;
    let mut inbox = server.agent().await;
    let path = format!("/api/v1/conversations/{}", conversation.0);
    let admin_id = server
        .store()
        .agent_by_email(ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id;

    let change = json!({"status": "resolved", "assignee_id": admin_id.0});
    let changed = call(&server, "PATCH", &path, Some(&writer), Some(change), &[]).await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let changed = json_of(&changed);
    assert_eq!(changed["status"], "resolved");
    assert_eq!(changed["assignee_id"], admin_id.0);
    inbox
        .expect(|f| match f {
            ServerFrame::Conversation { conversation: row }
                if row.id == conversation && row.status == ConversationStatus::Resolved =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
    let thread = format!("{path}/messages");
    let lines = json_of(&call(&server, "GET", &thread, Some(&writer), None, &[]).await);
    let lines: Vec<&str> = lines["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"] == "system")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "Shop backend (API) assigned this to Admin",
            "Shop backend (API) resolved this"
        ]
    );

    // Unassign with null; leave out what stays.
    let unassign = json!({"assignee_id": null});
    let row = json_of(&call(&server, "PATCH", &path, Some(&writer), Some(unassign), &[]).await);
    assert_eq!(row["assignee_id"], Value::Null);
    assert_eq!(row["status"], "resolved");

    for (body, wanted) in [
        (json!({"status": "snoozed"}), (422, "invalid_snooze")),
        (json!({"snoozed_until": 1}), (400, "invalid_request")),
        (json!({"assignee_id": 424242}), (422, "unknown_agent")),
        (json!({"status": "closed"}), (400, "invalid_request")),
    ] {
        let response = call(
            &server,
            "PATCH",
            &path,
            Some(&writer),
            Some(body.clone()),
            &[],
        )
        .await;
        assert_eq!(refusal(&response), (wanted.0, wanted.1.into()), "{body}");
    }
}

#[tokio::test]
async fn each_token_has_its_own_rate_and_is_told_when_to_retry() {
    let server = TestServer::start_configured(|config| config.limits.api_per_minute = 1).await;
    let admin = server.agent_cookie().await;
    let first = token(&server, &admin, "CRM", "read").await;
    let second = token(&server, &admin, "Shop", "read").await;
    let list = "/api/v1/conversations";
    assert_eq!(
        call(&server, "GET", list, Some(&first), None, &[])
            .await
            .status,
        200
    );
    let limited = call(&server, "GET", list, Some(&first), None, &[]).await;
    assert_eq!(refusal(&limited), (429, "rate_limited".into()));
    let wait: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=60).contains(&wait), "retry after {wait} s");
    // Another token is not held back by the first one's use.
    assert_eq!(
        call(&server, "GET", list, Some(&second), None, &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let server = TestServer::start().await;
    let response = server.http("GET", "/api/v1/openapi.json", &[], "").await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let doc = json_of(&response);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/conversations/{id}/messages"]["post"].is_object());
    assert_eq!(
        doc["paths"]["/api/v1/conversations/{id}"]["patch"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/ConversationChange"
    );
}
