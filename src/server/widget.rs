//! `GET /widget.js`: the one script a website adds to get the messenger —
//! the launcher, the panel framing `/messenger`, and `window.Minicom` (see
//! the script's header and the README). It is built into the binary, so it
//! always matches the messenger it frames.

use std::sync::OnceLock;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::server::AppState;
use sha2::{Digest, Sha256};

/// The script, as served.
pub const SCRIPT: &str = include_str!("widget.js");

/// A strong validator: the first 16 bytes of the script's SHA-256.
fn etag() -> &'static str {
    static ETAG: OnceLock<String> = OnceLock::new();
    ETAG.get_or_init(|| {
        let digest = Sha256::digest(SCRIPT.as_bytes());
        format!("\"{}\"", hex::encode(&digest[..16]))
    })
}

/// Cached by browsers for an hour, then revalidated by its ETag (304 when
/// unchanged): sites keep one fixed URL, and an upgrade reaches them within
/// the hour.
pub async fn script(headers: HeaderMap) -> Response {
    let etag = etag();
    let cache = [
        (header::ETAG, HeaderValue::from_static(etag)),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        )],
        SCRIPT,
    )
        .into_response()
}

/// `GET /widget/look`: the launcher's colour and side before any frame
/// exists (the frame tells the script about later changes). Public — it is
/// what every visitor sees — so any site may read it; never cached for long,
/// so a new colour shows on the next page view.
pub async fn look(State(state): State<AppState>) -> Response {
    (
        [
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Json(state.workspace.look()),
    )
        .into_response()
}
