//! Blocking a visitor: the contact panel's "Block visitor…" (any teammate,
//! with a reason, and their address for a while when it is known), what the
//! panel says once they are, and the Settings card where admins lift
//! blocks. Its server functions check the session, then call
//! `server::blocks`.

use leptos::prelude::*;

use super::team::refusal;
use crate::app::components::{Glyph, Icon};
use crate::client::time::{format_ago, format_full};
use crate::protocol::{
    AddressFor, Block, BlockNote, ContactPanel, ConversationId, MAX_BLOCK_REASON_CHARS,
    visitor_label,
};

#[cfg(feature = "ssr")]
use super::{require_admin, signed_in};

/// Blocks the visitor of a conversation; `address` is empty (not their
/// address) or how long to block it too (`hour`, `day`, `week`, `month`).
#[server(endpoint = "block_visitor")]
pub async fn block_visitor(
    conversation: i64,
    reason: String,
    address: String,
) -> Result<(), ServerFnError> {
    let (state, agent) = signed_in().await?;
    crate::server::blocks::block(
        &state,
        agent.id,
        ConversationId(conversation),
        &reason,
        &address,
    )
    .await
    .map(|_| ())
    .map_err(refused)
}

/// Lifts a block (admins).
#[server(endpoint = "block_lift")]
pub async fn lift_block(id: i64) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    crate::server::blocks::lift(&state, admin.id, id)
        .await
        .map_err(refused)
}

/// The blocks, newest first (admins).
#[server(endpoint = "blocks")]
pub async fn blocks_settings() -> Result<Vec<Block>, ServerFnError> {
    let (state, _) = require_admin().await?;
    crate::server::blocks::list(&state).await.map_err(refused)
}

/// The sentence a teammate reads: the rule that was broken, or that the
/// database did not answer (its details go to the log, not the screen).
#[cfg(feature = "ssr")]
fn refused(err: crate::server::blocks::BlockError) -> ServerFnError {
    use crate::server::blocks::BlockError;
    if let BlockError::Store(store) = &err {
        tracing::error!(err = %store, "could not read or change a block");
        return ServerFnError::new("The database did not answer; try again in a moment.");
    }
    ServerFnError::new(err.to_string())
}

/// Who blocked and when, and until when their address (shown to admins
/// in Settings) is blocked too.
fn note_line(note: &BlockNote, address: Option<&str>) -> String {
    let by = note.by.as_deref().unwrap_or("a former teammate");
    let mut line = format!("Blocked by {by}, {}.", format_ago(note.at));
    if let Some(until) = note.address_until {
        let address = address.map(|a| format!(" ({a})")).unwrap_or_default();
        line.push_str(&format!(
            " Their address{address} is blocked until {}.",
            format_full(until)
        ));
    }
    line
}

/// The panel's part about blocking: what the block says once there is one,
/// else "Block visitor…" and its form. `saved` moves when a block is made
/// (the panel loads again and shows it).
#[component]
pub fn BlockControl(
    id: ConversationId,
    about: Signal<Option<ContactPanel>>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let block = ServerAction::<BlockVisitor>::new();
    Effect::new(move |_| {
        if matches!(block.value().get(), Some(Ok(()))) {
            open.set(false);
            reason.set(String::new());
            saved.update(|n| *n += 1);
        }
    });
    let start = move |_| {
        block.value().set(None);
        open.set(true);
        super::contact::focus_id("block-reason");
    };
    view! {
        {move || about.get().map(|about| match about.blocked {
            Some(note) => view! {
                <div class="block-note" role="status">
                    <p><Icon glyph=Glyph::Ban />" " <strong>{note_line(&note, None)}</strong></p>
                    <p>"Reason: " {note.reason}</p>
                    <p class="muted">"They cannot send messages. Admins lift blocks in Settings."</p>
                </div>
            }.into_any(),
            // Not blocked: offer it (the address only when it is known).
            None => {
                let address_known = about.address_known;
                view! {
                <Show when=move || open.get()
                    fallback=move || view! {
                        <button type="button" id="block-start" class="button-small button-quiet danger"
                            on:click=start>
                            <Icon glyph=Glyph::Ban />" Block visitor…"
                        </button>
                    }>
                    <form class="contact-edit block-form" novalidate on:submit=move |ev| {
                        ev.prevent_default();
                        block.dispatch(BlockVisitor {
                            conversation: id.0,
                            reason: reason.get_untracked(),
                            address: address.get_untracked(),
                        });
                    }>
                        <p class="menu-hint">
                            "A blocked visitor cannot send messages or files; their messenger "
                            "only says they can no longer send messages."
                        </p>
                        <label>"Reason (the team sees it)"
                            <textarea id="block-reason" rows="2" bind:value=reason
                                maxlength=MAX_BLOCK_REASON_CHARS required></textarea>
                        </label>
                        <Show when=move || address_known>
                            <label>"Also block their network address"
                                <select on:change=move |ev| address.set(event_target_value(&ev))>
                                    <option value="" selected=true>"No"</option>
                                    {AddressFor::ALL.into_iter().map(|a| view! {
                                        <option value=a.as_str()>{a.label()}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                        </Show>
                        {move || match block.value().get() {
                            Some(Err(e)) => Some(view! { <p class="form-problem" role="alert">{refusal(e)}</p> }),
                            _ => None,
                        }}
                        <div class="contact-edit-actions">
                            <button type="submit" class="button-small danger-fill"
                                disabled=move || block.pending().get()>"Block"</button>
                            <button type="button" class="button-small button-quiet"
                                on:click=move |_| {
                                    open.set(false);
                                    super::contact::focus_id("block-start");
                                }>"Cancel"</button>
                        </div>
                    </form>
                </Show>
            }.into_any()
            }
        })}
    }
}

/// The blocks admins see and lift.
#[component]
pub fn BlocksCard() -> impl IntoView {
    let lift = ServerAction::<LiftBlock>::new();
    let blocks = Resource::new(move || lift.version().get(), |_| blocks_settings());
    view! {
        <section aria-labelledby="blocks-title" class="team-card">
            <h2 id="blocks-title">"Blocked visitors"</h2>
            <p class="team-hint">
                "Teammates block abusive visitors from the contact panel. "
                "Lifting a block lets them write again."
            </p>
            {move || lift.value().get().and_then(Result::err).map(|e| view! {
                <p class="form-problem" role="alert">{refusal(e)}</p>
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match blocks.await {
                        Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="team-hint">"Nobody is blocked."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="block-list">
                                {list.into_iter().map(|b| {
                                    let id = b.id;
                                    let who = b.contact_name.clone()
                                        .or_else(|| b.contact_email.clone())
                                        .unwrap_or_else(|| visitor_label(b.contact_id));
                                    let label = format!("Lift block on {who}");
                                    view! {
                                        <li>
                                            <div class="block-who">
                                                <strong>{who}</strong>
                                                {b.contact_email.filter(|_| b.contact_name.is_some())
                                                    .map(|e| view! { <span class="muted">{e}</span> })}
                                            </div>
                                            <p class="block-reason">{b.note.reason.clone()}</p>
                                            <p class="muted">{note_line(&b.note, b.address.as_deref())}</p>
                                            <button type="button" class="button-small button-quiet"
                                                aria-label=label disabled=move || lift.pending().get()
                                                on:click=move |_| { lift.dispatch(LiftBlock { id }); }>
                                                "Lift block"
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
