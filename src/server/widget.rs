//! `GET /widget.js`: the one script a website adds to get the messenger —
//! the launcher, the panel framing `/messenger`, and `window.Minicom` (see
//! the script's header and the README). It is built into the binary, so it
//! always matches the messenger it frames.

use std::sync::OnceLock;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::i18n::Locale;
use crate::server::AppState;
use serde::{Deserialize, Serialize};
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
/// exists (the frame tells the script about later changes), and its labels
/// in the visitor's language (`?lang=`, else the browser's). Public — it is
/// what every visitor sees — so any site may read it; never cached for long,
/// so a new colour shows on the next page view.
pub async fn look(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(asked): Query<LanguageAsked>,
) -> Response {
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let w = Locale::choose(asked.lang.as_deref(), accepted);
    let labels = LauncherLabels {
        open: w.t("open-chat"),
        close: w.t("close-chat"),
        unread_one: w.t("open-chat-unread-one"),
        // widget.js puts the count (2 or more) in place of `{count}`.
        unread: w.t_with("open-chat-unread", &[("count", "{count}".into())]),
        title: w.t("chat"),
    };
    (
        [
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::VARY, HeaderValue::from_static("Accept-Language")),
        ],
        Json(LookWithLabels {
            look: state.workspace.look(),
            labels,
        }),
    )
        .into_response()
}

/// `?lang=` on `/widget/look`.
#[derive(Deserialize)]
pub struct LanguageAsked {
    lang: Option<String>,
}

/// What the launcher says, in the visitor's language.
#[derive(Serialize)]
struct LauncherLabels {
    open: String,
    close: String,
    unread_one: String,
    unread: String,
    title: String,
}

#[derive(Serialize)]
struct LookWithLabels {
    #[serde(flatten)]
    look: crate::settings::MessengerLook,
    labels: LauncherLabels,
}
