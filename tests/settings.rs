//! The Settings page's rules over real HTTP and real sockets: the messenger's
//! look reaches open messengers and new pages, the sites admins list may
//! embed and connect, office hours say "away", and cookies become `Secure`
//! when a trusted proxy says the browser came over https.

mod common;

use common::TestServer;
use minicom::protocol::ServerFrame;
use minicom::settings::{LauncherSide, MessengerLook};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Posts a server function's form as the signed-in admin.
async fn as_admin(
    server: &TestServer,
    path: &str,
    fields: &[(&str, &str)],
) -> common::HttpResponse {
    let admin = server.agent_cookie().await;
    server.post_form(&admin, path, fields).await
}

const ACME: &[(&str, &str)] = &[
    ("form[team_name]", "Acme Tea"),
    ("form[brand_colour]", "#FFDE00"),
    ("form[launcher_side]", "left"),
    ("form[greeting]", "Hello, tea lover"),
    ("form[intro]", "Ask us about leaves."),
    ("form[reply_time]", "minutes"),
    ("form[away_message]", "We're brewing. Back soon."),
];

/// The next `look` frame.
async fn next_look(visitor: &mut common::Client) -> MessengerLook {
    visitor
        .expect(|f| match f {
            ServerFrame::Look { look } => Some(look),
            _ => None,
        })
        .await
}

/// The `Set-Cookie` value of the visitor cookie a response sets.
fn visitor_cookie_set(response: &common::HttpResponse) -> String {
    response
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("minicom_visitor="))
        .map(|(_, v)| v.clone())
        .expect("a visitor cookie")
}

async fn widget_look(server: &TestServer) -> MessengerLook {
    let response = server.http("GET", "/widget/look", &[], "").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    serde_json::from_str(&response.body).expect("a look")
}

#[tokio::test]
async fn an_admins_new_look_reaches_open_messengers_new_pages_and_the_launcher() {
    let keep = tempfile::tempdir().expect("temp dir");
    let database_url = common::database_url(keep.path(), "minicom");
    let server =
        TestServer::start_on(tempfile::tempdir().unwrap(), database_url.clone(), |_| {}).await;
    assert_eq!(widget_look(&server).await.team_name, "Northwind Coffee");
    let (mut visitor, _) = server.visitor().await;

    let saved = as_admin(&server, "/api/messenger_settings_save", ACME).await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    // The open messenger hears it without reloading.
    let look = next_look(&mut visitor).await;
    assert_eq!(look.team_name, "Acme Tea");
    assert_eq!(look.brand_colour, "#ffde00");
    assert_eq!(
        look.brand_text, "#000000",
        "dark text on a light brand colour"
    );
    assert_eq!(look.launcher_side, LauncherSide::Left);
    assert_eq!(look.reply_time, "Usually replies in a few minutes");
    assert_eq!(look.away, None, "no office hours: never away");

    // A new page is drawn with it from the first paint, the colours in a
    // stylesheet the page's nonce allows.
    let page = server.http("GET", "/messenger", &[], "").await;
    assert!(
        page.body
            .contains(":root{--brand:#ffde00;--brand-text:#000000}")
    );
    assert!(page.body.contains("Acme Tea"));
    let policy = page.header("content-security-policy").expect("a CSP");
    assert!(policy.contains("style-src 'self' 'nonce-"), "{policy}");
    assert_eq!(widget_look(&server).await, look);

    // A page that was away (asleep, reconnecting) catches up on connecting.
    let cookie = server.visitor_cookie().await;
    let mut late = server.connect(&cookie, "visitor").await;
    let ServerFrame::Hello { look: seen, .. } = late.hello().await else {
        unreachable!("hello() returns the hello")
    };
    assert_eq!(seen.as_ref(), Some(&look));

    // A bad value is refused with the reason, and changes nothing.
    let mut bad = ACME.to_vec();
    bad[1] = ("form[brand_colour]", "blue-ish");
    let refused = as_admin(&server, "/api/messenger_settings_save", &bad).await;
    assert_eq!(refused.status, 500);
    assert!(refused.body.contains("#rrggbb"), "{}", refused.body);
    assert_eq!(widget_look(&server).await.brand_colour, "#ffde00");

    // A visitor (no admin session) cannot change it.
    let cookie = server.visitor_cookie().await;
    let origin = format!("http://{}", server.addr);
    let stranger = server
        .http(
            "POST",
            "/api/messenger_settings_save",
            &[
                ("Cookie", &cookie),
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            "form[team_name]=Hacked&form[brand_colour]=%23000000&form[greeting]=x",
        )
        .await;
    assert_ne!(stranger.status, 200);
    assert_eq!(widget_look(&server).await.team_name, "Acme Tea");

    // Kept across a restart.
    server.stop().await;
    let again = TestServer::start_on(tempfile::tempdir().unwrap(), database_url, |_| {}).await;
    assert_eq!(widget_look(&again).await, look);
}

#[tokio::test]
async fn outside_office_hours_the_messenger_shows_the_away_message() {
    // Open only on the day after tomorrow (UTC): closed now, whatever the hour.
    let days_since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    // 1970-01-01 was a Thursday (3 days after a Monday).
    let open_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [((days_since_epoch + 3 + 2) % 7) as usize];
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    let day_field = format!("form[{open_day}]");
    let mut fields = ACME.to_vec();
    fields.extend([
        ("form[office_hours]", "on"),
        ("form[time_zone]", "UTC"),
        ("form[opens]", "09:00"),
        ("form[closes]", "17:00"),
        (day_field.as_str(), "on"),
    ]);
    let saved = as_admin(&server, "/api/messenger_settings_save", &fields).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let look = next_look(&mut visitor).await;
    assert_eq!(look.away.as_deref(), Some("We're brewing. Back soon."));

    let mut unknown_zone = fields.clone();
    unknown_zone.retain(|(k, _)| *k != "form[time_zone]");
    unknown_zone.push(("form[time_zone]", "Mars/Olympus_Mons"));
    let refused = as_admin(&server, "/api/messenger_settings_save", &unknown_zone).await;
    assert_eq!(refused.status, 500);
    assert!(refused.body.contains("not a time zone"), "{}", refused.body);
}

/// A socket opened from a page at `origin`.
async fn connect_from(server: &TestServer, cookie: &str, origin: &str) -> bool {
    let mut request = format!("ws://{}/ws?role=visitor", server.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Cookie", HeaderValue::from_str(cookie).unwrap());
    headers.insert("Origin", HeaderValue::from_str(origin).unwrap());
    tokio_tungstenite::connect_async(request).await.is_ok()
}

fn frame_ancestors(page: &common::HttpResponse) -> String {
    let policy = page.header("content-security-policy").expect("a CSP");
    policy
        .split(';')
        .find_map(|d| d.trim().strip_prefix("frame-ancestors "))
        .expect("frame-ancestors")
        .to_owned()
}

#[tokio::test]
async fn sites_an_admin_lists_may_embed_and_connect_and_the_fixed_ones_stay() {
    let server = TestServer::start_configured(|c| {
        c.allowed_origins = vec!["https://fixed.example.com".into()];
    })
    .await;
    let shop = "http://shop.test:9000";
    let cookie = server.visitor_cookie().await;
    let page = server.http("GET", "/messenger", &[], "").await;
    assert_eq!(frame_ancestors(&page), "'self' https://fixed.example.com");
    assert!(!connect_from(&server, &cookie, shop).await);
    assert!(connect_from(&server, &cookie, "https://fixed.example.com").await);

    let saved = as_admin(
        &server,
        "/api/embed_origins_save",
        &[(
            "origins",
            "http://shop.test:9000/\n\nhttps://Other.example.com",
        )],
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let page = server.http("GET", "/messenger", &[], "").await;
    assert_eq!(
        frame_ancestors(&page),
        "'self' https://fixed.example.com http://shop.test:9000 https://other.example.com"
    );
    assert!(connect_from(&server, &cookie, shop).await);
    assert!(!connect_from(&server, &cookie, "http://evil.test").await);

    // Not an origin: refused with the reason; the list stays as it was.
    let refused = as_admin(
        &server,
        "/api/embed_origins_save",
        &[("origins", "https://shop.example.com/checkout")],
    )
    .await;
    assert_eq!(refused.status, 500);
    assert!(
        refused.body.contains("scheme and host only"),
        "{}",
        refused.body
    );
    assert!(connect_from(&server, &cookie, shop).await);

    // Taken off the list: that site can no longer connect.
    let saved = as_admin(&server, "/api/embed_origins_save", &[("origins", "")]).await;
    assert_eq!(saved.status, 200);
    assert!(!connect_from(&server, &cookie, shop).await);
    assert!(connect_from(&server, &cookie, "https://fixed.example.com").await);
}

#[tokio::test]
async fn cookies_are_secure_when_a_trusted_proxy_says_https() {
    let proxied = [("X-Forwarded-Proto", "https")];
    // The test client connects from 127.0.0.1: a proxy on this machine,
    // trusted by default.
    let server = TestServer::start().await;
    let page = server.http("GET", "/messenger", &proxied, "").await;
    let cookie = visitor_cookie_set(&page);
    assert!(cookie.contains("; Secure; Partitioned"), "{cookie}");

    let plain = server
        .http("GET", "/messenger", &[("X-Forwarded-Proto", "http")], "")
        .await;
    let cookie = visitor_cookie_set(&plain);
    assert!(!cookie.contains("Secure"), "{cookie}");

    // The same header from an address that is not a trusted proxy is ignored.
    let strict = TestServer::start_configured(|c| {
        c.https.proxies = minicom::server::config::TrustedProxies::parse("10.0.0.0/8").unwrap();
    })
    .await;
    let page = strict.http("GET", "/messenger", &proxied, "").await;
    let cookie = visitor_cookie_set(&page);
    assert!(!cookie.contains("Secure"), "{cookie}");
}
