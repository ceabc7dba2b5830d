//! The tab's one WebSocket: connect, greet, pump frames, reconnect with backoff.

use futures::channel::mpsc;
use futures::future::{Either, select};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{Message as WsMessage, futures::WebSocket};

use super::live::Live;
use crate::protocol::{ClientFrame, ServerFrame};

/// Which of the browser's identities the socket speaks for.
#[derive(Clone, Copy, Debug)]
pub enum Role {
    Visitor,
    Agent,
}

/// First retry after this many milliseconds, doubling up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: f64 = 500.0;
const MAX_BACKOFF_MS: f64 = 30_000.0;

/// Starts the socket for this page; it runs for the page's lifetime.
pub fn start(live: Live, role: Role) {
    wasm_bindgen_futures::spawn_local(run(live, role));
}

async fn run(live: Live, role: Role) {
    let mut failures: i32 = 0;
    loop {
        if let Some(url) = socket_url(role)
            && let Ok(socket) = WebSocket::open(&url)
        {
            let greeted = pump(live, socket).await;
            live.detach();
            if greeted {
                failures = 0;
            }
        }
        failures += 1;
        let base = (FIRST_BACKOFF_MS * 2f64.powi(failures - 1)).min(MAX_BACKOFF_MS);
        // Jitter spreads reconnects after a server restart.
        let delay = base * (0.5 + js_sys::Math::random() * 0.5);
        gloo_timers::future::sleep(std::time::Duration::from_millis(delay as u64)).await;
    }
}

/// Runs one connection until it drops; true if the server greeted us.
async fn pump(live: Live, socket: WebSocket) -> bool {
    let (mut write, mut read) = socket.split();
    let (tx, mut rx) = mpsc::unbounded::<ClientFrame>();
    live.attach(tx);
    let mut greeted = false;
    loop {
        match select(read.next(), rx.next()).await {
            Either::Left((Some(Ok(WsMessage::Text(text))), _)) => {
                match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(frame) => {
                        greeted |= matches!(frame, ServerFrame::Hello { .. });
                        live.apply(frame);
                    }
                    Err(err) => leptos::logging::warn!(
                        "ignoring a frame this page does not understand: {err}"
                    ),
                }
            }
            Either::Left((Some(Ok(WsMessage::Bytes(_))), _)) => {}
            Either::Left((Some(Err(_)) | None, _)) => return greeted,
            Either::Right((Some(frame), _)) => {
                let Ok(text) = serde_json::to_string(&frame) else {
                    continue;
                };
                if write.send(WsMessage::Text(text)).await.is_err() {
                    return greeted;
                }
            }
            Either::Right((None, _)) => return greeted,
        }
    }
}

fn socket_url(role: Role) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().ok()?;
    let role = match role {
        Role::Visitor => "visitor",
        Role::Agent => "agent",
    };
    Some(format!("{scheme}://{host}/ws?role={role}"))
}
