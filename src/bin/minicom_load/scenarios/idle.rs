//! The `idle` and `mix` scenarios: sockets held open, and all leaving at once.

use super::*;

/// Connections held open by the `idle` scenario.
pub struct Held {
    pub(super) stop: watch::Sender<bool>,
    pub(super) tasks: Vec<tokio::task::JoinHandle<()>>,
    pub(super) open: Arc<AtomicU64>,
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
async fn hold(ctx: &Ctx, count: usize, offset: usize, stats: &Arc<Stats>) -> Held {
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
