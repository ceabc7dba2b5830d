//! Benchmark (not a test): what durability costs. Run with `make bench`.
//!
//! Prints acknowledged messages per second — stored, committed, acked — for
//! SQLite `synchronous = FULL` (the default) and `NORMAL`, and for PostgreSQL
//! (a throwaway cluster with its default durability), one instance and two
//! on a Redis bus; with one message in flight and with many clients at once
//! (where group commit shares flushes).

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use minicom::protocol::{ClientFrame, ClientId, ServerFrame};
use minicom::server::store::Durability;

const CLIENTS: usize = 50;
const PER_CLIENT: usize = 200;
const WINDOW: usize = 10;
const SEQUENTIAL: usize = 300;

async fn acked(client: &mut common::Client, id: ClientId) {
    client
        .expect(|f| {
            matches!(f, ServerFrame::Ack { client_id, .. } if client_id == id).then_some(())
        })
        .await;
}

async fn send(client: &mut common::Client, body: String) -> ClientId {
    let client_id = ClientId::new();
    client
        .send(&ClientFrame::Send {
            conversation_id: None,
            client_id,
            body,
            new_conversation: false,
            note: false,
            attachments: Vec::new(),
        })
        .await;
    client_id
}

/// One visitor, one message at a time: each ack waits for its own commit.
async fn one_in_flight(server: &TestServer) -> f64 {
    let (mut visitor, _) = server.visitor().await;
    let start = Instant::now();
    for i in 0..SEQUENTIAL {
        let id = send(&mut visitor, format!("sequential {i}")).await;
        acked(&mut visitor, id).await;
    }
    SEQUENTIAL as f64 / start.elapsed().as_secs_f64()
}

/// Many visitors at once, each with a few messages in flight, spread over
/// `servers` (instances of one service).
async fn many_clients(servers: &[&TestServer]) -> f64 {
    let mut visitors = Vec::new();
    for i in 0..CLIENTS {
        visitors.push(servers[i % servers.len()].visitor().await.0);
    }
    let start = Instant::now();
    let tasks: Vec<_> = visitors
        .into_iter()
        .enumerate()
        .map(|(v, mut visitor)| {
            tokio::spawn(async move {
                for window in 0..PER_CLIENT / WINDOW {
                    let mut ids = Vec::with_capacity(WINDOW);
                    for i in 0..WINDOW {
                        ids.push(
                            send(
                                &mut visitor,
                                format!("client {v} message {}", window * WINDOW + i),
                            )
                            .await,
                        );
                    }
                    for id in ids {
                        acked(&mut visitor, id).await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client task");
    }
    (CLIENTS * PER_CLIENT) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `make bench`"]
async fn acknowledged_messages_per_second() {
    println!();
    println!("| store | 1 in flight (msg/s) | {CLIENTS} clients x {WINDOW} in flight (msg/s) |");
    println!("|---|---|---|");
    for durability in [Durability::Full, Durability::Normal] {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let server = TestServer::start_on(dir, url, |c| {
            c.durability = durability;
            common::without_rate_limits(c);
        })
        .await;
        let sequential = one_in_flight(&server).await;
        let concurrent = tokio::time::timeout(Duration::from_secs(120), many_clients(&[&server]))
            .await
            .expect("benchmark finished in time");
        println!("| SQLite {durability:?} | {sequential:.0} | {concurrent:.0} |");
        server.stop().await;
    }

    let cluster = common::postgres::Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = cluster.fresh_database();
    let server = TestServer::start_on(dir, url.clone(), common::without_rate_limits).await;
    let sequential = one_in_flight(&server).await;
    let concurrent = tokio::time::timeout(Duration::from_secs(120), many_clients(&[&server]))
        .await
        .expect("benchmark finished in time");
    println!("| PostgreSQL, one instance | {sequential:.0} | {concurrent:.0} |");
    server.stop().await;
    // What a stored message costs on disk (tables and indexes, all of it).
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let (bytes, messages): (i64, i64) = sqlx::query_as(
        "SELECT pg_database_size(current_database()), (SELECT COUNT(*) FROM messages)",
    )
    .fetch_one(&pool)
    .await
    .expect("sizes");
    println!(
        "PostgreSQL database: {} MiB for {messages} messages ({} bytes each, empty database included)",
        bytes / (1 << 20),
        bytes / messages.max(1)
    );
    pool.close().await;

    let redis = common::redis::Redis::start().await;
    let url = redis.url();
    let on_redis = |c: &mut minicom::server::config::Config| {
        c.redis_url = Some(url.clone());
        common::without_rate_limits(c);
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let a = TestServer::start_on(dir, cluster.fresh_database(), on_redis).await;
    let b = TestServer::start_beside(&a, on_redis).await;
    let sequential = one_in_flight(&b).await;
    let concurrent = tokio::time::timeout(Duration::from_secs(120), many_clients(&[&a, &b]))
        .await
        .expect("benchmark finished in time");
    println!("| PostgreSQL, two instances on Redis | {sequential:.0} | {concurrent:.0} |");
}
