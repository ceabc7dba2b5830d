//! What only a PostgreSQL deployment has: the rule that several instances
//! need the Redis bus, and a database server that goes away and comes back.
//! Each test starts its own throwaway cluster (see `common/postgres.rs`);
//! every other suite runs on PostgreSQL too with `MINICOM_TEST_ENGINE=postgres`.

mod common;

use common::TestServer;
use common::postgres::Postgres;
use minicom::protocol::{ClientFrame, ClientId, ConversationId, ErrorCode, Message, ServerFrame};

fn ack(frame: ServerFrame) -> Option<Message> {
    match frame {
        ServerFrame::Ack { message, .. } => Some(message),
        _ => None,
    }
}

/// Runs the server binary on `database_url` with `env`; what it prints on
/// stderr once it exits, or `None` if it served (answered `/readyz`).
async fn start_binary(database_url: &str, env: &[(&str, &str)]) -> Option<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_minicom"))
        .env("MINICOM_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", database_url)
        .env("MINICOM_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .env("MINICOM_ASSISTANT", "off")
        .env("MINICOM_LOG", "warn")
        .env_remove("MINICOM_REDIS_URL")
        .env_remove("MINICOM_INSTANCES")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the minicom binary");
    let server = TestServer::at(format!("127.0.0.1:{port}").parse().expect("addr"));
    for _ in 0..400 {
        if let Ok(Some(_)) = child.try_wait() {
            let output = child.wait_with_output().await.expect("output");
            return Some(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        if tokio::net::TcpStream::connect(server.addr).await.is_ok() {
            let ready = server.http("GET", "/readyz", &[], "").await;
            assert_eq!(ready.status, 200, "{}", ready.body);
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("minicom neither served nor exited");
}

#[tokio::test]
async fn postgres_without_redis_is_refused_unless_it_is_the_only_instance() {
    let cluster = Postgres::start();
    let url = cluster.fresh_database();
    let refused = start_binary(&url, &[]).await.expect("refused to start");
    assert!(
        refused.contains("MINICOM_REDIS_URL") && refused.contains("MINICOM_INSTANCES=1"),
        "the refusal says what to set: {refused}"
    );
    assert_eq!(
        start_binary(&url, &[("MINICOM_INSTANCES", "1")]).await,
        None
    );
}

/// The message the visitor sends while the database is away, and again.
fn during_the_outage(conversation: ConversationId, client_id: ClientId) -> ClientFrame {
    ClientFrame::Send {
        conversation_id: Some(conversation),
        client_id,
        body: "during the outage".into(),
        new_conversation: false,
        note: false,
        attachments: Vec::new(),
    }
}

/// The database server stops (as when its machine dies): sends are refused
/// with an error the messenger retries, `/readyz` says what is wrong, and
/// once it is back the same message is stored once and reaches the team.
#[tokio::test]
async fn a_database_outage_refuses_sends_clearly_and_loses_nothing() {
    let mut cluster = Postgres::start();
    let url = cluster.fresh_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_on(dir, url, |_| {}).await;
    let (mut visitor, _) = server.visitor().await;
    visitor.say(None, "before the outage").await;
    let conversation = visitor.expect(ack).await.conversation_id;
    let mut agent = server.agent().await;
    agent.open(conversation).await;

    cluster.halt();
    let during = ClientId::new();
    visitor.send(&during_the_outage(conversation, during)).await;
    let refused = visitor
        .expect(|f| match f {
            ServerFrame::Error {
                code, client_id, ..
            } => Some((code, client_id)),
            _ => None,
        })
        .await;
    assert_eq!(refused, (ErrorCode::Internal, Some(during)));
    let ready = server.http("GET", "/readyz", &[], "").await;
    assert_eq!(ready.status, 503);
    assert!(ready.body.contains("database"), "{}", ready.body);

    cluster.resume();
    // The messenger sends the same frame again: stored once, heard by the team.
    visitor.send(&during_the_outage(conversation, during)).await;
    let stored = visitor.expect(ack).await;
    assert_eq!(stored.client_id, during);
    agent
        .expect(|f| match f {
            ServerFrame::Message { message } if message.client_id == during => Some(()),
            _ => None,
        })
        .await;
    let history = agent.open(conversation).await;
    let bodies: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["before the outage", "during the outage"]);
    assert_eq!(server.http("GET", "/readyz", &[], "").await.status, 200);
}
