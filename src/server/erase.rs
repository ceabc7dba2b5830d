//! Erasing a person ("delete all my data"): an admin erases the visitor of
//! a conversation from the contact panel, or anyone with the server's
//! environment runs `minicom contact erase --email …`; with
//! `MINICOM_RETENTION_DAYS` old resolved conversations go on their own.
//! The rows go in one transaction (`store::erase`), then the files' bytes,
//! then every instance closes the visitor's sockets and drops the rows
//! from every inbox (`Event::Erased`). Recorded: who asked and when, and
//! how many conversations and messages went — never what they said.

use std::time::Duration;

use anyhow::Context;

use crate::protocol::{AgentId, ConversationId, Timestamp};
use crate::server::AppState;
use crate::server::bus::Event;
use crate::server::config::Config;
use crate::server::files::Files;
use crate::server::publish::publish_event;
use crate::server::store::{Erased, Eraser, RETENTION_BATCH, Store, StoreError, now};

/// How often the retention period is applied.
const RETENTION_EVERY: Duration = Duration::from_secs(3_600);

/// The usage text for `minicom contact`.
pub const USAGE: &str = "\
Usage:
  minicom contact erase --email EMAIL [--database-url URL]

Erases every visitor with that email (as they, the team or your site gave it)
and everything of theirs: conversations, messages (the team's replies in them
too), files, reactions, ratings and search entries. It cannot be undone; the
erasure is recorded without what was erased. The database and files are the
server's (DATABASE_URL, MINICOM_FILES). A running server's inboxes show it
when reloaded.
";

/// Why an erasure was refused.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("That conversation does not exist (any more): its visitor may be erased already.")]
    NoConversation,
    #[error("could not reach the database: {0}")]
    Store(#[from] StoreError),
}

/// An admin erases the visitor of `conversation` and everything of theirs.
pub async fn erase_visitor(
    state: &AppState,
    admin: AgentId,
    conversation: ConversationId,
) -> Result<Erased, EraseError> {
    let contact = state
        .store
        .conversation_contact(conversation)
        .await?
        .ok_or(EraseError::NoConversation)?;
    let erased = state
        .store
        .erase_contacts(&[contact], Eraser::Agent(admin), now())
        .await?;
    announce(state, &erased).await;
    tracing::info!(
        admin = admin.0,
        conversations = erased.conversations.len(),
        messages = erased.messages,
        "erased a visitor at their request"
    );
    Ok(erased)
}

/// What follows an erasure on a running server: the files' bytes go, and
/// every instance closes the visitors' sockets and drops the rows.
async fn announce(state: &AppState, erased: &Erased) {
    state.files.forget(erased.files.clone()).await;
    if erased.contacts.is_empty() && erased.conversations.is_empty() {
        return;
    }
    state.workflow.counts_changed();
    publish_event(
        state,
        Event::Erased {
            contacts: erased.contacts.clone(),
            conversations: erased.conversations.clone(),
        },
    )
    .await;
}

/// Erases what the retention period allows, batch by batch; returns the
/// conversations erased.
pub async fn apply_retention(state: &AppState, days: u32) -> Result<usize, StoreError> {
    let before = Timestamp(now().0 - i64::from(days) * 86_400_000);
    let mut total = 0;
    loop {
        let erased = state.store.erase_resolved_before(before).await?;
        announce(state, &erased).await;
        total += erased.conversations.len();
        let full = |n: usize| n as i64 >= RETENTION_BATCH;
        if !full(erased.conversations.len()) && !full(erased.contacts.len()) {
            return Ok(total);
        }
    }
}

/// Applies the retention period now and then every hour, until the
/// server stops.
pub async fn run_retention(
    state: AppState,
    days: u32,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(RETENTION_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
        match apply_retention(&state, days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                conversations = n,
                days,
                "erased conversations resolved longer ago than the retention period"
            ),
            Err(err) => tracing::warn!(
                %err,
                "could not apply the retention period; will try again in an hour"
            ),
        }
    }
}

/// Runs `minicom contact <args>`.
pub async fn command(config: &Config, args: &[String]) -> anyhow::Result<()> {
    let mut config = config.clone();
    let mut email = None;
    let mut rest = args.iter();
    match rest.next().map(String::as_str) {
        Some("erase") => {}
        _ => anyhow::bail!("{USAGE}"),
    }
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .with_context(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        match flag.as_str() {
            "--email" => email = Some(value.clone()),
            "--database-url" => config.database_url = value.clone(),
            other => anyhow::bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let email = email.with_context(|| format!("--email EMAIL is required\n\n{USAGE}"))?;
    let store = Store::open_with(&config.database_url, config.durability)
        .await
        .with_context(|| format!("could not open the database at {}", config.database_url))?;
    let result = erase_by_email(&config, &store, &email).await;
    store.close().await;
    let erased = result?;
    if erased.contacts.is_empty() {
        anyhow::bail!("no visitor has the email {email}; nothing was erased");
    }
    println!(
        "Erased {} with the email {email}: {}, {} and {}.",
        plural(erased.contacts.len(), "visitor"),
        plural(erased.conversations.len(), "conversation"),
        plural(erased.messages as usize, "message"),
        plural(erased.files.len(), "file"),
    );
    Ok(())
}

async fn erase_by_email(config: &Config, store: &Store, email: &str) -> anyhow::Result<Erased> {
    let contacts = store.contacts_with_email(email).await?;
    let erased = store
        .erase_contacts(&contacts, Eraser::Command, now())
        .await?;
    Files::configured(config, store)
        .forget(erased.files.clone())
        .await;
    Ok(erased)
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
