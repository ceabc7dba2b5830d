//! The AI assistant against a real server: the real default model (SmolLM2,
//! fetched by `make setup-model`), and OpenAI-compatible endpoints started
//! inside the tests.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, TestServer};
use minicom::protocol::{AssistantState, ClientFrame, Message, SenderKind, ServerFrame};
use minicom::server::config::{AssistantConfig, AssistantEngine, DEFAULT_MODEL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a test waits for the model: generation shares two cores with
/// the other tests.
const MODEL_WAIT: Duration = Duration::from_secs(90);

/// The line visitors (whose messenger named no language) get when the
/// assistant cannot answer.
fn fallback() -> String {
    minicom::i18n::Locale::En.t(minicom::server::assistant::FALLBACK)
}

fn embedded(model: &str) -> AssistantConfig {
    AssistantConfig {
        engine: AssistantEngine::Embedded {
            model: model.into(),
        },
        // Short answers keep the tests quick; the timeout is not under test here.
        max_reply: 48,
        timeout: MODEL_WAIT,
        ..AssistantConfig::off()
    }
}

fn remote(addr: SocketAddr, timeout: Duration) -> AssistantConfig {
    AssistantConfig {
        engine: AssistantEngine::Remote {
            url: format!("http://{addr}"),
            model: "test-model".into(),
            api_key: Some("test-key".into()),
            ca: None,
        },
        timeout,
        ..AssistantConfig::off()
    }
}

async fn with_assistant(config: AssistantConfig) -> TestServer {
    if let AssistantEngine::Embedded { model } = &config.engine
        && model.as_os_str() == DEFAULT_MODEL
    {
        assert!(
            std::path::Path::new(DEFAULT_MODEL).is_file(),
            "the default model is missing: run `make setup-model` (it fetches {DEFAULT_MODEL})"
        );
    }
    TestServer::start_configured(move |c| c.assistant = config).await
}

/// The next message from `sender`.
async fn message_from(client: &mut Client, sender: SenderKind) -> Message {
    client
        .expect_within(MODEL_WAIT, |f| match f {
            ServerFrame::Message { message } if message.sender == sender => Some(message),
            _ => None,
        })
        .await
}

/// The assistant's answer, or the fallback line in its place.
async fn answer_or_fallback(client: &mut Client) -> Message {
    client
        .expect_within(MODEL_WAIT, |f| match f {
            ServerFrame::Message { message }
                if matches!(message.sender, SenderKind::System | SenderKind::Ai) =>
            {
                Some(message)
            }
            _ => None,
        })
        .await
}

/// Waits until the assistant is shown typing (`true`) or stopped (`false`);
/// refreshes of the other state in between are skipped.
async fn assistant_typing(client: &mut Client, shown: bool) {
    client
        .expect_within(MODEL_WAIT, |f| match f {
            ServerFrame::Typing { person, typing, .. }
                if person.kind == SenderKind::Ai && typing == shown =>
            {
                Some(())
            }
            _ => None,
        })
        .await
}

/// Waits for an inbox row update showing `state`.
async fn row_shows(client: &mut Client, state: AssistantState) {
    client
        .expect(|f| match f {
            ServerFrame::Conversation { conversation } if conversation.assistant == state => {
                Some(())
            }
            _ => None,
        })
        .await
}

#[tokio::test]
async fn the_default_model_answers_a_visitor_while_shown_typing() {
    let server = with_assistant(embedded(DEFAULT_MODEL)).await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor
        .first_message("Hi! Do you ship coffee beans abroad?")
        .await;

    assistant_typing(&mut visitor, true).await;
    // The indicator clears before the answer arrives.
    visitor
        .expect_within(MODEL_WAIT, |f| match f {
            ServerFrame::Typing {
                person,
                typing: false,
                ..
            } if person.kind == SenderKind::Ai => Some(()),
            ServerFrame::Message { message } if message.sender == SenderKind::Ai => {
                panic!("the answer came while the assistant was still shown typing")
            }
            _ => None,
        })
        .await;
    let answer = message_from(&mut visitor, SenderKind::Ai).await;
    assert!(!answer.body.trim().is_empty());
    assert_eq!(answer.sender_name, "Assistant");

    // Stored like any message: a fresh tab sees it.
    let mut agent = server.agent().await;
    let history = agent.open(conversation).await;
    assert!(
        history
            .iter()
            .any(|m| m.sender == SenderKind::Ai && m.id == answer.id),
        "{history:?}"
    );
    let metrics = server.metrics().await;
    assert_eq!(metrics.get("minicom_assistant_answers_total"), Some(&1.0));
    assert!(metrics["minicom_assistant_tokens_total"] > 0.0);
}

#[tokio::test]
async fn an_agents_reply_takes_over_from_the_assistant() {
    let server = with_assistant(embedded(DEFAULT_MODEL)).await;
    let mut agent = server.agent().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor.first_message("Hello, is anyone there?").await;
    row_shows(&mut agent, AssistantState::Answering).await;
    message_from(&mut visitor, SenderKind::Ai).await;

    agent
        .say(Some(conversation), "Hi, I'm Ana from the team.")
        .await;
    message_from(&mut visitor, SenderKind::Agent).await;
    row_shows(&mut agent, AssistantState::Human).await;

    // The visitor writes again: the agent hears it, the assistant stays quiet.
    agent.open(conversation).await;
    visitor.say(Some(conversation), "Thanks Ana!").await;
    message_from(&mut agent, SenderKind::Contact).await;
    agent.say(Some(conversation), "You're welcome.").await;
    let next = visitor
        .expect(|f| match f {
            ServerFrame::Message { message } if message.sender != SenderKind::Contact => {
                Some(message)
            }
            ServerFrame::Typing { person, .. } if person.kind == SenderKind::Ai => {
                panic!("the assistant started typing after an agent took over")
            }
            _ => None,
        })
        .await;
    assert_eq!(next.sender, SenderKind::Agent);
}

#[tokio::test]
async fn talk_to_a_person_stops_the_assistant_and_waits_for_the_team() {
    let server = with_assistant(embedded(DEFAULT_MODEL)).await;
    let mut agent = server.agent().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor.first_message("I need help with my order").await;
    row_shows(&mut agent, AssistantState::Answering).await;

    visitor
        .send(&ClientFrame::Handoff {
            conversation_id: conversation,
        })
        .await;
    let notice = message_from(&mut visitor, SenderKind::System).await;
    assert!(notice.body.contains("teammate"), "{}", notice.body);
    row_shows(&mut agent, AssistantState::Waiting).await;
    // Whatever the model was writing is dropped: the typing ends and the
    // next message the visitor gets is the team's.
    agent
        .say(Some(conversation), "Ana here, let me look.")
        .await;
    let next = visitor
        .expect(|f| match f {
            ServerFrame::Message { message } if message.sender != SenderKind::Contact => {
                Some(message)
            }
            _ => None,
        })
        .await;
    assert_eq!(next.sender, SenderKind::Agent, "{next:?}");
}

#[tokio::test]
async fn a_missing_model_gives_the_fallback_line_and_flags_the_conversation() {
    let server = with_assistant(embedded("/nonexistent/model.gguf")).await;
    let mut agent = server.agent().await;
    let (mut visitor, _) = server.visitor().await;
    visitor.first_message("Hello?").await;
    row_shows(&mut agent, AssistantState::Answering).await;

    assistant_typing(&mut visitor, true).await;
    assistant_typing(&mut visitor, false).await;
    let line = message_from(&mut visitor, SenderKind::System).await;
    assert_eq!(line.body, fallback());
    row_shows(&mut agent, AssistantState::Waiting).await;
    let metrics = server.metrics().await;
    assert_eq!(
        metrics.get(r#"minicom_assistant_failures_total{cause="not_configured"}"#),
        Some(&1.0)
    );
}

#[tokio::test]
async fn a_full_queue_gives_the_fallback_at_once() {
    // One worker and no waiting room: a second answer while the first is
    // being written cannot wait.
    let server = with_assistant(AssistantConfig {
        workers: 1,
        queue: 0,
        ..embedded(DEFAULT_MODEL)
    })
    .await;
    // The second visitor must ask while the first answer is still being
    // written; should the model finish that one first (it is fast, and
    // the machine may be idle), they get an answer and the visitors try
    // again, a bounded number of times.
    for attempt in 1..=3 {
        let (mut first, _) = server.visitor().await;
        let (mut second, _) = server.visitor().await;
        first
            .first_message("Tell me about your coffee subscriptions, in detail.")
            .await;
        assistant_typing(&mut first, true).await;
        second.first_message("And do you ship to Canada?").await;
        let answer = answer_or_fallback(&mut second).await;
        if answer.sender == SenderKind::Ai {
            assert!(attempt < 3, "the first answer was always done first");
            // The first one's turn is over: its answer, or the fallback
            // should the model have said nothing.
            answer_or_fallback(&mut first).await;
            continue;
        }
        assert_eq!(answer.body, fallback());
        // The first visitor still gets the model's answer.
        message_from(&mut first, SenderKind::Ai).await;
        let metrics = server.metrics().await;
        assert_eq!(
            metrics.get(r#"minicom_assistant_failures_total{cause="queue_full"}"#),
            Some(&1.0)
        );
        return;
    }
}

/// How the fake OpenAI-compatible endpoint answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Streams these pieces as server-sent events, chunked.
    Stream(&'static [&'static str]),
    /// Answers its nth request "Answer n" once the test lets it go.
    Turns(&'static Turns),
    /// Never answers.
    Hang,
    /// Answers 500.
    Fail,
}

/// Paces [`Behaviour::Turns`]: a permit per answer, and the number of
/// requests that arrived.
struct Turns {
    go: tokio::sync::Semaphore,
    arrived: tokio::sync::watch::Sender<usize>,
}

/// Streams `pieces` as an OpenAI-compatible answer: server-sent events, chunked.
async fn stream_answer(stream: &mut tokio::net::TcpStream, pieces: &[&str]) {
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let mut events: Vec<String> = pieces
        .iter()
        .map(|p| {
            format!(
                "data: {}\n\n",
                serde_json::json!({"choices": [{"delta": {"content": p}}]})
            )
        })
        .collect();
    events.push("data: [DONE]\n\n".into());
    for event in events {
        out.push_str(&format!("{:x}\r\n{event}\r\n", event.len()));
    }
    out.push_str("0\r\n\r\n");
    let _ = stream.write_all(out.as_bytes()).await;
}

/// Reads one HTTP request (the head, then Content-Length bytes of body)
/// and returns its body; `None` if the client went away first.
async fn request_body<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        // Counted in bytes: a read may end inside a character.
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if raw.len() - end - 4 >= length {
                return Some(String::from_utf8_lossy(&raw[end + 4..]).into_owned());
            }
        }
    }
}

/// Starts an endpoint on an ephemeral port; keeps the request bodies it got.
async fn fake_endpoint(behaviour: Behaviour) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let Some(body) = request_body(&mut stream).await else {
                    return;
                };
                let nth = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(body);
                    seen.len()
                };
                match behaviour {
                    Behaviour::Stream(pieces) => stream_answer(&mut stream, pieces).await,
                    Behaviour::Turns(turns) => {
                        turns.arrived.send_replace(nth);
                        turns.go.acquire().await.expect("open").forget();
                        stream_answer(&mut stream, &[&format!("Answer {nth}")]).await;
                    }
                    Behaviour::Hang => {
                        std::future::pending::<()>().await;
                    }
                    Behaviour::Fail => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 14\r\n\r\nmodel exploded")
                            .await;
                    }
                }
            });
        }
    });
    (addr, requests)
}

#[tokio::test]
async fn a_remote_endpoint_streams_the_answer_with_the_conversation_as_context() {
    let (addr, requests) =
        fake_endpoint(Behaviour::Stream(&["Hello", " from", " the cloud."])).await;
    let server = with_assistant(remote(addr, Duration::from_secs(20))).await;
    let (mut visitor, _) = server.visitor().await;
    visitor.first_message("What are your opening hours?").await;
    let answer = message_from(&mut visitor, SenderKind::Ai).await;
    assert_eq!(answer.body, "Hello from the cloud.");

    let request: serde_json::Value =
        serde_json::from_str(&requests.lock().unwrap()[0]).expect("a JSON request");
    assert_eq!(request["stream"], true);
    assert_eq!(request["model"], "test-model");
    let messages = request["messages"].as_array().expect("messages");
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages.last().unwrap()["role"], "user");
    assert_eq!(
        messages.last().unwrap()["content"],
        "What are your opening hours?"
    );
}

#[tokio::test]
async fn a_remote_timeout_gives_the_fallback_without_leaving_typing_on() {
    let (addr, _) = fake_endpoint(Behaviour::Hang).await;
    let server = with_assistant(remote(addr, Duration::from_secs(1))).await;
    let (mut visitor, _) = server.visitor().await;
    visitor.first_message("Hello?").await;
    assistant_typing(&mut visitor, true).await;
    assistant_typing(&mut visitor, false).await;
    assert_eq!(
        message_from(&mut visitor, SenderKind::System).await.body,
        fallback()
    );
    let metrics = server.metrics().await;
    assert_eq!(
        metrics.get(r#"minicom_assistant_failures_total{cause="timeout"}"#),
        Some(&1.0)
    );
}

#[tokio::test]
async fn a_remote_error_gives_the_fallback_and_an_agent_can_switch_the_assistant_back_on() {
    let (addr, _) = fake_endpoint(Behaviour::Fail).await;
    let server = with_assistant(remote(addr, Duration::from_secs(20))).await;
    let mut agent = server.agent().await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor.first_message("Hello?").await;
    assert_eq!(
        message_from(&mut visitor, SenderKind::System).await.body,
        fallback()
    );
    let metrics = server.metrics().await;
    assert_eq!(
        metrics.get(r#"minicom_assistant_failures_total{cause="engine_error"}"#),
        Some(&1.0)
    );

    // Visitors may not flip the switch; agents may.
    visitor
        .send(&ClientFrame::Assistant {
            conversation_id: conversation,
            on: true,
        })
        .await;
    let refused = visitor
        .expect(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .await;
    assert_eq!(refused, minicom::protocol::ErrorCode::AgentsOnly);
    agent
        .send(&ClientFrame::Assistant {
            conversation_id: conversation,
            on: true,
        })
        .await;
    row_shows(&mut agent, AssistantState::Answering).await;
    // It tries again at once (the visitor spoke last) and fails again.
    assistant_typing(&mut visitor, true).await;
    assert_eq!(
        message_from(&mut visitor, SenderKind::System).await.body,
        fallback()
    );
}

/// Issue 12, shutdown order: an answer still being generated when the server
/// stops becomes the fallback line (stored, the conversation waiting for a
/// person) instead of being dropped with the process.
#[tokio::test]
async fn an_answer_in_flight_at_shutdown_becomes_the_fallback_line() {
    let (addr, _) = fake_endpoint(Behaviour::Hang).await;
    let keep = tempfile::tempdir().expect("temp dir");
    let database_url = common::database_url(keep.path(), "minicom");
    let server = TestServer::start_on(
        tempfile::tempdir().expect("temp dir"),
        database_url.clone(),
        |c| {
            c.assistant = remote(addr, Duration::from_secs(600));
        },
    )
    .await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor.first_message("Are you still there?").await;
    assistant_typing(&mut visitor, true).await;
    server.stop().await;

    let store = minicom::server::store::Store::open(&database_url)
        .await
        .expect("reopen the database");
    let (messages, _) = store
        .latest_messages(conversation, 10, minicom::server::store::Audience::Team)
        .await
        .expect("history");
    let last = messages.last().expect("messages");
    assert_eq!(
        (last.sender, last.body.as_str()),
        (SenderKind::System, fallback().as_str())
    );
    assert_eq!(
        store.assistant_state(conversation).await.expect("state"),
        Some(AssistantState::Waiting)
    );
}

static TURNS: std::sync::LazyLock<Turns> = std::sync::LazyLock::new(|| Turns {
    go: tokio::sync::Semaphore::new(0),
    arrived: tokio::sync::watch::Sender::new(0),
});

/// Waits until the endpoint got its `n`th request.
async fn requests_reach(arrived: &mut tokio::sync::watch::Receiver<usize>, n: usize) {
    tokio::time::timeout(MODEL_WAIT, arrived.wait_for(|got| *got >= n))
        .await
        .unwrap_or_else(|_| panic!("request {n} never reached the endpoint"))
        .expect("the endpoint runs");
}

/// With two instances, a visitor's tabs on both, and a message on each:
/// the assistant answers one at a time (a claim in the database), the
/// second answer written after the first with both messages in view, never
/// two answers to the same thing at once.
#[tokio::test]
async fn with_two_instances_the_assistant_answers_one_message_at_a_time() {
    let (addr, requests) = fake_endpoint(Behaviour::Turns(&TURNS)).await;
    let redis = common::redis::Redis::start().await;
    let url = redis.url();
    let adjust = |c: &mut minicom::server::config::Config| {
        c.redis_url = Some(url.clone());
        c.assistant = remote(addr, Duration::from_secs(60));
    };
    let a = TestServer::start_configured(adjust).await;
    let b = TestServer::start_beside(&a, adjust).await;
    let cookie = a.visitor_cookie().await;
    let mut on_a = a.connect(&cookie, "visitor").await;
    let mut on_b = b.connect(&cookie, "visitor").await;

    let conversation = on_a.first_message("first").await;
    let mut arrived = TURNS.arrived.subscribe();
    requests_reach(&mut arrived, 1).await;
    // While instance A writes the first answer, the visitor writes on B.
    on_b.say(Some(conversation), "second").await;
    on_b.expect(|f| match f {
        ServerFrame::Ack { .. } => Some(()),
        _ => None,
    })
    .await;
    TURNS.go.add_permits(1);
    assert_eq!(
        message_from(&mut on_a, SenderKind::Ai).await.body,
        "Answer 1"
    );
    requests_reach(&mut arrived, 2).await;
    TURNS.go.add_permits(1);
    assert_eq!(
        message_from(&mut on_a, SenderKind::Ai).await.body,
        "Answer 2"
    );

    let bodies = requests.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "one answer per turn: {bodies:?}");
    assert!(
        bodies[1].contains("Answer 1") && bodies[1].contains("second"),
        "the second answer was asked for after the first was posted: {}",
        bodies[1]
    );
}

/// A visitor whose messenger is in Spanish: the model is asked to answer
/// in Spanish, and Minicom's own lines (a person asked for, an answer that
/// failed) are written in it, for the visitor and the team alike.
#[tokio::test]
async fn a_visitors_language_reaches_the_model_and_minicoms_own_lines() {
    let (addr, requests) = fake_endpoint(Behaviour::Stream(&["Hola, ", "¿en qué te ayudo?"])).await;
    let server = with_assistant(remote(addr, Duration::from_secs(20))).await;
    let cookie = server.visitor_cookie().await;
    // The messenger names its language on the socket (`lang=es`).
    let mut visitor = server.connect(&cookie, "visitor&lang=es").await;
    visitor.hello().await;
    visitor.first_message("Hola").await;
    message_from(&mut visitor, SenderKind::Ai).await;
    let request: serde_json::Value =
        serde_json::from_str(&requests.lock().unwrap()[0]).expect("a JSON request");
    let system = request["messages"][0]["content"]
        .as_str()
        .expect("instructions");
    assert!(system.contains("answer in Spanish"), "{system}");

    // A person asked for: the line is Spanish.
    let (addr, _) = fake_endpoint(Behaviour::Hang).await;
    let server = with_assistant(remote(addr, Duration::from_secs(20))).await;
    let cookie = server.visitor_cookie().await;
    let mut visitor = server.connect(&cookie, "visitor&lang=es").await;
    visitor.hello().await;
    let conversation = visitor.first_message("Hola").await;
    assistant_typing(&mut visitor, true).await;
    visitor
        .send(&ClientFrame::Handoff {
            conversation_id: conversation,
        })
        .await;
    let line = message_from(&mut visitor, SenderKind::System).await;
    assert_eq!(
        line.body,
        minicom::i18n::Locale::Es.t(minicom::server::assistant::HANDED_OVER)
    );
    assert!(
        line.body.starts_with("He pedido al equipo"),
        "{}",
        line.body
    );

    // An answer that fails: the fallback is Spanish too.
    let (addr, _) = fake_endpoint(Behaviour::Fail).await;
    let server = with_assistant(remote(addr, Duration::from_secs(20))).await;
    let cookie = server.visitor_cookie().await;
    let mut visitor = server.connect(&cookie, "visitor&lang=es").await;
    visitor.hello().await;
    visitor.first_message("Hola").await;
    assert_eq!(
        message_from(&mut visitor, SenderKind::System).await.body,
        "Alguien del equipo te responderá aquí pronto."
    );
}

/// A local https endpoint with a certificate made for the test: it sends
/// the first words, then the rest once `go` allows. Returns its address,
/// the certificate (PEM) to trust, and the count of handshakes a client
/// broke off (one that does not trust the certificate).
async fn https_endpoint(
    go: Arc<tokio::sync::Semaphore>,
) -> (SocketAddr, String, tokio::sync::watch::Receiver<usize>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let key =
        tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer::from(signing_key.serialize_der());
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key.into())
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (refused, refusals) = tokio::sync::watch::channel(0);
    let refused = Arc::new(refused);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let go = go.clone();
            let refused = refused.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    refused.send_modify(|n| *n += 1);
                    return;
                };
                if request_body(&mut tls).await.is_none() {
                    return;
                }
                let event = |text: &str| {
                    let data = format!(
                        "data: {}\n\n",
                        serde_json::json!({"choices": [{"delta": {"content": text}}]})
                    );
                    format!("{:x}\r\n{data}\r\n", data.len())
                };
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
                let _ = tls
                    .write_all(format!("{head}{}", event("Hola, ")).as_bytes())
                    .await;
                let _ = tls.flush().await;
                go.acquire().await.expect("open").forget();
                let done = "data: [DONE]\n\n";
                let _ = tls
                    .write_all(
                        format!(
                            "{}{:x}\r\n{done}\r\n0\r\n\r\n",
                            event("¿en qué te ayudo?"),
                            done.len()
                        )
                        .as_bytes(),
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, cert.pem(), refusals)
}

/// Issue 22: a hosted model over https. The endpoint's certificate is
/// trusted through MINICOM_ASSISTANT_CA; its answer streams to the visitor
/// as it is written. Without the certificate trusted, the visitor gets the
/// fallback line.
#[tokio::test]
async fn an_https_endpoint_streams_its_answer_when_its_certificate_is_trusted() {
    let go = Arc::new(tokio::sync::Semaphore::new(0));
    let (addr, pem, mut refusals) = https_endpoint(go.clone()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pem).expect("write the certificate");
    let https = |ca: Option<std::path::PathBuf>| AssistantConfig {
        engine: AssistantEngine::Remote {
            url: format!("https://{addr}/v1"),
            model: "test-model".into(),
            api_key: Some("test-key".into()),
            ca,
        },
        timeout: Duration::from_secs(20),
        ..AssistantConfig::off()
    };

    let server = with_assistant(https(Some(ca))).await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor.first_message("Hola").await;
    // The first words are shown while the rest is still being written.
    let draft = visitor
        .expect_within(MODEL_WAIT, |f| match f {
            ServerFrame::Draft {
                conversation_id,
                text,
            } if conversation_id == conversation && !text.is_empty() => Some(text),
            _ => None,
        })
        .await;
    assert_eq!(draft.trim_end(), "Hola,");
    go.add_permits(1);
    let answer = message_from(&mut visitor, SenderKind::Ai).await;
    assert_eq!(answer.body, "Hola, ¿en qué te ayudo?");

    // The same endpoint, its certificate not trusted: Minicom breaks the
    // handshake off, and the visitor gets the fallback line.
    assert_eq!(*refusals.borrow(), 0);
    let server = with_assistant(https(None)).await;
    let (mut visitor, _) = server.visitor().await;
    visitor.first_message("Hola").await;
    assert_eq!(
        message_from(&mut visitor, SenderKind::System).await.body,
        fallback()
    );
    refusals
        .wait_for(|n| *n >= 1)
        .await
        .expect("the endpoint runs");
    let metrics = server.metrics().await;
    assert_eq!(
        metrics.get(r#"minicom_assistant_failures_total{cause="engine_error"}"#),
        Some(&1.0)
    );
}
