//! The message composer: Enter sends, Shift+Enter starts a new line. Files
//! come by the paperclip, by pasting (a screenshot) or by dropping them;
//! emoji from a picker.

use leptos::prelude::*;

use crate::app::components::attachments::{OutFiles, allow_drop, drop_files};
use crate::app::components::{Glyph, Icon};
use crate::client::live::{Live, remaining_chars};
use crate::mentions::{complete, name_fits, typed_mention};
use crate::protocol::ConversationId;
use crate::replies::{SavedReply, matching};

/// Saved replies the composer offers when the text is `/word`, and how a
/// chosen one's placeholders are filled.
#[derive(Clone, Copy)]
pub struct ReplyPicker {
    pub replies: Signal<Vec<SavedReply>>,
    pub fill: Callback<String, String>,
}

/// The picker's emoji: the faces, hands and symbols support chats use.
const EMOJI: [&str; 32] = [
    "😀", "😂", "😊", "😍", "🤔", "😅", "😢", "😮", "😡", "🙏", "👍", "👎", "👏", "🙌", "👋", "💪",
    "❤️", "🎉", "🔥", "✅", "❌", "⭐", "💡", "📦", "🚚", "💳", "📧", "📞", "⏰", "🎁", "🛒", "🤝",
];

/// Most suggestions the list shows at once.
const SHOWN_REPLIES: usize = 8;

/// What the list under the box offers for the text typed.
#[derive(Clone, Debug, PartialEq)]
enum Suggestion {
    /// A saved reply, for `/word`.
    Reply(SavedReply),
    /// (Notes) a teammate, for `@name` typed from byte `at` on.
    Mention { at: usize, name: String },
}

/// A labelled text area and a Send button. `on_send` returns the reason when
/// the text cannot be sent (it then stays in the box).
#[component]
pub fn Composer(
    on_send: Callback<String, Result<(), String>>,
    #[prop(into)] placeholder: String,
    /// Told `true` while the person types, `false` when the box empties, the
    /// message goes, or the composer goes away.
    #[prop(optional)]
    on_typing: Option<Callback<bool>>,
    /// Text put in from outside (the embedding site's `showNewMessage`).
    #[prop(optional)]
    prefill: Option<RwSignal<Option<String>>>,
    /// (The inbox) offers "Reply" or "Note": true while writing a private
    /// note, the team's only.
    #[prop(optional)]
    note: Option<RwSignal<bool>>,
    /// (The inbox) saved replies, offered as the agent types `/`.
    #[prop(optional)]
    picker: Option<ReplyPicker>,
    /// (The inbox) the teammates a note can mention, offered as the agent
    /// types `@` in a note.
    #[prop(optional)]
    mentionable: Option<Signal<Vec<String>>>,
    /// Files may be attached, for this conversation (`None`: the visitor's
    /// next one).
    #[prop(optional)]
    attach_to: Option<Signal<Option<ConversationId>>>,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = crate::i18n::context::words();
    let conversation = attach_to.unwrap_or_else(|| Signal::derive(|| None));
    let staged = Memo::new(move |_| live.staged_for(conversation.try_get().flatten()));
    let has_files = move || staged.try_with(|s| !s.is_empty()).unwrap_or(false);
    let input = NodeRef::<leptos::html::Textarea>::new();
    let chooser = NodeRef::<leptos::html::Input>::new();
    let emoji_open = RwSignal::new(false);
    // Reads here use `try_`: while the server streams a page, a reply box in
    // a branch that was swapped out (or a page the browser already left)
    // may be asked once more after its signals are gone.
    let noting = move || note.is_some_and(|n| n.try_get().unwrap_or(false));
    let text = RwSignal::new(String::new());
    if let Some(prefill) = prefill {
        Effect::new(move |_| {
            if let Some(put) = prefill.get() {
                text.set(put);
                prefill.set(None);
            }
        });
    }
    // Text typed into the server-rendered box before the page came alive is
    // kept: read now, put back once hydration is over (setting it earlier
    // would render what the server did not, e.g. the character count).
    #[cfg(feature = "hydrate")]
    {
        let typed = StoredValue::new(typed_before_hydration());
        Effect::new(move |_| {
            if let Some(typed) = typed.try_update_value(Option::take).flatten() {
                text.set(typed);
            }
        });
    }
    let typing = move |now: bool| {
        if let Some(on_typing) = on_typing {
            on_typing.run(now);
        }
    };
    on_cleanup(move || typing(false));
    let problem = RwSignal::new(None::<String>);
    // The saved replies matching `/word` (or in a note, the teammates
    // matching `@name`), the highlighted one, and whether Escape put the
    // list away (nothing to list once the signals are gone).
    let found = Memo::new(move |_| {
        let typed = text.try_get().unwrap_or_default();
        if let Some(team) = mentionable.filter(|_| noting())
            && let Some((at, name)) = typed_mention(&typed)
        {
            return team
                .try_with(|team| {
                    team.iter()
                        .filter(|person| name_fits(person, name))
                        .take(SHOWN_REPLIES)
                        .map(|person| Suggestion::Mention {
                            at,
                            name: person.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
        }
        let Some(p) = picker else {
            return Vec::new();
        };
        p.replies
            .try_with(|all| {
                matching(all, &typed)
                    .into_iter()
                    .take(SHOWN_REPLIES)
                    .cloned()
                    .map(Suggestion::Reply)
                    .collect()
            })
            .unwrap_or_default()
    });
    let active = RwSignal::new(0usize);
    let dismissed = RwSignal::new(false);
    let listing = move || {
        !dismissed.try_get().unwrap_or(true) && !found.try_with(Vec::is_empty).unwrap_or(true)
    };
    let choose = move |chosen: Suggestion| {
        match chosen {
            Suggestion::Reply(reply) => {
                if let Some(p) = picker {
                    text.set(p.fill.run(reply.body));
                }
            }
            Suggestion::Mention { at, name } => {
                text.update(|t| *t = complete(t, at, &name));
            }
        }
        problem.set(None);
    };
    let submit = move || {
        let body = text.get_untracked();
        if body.trim().is_empty() && !has_files() {
            return;
        }
        match on_send.run(body) {
            Ok(()) => {
                text.set(String::new());
                problem.set(None);
                typing(false);
            }
            Err(reason) => problem.set(Some(reason)),
        }
    };
    // An emoji goes where the cursor is (at the end before the box was used).
    let insert = move |emoji: &str| {
        let at = input
            .get_untracked()
            .and_then(|el| el.selection_start().ok().flatten())
            .map(|at| at as usize);
        text.update(|t| {
            let byte = at.map_or(t.len(), |units| byte_at_utf16(t, units));
            t.insert_str(byte, emoji);
        });
        emoji_open.set(false);
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    let dropped = drop_files(live, conversation);
    view! {
        <form class="composer" class:composer-note=noting
            on:dragover=allow_drop
            on:drop=move |ev| if attach_to.is_some() { dropped(ev) }
            on:submit=move |ev| {
            ev.prevent_default();
            submit();
        }>
            <Show when=has_files>
                {move || view! { <OutFiles files=staged.try_get().unwrap_or_default() /> }}
            </Show>
            {note.map(|note| view! {
                <div class="composer-mode" role="group" aria-label="Write a">
                    <button type="button" class="composer-mode-button"
                        aria-pressed=move || (!note.try_get().unwrap_or(false)).to_string()
                        on:click=move |_| note.set(false)>"Reply"</button>
                    <button type="button" class="composer-mode-button"
                        aria-pressed=move || note.try_get().unwrap_or(false).to_string()
                        on:click=move |_| note.set(true)>"Note"</button>
                </div>
            })}
            <textarea
                class="composer-input"
                aria-label=move || if noting() { "Note".to_string() } else { w.t("message") }
                placeholder=move || if noting() {
                    "Write a note only the team sees (@ mentions a teammate)…".to_string()
                } else {
                    placeholder.clone()
                }
                rows="1"
                node_ref=input
                bind:value=text
                on:paste=move |ev| {
                    // A pasted screenshot (or copied files) is attached.
                    #[cfg(feature = "hydrate")]
                    if attach_to.is_some()
                        && let Some(files) = ev.clipboard_data().and_then(|d| d.files())
                        && files.length() > 0
                    {
                        ev.prevent_default();
                        live.stage(
                            conversation.get_untracked(),
                            crate::app::components::attachments::file_list(&files),
                        );
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = ev;
                }
                aria-activedescendant=move || listing().then(|| format!("saved-reply-{}", active.get()))
                on:input=move |ev| {
                    dismissed.set(false);
                    active.set(0);
                    typing(!event_target_value(&ev).trim().is_empty());
                }
                on:keydown=move |ev| {
                    if listing() {
                        let count = found.with(Vec::len);
                        match ev.key().as_str() {
                            "ArrowDown" => {
                                ev.prevent_default();
                                active.update(|a| *a = (*a + 1) % count);
                                return;
                            }
                            "ArrowUp" => {
                                ev.prevent_default();
                                active.update(|a| *a = (*a + count - 1) % count);
                                return;
                            }
                            "Enter" | "Tab" if !ev.shift_key() && !ev.is_composing() => {
                                ev.prevent_default();
                                let at = active.get_untracked().min(count - 1);
                                if let Some(chosen) = found.with_untracked(|f| f.get(at).cloned()) {
                                    choose(chosen);
                                }
                                return;
                            }
                            "Escape" => {
                                ev.prevent_default();
                                dismissed.set(true);
                                return;
                            }
                            _ => {}
                        }
                    }
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <Show when=listing>
                <ul class="reply-suggestions" role="listbox" aria-label=move || {
                    if found.with(|f| matches!(f.first(), Some(Suggestion::Mention { .. }))) {
                        "Teammates"
                    } else {
                        "Saved replies"
                    }
                }>
                    {move || found.get().into_iter().enumerate().map(|(at, suggestion)| {
                        let chosen = suggestion.clone();
                        let shown = match suggestion {
                            Suggestion::Reply(reply) => view! {
                                <code>"/" {reply.shortcut}</code>
                                <span class="saved-reply-body">{reply.body}</span>
                                {reply.mine.then(|| view! { <span class="saved-reply-mine">"yours"</span> })}
                            }.into_any(),
                            Suggestion::Mention { name, .. } => view! {
                                <code>"@" {name}</code>
                            }.into_any(),
                        };
                        view! {
                            <li
                                id=format!("saved-reply-{at}")
                                role="option"
                                aria-selected=move || (active.get() == at).to_string()
                                on:mousedown=move |ev| {
                                    // Keep the focus in the box.
                                    ev.prevent_default();
                                    choose(chosen.clone());
                                }
                            >
                                {shown}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
            <div class="composer-tools">
                {attach_to.map(|_| view! {
                    <input type="file" multiple class="file-chooser" tabindex="-1"
                        aria-hidden="true" node_ref=chooser
                        on:change=move |_ev| {
                            #[cfg(feature = "hydrate")]
                            if let Some(el) = chooser.get_untracked() {
                                if let Some(files) = el.files() {
                                    live.stage(
                                        conversation.get_untracked(),
                                        crate::app::components::attachments::file_list(&files),
                                    );
                                }
                                // The same file may be chosen again.
                                el.set_value("");
                            }
                        } />
                    <button type="button" class="icon-button" aria-label=w.t("attach-files")
                        title=w.t("attach-files-hint")
                        on:click=move |_| {
                            if let Some(el) = chooser.get_untracked() {
                                el.click();
                            }
                        }>
                        <Icon glyph=Glyph::Paperclip />
                    </button>
                })}
                <button type="button" class="icon-button" aria-label=w.t("insert-emoji")
                    aria-expanded=move || emoji_open.try_get().unwrap_or(false).to_string()
                    on:click=move |_| emoji_open.update(|o| *o = !*o)>
                    <Icon glyph=Glyph::Smile />
                </button>
            </div>
            <Show when=move || emoji_open.try_get().unwrap_or(false)>
                <div class="emoji-picker" role="group" aria-label=w.t("emoji")
                    on:keydown=move |ev| if ev.key() == "Escape" { emoji_open.set(false) }>
                    {EMOJI.iter().map(|emoji| view! {
                        <button type="button" class="emoji-option"
                            aria-label=w.t_with("insert-this", &[("emoji", (*emoji).into())])
                            on:click=move |_| insert(emoji)>{*emoji}</button>
                    }).collect_view()}
                </div>
            </Show>
            <button
                type="submit"
                class="composer-send"
                disabled=move || {
                    text.try_with(|t| t.trim().is_empty()).unwrap_or(true) && !has_files()
                }
            >
                {move || if noting() { "Add note".to_string() } else { w.t("send") }}
            </button>
            <Show when=move || text.try_with(|t| remaining_chars(t).is_some()).unwrap_or(false)>
                <span class="composer-count" class:over=move || {
                    text.try_with(|t| remaining_chars(t).unwrap_or(0) < 0).unwrap_or(false)
                }>
                    {move || {
                        let left = text.try_with(|t| remaining_chars(t).unwrap_or(0)).unwrap_or(0);
                        w.t_with("characters-left", &[("count", left.into())])
                    }}
                </span>
            </Show>
            <Show when=move || problem.try_with(Option::is_some).unwrap_or(false)>
                <p class="composer-problem" role="alert">{move || problem.get()}</p>
            </Show>
        </form>
    }
}

/// The byte of `text` at the browser's cursor, which counts UTF-16 units.
fn byte_at_utf16(text: &str, units: usize) -> usize {
    let mut seen = 0;
    for (byte, c) in text.char_indices() {
        if seen >= units {
            return byte;
        }
        seen += c.len_utf16();
    }
    text.len()
}

/// What the visitor typed into the server-rendered composer while the WASM was
/// still loading (only while the page is being hydrated: later composers must
/// not copy another one's text).
#[cfg(feature = "hydrate")]
fn typed_before_hydration() -> Option<String> {
    use leptos::wasm_bindgen::JsCast;
    let document = leptos::web_sys::window()?.document()?;
    if document.document_element()?.has_attribute("data-hydrated") {
        return None;
    }
    let typed = document
        .query_selector("textarea.composer-input")
        .ok()??
        .dyn_into::<leptos::web_sys::HtmlTextAreaElement>()
        .ok()?
        .value();
    (!typed.is_empty()).then_some(typed)
}
