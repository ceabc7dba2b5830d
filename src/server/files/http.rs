//! The file endpoints.
//!
//! - `POST /files?conversation=ID` — the body is the file itself, its name
//!   in `X-File-Name` (percent-encoded). The sender is who the session
//!   cookie says (a signed-in teammate, or the messenger's visitor, who may
//!   leave `conversation` out before their first message). Answers `201`
//!   with the [`Attachment`](crate::protocol::Attachment) to name in `send`,
//!   or an error `{code, message}`.
//! - `GET /files/{id}/{name}` and `GET /files/thumb/{id}` — only to the
//!   people in the file's conversation (the team, or that visitor; before
//!   it is sent, only its uploader). Anyone else gets the same 404 as for a
//!   file that does not exist. Served with its real type, `nosniff`, a
//!   sandboxing CSP, as a download unless it is a picture, with byte ranges
//!   and an `ETag` (files never change).

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;

use super::{Part, UploadError};
use crate::protocol::{ContactId, ConversationId};
use crate::server::AppState;
use crate::server::auth;
use crate::server::store::{FileRecord, Uploader};

/// Bytes read from storage (and sent) at a time: a download of any size
/// holds this much.
const CHUNK: u64 = 256 * 1024;

/// Who is asking, from their cookies.
#[derive(Clone, Copy, Debug)]
enum Asker {
    Agent(crate::protocol::AgentId),
    Visitor(ContactId),
}

/// Everyone the request's cookies say it is: a browser may hold both a
/// teammate's session and a visitor cookie (someone trying their own
/// messenger).
async fn askers(state: &AppState, headers: &HeaderMap) -> Result<Vec<Asker>, Response> {
    let mut found = Vec::with_capacity(2);
    match auth::signed_in_agent(&state.store, headers).await {
        Ok(Some(agent)) => found.push(Asker::Agent(agent.id)),
        Ok(None) => {}
        Err(err) => return Err(failed(&err)),
    }
    match auth::signed_in_visitor(&state.store, headers).await {
        Ok(contact) => found.extend(contact.map(|c| Asker::Visitor(c.id))),
        Err(err) => return Err(failed(&err)),
    }
    Ok(found)
}

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    conversation: Option<i64>,
    /// Which page uploads, as for `/ws`: `visitor` (the messenger) or
    /// `agent` (the inbox); the matching cookie says who.
    #[serde(default)]
    role: Option<String>,
}

/// `POST /files`.
pub async fn upload(
    State(state): State<AppState>,
    crate::server::http::ClientAddr(client): crate::server::http::ClientAddr,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A header a plain cross-site form cannot set: with the same-origin
    // check every POST passes, no other site can upload in someone's name.
    let Some(name) = headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing_name",
            "Say the file's name in the X-File-Name header (percent-encoded).",
        );
    };
    let wanted = |a: &Asker| match query.role.as_deref() {
        Some("visitor") => matches!(a, Asker::Visitor(_)),
        Some("agent") => matches!(a, Asker::Agent(_)),
        _ => true,
    };
    let asker = match askers(&state, &headers).await {
        Ok(found) => match found.into_iter().find(wanted) {
            Some(asker) => asker,
            None => {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "signed_out",
                    "Open the messenger or sign in to the inbox first.",
                );
            }
        },
        Err(response) => return response,
    };
    let conversation = query.conversation.map(ConversationId);
    let uploader = match (asker, conversation) {
        (Asker::Agent(agent), Some(c)) => match state.store.conversation_summary(c).await {
            Ok(Some(_)) => Uploader::Agent(agent),
            Ok(None) => return not_found(),
            Err(err) => return failed(&err),
        },
        (Asker::Agent(_), None) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "conversation_required",
                "Say which conversation the file is for (?conversation=ID).",
            );
        }
        (Asker::Visitor(me), Some(c)) => match state.store.conversation_summary(c).await {
            Ok(Some(row)) if row.contact_id == me => Uploader::Contact(me),
            // Someone else's looks the same as none at all.
            Ok(_) => return not_found(),
            Err(err) => return failed(&err),
        },
        (Asker::Visitor(me), None) => Uploader::Contact(me),
    };
    // A blocked visitor sends no files either (their socket is refused too).
    if let Uploader::Contact(me) = uploader {
        match crate::server::blocks::admits(&state, me, client).await {
            Ok(true) => {}
            Ok(false) => {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "blocked",
                    crate::protocol::close::BLOCKED_REASON,
                );
            }
            Err(err) => return failed(&err),
        }
    }
    let files = &state.files;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Err(err) = files
        .may_upload(&state.store, uploader, conversation, declared)
        .await
    {
        return upload_refused(&err);
    }
    let _turn = match files.turn(uploader).await {
        Ok(turn) => turn,
        Err(err) => return upload_refused(&err),
    };
    let deadline = files.read_deadline(declared);
    let read = tokio::time::timeout(deadline, read_capped(body, files.limits.max_bytes)).await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(err)) => return upload_refused(&err),
        Err(_) => return upload_refused(&UploadError::CutOff),
    };
    // Now that its true size is known (a chunked body declares none).
    if let Err(err) = files
        .may_upload(
            &state.store,
            uploader,
            conversation,
            Some(bytes.len() as u64),
        )
        .await
    {
        return upload_refused(&err);
    }
    match files
        .keep(&state.store, uploader, conversation, &name, bytes)
        .await
    {
        Ok(attachment) => (StatusCode::CREATED, axum::Json(attachment)).into_response(),
        Err(err) => upload_refused(&err),
    }
}

/// Reads a body of at most `cap` bytes; past it, stops reading and refuses.
async fn read_capped(body: Body, cap: u64) -> Result<Vec<u8>, UploadError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| UploadError::CutOff)?;
        if (bytes.len() + chunk.len()) as u64 > cap {
            return Err(UploadError::TooBig((bytes.len() + chunk.len()) as u64, cap));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// `GET /files/{id}/{name}`.
pub async fn download(
    State(state): State<AppState>,
    Path((id, _name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    serve(state, id, Part::File, headers).await
}

/// `GET /files/thumb/{id}`.
pub async fn thumbnail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(state, id, Part::Thumb, headers).await
}

/// Whether `asker` may see `file`.
fn may_see(asker: Asker, file: &FileRecord) -> bool {
    match (asker, file.message) {
        // Unsent: its uploader's only.
        (Asker::Agent(me), None) => file.uploader == Uploader::Agent(me),
        (Asker::Visitor(me), None) => file.uploader == Uploader::Contact(me),
        (Asker::Agent(_), Some(_)) => true,
        (Asker::Visitor(me), Some(_)) => file.contact == Some(me) && !file.internal,
    }
}

async fn serve(state: AppState, id: String, part: Part, headers: HeaderMap) -> Response {
    // Ids are 32 hex digits; nothing else reaches storage.
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return not_found();
    }
    let askers = match askers(&state, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let file = match state.store.file_record(&id).await {
        Ok(Some(file)) if askers.iter().any(|a| may_see(*a, &file)) => file,
        Ok(_) => return not_found(),
        Err(err) => return failed(&err),
    };
    let a = &file.attachment;
    if part == Part::Thumb && !a.is_image() {
        return not_found();
    }
    let etag = format!("\"{id}-{}\"", if part == Part::Thumb { "t" } else { "f" });
    let size = match state.files.storage.size(&id, part).await {
        Ok(Some(size)) => size,
        Ok(None) => return not_found(),
        Err(err) => return failed(&err),
    };
    let mut response = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes")
        // Behind a login, so `private`; never changes, so kept a year.
        .header(
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        )
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_DISPOSITION,
            disposition(a.is_image(), &a.name),
        );
    let content_type = match part {
        // The thumbnail's type (JPEG, or PNG for transparency), from its bytes.
        Part::Thumb => match state.files.storage.read(&id, part, 0, 8).await {
            Ok(head) => super::picture::thumb_type(&head),
            Err(err) => return failed(&err),
        },
        Part::File if a.content_type == "text/plain" => "text/plain; charset=utf-8",
        Part::File => a.content_type.as_str(),
    };
    response = response.header(header::CONTENT_TYPE, content_type);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if fresh {
        return response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::NOT_MODIFIED.into_response());
    }
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| byte_range(v, size));
    let (status, start, len) = match range {
        None | Some(Range::Whole) => (StatusCode::OK, 0, size),
        Some(Range::Part(start, end)) => {
            response =
                response.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Some(Range::Unsatisfiable) => {
            return response
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::RANGE_NOT_SATISFIABLE.into_response());
        }
    };
    let storage = state.files.storage.clone();
    let chunks = futures::stream::unfold(0u64, move |sent| {
        let storage = storage.clone();
        let id = id.clone();
        async move {
            if sent >= len {
                return None;
            }
            let want = CHUNK.min(len - sent);
            match storage.read(&id, part, start + sent, want).await {
                Ok(bytes) if !bytes.is_empty() => {
                    let n = bytes.len() as u64;
                    Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), sent + n))
                }
                Ok(_) => Some((Err(std::io::Error::other("the file ended early")), len)),
                Err(err) => Some((Err(std::io::Error::other(err.to_string())), len)),
            }
        }
    });
    response
        .status(status)
        .header(header::CONTENT_LENGTH, len)
        .body(Body::from_stream(chunks))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `inline` for pictures (shown in the page), `attachment` for everything
/// else (saved, never opened by the browser in this site's origin).
fn disposition(inline: bool, name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let how = if inline { "inline" } else { "attachment" };
    let value = format!(
        "{how}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::protocol::url_segment(name)
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// Not a single byte range this server serves in part: the whole file.
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    Unsatisfiable,
}

fn byte_range(header: &str, size: u64) -> Range {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Range::Whole;
    };
    if spec.contains(',') {
        // Several ranges: allowed to answer with the whole file.
        return Range::Whole;
    }
    let Some((from, to)) = spec.trim().split_once('-') else {
        return Range::Whole;
    };
    let (from, to) = (from.trim(), to.trim());
    let parsed = match (from.is_empty(), to.is_empty()) {
        // The last `to` bytes.
        (true, false) => match to.parse::<u64>() {
            Ok(0) => return Range::Unsatisfiable,
            Ok(n) => Some((size.saturating_sub(n), size.saturating_sub(1))),
            Err(_) => None,
        },
        (false, true) => from
            .parse::<u64>()
            .ok()
            .map(|f| (f, size.saturating_sub(1))),
        (false, false) => match (from.parse::<u64>(), to.parse::<u64>()) {
            (Ok(f), Ok(t)) if f <= t => Some((f, t.min(size.saturating_sub(1)))),
            _ => None,
        },
        (true, true) => None,
    };
    match parsed {
        None => Range::Whole,
        Some((start, _)) if start >= size => Range::Unsatisfiable,
        Some((start, end)) => Range::Part(start, end),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn upload_refused(err: &UploadError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    refuse(status, err.code(), &err.to_string())
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response()
}

fn not_found() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such file, or it is not yours to see.",
    )
}

fn failed(err: &dyn std::fmt::Display) -> Response {
    tracing::error!(%err, "could not serve a file");
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "internal",
        "The server could not do that just now; try again in a moment.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_are_read_as_rfc_9110_says() {
        assert_eq!(byte_range("bytes=0-99", 1000), Range::Part(0, 99));
        assert_eq!(byte_range("bytes=900-", 1000), Range::Part(900, 999));
        assert_eq!(byte_range("bytes=-100", 1000), Range::Part(900, 999));
        assert_eq!(byte_range("bytes=990-5000", 1000), Range::Part(990, 999));
        assert_eq!(byte_range("bytes=1000-", 1000), Range::Unsatisfiable);
        assert_eq!(byte_range("bytes=-0", 1000), Range::Unsatisfiable);
        assert_eq!(byte_range("bytes=5-1", 1000), Range::Whole);
        assert_eq!(byte_range("bytes=0-1,5-6", 1000), Range::Whole);
        assert_eq!(byte_range("items=0-1", 1000), Range::Whole);
    }

    #[test]
    fn names_are_decoded_and_quoted_safely() {
        assert_eq!(
            percent_decode("r%C3%A9sum%C3%A9%20(1).pdf"),
            "résumé (1).pdf"
        );
        assert_eq!(percent_decode("100%"), "100%");
        let header = disposition(false, "a\"b\\c ü.pdf");
        assert_eq!(
            header.to_str().unwrap(),
            "attachment; filename=\"a_b_c _.pdf\"; filename*=UTF-8''a%22b%5Cc%20%C3%BC.pdf"
        );
    }
}
