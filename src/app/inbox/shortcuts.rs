//! Keyboard shortcuts in the inbox, listed on `?`. They never fire while
//! the agent types in a field, or with Ctrl, Alt or ⌘ held (the browser's
//! own shortcuts stay the browser's).

use leptos::prelude::*;

use crate::client::live::Live;
use crate::protocol::ConversationId;
#[cfg(feature = "hydrate")]
use crate::protocol::ConversationStatus;

/// Every shortcut: its key and what it does (the help lists them).
const SHORTCUTS: [(&str, &str); 10] = [
    ("/", "Search"),
    ("Ctrl K", "Search, even while typing"),
    ("j", "Next conversation"),
    ("k", "Previous conversation"),
    ("r", "Reply"),
    ("n", "Write a note"),
    ("e", "Resolve (or reopen)"),
    ("s", "Snooze"),
    ("a", "Assign to me"),
    ("?", "Show or hide these shortcuts"),
];

/// Listens for the shortcuts and shows their list on `?`. `note` is the
/// composer's Reply/Note switch.
#[component]
pub fn Shortcuts(selected: Memo<Option<ConversationId>>, note: RwSignal<bool>) -> impl IntoView {
    let live = expect_context::<Live>();
    let help = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        let navigate = leptos_router::hooks::use_navigate();
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("k") {
                ev.prevent_default();
                focus("#inbox-search");
                return;
            }
            if ev.ctrl_key() || ev.alt_key() || ev.meta_key() || typing_in_a_field(&ev) {
                return;
            }
            let key = ev.key();
            let current = selected.get_untracked();
            let acted = match key.as_str() {
                "?" => {
                    help.update(|h| *h = !*h);
                    true
                }
                "/" => {
                    focus("#inbox-search");
                    true
                }
                "Escape" if help.get_untracked() => {
                    help.set(false);
                    true
                }
                "j" | "k" => {
                    let rows = untrack(|| live.rows_in_view());
                    let at = current.and_then(|id| rows.iter().position(|r| r.id == id));
                    let next = match (key.as_str(), at) {
                        ("j", Some(at)) => rows.get(at + 1),
                        ("k", Some(at)) => at.checked_sub(1).and_then(|at| rows.get(at)),
                        (_, None) => rows.first(),
                        _ => None,
                    };
                    if let Some(row) = next {
                        navigate(&super::conversation_href(row.id), Default::default());
                    }
                    true
                }
                "r" | "n" if current.is_some() => {
                    note.set(key == "n");
                    focus(".thread .composer-input");
                    true
                }
                "e" => {
                    if let Some(id) = current {
                        let open = live.conversations.with_untracked(|all| {
                            all.iter()
                                .find(|r| r.id == id)
                                .is_none_or(|r| r.status == ConversationStatus::Open)
                        });
                        let to = if open {
                            ConversationStatus::Resolved
                        } else {
                            ConversationStatus::Open
                        };
                        live.set_status(id, to, None);
                    }
                    true
                }
                "s" if current.is_some() => {
                    open_snooze_menu();
                    true
                }
                "a" => {
                    if let (Some(id), Some(me)) = (current, live.agent_id()) {
                        live.assign(id, Some(me));
                    }
                    true
                }
                _ => false,
            };
            if acted {
                ev.prevent_default();
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (live, selected, note);
    view! {
        <Show when=move || help.get()>
            <div class="shortcuts-help" role="dialog" aria-labelledby="shortcuts-title">
                <div class="shortcuts-head">
                    <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                    <button type="button" class="button-quiet" on:click=move |_| help.set(false)>
                        "Close"
                    </button>
                </div>
                <dl>
                    {SHORTCUTS.iter().map(|(key, what)| view! {
                        <div class="shortcut">
                            <dt><kbd>{*key}</kbd></dt>
                            <dd>{*what}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            </div>
        </Show>
    }
}

/// Whether the key went to something the agent types in.
#[cfg(feature = "hydrate")]
fn typing_in_a_field(ev: &leptos::web_sys::KeyboardEvent) -> bool {
    use leptos::wasm_bindgen::JsCast;
    let Some(target) = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
    else {
        return false;
    };
    matches!(target.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || target.closest("[contenteditable]").ok().flatten().is_some()
}

/// Moves the focus to the first element matching `selector`.
#[cfg(feature = "hydrate")]
fn focus(selector: &str) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(el) = document()
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Opens the thread's snooze menu and focuses its first choice.
#[cfg(feature = "hydrate")]
fn open_snooze_menu() {
    use leptos::wasm_bindgen::JsCast;
    if let Some(menu) = document()
        .query_selector(".thread .snooze-menu")
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlDetailsElement>().ok())
    {
        menu.set_open(true);
        focus(".thread .snooze-menu .menu-item");
    }
}
