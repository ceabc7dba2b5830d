//! Email follow-up: when a teammate (or a bot) replies and the visitor is
//! not in the chat to see it, and they left their email, Minicom emails
//! the reply with a link back to the conversation.
//!
//! The first reply of a burst schedules the conversation's follow-up a few
//! minutes on (`MINICOM_EMAIL_DELAY_SECONDS`); later replies join it, so a
//! burst is one email. When it is due, the email carries the replies the
//! visitor has not read (nor been sent), unless they read them meanwhile,
//! left no email or unsubscribed; while they are in the chat it waits
//! again. The schedule is in the database (nothing lost across a restart)
//! and a failed send is tried again with backoff. Sent with `lettre` over
//! SMTP (`MINICOM_SMTP_URL`).

pub mod links;

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::{Notify, watch};

use crate::protocol::{ContactId, ConversationId, MessageId, Timestamp};
use crate::server::AppState;
use crate::server::store::{Followup, now};

/// How follow-up emails are sent (`MINICOM_SMTP_URL` and friends).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `smtp://host:port?tls=required` (STARTTLS), `smtps://host:465`
    /// (TLS from the start), or plain `smtp://host:port` (a relay on this
    /// machine), with `user:password@` when the server wants them.
    pub smtp_url: String,
    /// `Support <support@example.com>`.
    pub from: String,
    /// Where visitors reach this Minicom (`https://chat.example.com`): the
    /// links in an email start with it.
    pub public_url: String,
    /// How long the first reply of a burst waits for the visitor before
    /// it (and the rest of the burst) is emailed.
    pub delay: Duration,
    /// The wait before a failed send is tried again (doubling each time).
    pub first_retry: Duration,
}

/// Sends given up after this many attempts.
const MOST_ATTEMPTS: u32 = 8;

/// How long a claim keeps other instances off a follow-up…
const CLAIM: Duration = Duration::from_secs(180);

/// …and the longest one may take (the claim holds up to four).
const SEND_WITHIN: Duration = Duration::from_secs(40);

/// What went wrong with an SMTP send, for the log: the server's code, not
/// its words (they often name the address).
fn smtp_failure(err: &lettre::transport::smtp::Error) -> String {
    match err.status() {
        Some(code) => format!("the SMTP server answered {code}"),
        None if err.is_timeout() => "the SMTP server did not answer in time".to_owned(),
        None if err.is_tls() => "TLS with the SMTP server failed".to_owned(),
        None => "could not talk to the SMTP server".to_owned(),
    }
}

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
            format!(
                "MINICOM_SMTP_URL must be like smtp://user:password@smtp.example.com:587?tls=required: {e}"
            )
        })?;
        // A password over plain SMTP would cross the network readable.
        if let Ok(url) = reqwest::Url::parse(&self.smtp_url)
            && url.scheme() == "smtp"
            && url.password().is_some()
            && !url.query().is_some_and(|q| q.contains("tls=required"))
            && !matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
        {
            return Err(
                "MINICOM_SMTP_URL carries a password over plain SMTP: add ?tls=required (STARTTLS) or use smtps://"
                    .to_owned(),
            );
        }
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

/// `reply` was posted in `conversation`: its visitor may get it by email.
/// Nothing to do unless email is set up.
pub async fn reply_posted(state: &AppState, conversation: ConversationId, reply: MessageId) {
    let Some(settings) = &state.config.email else {
        return;
    };
    let due = Timestamp(now().0 + settings.delay.as_millis() as i64);
    match state
        .store
        .schedule_followup(conversation, reply, due)
        .await
    {
        Ok(()) => state.mailer.wake.notify_one(),
        Err(err) => tracing::error!(%err, "could not schedule an email follow-up"),
    }
}

/// `List-Unsubscribe-Post`: the button unsubscribes with one POST (RFC 8058).
#[derive(Clone)]
struct OneClick;

impl Header for OneClick {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
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
        let claim = Timestamp(at.0 + CLAIM.as_millis() as i64);
        let claimed = state
            .store
            .claim_followups(at, claim, 4)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(%err, "could not read the email follow-ups; trying again shortly");
                Vec::new()
            });
        for conversation in &claimed {
            // Well inside the claim: no other instance sends it meanwhile.
            let one = follow_up(&state, &settings, &transport, &from, *conversation, claim);
            if tokio::time::timeout(SEND_WITHIN, one).await.is_err() {
                tracing::warn!(
                    conversation = conversation.0,
                    "an email follow-up took too long; it is tried again once its claim lapses"
                );
            }
        }
        if !claimed.is_empty() {
            continue;
        }
        let next = state.store.next_followup_at().await;
        let longest = Duration::from_secs(30);
        if !crate::server::due::wait(next, longest, &state.mailer.wake, &mut shutdown).await {
            return;
        }
    }
}

/// Whether a visitor has the messenger open now, on any instance.
async fn in_chat(state: &AppState, contact: ContactId) -> bool {
    let online = state.presence.contacts_online(&state.hub, &[contact]).await;
    online.first().copied().unwrap_or(false)
}

/// One due follow-up (claimed until `claim`): sent, or nothing to send,
/// or tried again later.
async fn follow_up(
    state: &AppState,
    settings: &Settings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    conversation: ConversationId,
    claim: Timestamp,
) {
    let store = &state.store;
    let f = match store.followup(conversation).await {
        Ok(Some(f)) => f,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(%err, "could not read an email follow-up");
            return;
        }
    };
    let later = |wait: Duration| Timestamp(now().0 + wait.as_millis() as i64);
    let again = later(settings.delay);
    let to = f
        .email
        .as_deref()
        .and_then(|e| e.parse::<lettre::Address>().ok());
    let through = f.replies.last().map(|m| m.id);
    let recorded = match to {
        // Nothing to send: no address (or one that is not one), no wish
        // for email, or nothing unread.
        _ if f.opted_out || f.replies.is_empty() => {
            store.finish_followup(&f, claim, None, again).await
        }
        None => store.finish_followup(&f, claim, None, again).await,
        // They may read it there: ask again later.
        Some(_) if in_chat(state, f.contact).await => {
            store
                .retry_followup(conversation, claim, again, false)
                .await
        }
        Some(to) => match send(
            settings,
            transport,
            from,
            state.identity_secret.as_bytes(),
            &f,
            to,
        )
        .await
        {
            Ok(()) => {
                tracing::info!(
                    conversation = conversation.0,
                    replies = f.replies.len(),
                    "emailed a visitor the team's replies"
                );
                store.finish_followup(&f, claim, through, again).await
            }
            // Refused for good (an unknown address), or too often: these
            // replies are not sent again.
            Err(err) if err.is_permanent() || f.attempts + 1 >= MOST_ATTEMPTS => {
                tracing::warn!(
                    conversation = conversation.0,
                    "gave up emailing a visitor the team's replies: {}",
                    smtp_failure(&err)
                );
                store.finish_followup(&f, claim, through, again).await
            }
            Err(err) => {
                tracing::warn!(
                    conversation = conversation.0,
                    "could not email a visitor; trying again later: {}",
                    smtp_failure(&err)
                );
                let wait = settings
                    .first_retry
                    .saturating_mul(2u32.saturating_pow(f.attempts));
                store
                    .retry_followup(conversation, claim, later(wait), true)
                    .await
            }
        },
    };
    if let Err(err) = recorded {
        tracing::error!(%err, "could not record an email follow-up");
    }
}

/// Builds and sends the email.
async fn send(
    settings: &Settings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    secret: &[u8],
    f: &Followup,
    to: lettre::Address,
) -> Result<(), lettre::transport::smtp::Error> {
    let (subject, text, out) = compose(settings, secret, f);
    let mail = lettre::Message::builder()
        .from(from.clone())
        .to(Mailbox::new(f.name.clone(), to))
        .subject(subject)
        .message_id(None)
        .header(ContentType::TEXT_PLAIN)
        .header(ListUnsubscribe(out))
        .header(OneClick)
        .body(text);
    match mail {
        Ok(mail) => transport.send(mail).await.map(|_| ()),
        // Only a name or address lettre cannot write: nothing to retry.
        Err(err) => {
            tracing::warn!(
                conversation = f.conversation.0,
                "could not build a follow-up email: {err}"
            );
            Ok(())
        }
    }
}
