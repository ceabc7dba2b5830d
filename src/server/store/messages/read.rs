//! Reading messages in order: history pages, the messages around one, and
//! the changes after a number, each page bounded in bytes.

use super::*;

/// Keeps what fits in one page on the wire (`PAGE_BYTES`), counting from the
/// front of `messages` (`from_front`) or from its back; returns whether any
/// were left out. At least one message always fits.
fn fit_page(messages: &mut Vec<Message>, from_front: bool) -> bool {
    let mut total = 0;
    let mut keep = 0;
    let sizes: Vec<usize> = if from_front {
        messages.iter().map(wire_size).collect()
    } else {
        messages.iter().rev().map(wire_size).collect()
    };
    for size in sizes {
        if keep > 0 && total + size > PAGE_BYTES {
            break;
        }
        total += size;
        keep += 1;
    }
    let left_out = keep < messages.len();
    if from_front {
        messages.truncate(keep);
    } else {
        messages.drain(..messages.len() - keep);
    }
    left_out
}

/// How many bytes a message takes in a frame.
fn wire_size(message: &Message) -> usize {
    serde_json::to_string(message).map_or(0, |json| json.len() + 1)
}

/// Rows `changes_after` reads at a time: what it holds while it fills a page
/// stays small, whatever the bodies are.
const CHANGES_CHUNK: i64 = 50;

impl Store {
    /// The newest `limit` messages of a conversation, oldest first, and whether
    /// older ones exist.
    pub async fn latest_messages(
        &self,
        conversation: ConversationId,
        limit: i64,
        audience: Audience,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        self.older_messages(conversation, MessageId(i64::MAX), limit, audience)
            .await
    }

    /// The `limit` messages just before `before`, oldest first, and whether
    /// older ones exist (keyset paging on id: no OFFSET, no skip or repeat
    /// while new messages arrive).
    pub async fn older_messages(
        &self,
        conversation: ConversationId,
        before: MessageId,
        limit: i64,
        audience: Audience,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        let rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.id < $2{}
             ORDER BY m.id DESC LIMIT $3",
            audience.filter()
        ))
        .bind(conversation.0)
        .bind(before.0)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut has_more = rows.len() as i64 > limit;
        let mut messages = rows
            .iter()
            .take(limit as usize)
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        with_reactions(&self.pool, &mut messages).await?;
        has_more |= fit_page(&mut messages, false);
        Ok((messages, has_more))
    }

    /// The `limit` messages just after `after`, oldest first (a transcript
    /// reads a conversation forwards, a page at a time).
    pub async fn newer_messages(
        &self,
        conversation: ConversationId,
        after: MessageId,
        limit: i64,
        audience: Audience,
    ) -> Result<Vec<Message>, StoreError> {
        let rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.id > $2{}
             ORDER BY m.id LIMIT $3",
            audience.filter()
        ))
        .bind(conversation.0)
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut messages = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        with_reactions(&self.pool, &mut messages).await?;
        Ok(messages)
    }

    /// The messages around `target` (which must be in `conversation` and
    /// seen by `audience`): `limit` up to and including it, `limit` after
    /// it; whether older ones exist before the first, and the id of the
    /// first newer one left out, if any. `None` when the target is not there.
    pub async fn messages_around(
        &self,
        conversation: ConversationId,
        target: MessageId,
        limit: i64,
        audience: Audience,
    ) -> Result<Option<(Vec<Message>, bool, Option<MessageId>)>, StoreError> {
        let (mut messages, has_more) = self
            .older_messages(
                conversation,
                MessageId(target.0.saturating_add(1)),
                limit,
                audience,
            )
            .await?;
        if messages.last().map(|m| m.id) != Some(target) {
            return Ok(None);
        }
        let mut newer = self
            .newer_messages(conversation, target, limit + 1, audience)
            .await?;
        let ids: Vec<MessageId> = newer.iter().map(|m| m.id).collect();
        newer.truncate(limit as usize);
        fit_page(&mut newer, true);
        let next = ids.get(newer.len()).copied();
        messages.append(&mut newer);
        Ok(Some((messages, has_more, next)))
    }

    /// One message, as both sides see it.
    pub async fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let row = sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut messages = [message_from_row(&row)?];
        with_reactions(&self.pool, &mut messages).await?;
        let [message] = messages;
        Ok(Some(message))
    }

    /// Who wrote a message, where and when; `None` when it does not exist.
    pub async fn message_facts(&self, id: MessageId) -> Result<Option<MessageFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT conversation_id, sender_kind, sender_id, created_at, deleted_at, internal
             FROM messages WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("sender_kind")?;
        Ok(Some(MessageFacts {
            conversation: ConversationId(row.try_get("conversation_id")?),
            author: Author {
                kind: SenderKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown sender kind {kind:?}")))?,
                id: row.try_get("sender_id")?,
            },
            created_at: Timestamp(row.try_get("created_at")?),
            deleted: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
            internal: flag(&row, "internal")?,
        }))
    }

    /// The messages that changed after change number `since`, in change
    /// order, as they now stand: at most `limit` of them and one page of
    /// bytes (`PAGE_BYTES`); and whether more follow. Reads them a chunk at a
    /// time, so building a page never holds much more than the page.
    pub async fn changes_after(
        &self,
        conversation: ConversationId,
        since: Seq,
        limit: i64,
        audience: Audience,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        let mut page: Vec<Message> = Vec::new();
        let mut bytes = 0;
        let mut after = since;
        loop {
            let rows = sqlx::query(&format!(
                "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq > $2{}
                 ORDER BY m.seq LIMIT $3",
                audience.filter()
            ))
            .bind(conversation.0)
            .bind(after)
            .bind(CHANGES_CHUNK + 1)
            .fetch_all(&self.pool)
            .await?;
            let exhausted = rows.len() as i64 <= CHANGES_CHUNK;
            let mut chunk = rows
                .iter()
                .take(CHANGES_CHUNK as usize)
                .map(message_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            drop(rows);
            // Reactions are filled in id order; the page goes out in change order.
            chunk.sort_by_key(|m| m.id);
            with_reactions(&self.pool, &mut chunk).await?;
            chunk.sort_by_key(|m| m.seq);
            for message in chunk {
                let size = wire_size(&message);
                if page.len() as i64 == limit || (!page.is_empty() && bytes + size > PAGE_BYTES) {
                    return Ok((page, true));
                }
                bytes += size;
                after = message.seq;
                page.push(message);
            }
            if exhausted {
                return Ok((page, false));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_what_fits_from_the_right_end() {
        // Each escapes to six bytes a character: about 24 KB a message.
        let body = "\u{1}".repeat(4_000);
        let all: Vec<Message> = (1..=100).map(|id| Message::sample(id, &body)).collect();
        let mut front = all.clone();
        assert!(fit_page(&mut front, true));
        let bytes: usize = front
            .iter()
            .map(|m| serde_json::to_string(m).unwrap().len())
            .sum();
        assert!(
            bytes <= PAGE_BYTES && front.len() >= 9,
            "{} messages, {bytes} bytes",
            front.len()
        );
        assert_eq!(front[0].id, MessageId(1));
        let mut back = all.clone();
        assert!(fit_page(&mut back, false));
        assert_eq!(
            back.last().unwrap().id,
            MessageId(100),
            "the newest are kept"
        );
        let mut small = vec![Message::sample(1, "hi"), Message::sample(2, "there")];
        assert!(!fit_page(&mut small, true));
        assert_eq!(small.len(), 2);
        // One message always goes, whatever its size.
        let mut huge = vec![Message::sample(1, &"\u{1}".repeat(100_000))];
        assert!(!fit_page(&mut huge, false));
        assert_eq!(huge.len(), 1);
    }
}
