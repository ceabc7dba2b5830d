//! Who writes the assistant's answer in a conversation: a claim in the
//! database, so that with several instances one answers at a time whichever
//! instance got the visitor's message, and a claim left by an instance that
//! died runs out instead of silencing the assistant for good.
//!
//! Each statement below is one `UPDATE` of the conversation's row, so a
//! claim, a renewal and a release never interleave: each sees the row as
//! the other left it (SQLite's write lock, PostgreSQL's row lock). The
//! caller passes the time (`now`), so tests can let a claim run out.

use super::{Flag, Store, StoreError};
use crate::protocol::{ContactId, ConversationId, Timestamp};

/// At most this many abandoned claims are taken over at once.
const TAKE_OVER_AT_ONCE: i64 = 16;

/// A claim that ran out longer ago than this is left to the team: an
/// answer that late is no answer (and a database from before the sweep
/// may hold old ones).
const TAKE_OVER_WITHIN_MS: i64 = 5 * 60 * 1000;

/// What a claim got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This holder answers now.
    Mine,
    /// Someone is answering, until this time unless they renew; the
    /// visitor's new message is noted for them to answer next. Should they
    /// die, try [`Store::take_over_assistant`] once that time has passed.
    Held(Timestamp),
    /// The assistant does not answer this conversation (any more), or its
    /// holder already took the new message in hand.
    Nothing,
}

impl Store {
    /// Claims a conversation the assistant answers for `holder` until
    /// `until`. While anyone's claim stands (its own included), notes
    /// instead that the visitor wrote again: the holder answers once more
    /// when it is done.
    pub async fn claim_assistant(
        &self,
        id: ConversationId,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let row: Option<(Flag, Option<i64>)> = sqlx::query_as(
            "UPDATE conversations SET
                 assistant_again = CASE WHEN assistant_claim_until > $3 THEN TRUE ELSE FALSE END,
                 assistant_claim = CASE WHEN assistant_claim_until > $3
                                        THEN assistant_claim ELSE $2 END,
                 assistant_claim_until = CASE WHEN assistant_claim_until > $3
                                              THEN assistant_claim_until ELSE $4 END
             WHERE id = $1 AND assistant = 'answering'
             RETURNING assistant_again, assistant_claim_until",
        )
        .bind(id.0)
        .bind(holder)
        .bind(now.0)
        .bind(until.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => Claim::Nothing,
            Some((Flag(false), _)) => Claim::Mine,
            Some((Flag(true), held)) => Claim::Held(Timestamp(held.unwrap_or(0))),
        })
    }

    /// After a [`Claim::Held`] ran out: takes the claim over if the
    /// visitor's message still waits and the holder stopped renewing (it
    /// died). A holder that is alive, this one's own other task included,
    /// has renewed (`Held` again) or has taken the message in hand
    /// (`Nothing`).
    pub async fn take_over_assistant(
        &self,
        id: ConversationId,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let taken = sqlx::query(
            "UPDATE conversations SET assistant_again = FALSE, assistant_claim = $2,
                 assistant_claim_until = $4
             WHERE id = $1 AND assistant = 'answering' AND assistant_again = TRUE
               AND COALESCE(assistant_claim_until, 0) <= $3",
        )
        .bind(id.0)
        .bind(holder)
        .bind(now.0)
        .bind(until.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if taken > 0 {
            return Ok(Claim::Mine);
        }
        let row: Option<(Flag, Option<i64>)> = sqlx::query_as(
            "SELECT assistant_again, assistant_claim_until FROM conversations
             WHERE id = $1 AND assistant = 'answering'",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some((Flag(true), Some(held))) if held > now.0 => Claim::Held(Timestamp(held)),
            _ => Claim::Nothing,
        })
    }

    /// Keeps `holder`'s claim until `until` (an answer still being
    /// written); false when the claim is no longer `holder`'s (it ran out
    /// and another instance took it over).
    pub async fn renew_assistant_claim(
        &self,
        id: ConversationId,
        holder: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let renewed = sqlx::query(
            "UPDATE conversations SET assistant_claim_until = $3
             WHERE id = $1 AND assistant_claim = $2",
        )
        .bind(id.0)
        .bind(holder)
        .bind(until.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(renewed > 0)
    }

    /// Ends `holder`'s claim after an answer, unless the visitor wrote again
    /// meanwhile: then the claim is kept until `until` and this returns true
    /// (answer again).
    pub async fn release_assistant(
        &self,
        id: ConversationId,
        holder: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        // `RETURNING` shows the row after the update: a claim still there
        // means the visitor had written again.
        let kept: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE conversations SET
                 assistant_claim = CASE WHEN assistant_again = TRUE THEN assistant_claim END,
                 assistant_claim_until = CASE WHEN assistant_again = TRUE THEN $3 END,
                 assistant_again = FALSE
             WHERE id = $1 AND assistant_claim = $2
             RETURNING assistant_claim",
        )
        .bind(id.0)
        .bind(holder)
        .bind(until.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(kept.flatten().is_some())
    }

    /// Takes over, for `holder`, claims whose holder stopped renewing before
    /// it answered, in the last few minutes (its instance died mid-answer:
    /// nobody else would answer until the visitor wrote again). Never
    /// `holder`'s own: its tasks are alive, if slow. Returns the
    /// conversations, with their visitors, to answer now.
    pub async fn take_over_abandoned(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<(ConversationId, ContactId)>, StoreError> {
        // The outer condition is checked again on the locked row, so of
        // several instances sweeping at once one takes each claim.
        let taken: Vec<(i64, i64)> = sqlx::query_as(
            "UPDATE conversations SET assistant_claim = $1, assistant_claim_until = $3,
                 assistant_again = FALSE
             WHERE id IN (SELECT id FROM conversations
                          WHERE assistant_claim IS NOT NULL
                            AND assistant_claim_until <= $2 AND assistant_claim_until > $5
                            AND assistant_claim <> $1
                            AND assistant = 'answering' AND waiting_since IS NOT NULL
                          ORDER BY assistant_claim_until LIMIT $4)
               AND assistant_claim IS NOT NULL
               AND assistant_claim_until <= $2 AND assistant_claim_until > $5
               AND assistant_claim <> $1
               AND assistant = 'answering' AND waiting_since IS NOT NULL
             RETURNING id, contact_id",
        )
        .bind(holder)
        .bind(now.0)
        .bind(until.0)
        .bind(TAKE_OVER_AT_ONCE)
        .bind(now.0 - TAKE_OVER_WITHIN_MS)
        .fetch_all(&self.pool)
        .await?;
        Ok(taken
            .into_iter()
            .map(|(id, contact)| (ConversationId(id), ContactId(contact)))
            .collect())
    }
}
