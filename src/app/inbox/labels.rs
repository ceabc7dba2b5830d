//! Labels in the inbox: the chips on rows and threads, the menu that puts
//! them on a conversation, and the Settings card where admins create them
//! (its server functions check the session, then call `server::labels`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::team::{emptied_when, refusal};
use crate::app::components::{Glyph, Icon};
use crate::client::live::Live;
use crate::protocol::{ConversationId, Label, LabelColor, LabelId, MAX_LABEL_CHARS};

#[cfg(feature = "ssr")]
use super::require_admin;

/// The labels, for the Settings card (admins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelsView {
    pub labels: Vec<Label>,
}

#[server]
pub async fn labels_settings() -> Result<LabelsView, ServerFnError> {
    let (state, _) = require_admin().await?;
    let labels = state
        .store
        .labels()
        .await
        .map_err(|e| ServerFnError::new(format!("could not read the labels: {e}")))?;
    Ok(LabelsView { labels })
}

/// Creates a label; every open inbox gets it at once.
#[server(endpoint = "label_create")]
pub async fn create_label(name: String, color: String) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    let label = crate::server::labels::create(&state, &name, &color)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    tracing::info!(admin = admin.id.0, label = label.id.0, "created a label");
    Ok(())
}

/// Deletes a label: it comes off every conversation.
#[server(endpoint = "label_delete")]
pub async fn delete_label(id: i64) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    crate::server::labels::delete(&state, LabelId(id))
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    tracing::info!(admin = admin.id.0, label = id, "deleted a label");
    Ok(())
}

/// A label as a small coloured chip.
#[component]
pub fn LabelChip(label: Label) -> impl IntoView {
    view! {
        <span class=format!("label-chip label-{}", label.color.as_str())>{label.name}</span>
    }
}

/// The chips of a conversation's labels that still exist, by name.
pub fn label_chips(live: Live, ids: Vec<LabelId>) -> impl IntoView {
    move || {
        live.labels.with(|all| {
            all.iter()
                .filter(|l| ids.contains(&l.id))
                .cloned()
                .map(|label| view! { <LabelChip label /> })
                .collect_view()
        })
    }
}

/// "Labels": puts labels on the conversation or takes them off; each box
/// follows the conversation's row.
#[component]
pub fn LabelMenu(id: ConversationId) -> impl IntoView {
    let live = expect_context::<Live>();
    let menu = NodeRef::<leptos::html::Details>::new();
    let on = Memo::new(move |_| {
        live.conversations.with(|c| {
            c.iter()
                .find(|c| c.id == id)
                .map(|c| c.labels.clone())
                .unwrap_or_default()
        })
    });
    view! {
        <details class="snooze-menu label-menu" node_ref=menu
            on:keydown=move |ev| {
                if ev.key() == "Escape" && let Some(menu) = menu.get_untracked() {
                    menu.set_open(false);
                }
            }>
            <summary class="button-small button-quiet"><Icon glyph=Glyph::Tag />" Labels"</summary>
            <div class="snooze-choices">
                {move || {
                    let labels = live.labels.get();
                    if labels.is_empty() {
                        return view! {
                            <p class="menu-hint">"No labels yet. Admins create them in Settings."</p>
                        }.into_any();
                    }
                    labels.into_iter().map(|label| {
                        let label_id = label.id;
                        let checked = move || on.with(|on| on.contains(&label_id));
                        view! {
                            <label class="menu-item menu-check">
                                <input type="checkbox" prop:checked=checked
                                    on:change=move |ev| {
                                        if live.can_act() {
                                            live.set_label(id, label_id, event_target_checked(&ev));
                                        } else {
                                            // Not sent: the box shows what is so.
                                            event_target::<leptos::web_sys::HtmlInputElement>(&ev)
                                                .set_checked(checked());
                                        }
                                    } />
                                <LabelChip label />
                            </label>
                        }
                    }).collect_view().into_any()
                }}
            </div>
        </details>
    }
}

/// The labels admins create: a list with delete buttons, and a form.
#[component]
pub fn LabelsCard() -> impl IntoView {
    let create = ServerAction::<CreateLabel>::new();
    let delete = ServerAction::<DeleteLabel>::new();
    let labels = Resource::new(
        move || (create.version().get(), delete.version().get()),
        |_| labels_settings(),
    );
    view! {
        <section aria-labelledby="labels-title" class="team-card">
            <h2 id="labels-title">"Labels"</h2>
            <p class="team-hint">"Agents put labels on conversations and filter every list by them."</p>
            {move || delete.value().get().and_then(Result::err).map(|e| view! {
                <p class="form-problem" role="alert">{refusal(e)}</p>
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    labels.await.ok().map(|v| if v.labels.is_empty() {
                        view! { <p class="team-hint">"No labels yet."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="saved-replies label-list">
                                {v.labels.into_iter().map(|label| {
                                    let id = label.id.0;
                                    let name = format!("Delete the label {}", label.name);
                                    view! {
                                        <li>
                                            <LabelChip label />
                                            <span></span>
                                            <button type="button" class="button-quiet" aria-label=name
                                                on:click=move |_| { delete.dispatch(DeleteLabel { id }); }>
                                                "Delete"
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })
                })}
            </Transition>
            <ActionForm action=create node_ref=emptied_when(move || {
                matches!(create.value().get(), Some(Ok(())))
            }) attr:class="team-form">
                <label>
                    "Name"
                    <input type="text" name="name" required maxlength=MAX_LABEL_CHARS.to_string()
                        placeholder="Billing" autocomplete="off" />
                </label>
                <label>
                    "Colour"
                    <select name="color">
                        {LabelColor::ALL.into_iter().map(|c| view! {
                            <option value=c.as_str()>{color_name(c)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button-small">"Create label"</button>
                {move || create.value().get().map(|r| match r {
                    Ok(()) => view! { <p class="form-success" role="status">"Created."</p> }.into_any(),
                    Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
                })}
            </ActionForm>
        </section>
    }
}

/// A colour's name for people.
fn color_name(color: LabelColor) -> &'static str {
    match color {
        LabelColor::Gray => "Grey",
        LabelColor::Red => "Red",
        LabelColor::Orange => "Orange",
        LabelColor::Green => "Green",
        LabelColor::Teal => "Teal",
        LabelColor::Blue => "Blue",
        LabelColor::Purple => "Purple",
        LabelColor::Pink => "Pink",
    }
}
