//! `/api/v1/contacts/{id}`: a visitor, as the contact panel shows them.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, Caller, ErrorBody, Id};
use crate::protocol::{ApiScope, ContactId};
use crate::server::AppState;

/// A visitor. Times are milliseconds since the Unix epoch (UTC).
#[derive(Serialize, ToSchema)]
pub struct Contact {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The embedding site vouched for who they are (a signed `user_id`).
    pub verified: bool,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    /// Their messenger's language (a tag such as `es`), when known.
    pub language: Option<String>,
    /// Their time zone (IANA, e.g. `Europe/Madrid`), when known.
    pub time_zone: Option<String>,
    /// The page they were last on, as the embedding site reported it.
    pub page_url: Option<String>,
    /// What a verified embedding site said about them (strings only).
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub conversations: i64,
    /// The team blocked them from writing.
    pub blocked: bool,
}

/// Reads a visitor.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "The contact's id (a conversation's `contact_id`)")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The contact", body = Contact),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No contact has that id", body = ErrorBody),
    ))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<Contact>, ApiError> {
    caller.require(ApiScope::Read)?;
    let details = state
        .store
        .contact_details_by_id(ContactId(id))
        .await?
        .ok_or(ApiError::NotFound("contact"))?;
    let attributes = details
        .attributes
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    Ok(Json(Contact {
        id: details.record.id.0,
        name: details.record.name,
        email: details.record.email,
        verified: details.record.verified,
        first_seen_at: details.first_seen_at.0,
        last_seen_at: details.last_seen_at.0,
        language: details.language,
        time_zone: details.time_zone,
        page_url: details.page_url,
        attributes,
        conversations: details.conversations,
        blocked: details.block.is_some(),
    }))
}
