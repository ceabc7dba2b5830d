//! A real Minicom server on an ephemeral port with a temporary SQLite file, and
//! a real WebSocket client that speaks the public protocol.

#![allow(dead_code)]

pub mod nginx;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod workflow;

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use minicom::protocol::{
    ClientFrame, ClientId, ConversationId, ErrorCode, Message, MessageId, ServerFrame,
};
use minicom::server::{self, config::Config, store::Store};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The first admin every test server starts with.
pub const ADMIN_EMAIL: &str = "admin@minicom.test";
pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";
/// The identity secret every test server signs visitors' user ids with.
pub const IDENTITY_SECRET: &str = "test-identity-secret";

/// Rate limits lifted, for tests that stream many messages from one socket
/// (the limits themselves are tested in `trust.rs`). As environment variables
/// for a server run as a child process.
pub const NO_RATE_LIMITS: [(&str, &str); 5] = [
    ("MINICOM_LIMIT_SENDS_PER_SECOND", "1000000"),
    ("MINICOM_LIMIT_SEND_BURST", "1000000"),
    ("MINICOM_LIMIT_SENDS_PER_MINUTE", "1000000"),
    ("MINICOM_LIMIT_FRAMES_PER_SECOND", "1000000"),
    ("MINICOM_LIMIT_NEW_VISITORS_PER_IP_HOUR", "1000000"),
];

/// The same, for a server started in the test process.
pub fn without_rate_limits(config: &mut Config) {
    let limits = &mut config.limits;
    limits.sends_per_second = 1_000_000;
    limits.send_burst = 1_000_000;
    limits.sends_per_minute = 1_000_000;
    limits.frames_per_second = 1_000_000;
    limits.reactions_per_second = 1_000_000;
    limits.new_visitors_per_ip_hour = 1_000_000;
}

/// How long a test waits for an expected frame before failing.
const WAIT: Duration = Duration::from_secs(10);

/// A running server; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The server's database (for setting up fixtures such as more agents).
    store: Option<Store>,
    /// Where that database lives (`sqlite://…` or `postgres://…`).
    pub database_url: String,
    _dir: tempfile::TempDir,
}

/// A new database for a test: a file `name.db` in `dir`, or a fresh
/// database on this test program's PostgreSQL cluster when the run stores
/// in PostgreSQL (`MINICOM_TEST_ENGINE=postgres`).
pub fn database_url(dir: &std::path::Path, name: &str) -> String {
    if postgres::selected() {
        postgres::shared().fresh_database()
    } else {
        format!("sqlite://{}", dir.join(format!("{name}.db")).display())
    }
}

/// The configuration every test server starts from.
fn test_config(addr: SocketAddr, database_url: String) -> Config {
    Config {
        addr,
        database_url,
        admin_email: ADMIN_EMAIL.into(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        https: Default::default(),
        log: "warn".into(),
        log_json: false,
        max_sockets: None,
        durability: minicom::server::store::Durability::Full,
        edit_window_minutes: 15,
        limits: Default::default(),
        files: Default::default(),
        allowed_origins: Vec::new(),
        identity_secret: Some(IDENTITY_SECRET.into()),
        redis_url: None,
        // A test's servers are on one bus (Redis) or are the only one.
        single_instance: true,
        require_verified: false,
        assistant: minicom::server::config::AssistantConfig::off(),
        backup: None,
        retention_days: None,
        webhooks: Default::default(),
        email: None,
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(minicom::server::store::Durability::Full).await
    }

    pub async fn start_with(durability: minicom::server::store::Durability) -> Self {
        Self::start_configured(|config| config.durability = durability).await
    }

    /// A server without rate limits (see [`without_rate_limits`]).
    pub async fn start_unlimited() -> Self {
        Self::start_configured(without_rate_limits).await
    }

    /// A server whose configuration `adjust` changes first.
    pub async fn start_configured(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = database_url(dir.path(), "minicom");
        Self::start_on(dir, database_url, adjust).await
    }

    /// A server on the database at `database_url` (kept with `dir`).
    pub async fn start_on(
        dir: tempfile::TempDir,
        database_url: String,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut config = test_config(addr, database_url.clone());
        adjust(&mut config);
        let store = Store::open_with(&database_url, config.durability)
            .await
            .expect("open store");
        server::ensure_admin(&store, &config).await.expect("admin");
        Self::serve(config, store, listener, dir, database_url)
    }

    fn serve(
        config: Config,
        store: Store,
        listener: tokio::net::TcpListener,
        dir: tempfile::TempDir,
        database_url: String,
    ) -> Self {
        let addr = config.addr;
        let mut leptos = leptos::config::get_configuration(Some("Leptos.toml"))
            .expect("Leptos.toml")
            .leptos_options;
        leptos.site_addr = addr;
        // Each server serves its own (empty) site folder, so no test depends
        // on what a build left in target/site.
        leptos.site_root = dir
            .path()
            .join("site")
            .to_string_lossy()
            .into_owned()
            .into();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(
            config,
            store.clone(),
            leptos,
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
            store: Some(store),
            database_url,
            _dir: dir,
        }
    }

    /// A second instance of `first`'s service: its own listener, hub, bus
    /// client and connections (and writer) to the same database, as another
    /// process would have. Both must be on one Redis bus (`adjust` sets
    /// `redis_url`) to behave as one service.
    pub async fn start_beside(first: &TestServer, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut config = test_config(addr, first.database_url.clone());
        adjust(&mut config);
        let store = Store::open_with(&first.database_url, config.durability)
            .await
            .expect("open store");
        Self::serve(config, store, listener, dir, first.database_url.clone())
    }

    /// The server's database (started by this test).
    pub fn store(&self) -> &Store {
        self.store.as_ref().expect("a server started by this test")
    }

    /// The folder this server's static files (`/pkg/…`) are served from.
    pub fn site_pkg_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("site").join("pkg")
    }

    /// A handle on a server started elsewhere (e.g. a child process); stopping
    /// it is the caller's business.
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            addr,
            stop: None,
            task: None,
            store: None,
            database_url: String::new(),
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Stops the server and hands back its data folder and database URL, to
    /// start another server on the same data.
    pub async fn stop_keeping_data(mut self) -> (tempfile::TempDir, String) {
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().expect("temp dir"));
        let url = self.database_url.clone();
        self.stop().await;
        (dir, url)
    }

    /// Closes the server's database pool under it (to see how it copes).
    pub async fn close_database(&self) {
        self.store
            .as_ref()
            .expect("a server started by this test")
            .close()
            .await;
    }

    /// The server's `/metrics`, parsed: `name{labels}` → value.
    pub async fn metrics(&self) -> std::collections::HashMap<String, f64> {
        let response = self.http("GET", "/metrics", &[], "").await;
        assert_eq!(response.status, 200);
        response
            .body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.rsplit_once(' '))
            .map(|(k, v)| (k.to_owned(), v.parse().expect("numeric sample")))
            .collect()
    }

    /// A plain HTTP/1.1 request; returns status, headers and body.
    pub async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpResponse {
        let raw = self
            .http_bytes(method, path, headers, body.as_bytes())
            .await;
        HttpResponse {
            status: raw.status,
            headers: raw.headers,
            body: String::from_utf8_lossy(&raw.body).into_owned(),
        }
    }

    /// An HTTP/1.1 request with a body of any bytes (a file); the answer's
    /// body as it came.
    pub async fn http_bytes(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> BinaryResponse {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = http_client()
            .request(method, format!("http://{}{path}", self.addr))
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = tokio::time::timeout(WAIT, request.send())
            .await
            .expect("response in time")
            .expect("an HTTP response");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), v)
            })
            .collect();
        let body = tokio::time::timeout(WAIT, response.bytes())
            .await
            .expect("body in time")
            .expect("the whole body");
        BinaryResponse {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    /// A new visitor's cookie, as a browser gets it by loading the messenger.
    pub async fn visitor_cookie(&self) -> String {
        let response = self.http("GET", "/messenger", &[], "").await;
        response
            .cookie("minicom_visitor")
            .expect("visitor cookie on first visit")
    }

    /// Posts a server function's form with a session cookie (from this
    /// server's own origin, as its pages do).
    pub async fn post_form(
        &self,
        cookie: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> HttpResponse {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let origin = format!("http://{}", self.addr);
        self.http(
            "POST",
            path,
            &[
                ("Cookie", cookie),
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            &body,
        )
        .await
    }

    /// Uploads a file as the messenger or the inbox does (`POST /files`,
    /// for `conversation` or the visitor's next one).
    pub async fn upload(
        &self,
        cookie: &str,
        conversation: Option<ConversationId>,
        name: &str,
        bytes: &[u8],
    ) -> BinaryResponse {
        let path = match conversation {
            Some(c) => format!("/files?conversation={}", c.0),
            None => "/files".to_owned(),
        };
        let name = minicom::protocol::url_segment(name);
        self.http_bytes(
            "POST",
            &path,
            &[("Cookie", cookie), ("X-File-Name", &name)],
            bytes,
        )
        .await
    }

    /// What the inbox's contact panel shows about a conversation's visitor,
    /// as the teammate with `cookie` asks for it.
    pub async fn contact_panel(
        &self,
        cookie: &str,
        conversation: ConversationId,
    ) -> minicom::protocol::ContactPanel {
        let response = self
            .post_form(
                cookie,
                "/api/contact_panel",
                &[("conversation", &conversation.0.to_string())],
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        serde_json::from_str(&response.text()).expect("a contact panel")
    }

    /// Signs in and returns the session cookie.
    pub async fn agent_cookie(&self) -> String {
        let response = self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(response.status, 303);
        response
            .cookie("minicom_session")
            .expect("session cookie after sign-in")
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> HttpResponse {
        let body = format!(
            "email={}&password={}",
            urlencode(email),
            urlencode(password)
        );
        self.http(
            "POST",
            "/auth/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &body,
        )
        .await
    }

    /// Opens `/ws` with a cookie; panics if the upgrade is refused.
    pub async fn connect(&self, cookie: &str, role: &str) -> Client {
        self.try_connect(cookie, role)
            .await
            .expect("socket upgrade")
    }

    pub async fn try_connect(
        &self,
        cookie: &str,
        role: &str,
    ) -> Result<Client, tungstenite::Error> {
        self.try_connect_with(cookie, role, &[]).await
    }

    /// Opens `/ws` with a cookie and more request headers (a browser's
    /// `User-Agent`).
    pub async fn try_connect_with(
        &self,
        cookie: &str,
        role: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Client, tungstenite::Error> {
        let mut request = format!("ws://{}/ws?role={role}", self.addr)
            .into_client_request()
            .expect("request");
        if !cookie.is_empty() {
            request.headers_mut().insert(
                "Cookie",
                HeaderValue::from_str(cookie).expect("cookie header"),
            );
        }
        for &(name, value) in headers {
            request
                .headers_mut()
                .insert(name, HeaderValue::from_str(value).expect("header value"));
        }
        let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
        Ok(Client { ws })
    }

    /// A socket that reads nothing: a tiny receive buffer and nobody polling it.
    pub async fn connect_stalled(&self, cookie: &str, role: &str) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("small buffer");
        let stream = socket.connect(self.addr).await.expect("connect");
        let mut request = format!("ws://{}/ws?role={role}", self.addr)
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "Cookie",
            HeaderValue::from_str(cookie).expect("cookie header"),
        );
        let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .expect("upgrade");
        Client { ws }
    }

    /// A visitor socket, past its `hello`.
    pub async fn visitor(&self) -> (Client, String) {
        let cookie = self.visitor_cookie().await;
        let mut client = self.connect(&cookie, "visitor").await;
        client.hello().await;
        (client, cookie)
    }

    /// Adds a teammate called `name` and returns their signed-in socket and
    /// its `hello`.
    pub async fn agent_named(&self, name: &str) -> (Client, ServerFrame) {
        let email = format!("{}@minicom.test", name.to_lowercase());
        let hash = minicom::server::auth::hash_password(ADMIN_PASSWORD).expect("hash");
        self.store
            .as_ref()
            .expect("a server started by this test")
            .create_agent(&email, name, &hash, minicom::server::store::Role::Agent)
            .await
            .expect("create agent");
        let response = self.sign_in(&email, ADMIN_PASSWORD).await;
        let cookie = response
            .cookie("minicom_session")
            .expect("session cookie after sign-in");
        let mut client = self.connect(&cookie, "agent").await;
        let hello = client.hello().await;
        (client, hello)
    }

    /// An agent socket, past its `hello`.
    pub async fn agent(&self) -> Client {
        let cookie = self.agent_cookie().await;
        let mut client = self.connect(&cookie, "agent").await;
        client.hello().await;
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A plain HTTP client for one request: no redirects followed (tests look
/// at them), no proxy, no connection kept (each test has its own runtime).
fn http_client() -> reqwest::Client {
    let tls = minicom::server::outbound::tls(None).expect("TLS roots");
    minicom::server::outbound::client(tls)
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client")
}

/// An answer whose body may be any bytes.
pub struct BinaryResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl BinaryResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The body (its chunks joined if it came chunked).
    pub fn text(&self) -> String {
        self.body.clone()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name=value` of a cookie the response sets.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
            .find(|pair| pair.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How a socket ended.
#[derive(Debug)]
pub enum Closed {
    Code(CloseCode, String),
    Dropped,
}

/// A WebSocket client speaking Minicom's protocol.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_text(&serde_json::to_string(frame).expect("encode"))
            .await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(WsMessage::text(text))
            .await
            .expect("send frame");
    }

    pub async fn send_raw(&mut self, message: WsMessage) -> Result<(), tungstenite::Error> {
        self.ws.send(message).await
    }

    /// Sends a message and returns its client id.
    /// Sends `count` messages ("<prefix> 1", "<prefix> 2", …) to
    /// `conversation`, 200 at a time, each batch waiting for its acks.
    pub async fn say_many(&mut self, conversation: ConversationId, count: usize, prefix: &str) {
        let window = 200;
        for start in (0..count).step_by(window) {
            let n = window.min(count - start);
            for i in 0..n {
                self.send(&ClientFrame::Send {
                    conversation_id: Some(conversation),
                    client_id: ClientId::new(),
                    body: format!("{prefix} {}", start + i + 1),
                    new_conversation: false,
                    note: false,
                    attachments: Vec::new(),
                })
                .await;
            }
            for _ in 0..n {
                self.expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
                    .await;
            }
        }
    }

    /// Sends a message carrying uploaded files (by id) and waits for its
    /// ack; a refusal fails the test.
    pub async fn send_files(
        &mut self,
        conversation: Option<ConversationId>,
        body: &str,
        ids: &[&str],
    ) -> Message {
        let client_id = ClientId::new();
        self.send(&ClientFrame::Send {
            conversation_id: conversation,
            client_id,
            body: body.into(),
            new_conversation: false,
            note: false,
            attachments: ids.iter().map(|s| s.to_string()).collect(),
        })
        .await;
        self.expect(|f| match f {
            ServerFrame::Ack {
                client_id: c,
                message,
            } if c == client_id => Some(message),
            ServerFrame::Error { code, message, .. } => panic!("refused: {code:?} {message}"),
            _ => None,
        })
        .await
    }

    /// A visitor's first message, starting a conversation; its id.
    pub async fn first_message(&mut self, body: &str) -> ConversationId {
        self.say(None, body).await;
        self.expect(|f| match f {
            ServerFrame::Ack { message, .. } => Some(message.conversation_id),
            _ => None,
        })
        .await
    }

    /// Writes a private note (the team's sockets only).
    pub async fn note(&mut self, conversation: ConversationId, body: &str) {
        self.send(&ClientFrame::Send {
            conversation_id: Some(conversation),
            client_id: ClientId::new(),
            body: body.into(),
            new_conversation: false,
            note: true,
            attachments: Vec::new(),
        })
        .await;
    }

    pub async fn say(&mut self, conversation: Option<ConversationId>, body: &str) -> ClientId {
        let client_id = ClientId::new();
        self.send(&ClientFrame::Send {
            conversation_id: conversation,
            client_id,
            body: body.into(),
            new_conversation: false,
            note: false,
            attachments: Vec::new(),
        })
        .await;
        client_id
    }

    /// The next server frame; fails the test after the wait.
    pub async fn next(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .expect("readable frame");
            match message {
                WsMessage::Text(text) => {
                    return serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("undecodable frame {text}: {e}"));
                }
                WsMessage::Close(frame) => panic!("socket closed unexpectedly: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// Skips frames until one matches; returns what `pick` extracted.
    pub async fn expect<T>(&mut self, pick: impl FnMut(ServerFrame) -> Option<T>) -> T {
        self.expect_within(WAIT, pick).await
    }

    /// Like [`Client::expect`], waiting up to `wait` (for slow producers such
    /// as a language model on a busy machine).
    pub async fn expect_within<T>(
        &mut self,
        wait: Duration,
        mut pick: impl FnMut(ServerFrame) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let text = self.next_text_until(deadline).await;
            let frame = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("undecodable frame {text}: {e}"));
            if let Some(found) = pick(frame) {
                return found;
            }
        }
    }

    /// The next text frame as sent; fails the test at `deadline` or when the
    /// socket closes.
    async fn next_text_until(&mut self, deadline: tokio::time::Instant) -> String {
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("expected frame did not arrive")
                .expect("socket open")
                .expect("readable frame");
            match message {
                WsMessage::Text(text) => return text.to_string(),
                WsMessage::Close(frame) => panic!("socket closed unexpectedly: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// Sends `resume` and collects every changed message of the answer (its
    /// `changes` pages, up to the one that says `done`), in change order.
    pub async fn resume(&mut self, conversation_id: ConversationId, since: i64) -> Vec<Message> {
        self.send(&ClientFrame::Resume {
            conversation_id,
            since,
        })
        .await;
        let mut all = Vec::new();
        loop {
            let (page, done) = self
                .expect(|f| match f {
                    ServerFrame::Changes { messages, done, .. } => Some((messages, done)),
                    _ => None,
                })
                .await;
            all.extend(page);
            if done {
                return all;
            }
        }
    }

    /// Skips frames until one whose raw text `pick` accepts; returns that text
    /// (to measure what went over the wire).
    pub async fn expect_text(&mut self, mut pick: impl FnMut(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let text = self.next_text_until(deadline).await;
            if pick(&text) {
                return text;
            }
        }
    }

    /// Waits for the live `message` frame carrying message `id` (a person's own
    /// tabs receive their messages too; other frames are skipped).
    pub async fn expect_message(&mut self, id: MessageId) -> Message {
        self.expect(|f| match f {
            ServerFrame::Message { message } if message.id == id => Some(message),
            _ => None,
        })
        .await
    }

    /// Opens a conversation and returns its newest messages.
    pub async fn open(&mut self, conversation_id: ConversationId) -> Vec<Message> {
        self.send(&ClientFrame::Open { conversation_id }).await;
        self.expect(|f| match f {
            ServerFrame::History { messages, .. } => Some(messages),
            _ => None,
        })
        .await
    }

    /// The next frame, which must be an `error`: its code and `client_id`.
    /// (Presence changes come whenever people come and go; they are skipped.)
    pub async fn refused(&mut self) -> (ErrorCode, Option<ClientId>) {
        loop {
            match self.next().await {
                ServerFrame::Error {
                    code, client_id, ..
                } => return (code, client_id),
                ServerFrame::Presence { .. } | ServerFrame::TeamPresence { .. } => continue,
                other => panic!("expected an error frame, got {other:?}"),
            }
        }
    }

    pub async fn hello(&mut self) -> ServerFrame {
        match self.next().await {
            frame @ ServerFrame::Hello { .. } => frame,
            other => panic!("expected hello, got {other:?}"),
        }
    }

    /// The next frame, or how the socket ended.
    pub async fn next_or_close(&mut self) -> Result<ServerFrame, Closed> {
        self.next_or_close_within(WAIT).await
    }

    /// Like [`Client::next_or_close`], waiting up to `wait` for each frame.
    pub async fn next_or_close_within(&mut self, wait: Duration) -> Result<ServerFrame, Closed> {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next())
                .await
                .expect("a frame or a close in time");
            match next {
                Some(Ok(WsMessage::Text(text))) => {
                    return Ok(serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("undecodable frame {text}: {e}")));
                }
                Some(Ok(WsMessage::Close(Some(frame)))) => {
                    return Err(Closed::Code(frame.code, frame.reason.to_string()));
                }
                Some(Ok(WsMessage::Close(None))) | None | Some(Err(_)) => {
                    return Err(Closed::Dropped);
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Closes the socket the way a browser tab does.
    pub async fn close(&mut self) {
        let _ = self.ws.close(None).await;
        while let Ok(Some(_)) = tokio::time::timeout(WAIT, self.ws.next()).await {}
    }

    /// Waits for how the socket ends.
    pub async fn closed(&mut self) -> Closed {
        self.closed_within(WAIT).await
    }

    /// Like [`Client::closed`], waiting up to `wait`.
    pub async fn closed_within(&mut self, wait: Duration) -> Closed {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next())
                .await
                .expect("socket to close in time");
            match next {
                Some(Ok(WsMessage::Close(Some(frame)))) => {
                    return Closed::Code(frame.code, frame.reason.to_string());
                }
                Some(Ok(WsMessage::Close(None))) | None | Some(Err(_)) => return Closed::Dropped,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Sends a ping frame and waits for its pong: the connection is alive and
    /// every earlier frame has been handled.
    pub async fn round_trip(&mut self) {
        self.send(&ClientFrame::Ping).await;
        self.expect(|f| matches!(f, ServerFrame::Pong).then_some(()))
            .await;
    }
}
