//! Who writes the assistant's answer in a conversation: a claim in the
//! database, so that with several instances one answers at a time whichever
//! instance got the visitor's message, and a claim left by an instance that
//! died runs out instead of silencing the assistant for good.

use super::{Store, StoreError, now};
use crate::protocol::{ConversationId, Timestamp};

impl Store {
    /// Claims a conversation the assistant answers for `holder` until
    /// `until`: true when `holder` should answer now. While anyone's claim
    /// stands (its own included), notes instead that the visitor wrote again
    /// (the holder answers once more when it is done) and returns false.
    pub async fn claim_assistant(
        &self,
        id: ConversationId,
        holder: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        // One statement, so a claim and a release never cross: each sees
        // the other's row as it was before or after, never between.
        let again: Option<super::Flag> = sqlx::query_scalar(
            "UPDATE conversations SET
                 assistant_again = CASE WHEN assistant_claim_until > $3 THEN TRUE ELSE FALSE END,
                 assistant_claim = CASE WHEN assistant_claim_until > $3
                                        THEN assistant_claim ELSE $2 END,
                 assistant_claim_until = CASE WHEN assistant_claim_until > $3
                                              THEN assistant_claim_until ELSE $4 END
             WHERE id = $1 AND assistant = 'answering'
             RETURNING assistant_again",
        )
        .bind(id.0)
        .bind(holder)
        .bind(now().0)
        .bind(until.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(again.is_some_and(|again| !again.0))
    }

    /// Keeps `holder`'s claim until `until` (an answer still being written).
    pub async fn renew_assistant_claim(
        &self,
        id: ConversationId,
        holder: &str,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE conversations SET assistant_claim_until = $3
             WHERE id = $1 AND assistant_claim = $2",
        )
        .bind(id.0)
        .bind(holder)
        .bind(until.0)
        .execute(&self.pool)
        .await?;
        Ok(())
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
}
