//! What the assistant's answers add to a thread: the help articles an
//! answer came from, "Did that help?" for the visitor, and the answer as
//! it is being written (its draft).

use leptos::prelude::*;

use super::{Avatar, Glyph, Icon};
use crate::client::live::Live;
use crate::protocol::{AssistantState, ConversationId, Me, Message, SenderKind};

/// Under an answer drawn from the help center: its sources as links and,
/// for the visitor, "Did that help?" (once: what they said stays shown).
#[component]
pub fn AnswerFooter(message: Message) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    if message.sources.is_empty() {
        return None;
    }
    let visitor = matches!(live.me.get_untracked(), Some(Me::Contact { .. }));
    let id = message.id;
    let conversation = message.conversation_id;
    // Asked only while the answer is the conversation's last word and the
    // assistant still answers (the server takes no other verdict).
    let asking = move || {
        let newest = live
            .threads
            .try_with(|t| {
                t.get(&conversation).and_then(|thread| {
                    thread
                        .messages
                        .iter()
                        .rev()
                        .find(|m| m.sender != SenderKind::System && !m.internal)
                        .map(|m| m.id)
                })
            })
            .flatten();
        let state = live
            .conversations
            .try_with(|c| c.iter().find(|c| c.id == conversation).map(|c| c.assistant))
            .flatten();
        newest == Some(id) && state == Some(AssistantState::Answering)
    };
    let sources = message
        .sources
        .iter()
        .map(|s| {
            view! {
                <li>
                    <a href=s.url.clone() target="_blank" rel="noopener">
                        <Icon glyph=Glyph::File />
                        <span>{s.title.clone()}</span>
                        <span class="sr-only">" " {w.t("opens-new-tab")}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    let verdict = match (message.helpful, visitor) {
        (Some(true), true) => view! {
            <p class="answer-verdict" role="status">{w.t("helped-said-yes")}</p>
        }
        .into_any(),
        (Some(false), true) => view! {
            <p class="answer-verdict" role="status">{w.t("helped-said-no")}</p>
        }
        .into_any(),
        (Some(helpful), false) => view! {
            <p class="answer-verdict">
                {if helpful { "The visitor said this helped." } else { "The visitor said this did not help." }}
            </p>
        }
        .into_any(),
        (None, true) => view! {
            <div class="answer-feedback" role="group" aria-label=w.t("did-that-help")
                class:hidden=move || !asking()>
                <span>{w.t("did-that-help")}</span>
                <button type="button" class="button-quiet" on:click=move |_| live.feedback(id, true)>
                    {w.t("helped-yes")}
                </button>
                <button type="button" class="button-quiet" on:click=move |_| live.feedback(id, false)>
                    {w.t("helped-no")}
                </button>
            </div>
        }
        .into_any(),
        (None, false) => ().into_any(),
    };
    Some(view! {
        <div class="answer-footer">
            <p class="answer-sources-label">{w.t("sources")}</p>
            <ul class="answer-sources">{sources}</ul>
            {verdict}
        </div>
    })
}

/// The assistant's answer as written so far, in place of its typing dots.
#[component]
pub fn DraftBubble(conversation: Signal<Option<ConversationId>>) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    // `try_`: the page may still be streaming from the server after its
    // reader left, when these signals are gone.
    let draft = move || {
        let id = conversation.try_get().flatten()?;
        live.drafts.try_with(|d| d.get(&id).cloned()).flatten()
    };
    move || {
        draft().map(|text| {
            view! {
                <div class="message-group from-ai draft" aria-busy="true" aria-live="off">
                    <Avatar name=w.t("assistant-name") kind="ai" />
                    <div class="message-group-body">
                        <div class="message-meta">
                            <span class="message-sender">{w.t("assistant-name")}</span>
                            <span class="badge">{w.t("ai-badge")}</span>
                            <span class="message-time">{w.t("assistant-writing")}</span>
                        </div>
                        <div class="message-item">
                            <p class="bubble"><span class="bubble-text">{text}</span></p>
                        </div>
                    </div>
                </div>
            }
        })
    }
}
