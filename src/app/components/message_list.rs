//! A conversation's messages, grouped by sender, with the unsent ones last.

use leptos::html::Div;
use leptos::prelude::*;

use super::message_item::{MessageItem, PendingMessage, Receipts};
use crate::app::components::Avatar;
use crate::app::components::answers::DraftBubble;
use crate::app::components::attachments::{Lightbox, LightboxView};
use crate::client::live::Live;
use crate::client::time::{format_full, format_time_in};
use crate::i18n::Locale;
use crate::i18n::context::words;
use crate::protocol::{ConversationId, Message, MessageId, Person, SenderKind};

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
    /// Notes group apart from replies: they look different.
    internal: bool,
    name: String,
    messages: Vec<Message>,
    /// Changes when any message in it changes (edit, delete, reaction), so
    /// the group is drawn again.
    version: u64,
    /// Messages not loaded follow this group (a search jumped far back).
    gap_below: bool,
}

/// Messages further apart than this start a new group.
const GROUP_GAP_MS: i64 = 5 * 60 * 1000;

fn group(messages: &[Message], gap_after: Option<MessageId>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for m in messages {
        match groups.last_mut() {
            Some(g)
                if !g.gap_below
                    && g.sender == m.sender
                    && g.internal == m.internal
                    && g.name == m.sender_name
                    && g.messages
                        .last()
                        .is_some_and(|last| m.created_at.0 - last.created_at.0 < GROUP_GAP_MS) =>
            {
                g.messages.push(m.clone());
            }
            _ => groups.push(Group {
                sender: m.sender,
                internal: m.internal,
                name: m.sender_name.clone(),
                messages: vec![m.clone()],
                version: 0,
                gap_below: false,
            }),
        }
        if Some(m.id) == gap_after
            && let Some(g) = groups.last_mut()
        {
            g.gap_below = true;
        }
    }
    for g in &mut groups {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        g.messages.hash(&mut hasher);
        g.version = hasher.finish();
    }
    groups
}

/// The thread of `conversation`, oldest at the top; announces new messages to
/// screen readers and keeps the newest in view.
#[component]
pub fn MessageList(conversation: Signal<Option<ConversationId>>, side: Side) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = words();
    let messages = Memo::new(move |_| {
        conversation
            .get()
            .map(|id| live.messages(id))
            .unwrap_or_default()
    });
    let gap = Memo::new(move |_| {
        let id = conversation.get()?;
        live.threads.with(|t| t.get(&id)?.gap)
    });
    let groups = Memo::new(move |_| {
        let gap_after = gap.get().map(|(below, _)| below);
        messages.with(|m| group(m, gap_after))
    });
    let pending = Memo::new(move |_| {
        let current = conversation.get();
        live.outbox.with(|o| {
            o.iter()
                .filter(|p| p.conversation_id.is_none() || p.conversation_id == current)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    // Shown in a focused tab (and, framed by a site's widget, in its open
    // panel): everything here counts as read.
    Effect::new(move |_| {
        let online = live.connection.get() == crate::client::live::Connection::Online;
        let seen = live.attentive.get() && live.panel_open.get();
        if let (Some(id), true, true) = (conversation.get(), seen, online)
            && let Some(last) = messages.with(|m| m.last().map(|m| m.id))
        {
            live.mark_read(id, last);
        }
    });
    // How far the other side got: (delivered, read).
    let cursors = Memo::new(move |_| {
        let id = conversation.get()?;
        live.conversations.with(|list| {
            let c = list.iter().find(|c| c.id == id)?;
            Some(match side {
                Side::Contact => (c.team_delivered_id, c.team_read_id),
                Side::Team => (c.contact_read_id, c.contact_read_id),
            })
        })
    });
    // "Seen" goes under the newest of my messages the other side has read.
    let last_seen = Memo::new(move |_| {
        let (_, read) = cursors.get()?;
        messages.with(|m| {
            m.iter()
                .rev()
                .find(|m| side.is_mine(m.sender) && !m.internal && m.id <= read)
                .map(|m| m.id)
        })
    });
    let receipts = Receipts { cursors, last_seen };
    // Every picture of the thread, for the lightbox's arrows.
    let pictures = Memo::new(move |_| {
        messages.with(|m| {
            m.iter()
                .flat_map(|m| m.attachments.iter().filter(|a| a.is_image()).cloned())
                .collect::<Vec<_>>()
        })
    });
    provide_context(Lightbox {
        open: RwSignal::new(None),
        pictures,
    });
    let typists = Memo::new(move |_| {
        let id = conversation.get()?;
        // While its draft shows, the assistant is not "typing" too.
        let drafting = live.drafts.with(|d| d.contains_key(&id));
        live.typing.with(|t| {
            let people = t.get(&id)?;
            if drafting {
                let people: Vec<Person> = people
                    .iter()
                    .filter(|p| p.kind != SenderKind::Ai)
                    .cloned()
                    .collect();
                typing_line(w, &people)
            } else {
                typing_line(w, people)
            }
        })
    });
    let scroller = NodeRef::<Div>::new();
    let at_bottom = RwSignal::new(true);
    let new_below = RwSignal::new(false);
    // What was shown at the last update: (conversation, first id, last id,
    // pending count), and the scroller's height and position then.
    let shape = StoredValue::new((None, None, None, 0usize));
    let geometry = StoredValue::new((0, 0));
    let remember_geometry = move |el: &leptos::web_sys::HtmlDivElement| {
        geometry.set_value((el.scroll_height(), el.scroll_top()));
    };
    Effect::new(move |_| {
        let current = conversation.get();
        let (first, last) = messages.with(|m| (m.first().map(|m| m.id), m.last().map(|m| m.id)));
        let sending = pending.with(Vec::len);
        let Some(el) = scroller.get() else { return };
        let (old_conversation, old_first, old_last, old_sending) = shape.get_value();
        shape.set_value((current, first, last, sending));
        let switched = current != old_conversation || old_last.is_none();
        let older_loaded =
            last == old_last && matches!((old_first, first), (Some(a), Some(b)) if b < a);
        if switched || sending > old_sending {
            // A new conversation, or the reader just wrote: show the newest.
            el.set_scroll_top(el.scroll_height());
            at_bottom.set(true);
            new_below.set(false);
        } else if older_loaded {
            // Older messages grew above the reader: keep their place.
            let (height, top) = geometry.get_value();
            el.set_scroll_top(top + el.scroll_height() - height);
        } else if last != old_last || sending != old_sending {
            if at_bottom.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            } else {
                new_below.set(true);
            }
        }
        remember_geometry(&el);
    });
    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let bottom = el.scroll_height() - el.scroll_top() - el.client_height() < 48;
        at_bottom.set(bottom);
        if bottom {
            new_below.set(false);
        }
        remember_geometry(&el);
        if el.scroll_top() < 80
            && let Some(id) = conversation.get_untracked()
        {
            live.load_older(id);
        }
    };
    let jump_to_newest = move |_| {
        if let Some(el) = scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        new_below.set(false);
    };
    // A search result's message: once shown, scrolled to the middle and
    // marked (after the effect above, which keeps the newest in view).
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some((id, message)) = live.jump_to.get() else {
            return;
        };
        if conversation.get() != Some(id) || !messages.with(|m| m.iter().any(|m| m.id == message)) {
            return;
        }
        let Some(el) = scroller.get() else { return };
        let found = el
            .query_selector(&format!("[data-message-id=\"{}\"]", message.0))
            .ok()
            .flatten();
        if let Some(found) = found {
            let options = leptos::web_sys::ScrollIntoViewOptions::new();
            options.set_block(leptos::web_sys::ScrollLogicalPosition::Center);
            found.scroll_into_view_with_scroll_into_view_options(&options);
            let _ = found.class_list().add_1("found");
            at_bottom.set(false);
            remember_geometry(&el);
        }
        live.jump_to.set(None);
    });
    let edge = Memo::new(move |_| {
        let id = conversation.get()?;
        live.threads.with(|t| {
            let thread = t.get(&id)?;
            Some(match (thread.loaded, thread.has_more) {
                (false, _) => None,
                (true, true) => Some(false),
                (true, false) => Some(true),
            })
        })?
    });
    let editing = RwSignal::new(None::<MessageId>);
    view! {
        <div class="message-pane">
            <div class="message-scroller" node_ref=scroller on:scroll=on_scroll>
                {move || match edge.get() {
                    Some(true) if !messages.with(Vec::is_empty) => Some(view! {
                        <p class="history-edge">{w.t("beginning")}</p>
                    }.into_any()),
                    Some(false) => Some(view! {
                        <p class="history-edge">
                            <button type="button" class="link-button" on:click=move |_| {
                                if let Some(id) = conversation.get_untracked() {
                                    live.load_older(id);
                                }
                            }>{w.t("load-earlier")}</button>
                        </p>
                    }.into_any()),
                    _ => None,
                }}
                <div class="message-list" role="log" aria-live="polite" aria-label=w.t("messages")>
                    <For
                        each=move || groups.get()
                        key=|g| (g.messages[0].id, g.version, g.gap_below)
                        children=move |g| {
                            let gap_below = g.gap_below;
                            view! {
                                <MessageGroup group=g side=side receipts editing />
                                {gap_below.then(|| view! {
                                    <p class="history-edge gap-edge">
                                        <button type="button" class="link-button" on:click=move |_| {
                                            if let Some(id) = conversation.get_untracked() {
                                                live.fill_gap(id);
                                            }
                                        }>{w.t("show-newer")}</button>
                                    </p>
                                })}
                            }
                        }
                    />
                    <For each=move || pending.get()
                        key=|p| (p.client_id, p.delivery.clone(), p.files.clone()) let:p>
                        <PendingMessage pending=p />
                    </For>
                    <DraftBubble conversation />
                </div>
            </div>
            <Show when=move || new_below.get()>
                <button type="button" class="new-messages-pill" on:click=jump_to_newest>
                    {w.t("new-messages")}
                </button>
            </Show>
            <LightboxView />
            <p class="typing-line" aria-live="polite">
                {move || typists.get()}
            </p>
        </div>
    }
}

/// "Ana is typing…", "Ana and Ben are typing…", "Ana, Ben and Cy are typing…"
/// (the assistant by its name in the reader's language).
pub fn typing_line(w: Locale, people: &[Person]) -> Option<String> {
    let names: Vec<String> = people
        .iter()
        .map(|p| {
            if p.kind == SenderKind::Ai {
                w.t("assistant-name")
            } else {
                p.name.clone()
            }
        })
        .collect();
    Some(match names.as_slice() {
        [] => return None,
        [one] => w.t_with("typing-one", &[("name", one.as_str().into())]),
        [rest @ .., last] => w.t_with(
            "typing-many",
            &[
                ("names", rest.join(", ").into()),
                ("last", last.as_str().into()),
            ],
        ),
    })
}

#[component]
fn MessageGroup(
    group: Group,
    side: Side,
    receipts: Receipts,
    editing: RwSignal<Option<MessageId>>,
) -> impl IntoView {
    if group.sender == SenderKind::System {
        return view! { <SystemLines lines=group.messages /> }.into_any();
    }
    let w = words();
    let mine = side.is_mine(group.sender);
    let note = group.internal;
    let first_time = group.messages[0].created_at;
    let kind = match group.sender {
        SenderKind::Contact => "contact",
        SenderKind::Agent => "agent",
        SenderKind::Ai => "ai",
        SenderKind::System => "system",
    };
    // The assistant by its name in the reader's language.
    let name = if group.sender == SenderKind::Ai {
        w.t("assistant-name")
    } else {
        group.name.clone()
    };
    view! {
        <div class=format!("message-group from-{kind}") class:mine=mine class:note=note>
            // The assistant keeps its avatar on the team's side too.
            {(!mine || group.sender == SenderKind::Ai)
                .then(|| view! { <Avatar name=name.clone() kind=kind /> })}
            <div class="message-group-body">
                <div class="message-meta">
                    <span class="message-sender">{name.clone()}</span>
                    {(group.sender == SenderKind::Ai).then(|| view! { <span class="badge">{w.t("ai-badge")}</span> })}
                    {note.then(|| view! {
                        <span class="badge badge-note" title="Only the team sees notes">"Note"</span>
                    })}
                    <time class="message-time" datetime=first_time.0.to_string() title=format_full(first_time)>
                        {format_time_in(w, first_time)}
                    </time>
                </div>
                {group
                    .messages
                    .into_iter()
                    .map(|message| view! { <MessageItem message mine receipts editing /> })
                    .collect_view()}
            </div>
        </div>
    }
    .into_any()
}

/// Lines about the conversation's state ("Ana resolved this"), small and
/// centred: they are no one's words.
#[component]
fn SystemLines(lines: Vec<Message>) -> impl IntoView {
    let w = words();
    view! {
        <div class="system-lines">
            {lines.into_iter().map(|line| view! {
                <p class="system-line" data-message-id=line.id.0.to_string()>
                    <span>{line.body}</span>
                    " · "
                    <time datetime=line.created_at.0.to_string() title=format_full(line.created_at)>
                        {format_time_in(w, line.created_at)}
                    </time>
                </p>
            }).collect_view()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Timestamp;

    fn msg(id: i64, sender: SenderKind, name: &str, at: i64) -> Message {
        Message {
            sender,
            sender_name: name.into(),
            created_at: Timestamp(at),
            ..Message::sample(id, "")
        }
    }

    #[test]
    fn consecutive_messages_by_one_sender_share_a_group() {
        let groups = group(
            &[
                msg(1, SenderKind::Contact, "Visitor #1", 0),
                msg(2, SenderKind::Contact, "Visitor #1", 1_000),
                msg(3, SenderKind::Agent, "Ana", 2_000),
                msg(4, SenderKind::Agent, "Ben", 3_000),
                msg(5, SenderKind::Agent, "Ben", 3_000 + GROUP_GAP_MS),
            ],
            None,
        );
        let sizes: Vec<usize> = groups.iter().map(|g| g.messages.len()).collect();
        assert_eq!(sizes, [2, 1, 1, 1]);
    }

    #[test]
    fn typing_line_names_everyone_typing() {
        let person = |name: &str| Person {
            kind: SenderKind::Agent,
            id: 1,
            name: name.into(),
        };
        let en = Locale::En;
        assert_eq!(typing_line(en, &[]), None);
        assert_eq!(typing_line(en, &[person("Ana")]).unwrap(), "Ana is typing…");
        assert_eq!(
            typing_line(en, &[person("Ana"), person("Ben")]).unwrap(),
            "Ana and Ben are typing…"
        );
        assert_eq!(
            typing_line(en, &[person("Ana"), person("Ben"), person("Cy")]).unwrap(),
            "Ana, Ben and Cy are typing…"
        );
        let assistant = Person {
            kind: SenderKind::Ai,
            id: 0,
            name: "Assistant".into(),
        };
        assert_eq!(
            typing_line(Locale::Fr, &[assistant, person("Ana")]).unwrap(),
            "Assistant et Ana écrivent…"
        );
    }
}
