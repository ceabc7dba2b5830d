//! "Erase all their data…" in the contact panel (admins): a person asked to
//! be forgotten. It says what goes, asks once more, and then the visitor,
//! their conversations and everything in them are gone for every teammate.
//! The server function checks the session, then calls `server::erase`.

use leptos::prelude::*;

use super::team::{Access, refusal, team_access};
use crate::protocol::{ContactPanel, ConversationId, visitor_label};

#[cfg(feature = "ssr")]
use super::require_admin;

/// Erases the visitor of a conversation with everything of theirs (admins).
#[server(endpoint = "contact_erase")]
pub async fn erase_visitor(conversation: i64) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    crate::server::erase::erase_visitor(&state, admin.id, ConversationId(conversation))
        .await
        .map(|_| ())
        .map_err(|err| {
            use crate::server::erase::EraseError;
            if let EraseError::Store(store) = &err {
                tracing::error!(err = %store, "could not erase a visitor");
                return ServerFnError::new(
                    "The database did not answer; nothing was erased. Try again in a moment.",
                );
            }
            ServerFnError::new(err.to_string())
        })
}

/// The admins' way to erase the panel's visitor, with its confirmation.
#[component]
pub fn EraseControl(id: ConversationId, about: Signal<Option<ContactPanel>>) -> impl IntoView {
    let access = LocalResource::new(team_access);
    let admin = move || matches!(access.get(), Some(Ok(Access::Admin { .. })));
    let asking = RwSignal::new(false);
    // Leaves the thread once it is gone. From the action itself: the panel
    // may be gone before its answer comes (every inbox, this one too, drops
    // the conversation as soon as the server announces the erasure).
    let navigate = leptos_router::hooks::use_navigate();
    let erase = Action::new_local(move |_: &()| {
        let navigate = navigate.clone();
        async move {
            let erased = erase_visitor(id.0).await;
            if erased.is_ok() {
                navigate("/inbox", Default::default());
            }
            erased
        }
    });
    let question = move || {
        about.with(|about| {
            about.as_ref().map(|a| {
                let who = a
                    .name
                    .clone()
                    .or_else(|| a.email.clone())
                    .unwrap_or_else(|| visitor_label(a.contact_id));
                let conversations = match a.others_total {
                    0 => "This conversation".to_string(),
                    1 => "This conversation and 1 other".to_string(),
                    n => format!("This conversation and {n} others"),
                };
                format!(
                    "Erase {who} and everything of theirs? {conversations}, every message in them \
                     (the team's replies and notes too), their files, ratings and search entries \
                     go for good, for every teammate. Only the fact that you erased someone, and \
                     when, is kept."
                )
            })
        })
    };
    let start = move |_| {
        erase.value().set(None);
        asking.set(true);
        super::contact::focus_id("erase-confirm");
    };
    view! {
        <Show when=admin>
            <Show when=move || asking.get()
                fallback=move || view! {
                    <button type="button" id="erase-start" class="button-small button-quiet danger"
                        on:click=start>"Erase all their data…"</button>
                }>
                <div class="erase-confirm" role="group" aria-labelledby="erase-question">
                    <p id="erase-question">{question}</p>
                    {move || match erase.value().get() {
                        Some(Err(e)) => Some(view! { <p class="form-problem" role="alert">{refusal(e)}</p> }),
                        _ => None,
                    }}
                    <div class="contact-edit-actions">
                        <button type="button" id="erase-confirm" class="button-small danger-fill"
                            disabled=move || erase.pending().get()
                            on:click=move |_| { erase.dispatch(()); }>
                            "Erase for good"
                        </button>
                        <button type="button" class="button-small button-quiet"
                            on:click=move |_| {
                                asking.set(false);
                                super::contact::focus_id("erase-start");
                            }>"Cancel"</button>
                    </div>
                </div>
            </Show>
        </Show>
    }
}
