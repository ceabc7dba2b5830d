//! Benchmark (not a test): the team's search at size, through a real socket,
//! on the embedded default (SQLite FTS5). Run with `make bench-internals`.
//!
//! Fixture: 100,000 conversations of ten messages each (1,000,000 messages)
//! written straight into SQLite, the index built in one pass afterwards:
//! words drawn from a 2,000-word vocabulary with a few very common ones
//! ("order", "the"), and every twentieth message carrying an order number.
//! Then it reports
//! - the index's size and how long building it took;
//! - the write cost the index adds per message (20,000 inserts with the
//!   index's trigger, 20,000 without, same transaction size);
//! - `search` to `search_results` p50/p99 for a rare word (an order
//!   number), a medium and a very common word, two words, a prefix, a name,
//!   filters, and best-match order.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use minicom::protocol::{
    ClientFrame, ConversationStatus, SearchFrom, SearchOrder, SearchQuery, ServerFrame,
};

const CONVERSATIONS: i64 = 100_000;
const PER_CONVERSATION: i64 = 10;
const VOCABULARY: usize = 2_000;
const RUNS: usize = 30;

/// A small deterministic generator (xorshift), so every run has one fixture.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn vocabulary() -> Vec<String> {
    const SYLLABLES: [&str; 20] = [
        "ka", "lo", "mi", "ren", "sta", "vo", "pel", "dri", "nu", "sho", "tak", "bel", "fra",
        "gon", "hil", "jas", "qui", "wex", "yor", "zan",
    ];
    let mut words = vec![
        "order".to_owned(),
        "the".to_owned(),
        "refund".to_owned(),
        "delivery".to_owned(),
        "parcel".to_owned(),
    ];
    let mut rng = Rng(7);
    while words.len() < VOCABULARY {
        let n = 2 + rng.below(2) as usize;
        let word: String = (0..n)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
            .collect();
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// A message: 6–20 words, skewed towards the start of the vocabulary
/// (the common words), sometimes an order number.
fn sentence(rng: &mut Rng, words: &[String], order_number: Option<u64>) -> String {
    let n = 6 + rng.below(15);
    let mut out = String::new();
    for _ in 0..n {
        let a = rng.below(words.len() as u64);
        let b = rng.below(words.len() as u64);
        // The smaller of two draws: earlier words are more common.
        out.push_str(&words[a.min(b) as usize]);
        out.push(' ');
    }
    if let Some(number) = order_number {
        out.push_str(&format!("A-{number:06}"));
    }
    out.trim_end().to_owned()
}

const TRIGGER: &str = "CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
    WHEN new.sender_kind <> 'system' AND new.deleted_at IS NULL
    BEGIN
        INSERT INTO messages_search (rowid, body) VALUES (new.id, new.body);
    END";

async fn page_bytes(pool: &sqlx::SqlitePool) -> i64 {
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(pool)
        .await
        .expect("pages");
    let size: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(pool)
        .await
        .expect("page size");
    pages * size
}

/// Inserts `count` messages in conversation 1 in transactions of 1,000;
/// the time per message.
async fn insert_cost(
    pool: &sqlx::SqlitePool,
    rng: &mut Rng,
    words: &[String],
    count: usize,
) -> f64 {
    let started = Instant::now();
    for _ in 0..count / 1_000 {
        let mut tx = pool.begin().await.expect("tx");
        for _ in 0..1_000 {
            sqlx::query(
                "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at)
                 VALUES (1, ?, 'contact', 1, ?, 0)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(sentence(rng, words, None))
            .execute(&mut *tx)
            .await
            .expect("insert");
        }
        tx.commit().await.expect("commit");
    }
    started.elapsed().as_secs_f64() * 1e6 / count as f64
}

async fn fixture(database_url: &str) -> (String, String) {
    let pool = sqlx::SqlitePool::connect(database_url).await.expect("db");
    let words = vocabulary();
    let mut rng = Rng(42);
    sqlx::query("DROP TRIGGER messages_search_insert")
        .execute(&pool)
        .await
        .expect("drop trigger");
    let started = Instant::now();
    let t0: i64 = 1_780_000_000_000;
    let mut a_number = String::new();
    let mut a_name = String::new();
    for chunk in 0..CONVERSATIONS / 1_000 {
        let mut tx = pool.begin().await.expect("tx");
        for j in 0..1_000 {
            let i = chunk * 1_000 + j;
            let at = t0 + i * 60_000;
            let name = format!(
                "{} {}",
                words[100 + (i as usize % 1_500)],
                words[5 + (i as usize % 900)]
            );
            if i == CONVERSATIONS / 2 {
                a_name = name.clone();
            }
            let contact: i64 = sqlx::query_scalar(
                "INSERT INTO contacts (token_hash, name, email, created_at, last_seen_at)
                 VALUES (?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(format!("search-{i}").into_bytes())
            .bind(&name)
            .bind(format!("visitor{i}@example.com"))
            .bind(at)
            .bind(at)
            .fetch_one(&mut *tx)
            .await
            .expect("contact");
            let status = ["open", "resolved", "resolved", "snoozed"][i as usize % 4];
            let conversation: i64 = sqlx::query_scalar(
                "INSERT INTO conversations (contact_id, created_at, last_message_at, status)
                 VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(contact)
            .bind(at)
            .bind(at + PER_CONVERSATION * 1_000)
            .bind(status)
            .fetch_one(&mut *tx)
            .await
            .expect("conversation");
            for k in 0..PER_CONVERSATION {
                let number = (rng.below(20) == 0).then(|| rng.below(1_000_000));
                let body = sentence(&mut rng, &words, number);
                if i == CONVERSATIONS / 3 && k == 4 {
                    a_number = format!("A-{:06}", number.unwrap_or(123_456));
                }
                let body = if i == CONVERSATIONS / 3 && k == 4 && number.is_none() {
                    format!("{body} A-123456")
                } else {
                    body
                };
                let (kind, sender) = if k % 2 == 0 {
                    ("contact", contact)
                } else {
                    ("agent", 1)
                };
                sqlx::query(
                    "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(conversation)
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(kind)
                .bind(sender)
                .bind(body)
                .bind(at + k * 1_000)
                .execute(&mut *tx)
                .await
                .expect("message");
            }
        }
        tx.commit().await.expect("commit");
    }
    println!(
        "fixture: {} messages in {CONVERSATIONS} conversations in {:.1} s",
        CONVERSATIONS * PER_CONVERSATION,
        started.elapsed().as_secs_f64()
    );
    let before = page_bytes(&pool).await;
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO messages_search (rowid, body)
         SELECT id, body FROM messages WHERE sender_kind <> 'system' AND deleted_at IS NULL",
    )
    .execute(&pool)
    .await
    .expect("index");
    let built = started.elapsed();
    let after = page_bytes(&pool).await;
    println!(
        "message index: {:.1} MiB ({:.0} bytes a message), built in {:.1} s; database {:.1} MiB",
        (after - before) as f64 / 1_048_576.0,
        (after - before) as f64 / (CONVERSATIONS * PER_CONVERSATION) as f64,
        built.as_secs_f64(),
        after as f64 / 1_048_576.0
    );
    let without = insert_cost(&pool, &mut rng, &words, 20_000).await;
    sqlx::query(TRIGGER).execute(&pool).await.expect("trigger");
    let with = insert_cost(&pool, &mut rng, &words, 20_000).await;
    println!(
        "insert cost: {without:.1} µs a message without the index, {with:.1} µs with it (+{:.1} µs)",
        with - without
    );
    pool.close().await;
    (a_number, a_name)
}

fn summary(name: &str, mut samples: Vec<Duration>, hits: usize) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    println!(
        "| {name} | {hits} | {:.2} | {:.2} | {:.2} |",
        ms(at(50)),
        ms(at(99)),
        ms(*samples.last().expect("samples"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `make bench-internals`"]
async fn search_over_a_million_messages() {
    if std::env::var("MINICOM_TEST_ENGINE").is_ok_and(|e| e == "postgres") {
        return; // The fixture is written in SQLite's terms.
    }
    let server = TestServer::start_unlimited().await;
    let (number, name) = fixture(&server.database_url).await;
    let mut agent = server.agent().await;
    let query = |text: &str| SearchQuery {
        text: text.into(),
        ..SearchQuery::default()
    };
    let cases = [
        ("an order number", query(&number)),
        ("a medium word (refund)", query("refund")),
        ("a very common word (order)", query("order")),
        ("two words (refund parcel)", query("refund parcel")),
        ("a prefix (deliv)", query("deliv")),
        ("a visitor's name", query(&name)),
        (
            "common word, resolved, from the visitor",
            SearchQuery {
                status: Some(ConversationStatus::Resolved),
                from: Some(SearchFrom::Visitor),
                ..query("order")
            },
        ),
        (
            "a medium word, best match",
            SearchQuery {
                order: SearchOrder::Best,
                ..query("refund")
            },
        ),
        (
            "a very common word, best match",
            SearchQuery {
                order: SearchOrder::Best,
                ..query("the")
            },
        ),
    ];
    println!("| search | results | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|");
    let mut search_id = 0;
    for (name, query) in cases {
        let mut samples = Vec::with_capacity(RUNS);
        let mut found = 0;
        for _ in 0..RUNS {
            search_id += 1;
            let started = Instant::now();
            agent
                .send(&ClientFrame::Search {
                    search_id,
                    query: query.clone(),
                })
                .await;
            found = agent
                .expect(|f| match f {
                    ServerFrame::SearchResults {
                        search_id: id,
                        hits,
                    } if id == search_id => Some(hits.len()),
                    _ => None,
                })
                .await;
            samples.push(started.elapsed());
        }
        assert!(found > 0, "{name} found nothing");
        summary(name, samples, found);
    }
}
