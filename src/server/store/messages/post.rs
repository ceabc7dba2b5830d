//! Posting a message: the idempotent insert (once per `client_id`), what
//! it does to its conversation in the same transaction (reopening, waking,
//! assigning by reply, mentions), and a visitor's message finding or
//! starting its conversation. Runs inside the writer's batched transaction.

use std::collections::HashMap;

use super::super::engine::{Engine, Params};
use super::*;

/// What a message says: its text and the files it carries.
pub type Content<'a> = (&'a str, &'a [Attachment]);

impl Store {
    /// Stores a message in an existing conversation (of visitor `contact`,
    /// as the caller checked), once per `client_id`: a second call with the
    /// same `client_id` returns the first stored row. Returns only after the
    /// commit (which may be shared with other writes: see `writer`).
    pub async fn insert_message(
        &self,
        conversation: ConversationId,
        contact: ContactId,
        client_id: ClientId,
        author: Author,
        body: &str,
    ) -> Result<Inserted, StoreError> {
        self.queue_message(
            conversation,
            contact,
            client_id,
            author,
            (body, &[]),
            PostOptions::default(),
        )
        .await?
        .committed()
        .await
    }

    /// Like [`Store::insert_message`], but returns once the write is queued:
    /// writes are stored in the order they are queued, so a socket can queue
    /// its next message before the previous one's commit.
    pub async fn queue_message(
        &self,
        conversation: ConversationId,
        contact: ContactId,
        client_id: ClientId,
        author: Author,
        (body, attachments): Content<'_>,
        options: PostOptions,
    ) -> Result<Queued, StoreError> {
        self.writer
            .enqueue(Write::Message {
                conversation,
                contact,
                client_id,
                author,
                body: body.to_owned(),
                attachments: attachments.to_vec(),
                options,
            })
            .await
    }

    /// Stores a visitor's message in their current conversation (open or
    /// snoozed), starting one if they have none. Idempotent like [`Store::insert_message`]: if this
    /// visitor already sent `client_id`, the earlier message is returned.
    /// A conversation it starts is answered by the assistant when
    /// `assistant_answers` (the assistant is on).
    pub async fn insert_visitor_message(
        &self,
        contact: ContactId,
        client_id: ClientId,
        body: &str,
        assistant_answers: bool,
    ) -> Result<Inserted, StoreError> {
        let post = VisitorPost {
            assistant_answers,
            ..VisitorPost::default()
        };
        self.queue_visitor_message(contact, client_id, (body, &[]), post)
            .await?
            .committed()
            .await
    }

    /// Like [`Store::insert_visitor_message`], returning once queued (see
    /// [`Store::queue_message`]).
    pub async fn queue_visitor_message(
        &self,
        contact: ContactId,
        client_id: ClientId,
        (body, attachments): Content<'_>,
        post: VisitorPost,
    ) -> Result<Queued, StoreError> {
        self.writer
            .enqueue(Write::VisitorMessage {
                contact,
                client_id,
                body: body.to_owned(),
                attachments: attachments.to_vec(),
                post,
            })
            .await
    }
}

/// What a batch's visitors' writes must know before they can be stored:
/// read for all of them at once (see [`Visitors::lock`]), then kept up to
/// date write by write.
#[derive(Default)]
pub(in crate::server::store) struct Visitors {
    /// When the batch took the lock: its visitors' last-seen time.
    pub(in crate::server::store) at: Timestamp,
    /// Each visitor's current conversation (open or snoozed), if any.
    current: HashMap<i64, Option<i64>>,
    /// Their earliest message by `client_id`, for the batch's `client_id`s.
    earlier: HashMap<(i64, ClientId), i64>,
}

/// What one visitor's write must know: read under the lock on the visitor.
#[derive(Clone, Copy, Debug, Default)]
pub(in crate::server::store) struct Known {
    /// Their earliest message with this `client_id`: sent before.
    pub(in crate::server::store) earlier: Option<i64>,
    /// Their current conversation.
    pub(in crate::server::store) current: Option<i64>,
}

impl Visitors {
    /// Locks the visitors `writes` come from (each visitor's row, or SQLite's
    /// write lock), recording them and the visitors `seen` as last seen now,
    /// and reads, in one more statement for the whole batch, their current
    /// conversations and which of these `client_id`s they sent before. A
    /// visitor's first messages racing from two tabs, on one instance or
    /// two, are serialised by that lock and land in one conversation.
    pub(in crate::server::store) async fn lock(
        tx: &mut Transaction<'_, Any>,
        writes: &[(ContactId, ClientId)],
        seen: &[ContactId],
    ) -> Result<Self, StoreError> {
        let mut visitors = Self {
            at: now(),
            ..Self::default()
        };
        let mut contacts: Vec<i64> = writes.iter().map(|(c, _)| c.0).collect();
        contacts.extend(seen.iter().map(|c| c.0));
        if contacts.is_empty() {
            return Ok(visitors);
        }
        contacts.sort_unstable();
        contacts.dedup();
        pad(&mut contacts);
        let engine = Engine::of_connection(tx);
        let mut params = Params::new(engine);
        let sql = format!(
            "UPDATE contacts SET last_seen_at = {} WHERE id IN ({})",
            params.one(),
            params.list(contacts.len())
        );
        let mut lock = sqlx::query(&sql).bind(visitors.at.0);
        for contact in &contacts {
            lock = lock.bind(*contact);
        }
        lock.execute(&mut **tx).await?;
        if writes.is_empty() {
            return Ok(visitors);
        }
        let mut writes = writes.to_vec();
        pad(&mut writes);
        // A statement of its own, after the lock is held: on PostgreSQL a
        // statement sees what was committed when it started, so a read in
        // the locking statement would miss what the transaction it waited
        // for wrote. Per write: its visitor's current conversation, and
        // their first message with its `client_id`.
        let pairs = Params::new(engine).tuples(writes.len(), 2);
        let sql = format!(
            "WITH w (contact, client_id) AS (VALUES {pairs})
             SELECT w.contact, w.client_id,
                (SELECT c.id FROM conversations c
                 WHERE c.contact_id = w.contact AND c.status IN ('open', 'snoozed')
                 ORDER BY c.last_message_at DESC, c.id DESC LIMIT 1),
                (SELECT m.id FROM messages m
                 WHERE m.client_id = w.client_id AND m.sender_kind = 'contact'
                   AND m.internal = FALSE
                   AND m.conversation_id IN (SELECT c.id FROM conversations c
                                             WHERE c.contact_id = w.contact)
                 ORDER BY m.id LIMIT 1)
             FROM w"
        );
        let mut read = sqlx::query_as(&sql);
        for (contact, client_id) in &writes {
            read = read.bind(contact.0).bind(client_id.0.to_string());
        }
        let rows: Vec<(i64, String, Option<i64>, Option<i64>)> = read.fetch_all(&mut **tx).await?;
        for (contact, client_id, current, earlier) in rows {
            visitors.current.insert(contact, current);
            if let (Some(id), Ok(client_id)) = (earlier, uuid::Uuid::parse_str(&client_id)) {
                visitors.earlier.insert((contact, ClientId(client_id)), id);
            }
        }
        Ok(visitors)
    }

    /// What a write of `contact`'s must know, if this batch read it (and
    /// nothing since made it stale).
    pub(in crate::server::store) fn known(
        &self,
        contact: ContactId,
        client_id: ClientId,
    ) -> Option<Known> {
        let current = *self.current.get(&contact.0)?;
        Some(Known {
            earlier: self.earlier.get(&(contact.0, client_id)).copied(),
            current,
        })
    }

    /// `contact`'s message was stored: it is now their current
    /// conversation's, and its `client_id` was sent before.
    pub(in crate::server::store) fn wrote(&mut self, contact: ContactId, inserted: &Inserted) {
        if !inserted.created {
            return;
        }
        let message = &inserted.message;
        if let Some(current) = self.current.get_mut(&contact.0) {
            *current = Some(message.conversation_id.0);
        }
        self.earlier
            .entry((contact.0, message.client_id))
            .or_insert(message.id.0);
    }

    /// The team wrote in one of `contact`'s conversations: which one is
    /// current may have changed, so their next write reads it again.
    pub(in crate::server::store) fn forget(&mut self, contact: ContactId) {
        self.current.remove(&contact.0);
    }
}

/// See [`Store::insert_visitor_message`]; runs inside the writer's
/// transaction. `known` is what [`Visitors::lock`] read; without it, this
/// write takes the lock and reads it itself.
pub(in crate::server::store) async fn visitor_insert_in(
    tx: &mut Transaction<'_, Any>,
    contact: ContactId,
    client_id: ClientId,
    content: Content<'_>,
    post: VisitorPost,
    known: Option<Known>,
) -> Result<Inserted, StoreError> {
    let t = now().0;
    let Known { earlier, current } = match known {
        Some(known) => known,
        None => {
            let visitors = Visitors::lock(tx, &[(contact, client_id)], &[]).await?;
            visitors.known(contact, client_id).unwrap_or_default()
        }
    };
    if let Some(id) = earlier {
        let row = sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.id = $1"))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        return stored_before(tx, &row).await;
    }
    let current = current.filter(|_| !post.new_conversation);
    let (conversation, started) = match current {
        Some(id) => (id, false),
        None => {
            let recent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM conversations WHERE contact_id = $1 AND created_at > $2",
            )
            .bind(contact.0)
            .bind(t - 3_600_000)
            .fetch_one(&mut **tx)
            .await?;
            if recent >= i64::from(post.starts_per_hour) {
                return Err(StoreError::TooManyConversations(post.starts_per_hour));
            }
            let id = sqlx::query_scalar(
                "INSERT INTO conversations (contact_id, created_at, last_message_at, assistant)
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(contact.0)
            .bind(t)
            .bind(t)
            .bind(
                if post.assistant_answers {
                    AssistantState::Answering
                } else {
                    AssistantState::Off
                }
                .as_str(),
            )
            .fetch_one(&mut **tx)
            .await?;
            (id, true)
        }
    };
    let mut inserted = insert_in(
        tx,
        ConversationId(conversation),
        client_id,
        Author::contact(contact),
        content,
        PostOptions::default(),
    )
    .await?;
    inserted.started = started;
    Ok(inserted)
}

/// See [`Store::insert_message`]; runs inside the writer's transaction.
pub(in crate::server::store) async fn insert_in(
    tx: &mut Transaction<'_, Any>,
    conversation: ConversationId,
    client_id: ClientId,
    author: Author,
    (body, attachments): Content<'_>,
    options: PostOptions,
) -> Result<Inserted, StoreError> {
    let t = now().0;
    // The conversation's next change number first, with its state before
    // the message: the update takes the lock before anything is read
    // (SQLite's write lock, PostgreSQL's lock on the conversation's row), so
    // change numbers and message ids follow commit order in a conversation
    // whichever instance writes.
    let (seq, status, assignee): (i64, String, Option<i64>) = sqlx::query_as(
        "UPDATE conversations SET seq = seq + 1 WHERE id = $1
         RETURNING seq, status, assignee_id",
    )
    .bind(conversation.0)
    .fetch_one(&mut **tx)
    .await?;
    // The new row comes back with its sender's name: no read after the write.
    let inserted: Option<(i64, Option<String>)> = sqlx::query_as(&format!(
        "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at, seq, internal, attachments, sources, sender_label)
         VALUES ($1, $2, $3, $4, $5, $6, $8, $7, $9, $10, $11)
         ON CONFLICT (conversation_id, client_id) DO NOTHING
         RETURNING id, {SENDER_NAME}",
    ))
    .bind(conversation.0)
    .bind(client_id.0.to_string())
    .bind(author.kind.as_str())
    .bind(author.id)
    .bind(body)
    .bind(t)
    .bind(options.internal)
    .bind(seq)
    .bind(attachments_json(attachments))
    .bind(sources_json(&options.sources))
    .bind(options.bot_name.as_deref())
    .fetch_optional(&mut **tx)
    .await?;
    let Some((id, sender_name)) = inserted else {
        // Sent before: nothing changed, so the number goes back; the stored
        // message as it stands now.
        sqlx::query("UPDATE conversations SET seq = seq - 1 WHERE id = $1")
            .bind(conversation.0)
            .execute(&mut **tx)
            .await?;
        let row = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.client_id = $2"
        ))
        .bind(conversation.0)
        .bind(client_id.0.to_string())
        .fetch_one(&mut **tx)
        .await?;
        return stored_before(tx, &row).await;
    };
    let sender_name = sender_name.unwrap_or_default();
    super::super::uploads::attach_in(tx, conversation, id, attachments).await?;
    let mut lines = Vec::new();
    let mut mentions = Vec::new();
    if options.internal {
        // A note moves nothing the visitor sees: only the change number.
        mentions =
            super::super::mentions::note_mentions(tx, conversation, id, body, author.id).await?;
    } else {
        let reopens = author.kind == SenderKind::Contact && status != "open";
        // A bot's message (no teammate) takes nobody's conversation.
        let takes = author.kind == SenderKind::Agent
            && author.id.is_some()
            && options.assign_on_reply
            && assignee.is_none();
        // Whoever writes has read everything before: their cursor moves too.
        sqlx::query(
            "UPDATE conversations
             SET last_message_at = $1, last_message_preview = $2, last_sender_kind = $3,
                 last_message_id = $4,
                 contact_read_id = CASE WHEN $3 = 'contact' THEN $4 ELSE contact_read_id END,
                 team_read_id = CASE WHEN $3 = 'agent' THEN $4 ELSE team_read_id END,
                 team_delivered_id = CASE WHEN $3 = 'agent' THEN $4 ELSE team_delivered_id END,
                 -- An agent's reply takes over from the assistant.
                 assistant = CASE WHEN $3 = 'agent' AND assistant IN ('answering', 'waiting')
                                  THEN 'human' ELSE assistant END,
                 -- The visitor waits from their first unanswered message on.
                 waiting_since = CASE WHEN $3 = 'contact' THEN COALESCE(waiting_since, $1)
                                      WHEN $3 IN ('agent', 'ai') THEN NULL
                                      ELSE waiting_since END,
                 status = CASE WHEN $6 THEN 'open' ELSE status END,
                 snoozed_until = CASE WHEN $6 THEN NULL ELSE snoozed_until END,
                 assignee_id = CASE WHEN $7 THEN $8 ELSE assignee_id END
             WHERE id = $5",
        )
        .bind(t)
        .bind(preview_of(body, attachments))
        .bind(author.kind.as_str())
        .bind(id)
        .bind(conversation.0)
        .bind(reopens)
        .bind(takes)
        .bind(author.id)
        .execute(&mut **tx)
        .await?;
        if reopens {
            let text = if status == "snoozed" {
                super::super::workflow::WOKEN_BY_REPLY
            } else {
                super::super::workflow::REOPENED_BY_REPLY
            };
            lines.push(super::super::workflow::line_in(tx, conversation, None, text).await?);
        }
        if takes {
            let text = super::super::workflow::assigned_by_reply(&sender_name);
            lines.push(super::super::workflow::line_in(tx, conversation, author.id, &text).await?);
        }
    }
    if author.kind == SenderKind::Agent && author.id.is_some() {
        sqlx::query(
            "INSERT INTO agent_cursors (agent_id, conversation_id, last_read_id)
             VALUES ($1, $2, $3)
             ON CONFLICT (agent_id, conversation_id) DO UPDATE
                SET last_read_id = CASE WHEN agent_cursors.last_read_id < excluded.last_read_id
                    THEN excluded.last_read_id ELSE agent_cursors.last_read_id END",
        )
        .bind(author.id)
        .bind(conversation.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Inserted {
        message: Message {
            id: MessageId(id),
            conversation_id: conversation,
            client_id,
            sender: author.kind,
            sender_name,
            body: body.to_owned(),
            created_at: Timestamp(t),
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            seq,
            internal: options.internal,
            attachments: attachments.to_vec(),
            sources: options.sources,
            helpful: None,
        },
        created: true,
        started: false,
        lines,
        mentions,
        row: RowAfter::Unread,
    })
}

/// A message sent before (a resend of the same `client_id`), whole: with its
/// reactions, since it carries its latest change number.
async fn stored_before(
    tx: &mut Transaction<'_, Any>,
    row: &sqlx::any::AnyRow,
) -> Result<Inserted, StoreError> {
    let mut message = [message_from_row(row)?];
    with_reactions(&mut **tx, &mut message).await?;
    let [message] = message;
    Ok(Inserted {
        message,
        created: false,
        started: false,
        lines: Vec::new(),
        mentions: Vec::new(),
        row: RowAfter::Unread,
    })
}
