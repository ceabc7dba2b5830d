//! Heads-up for new messages while the person looks elsewhere: a short sound
//! (mutable, remembered in `localStorage`) and, for agents who allowed it, a
//! desktop notification.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::live::Live;
use crate::protocol::Me;

/// Where the mute choice is remembered.
const MUTED_KEY: &str = "minicom.muted";

/// The chime shipped in `public/`.
const SOUND: &str = "/notification.wav";

/// A message from the other side arrived in conversation `from` (a name) with
/// `preview`. Agents hear and see it when the inbox tab is hidden; visitors
/// hear it when the messenger panel is closed or the tab hidden.
pub fn incoming(live: &Live, from: &str, preview: &str) {
    let hidden = web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() != web_sys::VisibilityState::Visible);
    let agent = matches!(live.me.get_untracked(), Some(Me::Agent { .. }));
    let unseen = hidden || (!agent && !live.panel_open.get_untracked());
    if !unseen {
        return;
    }
    if !live.muted.get_untracked() {
        play_sound();
    }
    if agent && hidden {
        show_notification(from, preview);
    }
}

/// A teammate mentioned this agent in a note: heard (unless muted) even
/// while the inbox is in view, since it asks for them in particular; shown
/// on the desktop when it is hidden.
pub fn mentioned(live: &Live) {
    if !live.muted.get_untracked() {
        play_sound();
    }
    let hidden = web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() != web_sys::VisibilityState::Visible);
    if hidden {
        notification(
            "A teammate mentioned you",
            "In a note: the conversation is under Mentions.",
        );
    }
}

fn play_sound() {
    if let Ok(audio) = web_sys::HtmlAudioElement::new_with_src(SOUND) {
        audio.set_volume(0.6);
        // Browsers refuse sound before the first click on the page; fine.
        let _ = audio.play();
    }
}

fn show_notification(from: &str, preview: &str) {
    notification(&format!("{from} wrote"), preview);
}

fn notification(title: &str, body: &str) {
    if web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    options.set_tag("minicom-inbox");
    if let Ok(n) = web_sys::Notification::new_with_options(title, &options) {
        let on_click = wasm_bindgen::closure::Closure::<dyn Fn()>::new(|| {
            if let Some(w) = web_sys::window() {
                let _ = w.focus();
            }
        });
        n.set_onclick(Some(on_click.as_ref().unchecked_ref()));
        on_click.forget();
    }
}

/// Whether the browser would show desktop notifications if asked.
pub fn can_ask_permission() -> bool {
    web_sys::Notification::permission() == web_sys::NotificationPermission::Default
}

/// Asks for desktop notifications (must follow a click).
pub fn ask_permission() {
    let _ = web_sys::Notification::request_permission();
}

/// Applies the remembered mute choice and remembers changes to it.
pub fn restore_mute(live: Live) {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let Some(storage) = storage else { return };
    if let Ok(Some(saved)) = storage.get_item(MUTED_KEY) {
        live.muted.set(saved == "1");
    }
    Effect::new(move |_| {
        let value = if live.muted.get() { "1" } else { "0" };
        let _ = storage.set_item(MUTED_KEY, value);
    });
}
