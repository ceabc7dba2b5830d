//! The tab's one WebSocket: connect, greet, pump frames, keep it alive, and
//! reconnect with backoff — at once when the network comes back or the tab
//! becomes visible again.

use std::time::Duration;

use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{Message as WsMessage, WebSocketError, futures::WebSocket};
use gloo_timers::future::{IntervalStream, sleep};
use leptos::prelude::{GetUntracked, Set, WithUntracked};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::Role;
use super::live::Live;
use crate::protocol::close::{BLOCKED, SIGNED_OUT, UNVERIFIED};
use crate::protocol::{ClientFrame, ServerFrame};

/// First retry after this long, doubling up to [`MAX_BACKOFF_MS`], with jitter.
const FIRST_BACKOFF_MS: f64 = 500.0;
const MAX_BACKOFF_MS: f64 = 30_000.0;
/// How often the client pings the server.
const HEARTBEAT_MS: u32 = 25_000;
/// Silence after which the connection counts as dead (two missed heartbeats).
const SILENCE_MS: f64 = 60_000.0;

/// Starts the socket for this page; it runs for the page's lifetime.
pub fn start(live: Live, role: Role) {
    let (wake_tx, wake_rx) = mpsc::unbounded::<()>();
    listen_for_network(live, wake_tx);
    wasm_bindgen_futures::spawn_local(run(live, role, wake_rx));
}

async fn run(live: Live, role: Role, mut wake: mpsc::UnboundedReceiver<()>) {
    let mut failures: i32 = 0;
    loop {
        if let Some(url) = socket_url(role, live.words)
            && let Ok(socket) = WebSocket::open(&url)
        {
            let greeted = pump(live, socket).await;
            live.detach();
            if live.signed_out.get_untracked() || live.refused.with_untracked(Option::is_some) {
                return; // Reconnecting cannot help: the session is gone.
            }
            if greeted {
                failures = 0;
            }
        }
        failures += 1;
        let base = (FIRST_BACKOFF_MS * 2f64.powi(failures - 1)).min(MAX_BACKOFF_MS);
        // Jitter spreads the reconnects of many tabs after a server restart.
        let delay = base * (0.5 + js_sys::Math::random() * 0.5);
        futures::select! {
            _ = sleep(Duration::from_millis(delay as u64)).fuse() => {}
            _ = wake.next() => {}
        }
        // Several wake-ups may have queued; one reconnect answers them all.
        while wake.try_recv().is_ok() {}
    }
}

/// Runs one connection until it drops or falls silent; true if the server
/// greeted us.
async fn pump(live: Live, socket: WebSocket) -> bool {
    let (mut write, read) = socket.split();
    let mut read = read.fuse();
    let (tx, rx) = mpsc::unbounded::<ClientFrame>();
    let mut rx = rx.fuse();
    live.attach(tx);
    let mut heartbeat = IntervalStream::new(HEARTBEAT_MS).fuse();
    let mut last_heard = js_sys::Date::now();
    let mut greeted = false;
    loop {
        let outgoing = futures::select! {
            received = read.next() => {
                match received {
                    Some(Ok(WsMessage::Text(text))) => {
                        last_heard = js_sys::Date::now();
                        match serde_json::from_str::<ServerFrame>(&text) {
                            Ok(frame) => {
                                greeted |= matches!(frame, ServerFrame::Hello { .. });
                                live.apply(frame);
                            }
                            Err(err) => leptos::logging::warn!("ignoring a frame this page does not understand: {err}"),
                        }
                        continue;
                    }
                    Some(Ok(WsMessage::Bytes(_))) => continue,
                    Some(Err(WebSocketError::ConnectionClose(close))) if close.code == SIGNED_OUT => {
                        live.signed_out.set(true);
                        return greeted;
                    }
                    Some(Err(WebSocketError::ConnectionClose(close)))
                        if close.code == UNVERIFIED || close.code == BLOCKED =>
                    {
                        let reason = if close.code == BLOCKED {
                            live.words.t("refused-blocked")
                        } else {
                            live.words.t("refused-unverified")
                        };
                        live.refused.set(Some(reason));
                        return greeted;
                    }
                    Some(Err(_)) | None => return greeted,
                }
            }
            frame = rx.next() => match frame {
                Some(frame) => frame,
                None => return greeted,
            },
            _ = heartbeat.next() => {
                if js_sys::Date::now() - last_heard > SILENCE_MS {
                    leptos::logging::warn!("no word from the server for a minute; reconnecting");
                    return greeted;
                }
                ClientFrame::Ping
            }
        };
        let Ok(text) = serde_json::to_string(&outgoing) else {
            continue;
        };
        if write.send(WsMessage::Text(text)).await.is_err() {
            return greeted;
        }
    }
}

/// Wakes the reconnect loop when the network returns or the tab is shown, and
/// keeps `live.online` in step with the browser.
fn listen_for_network(live: Live, wake: mpsc::UnboundedSender<()>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    live.online.set(window.navigator().on_line());
    let on_online = {
        let wake = wake.clone();
        Closure::<dyn Fn()>::new(move || {
            live.online.set(true);
            live.pump_uploads();
            let _ = wake.unbounded_send(());
        })
    };
    let on_offline = Closure::<dyn Fn()>::new(move || live.online.set(false));
    // The messenger framed by the widget (`?embed=1`) rarely holds the focus
    // (the site's page does), and the widget says when its panel is shown
    // (`panel_open`): visible is enough there. Anything else must also be
    // focused.
    let framed = super::embed::in_widget_frame(&window);
    let attentive = move || {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| {
                d.visibility_state() == web_sys::VisibilityState::Visible
                    && (framed || d.has_focus().unwrap_or(true))
            })
    };
    live.attentive.set(attentive());
    let on_visible = Closure::<dyn Fn()>::new(move || {
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
        live.attentive.set(attentive());
        if visible {
            let _ = wake.unbounded_send(());
        }
    });
    let on_focus = Closure::<dyn Fn()>::new(move || live.attentive.set(attentive()));
    let on_blur = Closure::<dyn Fn()>::new(move || live.attentive.set(framed && attentive()));
    let _ = window.add_event_listener_with_callback("focus", on_focus.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("blur", on_blur.as_ref().unchecked_ref());
    on_focus.forget();
    on_blur.forget();
    let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            on_visible.as_ref().unchecked_ref(),
        );
    }
    // The listeners live as long as the page.
    on_online.forget();
    on_offline.forget();
    on_visible.forget();
}

/// The socket's address; a visitor's names the messenger's language, so the
/// team sees it and the assistant answers in it.
fn socket_url(role: Role, words: crate::i18n::Locale) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().ok()?;
    let role_name = role.as_str();
    Some(match role {
        Role::Visitor => format!(
            "{scheme}://{host}/ws?role={role_name}&{}={}",
            crate::i18n::QUERY,
            words.tag()
        ),
        Role::Agent => format!("{scheme}://{host}/ws?role={role_name}"),
    })
}
