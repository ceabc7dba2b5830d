//! The REST API (`/api/v1`): what a company's other systems (a CRM, a
//! shop's backend) use to read conversations and contacts and to post into
//! threads. Admins make tokens on the Settings page (`tokens`); each request
//! names one (`Authorization: Bearer …`), is held to its scope, and to a
//! rate per token. Errors are JSON with a stable code
//! (`{"error": {"code", "message"}}`). The OpenAPI document is generated
//! from these handlers (`doc`) and served at `/api/v1/openapi.json`;
//! docs/api.md is rendered from it.
//!
//! The handlers call the same server modules the sockets do (`workflow`,
//! `publish`, the store), so what an API client changes reaches every open
//! inbox and messenger live.

mod contacts;
mod conversations;
pub mod doc;
pub mod tokens;

pub use conversations::{ApiMessage, Conversation};

use std::num::NonZeroU32;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;

use crate::protocol::{ApiScope, ErrorCode, ProtocolError};
use crate::server::AppState;
use crate::server::limits::Limits;
use crate::server::store::{StoreError, TokenGrant, now};

/// The biggest request body the API reads (a message is at most 4,000
/// characters; JSON around it stays well under this).
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A token's "last used" is written at most this often: reading the API
/// does not turn into a write per request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// Where the API's routes live.
const PREFIX: &str = "/api/v1";

/// Whether a request's path is the API's (not a server function's, which
/// live beside it under `/api/`).
pub fn is_api(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Every route of the API.
pub fn routes() -> Router<AppState> {
    let v1 = Router::new()
        .route("/openapi.json", get(doc::openapi))
        .route("/conversations", get(conversations::list))
        .route(
            "/conversations/{id}",
            get(conversations::read).patch(conversations::change),
        )
        .route(
            "/conversations/{id}/messages",
            get(conversations::messages).post(conversations::post),
        )
        .route("/contacts/{id}", get(contacts::read))
        .fallback(|| async { ApiError::NoRoute })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES));
    Router::new().nest(PREFIX, v1)
}

/// The API's per-token rate: a bucket per token id (tokens are made by
/// admins, so their number, and this map, stay small).
pub struct Api {
    limiter: DefaultKeyedRateLimiter<i64>,
}

impl Api {
    /// `limits.api_per_minute` requests a minute per token, a sixth of
    /// them (ten seconds' worth) at once.
    pub fn new(limits: &Limits) -> Self {
        let per_minute = NonZeroU32::new(limits.api_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.api_per_minute / 6).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
        }
    }

    /// Takes one request from a token's bucket, or says how long to wait.
    fn admit(&self, token: i64) -> Result<(), ApiError> {
        self.limiter.check_key(&token).map_err(|not_until| {
            ApiError::RateLimited(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }
}

/// The token a request came with, checked: live, within its rate.
pub struct Caller {
    pub token: TokenGrant,
}

impl Caller {
    /// Refuses a request the token's scope does not cover.
    fn require(&self, needed: ApiScope) -> Result<(), ApiError> {
        if self.token.scope.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Scope)
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                // The scheme's name is case-insensitive (RFC 9110).
                let (scheme, secret) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(secret)
            })
            .map(str::trim)
            .ok_or(ApiError::NoToken)?;
        let token = state
            .store
            .api_token_by_hash(&crate::server::auth::token_hash(secret))
            .await?
            .ok_or(ApiError::BadToken)?;
        state.api.admit(token.id)?;
        let at = now();
        if token
            .last_used_at
            .is_none_or(|t| at.0 - t.0 >= TOUCH_EVERY_MS)
        {
            // Only what admins read on the Settings page: a failure is
            // not the caller's problem.
            if let Err(err) = state.store.touch_api_token(token.id, at).await {
                tracing::warn!(%err, "could not record an API token's use");
            }
        }
        Ok(Self { token })
    }
}

/// Why an API request was refused: a status, a stable code and a sentence.
#[derive(Debug)]
pub enum ApiError {
    NoToken,
    BadToken,
    Scope,
    NoRoute,
    NotFound(&'static str),
    Invalid(String),
    IdempotencyReused,
    RateLimited(Duration),
    /// A rule of the chat's (the same refusals a socket gets).
    Refused(ProtocolError),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::Refused(err.refusal())
    }
}

impl From<ProtocolError> for ApiError {
    fn from(err: ProtocolError) -> Self {
        Self::Refused(err)
    }
}

/// The JSON body of every refusal.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A refusal: `code` is stable (match on it), `message` is for people.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `missing_token`, `invalid_token`, `insufficient_scope`, `not_found`,
    /// `invalid_request`, `idempotency_key_reused`, `rate_limited`, or a
    /// chat rule's code from docs/protocol.md (`empty_body`,
    /// `body_too_long`, `invalid_snooze`, `unknown_agent`, `storage_full`,
    /// `internal`).
    pub code: String,
    pub message: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, String, String) {
        let own = |status, code: &str, message: String| (status, code.to_owned(), message);
        match self {
            Self::NoToken => own(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "Send an API token: `Authorization: Bearer <token>`. Admins make tokens in Settings → API tokens.".into(),
            ),
            Self::BadToken => own(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "That API token is unknown or was revoked. Ask an admin for a new one (Settings → API tokens).".into(),
            ),
            Self::Scope => own(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "This token may only read. Changing data needs a token made with \"Read and write\".".into(),
            ),
            Self::NoRoute => own(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such API endpoint. The endpoints are listed at /api/v1/openapi.json.".into(),
            ),
            Self::NotFound(what) => own(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("No {what} has that id."),
            ),
            Self::Invalid(why) => own(StatusCode::BAD_REQUEST, "invalid_request", why.clone()),
            Self::IdempotencyReused => own(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "That Idempotency-Key was used for a different message in this conversation. Use a new key for a new message.".into(),
            ),
            Self::RateLimited(wait) => own(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "Too many requests with this token. Retry after {} s (the Retry-After header).",
                    retry_after(*wait)
                ),
            ),
            Self::Refused(err) => {
                let status = match err.code() {
                    ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::StorageFull => StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Forbidden => StatusCode::NOT_FOUND,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                let code = serde_json::to_value(err.code())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "internal".into());
                (status, code, err.to_string())
            }
        }
    }
}

/// Whole seconds to wait, at least one.
fn retry_after(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis().div_ceil(1000).max(1)).unwrap_or(u64::MAX)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error: ErrorDetail { code, message },
            }),
        )
            .into_response();
        if let Self::RateLimited(wait) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after(wait)));
        }
        response
    }
}

/// A JSON body, refused as `invalid_request` with serde's words when it
/// does not fit.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| Self(v))
            .map_err(|rejection| ApiError::Invalid(rejection.body_text()))
    }
}

/// Query parameters, refused as `invalid_request` when they do not fit.
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|rejection| ApiError::Invalid(rejection.body_text()))
    }
}

/// A numeric id in the path, refused as `not_found` when it is not one.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(id)| Self(id))
            .map_err(|_| ApiError::NoRoute)
    }
}

/// How many items a page holds: `limit`, between 1 and 100 (default 25).
fn page_size(limit: Option<u32>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(25),
        Some(n @ 1..=100) => Ok(i64::from(n)),
        Some(_) => Err(ApiError::Invalid(
            "`limit` is 1 to 100 items a page.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::is_api;

    #[test]
    fn only_the_api_s_own_paths_skip_the_same_origin_check() {
        assert!(is_api("/api/v1"));
        assert!(is_api("/api/v1/conversations/3/messages"));
        // Server functions live beside the API and keep the check.
        assert!(!is_api("/api/v1x"));
        assert!(!is_api("/api/api_token_create"));
        assert!(!is_api("/api"));
    }
}
