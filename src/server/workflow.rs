//! The team's workflow: the rules for resolving, snoozing and assigning
//! conversations, the snooze clock that wakes them, and the inbox lists'
//! counts. `ws::workflow` turns frames into these calls; the state itself
//! is kept by `store` (see `store::workflow`).

use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::protocol::validate_body;
use crate::protocol::{
    AgentId, ContactId, ConversationId, ConversationStatus, InboxCounts, MAX_RATING_COMMENT_CHARS,
    MAX_SNOOZE_MS, Person, ProtocolError, SenderKind, Timestamp, rating_name,
};
use crate::replies::{MAX_OWN_REPLIES, MAX_SAVED_REPLIES, check_shortcut};
use crate::server::AppState;
use crate::server::bus::Event;
use crate::server::publish::{
    publish_event, publish_messages, publish_status_changed, publish_summary_of,
};
use crate::server::store::{StoreError, now};

/// The setting key of "an agent's first reply to a conversation nobody owns
/// makes it theirs" ("1" on, the default; "0" off).
pub const ASSIGN_ON_REPLY: &str = "assign_on_reply";

/// Counts are recomputed at most this often, however many changes come.
const COUNTS_EVERY: Duration = Duration::from_millis(250);

/// Wakes the background tasks when something they watch changed.
#[derive(Default)]
pub struct Workflow {
    counts_stale: Notify,
    snoozes_changed: Notify,
    assign_on_reply: std::sync::atomic::AtomicBool,
    /// The counts last published, while nothing changed since: what a new
    /// socket's `hello` carries.
    last_counts: std::sync::Mutex<Option<InboxCounts>>,
    /// Bumped by every change: counts read before one are not remembered.
    changes: std::sync::atomic::AtomicU64,
    /// Automatic assignment of new conversations (off unless admins set a
    /// cap).
    pub auto_assign: crate::server::auto_assign::AutoAssign,
}

impl Workflow {
    /// Reads the admins' switches.
    pub async fn load(store: &crate::server::store::Store) -> Result<Self, StoreError> {
        Ok(Self {
            assign_on_reply: saved_assign_on_reply(store).await?.into(),
            auto_assign: crate::server::auto_assign::AutoAssign::load(store).await?,
            ..Self::default()
        })
    }

    /// Some list's count may have changed: new numbers go out shortly,
    /// and until then a greeting counts afresh.
    pub fn counts_changed(&self) {
        self.forget_counts();
        self.counts_stale.notify_one();
    }

    /// A row changed somewhere, maybe on another instance (which publishes
    /// the new counts): the next greeting here counts afresh.
    pub fn forget_counts(&self) {
        if let Ok(mut last) = self.last_counts.lock() {
            self.changes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            *last = None;
        }
    }

    /// A snooze was set: the clock looks at its next alarm again.
    pub fn snoozes_changed(&self) {
        self.snoozes_changed.notify_one();
    }

    /// How many changes there were so far (read before counting).
    fn change_number(&self) -> u64 {
        self.changes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Keeps counts read when the change number was `as_of`, unless a
    /// change came meanwhile.
    fn remember(&self, counts: &InboxCounts, as_of: u64) {
        if let Ok(mut last) = self.last_counts.lock()
            && self.change_number() == as_of
        {
            *last = Some(counts.clone());
        }
    }

    fn remembered(&self) -> Option<InboxCounts> {
        self.last_counts.lock().ok().and_then(|last| last.clone())
    }

    /// Whether an agent's first reply assigns the conversation to them.
    pub fn assign_on_reply(&self) -> bool {
        self.assign_on_reply
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Reads the admins' switches again (another instance changed them).
    pub async fn reload(&self, store: &crate::server::store::Store) -> Result<(), StoreError> {
        self.assign_on_reply.store(
            saved_assign_on_reply(store).await?,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.auto_assign.reload(store).await
    }

    /// Switches assignment by reply on or off, for every later reply.
    pub async fn set_assign_on_reply(
        &self,
        store: &crate::server::store::Store,
        on: bool,
    ) -> Result<(), StoreError> {
        store
            .set_setting(ASSIGN_ON_REPLY, if on { "1" } else { "0" })
            .await?;
        self.assign_on_reply
            .store(on, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// "Assign on reply" as saved (on unless an admin switched it off).
async fn saved_assign_on_reply(store: &crate::server::store::Store) -> Result<bool, StoreError> {
    Ok(store
        .setting(ASSIGN_ON_REPLY)
        .await?
        .is_none_or(|v| v != "0"))
}

/// Why a saved reply was not saved.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("{0}")]
    Invalid(String),
    #[error("There are {MAX_SAVED_REPLIES} saved replies already; delete one first.")]
    Full,
    #[error("You keep {MAX_OWN_REPLIES} saved replies already; delete one of yours first.")]
    FullOwn,
    #[error("could not save the reply: {0}")]
    Store(#[from] StoreError),
}

/// Saves a reply under a shortcut, for the team (`owner` `None`) or for
/// one agent (an existing shortcut gets the new text).
pub async fn save_reply(
    state: &AppState,
    owner: Option<AgentId>,
    shortcut: &str,
    body: &str,
) -> Result<(), ReplyError> {
    let shortcut = check_shortcut(shortcut).map_err(ReplyError::Invalid)?;
    let body = validate_body(body).map_err(|e| ReplyError::Invalid(e.to_string()))?;
    let (limit, full) = match owner {
        None => (MAX_SAVED_REPLIES, ReplyError::Full),
        Some(_) => (MAX_OWN_REPLIES, ReplyError::FullOwn),
    };
    if !state
        .store
        .save_reply(owner, &shortcut, body, limit)
        .await?
    {
        return Err(full);
    }
    Ok(())
}

/// Who changes a conversation: a teammate, or an API client (no teammate;
/// its lines carry the token's name).
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub name: &'a str,
    pub agent: Option<AgentId>,
}

/// Moves a conversation (of visitor `contact`, as the caller checked) to
/// `status`, until `until` for a snooze (read in `time_zone` for its
/// line); leaves the line, moves the row for everyone and refreshes the
/// lists' counts. Nothing happens when it was already so.
pub async fn set_status(
    state: &AppState,
    (conversation, contact): (ConversationId, ContactId),
    actor: Actor<'_>,
    status: ConversationStatus,
    until: Option<Timestamp>,
    time_zone: Option<&str>,
) -> Result<(), ProtocolError> {
    let until = match status {
        ConversationStatus::Snoozed => Some(check_snooze(until, now())?),
        _ => None,
    };
    let line = status_line(actor.name, status, until, time_zone);
    let Some(line) = state
        .store
        .set_status(conversation, status, until, actor.agent, &line)
        .await
        .map_err(StoreError::refusal)?
    else {
        return Ok(()); // already so: nothing to tell anyone
    };
    publish_messages(state, contact, vec![line]).await;
    state.workflow.counts_changed();
    state.workflow.snoozes_changed();
    publish_status_changed(state, conversation).await;
    Ok(())
}

/// Gives a conversation (of visitor `contact`, as the caller checked) to
/// the active teammate `to`, or to nobody; leaves the line, moves the row
/// and refreshes the counts. Nothing happens when it was already so.
pub async fn assign(
    state: &AppState,
    (conversation, contact): (ConversationId, ContactId),
    actor: Actor<'_>,
    to: Option<AgentId>,
) -> Result<(), ProtocolError> {
    let to = match to {
        Some(id) => {
            let agent = state
                .store
                .agent(id)
                .await
                .map_err(StoreError::refusal)?
                .filter(|a| a.active)
                .ok_or(ProtocolError::UnknownAgent)?;
            Some((agent.id, agent.name))
        }
        None => None,
    };
    let line = assign_line(
        actor.name,
        actor.agent,
        to.as_ref().map(|(id, name)| (*id, name.as_str())),
    );
    let Some(line) = state
        .store
        .assign(conversation, to.map(|(id, _)| id), actor.agent, &line)
        .await
        .map_err(StoreError::refusal)?
    else {
        return Ok(());
    };
    publish_messages(state, contact, vec![line]).await;
    publish_summary_of(state, conversation).await;
    state.workflow.counts_changed();
    Ok(())
}

/// Checks a snooze's time: in the future, within a year.
pub fn check_snooze(until: Option<Timestamp>, at: Timestamp) -> Result<Timestamp, ProtocolError> {
    match until {
        Some(until) if until > at && until.0 - at.0 <= MAX_SNOOZE_MS => Ok(until),
        _ => Err(ProtocolError::InvalidSnooze),
    }
}

/// The thread's line for a change of state by `actor`.
pub fn status_line(
    actor: &str,
    status: ConversationStatus,
    until: Option<Timestamp>,
    time_zone: Option<&str>,
) -> String {
    match status {
        ConversationStatus::Open => format!("{actor} reopened this"),
        ConversationStatus::Resolved => format!("{actor} resolved this"),
        ConversationStatus::Snoozed => {
            let when = until.map_or_else(String::new, |t| {
                format!(" until {}", local_time(t, time_zone))
            });
            format!("Snoozed{when} by {actor}")
        }
    }
}

/// Checks a visitor's rating: 1 to 5, a comment of at most
/// `MAX_RATING_COMMENT_CHARS` characters (empty is none).
pub fn check_rating(
    score: u8,
    comment: Option<String>,
) -> Result<(&'static str, Option<String>), ProtocolError> {
    let name = rating_name(score).ok_or(ProtocolError::InvalidRating)?;
    let comment = comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_RATING_COMMENT_CHARS)
    {
        return Err(ProtocolError::InvalidRating);
    }
    Ok((name, comment))
}

/// The thread's line for a rating: "The visitor rated this Good: “Quick!”".
pub fn rating_line(name: &str, comment: Option<&str>) -> String {
    match comment {
        Some(comment) => format!("The visitor rated this {name}: “{comment}”"),
        None => format!("The visitor rated this {name}"),
    }
}

/// The thread's line for a change of owner by `actor` (`me`, when a
/// teammate).
pub fn assign_line(actor: &str, me: Option<AgentId>, to: Option<(AgentId, &str)>) -> String {
    match to {
        Some((id, _)) if Some(id) == me => format!("{actor} took this"),
        Some((_, name)) => format!("{actor} assigned this to {name}"),
        None => format!("{actor} unassigned this"),
    }
}

/// A time as the person who chose it reads it: "Tue 1 Dec 09:00" in their
/// time zone (IANA), or in UTC, said so, when it is unknown.
fn local_time(t: Timestamp, time_zone: Option<&str>) -> String {
    let Ok(at) = jiff::Timestamp::from_millisecond(t.0) else {
        return "later".into();
    };
    let zone = time_zone.and_then(|z| jiff::tz::TimeZone::get(z).ok());
    match zone {
        Some(zone) => at.to_zoned(zone).strftime("%a %-d %b %H:%M").to_string(),
        None => format!(
            "{} UTC",
            at.to_zoned(jiff::tz::TimeZone::UTC)
                .strftime("%a %-d %b %H:%M")
        ),
    }
}

/// Publishes the inbox lists' counts whenever they may have changed, at
/// most every `COUNTS_EVERY`, until the server stops.
pub async fn run_counts(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let workflow = state.workflow.clone();
    loop {
        tokio::select! {
            _ = workflow.counts_stale.notified() => {}
            _ = crate::server::ws::stopping(&mut shutdown) => return,
        }
        let as_of = workflow.change_number();
        match state.store.inbox_counts().await {
            Ok(counts) => {
                workflow.remember(&counts, as_of);
                publish_event(&state, Event::Counts { counts }).await;
            }
            Err(err) => tracing::error!(%err, "could not count the inbox lists"),
        }
        // Changes meanwhile are counted in the next round, not one each.
        tokio::select! {
            _ = tokio::time::sleep(COUNTS_EVERY) => {}
            _ = crate::server::ws::stopping(&mut shutdown) => return,
        }
    }
}

/// The counts for a socket's `hello`: the last published ones while nothing
/// changed since (a reconnect storm does not count the table once per
/// agent), else counted now.
pub async fn counts(state: &AppState) -> Result<InboxCounts, StoreError> {
    if let Some(counts) = state.workflow.remembered() {
        return Ok(counts);
    }
    let as_of = state.workflow.change_number();
    let counts = state.store.inbox_counts().await?;
    state.workflow.remember(&counts, as_of);
    Ok(counts)
}

/// The active teammates, as people to assign conversations to.
pub async fn team(state: &AppState) -> Result<Vec<Person>, StoreError> {
    Ok(state
        .store
        .list_agents()
        .await?
        .into_iter()
        .filter(|a| a.active)
        .map(|a| Person {
            kind: SenderKind::Agent,
            id: a.id.0,
            name: a.name,
        })
        .collect())
}

/// Wakes snoozed conversations when their time comes — also those whose
/// time passed while the server was down, as soon as it starts.
pub async fn run_snooze_clock(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let workflow = state.workflow.clone();
    loop {
        // Listen before reading: a snooze set meanwhile is not missed.
        let changed = workflow.snoozes_changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let next = match wake_due(&state).await {
            Ok(()) => state.store.next_wake().await,
            Err(err) => Err(err),
        };
        let wait = match next {
            Ok(Some(at)) => Duration::from_millis((at.0 - now().0).clamp(0, i64::MAX) as u64),
            Ok(None) => Duration::from_secs(24 * 3600),
            Err(err) => {
                tracing::error!(%err, "the snooze clock could not read the database; trying again in a minute");
                Duration::from_secs(60)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut changed => {}
            _ = crate::server::ws::stopping(&mut shutdown) => return,
        }
    }
}

/// Wakes every conversation due now and tells everyone.
async fn wake_due(state: &AppState) -> Result<(), StoreError> {
    loop {
        let lines = state.store.wake_due(now()).await?;
        let full = crate::server::store::Store::wake_batch_full(lines.len());
        if !lines.is_empty() {
            state.workflow.counts_changed();
        }
        for (contact, line) in lines {
            let conversation = line.conversation_id;
            publish_messages(state, contact, vec![line]).await;
            publish_status_changed(state, conversation).await;
        }
        if !full {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snooze_is_in_the_future_and_within_a_year() {
        let at = Timestamp(1_000_000);
        assert!(check_snooze(Some(Timestamp(1_000_001)), at).is_ok());
        assert!(check_snooze(Some(at), at).is_err(), "now is not later");
        assert!(check_snooze(None, at).is_err());
        assert!(check_snooze(Some(Timestamp(at.0 + MAX_SNOOZE_MS + 1)), at).is_err());
    }

    #[test]
    fn lines_name_the_actor_and_the_time_in_their_zone() {
        // 2026-12-01 08:00 UTC = 09:00 in Oslo.
        let t = Timestamp(1_796_112_000_000);
        assert_eq!(
            status_line(
                "Ben",
                ConversationStatus::Snoozed,
                Some(t),
                Some("Europe/Oslo")
            ),
            "Snoozed until Tue 1 Dec 09:00 by Ben"
        );
        assert_eq!(
            status_line(
                "Ben",
                ConversationStatus::Snoozed,
                Some(t),
                Some("Nowhere/Else")
            ),
            "Snoozed until Tue 1 Dec 08:00 UTC by Ben"
        );
        assert_eq!(
            status_line("Ana", ConversationStatus::Resolved, None, None),
            "Ana resolved this"
        );
        let (ana, ben) = (AgentId(1), AgentId(2));
        assert_eq!(
            assign_line("Ana", Some(ana), Some((ana, "Ana"))),
            "Ana took this"
        );
        assert_eq!(
            assign_line("Ana", Some(ana), Some((ben, "Ben"))),
            "Ana assigned this to Ben"
        );
        assert_eq!(assign_line("Ana", Some(ana), None), "Ana unassigned this");
        // An API client is nobody on the team: it never "takes" one.
        assert_eq!(
            assign_line("CRM", None, Some((ana, "Ana"))),
            "CRM assigned this to Ana"
        );
    }
}
