//! The conversation list: newest activity first, updated live.

use leptos::prelude::*;

use crate::app::components::Avatar;
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
                <ul>
                    <For
                        each=move || live.conversations.get()
                        key=|c| (c.id, c.last_message_at, c.contact_name.clone(), c.last_message_preview.clone())
                        let:c
                    >
                        <ConversationRow summary=c selected />
                    </For>
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
    let id = summary.id;
    let is_selected = move || selected.get() == Some(id);
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
                aria-current=move || is_selected().then_some("true")
            >
                <Avatar name=summary.contact_name.clone() kind="contact" />
                <span class="conversation-row-text">
                    <span class="conversation-row-top">
                        <span class="conversation-name">{summary.contact_name.clone()}</span>
                        <time class="conversation-time">{format_time(summary.last_message_at)}</time>
                    </span>
                    <span class="conversation-preview">{preview}</span>
                </span>
            </a>
        </li>
    }
}
