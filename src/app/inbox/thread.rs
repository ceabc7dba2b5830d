//! The open conversation: who it is with, the messages, the reply box.

use leptos::prelude::*;

use super::contact::{ContactPanelView, ContactToggle, panel_open_signal};
use super::labels::{LabelMenu, label_chips};
use super::shortcuts::Shortcuts;
use crate::app::components::attachments::{allow_drop, drop_files};
use crate::app::components::{
    Avatar, Composer, Glyph, Icon, MessageList, NoticeBar, ReplyPicker, Side, TranscriptMenu,
};
use crate::client::live::{Live, Posting};
use crate::client::time::{format_ago, format_time};
use crate::protocol::{
    AgentId, ConversationId, ConversationStatus, ConversationSummary, Me, Timestamp, visitor_label,
};
use crate::replies::{Names, fill};

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
    // The conversation shown, changing only when another one is (not with
    // each change of its row).
    let shown = Memo::new(move |_| summary.with(|s| s.as_ref().map(|s| s.id)));
    // A note is the team's only: writing one is not "typing" to the visitor.
    let note = RwSignal::new(false);
    let typing = Callback::new(move |now: bool| {
        if let Some(id) = selected.get_untracked() {
            live.set_typing(id, now && !note.get_untracked());
        }
    });
    Effect::new(move |_| {
        if note.get()
            && let Some(id) = selected.get_untracked()
        {
            live.set_typing(id, false);
        }
    });
    // Saved replies, loaded in the browser once the page is live.
    let replies = LocalResource::new(super::replies::saved_replies);
    let picker = ReplyPicker {
        replies: Signal::derive(move || replies.get().and_then(Result::ok).unwrap_or_default()),
        fill: Callback::new(move |body: String| {
            let agent = match live.me.get_untracked() {
                Some(Me::Agent { name, .. }) => name,
                _ => String::new(),
            };
            let row = summary.get_untracked();
            // A visitor who gave no name is greeted as "there".
            let named = row
                .as_ref()
                .filter(|r| r.contact_name != visitor_label(r.contact_id));
            let visitor = named.map_or("there".to_string(), |r| r.contact_name.clone());
            let email = row.and_then(|r| r.contact_email);
            let names = Names {
                visitor: &visitor,
                visitor_email: email.as_deref(),
                agent: &agent,
            };
            fill(&body, &names)
        }),
    };
    // Teammates a note can mention: everyone but the writer.
    let mentionable = Signal::derive(move || {
        let me = live.agent_id();
        live.team.with(|team| {
            team.iter()
                .filter(|p| Some(AgentId(p.id)) != me)
                .map(|p| p.name.clone())
                .collect()
        })
    });
    let about_open = panel_open_signal();
    let send = Callback::new(move |body: String| match selected.get_untracked() {
        Some(id) => {
            let posting = Posting {
                note: note.get_untracked(),
                ..Posting::default()
            };
            live.post(Some(id), &body, posting)
        }
        None => Err("Pick a conversation first.".to_string()),
    });
    view! {
        <section class="thread" aria-label="Conversation"
            class:with-contact=move || about_open.get() && selected.get().is_some()>
            <Shortcuts selected note />
            <Show
                when=move || selected.get().is_some()
                fallback=|| view! {
                    <div class="empty-state thread-empty">
                        <p class="empty-title">"Select a conversation"</p>
                        <p>"Pick one on the left to read it and reply."</p>
                        <p>"Press " <kbd>"?"</kbd> " for keyboard shortcuts."</p>
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
                        <div class="thread-who">
                            <h2>{s.contact_name.clone()}</h2>
                            <p class="thread-subtitle">
                                <span class="presence" class:online=s.contact_online>
                                    {presence_text(&s)}
                                </span>
                                " · "
                                {s.contact_email.clone().unwrap_or_else(|| "No email given".into())}
                            </p>
                            <p class="thread-labels">{label_chips(live, s.labels.clone())}</p>
                        </div>
                    })}
                    {move || shown.try_get().flatten().map(|id| view! { <ThreadActions id /> })}
                    <ContactToggle open=about_open />
                </header>
                {move || summary.get().map(|s| view! { <AssistantBar summary=s /> })}
                {move || summary.get().and_then(|s| s.snoozed_until).map(|until| view! {
                    <div class="assistant-bar state-bar" role="status">
                        <Icon glyph=Glyph::Clock />
                        <span>"Snoozed until " {format_time(until)} ". A reply from the visitor wakes it sooner."</span>
                    </div>
                })}
                <div class="thread-drop" on:dragover=allow_drop
                    on:drop=drop_files(live, Signal::from(selected))>
                    <MessageList conversation=Signal::from(selected) side=Side::Team />
                </div>
                <NoticeBar />
                <Composer on_send=send on_typing=typing placeholder="Reply… (type / for saved replies)"
                    note picker mentionable attach_to=Signal::from(selected) />
                {move || shown.try_get().flatten().map(|id| view! { <ContactPanelView id open=about_open /> })}
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

/// Who owns the conversation, its labels, and resolving, reopening and
/// snoozing it. Made once per conversation and kept up to date from its
/// row, so an open menu stays open (and keeps the focus) as the row changes.
#[component]
fn ThreadActions(id: ConversationId) -> impl IntoView {
    let live = expect_context::<Live>();
    let row = Memo::new(move |_| {
        live.conversations
            .with(|c| c.iter().find(|c| c.id == id).cloned())
    });
    let owner = move || row.with(|r| r.as_ref().and_then(|r| r.assignee.as_ref().map(|a| a.id)));
    let status = Memo::new(move |_| row.with(|r| r.as_ref().map(|r| r.status)));
    let me = live.agent_id();
    view! {
        <div class="thread-actions">
            <LabelMenu id />
            <label class="assignee-picker">
                <span class="sr-only">"Assignee"</span>
                <select on:change=move |ev| {
                    let to = event_target_value(&ev).parse::<i64>().ok().map(AgentId);
                    live.assign(id, to);
                }>
                    <option value="" selected=move || owner().is_none()>"Unassigned"</option>
                    {move || live.team.get().into_iter().map(|person| {
                        let label = if Some(AgentId(person.id)) == me {
                            format!("{} (you)", person.name)
                        } else {
                            person.name.clone()
                        };
                        let pid = person.id;
                        view! {
                            <option value=pid.to_string() selected=move || owner() == Some(pid)>
                                {label}
                            </option>
                        }
                    }).collect_view()}
                </select>
            </label>
            {move || match status.get() {
                Some(ConversationStatus::Open) => view! {
                    <SnoozeMenu id />
                    <button type="button" class="button-small"
                        on:click=move |_| live.set_status(id, ConversationStatus::Resolved, None)>
                        <Icon glyph=Glyph::Check />" Resolve"
                    </button>
                }.into_any(),
                Some(_) => view! {
                    <button type="button" class="button-small button-quiet"
                        on:click=move |_| live.set_status(id, ConversationStatus::Open, None)>
                        <Icon glyph=Glyph::Undo />" Reopen"
                    </button>
                }.into_any(),
                None => ().into_any(),
            }}
            <TranscriptMenu id />
        </div>
    }
}

/// "Snooze": until a preset time or one the agent picks.
#[component]
fn SnoozeMenu(id: ConversationId) -> impl IntoView {
    let live = expect_context::<Live>();
    let menu = NodeRef::<leptos::html::Details>::new();
    let picked = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<&'static str>);
    let snooze = move |until: Timestamp| {
        live.set_status(id, ConversationStatus::Snoozed, Some(until));
        if let Some(menu) = menu.get_untracked() {
            menu.set_open(false);
        }
    };
    view! {
        <details class="snooze-menu" node_ref=menu
            on:keydown=move |ev| {
                if ev.key() == "Escape" && let Some(menu) = menu.get_untracked() {
                    menu.set_open(false);
                }
            }>
            <summary class="button-small button-quiet"><Icon glyph=Glyph::Clock />" Snooze"</summary>
            <div class="snooze-choices">
                // Each time is worked out on the click: a thread left open
                // for hours still snoozes "in 1 hour" from now.
                {snooze_choices().into_iter().enumerate().map(|(at, (label, _))| view! {
                    <button type="button" class="menu-item"
                        on:click=move |_| snooze(snooze_choices()[at].1)>
                        {label}
                    </button>
                }).collect_view()}
                <form class="snooze-pick" on:submit=move |ev| {
                    ev.prevent_default();
                    match crate::client::time::parse_local(&picked.get_untracked()) {
                        Some(until) if until.0 > crate::client::time::now_ms() => {
                            problem.set(None);
                            snooze(until);
                        }
                        _ => problem.set(Some("Pick a date and time in the future.")),
                    }
                }>
                    <label>
                        "Until"
                        <input type="datetime-local" bind:value=picked required />
                    </label>
                    <button type="submit" class="button-small">"Snooze"</button>
                    {move || problem.get().map(|p| view! { <p class="form-problem" role="alert">{p}</p> })}
                </form>
            </div>
        </details>
    }
}

/// The usual snooze times, in the agent's time zone: in an hour, later
/// today (18:00, or in three hours after 15:00), tomorrow at 9:00 and next
/// Monday at 9:00.
pub(super) fn snooze_choices() -> Vec<(&'static str, Timestamp)> {
    use crate::client::time::{hour_now, local_instant, now_ms, weekday_today};
    let later_today = if hour_now() < 15 {
        local_instant(0, 18, 0)
    } else {
        Timestamp(now_ms() + 3 * 3_600_000)
    };
    let to_monday = 7 - i64::from(weekday_today());
    vec![
        ("In 1 hour", Timestamp(now_ms() + 3_600_000)),
        ("Later today", later_today),
        ("Tomorrow at 9:00", local_instant(1, 9, 0)),
        ("Next week (Monday 9:00)", local_instant(to_monday, 9, 0)),
    ]
}
