//! The `history` scenario: opening a long conversation and its older pages.

use super::*;

/// The `history` scenario: a conversation of `messages` messages in an inbox
/// of `conversations`, then how long opening them takes.
pub async fn history(
    ctx: &Ctx,
    messages: usize,
    conversations: usize,
    opens: usize,
) -> anyhow::Result<Report> {
    let stats = Arc::new(Stats::new());
    let started = Instant::now();
    // The long conversation, written as fast as its window allows.
    let mut big = open_visitors(ctx, 1, 0, &stats).await;
    let (_, mut ws) = big
        .pop()
        .ok_or_else(|| anyhow::anyhow!("could not open a visitor socket: {:?}", stats.errors()))?;
    let conversation = start_conversation(&mut ws, &stats)
        .await
        .map_err(|e| anyhow::anyhow!("first message: {e}"))?;
    let ids = fill(&mut ws, conversation, messages.saturating_sub(1), &stats).await?;
    let _ = ws.close(None).await;
    // The rest of the inbox: one message each.
    let others = open_visitors(ctx, conversations.saturating_sub(1), 1, &stats).await;
    futures::stream::iter(others)
        .for_each_concurrent(OPENING, |(_, mut ws)| {
            let stats = &stats;
            async move {
                if let Err(kind) = start_conversation(&mut ws, stats).await {
                    stats.error(format!("first message: {kind}"));
                }
                let _ = ws.close(None).await;
            }
        })
        .await;
    let seeded_in = started.elapsed();

    let cookie = ctx.sign_in().await?;
    let mut hello_times = Vec::new();
    let mut open_times = Vec::new();
    let mut older_times = Vec::new();
    let middle = ids.get(ids.len() / 2).copied();
    for i in 0..opens {
        let t = Instant::now();
        let mut agent = open(&ctx.target, i, Role::Agent, &cookie)
            .await
            .map_err(|e| anyhow::anyhow!("agent socket: {e}"))?;
        hello_times.push(t.elapsed());
        let t = Instant::now();
        let open_frame = format!(r#"{{"type":"open","conversation_id":{conversation}}}"#);
        agent.send(Message::text(open_frame)).await?;
        wait_for(&mut agent, "history").await?;
        open_times.push(t.elapsed());
        if let Some(before) = middle {
            let t = Instant::now();
            let older =
                format!(r#"{{"type":"older","conversation_id":{conversation},"before":{before}}}"#);
            agent.send(Message::text(older)).await?;
            wait_for(&mut agent, "history").await?;
            older_times.push(t.elapsed());
        }
        let _ = agent.close(None).await;
    }
    let mut report = Report {
        scenario: "history".into(),
        connections: conversations,
        duration_s: started.elapsed().as_secs_f64(),
        errors: stats.errors(),
        server_rss_bytes: http::server_rss(&ctx.target).await,
        ..Default::default()
    };
    report.timings.insert(
        format!("agent_hello_inbox_of_{conversations}"),
        Percentiles::of_durations(&hello_times),
    );
    report.timings.insert(
        format!("open_newest_of_{messages}"),
        Percentiles::of_durations(&open_times),
    );
    report.timings.insert(
        "older_page_from_the_middle".into(),
        Percentiles::of_durations(&older_times),
    );
    report.notes.insert(
        "setup".into(),
        format!(
            "seeded {messages} messages and {conversations} conversations over sockets in {:.1} s; {opens} opens each, from a fresh agent socket",
            seeded_in.as_secs_f64()
        ),
    );
    Ok(report)
}

/// Writes `count` more messages into `conversation`, up to 64 in flight;
/// returns the stored ids in order.
async fn fill(
    ws: &mut Ws,
    conversation: i64,
    count: usize,
    stats: &Stats,
) -> anyhow::Result<Vec<i64>> {
    const WINDOW: usize = 64;
    let mut ids = Vec::with_capacity(count);
    let (mut sent, mut in_flight) = (0, 0);
    while ids.len() < count {
        while in_flight < WINDOW && sent < count {
            ws.feed(send_frame(Some(conversation), &stats.stamp()))
                .await?;
            sent += 1;
            in_flight += 1;
        }
        ws.flush().await?;
        let Some(received) = tokio::time::timeout(Duration::from_secs(20), ws.next()).await? else {
            anyhow::bail!("the socket closed while seeding");
        };
        if let Message::Text(text) = received? {
            let frame: Frame = serde_json::from_str(&text)?;
            match frame.kind.as_str() {
                "ack" => {
                    in_flight -= 1;
                    ids.extend(frame.message.map(|m| m.id));
                }
                "error" => anyhow::bail!(
                    "the server refused a message while seeding: {} (are the rate limits lifted?)",
                    frame.code.unwrap_or_default()
                ),
                _ => {}
            }
        }
    }
    Ok(ids)
}

/// Reads frames until one of `kind` arrives (20 s at most).
async fn wait_for(ws: &mut Ws, kind: &str) -> anyhow::Result<()> {
    let wait = async {
        while let Some(received) = ws.next().await {
            match received? {
                Message::Text(text) if serde_json::from_str::<Frame>(&text)?.kind == kind => {
                    return Ok(());
                }
                Message::Close(close) => anyhow::bail!(
                    "the server closed the socket while we waited for {kind}: {close:?}"
                ),
                _ => {}
            }
        }
        anyhow::bail!("the socket ended while waiting for {kind}")
    };
    tokio::time::timeout(Duration::from_secs(20), wait).await?
}
