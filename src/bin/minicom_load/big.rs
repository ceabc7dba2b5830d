//! A big embedded database for `bench`: the same chat-max run on an empty
//! database and on one holding millions of messages shows whether a
//! message costs more as the database grows (issue 20: within 20%).
//!
//! The fixture is written straight into the server's SQLite file while no
//! server runs, after a server has created it (so the schema is the
//! migrations' own), in one statement per table and chunk: contacts,
//! conversations (mostly resolved, as an old inbox is) and ten messages
//! each, alternating visitor and teammate, with an order number in every
//! message so the search index grows a large vocabulary as real ones do.
//! The search index's triggers fill it as the server's own writes would.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

/// Conversations written per transaction (ten messages each).
const CHUNK: i64 = 20_000;

/// Milliseconds: the fixture's first conversation starts here (2026-01-01),
/// one a second after that, so every one is older than the run's.
const EPOCH_MS: i64 = 1_767_225_600_000;

/// Writes `conversations` conversations of `per_conversation` messages
/// (at most ten) into the SQLite database at `path`; how long it took.
pub async fn fill(
    path: &Path,
    conversations: i64,
    per_conversation: i64,
) -> anyhow::Result<Duration> {
    let per_conversation = per_conversation.clamp(1, 10);
    // The fixture's own durability is not under test: it is written once,
    // then the server opens it with its usual settings.
    let mut db = SqliteConnectOptions::new()
        .filename(path)
        .synchronous(SqliteSynchronous::Off)
        .pragma("cache_size", "-262144")
        .connect()
        .await
        .with_context(|| format!("could not open {}", path.display()))?;
    let started = Instant::now();
    let (contacts, existing): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM contacts),
                (SELECT COUNT(*) FROM conversations)",
    )
    .fetch_one(&mut db)
    .await?;
    anyhow::ensure!(
        existing == 0,
        "{} already holds conversations: the fixture goes into a new database",
        path.display()
    );
    let agent: i64 = sqlx::query_scalar("SELECT MIN(id) FROM agents")
        .fetch_one(&mut db)
        .await
        .context("the fixture needs the admin the server creates")?;
    let mut first = 1;
    while first <= conversations {
        let last = (first + CHUNK - 1).min(conversations);
        let mut tx = db.begin().await?;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
             INSERT INTO contacts (id, token_hash, name, email, created_at, last_seen_at)
             SELECT ?3 + i, randomblob(32), 'Visitor ' || i, 'visitor' || i || '@example.com',
                    ?4 + i * 1000, ?4 + i * 1000
             FROM n",
        )
        .bind(first)
        .bind(last)
        .bind(contacts)
        .bind(EPOCH_MS)
        .execute(&mut *tx)
        .await
        .context("contacts")?;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
             INSERT INTO conversations (id, contact_id, status, created_at, last_message_at,
                                        last_message_preview, last_sender_kind)
             SELECT i, ?3 + i, CASE WHEN i % 10 = 0 THEN 'open' ELSE 'resolved' END,
                    ?4 + i * 1000, ?4 + i * 1000 + ?5, 'Thanks, that was it.',
                    CASE ?5 % 2 WHEN 1 THEN 'contact' ELSE 'agent' END
             FROM n",
        )
        .bind(first)
        .bind(last)
        .bind(contacts)
        .bind(EPOCH_MS)
        .bind(per_conversation)
        .execute(&mut *tx)
        .await
        .context("conversations")?;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2),
                  k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < ?5)
             INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body,
                                   created_at, seq)
             SELECT i, lower(hex(randomblob(18))),
                    CASE j % 2 WHEN 1 THEN 'contact' ELSE 'agent' END,
                    CASE j % 2 WHEN 1 THEN ?3 + i ELSE ?6 END,
                    printf('About order A-%06d: the parcel %s, tracking %d. Can you %s?',
                           abs(random()) % 1000000,
                           CASE abs(random()) % 4 WHEN 0 THEN 'has not arrived'
                                WHEN 1 THEN 'came damaged' WHEN 2 THEN 'went to the wrong address'
                                ELSE 'is late' END,
                           abs(random()) % 100000000,
                           CASE abs(random()) % 3 WHEN 0 THEN 'refund it'
                                WHEN 1 THEN 'send another' ELSE 'check where it is' END),
                    ?4 + i * 1000 + j, j
             FROM n, k ORDER BY i, j",
        )
        .bind(first)
        .bind(last)
        .bind(contacts)
        .bind(EPOCH_MS)
        .bind(per_conversation)
        .bind(agent)
        .execute(&mut *tx)
        .await
        .context("messages")?;
        sqlx::query(
            "UPDATE conversations
             SET last_message_id = (SELECT MAX(id) FROM messages
                                    WHERE conversation_id = conversations.id),
                 seq = ?3
             WHERE id BETWEEN ?1 AND ?2",
        )
        .bind(first)
        .bind(last)
        .bind(per_conversation)
        .execute(&mut *tx)
        .await
        .context("conversations' last message")?;
        sqlx::query(
            "UPDATE conversations
             SET contact_read_id = last_message_id, team_read_id = last_message_id,
                 team_delivered_id = last_message_id
             WHERE id BETWEEN ?1 AND ?2",
        )
        .bind(first)
        .bind(last)
        .execute(&mut *tx)
        .await
        .context("conversations' read marks")?;
        tx.commit().await?;
        first = last + 1;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut db)
        .await?;
    db.close().await?;
    Ok(started.elapsed())
}
