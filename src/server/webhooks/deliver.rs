//! Sending queued deliveries: claim what is due, sign and send it, record
//! how it went, retry with backoff, pause an endpoint that keeps failing.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;

use super::Settings;
use crate::protocol::Timestamp;
use crate::server::AppState;
use crate::server::outbound;
use crate::server::store::{Attempt, Due, Endpoint, PauseRule, now};

/// Deliveries claimed (and sent at once) per round.
const BATCH: i64 = 16;

/// How long a claim keeps other instances off a delivery: longer than a
/// request may take.
const CLAIM: Duration = Duration::from_secs(60);

/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How often the endpoints are read again (one may have changed on another
/// instance) and the queue looked at, with nothing else to wake for.
const REFRESH: Duration = Duration::from_secs(10);

/// Finished deliveries are kept this long for the log, then forgotten
/// (their bodies hold messages).
const KEEP_FINISHED: Duration = Duration::from_secs(7 * 24 * 3600);

/// `sha256=` and the hex HMAC-SHA256, with the endpoint's secret, of the
/// timestamp (Unix seconds), a dot and the body: what an endpoint checks
/// `X-Minicom-Signature` against (with `X-Minicom-Timestamp`, so an old
/// request replayed later is refused).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// When to try again after `attempts` failed ones, or `None` once the
/// delivery is older than the settings allow.
fn retry_at(settings: &Settings, due: &Due, at: Timestamp) -> Option<Timestamp> {
    let wait = settings
        .first_retry
        .saturating_mul(2u32.saturating_pow(due.attempts.min(20)))
        .min(MAX_BACKOFF);
    let next = at.0 + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
    let limit =
        due.created_at.0 + i64::try_from(settings.give_up_after.as_millis()).unwrap_or(i64::MAX);
    (next <= limit).then_some(Timestamp(next))
}

/// Sends until the server stops.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let tls = match outbound::tls(None) {
        Ok(tls) => tls,
        Err(err) => {
            tracing::error!(%err, "webhooks cannot be sent: no TLS");
            return;
        }
    };
    let mut refreshed = tokio::time::Instant::now();
    let mut pruned = tokio::time::Instant::now() - REFRESH;
    loop {
        if pruned.elapsed() >= REFRESH * 6 {
            pruned = tokio::time::Instant::now();
            let at = now().0;
            let stale = Timestamp(at - state.webhooks.settings.give_up_after.as_millis() as i64);
            let before = Timestamp(at - KEEP_FINISHED.as_millis() as i64);
            if let Err(err) = state.store.prune_deliveries(stale, before).await {
                tracing::warn!(%err, "could not forget old webhook deliveries");
            }
        }
        let at = now();
        let claimed = state
            .store
            .claim_deliveries(at, Timestamp(at.0 + CLAIM.as_millis() as i64), BATCH)
            .await;
        let due = match claimed {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(%err, "could not read the webhook queue; trying again shortly");
                Vec::new()
            }
        };
        if !due.is_empty() {
            let endpoints = match state.store.webhook_endpoints().await {
                Ok(endpoints) => endpoints,
                Err(err) => {
                    // The claims lapse; the deliveries are tried again then.
                    tracing::warn!(%err, "could not read the webhook endpoints");
                    continue;
                }
            };
            let sends = due.iter().map(|d| send_one(&state, &tls, &endpoints, d));
            futures::future::join_all(sends).await;
            continue;
        }
        // Nothing due: wait for the next one, an event, or a refresh.
        let next = state.store.next_delivery_at().await;
        if !crate::server::due::wait(next, REFRESH, &state.webhooks.wake, &mut shutdown).await {
            return;
        }
        if refreshed.elapsed() >= REFRESH {
            refreshed = tokio::time::Instant::now();
            if let Err(err) = state.webhooks.reload(&state.store).await {
                tracing::warn!(%err, "could not read the webhook endpoints");
            }
        }
    }
}

/// Sends one delivery and records how it went.
async fn send_one(state: &AppState, tls: &rustls::ClientConfig, endpoints: &[Endpoint], due: &Due) {
    let settings = &state.webhooks.settings;
    let Some(endpoint) = endpoints
        .iter()
        .find(|e| e.id == due.webhook_id && !e.paused)
    else {
        return; // deleted or paused since it was claimed: the claim lapses
    };
    // The whole attempt, the address lookup included, within the timeout:
    // well inside the claim, so no other instance sends it meanwhile.
    let posted = tokio::time::timeout(settings.timeout, post(settings, tls, endpoint, due))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", settings.timeout.as_secs())));
    let attempt = match posted {
        Ok(status) if (200..300).contains(&status) => Attempt::Delivered(status),
        outcome => {
            let (status, error) = match outcome {
                Ok(status) => (Some(status), None),
                Err(why) => (None, Some(why)),
            };
            Attempt::Failed {
                status,
                error,
                retry_at: retry_at(settings, due, now()),
            }
        }
    };
    let why = match &attempt {
        Attempt::Failed {
            status: Some(status),
            ..
        } => format!("HTTP {status}"),
        Attempt::Failed {
            error: Some(error), ..
        } => error.clone(),
        _ => String::new(),
    };
    let reason = format!(
        "Paused: every delivery failed for a while (the last: {why}). Fix the endpoint, then resume it; events are kept for a day meanwhile."
    );
    let rule = PauseRule {
        failures: settings.pause_after_failures,
        for_ms: settings.pause_after.as_millis() as i64,
    };
    match state
        .store
        .record_attempt(due, &attempt, rule, &reason)
        .await
    {
        Ok(true) => {
            tracing::warn!(
                webhook = endpoint.id,
                "paused a webhook endpoint that keeps failing: {why}"
            );
            if let Err(err) = state.webhooks.reload(&state.store).await {
                tracing::warn!(%err, "could not read the webhook endpoints");
            }
        }
        Ok(false) => {}
        Err(err) => tracing::error!(%err, "could not record a webhook delivery"),
    }
    if let Attempt::Failed { .. } = attempt {
        tracing::info!(
            webhook = endpoint.id,
            delivery = due.id,
            "a webhook delivery failed: {why}"
        );
    }
}

/// Posts a delivery to its endpoint, to the addresses checked (never a
/// second lookup); the status, or why there was none.
async fn post(
    settings: &Settings,
    tls: &rustls::ClientConfig,
    endpoint: &Endpoint,
    due: &Due,
) -> Result<u16, String> {
    let url = reqwest::Url::parse(&endpoint.url).map_err(|e| format!("bad URL: {e}"))?;
    let addresses = outbound::addresses(&url, settings.allow_private).await?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = outbound::client(tls.clone())
        .resolve_to_addrs(&host, &addresses)
        .timeout(settings.timeout)
        .build()
        .map_err(outbound::failure)?;
    let timestamp = now().0 / 1000;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "Minicom-Webhooks/1")
        .header("X-Minicom-Event", &due.event)
        .header("X-Minicom-Delivery", due.id.to_string())
        .header("X-Minicom-Timestamp", timestamp.to_string())
        .header(
            "X-Minicom-Signature",
            signature(&endpoint.secret, timestamp, &due.body),
        )
        .body(due.body.clone())
        .send()
        .await
        .map_err(outbound::failure)?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let a = signature("whsec_x", 1_700_000_000, "{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, signature("whsec_x", 1_700_000_001, "{}"));
        assert_ne!(a, signature("whsec_x", 1_700_000_000, "{ }"));
        assert_ne!(a, signature("whsec_y", 1_700_000_000, "{}"));
    }

    #[test]
    fn retries_back_off_up_to_an_hour_and_stop_after_a_day() {
        let settings = Settings::default();
        let due = |attempts| Due {
            id: 1,
            webhook_id: 1,
            event: "message.created".into(),
            body: "{}".into(),
            created_at: Timestamp(0),
            attempts,
            claimed_until: Timestamp(0),
        };
        let at = Timestamp(1_000);
        assert_eq!(retry_at(&settings, &due(0), at), Some(Timestamp(31_000)));
        assert_eq!(retry_at(&settings, &due(1), at), Some(Timestamp(61_000)));
        assert_eq!(
            retry_at(&settings, &due(12), at),
            Some(Timestamp(3_601_000))
        );
        let late = Timestamp(24 * 3_600_000 - 10_000);
        assert_eq!(retry_at(&settings, &due(3), late), None);
    }
}
