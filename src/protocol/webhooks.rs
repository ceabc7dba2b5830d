//! Webhooks as the settings page shows them: endpoints of the company's
//! own systems that Minicom tells about conversations, and the log of what
//! it sent them. The sending is `server::webhooks`.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// What an endpoint can be told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WebhookEvent {
    /// A visitor started a conversation.
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    /// A message was posted (by the visitor, a teammate, a bot or the
    /// assistant; never the team's private notes).
    #[serde(rename = "message.created")]
    MessageCreated,
    /// A conversation was resolved, snoozed or reopened.
    #[serde(rename = "conversation.status_changed")]
    StatusChanged,
    /// A visitor rated a resolved conversation.
    #[serde(rename = "conversation.rated")]
    Rated,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 4] = [
        Self::ConversationCreated,
        Self::MessageCreated,
        Self::StatusChanged,
        Self::Rated,
    ];

    /// The name sent (`X-Minicom-Event`, the body's `event`) and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConversationCreated => "conversation.created",
            Self::MessageCreated => "message.created",
            Self::StatusChanged => "conversation.status_changed",
            Self::Rated => "conversation.rated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// What an admin reads when choosing.
    pub fn label(self) -> &'static str {
        match self {
            Self::ConversationCreated => "A conversation starts",
            Self::MessageCreated => "A message is posted",
            Self::StatusChanged => "A conversation is resolved, snoozed or reopened",
            Self::Rated => "A visitor rates a conversation",
        }
    }
}

/// Where one delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not sent yet, or to be tried again.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up on (still failing a day after it was made).
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One event sent (or to be sent) to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub event: WebhookEvent,
    pub state: DeliveryState,
    pub attempts: u32,
    pub created_at: Timestamp,
    /// (Pending) when it is tried next.
    pub next_attempt_at: Option<Timestamp>,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed without an answer (refused, timed out).
    pub last_error: Option<String>,
}

/// An endpoint, with its latest deliveries (newest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub created_at: Timestamp,
    /// Paused after failing again and again, with why; `None`: active.
    pub paused: Option<String>,
    pub deliveries: Vec<Delivery>,
}

/// An endpoint just registered: its signing secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    pub secret: String,
    pub webhook: Webhook,
}

/// Longest endpoint URL, in bytes.
pub const MAX_WEBHOOK_URL: usize = 2048;
