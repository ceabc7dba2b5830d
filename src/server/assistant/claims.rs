//! One answer at a time per conversation, whichever instance got the
//! visitor's message: the assistant's claim in the database (see
//! `store::assistant`), taken when a visitor writes, renewed while the
//! answer is written, let go after it; and the sweep that answers what an
//! instance that died claimed and never wrote.

use std::time::Duration;

use super::Assistant;
use crate::protocol::{AssistantState, ContactId, ConversationId};
use crate::server::AppState;
use crate::server::store::{Claim, now};

/// How long a claim to answer a conversation stands unless renewed (it is,
/// every `TYPING_REFRESH`, while the answer is written): a claim left by an
/// instance that died runs out this long after its last renewal.
const CLAIM_FOR: Duration = Duration::from_secs(15);

fn claim_until() -> crate::protocol::Timestamp {
    crate::protocol::Timestamp(now().0 + CLAIM_FOR.as_millis() as i64)
}

impl Assistant {
    /// A visitor wrote in `conversation`: answer if the assistant handles it.
    pub fn visitor_wrote(state: &AppState, conversation: ConversationId, contact: ContactId) {
        let Some(assistant) = state.assistant.clone() else {
            return;
        };
        // Tracked: shutdown waits (a bounded time) for answers in flight.
        let tasks = state.tasks.clone();
        let state = state.clone();
        tasks.spawn(async move {
            let store = &state.store;
            // A read first: most visitor messages are not the assistant's.
            if !matches!(
                store.assistant_state(conversation).await,
                Ok(Some(AssistantState::Answering))
            ) {
                return;
            }
            // One answer at a time, whichever instance got the message: a
            // message that comes while an answer is being written is
            // answered by the same holder right after. Should that holder
            // have died, its claim runs out and this instance takes over.
            let holder = assistant.holder.as_str();
            let mut claim = store
                .claim_assistant(conversation, holder, now(), claim_until())
                .await;
            while let Ok(Claim::Held(until)) = claim {
                let wait = (until.0 - now().0).clamp(0, CLAIM_FOR.as_millis() as i64);
                tokio::time::sleep(Duration::from_millis(wait as u64 + 1)).await;
                claim = store
                    .take_over_assistant(conversation, holder, now(), claim_until())
                    .await;
            }
            match claim {
                Ok(Claim::Mine) => {}
                Ok(_) => return,
                Err(err) => {
                    tracing::error!(%err, "the assistant could not claim a conversation; it will answer the visitor's next message");
                    return;
                }
            }
            assistant.answer_while_claimed(&state, conversation, contact).await;
        });
    }

    /// Answers, holding the claim, until the visitor has no message left
    /// unanswered; then lets the claim go.
    async fn answer_while_claimed(
        &self,
        state: &AppState,
        conversation: ConversationId,
        contact: ContactId,
    ) {
        loop {
            self.answer(state, conversation, contact).await;
            match state
                .store
                .release_assistant(conversation, &self.holder, claim_until())
                .await
            {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => {
                    tracing::error!(%err, "the assistant could not release a conversation; the claim runs out by itself");
                    return;
                }
            }
        }
    }

    /// Every few seconds until the server stops: answers the visitors whose
    /// answer an instance claimed and never wrote (it died mid-answer), once
    /// its claim has run out.
    pub async fn run_take_overs(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let Some(assistant) = state.assistant.clone() else {
            return;
        };
        let mut sweep = tokio::time::interval(CLAIM_FOR / 3);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = sweep.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            let taken = match state
                .store
                .take_over_abandoned(&assistant.holder, now(), claim_until())
                .await
            {
                Ok(taken) => taken,
                Err(err) => {
                    tracing::warn!(%err, "the assistant could not look for answers a stopped instance left unwritten; it looks again shortly");
                    continue;
                }
            };
            for (conversation, contact) in taken {
                tracing::info!(
                    conversation = conversation.0,
                    "answering a visitor whose answer a stopped instance left unwritten"
                );
                let (assistant, task_state) = (assistant.clone(), state.clone());
                state.tasks.spawn(async move {
                    assistant
                        .answer_while_claimed(&task_state, conversation, contact)
                        .await;
                });
            }
        }
    }

    /// Keeps this instance's claim on `conversation` for another
    /// `CLAIM_FOR`; false when another instance took it over (this one was
    /// too slow to renew it), and its answer is that instance's to write.
    pub(super) async fn renew_claim(&self, state: &AppState, conversation: ConversationId) -> bool {
        match state
            .store
            .renew_assistant_claim(conversation, &self.holder, claim_until())
            .await
        {
            Ok(renewed) => renewed,
            Err(err) => {
                // Storing the answer needs the database too: it says.
                tracing::warn!(%err, "the assistant could not renew its claim on a conversation");
                true
            }
        }
    }
}
