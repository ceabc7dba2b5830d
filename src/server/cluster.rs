//! Keeping several instances in step beyond the hub's frames.
//!
//! Each instance holds the admins' settings in memory, the sockets of its
//! own teammates, and the inbox counts a greeting reuses. A change made on
//! one instance is announced on the bus and applied by every instance, this
//! one included, so there is one path whether Minicom runs once or many
//! times.

use std::sync::atomic::Ordering;

use tokio::sync::{broadcast, watch};

use crate::protocol::AgentId;
use crate::server::bus::Event;
use crate::server::publish::publish_event;
use crate::server::store::StoreError;
use crate::server::{AppState, REQUIRE_VERIFIED, assistant};

/// Tells every instance that an admin changed a setting.
pub async fn settings_changed(state: &AppState) {
    publish_event(state, Event::SettingsChanged).await;
}

/// Closes these teammates' sockets on every instance (sign-out,
/// deactivation).
pub async fn signed_out(state: &AppState, agents: Vec<AgentId>) {
    publish_event(state, Event::SignedOut { agents }).await;
}

/// Applies the settings changes every instance announces, until the server
/// stops.
pub async fn run(
    state: AppState,
    mut events: broadcast::Receiver<Event>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        };
        match event {
            // Events may have been missed (the bus was down, or this task
            // fell behind): a settings change, a row that moved the counts.
            Ok(Event::Resume | Event::Missed { .. })
            | Err(broadcast::error::RecvError::Lagged(_)) => {
                state.workflow.forget_counts();
                if let Err(err) = reload(&state).await {
                    tracing::error!(
                        %err,
                        "could not read the settings again after missing events; this instance keeps the old ones until the next change"
                    );
                }
            }
            Ok(Event::SettingsChanged) => {
                if let Err(err) = reload(&state).await {
                    tracing::error!(
                        %err,
                        "could not read the settings another instance saved; this instance keeps the old ones until the next change"
                    );
                }
            }
            // An inbox row changed, here or on another instance: counts a
            // greeting would reuse may be stale.
            Ok(Event::Conversation { .. } | Event::Erased { .. }) => state.workflow.forget_counts(),
            // Someone announced offline who has a socket here (the
            // announcement raced with their arrival, maybe on another
            // instance): say again that they are online.
            Ok(Event::Presence {
                contact_id,
                online: false,
                ..
            }) if state.hub.contact_online(contact_id) => {
                let again = Event::Presence {
                    contact_id,
                    online: true,
                    last_seen_at: crate::server::store::now(),
                };
                publish_event(&state, again).await;
            }
            Ok(Event::TeamPresence { online: false }) if state.hub.team_online() => {
                publish_event(&state, Event::TeamPresence { online: true }).await;
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Reads every setting an instance keeps in memory again.
async fn reload(state: &AppState) -> Result<(), StoreError> {
    state.workspace.reload(&state.store).await?;
    state.workflow.reload(&state.store).await?;
    state.require_verified.store(
        require_verified(state.config.require_verified, &state.store).await?,
        Ordering::Relaxed,
    );
    if let Some(engine) = &state.assistant {
        engine
            .enabled
            .store(assistant_enabled(&state.store).await?, Ordering::Relaxed);
    }
    Ok(())
}

/// Whether only verified visitors may chat: fixed by configuration, or
/// switched on by an admin.
pub async fn require_verified(
    configured: bool,
    store: &crate::server::store::Store,
) -> Result<bool, StoreError> {
    Ok(configured
        || store
            .setting(REQUIRE_VERIFIED)
            .await?
            .is_some_and(|v| v == "1"))
}

/// Whether the assistant answers (on unless an admin switched it off).
pub async fn assistant_enabled(store: &crate::server::store::Store) -> Result<bool, StoreError> {
    Ok(store
        .setting(assistant::ENABLED)
        .await?
        .is_none_or(|v| v != "0"))
}
