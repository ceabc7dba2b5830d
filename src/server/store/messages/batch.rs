//! Posting a whole batch of plain messages in a fixed number of statements.
//!
//! Every statement is a round trip to the database (on SQLite a hand-off to
//! sqlx's thread and back), and the writer runs its batches one after
//! another, so statements per message bound messages per second. Most
//! messages are plain: text in a conversation that is open (a visitor's) or
//! already owned (a teammate's), sent for the first time. A batch of only
//! such messages is written here in five statements whatever its size:
//! reserve each conversation's change numbers, insert every message, move
//! each conversation's row once, move teammates' read cursors, and read the
//! changed inbox rows back for the live events. A batch holding anything
//! else (a note, files, a reply that reopens or assigns, a resend) is
//! written message by message through [`super::insert_in`], which stays the
//! definition of what a message does; `tests/batch_writes.rs` holds the two
//! to the same rows.

use std::collections::HashMap;

use super::super::conversations::{SUMMARY_COLUMNS, SUMMARY_FROM, summary_from_row};
use super::super::engine::{Engine, Params};
use super::*;

/// One plain message of a batch, in queue order.
pub(in crate::server::store) struct Plain<'a> {
    pub conversation: ConversationId,
    pub client_id: ClientId,
    /// A visitor or a teammate (with their id).
    pub author: Author,
    pub body: &'a str,
    /// (Teammates) a reply to a conversation nobody owns would make it
    /// theirs: not plain, see [`post`].
    pub assign_on_reply: bool,
}

/// What one conversation's messages in the batch do to its row.
struct Moves {
    /// Messages of the batch in this conversation.
    count: i64,
    /// The newest: its time, preview, sender and id.
    last: usize,
    newest_contact: Option<i64>,
    newest_agent: Option<i64>,
    /// When the visitor started waiting, as the batch leaves it: see
    /// [`Moves::waiting`].
    first_contact_since_agent: Option<i64>,
    agent_wrote: bool,
    /// The visitor wrote: plain only while the conversation is open (a
    /// reply reopens or wakes it otherwise).
    visitor_wrote: bool,
    /// A teammate wrote who takes conversations nobody owns by replying:
    /// plain only if someone owns it.
    may_assign: bool,
    /// Reserved change numbers end here (from the first statement).
    seq_end: i64,
}

/// Writes `writes` in one go inside the writer's transaction, or returns
/// `None` (having reserved change numbers the caller's rollback undoes)
/// when one of them is not plain after all: a visitor's reply to a
/// conversation that is not open, a teammate's reply that would assign it,
/// or a message this `client_id` already stored.
pub(in crate::server::store) async fn post(
    tx: &mut Transaction<'_, Any>,
    writes: &[Plain<'_>],
) -> Result<Option<Vec<Inserted>>, StoreError> {
    let t = now().0;
    let engine = Engine::of_connection(tx);
    let mut order: Vec<i64> = Vec::new();
    let mut moves: HashMap<i64, Moves> = HashMap::new();
    for (i, write) in writes.iter().enumerate() {
        let id = write.conversation.0;
        let m = moves.entry(id).or_insert_with(|| {
            order.push(id);
            Moves {
                count: 0,
                last: i,
                newest_contact: None,
                newest_agent: None,
                first_contact_since_agent: None,
                agent_wrote: false,
                visitor_wrote: false,
                may_assign: false,
                seq_end: 0,
            }
        });
        m.count += 1;
        m.last = i;
        match write.author.kind {
            SenderKind::Agent => {
                m.agent_wrote = true;
                m.may_assign |= write.assign_on_reply;
                m.first_contact_since_agent = None;
            }
            _ => {
                m.visitor_wrote = true;
                m.first_contact_since_agent.get_or_insert(t);
            }
        }
    }
    // 1. Each conversation's change numbers, taking its lock (SQLite's
    // write lock, PostgreSQL's row lock) before anything is read, as
    // `insert_in` does; with the state that decides whether its messages
    // are plain.
    let mut counts: Vec<(i64, i64)> = order.iter().map(|id| (*id, moves[id].count)).collect();
    pad(&mut counts);
    let sql = format!(
        "WITH w (id, n) AS (VALUES {})
         UPDATE conversations SET seq = conversations.seq + w.n
         FROM w WHERE conversations.id = w.id
         RETURNING conversations.id, conversations.seq, conversations.status,
                   conversations.assignee_id",
        Params::new(engine).tuples(counts.len(), 2)
    );
    let mut reserve = sqlx::query_as(&sql);
    for (id, n) in &counts {
        reserve = reserve.bind(*id).bind(*n);
    }
    let reserved: Vec<(i64, i64, String, Option<i64>)> = reserve.fetch_all(&mut **tx).await?;
    if reserved.len() != order.len() {
        // A conversation that is not there: the one-by-one path fails that
        // message alone.
        return Ok(None);
    }
    for (id, seq_end, status, assignee) in reserved {
        let Some(m) = moves.get_mut(&id) else {
            return Ok(None);
        };
        m.seq_end = seq_end;
        let reopens = m.visitor_wrote && status != "open";
        let assigns = m.may_assign && assignee.is_none();
        if reopens || assigns {
            return Ok(None);
        }
    }
    // 2. Every message, with its change number and its sender's name.
    let mut next_seq: HashMap<i64, i64> = moves
        .iter()
        .map(|(id, m)| (*id, m.seq_end - m.count))
        .collect();
    let mut rows: Vec<(usize, i64)> = writes
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let seq = next_seq.entry(w.conversation.0).or_default();
            *seq += 1;
            (i, *seq)
        })
        .collect();
    // Padding repeats the last message, which the conflict clause skips
    // (on PostgreSQL each repeat still takes an id: ids may have gaps,
    // as they may after any rollback).
    pad(&mut rows);
    let sql = format!(
        "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body,
                               created_at, seq, internal)
         VALUES {}
         ON CONFLICT (conversation_id, client_id) DO NOTHING
         RETURNING id, conversation_id, client_id, {SENDER_NAME}",
        {
            let mut params = Params::new(engine);
            (0..rows.len())
                .map(|_| format!("({}, FALSE)", params.list(7)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let mut insert = sqlx::query_as(&sql);
    for (i, seq) in &rows {
        let w = &writes[*i];
        insert = insert
            .bind(w.conversation.0)
            .bind(w.client_id.0.to_string())
            .bind(w.author.kind.as_str())
            .bind(w.author.id)
            .bind(w.body)
            .bind(t)
            .bind(*seq);
    }
    let stored: Vec<(i64, i64, String, Option<String>)> = insert.fetch_all(&mut **tx).await?;
    if stored.len() != writes.len() {
        // One was sent before: the one-by-one path answers with it.
        return Ok(None);
    }
    let mut ids: HashMap<(i64, String), (i64, String)> = stored
        .into_iter()
        .map(|(id, conversation, client_id, name)| {
            ((conversation, client_id), (id, name.unwrap_or_default()))
        })
        .collect();
    let mut messages = Vec::with_capacity(writes.len());
    for ((_, seq), w) in rows.iter().zip(writes) {
        let key = (w.conversation.0, w.client_id.0.to_string());
        let (Some((id, sender_name)), Some(m)) =
            (ids.remove(&key), moves.get_mut(&w.conversation.0))
        else {
            return Ok(None);
        };
        match w.author.kind {
            SenderKind::Agent => m.newest_agent = Some(id),
            _ => m.newest_contact = Some(id),
        }
        messages.push(Message {
            id: MessageId(id),
            conversation_id: w.conversation,
            client_id: w.client_id,
            sender: w.author.kind,
            sender_name,
            body: w.body.to_owned(),
            created_at: Timestamp(t),
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            seq: *seq,
            internal: false,
            attachments: Vec::new(),
            sources: Vec::new(),
            helpful: None,
        });
    }
    // 3. Each conversation's row, once: what `insert_in` does message by
    // message, as the batch leaves it.
    move_rows(tx, engine, &order, &moves, &messages).await?;
    // 4. Teammates' read cursors: whoever writes has read everything before.
    let mut cursors: Vec<(i64, i64, i64)> = writes
        .iter()
        .zip(&messages)
        .filter(|(w, _)| w.author.kind == SenderKind::Agent)
        .filter_map(|(w, m)| Some((w.author.id?, w.conversation.0, m.id.0)))
        .collect();
    if !cursors.is_empty() {
        pad(&mut cursors);
        let sql = format!(
            "WITH w (agent_id, conversation_id, last_read_id) AS (VALUES {})
             INSERT INTO agent_cursors (agent_id, conversation_id, last_read_id)
             SELECT agent_id, conversation_id, MAX(last_read_id) FROM w WHERE TRUE
             GROUP BY agent_id, conversation_id
             ON CONFLICT (agent_id, conversation_id) DO UPDATE
                SET last_read_id = CASE WHEN agent_cursors.last_read_id < excluded.last_read_id
                    THEN excluded.last_read_id ELSE agent_cursors.last_read_id END",
            Params::new(engine).tuples(cursors.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for (agent, conversation, id) in &cursors {
            query = query.bind(*agent).bind(*conversation).bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    // 5. The inbox rows as they now stand, for the live events: the
    // newest message of each conversation publishes it.
    let mut summaries = read_rows(tx, engine, &order).await?;
    let mut inserted = Vec::with_capacity(messages.len());
    for (i, message) in messages.into_iter().enumerate() {
        let id = message.conversation_id.0;
        // Messages before the newest come first, so they still find it.
        let row = if moves[&id].last == i {
            summaries
                .remove(&id)
                .map_or(RowAfter::Unread, |s| RowAfter::Publish(Box::new(s)))
        } else {
            summaries
                .get(&id)
                .map_or(RowAfter::Unread, |s| RowAfter::Later(s.assistant))
        };
        inserted.push(Inserted {
            message,
            created: true,
            started: false,
            lines: Vec::new(),
            mentions: Vec::new(),
            row,
        });
    }
    Ok(Some(inserted))
}

impl Moves {
    /// `waiting_since` after the batch: a teammate's message clears it, the
    /// visitor's first message after that (or at all) sets it.
    fn waiting(&self) -> (i64, Option<i64>) {
        (i64::from(self.agent_wrote), self.first_contact_since_agent)
    }
}

/// Moves each conversation's row as its batch of messages leaves it.
async fn move_rows(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    order: &[i64],
    moves: &HashMap<i64, Moves>,
    messages: &[Message],
) -> Result<(), StoreError> {
    let mut ids = order.to_vec();
    pad(&mut ids);
    let sql = format!(
        "WITH w (id, w_at, w_preview, w_kind, w_last, w_contact, w_agent, w_cleared, w_waiting)
              AS (VALUES {})
         UPDATE conversations SET
             last_message_at = w.w_at, last_message_preview = w.w_preview,
             last_sender_kind = w.w_kind, last_message_id = w.w_last,
             contact_read_id = COALESCE(w.w_contact, conversations.contact_read_id),
             team_read_id = COALESCE(w.w_agent, conversations.team_read_id),
             team_delivered_id = COALESCE(w.w_agent, conversations.team_delivered_id),
             assistant = CASE WHEN w.w_cleared = 1
                                   AND conversations.assistant IN ('answering', 'waiting')
                              THEN 'human' ELSE conversations.assistant END,
             waiting_since = CASE WHEN w.w_cleared = 1 THEN w.w_waiting
                                  ELSE COALESCE(conversations.waiting_since, w.w_waiting) END
         FROM w WHERE conversations.id = w.id",
        Params::new(engine).tuples(ids.len(), 9)
    );
    let mut query = sqlx::query(&sql);
    for id in &ids {
        let m = &moves[id];
        let last = &messages[m.last];
        let (cleared, waiting) = m.waiting();
        query = query
            .bind(*id)
            .bind(last.created_at.0)
            .bind(preview_of(&last.body, &[]))
            .bind(last.sender.as_str())
            .bind(last.id.0)
            .bind(m.newest_contact)
            .bind(m.newest_agent)
            .bind(cleared)
            .bind(waiting);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The inbox rows of `conversations` as this transaction sees them.
async fn read_rows(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    conversations: &[i64],
) -> Result<HashMap<i64, ConversationSummary>, StoreError> {
    let mut ids = conversations.to_vec();
    pad(&mut ids);
    let list = Params::new(engine).list(ids.len());
    let sql =
        format!("SELECT {SUMMARY_COLUMNS}, 0 AS unread FROM {SUMMARY_FROM} WHERE c.id IN ({list})");
    let mut query = sqlx::query(&sql);
    for id in &ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|row| summary_from_row(row).map(|s| (s.id.0, s)))
        .collect()
}
