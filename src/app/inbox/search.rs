//! The inbox's search box (`/` or Ctrl+K): words found in messages, notes,
//! visitors' names and emails and labels, narrowed by filters; a result
//! opens its conversation at the message that matched.

use leptos::prelude::*;

use crate::app::components::{Glyph, Icon};
use crate::client::live::Live;
use crate::client::time::{format_time, parse_local};
use crate::protocol::{
    AgentId, AssigneeFilter, ConversationId, ConversationStatus, Highlighted, LabelId,
    MAX_SEARCH_CHARS, Matched, SearchFrom, SearchHit, SearchOrder, SearchQuery, SenderKind,
};

/// What the agent is searching for; an empty text shows the lists again.
#[derive(Clone, Copy)]
pub struct Search(pub RwSignal<SearchQuery>);

impl Search {
    pub fn active(self) -> bool {
        self.0.with(|q| !q.text.trim().is_empty())
    }
}

/// Waits this long after the last key before searching.
#[cfg(feature = "hydrate")]
const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// The search field, and the filters under it.
#[component]
pub fn SearchBox(search: Search) -> impl IntoView {
    let live = expect_context::<Live>();
    let filters_open = RwSignal::new(false);
    // Each change searches once typing pauses (the newest answer wins).
    #[cfg(feature = "hydrate")]
    {
        let pending = StoredValue::new(None::<leptos::leptos_dom::helpers::TimeoutHandle>);
        Effect::new(move |_| {
            let query = search.0.get();
            if let Some(handle) = pending.get_value() {
                handle.clear();
            }
            if query.text.trim().is_empty() {
                live.clear_search();
                return;
            }
            let handle = set_timeout_with_handle(move || live.search(query), TYPING_PAUSE).ok();
            pending.set_value(handle);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
    let set = move |change: fn(&mut SearchQuery, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            search.0.update(|q| change(q, value));
        }
    };
    let filtered = move || {
        search.0.with(|q| {
            q.status.is_some()
                || q.assignee.is_some()
                || q.label.is_some()
                || q.since.is_some()
                || q.until.is_some()
                || q.from.is_some()
        })
    };
    view! {
        <div class="search-box" role="search">
            <div class="search-field">
                <Icon glyph=Glyph::Search />
                <input
                    id="inbox-search"
                    type="search"
                    placeholder="Search messages, notes, people, labels"
                    aria-label="Search conversations"
                    maxlength=MAX_SEARCH_CHARS.to_string()
                    autocomplete="off"
                    prop:value=move || search.0.with(|q| q.text.clone())
                    on:input=set(|q, v| q.text = v)
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            search.0.update(|q| q.text.clear());
                        }
                    }
                />
                <button
                    type="button"
                    class="icon-button"
                    class:active=filtered
                    aria-label="Filters"
                    aria-controls="search-filters"
                    aria-expanded=move || filters_open.get().to_string()
                    on:click=move |_| filters_open.update(|o| *o = !*o)
                >
                    <Icon glyph=Glyph::Filter />
                </button>
            </div>
            // Kept while hidden, so the filters stay as set.
            <SearchFilters search hidden=Signal::derive(move || !filters_open.get()) />
        </div>
    }
}

/// State, owner, label, dates, who wrote it, and the order.
#[component]
fn SearchFilters(search: Search, hidden: Signal<bool>) -> impl IntoView {
    let live = expect_context::<Live>();
    let set = move |change: fn(&mut SearchQuery, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            search.0.update(|q| change(q, value));
        }
    };
    view! {
        <div id="search-filters" class="search-filters" hidden=hidden>
            <label>
                "State"
                <select on:change=set(|q, v| q.status = ConversationStatus::parse(&v))>
                    <option value="">"Any"</option>
                    <option value="open">"Open"</option>
                    <option value="snoozed">"Snoozed"</option>
                    <option value="resolved">"Resolved"</option>
                </select>
            </label>
            <label>
                "Assignee"
                <select on:change=set(|q, v| {
                    q.assignee = match v.as_str() {
                        "" => None,
                        "nobody" => Some(AssigneeFilter::Unassigned),
                        id => id.parse().ok().map(|id| AssigneeFilter::Agent(AgentId(id))),
                    }
                })>
                    <option value="">"Anyone"</option>
                    <option value="nobody">"Unassigned"</option>
                    {move || live.team.get().into_iter().map(|p| view! {
                        <option value=p.id.to_string()>{p.name}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Label"
                <select on:change=set(|q, v| q.label = v.parse().ok().map(LabelId))>
                    <option value="">"Any"</option>
                    {move || live.labels.get().into_iter().map(|l| view! {
                        <option value=l.id.to_string()>{l.name}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Written by"
                <select on:change=set(|q, v| {
                    q.from = match v.as_str() {
                        "visitor" => Some(SearchFrom::Visitor),
                        "team" => Some(SearchFrom::Team),
                        _ => None,
                    }
                })>
                    <option value="">"Anyone"</option>
                    <option value="visitor">"The visitor"</option>
                    <option value="team">"The team"</option>
                </select>
            </label>
            <label>
                "From"
                <input type="date" on:change=set(|q, v| q.since = parse_local(&format!("{v}T00:00"))) />
            </label>
            <label>
                "Until"
                <input type="date" on:change=set(|q, v| {
                    // The whole day given.
                    q.until = parse_local(&format!("{v}T23:59"))
                        .map(|t| crate::protocol::Timestamp(t.0 + 60_000));
                }) />
            </label>
            <label>
                "Order"
                <select on:change=set(|q, v| {
                    q.order = if v == "best" { SearchOrder::Best } else { SearchOrder::Newest };
                })>
                    <option value="newest">"Newest first"</option>
                    <option value="best">"Best match"</option>
                </select>
            </label>
        </div>
    }
}

/// The conversations that answer the search, one per conversation.
#[component]
pub fn SearchResults(selected: Memo<Option<ConversationId>>) -> impl IntoView {
    let live = expect_context::<Live>();
    let team = move |id: Option<AgentId>| {
        let id = id?;
        live.team
            .with(|t| t.iter().find(|p| p.id == id.0).map(|p| p.name.clone()))
    };
    view! {
        <div class="search-results" aria-live="polite">
            {move || match live.search_results.get() {
                None => view! { <p class="empty-state">"Searching…"</p> }.into_any(),
                Some(hits) if hits.is_empty() => view! {
                    <div class="empty-state">
                        <p class="empty-title">"Nothing found"</p>
                        <p>"Try fewer or shorter words (each word of two letters or more counts), or other filters."</p>
                    </div>
                }.into_any(),
                Some(hits) => view! {
                    <ul aria-label="Search results">
                        {hits.into_iter().map(|hit| {
                            let owner = team(hit.assignee_id);
                            view! { <SearchResult hit owner selected /> }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
fn SearchResult(
    hit: SearchHit,
    owner: Option<String>,
    selected: Memo<Option<ConversationId>>,
) -> impl IntoView {
    let id = hit.conversation_id;
    let (href, why) = match hit.matched {
        Matched::Message {
            message_id,
            sender,
            note,
        } => (
            format!("{}&m={message_id}", super::conversation_href(id)),
            match (note, sender) {
                (true, _) => "Note",
                (false, SenderKind::Contact) => "Visitor",
                (false, SenderKind::Ai) => "Assistant",
                (false, _) => "Team",
            },
        ),
        Matched::Contact => (super::conversation_href(id), "Name or email"),
        Matched::Label => (super::conversation_href(id), "Label"),
    };
    let status = hit.status.label();
    let more = (hit.more > 0).then(|| format!(" · {} more", hit.more));
    view! {
        <li>
            <a class="search-hit" href=href
                aria-current=move || (selected.get() == Some(id)).then_some("true")>
                <span class="search-hit-head">
                    <span class="search-hit-name">{hit.contact_name}</span>
                    <time class="search-hit-time">{format_time(hit.at)}</time>
                </span>
                <span class="search-hit-snippet">{snippet(hit.snippet)}</span>
                <span class="search-hit-meta">
                    <span class="search-hit-why">{why}</span>
                    " · " {status}
                    {owner.map(|o| format!(" · {o}"))}
                    {more}
                </span>
            </a>
        </li>
    }
}

/// The snippet's pieces as text; the matching ones marked.
fn snippet(pieces: Vec<Highlighted>) -> impl IntoView {
    pieces
        .into_iter()
        .map(|piece| {
            if piece.hit {
                view! { <mark>{piece.text}</mark> }.into_any()
            } else {
                piece.text.into_any()
            }
        })
        .collect_view()
}
