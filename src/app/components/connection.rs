//! The connection state, visible and announced.

use leptos::prelude::*;

use crate::client::live::{Connection, Live};

/// A dot and a word: Connecting… / Online / Reconnecting….
#[component]
pub fn ConnectionStatus() -> impl IntoView {
    let live = expect_context::<Live>();
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
                Connection::Connecting => "Connecting…",
                Connection::Online => "Online",
                Connection::Reconnecting => "Reconnecting…",
            }}
        </span>
    }
}
