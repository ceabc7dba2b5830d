//! One message of a conversation: its bubble, reactions, receipt and the
//! actions on it, and a message still being sent.

use leptos::prelude::*;

use crate::app::components::answers::AnswerFooter;
use crate::app::components::attachments::{Attachments, OutFiles, RichText};
use crate::app::components::{Glyph, Icon};
use crate::client::live::{Delivery, Live, Pending, is_me};
use crate::client::time::format_full;
use crate::i18n::Locale;
use crate::protocol::{Message, MessageId, QUICK_REACTIONS, SenderKind};

/// What the reader can tell about the other side's progress.
#[derive(Clone, Copy)]
pub(super) struct Receipts {
    /// (delivered up to, read up to) by the other side.
    pub(super) cursors: Memo<Option<(MessageId, MessageId)>>,
    /// The newest of the reader's own messages the other side has read.
    pub(super) last_seen: Memo<Option<MessageId>>,
}

/// The tick on one of the reader's own messages, and the message naming it
/// ("seen", "delivered", "sent").
fn tick(receipts: Receipts, id: MessageId) -> (&'static str, &'static str) {
    match receipts.cursors.get() {
        Some((_, read)) if id <= read => ("✓✓", "seen"),
        Some((delivered, _)) if id <= delivered => ("✓✓", "delivered"),
        _ => ("✓", "sent"),
    }
}

/// Messages can be edited this long after sending (the server's default; it
/// has the final word).
const EDIT_WINDOW_MS: i64 = 15 * 60 * 1000;

/// One message: its bubble, reactions, receipt and the actions on it.
#[component]
pub(super) fn MessageItem(
    message: Message,
    mine: bool,
    receipts: Receipts,
    editing: RwSignal<Option<MessageId>>,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    let id = message.id;
    if message.deleted {
        return view! {
            <div class="message-item">
                <p class="bubble deleted" data-message-id=id.0.to_string()>
                    {w.t("message-deleted")}
                </p>
            </div>
        }
        .into_any();
    }
    let picker = RwSignal::new(false);
    let receipt = Memo::new(move |_| tick(receipts, id));
    let editable = mine
        && message.sender != SenderKind::Ai
        && crate::client::time::now_ms() - message.created_at.0 < EDIT_WINDOW_MS;
    let body = message.body.clone();
    let files = message.attachments.clone();
    let answer =
        (message.sender == SenderKind::Ai && !message.sources.is_empty()).then(|| message.clone());
    let has_text = !body.is_empty() || files.is_empty();
    let title = format_full(message.created_at);
    let edited = message.edited_at.is_some();
    // The visitor never sees a note: no ticks on it.
    let ticked = mine && !message.internal;
    let me = live.me.get_untracked();
    let chips = message
        .reactions
        .iter()
        .map(|r| {
            let emoji = r.emoji.clone();
            let reacted = r.people.iter().any(|p| is_me(&me, p));
            let who = r
                .people
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let count = r.people.len();
            let label = format!("{emoji} {count}: {who}");
            view! {
                <button
                    type="button"
                    class="reaction-chip"
                    class:mine=reacted
                    aria-pressed=reacted.to_string()
                    aria-label=label
                    title=who
                    on:click=move |_| live.react(id, &emoji)
                >
                    {r.emoji.clone()} " " {count}
                </button>
            }
        })
        .collect_view();
    view! {
        <div
            class="message-item"
            on:contextmenu=move |ev| {
                // A long press on touch screens: offer the reactions.
                ev.prevent_default();
                picker.set(true);
            }
        >
            <Show
                when=move || editing.get() == Some(id)
                fallback=move || {
                    let body = body.clone();
                    let title = title.clone();
                    let files = files.clone();
                    let answer = answer.clone();
                    view! {
                        {(!files.is_empty()).then(|| view! {
                            <div class="attachments" data-message-id=(!has_text).then(|| id.0.to_string())>
                                <Attachments items=files />
                            </div>
                        })}
                        <p class="bubble" class:hidden=!has_text
                            data-message-id=has_text.then(|| id.0.to_string()) title=title>
                            <span class="bubble-text"><RichText text=body /></span>
                            {edited.then(|| view! { <span class="edited">" " {w.t("edited")}</span> })}
                            {ticked.then(|| view! {
                                <span
                                    class="tick"
                                    class:seen=move || receipt.get().1 == "seen"
                                    title=move || w.t(receipt.get().1)
                                    aria-label=move || w.t(receipt.get().1)
                                >
                                    {move || receipt.get().0}
                                </span>
                            })}
                        </p>
                        {answer.map(|message| view! { <AnswerFooter message /> })}
                    }
                }
            >
                <EditBox id original=message.body.clone() editing />
            </Show>
            <div class="message-actions" role="toolbar" aria-label=w.t("message-actions")>
                <button
                    type="button"
                    class="icon-button"
                    aria-label=w.t("react")
                    aria-expanded=move || picker.get().to_string()
                    on:click=move |_| picker.update(|p| *p = !*p)
                >
                    <Icon glyph=Glyph::Smile />
                </button>
                {editable.then(|| view! {
                    <button type="button" class="icon-button" aria-label=w.t("edit")
                        on:click=move |_| editing.set(Some(id))><Icon glyph=Glyph::Pencil /></button>
                })}
                {mine.then(|| view! {
                    <button type="button" class="icon-button" aria-label=w.t("delete")
                        on:click=move |_| {
                            if confirm_delete(w) {
                                live.delete(id);
                            }
                        }><Icon glyph=Glyph::Trash /></button>
                })}
            </div>
            <Show when=move || picker.get()>
                <div class="reaction-picker" role="group" aria-label=w.t("pick-reaction")>
                    {QUICK_REACTIONS
                        .into_iter()
                        .map(|emoji| view! {
                            <button type="button" class="reaction-option" aria-label=w.t_with("react-with", &[("emoji", emoji.into())])
                                on:click=move |_| {
                                    live.react(id, emoji);
                                    picker.set(false);
                                }>{emoji}</button>
                        })
                        .collect_view()}
                </div>
            </Show>
            <div class="reactions">{chips}</div>
            <Show when=move || mine && receipts.last_seen.get() == Some(id)>
                <span class="message-state seen-label">{w.t("seen")}</span>
            </Show>
        </div>
    }
    .into_any()
}

/// Changing the text of a message in place: Enter saves, Escape cancels.
#[component]
fn EditBox(id: MessageId, original: String, editing: RwSignal<Option<MessageId>>) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    let text = RwSignal::new(original);
    let problem = RwSignal::new(None::<String>);
    let save = move || match live.edit(id, &text.get_untracked()) {
        Ok(()) => editing.set(None),
        Err(reason) => problem.set(Some(reason)),
    };
    view! {
        <form class="edit-box" on:submit=move |ev| {
            ev.prevent_default();
            save();
        }>
            <textarea
                aria-label=w.t("edit-message")
                bind:value=text
                autofocus
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        editing.set(None);
                    } else if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        save();
                    }
                }
            ></textarea>
            <div class="edit-actions">
                <button type="button" class="button-quiet" on:click=move |_| editing.set(None)>{w.t("cancel")}</button>
                <button type="submit" class="button-small">{w.t("save")}</button>
            </div>
            {move || problem.get().map(|p| view! { <p class="composer-problem" role="alert">{p}</p> })}
        </form>
    }
}

/// Asks before deleting (in the browser; elsewhere there is nobody to ask).
fn confirm_delete(words: Locale) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(&words.t("confirm-delete")).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = words;
        false
    }
}

#[component]
pub(super) fn PendingMessage(pending: Pending) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    let id = pending.client_id;
    let failed = match &pending.delivery {
        Delivery::Sending => None,
        Delivery::Failed(reason) => Some(reason.clone()),
    };
    let files = pending.files.clone();
    view! {
        <div class="message-group mine pending">
            <div class="message-group-body">
                {(!files.is_empty()).then(|| view! { <OutFiles files /> })}
                {(!pending.body.is_empty()).then(|| view! {
                    <p class="bubble" class:failed=failed.is_some()>{pending.body.clone()}</p>
                })}
                {match failed {
                    None => view! {
                    <span class="message-state">
                        <span class="tick" aria-hidden="true">"🕓"</span> " " {w.t("sending")}
                    </span>
                }.into_any(),
                    Some(reason) => view! {
                        <span class="message-state failed" role="alert">
                            {w.t_with("not-sent", &[("reason", reason.into())])} " "
                            <button type="button" class="link-button" on:click=move |_| live.retry(id)>{w.t("retry")}</button>
                            " · "
                            <button type="button" class="link-button" on:click=move |_| live.discard(id)>{w.t("delete")}</button>
                        </span>
                    }.into_any(),
                }}
            </div>
        </div>
    }
}
