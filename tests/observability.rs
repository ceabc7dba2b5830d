//! What an operator sees: `/healthz`, `/readyz`, `/metrics`, the socket limit
//! and the logs.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Closed, TestServer};
use minicom::protocol::{ClientFrame, ServerFrame};

/// Polls `/metrics` until `done` holds (10 s at most).
async fn metrics_until(
    server: &TestServer,
    what: &str,
    done: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = server.metrics().await;
        if done(&metrics) {
            return metrics;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metrics never showed {what}: {metrics:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn value(metrics: &HashMap<String, f64>, key: &str) -> f64 {
    metrics.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn health_says_alive_and_readiness_notices_a_dead_database() {
    let server = TestServer::start().await;
    let health = server.http("GET", "/healthz", &[], "").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let ready = server.http("GET", "/readyz", &[], "").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));

    server.close_database().await;
    let ready = server.http("GET", "/readyz", &[], "").await;
    assert_eq!(ready.status, 503);
    assert!(
        ready.body.contains("database"),
        "says what is wrong: {}",
        ready.body
    );
    // Alive, just not ready.
    assert_eq!(server.http("GET", "/healthz", &[], "").await.status, 200);
}

#[tokio::test]
async fn metrics_count_sockets_frames_messages_and_latencies() {
    let server = TestServer::start().await;
    let response = server.http("GET", "/metrics", &[], "").await;
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text; version=1.0.0")),
        "OpenMetrics text format"
    );
    assert!(response.body.ends_with("# EOF\n"), "{}", response.body);
    let (mut visitor, _) = server.visitor().await;
    let mut agent = server.agent().await;
    let metrics = server.metrics().await;
    assert_eq!(
        value(&metrics, r#"minicom_sockets_open{kind="visitor"}"#),
        1.0
    );
    assert_eq!(
        value(&metrics, r#"minicom_sockets_open{kind="agent"}"#),
        1.0
    );

    visitor.say(None, "first").await;
    let conversation = visitor
        .expect(|f| match f {
            ServerFrame::Ack { message, .. } => Some(message.conversation_id),
            _ => None,
        })
        .await;
    agent.open(conversation).await;
    for body in ["second", "third"] {
        visitor.say(Some(conversation), body).await;
        agent
            .expect(|f| match f {
                ServerFrame::Message { message } if message.body == body => Some(()),
                _ => None,
            })
            .await;
    }
    visitor.send_text("{not json").await;
    visitor
        .expect(|f| matches!(f, ServerFrame::Error { .. }).then_some(()))
        .await;

    let metrics = server.metrics().await;
    assert_eq!(value(&metrics, "minicom_messages_stored_total"), 3.0);
    assert_eq!(
        value(&metrics, r#"minicom_frames_in_total{type="send"}"#),
        3.0
    );
    assert_eq!(
        value(&metrics, r#"minicom_frames_in_total{type="open"}"#),
        1.0
    );
    assert_eq!(
        value(&metrics, r#"minicom_frames_in_total{type="invalid"}"#),
        1.0
    );
    assert_eq!(
        value(&metrics, r#"minicom_frames_out_total{type="ack"}"#),
        3.0
    );
    assert_eq!(
        value(&metrics, r#"minicom_frames_out_total{type="hello"}"#),
        2.0
    );
    assert_eq!(
        value(&metrics, r#"minicom_frames_out_total{type="error"}"#),
        1.0
    );
    // The agent watched the last two; the visitor's own tab gets all three.
    assert_eq!(
        value(&metrics, r#"minicom_frames_out_total{type="message"}"#),
        5.0
    );
    assert_eq!(value(&metrics, "minicom_send_fanout_seconds_count"), 3.0);
    assert!(value(&metrics, "minicom_send_fanout_seconds_sum") > 0.0);
    assert!(
        value(
            &metrics,
            r#"minicom_db_query_seconds_count{query="commit"}"#
        ) >= 1.0
    );
    assert_eq!(
        value(&metrics, r#"minicom_db_query_seconds_count{query="hello"}"#),
        2.0
    );
    assert_eq!(
        value(
            &metrics,
            r#"minicom_db_query_seconds_count{query="history"}"#
        ),
        1.0
    );
    assert!(value(&metrics, "minicom_bus_publish_seconds_count") >= 3.0);
    assert_eq!(value(&metrics, "minicom_queue_drops_total"), 0.0);
    assert!(value(&metrics, "process_resident_memory_bytes") > 1_000_000.0);
    assert!(value(&metrics, "process_open_fds") >= 3.0);
    assert!(value(&metrics, "minicom_socket_budget") >= 1.0);
}

#[tokio::test]
async fn rate_limit_refusals_are_counted_by_limit() {
    let server = TestServer::start().await;
    let (mut visitor, _) = server.visitor().await;
    // The default burst is 20 messages: 30 at once go over it.
    for i in 0..30 {
        visitor.say(None, &format!("m{i}")).await;
    }
    visitor
        .expect(|f| match f {
            ServerFrame::Error {
                code: minicom::protocol::ErrorCode::RateLimited,
                ..
            } => Some(()),
            _ => None,
        })
        .await;
    let metrics = server.metrics().await;
    assert!(value(&metrics, r#"minicom_rate_limited_total{limit="send"}"#) >= 1.0);
}

#[tokio::test]
async fn a_full_server_refuses_new_sockets_with_a_reason_and_recovers() {
    let server = TestServer::start_configured(|c| c.max_sockets = Some(2)).await;
    let (mut first, _) = server.visitor().await;
    let (_second, _) = server.visitor().await;

    let cookie = server.visitor_cookie().await;
    let mut third = server.connect(&cookie, "visitor").await;
    match third.next_or_close().await {
        Err(Closed::Code(code, reason)) => {
            assert_eq!(u16::from(code), 1013, "try again later");
            assert!(reason.contains("connection limit"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let metrics = server.metrics().await;
    assert_eq!(
        value(
            &metrics,
            r#"minicom_sockets_refused_total{reason="server_full"}"#
        ),
        1.0
    );

    // Room again once someone leaves.
    first.close().await;
    metrics_until(&server, "one socket closed", |m| {
        value(m, r#"minicom_sockets_open{kind="visitor"}"#) == 1.0
    })
    .await;
    let mut fourth = server.connect(&cookie, "visitor").await;
    fourth.hello().await;
}

#[tokio::test]
async fn json_logs_name_the_connection_and_never_hold_message_bodies() {
    use tokio::io::AsyncBufReadExt;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_minicom"))
        .env("MINICOM_ADDR", addr.to_string())
        .env("DATABASE_URL", common::database_url(dir.path(), "logs"))
        .env("MINICOM_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("MINICOM_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("MINICOM_INSTANCES", "1")
        .env("MINICOM_LOG", "debug,sqlx=warn,hyper=warn,tower=warn")
        .env("MINICOM_LOG_FORMAT", "json")
        .env("MINICOM_ASSISTANT", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the minicom binary");
    // Drain stderr continuously (a full pipe would stall the server).
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Ready once it says it is serving.
    let mut log = Vec::new();
    while !log
        .iter()
        .any(|l: &String| l.contains("Minicom is serving"))
    {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.recv())
            .await
            .expect("the server logs within 20 s")
            .expect("the server keeps running");
        log.push(line);
    }
    let server = TestServer::at(addr);
    let (mut visitor, _) = server.visitor().await;
    visitor
        .say(None, "my secret is zebra-quokka-marmalade")
        .await;
    visitor
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    visitor.send(&ClientFrame::Ping).await;
    visitor.close().await;
    // The socket's last line is written when it closes.
    while !log.iter().any(|l| l.contains("socket closed")) {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.recv())
            .await
            .expect("the socket's close is logged")
            .expect("the server keeps running");
        log.push(line);
    }
    let _ = child.kill().await;

    for line in &log {
        let parsed: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            parsed["level"].is_string() && parsed["fields"].is_object(),
            "{line}"
        );
        assert!(
            !line.contains("zebra-quokka"),
            "a message body reached the log: {line}"
        );
    }
    let socket_lines: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("socket opened") || l.contains("socket closed"))
        .collect();
    assert_eq!(socket_lines.len(), 2, "{log:#?}");
    for line in socket_lines {
        let parsed: serde_json::Value = serde_json::from_str(line).expect("json");
        let conn = parsed["span"]["conn"].as_str().unwrap_or_default();
        assert!(
            conn.starts_with('c') && conn.len() > 1,
            "the line names its connection: {line}"
        );
    }
}
