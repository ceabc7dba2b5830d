//! Benchmark (not a test): how much memory can one hostile visitor make the
//! server hold? Run with `make bench-internals`.
//!
//! The visitor stores 500 messages whose bodies JSON escapes six-fold (control
//! characters: ~24 KB each on the wire), then opens its 20 allowed sockets,
//! never reads any of them, and asks each to `resume` from the start again
//! and again. Each socket's queue is bounded in bytes (1 MiB), and a page in
//! bytes (256 KiB): after the database's caches are warm (well-behaved
//! readers first), the server's resident memory may grow by at most the
//! budget times the sockets.

mod common;

use common::TestServer;
use minicom::protocol::{ClientFrame, ServerFrame};

/// Messages after the first.
const MESSAGES: usize = 500;
const SOCKETS: usize = 20;
const RESUMES: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `make bench-internals`"]
async fn a_hostile_visitor_cannot_make_the_server_hold_more_than_its_budget() {
    let server = TestServer::start_unlimited().await;
    let (mut visitor, cookie) = server.visitor().await;
    let body = format!("x{}x", "\u{1}".repeat(3_990));
    visitor.say(None, &body).await;
    let conversation = visitor
        .expect(|f| match f {
            ServerFrame::Ack { message, .. } => Some(message.conversation_id),
            _ => None,
        })
        .await;
    // In small batches: the visitor's own socket has a budget too.
    for _ in 0..MESSAGES / 10 {
        for _ in 0..10 {
            visitor.say(Some(conversation), &body).await;
        }
        for _ in 0..10 {
            visitor
                .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
                .await;
        }
    }
    visitor.close().await;
    // Well-behaved readers first, several at once: the database's page
    // caches and the allocator warm up to what any busy server holds anyway,
    // so what follows measures only what the hostile sockets make it hold.
    let mut readers = Vec::new();
    for _ in 0..8 {
        let mut reader = server.connect(&cookie, "visitor").await;
        reader.hello().await;
        readers.push(tokio::spawn(async move {
            reader.resume(conversation, 0).await.len()
        }));
    }
    for reader in readers {
        assert_eq!(reader.await.expect("reader"), MESSAGES + 1);
    }
    let rss =
        |metrics: &std::collections::HashMap<String, f64>| metrics["process_resident_memory_bytes"];
    let before = rss(&server.metrics().await);

    let resume = serde_json::to_string(&ClientFrame::Resume {
        conversation_id: conversation,
        since: 0,
    })
    .expect("encode");
    let mut hostile = Vec::new();
    for _ in 0..SOCKETS {
        let mut socket = server.connect_stalled(&cookie, "visitor").await;
        for _ in 0..RESUMES {
            // The server stops reading once this socket's budget is spent;
            // then our writes stall too: stop there.
            let sent = tokio::time::timeout(
                std::time::Duration::from_millis(500),
                socket.send_raw(tokio_tungstenite::tungstenite::Message::text(
                    resume.clone(),
                )),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                break;
            }
        }
        hostile.push(socket);
    }
    let mut peak = before;
    for _ in 0..20 {
        peak = peak.max(rss(&server.metrics().await));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let budget = SOCKETS as f64 * 1024.0 * 1024.0;
    let mib = |b: f64| b / (1024.0 * 1024.0);
    println!(
        "\n{SOCKETS} stalled sockets × {RESUMES} resumes over {MESSAGES} messages of ~24 KB on the wire:\n\
         server RSS {:.1} MiB before, {:.1} MiB at peak: growth {:.1} MiB (budget × sockets: {:.0} MiB)\n",
        mib(before),
        mib(peak),
        mib(peak - before),
        mib(budget)
    );
    assert!(
        peak - before <= budget,
        "the server grew by {:.1} MiB, more than {:.0} MiB",
        mib(peak - before),
        mib(budget)
    );
    drop(hostile);
}
