//! The conversation list: the inbox's lists and their counts, in the order
//! the agent picks, filtered by a label, updated live; rows can be picked
//! to act on several at once (see `bulk`).

use leptos::prelude::*;

use super::bulk::{BulkBar, Picked};
use super::labels::label_chips;
use super::search::{Search, SearchBox, SearchResults};
use crate::app::components::{Avatar, Glyph, Icon, typing_line};
use crate::client::live::Live;
use crate::client::time::format_time;
use crate::protocol::{
    ConversationId, ConversationStatus, ConversationSummary, InboxSort, InboxView, LabelId, Me,
    SearchQuery, SenderKind, Timestamp,
};

/// The inbox's lists (Mine, Unassigned, All open, Snoozed, Resolved) with
/// their counts, the order, and the rows of the list shown.
#[component]
pub fn ConversationList(selected: Memo<Option<ConversationId>>) -> impl IntoView {
    let live = expect_context::<Live>();
    let loaded = move || live.me.with(Option::is_some);
    let rows = Memo::new(move |_| live.rows_in_view());
    let clock = Clock(RwSignal::new(0));
    provide_context(clock);
    let picked = Picked::new();
    provide_context(picked);
    // Picks are of the list shown: one that leaves it (a teammate took
    // it, another list is shown) is no longer picked.
    Effect::new(move |_| {
        rows.with(|rows| {
            let shown = |id: &ConversationId| rows.iter().any(|r| r.id == *id);
            if picked.0.with_untracked(|p| !p.iter().all(shown)) {
                picked.0.update(|p| p.retain(shown));
            }
        });
    });
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(
        move || clock.0.update(|t| *t += 1),
        std::time::Duration::from_secs(30),
    ) {
        on_cleanup(move || handle.clear());
    }
    let search = Search(RwSignal::new(SearchQuery::default()));
    let lists = move || {
        view! {
                <div class="list-head">
                    <h2 class="pane-title">{move || live.view.get().label()}</h2>
                    <label class="list-sort">
                        <span class="sr-only">"Order"</span>
                        <select on:change=move |ev| {
                            let sort = match event_target_value(&ev).as_str() {
                                "waiting" => InboxSort::Waiting,
                                _ => InboxSort::Newest,
                            };
                            live.show_view(live.view.get_untracked(), sort);
                        }>
                            <option value="newest" selected=move || live.sort.get() == InboxSort::Newest>
                                "Newest activity"
                            </option>
                            <option value="waiting" selected=move || live.sort.get() == InboxSort::Waiting>
                                "Waiting longest"
                            </option>
                        </select>
                    </label>
                    <Show when=move || !live.labels.with(Vec::is_empty)>
                        <label class="list-sort">
                            <span class="sr-only">"Label"</span>
                            <select on:change=move |ev| {
                                let label = event_target_value(&ev).parse::<i64>().ok().map(LabelId);
                                live.filter_label(label);
                            }>
                                <option value="" selected=move || live.label.get().is_none()>"All labels"</option>
                                {move || live.labels.get().into_iter().map(|label| {
                                    let id = label.id;
                                    view! {
                                        <option value=id.to_string()
                                            selected=move || live.label.get() == Some(id)>
                                            {label.name}
                                        </option>
                                    }
                                }).collect_view()}
                            </select>
                        </label>
                    </Show>
                </div>
                <ul class="inbox-views" aria-label="Lists">
                    {InboxView::ALL.into_iter().map(|view| {
                        let count = move || {
                            let me = live.me.with(|me| match me {
                                Some(Me::Agent { id, .. }) => Some(*id),
                                _ => None,
                            });
                            me.map_or(0, |me| live.counts.with(|c| c.of(view, me)))
                        };
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="inbox-view"
                                    aria-pressed=move || (live.view.get() == view).to_string()
                                    on:click=move |_| live.show_view(view, live.sort.get_untracked())
                                >
                                    {view.label()}
                                    <span class="inbox-view-count">{count}</span>
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <BulkBar picked />
                <Show
                    when=move || !rows.with(Vec::is_empty)
                    fallback=move || view! {
                        <div class="empty-state">
                            {move || if loaded() {
                                let (title, text) = empty_text(live.view.get());
                                view! {
                                    <p class="empty-title">{title}</p>
                                    <p>{text}</p>
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
                            each=move || rows.get()
                            key=|c| (
                                c.id,
                                c.seq,
                                c.contact_name.clone(),
                                c.unread,
                                c.contact_online,
                                c.mentions.clone(),
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
        }
    };
    view! {
        <nav class="conversation-list" aria-label="Conversations">
            <SearchBox search />
            <Show when=move || search.active() fallback=lists>
                <SearchResults selected />
            </Show>
        </nav>
    }
}

/// Ticks every 30 s, so "Waiting 5 min" keeps counting on rows nobody
/// touches.
#[derive(Clone, Copy)]
struct Clock(RwSignal<u64>);

/// What an empty list says.
fn empty_text(view: InboxView) -> (&'static str, &'static str) {
    match view {
        InboxView::Mine => (
            "Nothing assigned to you",
            "Conversations you take, or a teammate gives you, show up here.",
        ),
        InboxView::Mentions => (
            "No mentions",
            "When a teammate writes @ and your name in a note, the conversation shows up here until you open it.",
        ),
        InboxView::Unassigned => (
            "Everything has an owner",
            "New conversations nobody has taken show up here.",
        ),
        InboxView::Open => (
            "No open conversations",
            "When a visitor writes from the messenger, the conversation appears here.",
        ),
        InboxView::Snoozed => (
            "Nothing snoozed",
            "Snoozed conversations wait here and come back by themselves.",
        ),
        InboxView::Resolved => (
            "Nothing resolved yet",
            "Resolved conversations are kept here.",
        ),
    }
}

/// "5 min", "3 h", "2 d": how long someone has been waiting.
pub fn waited(since: Timestamp) -> String {
    let ms = (crate::client::time::now_ms() - since.0).max(0);
    if ms < 3_600_000 {
        format!("{} min", (ms / 60_000).max(1))
    } else if ms < 86_400_000 {
        format!("{} h", ms / 3_600_000)
    } else {
        format!("{} d", ms / 86_400_000)
    }
}

#[component]
fn ConversationRow(
    summary: ConversationSummary,
    selected: Memo<Option<ConversationId>>,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let clock = expect_context::<Clock>();
    let picked = expect_context::<Picked>();
    let id = summary.id;
    let mentioned = live
        .agent_id()
        .is_some_and(|me| summary.mentions.contains(&me));
    let labels = summary.labels.clone();
    let pick_label = format!("Select the conversation with {}", summary.contact_name);
    let is_selected = move || selected.get() == Some(id);
    let typing = Memo::new(move |_| {
        live.typing.with(|t| {
            t.get(&id)
                .and_then(|people| typing_line(crate::i18n::Locale::En, people))
        })
    });
    let unread = summary.unread;
    let presence = super::thread::presence_text(&summary);
    let presence_title = presence.clone();
    let preview = match summary.last_sender {
        Some(SenderKind::Agent) => format!("You: {}", summary.last_message_preview),
        _ => summary.last_message_preview.clone(),
    };
    let waiting = (summary.status == ConversationStatus::Open)
        .then_some(summary.waiting_since)
        .flatten();
    let snoozed = summary.snoozed_until;
    let owner = summary.assignee.as_ref().map(|a| a.name.clone());
    let rated = summary
        .rating
        .and_then(|score| crate::protocol::rating_name(score).map(|name| (score, name)));
    view! {
        <li class="row-item" class:picked=move || picked.has(id)>
            <input type="checkbox" class="row-pick" aria-label=pick_label
                prop:checked=move || picked.has(id)
                on:change=move |_| picked.toggle(id) />
            <a
                href=super::conversation_href(id)
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
                    <span class="conversation-row-tags">
                        {mentioned.then(|| view! {
                            <span class="row-tag row-mention"><Icon glyph=Glyph::At />" Mentioned you"</span>
                        })}
                        {label_chips(live, labels)}
                        {waiting.map(|since| view! {
                            <span class="row-tag row-waiting" title=crate::client::time::format_full(since)>
                                <Icon glyph=Glyph::Clock />
                                {move || {
                                    clock.0.track();
                                    format!(" Waiting {}", waited(since))
                                }}
                            </span>
                        })}
                        {snoozed.map(|until| view! {
                            <span class="row-tag">
                                <Icon glyph=Glyph::Clock />" Until " {format_time(until)}
                            </span>
                        })}
                        {rated.map(|(score, name)| view! {
                            <span class="row-tag"><Icon glyph=Glyph::Face(score) />" Rated " {name}</span>
                        })}
                        <span class="row-tag row-owner">
                            {owner.unwrap_or_else(|| "Unassigned".into())}
                        </span>
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
