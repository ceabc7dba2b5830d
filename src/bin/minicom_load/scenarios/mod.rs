//! The scenarios: `idle`, `chat`, `inbox`, `history`, `mix` and `assistant`.
//!
//! Every connection is opened the way a browser opens it (page load or
//! sign-in for the cookie, then `/ws`), and every run is bounded in count and
//! time. One file per scenario; what they share is here.

mod assistant;
mod chat;
mod history;
mod idle;

pub use assistant::assistant;
use chat::run_chat;
pub use chat::{Chat, Midpoint, chat};
pub use history::history;
pub use idle::{Held, idle, mix};

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

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn rand_fraction() -> f64 {
    (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0
}
