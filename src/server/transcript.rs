//! Transcripts: a conversation as a file to take away — plain text for
//! people (times in the reader's zone), JSON for tools (every field).
//!
//! - `GET /inbox/transcript/{id}` — a signed-in teammate, any conversation,
//!   notes and the system's lines included.
//! - `GET /messenger/transcript/{id}` — the visitor, their own conversation
//!   only, as they saw it (nothing internal).
//!
//! Both take `format=txt|json` and `tz` (an IANA zone, default UTC). The
//! body is streamed a page of messages at a time, so a conversation of any
//! length costs the server one page of memory.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::protocol::{ConversationId, ConversationSummary, Message, MessageId, SenderKind};
use crate::server::AppState;
use crate::server::auth;
use crate::server::store::{Audience, Store};

/// Messages read (and written out) at a time: at most about 2.4 MB of
/// text even if every one is as long as allowed and escaped in full.
const PAGE: i64 = 100;

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Txt,
    Json,
}

#[derive(Debug, Deserialize)]
pub struct TranscriptQuery {
    #[serde(default)]
    format: Format,
    #[serde(default)]
    tz: Option<String>,
}

/// A teammate's download.
pub async fn for_agent(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<TranscriptQuery>,
    headers: HeaderMap,
) -> Response {
    match auth::signed_in_agent(&state.store, &headers).await {
        Ok(Some(_)) => {}
        Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "Sign in to the inbox first."),
        Err(err) => return failed(&err),
    }
    let conversation = ConversationId(id);
    match state.store.conversation_summary(conversation).await {
        Ok(Some(row)) => download(state.store.clone(), row, Audience::Team, query),
        Ok(None) => not_found(),
        Err(err) => failed(&err),
    }
}

/// A visitor's download of their own conversation.
pub async fn for_visitor(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<TranscriptQuery>,
    headers: HeaderMap,
) -> Response {
    let me = match auth::signed_in_visitor(&state.store, &headers).await {
        Ok(Some(contact)) => contact.id,
        Ok(None) => return not_found(),
        Err(err) => return failed(&err),
    };
    match state.store.conversation_summary(ConversationId(id)).await {
        // Someone else's looks the same as none at all.
        Ok(Some(row)) if row.contact_id == me => download(
            state.store.clone(),
            row.for_visitor(),
            Audience::Visitor,
            query,
        ),
        Ok(_) => not_found(),
        Err(err) => failed(&err),
    }
}

fn download(
    store: Store,
    row: ConversationSummary,
    audience: Audience,
    query: TranscriptQuery,
) -> Response {
    let zone = match query.tz.as_deref() {
        None | Some("") => jiff::tz::TimeZone::UTC,
        Some(name) => match jiff::tz::TimeZone::get(name) {
            Ok(zone) => zone,
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "Unknown time zone: give an IANA name such as Europe/Paris, or leave tz out for UTC.",
                );
            }
        },
    };
    let (content_type, extension) = match query.format {
        Format::Txt => ("text/plain; charset=utf-8", "txt"),
        Format::Json => ("application/json", "json"),
    };
    let disposition = format!(
        "attachment; filename=\"minicom-conversation-{}.{extension}\"",
        row.id
    );
    let writer = Writer {
        format: query.format,
        zone,
        audience,
    };
    let body = Body::from_stream(writer.stream(store, row));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// How one transcript is written.
#[derive(Clone)]
struct Writer {
    format: Format,
    zone: jiff::tz::TimeZone,
    audience: Audience,
}

/// Where the stream is.
enum Step {
    Head(Box<ConversationSummary>),
    After(ConversationId, MessageId, bool),
    Done,
}

impl Writer {
    /// The file, a page at a time: the head, each page of messages, the end.
    fn stream(
        self,
        store: Store,
        row: ConversationSummary,
    ) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
        futures::stream::unfold(Step::Head(Box::new(row)), move |step| {
            let store = store.clone();
            let this = self.clone();
            async move {
                match step {
                    Step::Head(row) => {
                        let head = this.head(&row);
                        Some((Ok(head.into()), Step::After(row.id, MessageId(0), true)))
                    }
                    Step::After(id, after, first) => {
                        match store.newer_messages(id, after, PAGE, this.audience).await {
                            Ok(page) if page.is_empty() => {
                                Some((Ok(this.tail().into()), Step::Done))
                            }
                            Ok(page) => {
                                let last = page.last().map_or(after, |m| m.id);
                                let text = this.page(&page, first);
                                Some((Ok(text.into()), Step::After(id, last, false)))
                            }
                            Err(err) => {
                                tracing::warn!(%err, conversation = %id, "a transcript could not be read to the end");
                                Some((Err(std::io::Error::other(err.to_string())), Step::Done))
                            }
                        }
                    }
                    Step::Done => None,
                }
            }
        })
    }

    fn head(&self, row: &ConversationSummary) -> String {
        match self.format {
            Format::Json => {
                let conversation = serde_json::to_string(row).unwrap_or_else(|_| "null".into());
                format!(
                    "{{\"conversation\":{conversation},\"time_zone\":{},\"messages\":[",
                    serde_json::Value::String(self.zone.iana_name().unwrap_or("UTC").to_owned())
                )
            }
            Format::Txt => {
                let email = row
                    .contact_email
                    .as_deref()
                    .map(|e| format!(" <{}>", one_line(e)))
                    .unwrap_or_default();
                format!(
                    "Conversation {} with {}{email}\nStatus: {}\nTimes: {}\n\n",
                    row.id,
                    one_line(&row.contact_name),
                    row.status.as_str(),
                    self.zone.iana_name().unwrap_or("UTC"),
                )
            }
        }
    }

    fn page(&self, messages: &[Message], first: bool) -> String {
        let mut out = String::new();
        for (i, message) in messages.iter().enumerate() {
            match self.format {
                Format::Json => {
                    if !(first && i == 0) {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(message).unwrap_or_else(|_| "null".into()));
                }
                Format::Txt => out.push_str(&self.line(message)),
            }
        }
        out
    }

    /// `[2026-12-01 09:00] Ana: Hello` — a body's further lines indented.
    fn line(&self, m: &Message) -> String {
        let at = jiff::Timestamp::from_millisecond(m.created_at.0)
            .map(|t| {
                t.to_zoned(self.zone.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        let body = if m.deleted {
            "(deleted)".to_owned()
        } else {
            // Each file on a line of its own, with where to get it.
            let files = m.attachments.iter().map(|a| {
                format!(
                    "[file: {} ({}, {}) {}]",
                    one_line(&a.name),
                    a.kind_label(),
                    crate::protocol::human_size(a.size),
                    a.url()
                )
            });
            let text = std::iter::once(m.body.clone())
                .filter(|b| !b.is_empty())
                .chain(files)
                .collect::<Vec<_>>()
                .join("\n");
            indented(&text)
        };
        let edited = if m.edited_at.is_some() && !m.deleted {
            " (edited)"
        } else {
            ""
        };
        match (m.sender, m.internal) {
            (SenderKind::System, _) => format!("[{at}] — {body}\n"),
            (_, true) => format!(
                "[{at}] {} (note): {body}{edited}\n",
                one_line(&m.sender_name)
            ),
            _ => format!("[{at}] {}: {body}{edited}\n", one_line(&m.sender_name)),
        }
    }

    fn tail(&self) -> &'static str {
        match self.format {
            Format::Json => "]}\n",
            Format::Txt => "",
        }
    }
}

/// A message's text with every further line indented, whatever breaks the
/// line (`\r\n`, a lone `\r`, U+2028, U+2029): no line of a message can
/// pass for a line of the transcript.
fn indented(body: &str) -> String {
    body.replace("\r\n", "\n")
        .replace(['\r', '\u{2028}', '\u{2029}', '\u{85}'], "\n")
        .replace('\n', "\n    ")
}

/// A name on one line: breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn not_found() -> Response {
    refuse(StatusCode::NOT_FOUND, "No such conversation.")
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, why).into_response()
}

fn failed(err: &dyn std::fmt::Display) -> Response {
    tracing::warn!(%err, "a transcript could not be started");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The transcript could not be read just now; try again in a moment.",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_of_a_message_passes_for_a_transcript_line() {
        let forged = "hi\r[2026-01-01 00:00] Admin (note): fake\u{2028}[x] y\r\nz";
        let text = indented(forged);
        assert!(
            text.lines().skip(1).all(|l| l.starts_with("    ")),
            "{text:?}"
        );
        assert_eq!(one_line("Ana\n[2026] Admin:"), "Ana [2026] Admin:");
    }
}
