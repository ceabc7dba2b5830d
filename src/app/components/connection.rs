//! The connection state, visible and announced.

use leptos::prelude::*;

use crate::client::live::{Connection, Live};
use crate::i18n::context::words;

/// A banner while the page cannot reach the server: messages written now are
/// kept and sent on reconnect.
#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let live = expect_context::<Live>();
    let w = words();
    let text = move || {
        if live.signed_out.get() || live.refused.with(Option::is_some) {
            None
        } else if !live.online.get() {
            Some(w.t("offline"))
        } else if live.connection.get() == Connection::Reconnecting {
            Some(w.t("reconnecting-banner"))
        } else {
            None
        }
    };
    view! {
        <div class="banner" role="status" aria-live="polite">
            {move || text().map(|t| view! { <p class="banner-text">{t}</p> })}
            {move || live.refused.get().map(|reason| view! { <p class="banner-text">{reason}</p> })}
            {move || live.signed_out.get().then(|| view! {
                <p class="banner-text">
                    "You were signed out. " <a href="/inbox" rel="external">"Sign in again"</a>
                </p>
            })}
        </div>
    }
}

/// A dot and a word: Connecting… / Online / Reconnecting…, or Not connected
/// once the server ended it for good (signed out, blocked): the banner says
/// why, and nothing is retried.
#[component]
pub fn ConnectionStatus() -> impl IntoView {
    let live = expect_context::<Live>();
    let w = words();
    let ended = move || live.signed_out.get() || live.refused.with(Option::is_some);
    let state = move || live.connection.get();
    view! {
        <span
            class="connection"
            class:connection-online=move || state() == Connection::Online
            class:connection-down=move || state() == Connection::Reconnecting
            role="status"
        >
            <span class="connection-dot" aria-hidden="true"></span>
            {move || match state() {
                _ if ended() => w.t("not-connected"),
                Connection::Connecting => w.t("connecting"),
                Connection::Online => w.t("online"),
                Connection::Reconnecting => w.t("reconnecting"),
            }}
        </span>
    }
}

/// The last refusal not tied to a message ("Pick a time to snooze until…"),
/// until dismissed.
#[component]
pub fn NoticeBar() -> impl IntoView {
    let live = expect_context::<Live>();
    let w = words();
    move || {
        live.notice.get().map(|notice| {
            view! {
                <p class="notice-bar" role="alert">
                    <span>{notice}</span>
                    <button type="button" class="link-button" on:click=move |_| live.notice.set(None)>
                        {w.t("dismiss")}
                    </button>
                </p>
            }
        })
    }
}
