//! Erasing a person, through the real server and the real binary: after an
//! admin erases a visitor nothing of them is left in any table of the
//! database (FTS5's shadow tables included) nor in the files folder, while
//! another visitor's conversation stays whole; the command line does the
//! same by email; and the retention period erases old resolved
//! conversations only.

mod common;

use std::path::Path;

use common::workflow::visitor_writes;
use common::{Client, Closed, TestServer};
use minicom::protocol::{ClientFrame, ConversationId, ConversationStatus, ServerFrame, Timestamp};
use sqlx::SqlitePool;

/// Words only the erased person's conversation holds: their name, email,
/// what they wrote, what the team answered and noted, the file's bytes.
const NAME: &str = "Zebulon Quartermaine";
const EMAIL: &str = "zebulon.q@example.org";
const THEIR_WORDS: &str = "xylophonist";
const REPLY_WORDS: &str = "gazpachoes";
const NOTE_WORDS: &str = "jackfruity";
const RATING_WORDS: &str = "wombatlike";
const FILE_BYTES: &[u8] = b"kumquatfile contents of a private receipt";

const NEEDLES: [&str; 7] = [
    "Zebulon",
    "zebulon.q@example.org",
    THEIR_WORDS,
    REPLY_WORDS,
    NOTE_WORDS,
    RATING_WORDS,
    "kumquatfile",
];

async fn sqlite_server(dir: tempfile::TempDir) -> TestServer {
    let url = format!("sqlite://{}", dir.path().join("minicom.db").display());
    TestServer::start_on(dir, url, common::without_rate_limits).await
}

/// Every table of the database (virtual tables' shadow tables too) and
/// how many of its rows hold `needle` in any column, as text or bytes.
async fn rows_holding(pool: &SqlitePool, needle: &str) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    assert!(
        tables.iter().any(|t| t == "messages_search_data"),
        "the search index's shadow tables are scanned too: {tables:?}"
    );
    let mut found = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(pool)
                .await
                .expect("columns");
        let any = columns
            .iter()
            .map(|c| format!("instr(lower(CAST(\"{c}\" AS BLOB)), lower(CAST($1 AS BLOB))) > 0"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let count: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\" WHERE {any}"))
                .bind(needle)
                .fetch_one(pool)
                .await
                .expect("scan");
        if count > 0 {
            found.push((table, count));
        }
    }
    found
}

/// Whether any file under `folder` holds `needle`.
fn files_holding(folder: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            files_holding(&path, needle)
        } else {
            std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        }
    })
}

/// Whether `conversation` has anything for the agent to read (an erased
/// one is empty, or refused, like one that never was).
async fn exists(agent: &mut Client, conversation: ConversationId) -> bool {
    agent
        .send(&ClientFrame::Open {
            conversation_id: conversation,
        })
        .await;
    agent
        .expect(|f| match f {
            ServerFrame::History { messages, .. } => Some(!messages.is_empty()),
            ServerFrame::Error { .. } => Some(false),
            _ => None,
        })
        .await
}

/// The visitor to be erased, who gave their name and email, wrote, sent a
/// file, was answered, noted about, resolved and rated; returns their
/// socket and conversation.
async fn person_with_a_history(
    server: &TestServer,
    agent: &mut Client,
) -> (Client, ConversationId) {
    let (mut visitor, cookie) = server.visitor().await;
    visitor
        .send(&ClientFrame::Profile {
            name: Some(NAME.into()),
            email: Some(EMAIL.into()),
        })
        .await;
    let conversation = visitor_writes(&mut visitor, &format!("I am a {THEIR_WORDS}, help")).await;
    let file = server
        .upload(&cookie, Some(conversation), "receipt.txt", FILE_BYTES)
        .await;
    assert_eq!(file.status, 201, "{}", String::from_utf8_lossy(&file.body));
    let file: minicom::protocol::Attachment = serde_json::from_slice(&file.body).expect("file");
    visitor
        .send_files(Some(conversation), "the receipt", &[&file.id])
        .await;

    agent.open(conversation).await;
    agent
        .send_files(
            Some(conversation),
            &format!("Here are your {REPLY_WORDS}"),
            &[],
        )
        .await;
    let note = minicom::protocol::ClientId::new();
    agent
        .send(&ClientFrame::Send {
            conversation_id: Some(conversation),
            client_id: note,
            body: format!("internal: {NOTE_WORDS} customer"),
            new_conversation: false,
            note: true,
            attachments: Vec::new(),
        })
        .await;
    agent
        .expect(|f| {
            matches!(f, ServerFrame::Ack { client_id, .. } if client_id == note).then_some(())
        })
        .await;
    agent
        .send(&ClientFrame::SetStatus {
            conversation_id: conversation,
            status: ConversationStatus::Resolved,
            until: None,
            time_zone: None,
        })
        .await;
    visitor
        .expect(|f| match f {
            ServerFrame::Conversation { conversation: c }
                if c.id == conversation && c.status == ConversationStatus::Resolved =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
    visitor
        .send(&ClientFrame::Rate {
            conversation_id: conversation,
            score: 2,
            comment: Some(format!("{RATING_WORDS} service")),
        })
        .await;
    visitor
        .expect(|f| match f {
            ServerFrame::Conversation { conversation: c }
                if c.id == conversation && c.rating == Some(2) =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
    (visitor, conversation)
}

#[tokio::test]
async fn after_an_admin_erases_a_visitor_nothing_of_them_is_left_anywhere() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("minicom.db");
    let files = dir.path().join("files");
    let server = sqlite_server(dir).await;
    let admin = server.agent_cookie().await;
    let mut agent = server.connect(&admin, "agent").await;
    agent.hello().await;
    let (mut person, conversation) = person_with_a_history(&server, &mut agent).await;
    let (mut other, _) = server.visitor().await;
    let kept = visitor_writes(&mut other, "an unrelated question").await;

    let pool = SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("read the database");
    // The scan finds them before: it is able to fail.
    for needle in NEEDLES {
        assert!(
            !rows_holding(&pool, needle).await.is_empty() || needle == "kumquatfile",
            "{needle} should be stored before the erasure"
        );
    }
    assert!(files_holding(&files, b"kumquatfile"), "the file is on disk");
    assert!(
        rows_holding(&pool, THEIR_WORDS)
            .await
            .iter()
            .any(|(table, _)| table == "messages_search_data"),
        "the search index holds their words before"
    );

    // Teammates who are not admins cannot.
    let (_bo, _) = server.agent_named("Bo").await;
    let bo = server
        .sign_in("bo@minicom.test", common::ADMIN_PASSWORD)
        .await
        .cookie("minicom_session")
        .expect("Bo's session");
    let id = conversation.0.to_string();
    let refused = server
        .post_form(&bo, "/api/contact_erase", &[("conversation", &id)])
        .await;
    assert!(refused.text().contains("Only admins"), "{}", refused.text());

    let erased = server
        .post_form(&admin, "/api/contact_erase", &[("conversation", &id)])
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text());

    // Every inbox drops the conversation; the person's socket closes.
    let gone = agent
        .expect(|f| match f {
            ServerFrame::Erased { conversation_ids } => Some(conversation_ids),
            _ => None,
        })
        .await;
    assert_eq!(gone, vec![conversation]);
    match person.closed().await {
        Closed::Code(code, _) => assert_eq!(u16::from(code), 1012, "reconnect as someone new"),
        Closed::Dropped => panic!("the erased visitor's socket closed without a close frame"),
    }

    for needle in NEEDLES {
        let left = rows_holding(&pool, needle).await;
        assert!(left.is_empty(), "{needle} is still in {left:?}");
    }
    assert!(
        !files_holding(&files, b"kumquatfile"),
        "the file's bytes are gone"
    );
    for word in [THEIR_WORDS, REPLY_WORDS] {
        let hits: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages_search WHERE messages_search MATCH $1",
        )
        .bind(word)
        .fetch_one(&pool)
        .await
        .expect("search");
        assert_eq!(hits, 0, "{word} is still found");
    }
    // What is recorded: that an admin erased one person, when, and counts.
    let (by, agent_id, contacts, conversations, messages): (String, Option<i64>, i64, i64, i64) =
        sqlx::query_as(
            "SELECT erased_by, agent_id, contacts, conversations, messages FROM erasures",
        )
        .fetch_one(&pool)
        .await
        .expect("one erasure recorded");
    assert_eq!((by.as_str(), contacts, conversations), ("agent", 1, 1));
    assert!(agent_id.is_some());
    assert!(messages >= 4, "{messages}");

    // The other visitor's conversation is whole.
    let history = agent.open(kept).await;
    assert!(history.iter().any(|m| m.body == "an unrelated question"));
    // Asking again says it is gone.
    let again = server
        .post_form(&admin, "/api/contact_erase", &[("conversation", &id)])
        .await;
    assert!(again.text().contains("does not exist"), "{}", again.text());
}

#[tokio::test]
async fn the_command_line_erases_by_email_and_says_when_nobody_has_it() {
    // On PostgreSQL too, in the suite's PostgreSQL run.
    let server = TestServer::start().await;
    let url = server.database_url.clone();
    let mut agent = server.agent().await;
    let (_person, conversation) = person_with_a_history(&server, &mut agent).await;

    let run = |email: &'static str| {
        let url = url.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_minicom"))
                .args(["contact", "erase", "--email", email])
                .env("DATABASE_URL", &url)
                .env_remove("MINICOM_FILES")
                .output()
                .await
                .expect("run minicom");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    // Any case of the address finds them.
    let (ok, stdout, stderr) = run("Zebulon.Q@Example.org").await;
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("Erased 1 visitor") && stdout.contains("1 conversation"),
        "{stdout}"
    );
    assert!(!exists(&mut agent, conversation).await);
    // Its id is never given to someone else's conversation.
    let (mut next, _) = server.visitor().await;
    let newer = visitor_writes(&mut next, "a new question").await;
    assert!(newer.0 > conversation.0, "{newer:?} after {conversation:?}");

    let (ok, stdout, stderr) = run("nobody@example.org").await;
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("no visitor has the email nobody@example.org"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_retention_period_erases_old_resolved_conversations_only() {
    let dir = tempfile::tempdir().expect("dir");
    let server = sqlite_server(dir).await;
    let mut agent = server.agent().await;
    let (_old, resolved) = person_with_a_history(&server, &mut agent).await;
    let (mut open_visitor, _) = server.visitor().await;
    let open = visitor_writes(&mut open_visitor, "still waiting for an answer").await;

    let pool = SqlitePool::connect(&server.database_url).await.expect("db");
    // Both went quiet 40 days ago; only one was resolved.
    let long_ago = minicom::server::store::now().0 - 40 * 86_400_000;
    sqlx::query("UPDATE conversations SET last_message_at = $1")
        .bind(long_ago)
        .execute(&pool)
        .await
        .expect("age them");
    sqlx::query("UPDATE contacts SET last_seen_at = $1")
        .bind(long_ago)
        .execute(&pool)
        .await
        .expect("age them");

    let before = Timestamp(minicom::server::store::now().0 - 30 * 86_400_000);
    let erased = server
        .store()
        .erase_resolved_before(before)
        .await
        .expect("retention");
    assert_eq!(erased.conversations, vec![resolved]);
    assert_eq!(
        erased.contacts.len(),
        1,
        "the visitor left with nothing goes too"
    );
    assert!(!erased.files.is_empty(), "their file's bytes are to go");
    assert!(!exists(&mut agent, resolved).await);
    assert!(exists(&mut agent, open).await, "an open conversation stays");
    for needle in NEEDLES {
        let left = rows_holding(&pool, needle).await;
        assert!(left.is_empty(), "{needle} is still in {left:?}");
    }
}

/// The search index removes a deleted row's words at once (FTS5's
/// secure-delete): thousands of sends, edits, deletes and erasures later,
/// every word still finds exactly the messages that hold it, and new
/// messages are still written and found.
#[tokio::test]
async fn search_stays_exact_through_many_deletes_and_edits() {
    let dir = tempfile::tempdir().expect("dir");
    let server = sqlite_server(dir).await;
    let (mut visitor, _) = server.visitor().await;
    let conversation = visitor_writes(&mut visitor, "alpha start").await;
    let pool = SqlitePool::connect(&server.database_url).await.expect("db");
    const WORDS: [&str; 8] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    // A fixed pseudo-random sequence (the same every run).
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let expect_exact = |pool: SqlitePool, round: usize| async move {
        for word in WORDS {
            let found: Vec<i64> = sqlx::query_scalar(
                "SELECT rowid FROM messages_search WHERE messages_search MATCH $1 ORDER BY rowid",
            )
            .bind(word)
            .fetch_all(&pool)
            .await
            .expect("search");
            let truth: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM messages WHERE sender_kind <> 'system' AND deleted_at IS NULL
                   AND instr(' ' || body || ' ', ' ' || $1 || ' ') > 0 ORDER BY id",
            )
            .bind(word)
            .fetch_all(&pool)
            .await
            .expect("truth");
            assert_eq!(found, truth, "round {round}: {word}");
        }
    };
    for round in 0..40 {
        for i in 0..50 {
            let body = (0..1 + next(4))
                .map(|_| WORDS[next(WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ");
            sqlx::query(
                "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at)
                 VALUES ($1, $2, 'contact', 1, $3, 0)",
            )
            .bind(conversation.0)
            .bind(format!("probe-{round}-{i}"))
            .bind(body)
            .execute(&pool)
            .await
            .expect("insert");
        }
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM messages WHERE deleted_at IS NULL")
            .fetch_all(&pool)
            .await
            .expect("ids");
        for _ in 0..15 {
            let id = ids[next(ids.len())];
            let sql = match next(3) {
                0 => "DELETE FROM messages WHERE id = $1".to_owned(),
                1 => format!(
                    "UPDATE messages SET body = '{}' WHERE id = $1",
                    WORDS[next(WORDS.len())]
                ),
                _ => "UPDATE messages SET deleted_at = 1 WHERE id = $1".to_owned(),
            };
            sqlx::query(&sql)
                .bind(id)
                .execute(&pool)
                .await
                .expect("change");
        }
        expect_exact(pool.clone(), round).await;
    }
    // A real send still goes through and is found.
    visitor.say(Some(conversation), "hotel finale").await;
    visitor
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    expect_exact(pool.clone(), 40).await;
    sqlx::query("INSERT INTO messages_search (messages_search) VALUES ('optimize')")
        .execute(&pool)
        .await
        .expect("optimize");
    expect_exact(pool, 41).await;
}

/// A database from before erasing existed (its contacts and conversations
/// without AUTOINCREMENT) is brought up to date on start: every row stays,
/// and ids are never given out twice from then on.
#[tokio::test]
async fn an_older_database_keeps_its_rows_and_never_reuses_ids_after_the_upgrade() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;

    let dir = tempfile::tempdir().expect("dir");
    let server = sqlite_server(dir).await;
    let (mut visitor, _) = server.visitor().await;
    let before = visitor_writes(&mut visitor, "written before the upgrade").await;
    drop(visitor);
    let (dir, url) = server.stop_keeping_data().await;

    // The two tables as they were, rows and all (foreign keys off, so
    // dropping them deletes nothing that refers to them).
    let options = SqliteConnectOptions::from_str(&url)
        .expect("url")
        .foreign_keys(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("db");
    let mut tx = pool.begin().await.expect("begin");
    for table in ["contacts", "conversations"] {
        let sql: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(table)
                .fetch_one(&mut *tx)
                .await
                .expect("schema");
        let extras: Vec<String> = sqlx::query_scalar(
            "SELECT sql FROM sqlite_master
             WHERE tbl_name = $1 AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await
        .expect("indexes");
        let old = sql.replace(" AUTOINCREMENT", "").replacen(
            &format!("\"{table}\""),
            &format!("old_{table}"),
            1,
        );
        assert!(old.contains(&format!("old_{table}")), "{old}");
        for step in [
            old,
            format!("INSERT INTO old_{table} SELECT * FROM {table}"),
            format!("DROP TABLE {table}"),
            format!("ALTER TABLE old_{table} RENAME TO {table}"),
        ]
        .into_iter()
        .chain(extras)
        {
            sqlx::query(&step).execute(&mut *tx).await.expect(&step);
        }
    }
    tx.commit().await.expect("commit");
    pool.close().await;

    let server = TestServer::start_on(dir, url.clone(), common::without_rate_limits).await;
    let pool = SqlitePool::connect(&url).await.expect("db");
    let upgraded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master
         WHERE name IN ('contacts', 'conversations') AND sql LIKE '%AUTOINCREMENT%'",
    )
    .fetch_one(&pool)
    .await
    .expect("schema");
    assert_eq!(upgraded, 2);
    let mut agent = server.agent().await;
    let history = agent.open(before).await;
    assert!(
        history
            .iter()
            .any(|m| m.body == "written before the upgrade")
    );

    // The newest conversation erased: the next one gets a new id.
    let admin = server.agent_cookie().await;
    let erased = server
        .post_form(
            &admin,
            "/api/contact_erase",
            &[("conversation", &before.0.to_string())],
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text());
    let (mut next, _) = server.visitor().await;
    let after = visitor_writes(&mut next, "a new visitor").await;
    assert!(after.0 > before.0, "{after:?} reused {before:?}");
}
