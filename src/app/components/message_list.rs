//! A conversation's messages, grouped by sender, with the unsent ones last.

use leptos::html::Div;
use leptos::prelude::*;

use crate::app::components::Avatar;
use crate::client::live::{Delivery, Live, Pending};
use crate::client::time::{format_full, format_time};
use crate::protocol::{ConversationId, Message, SenderKind};

/// Whose side of the conversation the reader is on: their side's messages sit
/// on the right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The visitor, in the messenger.
    Contact,
    /// The team, in the inbox.
    Team,
}

impl Side {
    fn is_mine(self, sender: SenderKind) -> bool {
        match self {
            Self::Contact => sender == SenderKind::Contact,
            Self::Team => matches!(sender, SenderKind::Agent | SenderKind::Ai),
        }
    }
}

/// Consecutive messages by one sender within a few minutes.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    sender: SenderKind,
    name: String,
    messages: Vec<Message>,
}

/// Messages further apart than this start a new group.
const GROUP_GAP_MS: i64 = 5 * 60 * 1000;

fn group(messages: &[Message]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for m in messages {
        match groups.last_mut() {
            Some(g)
                if g.sender == m.sender
                    && g.name == m.sender_name
                    && g.messages
                        .last()
                        .is_some_and(|last| m.created_at.0 - last.created_at.0 < GROUP_GAP_MS) =>
            {
                g.messages.push(m.clone());
            }
            _ => groups.push(Group {
                sender: m.sender,
                name: m.sender_name.clone(),
                messages: vec![m.clone()],
            }),
        }
    }
    groups
}

/// The thread of `conversation`, oldest at the top; announces new messages to
/// screen readers and keeps the newest in view.
#[component]
pub fn MessageList(conversation: Signal<Option<ConversationId>>, side: Side) -> impl IntoView {
    let live = expect_context::<Live>();
    let messages = Memo::new(move |_| {
        conversation
            .get()
            .map(|id| live.messages(id))
            .unwrap_or_default()
    });
    let groups = Memo::new(move |_| messages.with(|m| group(m)));
    let pending = Memo::new(move |_| {
        let current = conversation.get();
        live.outbox.with(|o| {
            o.iter()
                .filter(|p| p.conversation_id.is_none() || p.conversation_id == current)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let scroller = NodeRef::<Div>::new();
    Effect::new(move |_| {
        // Track both lists; after they change, show the newest message.
        messages.with(|_| ());
        pending.with(|_| ());
        if let Some(el) = scroller.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    view! {
        <div class="message-scroller" node_ref=scroller>
            <div class="message-list" role="log" aria-live="polite" aria-label="Messages">
                <For each=move || groups.get() key=|g| (g.messages[0].id, g.messages.len()) let:g>
                    <MessageGroup group=g side=side />
                </For>
                <For each=move || pending.get() key=|p| (p.client_id, p.delivery.clone()) let:p>
                    <PendingMessage pending=p />
                </For>
            </div>
        </div>
    }
}

#[component]
fn MessageGroup(group: Group, side: Side) -> impl IntoView {
    let mine = side.is_mine(group.sender);
    let first_time = group.messages[0].created_at;
    let kind = match group.sender {
        SenderKind::Contact => "contact",
        SenderKind::Agent => "agent",
        SenderKind::Ai => "ai",
        SenderKind::System => "system",
    };
    let name = group.name.clone();
    view! {
        <div class=format!("message-group from-{kind}") class:mine=mine>
            {(!mine).then(|| view! { <Avatar name=name.clone() kind=kind /> })}
            <div class="message-group-body">
                <div class="message-meta">
                    <span class="message-sender">{group.name.clone()}</span>
                    {(group.sender == SenderKind::Ai).then(|| view! { <span class="badge">"AI"</span> })}
                    <time class="message-time" datetime=first_time.0.to_string() title=format_full(first_time)>
                        {format_time(first_time)}
                    </time>
                </div>
                {group
                    .messages
                    .into_iter()
                    .map(|m| view! {
                        <p class="bubble" data-message-id=m.id.0.to_string() title=format_full(m.created_at)>
                            {m.body}
                        </p>
                    })
                    .collect_view()}
            </div>
        </div>
    }
}

#[component]
fn PendingMessage(pending: Pending) -> impl IntoView {
    let live = expect_context::<Live>();
    let id = pending.client_id;
    let failed = match &pending.delivery {
        Delivery::Sending => None,
        Delivery::Failed(reason) => Some(reason.clone()),
    };
    view! {
        <div class="message-group mine pending">
            <div class="message-group-body">
                <p class="bubble" class:failed=failed.is_some()>{pending.body}</p>
                {match failed {
                    None => view! { <span class="message-state">"Sending…"</span> }.into_any(),
                    Some(reason) => view! {
                        <span class="message-state failed" role="alert">
                            "Not sent — " {reason} " "
                            <button type="button" class="link-button" on:click=move |_| live.retry(id)>"Retry"</button>
                            " · "
                            <button type="button" class="link-button" on:click=move |_| live.discard(id)>"Delete"</button>
                        </span>
                    }.into_any(),
                }}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, MessageId, Timestamp};

    fn msg(id: i64, sender: SenderKind, name: &str, at: i64) -> Message {
        Message {
            id: MessageId(id),
            conversation_id: ConversationId(1),
            client_id: ClientId::new(),
            sender,
            sender_name: name.into(),
            body: String::new(),
            created_at: Timestamp(at),
        }
    }

    #[test]
    fn consecutive_messages_by_one_sender_share_a_group() {
        let groups = group(&[
            msg(1, SenderKind::Contact, "Visitor #1", 0),
            msg(2, SenderKind::Contact, "Visitor #1", 1_000),
            msg(3, SenderKind::Agent, "Ana", 2_000),
            msg(4, SenderKind::Agent, "Ben", 3_000),
            msg(5, SenderKind::Agent, "Ben", 3_000 + GROUP_GAP_MS),
        ]);
        let sizes: Vec<usize> = groups.iter().map(|g| g.messages.len()).collect();
        assert_eq!(sizes, [2, 1, 1, 1]);
    }
}
