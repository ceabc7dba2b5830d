//! The message composer: Enter sends, Shift+Enter starts a new line.

use leptos::prelude::*;

use crate::client::live::remaining_chars;

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
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let typing = move |now: bool| {
        if let Some(on_typing) = on_typing {
            on_typing.run(now);
        }
    };
    on_cleanup(move || typing(false));
    let problem = RwSignal::new(None::<String>);
    let submit = move || {
        let body = text.get_untracked();
        if body.trim().is_empty() {
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
    view! {
        <form class="composer" on:submit=move |ev| {
            ev.prevent_default();
            submit();
        }>
            <textarea
                class="composer-input"
                aria-label="Message"
                placeholder=placeholder
                rows="1"
                bind:value=text
                on:input=move |ev| typing(!event_target_value(&ev).trim().is_empty())
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button
                type="submit"
                class="composer-send"
                disabled=move || text.with(|t| t.trim().is_empty())
            >
                "Send"
            </button>
            <Show when=move || text.with(|t| remaining_chars(t).is_some())>
                <span class="composer-count" class:over=move || text.with(|t| remaining_chars(t).unwrap_or(0) < 0)>
                    {move || text.with(|t| remaining_chars(t).unwrap_or(0))} " characters left"
                </span>
            </Show>
            <Show when=move || problem.with(Option::is_some)>
                <p class="composer-problem" role="alert">{move || problem.get()}</p>
            </Show>
        </form>
    }
}
