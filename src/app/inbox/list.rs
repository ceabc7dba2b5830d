//! The conversation list: newest activity first, updated live.

use leptos::prelude::*;

use crate::app::components::{Avatar, typing_line};
use crate::client::live::Live;
use crate::client::time::format_time;
use crate::protocol::{ConversationId, ConversationSummary, SenderKind};

/// Every conversation the agent can see.
#[component]
pub fn ConversationList(selected: Memo<Option<ConversationId>>) -> impl IntoView {
    let live = expect_context::<Live>();
    let loaded = move || live.me.with(Option::is_some);
    view! {
        <nav class="conversation-list" aria-label="Conversations">
            <h2 class="pane-title">"Conversations"</h2>
            <Show
                when=move || !live.conversations.with(Vec::is_empty)
                fallback=move || view! {
                    <div class="empty-state">
                        {move || if loaded() {
                            view! {
                                <p class="empty-title">"No conversations yet"</p>
                                <p>"When a visitor writes from the messenger, the conversation appears here."</p>
                            }.into_any()
                        } else {
                            view! { <p>"Loading conversations…"</p> }.into_any()
                        }}
                    </div>
                }
            >
                <ul on:scroll=move |ev| {
                    let el = event_target::<leptos::web_sys::HtmlElement>(&ev);
                    if el.scroll_height() - el.scroll_top() - el.client_height() < 200 {
                        live.load_more_conversations();
                    }
                }>
                    <For
                        each=move || live.conversations.get()
                        key=|c| (
                            c.id,
                            c.last_message_at,
                            c.contact_name.clone(),
                            c.last_message_preview.clone(),
                            c.unread,
                            c.contact_online,
                        )
                        let:c
                    >
                        <ConversationRow summary=c selected />
                    </For>
                    <Show when=move || live.more_conversations.get()>
                        <li class="list-more">
                            <button type="button" class="link-button"
                                on:click=move |_| live.load_more_conversations()>
                                {move || if live.loading_conversations.get() {
                                    "Loading…"
                                } else {
                                    "Load older conversations"
                                }}
                            </button>
                        </li>
                    </Show>
                </ul>
            </Show>
        </nav>
    }
}

#[component]
fn ConversationRow(
    summary: ConversationSummary,
    selected: Memo<Option<ConversationId>>,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let id = summary.id;
    let is_selected = move || selected.get() == Some(id);
    let typing = Memo::new(move |_| {
        live.typing
            .with(|t| t.get(&id).and_then(|people| typing_line(people)))
    });
    let unread = summary.unread;
    let presence = super::thread::presence_text(&summary);
    let presence_title = presence.clone();
    let preview = match summary.last_sender {
        Some(SenderKind::Agent) => format!("You: {}", summary.last_message_preview),
        _ => summary.last_message_preview.clone(),
    };
    view! {
        <li>
            <a
                href=format!("/inbox?c={id}")
                class="conversation-row"
                class:selected=is_selected
                class:unread={ unread > 0 }
                aria-current=move || is_selected().then_some("true")
            >
                <span class="avatar-wrap" title=presence_title>
                    <Avatar name=summary.contact_name.clone() kind="contact" />
                    {summary.contact_online.then(|| view! {
                        <span class="presence-dot" aria-hidden="true"></span>
                    })}
                    <span class="sr-only">{presence}</span>
                </span>
                <span class="conversation-row-text">
                    <span class="conversation-row-top">
                        <span class="conversation-name">{summary.contact_name.clone()}</span>
                        {assistant_mark(summary.assistant)}
                        <time class="conversation-time">{format_time(summary.last_message_at)}</time>
                    </span>
                    <span class="conversation-row-bottom">
                        {move || match typing.get() {
                            Some(_) => view! {
                                <span class="conversation-preview typing-mark">"typing…"</span>
                            }.into_any(),
                            None => view! {
                                <span class="conversation-preview">{preview.clone()}</span>
                            }.into_any(),
                        }}
                        {(unread > 0).then(|| view! {
                            <span class="unread-badge">
                                {unread}<span class="sr-only">" unread"</span>
                            </span>
                        })}
                    </span>
                </span>
            </a>
        </li>
    }
}

/// What the inbox row says about the AI assistant, if it is involved.
fn assistant_mark(state: crate::protocol::AssistantState) -> Option<impl IntoView> {
    use crate::protocol::AssistantState;
    let (class, text, title) = match state {
        AssistantState::Off => return None,
        AssistantState::Answering => (
            "answering",
            "AI",
            "The AI assistant is answering this conversation",
        ),
        AssistantState::Waiting => (
            "waiting",
            "Waiting",
            "The assistant handed over: the visitor is waiting for a person",
        ),
        AssistantState::Human => (
            "human",
            "Handed over",
            "A teammate took over from the assistant",
        ),
    };
    Some(view! {
        <span class=format!("assistant-mark assistant-{class}") title=title>{text}</span>
    })
}
