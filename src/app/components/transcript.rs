//! Download links for a conversation's transcript (see
//! `server::transcript`): times in the reader's own zone.

use leptos::prelude::*;

use super::{Glyph, Icon};
use crate::protocol::ConversationId;

/// Who downloads: the team (every message and note) or the visitor (their
/// own conversation as they saw it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    Team,
    Visitor,
}

/// The transcript's address, in `format` ("txt" or "json").
pub fn transcript_href(reader: Reader, id: ConversationId, format: &str) -> String {
    let base = match reader {
        Reader::Team => "/inbox/transcript",
        Reader::Visitor => "/messenger/transcript",
    };
    let zone = crate::client::time::time_zone()
        .map(|z| format!("&tz={}", query_value(&z)))
        .unwrap_or_default();
    format!("{base}/{id}?format={format}{zone}")
}

/// (Inbox) "Transcript": text or JSON.
#[component]
pub fn TranscriptMenu(id: ConversationId) -> impl IntoView {
    view! {
        <details class="snooze-menu transcript-menu">
            <summary class="button-small button-quiet">
                <Icon glyph=Glyph::Download />
                <span class="transcript-label">" Transcript"</span>
            </summary>
            <div class="snooze-choices">
                <a class="menu-item" href=transcript_href(Reader::Team, id, "txt") download="">
                    "Text (.txt)"
                </a>
                <a class="menu-item" href=transcript_href(Reader::Team, id, "json") download="">
                    "JSON, every field"
                </a>
            </div>
        </details>
    }
}

/// A zone's name as a query value ("Etc/GMT+5": the `+` must not read as
/// a space).
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'_' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
