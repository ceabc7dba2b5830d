//! Benchmark (not a test): how long opening big things takes, server side,
//! through a real socket. Run with `make bench`.
//!
//! Fixture: a database with 10,000 conversations (one message each, from
//! 10,000 visitors) plus one conversation of 10,000 messages, written straight
//! into SQLite in one transaction. Then, over a real WebSocket, it times
//! - an agent's `hello` (the inbox's first page with unread counts), from the
//!   upgrade request to the frame;
//! - `open` of the 10,000-message conversation (newest 50) to its `history`;
//! - `older` from the middle of it (a page 5,000 messages back);
//! - `more_conversations` from the middle of the inbox.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use minicom::protocol::{ClientFrame, ConversationId, MessageId, ServerFrame};

const CONVERSATIONS: i64 = 10_000;
const MESSAGES: i64 = 10_000;
const RUNS: usize = 30;

/// Fills the database; returns the big conversation's id.
async fn fixture(database_url: &str) -> ConversationId {
    let pool = sqlx::SqlitePool::connect(database_url).await.expect("db");
    let mut tx = pool.begin().await.expect("tx");
    let t0: i64 = 1_790_000_000_000;
    for i in 0..CONVERSATIONS {
        let at = t0 + i * 1_000;
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (token_hash, created_at, last_seen_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(format!("bench-{i}").into_bytes())
        .bind(at)
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .expect("contact");
        let conversation: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (contact_id, created_at, last_message_at, last_message_preview, last_sender_kind)
             VALUES (?, ?, ?, ?, 'contact') RETURNING id",
        )
        .bind(contact)
        .bind(at)
        .bind(at)
        .bind(format!("Question number {i}"))
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
    }
    let big: i64 = sqlx::query_scalar("SELECT id FROM conversations ORDER BY id LIMIT 1")
        .fetch_one(&mut *tx)
        .await
        .expect("big");
    let contact: i64 = sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = ?")
        .bind(big)
        .fetch_one(&mut *tx)
        .await
        .expect("contact");
    let mut last = 0;
    for i in 0..MESSAGES {
        let (kind, sender) = if i % 3 == 0 {
            ("agent", 1)
        } else {
            ("contact", contact)
        };
        last = sqlx::query_scalar(
            "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(big)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(kind)
        .bind(sender)
        .bind(format!("Message {i} of a long conversation about coffee beans and delivery."))
        .bind(t0 + i)
        .fetch_one(&mut *tx)
        .await
        .expect("message");
    }
    // The big conversation has the newest activity: first in the inbox, with
    // thousands of unread visitor messages to count.
    sqlx::query("UPDATE conversations SET last_message_id = ?, last_message_at = ? WHERE id = ?")
        .bind(last)
        .bind(t0 + CONVERSATIONS * 1_000)
        .bind(big)
        .execute(&mut *tx)
        .await
        .expect("row");
    tx.commit().await.expect("commit");
    pool.close().await;
    ConversationId(big)
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = samples[samples.len() / 2];
    let p95 = samples[samples.len() * 95 / 100];
    let max = *samples.last().expect("samples");
    println!(
        "| {name} | {:.2} | {:.2} | {:.2} |",
        ms(median),
        ms(p95),
        ms(max)
    );
}

async fn history(client: &mut common::Client) -> Vec<minicom::protocol::Message> {
    client
        .expect(|f| match f {
            ServerFrame::History { messages, .. } => Some(messages),
            _ => None,
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `make bench`"]
async fn opening_a_big_inbox_and_a_big_conversation() {
    let server = TestServer::start_unlimited().await;
    let built = Instant::now();
    let big = fixture(&server.database_url).await;
    println!(
        "fixture: {CONVERSATIONS} conversations + one of {MESSAGES} messages in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let cookie = server.agent_cookie().await;

    let (mut hello, mut open, mut older, mut more) = (vec![], vec![], vec![], vec![]);
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut agent = server.connect(&cookie, "agent").await;
        let ServerFrame::Hello {
            conversations,
            more_conversations,
            ..
        } = agent.hello().await
        else {
            unreachable!()
        };
        hello.push(started.elapsed());
        assert_eq!(conversations.len(), 50);
        assert!(more_conversations);

        let started = Instant::now();
        agent
            .send(&ClientFrame::Open {
                conversation_id: big,
            })
            .await;
        let newest = history(&mut agent).await;
        open.push(started.elapsed());
        assert_eq!(newest.len(), 50);

        let middle = MessageId(newest[0].id.0 - MESSAGES / 2);
        let started = Instant::now();
        agent
            .send(&ClientFrame::Older {
                conversation_id: big,
                before: middle,
            })
            .await;
        let page = history(&mut agent).await;
        older.push(started.elapsed());
        assert_eq!(page.len(), 50);

        let started = Instant::now();
        agent
            .send(&ClientFrame::MoreConversations {
                view: Default::default(),
                sort: Default::default(),
                after: Some((
                    -(1_790_000_000_000 + CONVERSATIONS / 2 * 1_000),
                    -(CONVERSATIONS / 2),
                )),
                label: None,
            })
            .await;
        let rows = agent
            .expect(|f| match f {
                ServerFrame::Conversations { conversations, .. } => Some(conversations),
                _ => None,
            })
            .await;
        more.push(started.elapsed());
        assert_eq!(rows.len(), 50);
    }
    println!("\n| operation ({RUNS} runs) | median ms | p95 ms | max ms |");
    println!("|---|---|---|---|");
    summary(
        "agent hello: inbox of 10,000 conversations (first 50 + unread)",
        hello,
    );
    summary("open: 10,000-message conversation (newest 50)", open);
    summary("older: page 5,000 messages back", older);
    summary(
        "more_conversations: page from the middle of the inbox",
        more,
    );
}
