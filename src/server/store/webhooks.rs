//! Webhooks: the endpoints admins register and the durable queue of
//! deliveries (see `server::webhooks`).

use sqlx::Row;

use super::{Store, StoreError, now};
use crate::protocol::{
    AgentId, ConversationId, Delivery, DeliveryState, Timestamp, Webhook, WebhookEvent,
};

/// An endpoint as the sender needs it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub events: Vec<WebhookEvent>,
    /// Paused: events are still queued for it, nothing is sent.
    pub paused: bool,
}

/// When an endpoint that keeps failing is paused: after this many failed
/// attempts in a row, going on for at least this long.
#[derive(Clone, Copy, Debug)]
pub struct PauseRule {
    pub failures: u32,
    pub for_ms: i64,
}

/// A delivery claimed for sending.
#[derive(Clone, Debug)]
pub struct Due {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub body: String,
    pub created_at: Timestamp,
    /// Attempts before this one.
    pub attempts: u32,
    /// This claim's end: the attempt is recorded only while it holds.
    pub claimed_until: Timestamp,
}

/// How one attempt went.
#[derive(Clone, Debug)]
pub enum Attempt {
    /// 2xx.
    Delivered(u16),
    /// Another status, or no answer (`None`, with why); tried again at
    /// `retry_at`, or given up on when `None`.
    Failed {
        status: Option<u16>,
        error: Option<String>,
        retry_at: Option<Timestamp>,
    },
}

/// Deliveries shown per endpoint in the settings.
const LOGGED: i64 = 10;

fn events_of(text: &str) -> Vec<WebhookEvent> {
    text.split_whitespace()
        .filter_map(WebhookEvent::parse)
        .collect()
}

impl Store {
    /// Registers an endpoint; returns its id.
    pub async fn create_webhook(
        &self,
        url: &str,
        secret: &str,
        events: &[WebhookEvent],
        by: AgentId,
    ) -> Result<i64, StoreError> {
        let events: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        Ok(sqlx::query_scalar(
            "INSERT INTO webhooks (url, secret, events, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(url)
        .bind(secret)
        .bind(events.join(" "))
        .bind(by.0)
        .bind(now().0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Deletes an endpoint and its deliveries; `false` when it was gone.
    pub async fn delete_webhook(&self, id: i64) -> Result<bool, StoreError> {
        let gone = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(gone.rows_affected() > 0)
    }

    /// Resumes a paused endpoint: what waited is tried at once.
    pub async fn resume_webhook(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let resumed = sqlx::query(
            "UPDATE webhooks SET paused_at = NULL, pause_reason = NULL, failures = 0,
                 failing_since = NULL
             WHERE id = $1 AND paused_at IS NOT NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $1
             WHERE webhook_id = $2 AND state = 'pending'",
        )
        .bind(now().0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(resumed.rows_affected() > 0)
    }

    /// Every endpoint (what events are queued for).
    pub async fn webhook_endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        let rows =
            sqlx::query("SELECT id, url, secret, events, paused_at FROM webhooks ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(Endpoint {
                    id: row.try_get("id")?,
                    url: row.try_get("url")?,
                    secret: row.try_get("secret")?,
                    events: events_of(&row.try_get::<String, _>("events")?),
                    paused: row.try_get::<Option<i64>, _>("paused_at")?.is_some(),
                })
            })
            .collect()
    }

    /// Every endpoint with its latest deliveries, for the settings page.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, url, events, created_at, pause_reason FROM webhooks ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut hooks = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let deliveries = sqlx::query(
                "SELECT id, event, state, attempts, created_at, next_attempt_at, last_status, last_error
                 FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(id)
            .bind(LOGGED)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .filter_map(|d| delivery_from_row(d).transpose())
            .collect::<Result<Vec<_>, _>>()?;
            hooks.push(Webhook {
                id,
                url: row.try_get("url")?,
                events: events_of(&row.try_get::<String, _>("events")?),
                created_at: Timestamp(row.try_get("created_at")?),
                paused: row.try_get("pause_reason")?,
                deliveries,
            });
        }
        Ok(hooks)
    }

    /// Queues one event about `conversation` for each of `endpoints`, all
    /// with the same body (an endpoint deleted meanwhile is skipped).
    pub async fn queue_deliveries(
        &self,
        endpoints: &[i64],
        conversation: ConversationId,
        event: WebhookEvent,
        body: &str,
    ) -> Result<(), StoreError> {
        let t = now().0;
        let mut tx = self.pool.begin().await?;
        for id in endpoints {
            sqlx::query(
                "INSERT INTO webhook_deliveries
                     (webhook_id, conversation_id, event, body, created_at, next_attempt_at)
                 SELECT id, $2, $3, $4, $5, $5 FROM webhooks WHERE id = $1",
            )
            .bind(id)
            .bind(conversation.0)
            .bind(event.as_str())
            .bind(body)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` deliveries that are due (of endpoints not
    /// paused) until `until`: no other instance sends them meanwhile, and
    /// if this one dies they are due again then.
    pub async fn claim_deliveries(
        &self,
        at: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<Due>, StoreError> {
        let rows = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_until = $2
             WHERE id IN (
                 SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                   AND (d.claimed_until IS NULL OR d.claimed_until <= $1)
                   AND w.paused_at IS NULL
                 ORDER BY d.next_attempt_at, d.id LIMIT $3)
               -- Checked again on the row as it is when locked: of two
               -- instances claiming at once (PostgreSQL), one gets it.
               AND state = 'pending' AND (claimed_until IS NULL OR claimed_until <= $1)
             RETURNING id, webhook_id, event, body, created_at, attempts",
        )
        .bind(at.0)
        .bind(until.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Due {
                    id: row.try_get("id")?,
                    webhook_id: row.try_get("webhook_id")?,
                    event: row.try_get("event")?,
                    body: row.try_get("body")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    claimed_until: until,
                })
            })
            .collect()
    }

    /// When the next pending delivery of an active endpoint is due (or
    /// its claim by another instance lapses).
    pub async fn next_delivery_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN d.claimed_until > d.next_attempt_at THEN d.claimed_until
                             ELSE d.next_attempt_at END)
             FROM webhook_deliveries d
             JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.state = 'pending' AND w.paused_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(next.map(Timestamp))
    }

    /// Records how an attempt went, while this claim still holds (else
    /// another instance has the delivery now, and says). A success ends the
    /// endpoint's run of failures; a run that `pause` says is too long
    /// pauses it with `pause_reason`. Returns whether it paused.
    pub async fn record_attempt(
        &self,
        delivery: &Due,
        attempt: &Attempt,
        pause: PauseRule,
        pause_reason: &str,
    ) -> Result<bool, StoreError> {
        let t = now().0;
        let mut tx = self.pool.begin().await?;
        let (state, status, error, next, finished) = match attempt {
            Attempt::Delivered(status) => {
                (DeliveryState::Delivered, Some(*status), None, t, Some(t))
            }
            Attempt::Failed {
                status,
                error,
                retry_at: Some(at),
            } => (DeliveryState::Pending, *status, error.clone(), at.0, None),
            Attempt::Failed {
                status,
                error,
                retry_at: None,
            } => (DeliveryState::Failed, *status, error.clone(), t, Some(t)),
        };
        let ours = sqlx::query(
            "UPDATE webhook_deliveries
             SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
                 next_attempt_at = $4, finished_at = $5, claimed_until = NULL
             WHERE id = $6 AND claimed_until = $7",
        )
        .bind(state.as_str())
        .bind(status.map(i64::from))
        .bind(error)
        .bind(next)
        .bind(finished)
        .bind(delivery.id)
        .bind(delivery.claimed_until.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if ours == 0 {
            return Ok(false);
        }
        let paused = if matches!(attempt, Attempt::Delivered(_)) {
            sqlx::query("UPDATE webhooks SET failures = 0, failing_since = NULL WHERE id = $1")
                .bind(delivery.webhook_id)
                .execute(&mut *tx)
                .await?;
            false
        } else {
            let paused: Option<i64> = sqlx::query_scalar(
                "UPDATE webhooks SET failures = failures + 1,
                     failing_since = COALESCE(failing_since, $3),
                     paused_at = CASE WHEN paused_at IS NULL AND failures + 1 >= $2
                                       AND COALESCE(failing_since, $3) <= $3 - $5
                                      THEN $3 ELSE paused_at END,
                     pause_reason = CASE WHEN paused_at IS NULL AND failures + 1 >= $2
                                         AND COALESCE(failing_since, $3) <= $3 - $5
                                        THEN $4 ELSE pause_reason END
                 WHERE id = $1 RETURNING paused_at",
            )
            .bind(delivery.webhook_id)
            .bind(i64::from(pause.failures))
            .bind(t)
            .bind(pause_reason)
            .bind(pause.for_ms)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
            paused == Some(t)
        };
        tx.commit().await?;
        Ok(paused)
    }

    /// Gives up deliveries made before `stale` that were never delivered
    /// (their endpoint was paused all along), and forgets finished ones
    /// older than `before` (their bodies hold messages): the queue holds at
    /// most a day of events, the log a week.
    pub async fn prune_deliveries(
        &self,
        stale: Timestamp,
        before: Timestamp,
    ) -> Result<u64, StoreError> {
        let t = now().0;
        sqlx::query(
            "UPDATE webhook_deliveries
             SET state = 'failed', finished_at = $2, claimed_until = NULL,
                 last_error = 'not sent within a day: the endpoint was paused'
             WHERE state = 'pending' AND created_at < $1",
        )
        .bind(stale.0)
        .bind(t)
        .execute(&self.pool)
        .await?;
        let gone = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1",
        )
        .bind(before.0)
        .execute(&self.pool)
        .await?;
        Ok(gone.rows_affected())
    }
}

/// A delivery as listed; `None` for an event this version does not know.
fn delivery_from_row(row: &sqlx::any::AnyRow) -> Result<Option<Delivery>, StoreError> {
    let Some(event) = WebhookEvent::parse(&row.try_get::<String, _>("event")?) else {
        return Ok(None);
    };
    let state: String = row.try_get("state")?;
    let state = DeliveryState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("bad delivery state {state:?}")))?;
    Ok(Some(Delivery {
        id: row.try_get("id")?,
        event,
        state,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        created_at: Timestamp(row.try_get("created_at")?),
        next_attempt_at: (state == DeliveryState::Pending)
            .then(|| row.try_get::<i64, _>("next_attempt_at").map(Timestamp))
            .transpose()?,
        last_status: row
            .try_get::<Option<i64>, _>("last_status")?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error")?,
    }))
}
