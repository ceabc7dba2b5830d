//! The `chat` and `inbox` scenarios, and the run `mix` and `assistant` build on.

use super::*;

/// A conversation-driving run: visitors and agents exchanging messages.
#[derive(Clone, Copy, Debug)]
pub struct Chat {
    /// Conversations, one visitor each.
    pub pairs: usize,
    /// Agent sockets (all signed in as the admin, like open inbox tabs).
    pub agents: usize,
    /// Messages per second in total; 0 = as fast as the windows allow.
    pub rate: f64,
    pub duration: Duration,
    /// Unacknowledged messages each sender may have in flight.
    pub window: usize,
    /// `chat`: agents open their conversations and answer (both sides send,
    /// latency measured at the counterpart). `inbox`: agents only watch the
    /// inbox list; visitors send; latency measured at every agent's inbox row.
    pub inbox_only: bool,
}

/// A socket split into a writer task (fed by a channel) and a reader that
/// hands each text frame to `on_frame`. Ends when `stop` turns true or the
/// socket closes.
struct Link {
    tx: mpsc::Sender<Message>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn spawn_link(
    ws: Ws,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
    mut on_frame: impl FnMut(Frame, &mut Vec<(u32, u32)>) + Send + 'static,
) -> Link {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(256);
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let reader = tokio::spawn(async move {
        let mut latencies = Vec::new();
        loop {
            let received = tokio::select! {
                received = stream.next() => received,
                _ = stopped(&mut stop) => break,
            };
            match received {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Frame>(&text) {
                    Ok(frame) => on_frame(frame, &mut latencies),
                    Err(_) => stats.error("unparsable frame"),
                },
                Some(Ok(Message::Close(close))) => {
                    stats.error(format!(
                        "closed {}",
                        close.map_or(1005, |c| u16::from(c.code))
                    ));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    stats.error(format!("read: {e}"));
                    break;
                }
                None => break,
            }
        }
        stats.add_latencies(&mut latencies);
    });
    Link {
        tx,
        tasks: vec![writer, reader],
    }
}

/// Sends stamped messages into `conversation` through `tx`, paced at one per
/// `interval` (none: as fast as `window` permits), until `stop`.
fn spawn_sender(
    tx: mpsc::Sender<Message>,
    conversation: i64,
    window: Arc<Semaphore>,
    interval: Option<Duration>,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pace = interval.map(|every| {
            // Spread the senders' first ticks over one interval.
            let offset = every.mul_f64(rand_fraction());
            tokio::time::interval_at(tokio::time::Instant::now() + offset, every)
        });
        loop {
            let ready = async {
                if let Some(pace) = pace.as_mut() {
                    pace.tick().await;
                }
                window.acquire().await.map(|p| p.forget())
            };
            tokio::select! {
                ready = ready => if ready.is_err() { return },
                _ = stopped(&mut stop) => return,
            }
            if tx
                .send(send_frame(Some(conversation), &stats.stamp()))
                .await
                .is_err()
            {
                return;
            }
            stats.sent.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// Resolves once `stop` turns true (the guard is dropped before returning, so
/// callers stay `Send`).
/// Something done halfway through a run: what it starts (if anything) is
/// stopped after the run.
pub type Midpoint<'a> =
    Box<dyn FnOnce() -> futures::future::BoxFuture<'a, anyhow::Result<Option<Held>>> + 'a>;

/// The `chat` and `inbox` scenarios.
pub async fn chat(ctx: &Ctx, chat: Chat, name: &str) -> anyhow::Result<Report> {
    run_chat(ctx, chat, name, None).await
}

pub(super) async fn run_chat(
    ctx: &Ctx,
    chat: Chat,
    name: &str,
    midpoint: Option<Midpoint<'_>>,
) -> anyhow::Result<Report> {
    let stats = Arc::new(Stats::new());
    let (stop_tx, stop) = watch::channel(false);
    let mut visitors = open_visitors(ctx, chat.pairs, 0, &stats).await;
    // Each visitor starts its conversation (one message, before timing).
    let conversations: Vec<Option<i64>> = futures::stream::iter(visitors.iter_mut())
        .map(|(_, ws)| {
            let stats = &stats;
            async move {
                start_conversation(ws, stats)
                    .await
                    .map_err(|kind| stats.error(format!("first message: {kind}")))
                    .ok()
            }
        })
        .buffered(OPENING)
        .collect()
        .await;
    let pairs: Vec<(Ws, i64)> = visitors
        .into_iter()
        .zip(conversations)
        .filter_map(|((_, ws), c)| Some((ws, c?)))
        .collect();
    // Agents connect once the conversations exist (their first messages are
    // set-up, not part of the measurement).
    let agents = open_agents(ctx, chat.agents, &stats).await?;
    let agent_links = agents.len();
    let connections = pairs.len() + agent_links;
    let senders_total = if chat.inbox_only {
        pairs.len()
    } else {
        2 * pairs.len()
    };
    let interval =
        (chat.rate > 0.0).then(|| Duration::from_secs_f64(senders_total as f64 / chat.rate));
    let mut tasks = Vec::new();
    let mut links = Vec::new();

    // Agents: in `chat` each answers its share of the conversations.
    let agent_count = agents.len().max(1);
    for (a, ws) in agents.into_iter().enumerate() {
        let mine: Vec<i64> = pairs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % agent_count == a)
            .map(|(_, (_, c))| *c)
            .collect();
        let window = Arc::new(Semaphore::new(chat.window * mine.len().max(1)));
        let on_frame = {
            let (stats, window) = (stats.clone(), window.clone());
            let inbox_only = chat.inbox_only;
            move |frame: Frame, latencies: &mut Vec<(u32, u32)>| match frame.kind.as_str() {
                "ack" => {
                    stats.acked.fetch_add(1, Ordering::Relaxed);
                    window.add_permits(1);
                }
                "message" if !inbox_only => {
                    if let Some(m) = frame.message.filter(|m| m.sender == "contact") {
                        stats.delivered.fetch_add(1, Ordering::Relaxed);
                        latencies.extend(stats.age_us(&m.body).map(|us| stats.sample(us)));
                    }
                }
                "conversation" if inbox_only => {
                    if let Some(age) = frame
                        .conversation
                        .and_then(|row| stats.age_us(&row.last_message_preview))
                    {
                        stats.delivered.fetch_add(1, Ordering::Relaxed);
                        latencies.push(stats.sample(age));
                    }
                }
                "error" => {
                    stats.error(format!("error {}", frame.code.unwrap_or_default()));
                    window.add_permits(1);
                }
                _ => {}
            }
        };
        let link = spawn_link(ws, stats.clone(), stop.clone(), on_frame);
        if !chat.inbox_only {
            for &conversation in &mine {
                let open = format!(r#"{{"type":"open","conversation_id":{conversation}}}"#);
                let _ = link.tx.send(Message::text(open)).await;
                tasks.push(spawn_sender(
                    link.tx.clone(),
                    conversation,
                    window.clone(),
                    interval,
                    stats.clone(),
                    stop.clone(),
                ));
            }
        }
        links.push(link);
    }
    // Visitors: each writes in its own conversation.
    for (ws, conversation) in pairs {
        let window = Arc::new(Semaphore::new(chat.window));
        let on_frame = {
            let (stats, window) = (stats.clone(), window.clone());
            move |frame: Frame, latencies: &mut Vec<(u32, u32)>| match frame.kind.as_str() {
                "ack" => {
                    stats.acked.fetch_add(1, Ordering::Relaxed);
                    window.add_permits(1);
                }
                "message" => {
                    if let Some(m) = frame.message.filter(|m| m.sender != "contact") {
                        stats.delivered.fetch_add(1, Ordering::Relaxed);
                        latencies.extend(stats.age_us(&m.body).map(|us| stats.sample(us)));
                    }
                }
                "error" => {
                    stats.error(format!("error {}", frame.code.unwrap_or_default()));
                    window.add_permits(1);
                }
                _ => {}
            }
        };
        let link = spawn_link(ws, stats.clone(), stop.clone(), on_frame);
        tasks.push(spawn_sender(
            link.tx.clone(),
            conversation,
            window,
            interval,
            stats.clone(),
            stop.clone(),
        ));
        links.push(link);
    }
    // Let the agents' `open`s land before timing starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let (sent0, acked0, delivered0) = (get(&stats.sent), get(&stats.acked), get(&stats.delivered));
    let cpu0 = http::server_cpu_seconds(&ctx.target).await;
    let start_ms = stats.epoch.elapsed().as_millis() as u32;
    let mut halves = None;
    let mut extra = None;
    match midpoint {
        None => tokio::time::sleep(chat.duration).await,
        Some(start_extra) => {
            tokio::time::sleep(chat.duration / 2).await;
            let mid_ms = stats.epoch.elapsed().as_millis() as u32;
            extra = start_extra().await?;
            tokio::time::sleep(chat.duration / 2).await;
            halves = Some((mid_ms, stats.epoch.elapsed().as_millis() as u32));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (sent, acked, delivered) = (
        get(&stats.sent) - sent0,
        get(&stats.acked) - acked0,
        get(&stats.delivered) - delivered0,
    );
    let cpu = http::server_cpu_seconds(&ctx.target).await;
    // Stop sending; wait for what is in flight.
    for task in tasks {
        task.abort();
    }
    let per_message = if chat.inbox_only { agent_links } else { 1 };
    let deadline = Instant::now() + DRAIN;
    while Instant::now() < deadline
        && (get(&stats.acked) < get(&stats.sent)
            || get(&stats.delivered) < get(&stats.sent) * per_message as u64)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss = http::server_rss(&ctx.target).await;
    if let Some(extra) = extra {
        extra.close().await;
    }
    let _ = stop_tx.send(true);
    for link in links {
        drop(link.tx);
        for task in link.tasks {
            let _ = task.await;
        }
    }
    let mut report = Report {
        scenario: name.to_owned(),
        connections,
        duration_s: elapsed,
        sent,
        acked,
        delivered,
        sent_per_s: sent as f64 / elapsed,
        acked_per_s: acked as f64 / elapsed,
        delivered_per_s: delivered as f64 / elapsed,
        latency: stats.latency(),
        errors: stats.errors(),
        server_rss_bytes: rss,
        server_cpu_us_per_message: match (cpu0, cpu) {
            (Some(before), Some(after)) if acked > 0 => Some((after - before) * 1e6 / acked as f64),
            _ => None,
        },
        ..Default::default()
    };
    if let Some((mid, end)) = halves {
        report
            .timings
            .insert("first_half".into(), stats.latency_between(start_ms, mid));
        // The second half, after a second to let the extra load start.
        report.timings.insert(
            "second_half".into(),
            stats.latency_between(mid + 1_000, end),
        );
    }
    let total_sent = get(&stats.sent);
    let lost = total_sent.saturating_sub(get(&stats.acked));
    if lost > 0 {
        report.notes.insert(
            "unacked_after_drain".into(),
            format!("{lost} of {total_sent} had no ack within {DRAIN:?}"),
        );
    }
    report.notes.insert(
        "setup".into(),
        format!(
            "{} conversations, {} agent sockets, rate {}, window {}",
            connections - agent_links,
            agent_links,
            if chat.rate > 0.0 {
                format!("{}/s", chat.rate)
            } else {
                "max".into()
            },
            chat.window
        ),
    );
    Ok(report)
}
