//! `/api/v1/conversations`: the inbox's lists, a conversation, its
//! messages, posting into it (as a teammate or as a named bot) and
//! changing its state and owner.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, Caller, ErrorBody, Id, JsonBody, Params, page_size};
use crate::protocol::{
    AgentId, ApiScope, ClientId, ContactId, ConversationId, ConversationStatus,
    ConversationSummary, InboxSort, InboxView, Message, MessageId, SenderKind, validate_body,
};
use crate::server::AppState;
use crate::server::api::tokens::check_name;
use crate::server::publish::publish_post;
use crate::server::store::{Audience, Author, InboxPage, PostOptions};
use crate::server::workflow::{self, Actor};

/// A conversation as the API shows it. Times are milliseconds since the
/// Unix epoch (UTC).
#[derive(Serialize, ToSchema)]
pub struct Conversation {
    pub id: i64,
    pub contact_id: i64,
    /// The visitor's name, or "Visitor #<id>" when they gave none.
    pub contact_name: String,
    pub contact_email: Option<String>,
    pub status: ConversationStatus,
    /// The teammate who owns it.
    pub assignee_id: Option<i64>,
    /// (Snoozed) when it wakes up by itself.
    pub snoozed_until: Option<i64>,
    /// Since when the visitor has waited for an answer; null when nobody waits.
    pub waiting_since: Option<i64>,
    pub last_message_at: i64,
    /// The start of the newest message the visitor sees.
    pub last_message_preview: String,
    /// The visitor's rating once resolved: 1 (awful) to 5 (great).
    pub rating: Option<u8>,
}

impl From<ConversationSummary> for Conversation {
    fn from(row: ConversationSummary) -> Self {
        Self {
            id: row.id.0,
            contact_id: row.contact_id.0,
            contact_name: row.contact_name,
            contact_email: row.contact_email,
            status: row.status,
            assignee_id: row.assignee.map(|a| a.id),
            snoozed_until: row.snoozed_until.map(|t| t.0),
            waiting_since: row.waiting_since.map(|t| t.0),
            last_message_at: row.last_message_at.0,
            last_message_preview: row.last_message_preview,
            rating: row.rating,
        }
    }
}

/// A page of conversations.
#[derive(Serialize, ToSchema)]
pub struct ConversationPage {
    pub data: Vec<Conversation>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Which list to read.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum List {
    #[default]
    Open,
    /// Open and nobody owns it.
    Unassigned,
    Snoozed,
    Resolved,
}

/// In which order.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Newest message first.
    #[default]
    Newest,
    /// Longest-waiting visitor first.
    Waiting,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `open` (default), `unassigned`, `snoozed` or `resolved`.
    #[param(inline)]
    pub status: Option<List>,
    /// `newest` (default) or `waiting`.
    #[param(inline)]
    pub sort: Option<Order>,
    /// Items a page, 1 to 100 (default 25).
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`, with the same `status` and `sort`.
    pub cursor: Option<String>,
}

/// A cursor is the last row's sort key and id: keyset paging, as fast on
/// the hundredth page as on the first. A conversation that moves while
/// pages are read (a new message) may be skipped or come twice.
fn parse_cursor(cursor: &str) -> Result<(i64, i64), ApiError> {
    let bad = || {
        ApiError::Invalid(
            "`cursor` is not one this API gave out: pass a page's `next_cursor` as it is.".into(),
        )
    };
    let (key, id) = cursor.split_once('_').ok_or_else(bad)?;
    Ok((
        key.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// Lists conversations, a page at a time.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of conversations", body = ConversationPage),
        (status = 400, description = "A parameter is wrong", body = ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 429, description = "Too many requests with this token", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<ListQuery>,
) -> Result<Json<ConversationPage>, ApiError> {
    caller.require(ApiScope::Read)?;
    let view = match query.status.unwrap_or_default() {
        List::Open => InboxView::Open,
        List::Unassigned => InboxView::Unassigned,
        List::Snoozed => InboxView::Snoozed,
        List::Resolved => InboxView::Resolved,
    };
    let sort = match query.sort.unwrap_or_default() {
        Order::Newest => InboxSort::Newest,
        Order::Waiting => InboxSort::Waiting,
    };
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let page = InboxPage {
        view,
        sort,
        after,
        label: None,
    };
    // The lists these views make read no teammate's cursor: any id serves.
    let (rows, more) = state
        .store
        .inbox(AgentId(0), page, page_size(query.limit)?)
        .await?;
    let next_cursor = rows.last().filter(|_| more).map(|row| {
        let (key, id) = sort.key(row);
        format!("{key}_{id}")
    });
    Ok(Json(ConversationPage {
        data: rows.into_iter().map(Conversation::from).collect(),
        next_cursor,
    }))
}

/// The conversation `id`, or `not_found`.
async fn conversation(state: &AppState, id: i64) -> Result<ConversationSummary, ApiError> {
    state
        .store
        .conversation_summary(ConversationId(id))
        .await?
        .ok_or(ApiError::NotFound("conversation"))
}

/// Reads one conversation.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No conversation has that id", body = ErrorBody),
    ))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<Conversation>, ApiError> {
    caller.require(ApiScope::Read)?;
    Ok(Json(conversation(&state, id).await?.into()))
}

/// A file a message carries (downloads stay in the inbox).
#[derive(Serialize, ToSchema)]
pub struct File {
    pub name: String,
    pub content_type: String,
    /// Bytes.
    pub size: u64,
}

/// A message as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ApiMessage {
    pub id: i64,
    pub conversation_id: i64,
    /// `contact` (the visitor), `agent` (a teammate or a bot), `ai` (the
    /// assistant) or `system` (a line about the conversation's state).
    pub sender: SenderKind,
    pub sender_name: String,
    /// Empty once deleted.
    pub body: String,
    /// The team's only: a private note, or a line about the state.
    pub note: bool,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted: bool,
    pub files: Vec<File>,
}

impl From<Message> for ApiMessage {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.0,
            conversation_id: m.conversation_id.0,
            sender: m.sender,
            sender_name: m.sender_name,
            body: m.body,
            note: m.internal,
            created_at: m.created_at.0,
            edited_at: m.edited_at.map(|t| t.0),
            deleted: m.deleted,
            files: m
                .attachments
                .into_iter()
                .map(|a| File {
                    name: a.name,
                    content_type: a.content_type,
                    size: a.size,
                })
                .collect(),
        }
    }
}

/// A page of a conversation's messages, oldest first.
#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    pub data: Vec<ApiMessage>,
    /// Pass as `before` for the page of older messages; null when there
    /// are none.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    /// Items a page, 1 to 100 (default 25).
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`: messages older than it.
    pub before: Option<String>,
}

/// Reads a conversation's messages, newest page first, each page oldest
/// first (as a thread reads); notes and state lines included.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id"), MessagesQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 400, description = "A parameter is wrong", body = ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No conversation has that id", body = ErrorBody),
    ))]
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Params(query): Params<MessagesQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    caller.require(ApiScope::Read)?;
    let limit = page_size(query.limit)?;
    let before = match query.before.as_deref() {
        None => MessageId(i64::MAX),
        Some(before) => MessageId(before.parse().map_err(|_| {
            ApiError::Invalid(
                "`before` is not one this API gave out: pass a page's `next_cursor` as it is."
                    .into(),
            )
        })?),
    };
    conversation(&state, id).await?;
    let (messages, more) = state
        .store
        .older_messages(ConversationId(id), before, limit, Audience::Team)
        .await?;
    let next_cursor = messages
        .first()
        .filter(|_| more)
        .map(|m| m.id.0.to_string());
    Ok(Json(MessagePage {
        data: messages.into_iter().map(ApiMessage::from).collect(),
        next_cursor,
    }))
}

/// A message to post. By default it comes from a bot named after the
/// token; `agent_id` posts as that teammate, `bot_name` as a bot of that
/// name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// 1 to 4,000 characters.
    pub body: String,
    /// A private note: the team's only.
    #[serde(default)]
    pub note: bool,
    /// Post as this active teammate.
    pub agent_id: Option<i64>,
    /// Post as a bot of this name (1 to 60 characters).
    pub bot_name: Option<String>,
}

/// Longest `Idempotency-Key`, in bytes.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The message's `client_id` (what makes a socket's send idempotent): from
/// the token and the request's `Idempotency-Key`, so a retry with the same
/// key finds the first message; random without one.
fn client_id(token: i64, headers: &HeaderMap) -> Result<ClientId, ApiError> {
    let Some(key) = headers.get("idempotency-key") else {
        return Ok(ClientId::new());
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=MAX_IDEMPOTENCY_KEY).contains(&k.len()))
        .ok_or_else(|| {
            ApiError::Invalid(format!(
                "`Idempotency-Key` is 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters (a UUID is a good one)."
            ))
        })?;
    let digest = Sha256::digest(format!("api:{token}:{key}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Ok(ClientId(
        uuid::Builder::from_custom_bytes(bytes).into_uuid(),
    ))
}

/// Posts a message into a conversation; everyone watching sees it at once.
/// Send an `Idempotency-Key` header to retry safely: the same key answers
/// with the first message (200) instead of posting again.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(
        ("id" = i64, Path, description = "The conversation's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Any unique string (a UUID): a retry with the same key posts nothing new"),
    ),
    request_body = NewMessage,
    security(("token" = ["write"])),
    responses(
        (status = 201, description = "Posted", body = ApiMessage),
        (status = 200, description = "Posted before with this Idempotency-Key", body = ApiMessage),
        (status = 400, description = "The request is malformed", body = ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token may only read", body = ErrorBody),
        (status = 404, description = "No conversation has that id", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used for another message", body = ErrorBody),
        (status = 422, description = "A rule refused it: `empty_body`, `body_too_long`, `unknown_agent`", body = ErrorBody),
        (status = 429, description = "Too many requests with this token", body = ErrorBody),
    ))]
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    headers: HeaderMap,
    JsonBody(new): JsonBody<NewMessage>,
) -> Result<Response, ApiError> {
    caller.require(ApiScope::Write)?;
    let client_id = client_id(caller.token.id, &headers)?;
    let body = validate_body(&new.body)?;
    // Who the message is from, as its sender's name will read.
    let (author, bot_name, from) = match (new.agent_id, new.bot_name.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::Invalid(
                "Give `agent_id` or `bot_name`, not both.".into(),
            ));
        }
        (Some(agent), None) => {
            let agent = state
                .store
                .agent(AgentId(agent))
                .await?
                .filter(|a| a.active)
                .ok_or(crate::protocol::ProtocolError::UnknownAgent)?;
            (Author::agent(agent.id), None, agent.name)
        }
        (None, name) => {
            let name = check_name(name.unwrap_or(&caller.token.name)).ok_or_else(|| {
                ApiError::Invalid(format!(
                    "`bot_name` is 1 to {} characters, without line breaks.",
                    crate::protocol::MAX_TOKEN_NAME_CHARS
                ))
            })?;
            (Author::bot(), Some(name.to_owned()), name.to_owned())
        }
    };
    let conversation = ConversationId(id);
    let contact: ContactId = state
        .store
        .conversation_contact(conversation)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let options = PostOptions {
        internal: new.note,
        assign_on_reply: author.id.is_some() && state.workflow.assign_on_reply(),
        bot_name,
        ..PostOptions::default()
    };
    let inserted = state
        .store
        .queue_message(
            conversation,
            contact,
            client_id,
            author,
            (body, &[]),
            options,
        )
        .await?
        .committed()
        .await?;
    let (created, message) = (inserted.created, inserted.message.clone());
    // The same key for another message (other words, another author, a
    // note or not) is a mistake the client must hear of.
    if !created
        && (message.body != body || message.internal != new.note || message.sender_name != from)
    {
        return Err(ApiError::IdempotencyReused);
    }
    if created {
        state.metrics.messages_stored.inc();
    }
    publish_post(&state, contact, inserted, None).await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ApiMessage::from(message))).into_response())
}

/// What to change about a conversation; leave out what stays.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationChange {
    /// `open`, `snoozed` (with `snoozed_until`) or `resolved`.
    pub status: Option<ConversationStatus>,
    /// (Snoozed) when it wakes: milliseconds since the epoch, within a year.
    pub snoozed_until: Option<i64>,
    /// The active teammate who owns it, or null for nobody.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
}

/// A field that is there, even as null (`Some(None)`), against one left
/// out (`None`, from `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// Changes a conversation's state or owner, as a teammate would: the
/// thread gets its line ("Shop backend (API) resolved this"), every inbox
/// moves the row.
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    request_body = ConversationChange,
    security(("token" = ["write"])),
    responses(
        (status = 200, description = "The conversation as it now stands", body = Conversation),
        (status = 400, description = "The request is malformed", body = ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token may only read", body = ErrorBody),
        (status = 404, description = "No conversation has that id", body = ErrorBody),
        (status = 422, description = "A rule refused it: `invalid_snooze`, `unknown_agent`", body = ErrorBody),
        (status = 429, description = "Too many requests with this token", body = ErrorBody),
    ))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(change): JsonBody<ConversationChange>,
) -> Result<Json<Conversation>, ApiError> {
    caller.require(ApiScope::Write)?;
    if change.snoozed_until.is_some() && change.status != Some(ConversationStatus::Snoozed) {
        return Err(ApiError::Invalid(
            "`snoozed_until` goes with `\"status\": \"snoozed\"`.".into(),
        ));
    }
    let target = ConversationId(id);
    let contact = state
        .store
        .conversation_contact(target)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    // Everything checked before anything changes: a refused change
    // leaves no half of it behind.
    if change.status == Some(ConversationStatus::Snoozed) {
        let until = change.snoozed_until.map(crate::protocol::Timestamp);
        crate::server::workflow::check_snooze(until, crate::server::store::now())?;
    }
    if let Some(Some(agent)) = change.assignee_id {
        state
            .store
            .agent(AgentId(agent))
            .await?
            .filter(|a| a.active)
            .ok_or(crate::protocol::ProtocolError::UnknownAgent)?;
    }
    let name = format!("{} (API)", caller.token.name);
    let actor = Actor {
        name: &name,
        agent: None,
    };
    if let Some(to) = change.assignee_id {
        workflow::assign(&state, (target, contact), actor, to.map(AgentId)).await?;
    }
    if let Some(status) = change.status {
        let until = change.snoozed_until.map(crate::protocol::Timestamp);
        workflow::set_status(&state, (target, contact), actor, status, until, None).await?;
    }
    Ok(Json(conversation(&state, id).await?.into()))
}
