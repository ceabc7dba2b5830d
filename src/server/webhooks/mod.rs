//! Webhooks: endpoints of the company's own systems (a CRM, a data
//! warehouse) that Minicom tells when conversations start, messages are
//! posted, states change and ratings come in.
//!
//! An event is written to a durable queue in the database the moment it
//! happens (`emit`), one delivery per endpoint that wants it; `deliver`
//! sends them, signed, retries with backoff for a day, and pauses an
//! endpoint that keeps failing. Nothing is lost across a restart: what was
//! not delivered is still in the queue. Endpoints on private, loopback
//! and link-local addresses are refused unless the operator allows them
//! (`MINICOM_WEBHOOKS_ALLOW_PRIVATE=1`), at registration and at each send.
//!
//! Admins register endpoints on the Settings page
//! (`app::inbox::webhooks` checks the session and calls here).

mod deliver;

use std::sync::RwLock;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;

pub use deliver::{run, signature};

use crate::protocol::{
    AgentId, ContactId, ConversationId, MAX_WEBHOOK_URL, Message, NewWebhook, SenderKind, Webhook,
    WebhookEvent,
};
use crate::server::AppState;
use crate::server::api::{ApiMessage, Conversation};
use crate::server::auth::new_token;
use crate::server::outbound;
use crate::server::store::{Endpoint, StoreError, now};

/// How webhooks are sent; the defaults suit production, tests shorten
/// the waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Send to private, loopback and link-local addresses too
    /// (`MINICOM_WEBHOOKS_ALLOW_PRIVATE=1`: endpoints on your own network).
    pub allow_private: bool,
    /// The wait before the first retry; each later one waits twice as
    /// long, at most an hour.
    pub first_retry: Duration,
    /// A delivery still failing this long after its event is given up.
    pub give_up_after: Duration,
    /// An endpoint is paused after this many failed attempts in a row…
    pub pause_after_failures: u32,
    /// …that went on for at least this long (a short outage only delays).
    pub pause_after: Duration,
    /// The longest one request may take, connecting included.
    pub timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allow_private: false,
            first_retry: Duration::from_secs(30),
            give_up_after: Duration::from_secs(24 * 3600),
            pause_after_failures: 10,
            pause_after: Duration::from_secs(6 * 3600),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Settings {
    /// The settings the environment gives (`MINICOM_WEBHOOKS_ALLOW_PRIVATE`).
    pub fn from_env() -> Self {
        Self {
            allow_private: std::env::var("MINICOM_WEBHOOKS_ALLOW_PRIVATE")
                .is_ok_and(|v| v == "1" || v == "true"),
            ..Self::default()
        }
    }
}

/// Why registering (or changing) an endpoint was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(
        "Give the endpoint's address, starting with https:// (at most {MAX_WEBHOOK_URL} characters)."
    )]
    Url,
    #[error(
        "Use https:// for the endpoint: what is sent holds conversations. (http:// is allowed only with MINICOM_WEBHOOKS_ALLOW_PRIVATE=1, for receivers on your own network.)"
    )]
    PlainHttp,
    #[error("Choose at least one event to send.")]
    NoEvents,
    #[error("{0}.")]
    Unreachable(String),
    #[error("That endpoint was deleted already, or is not paused.")]
    Gone,
    #[error("could not reach the database: {0}")]
    Store(#[from] StoreError),
}

/// The endpoints events are queued for, paused ones too (cached: `emit`
/// runs for every message), and the deliverer's wake-up.
pub struct Webhooks {
    pub settings: Settings,
    endpoints: RwLock<Vec<Endpoint>>,
    wake: Notify,
}

impl Webhooks {
    /// Reads the active endpoints.
    pub async fn load(
        settings: Settings,
        store: &crate::server::store::Store,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            settings,
            endpoints: RwLock::new(store.webhook_endpoints().await?),
            wake: Notify::new(),
        })
    }

    /// Reads the endpoints again (one changed, maybe on another instance).
    async fn reload(&self, store: &crate::server::store::Store) -> Result<(), StoreError> {
        let endpoints = store.webhook_endpoints().await?;
        if let Ok(mut cached) = self.endpoints.write() {
            *cached = endpoints;
        }
        Ok(())
    }

    /// Whether some endpoint wants to hear of new messages or
    /// conversations (a posted message is copied for it only then).
    pub fn wants_messages(&self) -> bool {
        self.endpoints.read().is_ok_and(|e| {
            e.iter().any(|e| {
                e.events.contains(&WebhookEvent::MessageCreated)
                    || e.events.contains(&WebhookEvent::ConversationCreated)
            })
        })
    }

    /// Whether some endpoint wants `event` (what it would carry is made
    /// only then).
    pub fn wants(&self, event: WebhookEvent) -> bool {
        self.endpoints
            .read()
            .is_ok_and(|e| e.iter().any(|e| e.events.contains(&event)))
    }

    /// The endpoints that want `event` (usually none: nothing to do).
    fn wanting(&self, event: WebhookEvent) -> Vec<i64> {
        self.endpoints
            .read()
            .map(|e| {
                e.iter()
                    .filter(|e| e.events.contains(&event))
                    .map(|e| e.id)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Queues `event` about `conversation` for every endpoint that wants it,
/// with the data `data` makes (only called when one does), and wakes the
/// deliverer. It runs once the change is committed (a crash in between
/// loses the event); a failure is logged: the change itself is stored.
async fn emit(
    state: &AppState,
    conversation: ConversationId,
    event: WebhookEvent,
    data: impl FnOnce() -> Value,
) {
    let endpoints = state.webhooks.wanting(event);
    if endpoints.is_empty() {
        return;
    }
    let data = data();
    let body = json!({
        "event": event.as_str(),
        "created_at": now().0,
        "data": data,
    })
    .to_string();
    match state
        .store
        .queue_deliveries(&endpoints, conversation, event, &body)
        .await
    {
        Ok(()) => state.webhooks.wake.notify_one(),
        Err(err) => {
            tracing::error!(%err, event = event.as_str(), "could not queue a webhook delivery")
        }
    }
}

/// A message was posted; `created` is its conversation's row when the
/// message began it (and an endpoint wants to hear so). The team's notes
/// and Minicom's own lines are not sent.
pub async fn message_posted(
    state: &AppState,
    contact: ContactId,
    message: Message,
    created: Option<&Conversation>,
) {
    if message.internal || message.sender == SenderKind::System {
        return;
    }
    let id = message.conversation_id;
    if let Some(row) = created {
        emit(
            state,
            id,
            WebhookEvent::ConversationCreated,
            || json!({ "conversation": row }),
        )
        .await;
    }
    emit(state, id, WebhookEvent::MessageCreated, || {
        json!({
            "contact_id": contact.0,
            "message": ApiMessage::from(message),
        })
    })
    .await;
}

/// A conversation was resolved, snoozed or reopened: `row` is how it now
/// stands, from [`publish_summary_for`] (none when no endpoint wants it).
///
/// [`publish_summary_for`]: crate::server::publish::publish_summary_for
pub async fn status_changed(state: &AppState, id: ConversationId, row: Option<Conversation>) {
    let Some(row) = row else { return };
    emit(
        state,
        id,
        WebhookEvent::StatusChanged,
        || json!({ "conversation": row }),
    )
    .await;
}

/// A visitor rated a conversation: `row` as for [`status_changed`].
pub async fn rated(
    state: &AppState,
    id: ConversationId,
    row: Option<Conversation>,
    score: u8,
    comment: Option<&str>,
) {
    let Some(row) = row else { return };
    emit(state, id, WebhookEvent::Rated, || {
        json!({
            "conversation": row,
            "rating": { "score": score, "comment": comment },
        })
    })
    .await;
}

/// A signing secret: `whsec_` and 64 hex digits.
fn new_secret() -> String {
    format!("whsec_{}", new_token())
}

/// Registers an endpoint for `events` (their names); its secret is in
/// the answer, once.
pub async fn register(
    state: &AppState,
    by: AgentId,
    url: &str,
    events: &[String],
) -> Result<NewWebhook, WebhookError> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
        .filter(|_| url.len() <= MAX_WEBHOOK_URL)
        .ok_or(WebhookError::Url)?;
    if parsed.scheme() == "http" && !state.webhooks.settings.allow_private {
        return Err(WebhookError::PlainHttp);
    }
    let mut wanted: Vec<WebhookEvent> = events
        .iter()
        .filter_map(|e| WebhookEvent::parse(e))
        .collect();
    wanted.sort_by_key(|e| WebhookEvent::ALL.iter().position(|a| a == e));
    wanted.dedup();
    if wanted.is_empty() {
        return Err(WebhookError::NoEvents);
    }
    outbound::addresses(&parsed, state.webhooks.settings.allow_private)
        .await
        .map_err(WebhookError::Unreachable)?;
    let secret = new_secret();
    let id = state
        .store
        .create_webhook(parsed.as_str(), &secret, &wanted, by)
        .await?;
    state.webhooks.reload(&state.store).await?;
    tracing::info!(agent = by.0, webhook = id, "registered a webhook endpoint");
    let webhook = state
        .store
        .webhooks()
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or(WebhookError::Gone)?;
    Ok(NewWebhook { secret, webhook })
}

/// Every endpoint with its latest deliveries.
pub async fn list(state: &AppState) -> Result<Vec<Webhook>, WebhookError> {
    Ok(state.store.webhooks().await?)
}

/// Deletes an endpoint and what was queued for it.
pub async fn delete(state: &AppState, by: AgentId, id: i64) -> Result<(), WebhookError> {
    if !state.store.delete_webhook(id).await? {
        return Err(WebhookError::Gone);
    }
    state.webhooks.reload(&state.store).await?;
    tracing::info!(agent = by.0, webhook = id, "deleted a webhook endpoint");
    Ok(())
}

/// Resumes a paused endpoint: what waited is sent now.
pub async fn resume(state: &AppState, by: AgentId, id: i64) -> Result<(), WebhookError> {
    if !state.store.resume_webhook(id).await? {
        return Err(WebhookError::Gone);
    }
    state.webhooks.reload(&state.store).await?;
    state.webhooks.wake.notify_one();
    tracing::info!(agent = by.0, webhook = id, "resumed a webhook endpoint");
    Ok(())
}
