//! The team's workflow in storage: a conversation's state (open, snoozed,
//! resolved), who owns it, the inbox's lists and how many each holds.
//!
//! Every change takes the conversation's next change number and leaves a
//! line in the thread that only the team sees, in the same transaction: a
//! client that resumes gets the line, and the row's new `seq` with it.

use sqlx::{Any, Transaction};

use super::conversations::{AGENT_UNREAD, SUMMARY_COLUMNS, SUMMARY_FROM, summary_from_row};
use super::{Flag, Store, StoreError, now};
use crate::protocol::{
    AgentId, AssignedCount, ClientId, ContactId, ConversationId, ConversationStatus,
    ConversationSummary, InboxCounts, InboxSort, InboxView, LabelId, Message, MessageId,
    SenderKind, Timestamp,
};

/// The line a visitor's reply leaves in a resolved conversation.
pub(super) const REOPENED_BY_REPLY: &str = "Reopened by the visitor's reply";
/// The line a visitor's reply leaves in a snoozed conversation.
pub(super) const WOKEN_BY_REPLY: &str = "Woke up: the visitor replied";
/// The line a snooze that ran out leaves.
pub const WOKEN_BY_CLOCK: &str = "Snooze ended";

/// The line an agent's first reply to a conversation nobody owned leaves.
pub(super) fn assigned_by_reply(name: &str) -> String {
    format!("Assigned to {name} by their reply")
}

/// What a rating did.
#[derive(Debug)]
pub enum Rated {
    /// Stored, with this line in the thread.
    Changed(Message),
    /// The same score and comment again: nothing to store or tell.
    Unchanged,
    /// The conversation is not resolved (or does not exist).
    NotResolved,
}

/// Which page of which inbox list: the list, its order, where the page
/// starts (after the row with this sort key and id) and the label it is
/// filtered by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboxPage {
    pub view: InboxView,
    pub sort: InboxSort,
    pub after: Option<(i64, i64)>,
    pub label: Option<LabelId>,
}

/// A label on at most this many conversations is rare: a list filtered by
/// it starts from them (see [`Store::inbox`]).
const FEW_LABELLED: i64 = 2_000;

/// Most snoozes the clock wakes in one transaction.
const WAKE_BATCH: i64 = 500;

/// Stores a line about the conversation's state: a system message only the
/// team sees, with the conversation's next change number.
pub(super) async fn line_in(
    tx: &mut Transaction<'_, Any>,
    conversation: ConversationId,
    actor: Option<i64>,
    text: &str,
) -> Result<Message, StoreError> {
    let t = now().0;
    let client_id = ClientId::new();
    let seq: i64 =
        sqlx::query_scalar("UPDATE conversations SET seq = seq + 1 WHERE id = $1 RETURNING seq")
            .bind(conversation.0)
            .fetch_one(&mut **tx)
            .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, client_id, sender_kind, sender_id, body, created_at, seq, internal)
         VALUES ($1, $2, 'system', $3, $4, $5, $6, TRUE) RETURNING id",
    )
    .bind(conversation.0)
    .bind(client_id.0.to_string())
    .bind(actor)
    .bind(text)
    .bind(t)
    .bind(seq)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Message {
        id: MessageId(id),
        conversation_id: conversation,
        client_id,
        sender: SenderKind::System,
        sender_name: "Minicom".into(),
        body: text.to_owned(),
        created_at: Timestamp(t),
        edited_at: None,
        deleted: false,
        reactions: Vec::new(),
        seq,
        internal: true,
        attachments: Vec::new(),
        sources: Vec::new(),
        helpful: None,
    })
}

/// Ends a change whose first write (the update) said whether anything
/// moved: the line and the commit if it did, nothing if it did not.
pub(super) async fn leave_line(
    mut tx: Transaction<'_, Any>,
    changed: bool,
    conversation: ConversationId,
    actor: Option<i64>,
    line: &str,
) -> Result<Option<Message>, StoreError> {
    if !changed {
        return Ok(None);
    }
    let line = line_in(&mut tx, conversation, actor, line).await?;
    tx.commit().await?;
    Ok(Some(line))
}

/// The `WHERE` condition of a view; `$1` is the agent.
fn view_filter(view: InboxView) -> &'static str {
    match view {
        InboxView::Mine => "c.status = 'open' AND c.assignee_id = $1",
        InboxView::Mentions => "c.id IN (SELECT conversation_id FROM mentions WHERE agent_id = $1)",
        InboxView::Unassigned => "c.status = 'open' AND c.assignee_id IS NULL",
        InboxView::Open => "c.status = 'open'",
        InboxView::Snoozed => "c.status = 'snoozed'",
        InboxView::Resolved => "c.status = 'resolved'",
    }
}

impl Store {
    /// Moves a conversation to `status` (with `until` for a snooze) and
    /// leaves `line` in its thread; `None` when nothing changed (it was
    /// already so, or it does not exist).
    pub async fn set_status(
        &self,
        conversation: ConversationId,
        status: ConversationStatus,
        until: Option<Timestamp>,
        actor: Option<AgentId>,
        line: &str,
    ) -> Result<Option<Message>, StoreError> {
        let until = until
            .filter(|_| status == ConversationStatus::Snoozed)
            .map(|t| t.0);
        let mut tx = self.pool.begin().await?;
        // A write first: it takes the write lock before anything is read.
        let changed: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations SET status = $1, snoozed_until = $2,
                 -- Nobody waits on what is done.
                 waiting_since = CASE WHEN $1 = 'resolved' THEN NULL ELSE waiting_since END
             WHERE id = $3 AND (status <> $1 OR snoozed_until IS DISTINCT FROM $2) RETURNING id",
        )
        .bind(status.as_str())
        .bind(until)
        .bind(conversation.0)
        .fetch_optional(&mut *tx)
        .await?;
        leave_line(
            tx,
            changed.is_some(),
            conversation,
            actor.map(|a| a.0),
            line,
        )
        .await
    }

    /// Gives a conversation to `to` (or to nobody) and leaves `line` in its
    /// thread; `None` when nothing changed. The caller checked that `to` is
    /// an active teammate.
    pub async fn assign(
        &self,
        conversation: ConversationId,
        to: Option<AgentId>,
        actor: Option<AgentId>,
        line: &str,
    ) -> Result<Option<Message>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations SET assignee_id = $1
             WHERE id = $2 AND assignee_id IS DISTINCT FROM $1 RETURNING id",
        )
        .bind(to.map(|a| a.0))
        .bind(conversation.0)
        .fetch_optional(&mut *tx)
        .await?;
        leave_line(
            tx,
            changed.is_some(),
            conversation,
            actor.map(|a| a.0),
            line,
        )
        .await
    }

    /// Gives an open conversation nobody owns to `to` (automatic
    /// assignment), if they own fewer than `cap` open ones, and leaves
    /// `line`; `None` when not (checked in the write, under the lock).
    pub async fn assign_if_unassigned(
        &self,
        conversation: ConversationId,
        to: AgentId,
        cap: u32,
        line: &str,
    ) -> Result<Option<Message>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The teammate's row first: two instances assigning to them at once
        // take turns (PostgreSQL's row lock; SQLite's write lock), so the
        // count below is settled and the cap holds.
        sqlx::query("UPDATE agents SET active = active WHERE id = $1")
            .bind(to.0)
            .execute(&mut *tx)
            .await?;
        let changed: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations SET assignee_id = $1
             WHERE id = $2 AND assignee_id IS NULL AND status = 'open'
               AND (SELECT COUNT(*) FROM conversations
                    WHERE status = 'open' AND assignee_id = $1) < $3
             RETURNING id",
        )
        .bind(to.0)
        .bind(conversation.0)
        .bind(i64::from(cap))
        .fetch_optional(&mut *tx)
        .await?;
        leave_line(tx, changed.is_some(), conversation, None, line).await
    }

    /// Records the visitor's rating of a resolved conversation (replacing
    /// an earlier one) and leaves `line` in its thread.
    pub async fn rate(
        &self,
        conversation: ConversationId,
        score: u8,
        comment: Option<&str>,
        line: &str,
    ) -> Result<Rated, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rated: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations SET rating = $1, rating_comment = $2
             WHERE id = $3 AND status = 'resolved'
               AND (rating IS DISTINCT FROM $1 OR rating_comment IS DISTINCT FROM $2)
             RETURNING id",
        )
        .bind(i64::from(score))
        .bind(comment)
        .bind(conversation.0)
        .fetch_optional(&mut *tx)
        .await?;
        if rated.is_none() {
            let resolved: Option<Flag> =
                sqlx::query_scalar("SELECT status = 'resolved' FROM conversations WHERE id = $1")
                    .bind(conversation.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Ok(if resolved == Some(Flag(true)) {
                Rated::Unchanged
            } else {
                Rated::NotResolved
            });
        }
        let line = line_in(&mut tx, conversation, None, line).await?;
        tx.commit().await?;
        Ok(Rated::Changed(line))
    }

    /// When the next snoozed conversation wakes up, if any is snoozed.
    pub async fn next_wake(&self) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(snoozed_until) FROM conversations WHERE status = 'snoozed'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(at.map(Timestamp))
    }

    /// Reopens snoozed conversations whose time came by `at` (a batch at a
    /// time: call again while it returns a full one), each with its line.
    pub async fn wake_due(&self, at: Timestamp) -> Result<Vec<(ContactId, Message)>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let woken: Vec<(i64, i64)> = sqlx::query_as(
            // The outer condition again: on PostgreSQL another instance's
            // clock may have woken a row since the inner select read it.
            "UPDATE conversations SET status = 'open', snoozed_until = NULL
             WHERE id IN (SELECT id FROM conversations
                          WHERE status = 'snoozed' AND snoozed_until <= $1
                          ORDER BY snoozed_until LIMIT $2)
               AND status = 'snoozed' AND snoozed_until <= $1
             RETURNING id, contact_id",
        )
        .bind(at.0)
        .bind(WAKE_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut lines = Vec::with_capacity(woken.len());
        for (id, contact) in woken {
            let line = line_in(&mut tx, ConversationId(id), None, WOKEN_BY_CLOCK).await?;
            lines.push((ContactId(contact), line));
        }
        tx.commit().await?;
        Ok(lines)
    }

    /// Whether a full batch was woken (more may be due).
    pub fn wake_batch_full(woken: usize) -> bool {
        woken as i64 >= WAKE_BATCH
    }

    /// How many conversations each inbox list holds.
    /// One range of an index per figure: open ones per owner, then the
    /// snoozed and the resolved ones counted on `conversations_by_status`.
    pub async fn inbox_counts(&self) -> Result<InboxCounts, StoreError> {
        let owners: Vec<(Option<i64>, i64)> = sqlx::query_as(
            "SELECT assignee_id, COUNT(*) FROM conversations WHERE status = 'open'
             GROUP BY assignee_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let count = |status: &'static str| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM conversations WHERE status = $1")
                .bind(status)
                .fetch_one(&self.pool)
        };
        let as_u32 = |n: i64| n.clamp(0, u32::MAX as i64) as u32;
        let mut counts = InboxCounts {
            snoozed: as_u32(count("snoozed").await?),
            resolved: as_u32(count("resolved").await?),
            mentioned: self.mention_counts().await?,
            ..InboxCounts::default()
        };
        for (owner, n) in owners {
            let n = as_u32(n);
            counts.open += n;
            match owner {
                None => counts.unassigned += n,
                Some(agent) => counts.assigned.push(AssignedCount {
                    agent_id: AgentId(agent),
                    open: n,
                }),
            }
        }
        Ok(counts)
    }

    /// How many conversations carry `label` (a range of its index).
    async fn label_size(&self, label: LabelId) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM conversation_labels WHERE label_id = $1")
                .bind(label.0)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// A page of one inbox list in one order, for `agent` (with their unread
    /// counts): the rows after the cursor `after` (see [`InboxSort::key`]),
    /// and whether more follow; with `label`, only rows that carry it.
    /// Keyset paging on an index per list and order: no OFFSET, as fast on
    /// the thousandth page as on the first.
    pub async fn inbox(
        &self,
        agent: AgentId,
        page: InboxPage,
        limit: i64,
    ) -> Result<(Vec<ConversationSummary>, bool), StoreError> {
        let InboxPage {
            view,
            sort,
            after,
            label,
        } = page;
        // The waiting order's key is spelled as in the migration's indexes
        // (nobody waiting sorts last, as `i64::MAX`), so they serve it.
        const WAITING: &str = "COALESCE(c.waiting_since, 9223372036854775807)";
        let (key, order) = match sort {
            InboxSort::Newest => (
                "(c.last_message_at, c.id) < (-$2, -$3)".to_owned(),
                "c.last_message_at DESC, c.id DESC".to_owned(),
            ),
            InboxSort::Waiting => (
                format!("({WAITING}, c.id) > ($2, $3)"),
                format!("{WAITING}, c.id"),
            ),
        };
        let (k, id) = after.unwrap_or(match sort {
            // Before every row in the order.
            InboxSort::Newest => (i64::MIN + 1, i64::MIN + 1),
            InboxSort::Waiting => (i64::MIN, i64::MIN),
        });
        // The newest-first key is negated: a cursor a client made up must
        // not overflow it (PostgreSQL refuses what SQLite would round).
        let (k, id) = (k.max(i64::MIN + 1), id.max(i64::MIN + 1));
        // A label on many conversations is checked per row as the list's
        // own index is walked in order (a point lookup each): the page ends
        // after its 50th row. A rare one would make that walk long (the
        // whole list when fewer than a page match): its conversations are
        // collected first and sorted instead.
        let labelled = match label {
            Some(label) if self.label_size(label).await? <= FEW_LABELLED => {
                "AND c.id IN (SELECT conversation_id FROM conversation_labels WHERE label_id = $5)"
            }
            Some(_) => {
                "AND EXISTS (SELECT 1 FROM conversation_labels cl
                             WHERE cl.conversation_id = c.id AND cl.label_id = $5)"
            }
            None => "AND $5 IS NULL",
        };
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, {AGENT_UNREAD}
             FROM {SUMMARY_FROM}
             WHERE {} {labelled} AND {key}
             ORDER BY {order} LIMIT $4",
            view_filter(view)
        ))
        .bind(agent.0)
        .bind(k)
        .bind(id)
        .bind(limit + 1)
        .bind(label.map(|l| l.0))
        .fetch_all(&self.pool)
        .await?;
        let has_more = rows.len() as i64 > limit;
        let rows = rows
            .iter()
            .take(limit as usize)
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;
        Ok((rows, has_more))
    }
}
