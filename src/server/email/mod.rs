//! Email follow-up: when a teammate (or a bot) replies and the visitor is
//! not in the chat to see it, and they left their email, Minicom emails
//! the reply with a link back to the conversation.
//!
//! A reply schedules the conversation's follow-up a few minutes on
//! (`MINICOM_EMAIL_DELAY_SECONDS`); later replies of the same burst join
//! it, so a burst is one email. When it is due, the email carries the
//! replies the visitor has not read (nor been sent), unless they are in
//! the chat now, read them meanwhile, left no email or unsubscribed. The
//! schedule is in the database (nothing lost across a restart) and a
//! failed send is tried again with backoff. Sent with `lettre` over SMTP
//! (`MINICOM_SMTP_URL`).

pub mod links;

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::{Notify, watch};

use crate::protocol::{ConversationId, ConversationSummary, Timestamp};
use crate::server::AppState;
use crate::server::store::{Followup, now};

/// How follow-up emails are sent (`MINICOM_SMTP_URL` and friends).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `smtp://host:port` (STARTTLS when offered… see lettre), `smtps://`
    /// for TLS from the start, with `user:password@` when the server
    /// wants them.
    pub smtp_url: String,
    /// `Support <support@example.com>`.
    pub from: String,
    /// Where visitors reach this Minicom (`https://chat.example.com`): the
    /// links in an email start with it.
    pub public_url: String,
    /// How long a reply waits for the visitor before it is emailed (and
    /// for the rest of its burst).
    pub delay: Duration,
    /// The wait before a failed send is tried again (doubling each time).
    pub first_retry: Duration,
}

/// Sends given up after this many attempts.
const MOST_ATTEMPTS: u32 = 8;

impl Settings {
    /// From the environment: `None` without `MINICOM_SMTP_URL`; an error
    /// names what is missing or wrong.
    pub fn from_env() -> Result<Option<Self>, String> {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        let Some(smtp_url) = var("MINICOM_SMTP_URL") else {
            return Ok(None);
        };
        let from = var("MINICOM_EMAIL_FROM").ok_or(
            "MINICOM_SMTP_URL is set, so MINICOM_EMAIL_FROM must be too (e.g. \"Support <support@example.com>\")",
        )?;
        let public_url = var("MINICOM_PUBLIC_URL").ok_or(
            "MINICOM_SMTP_URL is set, so MINICOM_PUBLIC_URL must be too: where visitors reach Minicom (e.g. https://chat.example.com), for the links in emails",
        )?;
        let delay = match var("MINICOM_EMAIL_DELAY_SECONDS") {
            None => Duration::from_secs(300),
            Some(v) => Duration::from_secs(v.trim().parse().map_err(|_| {
                format!("MINICOM_EMAIL_DELAY_SECONDS must be a whole number of seconds, got {v:?}")
            })?),
        };
        let settings = Self {
            smtp_url,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            delay,
            first_retry: Duration::from_secs(60),
        };
        settings.check()?;
        Ok(Some(settings))
    }

    /// Refuses what cannot work, in words.
    pub fn check(&self) -> Result<(), String> {
        self.from.parse::<Mailbox>().map_err(|e| {
            format!(
                "MINICOM_EMAIL_FROM must be an address like \"Support <support@example.com>\": {e}"
            )
        })?;
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.smtp_url).map_err(|e| {
            format!("MINICOM_SMTP_URL must be like smtp://user:password@smtp.example.com:587: {e}")
        })?;
        if !(self.public_url.starts_with("https://") || self.public_url.starts_with("http://")) {
            return Err(format!(
                "MINICOM_PUBLIC_URL must start with https:// or http://, got {:?}",
                self.public_url
            ));
        }
        Ok(())
    }
}

/// The sender's wake-up when a reply is scheduled.
#[derive(Default)]
pub struct Mailer {
    wake: Notify,
}

/// A reply was posted in `conversation`: its visitor may get it by email.
/// Nothing to do unless email is set up.
pub async fn reply_posted(state: &AppState, conversation: ConversationId) {
    let Some(settings) = &state.config.email else {
        return;
    };
    let due = Timestamp(now().0 + settings.delay.as_millis() as i64);
    match state.store.schedule_followup(conversation, due).await {
        Ok(()) => state.mailer.wake.notify_one(),
        Err(err) => tracing::error!(%err, "could not schedule an email follow-up"),
    }
}

/// The `List-Unsubscribe` header: mail programs show an unsubscribe button.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim_matches(['<', '>']).to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// The email for a follow-up: subject and text.
fn compose(settings: &Settings, secret: &[u8], f: &Followup) -> (String, String, String) {
    let mut names: Vec<&str> = Vec::new();
    for reply in &f.replies {
        if !names.contains(&reply.sender_name.as_str()) {
            names.push(&reply.sender_name);
        }
    }
    let who = match names.split_last() {
        None => "The team".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    };
    let subject = format!("{who} replied to your message");
    let expires = now().0 / 1000 + links::CONTINUE_DAYS * 24 * 3600;
    let back = format!(
        "{}{}",
        settings.public_url,
        links::continue_path(secret, f.conversation, f.contact, expires)
    );
    let out = format!(
        "{}{}",
        settings.public_url,
        links::unsubscribe_path(secret, f.contact)
    );
    let mut text = format!(
        "Hi {},\n\n{who} replied while you were away:\n\n",
        f.name.as_deref().unwrap_or("there")
    );
    for reply in &f.replies {
        text.push_str(&format!("{}:\n", reply.sender_name));
        for line in reply.body.lines() {
            text.push_str(&format!("  {line}\n"));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "Reply in the chat: {back}\n\n--\nYou get this because you left your email in our chat. \
         To get no more emails about your conversations: {out}\n"
    ));
    (subject, text, out)
}

/// Sends due follow-ups until the server stops.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let Some(settings) = state.config.email.clone() else {
        return;
    };
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url) {
        Ok(builder) => builder.timeout(Some(Duration::from_secs(20))).build(),
        Err(err) => {
            tracing::error!(%err, "email follow-up is off: MINICOM_SMTP_URL is not usable");
            return;
        }
    };
    let Ok(from) = settings.from.parse::<Mailbox>() else {
        return; // checked at start
    };
    loop {
        let at = now();
        let claimed = state
            .store
            .claim_followups(at, Timestamp(at.0 + 120_000), 16)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(%err, "could not read the email follow-ups; trying again shortly");
                Vec::new()
            });
        for conversation in &claimed {
            follow_up(&state, &settings, &transport, &from, *conversation).await;
        }
        if !claimed.is_empty() {
            continue;
        }
        let wait = match state.store.next_followup_at().await {
            Ok(Some(t)) => Duration::from_millis(u64::try_from(t.0 - now().0).unwrap_or(0)),
            _ => Duration::from_secs(30),
        }
        .clamp(Duration::from_millis(5), Duration::from_secs(30));
        tokio::select! {
            _ = state.mailer.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = crate::server::ws::stopping(&mut shutdown) => return,
        }
    }
}

/// Whether the visitor of a conversation is in the chat now.
async fn in_chat(state: &AppState, conversation: ConversationId) -> bool {
    let Ok(Some(row)) = state.store.conversation_summary(conversation).await else {
        return false;
    };
    let mut rows: [ConversationSummary; 1] = [row];
    state
        .presence
        .fill_contacts_online(&state.hub, &mut rows)
        .await;
    rows[0].contact_online
}

/// One due follow-up: sent, or nothing to send, or tried again later.
async fn follow_up(
    state: &AppState,
    settings: &Settings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    conversation: ConversationId,
) {
    let store = &state.store;
    let followup = match store.followup(conversation).await {
        Ok(Some(f)) => f,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(%err, "could not read an email follow-up");
            return;
        }
    };
    let to = followup
        .email
        .as_deref()
        .and_then(|e| e.parse::<lettre::Address>().ok());
    let through = followup.replies.last().map(|m| m.id);
    let skip = followup.opted_out
        || to.is_none()
        || followup.replies.is_empty()
        || in_chat(state, conversation).await;
    let result = match (skip, to) {
        (false, Some(to)) => {
            let (subject, text, out) =
                compose(settings, state.identity_secret.as_bytes(), &followup);
            let mail = lettre::Message::builder()
                .from(from.clone())
                .to(Mailbox::new(followup.name.clone(), to))
                .subject(subject)
                .header(ContentType::TEXT_PLAIN)
                .header(ListUnsubscribe(out))
                .body(text);
            match mail {
                Ok(mail) => transport
                    .send(mail)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
        _ => Ok(()),
    };
    let recorded = match result {
        Ok(()) => {
            if !skip {
                tracing::info!(
                    conversation = conversation.0,
                    replies = followup.replies.len(),
                    "emailed a visitor the team's replies"
                );
            }
            store
                .finish_followup(conversation, through.filter(|_| !skip))
                .await
        }
        Err(err) if followup.attempts + 1 >= MOST_ATTEMPTS => {
            tracing::error!(%err, conversation = conversation.0, "gave up emailing a visitor the team's replies");
            store.finish_followup(conversation, None).await
        }
        Err(err) => {
            tracing::warn!(%err, conversation = conversation.0, "could not email a visitor; trying again later");
            let wait = settings
                .first_retry
                .saturating_mul(2u32.saturating_pow(followup.attempts));
            store
                .retry_followup(conversation, Timestamp(now().0 + wait.as_millis() as i64))
                .await
        }
    };
    if let Err(err) = recorded {
        tracing::error!(%err, "could not record an email follow-up");
    }
}
