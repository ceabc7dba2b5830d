//! Acting on several conversations at once: the rows picked with their
//! check boxes, and the bar that resolves, snoozes, assigns or labels them
//! all. Each becomes the same frame as for one conversation, so the server
//! authorises and records every one on its own.

use std::collections::BTreeSet;

use leptos::prelude::*;

use super::thread::snooze_choices;
use crate::app::components::{Glyph, Icon};
use crate::client::live::Live;
use crate::protocol::{AgentId, ConversationId, ConversationStatus, LabelId};

/// The conversations picked in the list shown.
#[derive(Clone, Copy)]
pub struct Picked(pub RwSignal<BTreeSet<ConversationId>>);

impl Picked {
    pub fn new() -> Self {
        Self(RwSignal::new(BTreeSet::new()))
    }

    pub fn has(&self, id: ConversationId) -> bool {
        self.0.with(|p| p.contains(&id))
    }

    pub fn toggle(&self, id: ConversationId) {
        self.0.update(|p| {
            if !p.remove(&id) {
                p.insert(id);
            }
        });
    }
}

/// Shown while rows are picked: what to do with all of them.
#[component]
pub fn BulkBar(picked: Picked) -> impl IntoView {
    let live = expect_context::<Live>();
    let count = move || picked.0.with(BTreeSet::len);
    // Runs `act` for each picked conversation, then lets them go (offline:
    // nothing is done, the notice says so, and they stay picked).
    let each = move |act: &dyn Fn(ConversationId)| {
        if !live.can_act() {
            return;
        }
        for id in picked.0.get_untracked() {
            act(id);
        }
        picked.0.set(BTreeSet::new());
    };
    view! {
        <Show when=move || { count() > 0 }>
            <div class="bulk-bar" role="toolbar" aria-label="Selected conversations">
                <span class="bulk-count" role="status">{move || format!("{} selected", count())}</span>
                <button type="button" class="button-small"
                    on:click=move |_| each(&|id| live.set_status(id, ConversationStatus::Resolved, None))>
                    <Icon glyph=Glyph::Check />" Resolve"
                </button>
                <label class="bulk-pick">
                    <span class="sr-only">"Snooze the selected conversations"</span>
                    <select on:change=move |ev| {
                        let at = event_target_value(&ev).parse::<usize>().ok();
                        if let Some((_, until)) = at.and_then(|at| snooze_choices().get(at).copied()) {
                            each(&|id| live.set_status(id, ConversationStatus::Snoozed, Some(until)));
                        }
                        set_first(&ev);
                    }>
                        <option value="" selected>"Snooze…"</option>
                        {snooze_choices().into_iter().enumerate().map(|(at, (label, _))| view! {
                            <option value=at.to_string()>{label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="bulk-pick">
                    <span class="sr-only">"Assign the selected conversations"</span>
                    <select on:change=move |ev| {
                        let value = event_target_value(&ev);
                        if !value.is_empty() {
                            let to = value.parse::<i64>().ok().map(AgentId);
                            each(&|id| live.assign(id, to));
                        }
                        set_first(&ev);
                    }>
                        <option value="" selected>"Assign…"</option>
                        <option value="nobody">"Unassigned"</option>
                        {move || live.team.get().into_iter().map(|person| view! {
                            <option value=person.id.to_string()>{person.name}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || !live.labels.with(Vec::is_empty)>
                    <label class="bulk-pick">
                        <span class="sr-only">"Label the selected conversations"</span>
                        <select on:change=move |ev| {
                            if let Ok(label) = event_target_value(&ev).parse::<i64>() {
                                each(&|id| live.set_label(id, LabelId(label), true));
                            }
                            set_first(&ev);
                        }>
                            <option value="" selected>"Label…"</option>
                            {move || live.labels.get().into_iter().map(|label| view! {
                                <option value=label.id.to_string()>{label.name}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </Show>
                <button type="button" class="link-button" on:click=move |_| picked.0.set(BTreeSet::new())>
                    "Clear"
                </button>
            </div>
        </Show>
    }
}

/// Puts a menu-like select back on its prompt once its choice is made.
fn set_first(ev: &leptos::ev::Event) {
    event_target::<leptos::web_sys::HtmlSelectElement>(ev).set_selected_index(0);
}
