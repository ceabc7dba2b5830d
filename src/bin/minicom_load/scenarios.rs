//! The scenarios: `idle`, `chat`, `inbox`, `history` and `mix`.
//!
//! Every connection is opened the way a browser opens it (page load or
//! sign-in for the cookie, then `/ws`), and every run is bounded in count and
//! time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::http;
use crate::socket::{Frame, Role, Target, Ws, open, send_frame};
use crate::stats::{Percentiles, Stats, get};

/// Connections opened at once while setting up.
const OPENING: usize = 64;

/// How long a run waits for the last acks and deliveries after it stops sending.
const DRAIN: Duration = Duration::from_secs(5);

/// How often idle connections send a heartbeat (`ping`).
const HEARTBEAT: Duration = Duration::from_secs(20);

/// What every scenario needs.
#[derive(Clone)]
pub struct Ctx {
    pub target: Target,
    pub admin_email: String,
    pub admin_password: String,
}

impl Ctx {
    /// Signs the admin in through the form; returns the session cookie.
    async fn sign_in(&self) -> anyhow::Result<String> {
        http::sign_in(&self.target, &self.admin_email, &self.admin_password).await
    }
}

/// One scenario's results, as printed and as written to JSON.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub scenario: String,
    pub connections: usize,
    pub duration_s: f64,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    pub sent_per_s: f64,
    pub acked_per_s: f64,
    pub delivered_per_s: f64,
    /// Send → delivered to the other side.
    pub latency: Percentiles,
    pub errors: BTreeMap<String, u64>,
    pub server_rss_bytes: Option<f64>,
    pub rss_per_connection_bytes: Option<f64>,
    /// The server's CPU time (user + system, every thread) over the measured
    /// window divided by the messages acknowledged in it: the cost of a
    /// message whatever else the machine was doing.
    pub server_cpu_us_per_message: Option<f64>,
    /// Scenario-specific timings (history: open times).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub timings: BTreeMap<String, Percentiles>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
}

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

/// Opens `count` visitor sockets, each with its own page load for a cookie.
async fn open_visitors(ctx: &Ctx, count: usize, offset: usize, stats: &Stats) -> Vec<(usize, Ws)> {
    futures::stream::iter(0..count)
        .map(|i| async move {
            let i = offset + i;
            let cookie = match http::visitor_cookie(&ctx.target, i).await {
                Ok(cookie) => cookie,
                Err(err) => return Err(format!("page load: {err}")),
            };
            open(&ctx.target, i, Role::Visitor, &cookie)
                .await
                .map(|ws| (i, ws))
        })
        .buffer_unordered(OPENING)
        .filter_map(|opened| keep_opened(opened, "visitor", stats))
        .collect()
        .await
}

/// An opened socket, or `None` with its failure counted.
async fn keep_opened<T>(opened: Result<T, String>, whose: &str, stats: &Stats) -> Option<T> {
    opened
        .map_err(|kind| stats.error(format!("{whose} socket: {kind}")))
        .ok()
}

/// Signs the admin in once and opens `count` agent sockets with that session.
async fn open_agents(ctx: &Ctx, count: usize, stats: &Stats) -> anyhow::Result<Vec<Ws>> {
    let cookie = ctx.sign_in().await?;
    let cookie = &cookie;
    Ok(futures::stream::iter(0..count)
        .map(|i| async move { open(&ctx.target, i, Role::Agent, cookie).await })
        .buffer_unordered(OPENING)
        .filter_map(|opened| keep_opened(opened, "agent", stats))
        .collect()
        .await)
}

/// Sends a visitor's first message and returns the new conversation's id.
async fn start_conversation(ws: &mut Ws, stats: &Stats) -> Result<i64, String> {
    ws.send(send_frame(None, &stats.stamp()))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let wait = async {
        while let Some(received) = ws.next().await {
            match received {
                Ok(Message::Text(text)) => {
                    let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
                        continue;
                    };
                    match (frame.kind.as_str(), frame.message, frame.code) {
                        ("ack", Some(message), _) => return Ok(message.conversation_id),
                        ("error", _, code) => {
                            return Err(format!("error {}", code.unwrap_or_default()));
                        }
                        _ => {}
                    }
                }
                Ok(Message::Close(close)) => {
                    return Err(format!(
                        "closed {}",
                        close.map_or(1005, |c| u16::from(c.code))
                    ));
                }
                Ok(_) => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        Err("socket ended".to_owned())
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| Err("no ack within 20 s".into()))
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
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn rand_fraction() -> f64 {
    (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0
}

/// Something done halfway through a run: what it starts (if anything) is
/// stopped after the run.
pub type Midpoint<'a> =
    Box<dyn FnOnce() -> futures::future::BoxFuture<'a, anyhow::Result<Option<Held>>> + 'a>;

/// The `chat` and `inbox` scenarios.
pub async fn chat(ctx: &Ctx, chat: Chat, name: &str) -> anyhow::Result<Report> {
    run_chat(ctx, chat, name, None).await
}

async fn run_chat(
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

/// Connections held open by the `idle` scenario.
pub struct Held {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    open: Arc<AtomicU64>,
}

impl Held {
    pub fn count(&self) -> u64 {
        get(&self.open)
    }

    pub async fn close(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Opens `count` visitor sockets and keeps them open with heartbeats.
pub async fn hold(ctx: &Ctx, count: usize, offset: usize, stats: &Arc<Stats>) -> Held {
    let (stop_tx, stop) = watch::channel(false);
    let open = Arc::new(AtomicU64::new(0));
    let sockets = open_visitors(ctx, count, offset, stats).await;
    let mut tasks = Vec::with_capacity(sockets.len());
    for (_, mut ws) in sockets {
        open.fetch_add(1, Ordering::Relaxed);
        let (open, stats, mut stop) = (open.clone(), stats.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut heartbeat = tokio::time::interval_at(
                tokio::time::Instant::now() + HEARTBEAT.mul_f64(rand_fraction()),
                HEARTBEAT,
            );
            loop {
                tokio::select! {
                    received = ws.next() => match received {
                        Some(Ok(Message::Close(close))) => {
                            stats.error(format!("closed {}", close.map_or(1005, |c| u16::from(c.code))));
                            break;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => {
                            stats.error("idle socket dropped");
                            break;
                        }
                    },
                    _ = heartbeat.tick() => {
                        if ws.send(Message::text(r#"{"type":"ping"}"#)).await.is_err() {
                            stats.error("idle socket dropped");
                            break;
                        }
                    }
                    _ = stopped(&mut stop) => {
                        let _ = ws.close(None).await;
                        break;
                    }
                }
            }
            open.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    Held {
        stop: stop_tx,
        tasks,
        open,
    }
}

/// The `idle` scenario: how many sockets one server holds, and their memory.
pub async fn idle(ctx: &Ctx, count: usize, hold_for: Duration) -> anyhow::Result<Report> {
    let stats = Arc::new(Stats::new());
    let before = http::server_rss(&ctx.target).await;
    let started = Instant::now();
    let held = hold(ctx, count, 0, &stats).await;
    let opened_in = started.elapsed();
    tokio::time::sleep(hold_for).await;
    let connections = held.count() as usize;
    let after = http::server_rss(&ctx.target).await;
    held.close().await;
    let mut report = Report {
        scenario: "idle".into(),
        connections,
        duration_s: started.elapsed().as_secs_f64(),
        errors: stats.errors(),
        server_rss_bytes: after,
        rss_per_connection_bytes: match (before, after) {
            (Some(b), Some(a)) if connections > 0 => Some((a - b) / connections as f64),
            _ => None,
        },
        ..Default::default()
    };
    report.notes.insert(
        "setup".into(),
        format!(
            "asked for {count}, held {connections}; opening took {:.1} s (page load + upgrade + hello each); server RSS before {:.0} MiB",
            opened_in.as_secs_f64(),
            before.unwrap_or(0.0) / 1048576.0
        ),
    );
    Ok(report)
}

/// The `mix` scenario: idle sockets held while conversations run, and
/// halfway through every idle socket leaves at once (each departure is a
/// visitor going offline: a last-seen write and a presence event).
pub async fn mix(ctx: &Ctx, idle_count: usize, chat_run: Chat) -> anyhow::Result<Report> {
    let stats = Arc::new(Stats::new());
    let held = hold(ctx, idle_count, 1_000_000, &stats).await;
    let idle_held = held.count() as usize;
    let leave = Box::new(move || {
        Box::pin(async move {
            held.close().await;
            Ok(None)
        }) as futures::future::BoxFuture<'_, anyhow::Result<Option<Held>>>
    }) as Midpoint<'_>;
    let mut report = run_chat(ctx, chat_run, "mix", Some(leave)).await?;
    report.connections += idle_held;
    for (kind, n) in stats.errors() {
        *report.errors.entry(kind).or_default() += n;
    }
    report.notes.insert(
        "idle".into(),
        format!(
            "{idle_count} idle visitor sockets alongside; all of them leave at once halfway through"
        ),
    );
    Ok(report)
}

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

/// The `assistant` scenario: ordinary conversations at a steady rate; halfway
/// through, the assistant is switched on and `generating` visitors keep it
/// busy (each asks again as soon as it is answered). Compares the ordinary
/// messages' latency before and during.
pub async fn assistant(ctx: &Ctx, chat: Chat, generating: usize) -> anyhow::Result<Report> {
    let cookie = ctx.sign_in().await?;
    // Ordinary conversations start without the assistant.
    http::set_assistant(&ctx.target, &cookie, false).await?;
    let answers = Arc::new(AtomicU64::new(0));
    let start = {
        let (cookie, answers) = (cookie.clone(), answers.clone());
        Box::new(move || {
            Box::pin(async move {
                http::set_assistant(&ctx.target, &cookie, true).await?;
                Ok(Some(ask_again_and_again(ctx, generating, answers).await))
            }) as futures::future::BoxFuture<'_, anyhow::Result<Option<Held>>>
        }) as Midpoint<'_>
    };
    let mut report = run_chat(ctx, chat, "assistant", Some(start)).await?;
    http::set_assistant(&ctx.target, &cookie, false).await?;
    report.notes.insert(
        "assistant".into(),
        format!(
            "{generating} visitors kept the assistant busy in the second half ({} answers or fallbacks)",
            get(&answers)
        ),
    );
    if let Ok((_, text)) = http::get(&ctx.target, "/metrics").await {
        let m = |name: &str| http::metric(&text, name).unwrap_or(0.0);
        let answered = m("minicom_assistant_generation_seconds_count");
        let tokens = m("minicom_assistant_tokens_total");
        let generating_s = m("minicom_assistant_generation_seconds_sum")
            - m("minicom_assistant_first_token_seconds_sum");
        report.notes.insert(
            "model".into(),
            format!(
                "{answered} answers, {tokens} tokens; mean time to first token {:.0} ms (reading the prompt included, queue wait not), \
                 mean generation {:.2} s, {:.1} tokens/s while generating; failures: timeout {}, queue full {}, engine {}",
                m("minicom_assistant_first_token_seconds_sum") / answered.max(1.0) * 1000.0,
                m("minicom_assistant_generation_seconds_sum") / answered.max(1.0),
                tokens / generating_s.max(1e-9),
                m(r#"minicom_assistant_failures_total{cause="timeout"}"#),
                m(r#"minicom_assistant_failures_total{cause="queue_full"}"#),
                m(r#"minicom_assistant_failures_total{cause="engine_error"}"#),
            ),
        );
    }
    Ok(report)
}

/// Visitors who each ask a question, wait for the assistant's answer (or the
/// fallback line), and ask again, until stopped.
async fn ask_again_and_again(ctx: &Ctx, count: usize, answers: Arc<AtomicU64>) -> Held {
    const QUESTIONS: [&str; 4] = [
        "Hi! Do you ship coffee beans abroad?",
        "What is the difference between your light and dark roasts?",
        "Can I change the address of an order I placed yesterday?",
        "Do you have decaf, and how is it decaffeinated?",
    ];
    let stats = Arc::new(Stats::new());
    let (stop_tx, stop) = watch::channel(false);
    let sockets = open_visitors(ctx, count, 2_000_000, &stats).await;
    let open_count = Arc::new(AtomicU64::new(sockets.len() as u64));
    let mut tasks = Vec::new();
    for (n, (_, mut ws)) in sockets.into_iter().enumerate() {
        let (answers, mut stop) = (answers.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut conversation: Option<i64> = None;
            for round in 0.. {
                let question = QUESTIONS[(n + round) % QUESTIONS.len()];
                if ws.send(send_frame(conversation, question)).await.is_err() {
                    return;
                }
                // Until the assistant (or Minicom's fallback) answers.
                loop {
                    let received = tokio::select! {
                        received = ws.next() => received,
                        _ = stopped(&mut stop) => return,
                    };
                    let Some(Ok(Message::Text(text))) = received else {
                        return;
                    };
                    let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
                        continue;
                    };
                    match (frame.kind.as_str(), frame.message) {
                        ("ack", Some(m)) => conversation = Some(m.conversation_id),
                        ("message", Some(m)) if m.sender == "ai" => break,
                        ("message", Some(m)) if m.sender == "system" => {
                            // Handed over: the next question starts afresh
                            // only if the assistant still answers; stop here.
                            answers.fetch_add(1, Ordering::Relaxed);
                            let _ = stopped(&mut stop).await;
                            return;
                        }
                        _ => {}
                    }
                }
                answers.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    Held {
        stop: stop_tx,
        tasks,
        open: open_count,
    }
}
