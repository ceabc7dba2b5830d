//! Benchmark (not a test): the inbox's lists and their counts at size, server
//! side, through a real socket. Run with `make bench-internals`.
//!
//! Fixture: 100,000 conversations (one message each, from 100,000 visitors)
//! written straight into SQLite: 60 % resolved, 10 % snoozed, 30 % open; of
//! the open ones a third unassigned, the rest spread over the five agents
//! and the one who measures, every open one with a visitor waiting; every
//! seventh carries a common label, every 5,000th a rare one, and every
//! fiftieth mentions the agent who measures. Then it times
//! - `more_conversations` (first page) of every list in both orders, and of
//!   every list filtered by each label, from the frame to its
//!   `conversations` answer;
//! - counting every list (`Store::inbox_counts`, what each `counts` frame and
//!   an agent's `hello` carry).

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use minicom::protocol::{ClientFrame, InboxSort, InboxView, ServerFrame};

const CONVERSATIONS: i64 = 100_000;
const AGENTS: i64 = 5;
const RUNS: usize = 30;

async fn fixture(database_url: &str) {
    let pool = sqlx::SqlitePool::connect(database_url).await.expect("db");
    let mut tx = pool.begin().await.expect("tx");
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (email, name, password_hash, role, created_at)
             VALUES (?, ?, 'x', 'agent', 0) RETURNING id",
        )
        .bind(format!("bench-{i}@minicom.test"))
        .bind(format!("Agent {i}"))
        .fetch_one(&mut *tx)
        .await
        .expect("agent");
        agents.push(id);
    }
    let label: i64 = sqlx::query_scalar(
        "INSERT INTO labels (name, color, created_at) VALUES ('Billing', 'red', 0) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("label");
    let rare: i64 = sqlx::query_scalar(
        "INSERT INTO labels (name, color, created_at) VALUES ('Legal', 'purple', 0) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("label");
    // The first admin, whom the benchmark signs in as: owns some too.
    let measurer: i64 = sqlx::query_scalar("SELECT MIN(id) FROM agents")
        .fetch_one(&mut *tx)
        .await
        .expect("admin");
    agents.push(measurer);
    let t0: i64 = 1_790_000_000_000;
    for i in 0..CONVERSATIONS {
        let at = t0 + i * 1_000;
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (token_hash, created_at, last_seen_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(format!("views-{i}").into_bytes())
        .bind(at)
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .expect("contact");
        let (status, waiting, snoozed) = match i % 10 {
            0..=5 => ("resolved", None, None),
            6 => ("snoozed", None, Some(at + 86_400_000_000)),
            _ => ("open", Some(at - (i * 7_919) % 86_400_000), None),
        };
        let assignee =
            (status == "open" && i % 3 != 0).then(|| agents[(i as usize) % agents.len()]);
        let conversation: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (contact_id, created_at, last_message_at, last_message_preview,
                last_sender_kind, status, assignee_id, waiting_since, snoozed_until)
             VALUES (?, ?, ?, ?, 'contact', ?, ?, ?, ?) RETURNING id",
        )
        .bind(contact)
        .bind(at)
        .bind(at)
        .bind(format!("Question number {i}"))
        .bind(status)
        .bind(assignee)
        .bind(waiting)
        .bind(snoozed)
        .fetch_one(&mut *tx)
        .await
        .expect("conversation");
        let message: i64 = sqlx::query_scalar(
            "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at)
             VALUES (?, ?, 'contact', ?, ?, ?) RETURNING id",
        )
        .bind(conversation)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(contact)
        .bind(format!("Question number {i}"))
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .expect("message");
        sqlx::query("UPDATE conversations SET last_message_id = ? WHERE id = ?")
            .bind(message)
            .bind(conversation)
            .execute(&mut *tx)
            .await
            .expect("row");
        for (on, label) in [(i % 7 == 1, label), (i % 5_000 == 0, rare)] {
            if !on {
                continue;
            }
            sqlx::query(
                "INSERT INTO conversation_labels (conversation_id, label_id) VALUES (?, ?)",
            )
            .bind(conversation)
            .bind(label)
            .execute(&mut *tx)
            .await
            .expect("label");
        }
        if i % 50 == 0 {
            sqlx::query(
                "INSERT INTO mentions (conversation_id, agent_id, message_id, created_at)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(conversation)
            .bind(measurer)
            .bind(message)
            .bind(at)
            .execute(&mut *tx)
            .await
            .expect("mention");
        }
    }
    tx.commit().await.expect("commit");
    sqlx::query("ANALYZE")
        .execute(&pool)
        .await
        .expect("analyze");
    pool.close().await;
}

/// "| name | p50 | p99 | max |" in milliseconds.
fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    println!(
        "| {name} | {:.2} | {:.2} | {:.2} |",
        ms(at(50)),
        ms(at(99)),
        ms(*samples.last().expect("samples"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `make bench-internals`"]
async fn the_inbox_lists_and_their_counts_at_100k_conversations() {
    let server = TestServer::start_unlimited().await;
    let built = Instant::now();
    fixture(&server.database_url).await;
    println!(
        "fixture: {CONVERSATIONS} conversations in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let mut agent = server.agent().await;
    println!("| request | p50 ms | p99 ms | max ms |\n|---|---|---|---|");
    let (billing, legal) = (
        Some(minicom::protocol::LabelId(1)),
        Some(minicom::protocol::LabelId(2)),
    );
    let lists = InboxView::ALL.into_iter().flat_map(|view| {
        [
            (view, InboxSort::Newest, None),
            (view, InboxSort::Waiting, None),
            (view, InboxSort::Newest, billing),
            (view, InboxSort::Newest, legal),
        ]
    });
    for (view, sort, label) in lists {
        let mut samples = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            agent
                .send(&ClientFrame::MoreConversations {
                    view,
                    sort,
                    after: None,
                    label,
                })
                .await;
            let rows = agent
                .expect(|f| match f {
                    ServerFrame::Conversations { conversations, .. } => Some(conversations),
                    _ => None,
                })
                .await;
            samples.push(started.elapsed());
            // The rare label is on resolved conversations only.
            assert!(!rows.is_empty() || label == legal);
        }
        let filtered = match label {
            None => "",
            l if l == billing => " · common label",
            _ => " · rare label",
        };
        summary(&format!("{} · {sort:?}{filtered}", view.label()), samples);
    }
    let store = minicom::server::store::Store::open(&server.database_url)
        .await
        .expect("store");
    let mut samples = Vec::with_capacity(RUNS);
    let mut counts = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        counts = Some(store.inbox_counts().await.expect("counts"));
        samples.push(started.elapsed());
    }
    summary("counts of every list", samples);
    let counts = counts.expect("counted");
    assert_eq!(
        counts.open + counts.snoozed + counts.resolved,
        CONVERSATIONS as u32
    );
    println!("{counts:?}");
}
