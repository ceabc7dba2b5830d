//! The open conversation: who it is with, the messages, the reply box.

use leptos::prelude::*;

use crate::app::components::{Avatar, Composer, Glyph, Icon, MessageList, Side};
use crate::client::live::Live;
use crate::client::time::format_ago;
use crate::protocol::{ConversationId, ConversationSummary};

/// "Online", or when the visitor was last around.
pub fn presence_text(s: &ConversationSummary) -> String {
    if s.contact_online {
        "Online".into()
    } else {
        format!("Last seen {}", format_ago(s.contact_last_seen_at))
    }
}

/// The thread of the selected conversation, or a hint to pick one.
#[component]
pub fn ThreadPane(selected: Memo<Option<ConversationId>>) -> impl IntoView {
    let live = expect_context::<Live>();
    Effect::new(move |_| {
        if let Some(id) = selected.get() {
            live.open(id);
        }
    });
    let summary = Memo::new(move |_| {
        let id = selected.get()?;
        live.conversations
            .with(|c| c.iter().find(|c| c.id == id).cloned())
    });
    let typing = Callback::new(move |now: bool| {
        if let Some(id) = selected.get_untracked() {
            live.set_typing(id, now);
        }
    });
    let send = Callback::new(move |body: String| match selected.get_untracked() {
        Some(id) => live.send_message(Some(id), &body),
        None => Err("Pick a conversation first.".to_string()),
    });
    view! {
        <section class="thread" aria-label="Conversation">
            <Show
                when=move || selected.get().is_some()
                fallback=|| view! {
                    <div class="empty-state thread-empty">
                        <p class="empty-title">"Select a conversation"</p>
                        <p>"Pick one on the left to read it and reply."</p>
                    </div>
                }
            >
                <header class="thread-header">
                    // Phones show the list or the thread: this goes back (as
                    // does the browser's back gesture, the URL having changed).
                    <a class="icon-button thread-back" href="/inbox"
                        aria-label="Back to conversations">
                        <Icon glyph=Glyph::Back />
                    </a>
                    {move || summary.get().map(|s| view! {
                        <Avatar name=s.contact_name.clone() kind="contact" />
                        <div>
                            <h2>{s.contact_name.clone()}</h2>
                            <p class="thread-subtitle">
                                <span class="presence" class:online=s.contact_online>
                                    {presence_text(&s)}
                                </span>
                                " · "
                                {s.contact_email.clone().unwrap_or_else(|| "No email given".into())}
                            </p>
                        </div>
                    })}
                </header>
                {move || summary.get().map(|s| view! { <AssistantBar summary=s /> })}
                <MessageList conversation=Signal::from(selected) side=Side::Team />
                <Composer on_send=send on_typing=typing placeholder="Reply…" />
            </Show>
        </section>
    }
}

/// Who answers this conversation, and the switch for the assistant.
#[component]
fn AssistantBar(summary: ConversationSummary) -> impl IntoView {
    use crate::protocol::AssistantState;
    let live = expect_context::<Live>();
    let id = summary.id;
    let (text, on) = match summary.assistant {
        AssistantState::Answering => (
            "The AI assistant is answering. Your reply takes over.",
            false,
        ),
        AssistantState::Waiting => (
            "The assistant handed over: the visitor is waiting for a person.",
            true,
        ),
        AssistantState::Human => ("You took over from the assistant.", true),
        AssistantState::Off => return None,
    };
    let label = if on {
        "Switch the assistant back on"
    } else {
        "Switch the assistant off"
    };
    Some(view! {
        <div class="assistant-bar" role="status">
            <span>{text}</span>
            <button type="button" class="link-button" on:click=move |_| live.set_assistant(id, on)>
                {label}
            </button>
        </div>
    })
}
