//! Saved replies and the workflow switches: the server functions (each
//! checks the session, then calls `server::workflow` or the store) and the
//! Settings cards where admins keep the team's replies and the switches,
//! and every agent their own replies.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::team::{emptied_when, refusal};
use crate::replies::SavedReply;

#[cfg(feature = "ssr")]
use super::{require_admin, signed_in};

/// What the Settings page's "Conversations" card shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowView {
    /// An agent's first reply to a conversation nobody owns makes it theirs.
    pub assign_on_reply: bool,
    /// Automatic assignment's cap of open conversations per teammate;
    /// `None` when it is off.
    pub auto_assign_cap: Option<u32>,
    pub replies: Vec<SavedReply>,
}

/// The saved replies an agent can use (for the composer): their own and
/// the team's.
#[server(endpoint = "saved_replies")]
pub async fn saved_replies() -> Result<Vec<SavedReply>, ServerFnError> {
    let (state, agent) = signed_in().await?;
    state
        .store
        .saved_replies(Some(agent.id))
        .await
        .map_err(|e| ServerFnError::new(format!("could not read the saved replies: {e}")))
}

/// The agent's own saved replies (their card in Settings).
#[server(endpoint = "own_replies")]
pub async fn own_replies() -> Result<Vec<SavedReply>, ServerFnError> {
    let (state, agent) = signed_in().await?;
    state
        .store
        .own_replies(agent.id)
        .await
        .map_err(|e| ServerFnError::new(format!("could not read your saved replies: {e}")))
}

/// Saves one of the agent's own replies.
#[server(endpoint = "own_reply_save")]
pub async fn save_own_reply(shortcut: String, body: String) -> Result<(), ServerFnError> {
    let (state, agent) = signed_in().await?;
    crate::server::workflow::save_reply(&state, Some(agent.id), &shortcut, &body)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// Deletes one of the agent's own replies (never anyone else's).
#[server(endpoint = "own_reply_delete")]
pub async fn delete_own_reply(id: i64) -> Result<(), ServerFnError> {
    let (state, agent) = signed_in().await?;
    let deleted = state
        .store
        .delete_reply(id, Some(agent.id))
        .await
        .map_err(|e| ServerFnError::new(format!("could not delete the reply: {e}")))?;
    gone_unless(deleted)
}

#[server]
pub async fn workflow_settings() -> Result<WorkflowView, ServerFnError> {
    let (state, _) = require_admin().await?;
    let replies = state
        .store
        .saved_replies(None)
        .await
        .map_err(|e| ServerFnError::new(format!("could not read the saved replies: {e}")))?;
    Ok(WorkflowView {
        assign_on_reply: state.workflow.assign_on_reply(),
        auto_assign_cap: state.workflow.auto_assign.cap(),
        replies,
    })
}

/// Switches "a first reply assigns the conversation" on or off.
#[server(endpoint = "assign_on_reply_set")]
pub async fn set_assign_on_reply(on: bool) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    state
        .workflow
        .set_assign_on_reply(&state.store, on)
        .await
        .map_err(|e| ServerFnError::new(format!("could not save the setting: {e}")))?;
    crate::server::cluster::settings_changed(&state).await;
    tracing::info!(admin = admin.id.0, on, "changed assignment by first reply");
    Ok(())
}

/// Switches automatic assignment on (`on`, with at most `cap` open
/// conversations per teammate) or off.
#[server(endpoint = "auto_assign_set")]
pub async fn set_auto_assign(on: Option<String>, cap: u32) -> Result<(), ServerFnError> {
    use crate::server::auto_assign::MAX_CAP;
    let (state, admin) = require_admin().await?;
    let cap = match on {
        Some(_) if (1..=MAX_CAP).contains(&cap) => Some(cap),
        Some(_) => {
            return Err(ServerFnError::new(format!(
                "The cap is a number of open conversations from 1 to {MAX_CAP}."
            )));
        }
        None => None,
    };
    state
        .workflow
        .auto_assign
        .set(&state.store, cap)
        .await
        .map_err(|e| ServerFnError::new(format!("could not save the setting: {e}")))?;
    crate::server::cluster::settings_changed(&state).await;
    tracing::info!(admin = admin.id.0, ?cap, "changed automatic assignment");
    Ok(())
}

/// Saves a reply under a shortcut (a shortcut saved again gets the new text).
#[server(endpoint = "saved_reply_save")]
pub async fn save_reply(shortcut: String, body: String) -> Result<(), ServerFnError> {
    let (state, _) = require_admin().await?;
    crate::server::workflow::save_reply(&state, None, &shortcut, &body)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

#[server]
pub async fn delete_reply(id: i64) -> Result<(), ServerFnError> {
    let (state, _) = require_admin().await?;
    let deleted = state
        .store
        .delete_reply(id, None)
        .await
        .map_err(|e| ServerFnError::new(format!("could not delete the reply: {e}")))?;
    gone_unless(deleted)
}

/// A delete that found nothing: someone deleted it first (the list shown
/// was older), which the person should know.
#[cfg(feature = "ssr")]
fn gone_unless(deleted: bool) -> Result<(), ServerFnError> {
    if deleted {
        Ok(())
    } else {
        Err(ServerFnError::new(
            "That reply was already deleted; the list is up to date now.",
        ))
    }
}

/// Assignment by reply, and the team's saved replies.
#[component]
pub fn WorkflowCard() -> impl IntoView {
    let toggle = ServerAction::<SetAssignOnReply>::new();
    let auto = ServerAction::<SetAutoAssign>::new();
    let save = ServerAction::<SaveReply>::new();
    let delete = ServerAction::<DeleteReply>::new();
    let settings = Resource::new(
        move || {
            (
                toggle.version().get(),
                auto.version().get(),
                save.version().get(),
                delete.version().get(),
            )
        },
        |_| workflow_settings(),
    );
    let problem = move || {
        [
            toggle.value().get(),
            auto.value().get(),
            delete.value().get(),
        ]
        .into_iter()
        .flatten()
        .find_map(Result::err)
    };
    view! {
        <section aria-labelledby="workflow-title" class="team-card">
            <h2 id="workflow-title">"Conversations"</h2>
            {move || problem().map(|e| view! { <p class="form-problem" role="alert">{refusal(e)}</p> })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    settings.await.ok().map(|s| {
                        let on = s.assign_on_reply;
                        view! {
                            <label class="switch">
                                <input type="checkbox" prop:checked=on
                                    on:change=move |_| { toggle.dispatch(SetAssignOnReply { on: !on }); } />
                                "A teammate's first reply to an unassigned conversation assigns it to them"
                            </label>
                            <ActionForm action=auto attr:class="team-form auto-assign">
                                <label class="switch">
                                    <input type="checkbox" name="on" value="1"
                                        prop:checked=s.auto_assign_cap.is_some() />
                                    "Assign new conversations automatically, in turn, to teammates who have the inbox open"
                                </label>
                                <label>
                                    "At most this many open conversations each"
                                    <input type="number" name="cap" min="1" max="1000" required
                                        value=s.auto_assign_cap.unwrap_or(10).to_string() />
                                </label>
                                <button type="submit" class="button-small">"Save assignment"</button>
                            </ActionForm>
                            <h3 class="card-subtitle">"Saved replies"</h3>
                            <p class="team-hint">
                                "Type / in the reply box to use one. "
                                "{{visitor.name}}, {{visitor.first_name}}, {{visitor.email}} and {{agent.name}} are filled in."
                            </p>
                            {reply_list(s.replies, move |id| { delete.dispatch(DeleteReply { id }); })}
                        }
                    })
                })}
            </Transition>
            <ActionForm action=save node_ref=emptied_when(move || {
                matches!(save.value().get(), Some(Ok(())))
            }) attr:class="team-form stacked">
                {reply_fields("refund", "Hi {{visitor.first_name}}, your refund is on its way.")}
                <button type="submit" class="button-small">"Save reply"</button>
                {move || saved(save.value().get())}
            </ActionForm>
        </section>
    }
}

/// The resource and actions behind an agent's own replies, made where the
/// page starts (before it streams) so the card can sit in any branch.
#[derive(Clone, Copy)]
pub struct OwnRepliesState {
    pub list: Resource<Result<Vec<SavedReply>, ServerFnError>>,
    pub save: ServerAction<SaveOwnReply>,
    pub delete: ServerAction<DeleteOwnReply>,
}

impl OwnRepliesState {
    pub fn new() -> Self {
        let save = ServerAction::<SaveOwnReply>::new();
        let delete = ServerAction::<DeleteOwnReply>::new();
        let list = Resource::new(
            move || (save.version().get(), delete.version().get()),
            |_| own_replies(),
        );
        Self { list, save, delete }
    }
}

/// "Your saved replies": any agent's own, beside the team's.
#[component]
pub fn OwnRepliesCard(replies: OwnRepliesState) -> impl IntoView {
    let OwnRepliesState { list, save, delete } = replies;
    view! {
        <section aria-labelledby="own-replies-title" class="team-card">
            <h2 id="own-replies-title">"Your saved replies"</h2>
            <p class="team-hint">
                "Only you see these. One with the same shortcut as a team reply is the one you get."
            </p>
            {move || delete.value().get().and_then(Result::err).map(|e| view! {
                <p class="form-problem" role="alert">{refusal(e)}</p>
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    list.await.ok().map(|replies| reply_list(replies, move |id| {
                        delete.dispatch(DeleteOwnReply { id });
                    }))
                })}
            </Transition>
            <ActionForm action=save node_ref=emptied_when(move || {
                matches!(save.value().get(), Some(Ok(())))
            }) attr:class="team-form stacked">
                {reply_fields("hello", "Hi {{visitor.first_name}}, {{agent.name}} here.")}
                <button type="submit" class="button-small">"Save my reply"</button>
                {move || saved(save.value().get())}
            </ActionForm>
        </section>
    }
}

/// A list of saved replies, each with a Delete button.
fn reply_list(
    replies: Vec<SavedReply>,
    delete: impl Fn(i64) + Copy + Send + Sync + 'static,
) -> AnyView {
    if replies.is_empty() {
        return view! { <p class="team-hint">"No saved replies yet."</p> }.into_any();
    }
    view! {
        <ul class="saved-replies">
            {replies.into_iter().map(|r| {
                let id = r.id;
                let label = format!("Delete /{}", r.shortcut);
                view! {
                    <li>
                        <code>"/" {r.shortcut}</code>
                        <span class="saved-reply-body">{r.body}</span>
                        <button type="button" class="button-quiet" aria-label=label
                            on:click=move |_| delete(id)>
                            "Delete"
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// A saved reply's two fields, with examples of what goes in them.
fn reply_fields(shortcut: &'static str, body: &'static str) -> impl IntoView {
    view! {
        <label>
            "Shortcut"
            <input type="text" name="shortcut" required maxlength="33" placeholder=shortcut
                autocomplete="off" />
        </label>
        <label>
            "Reply"
            <textarea name="body" required rows="3" maxlength="4000" placeholder=body></textarea>
        </label>
    }
}

/// What became of the last save.
fn saved(result: Option<Result<(), ServerFnError>>) -> Option<AnyView> {
    result.map(|r| match r {
        Ok(()) => view! { <p class="form-success" role="status">"Saved."</p> }.into_any(),
        Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
    })
}
